//! MCAP records encoded by hand, for [`crate::SpliceWriter`]: the mcap
//! crate's writer cannot take a chunk that is already compressed.
//!
//! Each function appends one record (opcode, u64 length, fields; all
//! little-endian) as the MCAP specification lays it out.

use std::collections::BTreeMap;

use mcap::records::op;

/// Appends a record: opcode, length, then what `body` writes.
fn record(out: &mut Vec<u8>, opcode: u8, body: impl FnOnce(&mut Vec<u8>)) {
    out.push(opcode);
    let len_at = out.len();
    out.extend_from_slice(&[0; 8]);
    body(out);
    let len = (out.len() - len_at - 8) as u64;
    out[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
}

fn u16_(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u32_(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u64_(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn string(out: &mut Vec<u8>, s: &str) {
    u32_(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}
/// A map or array: u32 byte length, then the entries.
fn prefixed(out: &mut Vec<u8>, entries: impl FnOnce(&mut Vec<u8>)) {
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    entries(out);
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

pub(crate) fn header(out: &mut Vec<u8>, profile: &str, library: &str) {
    record(out, op::HEADER, |b| {
        string(b, profile);
        string(b, library);
    });
}

pub(crate) fn schema(out: &mut Vec<u8>, id: u16, name: &str, encoding: &str, data: &[u8]) {
    record(out, op::SCHEMA, |b| {
        u16_(b, id);
        string(b, name);
        string(b, encoding);
        u32_(b, data.len() as u32);
        b.extend_from_slice(data);
    });
}

pub(crate) fn channel(
    out: &mut Vec<u8>,
    id: u16,
    schema_id: u16,
    topic: &str,
    message_encoding: &str,
    metadata: &BTreeMap<String, String>,
) {
    record(out, op::CHANNEL, |b| {
        u16_(b, id);
        u16_(b, schema_id);
        string(b, topic);
        string(b, message_encoding);
        prefixed(b, |b| {
            for (k, v) in metadata {
                string(b, k);
                string(b, v);
            }
        });
    });
}

/// The fields of a message record before its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageHead {
    pub channel_id: u16,
    pub sequence: u32,
    pub log_time: u64,
    pub publish_time: u64,
}

pub(crate) fn message(out: &mut Vec<u8>, head: MessageHead, data: &[u8]) {
    record(out, op::MESSAGE, |b| {
        u16_(b, head.channel_id);
        u32_(b, head.sequence);
        u64_(b, head.log_time);
        u64_(b, head.publish_time);
        b.extend_from_slice(data);
    });
}

/// A chunk record's fields before its (compressed) records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkHead<'a> {
    pub start: u64,
    pub end: u64,
    pub uncompressed_size: u64,
    pub uncompressed_crc: u32,
    pub compression: &'a str,
}

pub(crate) fn chunk(out: &mut Vec<u8>, head: &ChunkHead<'_>, compressed: &[u8]) {
    record(out, op::CHUNK, |b| {
        u64_(b, head.start);
        u64_(b, head.end);
        u64_(b, head.uncompressed_size);
        u32_(b, head.uncompressed_crc);
        string(b, head.compression);
        u64_(b, compressed.len() as u64);
        b.extend_from_slice(compressed);
    });
}

/// (log time, offset of the message record in the chunk's records).
pub(crate) fn message_index(out: &mut Vec<u8>, channel_id: u16, entries: &[(u64, u64)]) {
    record(out, op::MESSAGE_INDEX, |b| {
        u16_(b, channel_id);
        prefixed(b, |b| {
            for &(time, offset) in entries {
                u64_(b, time);
                u64_(b, offset);
            }
        });
    });
}

/// Where a chunk and its message indexes are in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkIndex {
    pub start: u64,
    pub end: u64,
    pub chunk_start_offset: u64,
    pub chunk_length: u64,
    pub message_index_offsets: BTreeMap<u16, u64>,
    pub message_index_length: u64,
    pub compression: String,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
}

pub(crate) fn chunk_index(out: &mut Vec<u8>, index: &ChunkIndex) {
    record(out, op::CHUNK_INDEX, |b| {
        u64_(b, index.start);
        u64_(b, index.end);
        u64_(b, index.chunk_start_offset);
        u64_(b, index.chunk_length);
        prefixed(b, |b| {
            for (&channel, &offset) in &index.message_index_offsets {
                u16_(b, channel);
                u64_(b, offset);
            }
        });
        u64_(b, index.message_index_length);
        string(b, &index.compression);
        u64_(b, index.compressed_size);
        u64_(b, index.uncompressed_size);
    });
}

/// The summary's statistics record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Statistics {
    pub message_count: u64,
    pub schema_count: u16,
    pub channel_count: u32,
    pub chunk_count: u32,
    pub start: u64,
    pub end: u64,
    pub channel_message_counts: BTreeMap<u16, u64>,
}

pub(crate) fn statistics(out: &mut Vec<u8>, stats: &Statistics) {
    record(out, op::STATISTICS, |b| {
        u64_(b, stats.message_count);
        u16_(b, stats.schema_count);
        u32_(b, stats.channel_count);
        u32_(b, 0); // attachments
        u32_(b, 0); // metadata
        u32_(b, stats.chunk_count);
        u64_(b, stats.start);
        u64_(b, stats.end);
        prefixed(b, |b| {
            for (&channel, &count) in &stats.channel_message_counts {
                u16_(b, channel);
                u64_(b, count);
            }
        });
    });
}

pub(crate) fn data_end(out: &mut Vec<u8>, data_section_crc: u32) {
    record(out, op::DATA_END, |b| u32_(b, data_section_crc));
}

pub(crate) fn summary_offset(out: &mut Vec<u8>, group_opcode: u8, start: u64, length: u64) {
    record(out, op::SUMMARY_OFFSET, |b| {
        b.push(group_opcode);
        u64_(b, start);
        u64_(b, length);
    });
}

/// The footer without its CRC (the caller hashes up to here).
pub(crate) fn footer_head(out: &mut Vec<u8>, summary_start: u64, summary_offset_start: u64) {
    out.push(op::FOOTER);
    u64_(out, 8 + 8 + 4);
    u64_(out, summary_start);
    u64_(out, summary_offset_start);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcap::records::Record;

    /// Each record parses back, with the mcap crate, to the fields written.
    #[test]
    fn records_parse_back_with_the_mcap_crate() {
        let parse = |bytes: &[u8]| -> Record<'static> {
            let len = u64::from_le_bytes(bytes[1..9].try_into().unwrap()) as usize;
            assert_eq!(bytes.len(), 9 + len);
            mcap::read::parse_record(bytes[0], &bytes[9..])
                .unwrap()
                .into_owned()
        };
        let mut b = Vec::new();
        schema(&mut b, 7, "pkg/msg/T", "ros2msg", b"int32 a");
        let Record::Schema { header, data } = parse(&b) else {
            panic!("not a schema")
        };
        assert_eq!((header.id, header.name.as_str()), (7, "pkg/msg/T"));
        assert_eq!(
            (header.encoding.as_str(), &data[..]),
            ("ros2msg", &b"int32 a"[..])
        );

        let metadata = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        b.clear();
        channel(&mut b, 9, 7, "/t", "cdr", &metadata);
        let Record::Channel(c) = parse(&b) else {
            panic!("not a channel")
        };
        assert_eq!((c.id, c.schema_id, c.topic.as_str()), (9, 7, "/t"));
        assert_eq!(c.metadata, metadata);

        let head = MessageHead {
            channel_id: 9,
            sequence: 3,
            log_time: 10,
            publish_time: 11,
        };
        b.clear();
        message(&mut b, head, b"xyz");
        let Record::Message { header, data } = parse(&b) else {
            panic!("not a message")
        };
        assert_eq!((header.channel_id, header.sequence), (9, 3));
        assert_eq!(
            (header.log_time, header.publish_time, &data[..]),
            (10, 11, &b"xyz"[..])
        );

        b.clear();
        message_index(&mut b, 9, &[(10, 0), (12, 40)]);
        let Record::MessageIndex(index) = parse(&b) else {
            panic!("not a message index")
        };
        let entries: Vec<(u64, u64)> = index
            .records
            .iter()
            .map(|e| (e.log_time, e.offset))
            .collect();
        assert_eq!((index.channel_id, entries), (9, vec![(10, 0), (12, 40)]));

        let ci = ChunkIndex {
            start: 1,
            end: 2,
            chunk_start_offset: 3,
            chunk_length: 4,
            message_index_offsets: BTreeMap::from([(9, 5), (10, 6)]),
            message_index_length: 7,
            compression: "zstd".to_owned(),
            compressed_size: 8,
            uncompressed_size: 9,
        };
        b.clear();
        chunk_index(&mut b, &ci);
        let Record::ChunkIndex(got) = parse(&b) else {
            panic!("not a chunk index")
        };
        assert_eq!(
            (
                got.message_start_time,
                got.message_end_time,
                got.chunk_start_offset
            ),
            (1, 2, 3)
        );
        assert_eq!((got.chunk_length, got.message_index_length), (4, 7));
        assert_eq!(got.message_index_offsets, ci.message_index_offsets);
        assert_eq!(
            (
                got.compression.as_str(),
                got.compressed_size,
                got.uncompressed_size
            ),
            ("zstd", 8, 9)
        );

        let stats = Statistics {
            message_count: 5,
            schema_count: 1,
            channel_count: 2,
            chunk_count: 3,
            start: 4,
            end: 6,
            channel_message_counts: BTreeMap::from([(9, 5)]),
        };
        b.clear();
        statistics(&mut b, &stats);
        let Record::Statistics(got) = parse(&b) else {
            panic!("not statistics")
        };
        assert_eq!(
            (got.message_count, got.schema_count, got.channel_count),
            (5, 1, 2)
        );
        assert_eq!(
            (
                got.chunk_count,
                got.message_start_time,
                got.message_end_time
            ),
            (3, 4, 6)
        );
        assert_eq!(got.channel_message_counts, stats.channel_message_counts);
    }
}
