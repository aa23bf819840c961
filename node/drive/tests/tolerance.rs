//! Damaged drives: truncated at every offset, bytes flipped, writers killed,
//! channels of unknown types, files that are not MCAP. Nothing panics; a
//! cut file yields exactly the messages of its complete chunks.

mod common;

use std::collections::BTreeMap;

use common::{Written, as_written, key, write_sample};
use fusion_drive::{Compression, DriveError, DriveReader, DriveWriter, ReadFilter, WriterConfig};

fn small_drive(compression: Compression) -> (Vec<u8>, Vec<Written>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drive.mcap");
    let config = WriterConfig {
        compression,
        chunk_bytes: 1024,
        ..WriterConfig::default()
    };
    let written = write_sample(&path, config, 1);
    (std::fs::read(&path).unwrap(), written)
}

fn read_all(
    bytes: &[u8],
) -> Result<(Vec<fusion_drive::DriveMessage>, fusion_drive::ReadIssues), DriveError> {
    let reader = DriveReader::from_bytes(bytes.to_vec(), "test.mcap")?;
    let mut messages = reader.messages(ReadFilter::default());
    let read: Vec<_> = messages.by_ref().collect();
    let issues = messages.into_issues();
    // Decoding chunks ahead on a thread reads the same, damage and all
    // (checked on a quarter of the inputs, picked by length, which keeps
    // these tests' thousands of reads quick).
    if bytes.len().is_multiple_of(4) {
        let mut ahead = reader.messages(ReadFilter::default()).decode_ahead(2);
        let read_ahead: Vec<_> = ahead.by_ref().collect();
        assert_eq!(read_ahead, read, "decode_ahead read other messages");
        assert_eq!(
            ahead.into_issues(),
            issues,
            "decode_ahead found other issues"
        );
    }
    Ok((read, issues))
}

/// Asserts `read` holds the first `read.len()` messages in write order,
/// yielded in log-time order.
fn assert_write_order_prefix(
    read: &[fusion_drive::DriveMessage],
    written: &[Written],
    context: &str,
) {
    let mut got: Vec<_> = read.iter().map(as_written).collect();
    assert!(
        got.windows(2).all(|w| w[0].2 <= w[1].2),
        "{context}: not in log-time order"
    );
    let mut prefix: Vec<_> = written[..read.len()].iter().map(key).collect();
    got.sort();
    prefix.sort();
    assert_eq!(got, prefix, "{context}: not a prefix of what was written");
}

#[test]
fn a_file_cut_at_any_offset_yields_a_prefix_and_says_it_is_truncated() {
    for (compression, step) in [
        (Compression::Zstd, 5),
        (Compression::Lz4, 13),
        (Compression::None, 17),
    ] {
        let (bytes, written) = small_drive(compression);
        let mut last = 0;
        let mut counts = BTreeMap::new();
        for cut in (0..bytes.len()).step_by(step) {
            let context = format!("{compression} cut at {cut} of {}", bytes.len());
            match read_all(&bytes[..cut]) {
                Err(DriveError::NotMcap { .. }) => assert!(cut < 8, "{context}"),
                Err(e) => panic!("{context}: {e}"),
                Ok((read, issues)) => {
                    assert!(issues.truncated, "{context}");
                    assert_eq!(
                        issues.corrupt_chunks + issues.corrupt_records,
                        0,
                        "{context}: {issues:?}"
                    );
                    assert_write_order_prefix(&read, &written, &context);
                    // A longer prefix of the file never yields fewer messages.
                    assert!(read.len() >= last, "{context}");
                    last = read.len();
                    *counts.entry(read.len()).or_insert(0) += 1;
                }
            }
        }
        // The data section ends well before the file does: the whole
        // summary can be cut and every message still read.
        assert_eq!(last, written.len(), "{compression}");
        assert!(
            counts.len() > 5,
            "{compression}: too few chunks to test: {counts:?}"
        );
    }
}

