//! A small drive with every type the recorder writes, and what it holds.

#![allow(dead_code)]

use std::path::Path;

use std::collections::BTreeMap;

use fusion_drive::{
    DriveReader, DriveWriter, ReadFilter, SpliceSummary, SpliceWriter, Topic, WriterConfig,
};
use fusion_msgs::Message;
use fusion_msgs::autoware_perception_msgs::{ObjectClassification, TrackedObject, TrackedObjects};
use fusion_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use fusion_msgs::radar_msgs::{RadarReturn, RadarScan};
use fusion_msgs::sensor_msgs::{PointCloud2, PointField};
use fusion_msgs::std_msgs::Header;
use fusion_msgs::vision_msgs::{Detection2D, Detection2DArray};
use fusion_msgs::visualization_msgs::{Marker, MarkerArray};

/// One message as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Written {
    pub topic: String,
    pub type_name: String,
    pub log_time_ns: u64,
    pub publish_time_ns: u64,
    pub sequence: u32,
    pub data: Vec<u8>,
    /// The message's fields, as serde sees them (names from the `.msg`).
    pub value: serde_json::Value,
}

pub const T0_NS: u64 = 1_700_000_000_000_000_000;

fn header(t_ns: u64, frame: &str) -> Header {
    let mut h = Header::default();
    h.stamp.sec = (t_ns / 1_000_000_000) as i32;
    h.stamp.nanosec = (t_ns % 1_000_000_000) as u32;
    h.frame_id = frame.to_owned();
    h
}

// Values below are exact in f32, so decoders must agree bit for bit.
fn cloud(t: u64, i: u64) -> PointCloud2 {
    let points: Vec<[f32; 3]> = (0..4).map(|k| [k as f32 * 0.5, i as f32, -1.25]).collect();
    let fields = ["x", "y", "z"]
        .iter()
        .enumerate()
        .map(|(k, name)| PointField {
            name: (*name).to_owned(),
            offset: 4 * k as u32,
            datatype: PointField::FLOAT32,
            count: 1,
        })
        .collect();
    PointCloud2 {
        header: header(t, "lidar_top"),
        height: 1,
        width: points.len() as u32,
        fields,
        is_bigendian: false,
        point_step: 12,
        row_step: 12 * points.len() as u32,
        data: points
            .iter()
            .flatten()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        is_dense: true,
    }
}

fn radar(t: u64, i: u64) -> RadarScan {
    RadarScan {
        header: header(t, "radar_front"),
        returns: (0..3)
            .map(|k| RadarReturn {
                range: 10.0 + k as f32,
                azimuth: 0.25 * k as f32,
                elevation: 0.0,
                doppler_velocity: -2.5,
                amplitude: i as f32,
            })
            .collect(),
    }
}

fn camera(t: u64, i: u64) -> Detection2DArray {
    let mut d = Detection2D {
        header: header(t, "camera_front"),
        id: format!("det-{i}"),
        ..Detection2D::default()
    };
    d.bbox.size_x = 32.0;
    d.bbox.size_y = 16.5;
    Detection2DArray {
        header: header(t, "camera_front"),
        detections: vec![d],
    }
}

fn tracked(t: u64, i: u64, frame: &str) -> TrackedObjects {
    let mut o = TrackedObject::default();
    o.object_id.uuid = [i as u8; 16];
    o.existence_probability = 0.75;
    o.classification = vec![ObjectClassification {
        label: ObjectClassification::CAR,
        probability: 0.5,
    }];
    o.kinematics.pose_with_covariance.pose.position.x = 12.5 + i as f64;
    o.shape.dimensions.x = 4.5;
    TrackedObjects {
        header: header(t, frame),
        objects: vec![o],
    }
}

fn markers(t: u64, i: u64) -> MarkerArray {
    let mut m = Marker {
        header: header(t, "base_link"),
        ns: "tracks".to_owned(),
        id: i as i32,
        ..Marker::default()
    };
    m.scale.x = 1.0;
    m.color.a = 1.0;
    MarkerArray { markers: vec![m] }
}

fn diagnostics(t: u64, i: u64) -> DiagnosticArray {
    DiagnosticArray {
        header: header(t, ""),
        status: vec![DiagnosticStatus {
            level: DiagnosticStatus::OK,
            name: "fusion_node: deadline".to_owned(),
            message: "ok".to_owned(),
            hardware_id: String::new(),
            values: vec![KeyValue {
                key: "frames".to_owned(),
                value: i.to_string(),
            }],
        }],
    }
}

fn push<M: Message>(
    writer: &mut DriveWriter,
    out: &mut Vec<Written>,
    topic: &str,
    t: u64,
    message: M,
) {
    let handle = writer.add_topic(topic, M::TYPE_NAME).unwrap();
    let data = fusion_msgs::encode(&message).unwrap();
    let sequence = out.iter().filter(|w| w.topic == topic).count() as u32;
    // Published 1 ms before it was received.
    writer.write(handle, t, t - 1_000_000, &data).unwrap();
    out.push(Written {
        topic: topic.to_owned(),
        type_name: M::TYPE_NAME.to_owned(),
        log_time_ns: t,
        publish_time_ns: t - 1_000_000,
        sequence,
        data,
        value: serde_json::to_value(&message).unwrap(),
    });
}

