//! Drives written by `SpliceWriter` from copied chunks and new messages,
//! read back by fusion-drive and by the mcap crate (linear and indexed).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Key, NEW_TOPIC, T0_NS, as_written, by_log_time, key, splice, write_sample};
use fusion_drive::{Compression, CopyRefused, DriveReader, ReadFilter, SpliceWriter, WriterConfig};

/// Everything fusion-drive reads from `path`, which must read cleanly.
fn read_back(path: &Path) -> Vec<Key> {
    let reader = DriveReader::open(path).unwrap();
    let mut messages = reader.messages(ReadFilter::default());
    let mut read: Vec<Key> = messages.by_ref().map(|m| as_written(&m)).collect();
    assert!(messages.issues().is_clean(), "{:?}", messages.issues());
    read.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    read
}

/// The mcap crate's own readers agree: the linear stream, the summary's
/// statistics, and each chunk's message indexes.
fn check_with_the_mcap_crate(path: &Path, expected: &[Key]) {
    let bytes = std::fs::read(path).unwrap();
    let mut linear: Vec<(String, u64, u32, Vec<u8>)> = mcap::MessageStream::new(&bytes)
        .unwrap()
        .map(|m| {
            let m = m.unwrap();
            (
                m.channel.topic.clone(),
                m.log_time,
                m.sequence,
                m.data.to_vec(),
            )
        })
        .collect();
    let mut want: Vec<(String, u64, u32, Vec<u8>)> = expected
        .iter()
        .map(|k| (k.0.clone(), k.2, k.4, k.5.clone()))
        .collect();
    linear.sort();
    want.sort();
    assert_eq!(linear, want);

    let summary = mcap::Summary::read(&bytes).unwrap().unwrap();
    let stats = summary.stats.as_ref().unwrap();
    // One channel per topic, and the summary declares every channel and
    // schema the file does (in chunks too).
    let mut topics: Vec<&str> = summary
        .channels
        .values()
        .map(|c| c.topic.as_str())
        .collect();
    topics.sort();
    let before = topics.len();
    topics.dedup();
    assert_eq!(topics.len(), before, "a topic on two channels: {topics:?}");
    let (mut channels, mut schemas) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for record in mcap::read::LinearReader::new(&bytes).unwrap() {
        match record.unwrap() {
            mcap::records::Record::Chunk { header, data } => {
                for r in mcap::read::ChunkReader::new(header, &data).unwrap() {
                    match r.unwrap() {
                        mcap::records::Record::Channel(c) => channels.insert(c.id),
                        mcap::records::Record::Schema { header, .. } => schemas.insert(header.id),
                        _ => false,
                    };
                }
            }
            mcap::records::Record::Channel(c) => {
                channels.insert(c.id);
            }
            mcap::records::Record::Schema { header, .. } => {
                schemas.insert(header.id);
            }
            _ => {}
        }
    }
    assert_eq!(channels, summary.channels.keys().copied().collect());
    assert_eq!(schemas, summary.schemas.keys().copied().collect());
    assert_eq!(stats.channel_count as usize, channels.len());
    assert_eq!(stats.schema_count as usize, schemas.len());
    assert_eq!(stats.message_count, expected.len() as u64);
    assert_eq!(stats.chunk_count as usize, summary.chunk_indexes.len());
    let times = expected.iter().map(|k| k.2);
    assert_eq!(
        (stats.message_start_time, stats.message_end_time),
        (times.clone().min().unwrap(), times.max().unwrap())
    );
    let mut per_channel: BTreeMap<u16, u64> = BTreeMap::new();
    let mut indexed = 0;
    for index in &summary.chunk_indexes {
        let entries = summary.read_message_indexes(&bytes, index).unwrap();
        for (channel, entries) in &entries {
            *per_channel.entry(channel.id).or_default() += entries.len() as u64;
            for entry in entries {
                let m = summary.seek_message(&bytes, index, entry).unwrap();
                assert_eq!(m.log_time, entry.log_time);
                assert_eq!(m.channel.id, channel.id);
                indexed += 1;
            }
        }
    }
    assert_eq!(indexed, expected.len());
    assert_eq!(per_channel, stats.channel_message_counts);
}

#[test]
fn a_spliced_drive_holds_every_source_message_and_the_new_ones() {
    for (source_compression, new_compression) in [
        (Compression::Zstd, Compression::Lz4),
        (Compression::Lz4, Compression::Zstd),
        (Compression::None, Compression::None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.mcap");
        let config = WriterConfig {
            compression: source_compression,
            chunk_bytes: 4096,
            ..WriterConfig::default()
        };
        let written = by_log_time(&write_sample(&source, config, 3));
        let out = dir.path().join("spliced.mcap");
        let config = WriterConfig {
            compression: new_compression,
            chunk_bytes: 512,
            ..WriterConfig::default()
        };
        let (expected, _, summary) = splice(&source, ReadFilter::default(), &out, config);
        let source_chunks = fusion_drive::DriveInfo::read(&source).unwrap().chunk_count;
        assert_eq!(summary.chunks_copied, source_chunks, "{source_compression}");
        assert!(summary.chunks_written > 1);
        assert_eq!(summary.messages, expected.len() as u64);
        assert_eq!(expected.len(), written.len() + 30);
        assert_eq!(read_back(&out), expected);
        check_with_the_mcap_crate(&out, &expected);
        // The source's messages came through unchanged, sequences included.
        let read = read_back(&out);
        let sources: Vec<&Key> = read.iter().filter(|k| k.0 != NEW_TOPIC).collect();
        let written: Vec<Key> = written.iter().map(key).collect();
        assert_eq!(sources.len(), written.len());
        for w in &written {
            assert!(sources.contains(&w), "{w:?} missing");
        }
    }
}

/// 3 s of the sample drive in small zstd chunks.
fn sample_source() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mcap");
    let config = WriterConfig {
        chunk_bytes: 4096,
        ..WriterConfig::default()
    };
    write_sample(&source, config, 3);
    (dir, source)
}