/// A fixed xorshift so the flips are the same on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn flipped_bytes_never_panic_and_never_yield_altered_messages() {
    for compression in [Compression::Zstd, Compression::Lz4, Compression::None] {
        let (bytes, written) = small_drive(compression);
        let all: Vec<_> = written.iter().map(key).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for round in 0..400 {
            let mut damaged = bytes.clone();
            for _ in 0..1 + round % 3 {
                let at = (xorshift(&mut rng) % damaged.len() as u64) as usize;
                damaged[at] ^= 1 << (xorshift(&mut rng) % 8);
            }
            let context = format!("{compression} round {round}");
            let Ok((read, issues)) = read_all(&damaged) else {
                continue;
            };
            for m in &read {
                let mut got = as_written(m);
                if m.type_info.is_none() {
                    // Its schema was in a corrupt chunk or summary: the
                    // message is intact, its type unknown, and that is said.
                    assert!(
                        issues.unknown_type_messages > 0 && issues.lost_data(),
                        "{context}"
                    );
                    got.1 = all
                        .iter()
                        .find(|w| w.0 == got.0)
                        .map(|w| w.1.clone())
                        .unwrap_or_default();
                }
                assert!(all.contains(&got), "{context}: altered message {m:?}");
            }
            if read.len() < written.len() {
                assert!(!issues.is_clean(), "{context}: messages lost silently");
            }
        }
    }
}

#[test]
fn a_corrupt_chunk_is_skipped_and_counted_and_the_others_read() {
    let (bytes, written) = small_drive(Compression::Zstd);
    let reader = DriveReader::from_bytes(bytes.clone(), "d.mcap").unwrap();
    assert!(reader.issues().is_clean());
    // Damage the compressed data of the second chunk (after its header).
    let second = find_chunks(&bytes)[1];
    let mut damaged = bytes.clone();
    for b in &mut damaged[second + 60..second + 70] {
        *b ^= 0xff;
    }
    let (read, issues) = read_all(&damaged).unwrap();
    assert_eq!(issues.corrupt_chunks, 1, "{issues:?}");
    assert!(!issues.truncated);
    assert!(
        issues.to_string().contains("1 corrupt chunk(s) skipped"),
        "{issues}"
    );
    assert!(read.len() < written.len() && read.len() > written.len() / 2);
}

/// Offsets of the top-level chunk records.
fn find_chunks(bytes: &[u8]) -> Vec<usize> {
    let mut pos = 8;
    let mut chunks = Vec::new();
    while pos + 9 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[pos + 1..pos + 9].try_into().unwrap()) as usize;
        if bytes[pos] == 0x06 {
            chunks.push(pos);
        }
        if bytes[pos] == 0x0f {
            break;
        }
        pos += 9 + len;
    }
    chunks
}

#[test]
fn a_killed_writer_leaves_every_flushed_chunk_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.mcap");
    let mut writer = DriveWriter::create(&path, WriterConfig::default()).unwrap();
    let topic = writer
        .add_topic("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray")
        .unwrap();
    let message = fusion_msgs::diagnostic_msgs::DiagnosticArray::default();
    for t in 0..10 {
        writer.write_message(topic, t, t, &message).unwrap();
    }
    writer.flush().unwrap();
    for t in 10..15 {
        writer.write_message(topic, t, t, &message).unwrap();
    }
    // As SIGKILL would: no finish, no drop, buffers lost.
    std::mem::forget(writer);
    let reader = DriveReader::open(&path).unwrap();
    let mut messages = reader.messages(ReadFilter::default());
    let times: Vec<u64> = messages.by_ref().map(|m| m.log_time_ns).collect();
    assert_eq!(times, (0..10).collect::<Vec<_>>());
    assert!(messages.issues().truncated);
}

#[test]
fn chunks_close_on_log_time_span_so_a_slow_topic_loses_at_most_that() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.mcap");
    let config = WriterConfig {
        chunk_span_ns: 1_000,
        ..WriterConfig::default()
    };
    let mut writer = DriveWriter::create(&path, config).unwrap();
    let topic = writer
        .add_topic("/d", "diagnostic_msgs/msg/DiagnosticArray")
        .unwrap();
    let message = fusion_msgs::diagnostic_msgs::DiagnosticArray::default();
    for t in (0..10_000).step_by(500) {
        writer.write_message(topic, t, t, &message).unwrap();
    }
    std::mem::forget(writer);
    let (read, issues) = read_all(&std::fs::read(&path).unwrap()).unwrap();
    assert!(issues.truncated);
    // 20 messages in chunks of 3 (0, 500, 1000 → closed): 18 on disk.
    assert_eq!(read.len(), 18);
}