/// Writes `seconds` of a 10 Hz drive on seven topics and returns what was
/// written, in write order (log times go back and forth a little within
/// each 100 ms step, as receive order does).
pub fn write_sample(path: &Path, config: WriterConfig, seconds: u64) -> Vec<Written> {
    let mut writer = DriveWriter::create(path, config).unwrap();
    let mut out = Vec::new();
    for i in 0..seconds * 10 {
        let t = T0_NS + i * 100_000_000;
        push(
            &mut writer,
            &mut out,
            "/sensing/lidar/top/pointcloud",
            t,
            cloud(t, i),
        );
        push(
            &mut writer,
            &mut out,
            "/sensing/radar/front/scan",
            t + 1_000,
            radar(t, i),
        );
        push(
            &mut writer,
            &mut out,
            "/sensing/camera/front/detections",
            t + 2_000,
            camera(t, i),
        );
        push(
            &mut writer,
            &mut out,
            "/perception/objects",
            t + 50_000_000,
            tracked(t, i, "map"),
        );
        push(
            &mut writer,
            &mut out,
            "/perception/markers",
            t + 50_000_001,
            markers(t, i),
        );
        push(
            &mut writer,
            &mut out,
            "/ground_truth/objects",
            t + 3_000,
            tracked(t, i, "map"),
        );
        if i % 10 == 0 {
            push(
                &mut writer,
                &mut out,
                "/diagnostics",
                t + 60_000_000,
                diagnostics(t, i),
            );
        }
    }
    let summary = writer.finish().unwrap();
    assert_eq!(summary.messages, out.len() as u64);
    out
}

/// `written` in the order a reader yields it: by log time, ties in file order.
pub fn by_log_time(written: &[Written]) -> Vec<Written> {
    let mut sorted = written.to_vec();
    sorted.sort_by_key(|w| w.log_time_ns);
    sorted
}

/// What a reader yielded, in the shape of [`Written`] (without `value`).
pub fn as_written(m: &fusion_drive::DriveMessage) -> (String, String, u64, u64, u32, Vec<u8>) {
    (
        m.topic.to_string(),
        m.type_name.to_string(),
        m.log_time_ns,
        m.publish_time_ns,
        m.sequence,
        m.data.clone(),
    )
}

pub fn key(w: &Written) -> (String, String, u64, u64, u32, Vec<u8>) {
    (
        w.topic.clone(),
        w.type_name.clone(),
        w.log_time_ns,
        w.publish_time_ns,
        w.sequence,
        w.data.clone(),
    )
}

pub type Key = (String, String, u64, u64, u32, Vec<u8>);

pub const NEW_TOPIC: &str = "/fused/objects";
pub const NEW_TYPE: &str = "autoware_perception_msgs/msg/TrackedObjects";

/// What an offline replay does: every chunk the read hands out is copied
/// when it can be, the messages of the others are written one by one, and
/// a new message (TrackedObjects) follows every LiDAR message. Returns
/// what the output should hold, the new messages and the writer's summary.
pub fn splice(
    source: &Path,
    filter: ReadFilter,
    out: &Path,
    config: WriterConfig,
) -> (Vec<Key>, Vec<Written>, SpliceSummary) {
    let reader = DriveReader::open(source).unwrap();
    let mut writer = SpliceWriter::create(out, config).unwrap();
    let fused = writer.add_topic(NEW_TOPIC, NEW_TYPE).unwrap();
    let mut topics: BTreeMap<(String, String), Topic> = BTreeMap::new();
    let mut copied = std::collections::BTreeSet::new();
    let mut expected = Vec::new();
    let mut new = Vec::new();
    let mut messages = reader.messages(filter).keep_chunks();
    let mut sequence = 0;
    // Each source channel as its chunks declare it, for messages written
    // one by one (their chunk not copied) to keep its ids.
    let mut sources = BTreeMap::new();
    while let Some(m) = messages.next() {
        for chunk in messages.take_chunks() {
            for c in &chunk.channels {
                if let Some(s) = &c.schema {
                    sources.insert((c.topic.clone(), s.name.clone()), c.clone());
                }
            }
            if writer.copy_chunk(&chunk).unwrap().is_ok() {
                copied.insert(chunk.offset);
            }
        }
        if !m.chunk.is_some_and(|c| copied.contains(&c)) {
            let key = (m.topic.to_string(), m.type_name.to_string());
            let topic = match topics.get(&key) {
                Some(&t) => t,
                None => {
                    let t = match sources.get(&key) {
                        Some(c) => writer.add_source_channel(c).unwrap().ok(),
                        None => None,
                    };
                    let t = t.unwrap_or_else(|| writer.add_topic(&m.topic, &m.type_name).unwrap());
                    *topics.entry(key).or_insert(t)
                }
            };
            writer
                .write(topic, m.sequence, m.log_time_ns, m.publish_time_ns, &m.data)
                .unwrap();
        }
        expected.push(as_written(&m));
        if m.topic.contains("lidar") {
            let t = m.log_time_ns + 7_000_000;
            let message = tracked(t, u64::from(sequence), "base_link");
            let data = fusion_msgs::encode(&message).unwrap();
            writer.write(fused, sequence, t, t, &data).unwrap();
            let w = Written {
                topic: NEW_TOPIC.to_owned(),
                type_name: NEW_TYPE.to_owned(),
                log_time_ns: t,
                publish_time_ns: t,
                sequence,
                data,
                value: serde_json::to_value(&message).unwrap(),
            };
            expected.push(key(&w));
            new.push(w);
            sequence += 1;
        }
    }
    let summary = writer.finish().unwrap();
    expected.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    (expected, new, summary)
}