#[test]
fn a_filtered_read_copies_only_chunks_whose_every_message_passed() {
    let (dir, source) = sample_source();
    let out = dir.path().join("spliced.mcap");
    // /diagnostics is in a few chunks only: those are written again.
    let topics = [
        "/sensing/lidar/top/pointcloud",
        "/sensing/radar/front/scan",
        "/sensing/camera/front/detections",
        "/perception/objects",
        "/perception/markers",
        "/ground_truth/objects",
    ];
    let filter = ReadFilter::window(T0_NS + 500_000_000, 1_500_000_000).with_topics(topics);
    let (expected, _, summary) = splice(&source, filter, &out, WriterConfig::default());
    assert!(summary.chunks_copied > 0);
    assert!(summary.chunks_written > 0);
    assert!(expected.iter().all(|k| k.0 != "/diagnostics"));
    assert!(
        expected
            .iter()
            .all(|k| k.2 >= T0_NS + 500_000_000 && k.2 < T0_NS + 2_100_000_000)
    );
    assert_eq!(read_back(&out), expected);
    check_with_the_mcap_crate(&out, &expected);
}

#[test]
fn a_cut_source_splices_up_to_its_cut_into_a_finished_drive() {
    let (dir, source) = sample_source();
    let whole = std::fs::read(&source).unwrap();
    let cut = dir.path().join("cut.mcap");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let out = dir.path().join("spliced.mcap");
    let (expected, _, summary) = splice(&cut, ReadFilter::default(), &out, WriterConfig::default());
    assert!(summary.chunks_copied > 0);
    assert!(!expected.is_empty());
    assert_eq!(read_back(&out), expected);
    check_with_the_mcap_crate(&out, &expected);
}

#[test]
fn a_chunk_whose_channel_id_is_taken_is_refused_and_the_drive_stays_sound() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mcap");
    write_sample(&source, WriterConfig::default(), 1);
    let reader = DriveReader::open(&source).unwrap();
    let mut messages = reader.messages(ReadFilter::default()).keep_chunks();
    messages.next().unwrap();
    let chunk = messages.take_chunks().next().unwrap();
    assert!(chunk.complete);

    let out = dir.path().join("spliced.mcap");
    let mut writer = SpliceWriter::create(&out, WriterConfig::default()).unwrap();
    // The same topic names as the source's, another type: the first copy
    // declares the source's ids, so a chunk that renames them is refused.
    let mut renamed = chunk.clone();
    renamed.channels[0].topic = "/renamed".to_owned();
    assert_eq!(writer.copy_chunk(&chunk).unwrap(), Ok(()));
    assert_eq!(
        writer.copy_chunk(&renamed).unwrap(),
        Err(CopyRefused::IdConflict {
            what: "channel",
            id: chunk.channels[0].id
        })
    );
    let mut partial = chunk.clone();
    partial.complete = false;
    assert_eq!(
        writer.copy_chunk(&partial).unwrap(),
        Err(CopyRefused::Incomplete)
    );
    let summary = writer.finish().unwrap();
    assert_eq!(summary.chunks_copied, 1);
    assert_eq!(summary.messages, chunk.index.len() as u64);
    let read = read_back(&out);
    assert_eq!(read.len(), chunk.index.len());
}

#[test]
fn a_copied_chunk_that_declares_a_channel_without_messages_declares_it_in_the_summary() {
    // The mcap crate's writer declares a channel in the open chunk when it
    // is added: /b is declared in the first chunk, its messages come later.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mcap");
    let mut writer = fusion_drive::DriveWriter::create(&source, WriterConfig::default()).unwrap();
    let a = writer
        .add_topic("/a", "diagnostic_msgs/msg/DiagnosticArray")
        .unwrap();
    let b = writer
        .add_topic("/b", "diagnostic_msgs/msg/DiagnosticArray")
        .unwrap();
    let message = fusion_msgs::diagnostic_msgs::DiagnosticArray::default();
    for t in 0..5 {
        writer.write_message(a, t, t, &message).unwrap();
    }
    writer.flush().unwrap();
    for t in 5..10 {
        writer.write_message(b, t, t, &message).unwrap();
    }
    writer.finish().unwrap();
    let out = dir.path().join("spliced.mcap");
    let filter = ReadFilter::default().with_topics(["/a"]);
    let (expected, _, summary) = splice(&source, filter, &out, WriterConfig::default());
    assert_eq!(summary.chunks_copied, 1);
    assert!(expected.iter().all(|k| k.0 == "/a" || k.0 == NEW_TOPIC));
    assert_eq!(read_back(&out), expected);
    check_with_the_mcap_crate(&out, &expected);
}
