//! Drives written by `DriveWriter` read back whole by `DriveReader` and
//! summarised by `DriveInfo`.

mod common;

use common::{T0_NS, as_written, by_log_time, key, write_sample};
use fusion_drive::{Compression, DriveInfo, DriveReader, ReadFilter, WriterConfig};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_msgs::diagnostic_msgs::DiagnosticArray;
use fusion_msgs::radar_msgs::RadarScan;
use fusion_msgs::sensor_msgs::PointCloud2;
use fusion_msgs::vision_msgs::Detection2DArray;
use fusion_msgs::visualization_msgs::MarkerArray;

fn decoded_value(m: &fusion_drive::DriveMessage) -> serde_json::Value {
    fn v<M: fusion_msgs::Message>(data: &[u8]) -> serde_json::Value {
        serde_json::to_value(fusion_msgs::decode::<M>(data).unwrap()).unwrap()
    }
    match &*m.type_name {
        "sensor_msgs/msg/PointCloud2" => v::<PointCloud2>(&m.data),
        "radar_msgs/msg/RadarScan" => v::<RadarScan>(&m.data),
        "vision_msgs/msg/Detection2DArray" => v::<Detection2DArray>(&m.data),
        "autoware_perception_msgs/msg/TrackedObjects" => v::<TrackedObjects>(&m.data),
        "visualization_msgs/msg/MarkerArray" => v::<MarkerArray>(&m.data),
        "diagnostic_msgs/msg/DiagnosticArray" => v::<DiagnosticArray>(&m.data),
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn every_message_of_every_type_reads_back_in_log_time_order_with_each_compression() {
    for compression in [Compression::Zstd, Compression::Lz4, Compression::None] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drive.mcap");
        let config = WriterConfig {
            compression,
            chunk_bytes: 4096,
            ..WriterConfig::default()
        };
        let written = by_log_time(&write_sample(&path, config, 3));
        let reader = DriveReader::open(&path).unwrap();
        let mut messages = reader.messages(ReadFilter::default());
        let read: Vec<_> = messages.by_ref().collect();
        assert!(
            messages.issues().is_clean(),
            "{compression}: {:?}",
            messages.issues()
        );
        assert_eq!(read.len(), written.len(), "{compression}");
        for (r, w) in read.iter().zip(&written) {
            assert_eq!(as_written(r), key(w), "{compression}");
            assert_eq!(r.type_info.map(|t| t.name), Some(w.type_name.as_str()));
            assert_eq!(decoded_value(r), w.value, "{compression} {}", w.topic);
        }
    }
}

#[test]
fn info_counts_topics_times_and_compression_from_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drive.mcap");
    let written = write_sample(&path, WriterConfig::default(), 2);
    let info = DriveInfo::read(&path).unwrap();
    assert!(info.from_summary);
    assert!(info.issues.is_clean(), "{:?}", info.issues);
    assert_eq!(info.message_count, written.len() as u64);
    assert_eq!(info.start_ns, T0_NS);
    let last = written.iter().map(|w| w.log_time_ns).max().unwrap();
    assert_eq!(info.end_ns, last);
    assert_eq!(info.duration_ns, last - T0_NS);
    assert_eq!(info.size_bytes, std::fs::metadata(&path).unwrap().len());
    // 2 s of log time with 1 s chunks.
    assert!(info.chunk_count >= 2, "{}", info.chunk_count);
    assert_eq!(info.compression.keys().collect::<Vec<_>>(), ["zstd"]);
    assert_eq!(info.compression["zstd"], info.chunk_count);
    assert_eq!(info.topics.len(), 7);
    let lidar = info
        .topics
        .iter()
        .find(|t| t.topic == "/sensing/lidar/top/pointcloud")
        .unwrap();
    assert_eq!(lidar.type_name, "sensor_msgs/msg/PointCloud2");
    assert_eq!(lidar.count, 20);
    assert!(lidar.known_type);
    let expected_hz = 20.0 / ((last - T0_NS) as f64 * 1e-9);
    assert!((lidar.rate_hz - expected_hz).abs() < 1e-9);
    let diag = info
        .topics
        .iter()
        .find(|t| t.topic == "/diagnostics")
        .unwrap();
    assert_eq!(
        (diag.type_name.as_str(), diag.count),
        ("diagnostic_msgs/msg/DiagnosticArray", 2)
    );

    let table = info.to_string();
    assert!(table.contains("Messages:     122"), "{table}");
    assert!(table.contains("/sensing/lidar/top/pointcloud"), "{table}");
    assert!(
        table.contains("zstd (") && table.contains("summary section"),
        "{table}"
    );
}

#[test]
fn info_without_a_summary_scans_and_finds_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drive.mcap");
    write_sample(&path, WriterConfig::default(), 2);
    let full = DriveInfo::read(&path).unwrap();
    // Drop the footer's magic: the summary can no longer be found.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let scanned = DriveInfo::read(&cut).unwrap();
    assert!(!scanned.from_summary && scanned.issues.truncated && scanned.issues.scanned);
    assert_eq!(scanned.message_count, full.message_count);
    assert_eq!(
        (scanned.start_ns, scanned.end_ns),
        (full.start_ns, full.end_ns)
    );
    assert_eq!(scanned.topics, full.topics);
    assert_eq!(scanned.chunk_count, full.chunk_count);
    assert!(scanned.to_string().contains("warning: truncated file"));
}

#[test]
fn filters_select_topics_and_a_time_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drive.mcap");
    let written = by_log_time(&write_sample(&path, WriterConfig::default(), 3));
    let reader = DriveReader::open(&path).unwrap();

    let radar = "/sensing/radar/front/scan";
    let read: Vec<_> = reader
        .messages(ReadFilter::default().with_topics([radar]))
        .map(|m| as_written(&m))
        .collect();
    let expected: Vec<_> = written
        .iter()
        .filter(|w| w.topic == radar)
        .map(key)
        .collect();
    assert_eq!(read, expected);

    let (start, duration) = (T0_NS + 1_200_000_000, 500_000_000);
    let read: Vec<_> = reader
        .messages(ReadFilter::window(start, duration))
        .map(|m| as_written(&m))
        .collect();
    let expected: Vec<_> = written
        .iter()
        .filter(|w| w.log_time_ns >= start && w.log_time_ns < start + duration)
        .map(key)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(read, expected);
}

#[test]
fn writer_refuses_unknown_types_and_conflicting_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        fusion_drive::DriveWriter::create(dir.path().join("d.mcap"), WriterConfig::default())
            .unwrap();
    let err = writer.add_topic("/x", "foo_msgs/msg/Bar").unwrap_err();
    assert!(
        matches!(err, fusion_drive::DriveError::UnknownType { .. }),
        "{err}"
    );
    let a = writer.add_topic("/x", "radar_msgs/msg/RadarScan").unwrap();
    assert_eq!(writer.add_topic("/x", "radar_msgs/RadarScan").unwrap(), a);
    let err = writer
        .add_topic("/x", "sensor_msgs/msg/PointCloud2")
        .unwrap_err();
    assert!(
        matches!(err, fusion_drive::DriveError::TopicTypeConflict { .. }),
        "{err}"
    );
    writer.finish().unwrap();
}