#[test]
fn channels_of_unknown_types_are_counted_and_skippable() {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = mcap::WriteOptions::new()
            .profile("ros2")
            .create(&mut out)
            .unwrap();
        let known = w
            .add_schema(
                "radar_msgs/msg/RadarScan",
                "ros2msg",
                fusion_msgs::TypeInfo::find("radar_msgs/msg/RadarScan")
                    .unwrap()
                    .full_definition
                    .as_bytes(),
            )
            .unwrap();
        let foreign = w
            .add_schema("foo_msgs/msg/Bar", "ros2msg", b"int32 x")
            .unwrap();
        let json = w.add_schema("Thing", "jsonschema", b"{}").unwrap();
        let meta = Default::default();
        let channels = [
            w.add_channel(known, "/radar", "cdr", &meta).unwrap(),
            w.add_channel(foreign, "/foo", "cdr", &meta).unwrap(),
            w.add_channel(json, "/json", "json", &meta).unwrap(),
            w.add_channel(0, "/raw", "bytes", &meta).unwrap(),
        ];
        let radar = fusion_msgs::encode(&fusion_msgs::radar_msgs::RadarScan::default()).unwrap();
        for (i, &channel_id) in channels.iter().enumerate() {
            let header = mcap::records::MessageHeader {
                channel_id,
                sequence: 0,
                log_time: i as u64,
                publish_time: i as u64,
            };
            w.write_to_known_channel(&header, &radar).unwrap();
        }
        w.finish().unwrap();
    }
    let bytes = out.into_inner();
    let (read, issues) = read_all(&bytes).unwrap();
    assert_eq!(read.len(), 4);
    assert_eq!(issues.unknown_type_messages, 3);
    assert_eq!(issues.unknown_type_topics.len(), 3, "{issues:?}");
    assert!(!issues.lost_data());
    assert!(read[0].type_info.is_some() && read[1..].iter().all(|m| m.type_info.is_none()));
    assert_eq!(&*read[1].type_name, "foo_msgs/msg/Bar");

    let reader = DriveReader::from_bytes(bytes.clone(), "x.mcap").unwrap();
    let filter = ReadFilter {
        skip_unknown_types: true,
        ..ReadFilter::default()
    };
    let topics: Vec<_> = reader
        .messages(filter)
        .map(|m| m.topic.to_string())
        .collect();
    assert_eq!(topics, ["/radar"]);

    let info = fusion_drive::DriveInfo::of(&reader);
    assert_eq!(info.topics.iter().filter(|t| !t.known_type).count(), 3);
    assert_eq!(info.issues.unknown_type_messages, 3);
}

#[test]
fn files_that_are_not_mcap_are_refused_with_a_reason() {
    for bytes in [&b""[..], b"\x89MC", b"hello, this is not an mcap file"] {
        match DriveReader::from_bytes(bytes.to_vec(), "x") {
            Err(DriveError::NotMcap { reason, .. }) => assert!(!reason.is_empty()),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{bytes:?} accepted"),
        }
    }
    let err = DriveReader::open("/nonexistent/drive.mcap").err().unwrap();
    assert!(err.to_string().contains("/nonexistent/drive.mcap"), "{err}");
}

#[test]
fn a_chunk_index_whose_length_disagrees_with_its_chunk_is_not_trusted() {
    let (bytes, written) = small_drive(Compression::Zstd);
    let footer = mcap::read::footer(&bytes).unwrap();
    let mut damaged = bytes.clone();
    // The first chunk index in the summary claims 5 bytes more.
    let mut pos = footer.summary_start as usize;
    loop {
        let len = u64::from_le_bytes(damaged[pos + 1..pos + 9].try_into().unwrap()) as usize;
        if damaged[pos] == mcap::records::op::CHUNK_INDEX {
            let at = pos + 9 + 24; // start, end, chunk_start_offset
            let claimed = u64::from_le_bytes(damaged[at..at + 8].try_into().unwrap()) + 5;
            damaged[at..at + 8].copy_from_slice(&claimed.to_le_bytes());
            break;
        }
        pos += 9 + len;
    }
    // With its CRC unset (0), the summary is otherwise taken as it is.
    let crc_at = damaged.len() - mcap::MAGIC.len() - 4;
    damaged[crc_at..crc_at + 4].copy_from_slice(&[0; 4]);
    let (read, issues) = read_all(&damaged).unwrap();
    assert!(issues.scanned, "{issues:?}");
    assert!(issues.to_string().contains("scanned"), "{issues}");
    assert_eq!(read.len(), written.len());
    // A chunk handed out for copying is exactly its record.
    let reader = DriveReader::from_bytes(damaged, "d.mcap").unwrap();
    let mut messages = reader.messages(ReadFilter::default()).keep_chunks();
    messages.next().unwrap();
    let chunk = messages.take_chunks().next().unwrap();
    let record = &bytes[chunk.offset as usize..][..chunk.len_bytes() as usize];
    let own = u64::from_le_bytes(record[1..9].try_into().unwrap());
    assert_eq!(chunk.len_bytes(), 9 + own);
}
