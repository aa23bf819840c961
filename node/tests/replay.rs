//! Offline replay: a simulated drive through the aligner and the module,
//! on the recording's clock. The outputs and their digest depend on the
//! drive alone: two replays, and the Wasm and native builds of the
//! reference module, agree byte for byte.

use std::sync::{Arc, Mutex};

use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_node::launch::Launch;
use fusion_node::pipeline::RecordingSink;
use fusion_node::replay::{FrameRunner, NativeRunner, OfflineReplay, ReplayCounts};
use fusion_reference::ReferenceModule;
use fusion_sim::{Drive, DriveConfig, LidarModel, Scenario, Source};

fn launch() -> Launch {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut launch = Launch::load(root.join("launch/default.toml")).unwrap();
    launch.logs.miss_log = None;
    launch.logs.hlog = None;
    launch.logs.summary = None;
    launch
}

/// A shared buffer the frames log writes into.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Replayed {
    counts: ReplayCounts,
    digest: String,
    outputs: Vec<(u64, i64, Vec<u8>)>,
    frames_log: Vec<serde_json::Value>,
}

fn replay(scenario: Scenario, seconds: i64, runner: impl FrameRunner) -> Replayed {
    let launch = launch();
    let rig = launch.module_config().sensors;
    let mut config = DriveConfig::new(scenario, 11, seconds * 1_000_000_000, rig);
    config.lidar = LidarModel {
        beams: 16,
        azimuth_steps: 360,
        ..LidarModel::small()
    };
    let log = Shared::default();
    let mut replay = OfflineReplay::new(
        &launch,
        runner,
        Box::new(RecordingSink::new()),
        Some(Box::new(log.clone())),
    )
    .unwrap();
    let mut outputs = Vec::new();
    let mut emit = |f: fusion_node::replay::Fused<'_>| {
        outputs.push((f.sequence, f.log_time_ns, f.bytes.to_vec()));
    };
    for message in Drive::new(config) {
        if let Source::Sensor { index, .. } = message.source {
            replay.feed(index, message.log_time_ns, message.data, &mut emit);
        }
    }
    let (counts, digest) = replay.finish(&mut emit);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let frames_log = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Replayed {
        counts,
        digest,
        outputs,
        frames_log,
    }
}

fn wasm() -> fusion_node::host::ModuleHost {
    fusion_node::node::load_host_for_replay(&launch()).unwrap()
}

fn native() -> NativeRunner<ReferenceModule> {
    NativeRunner::new(&launch()).unwrap()
}

#[test]
fn replays_agree_with_each_other_and_the_native_build() {
    let a = replay(Scenario::Highway, 3, wasm());
    // 10 Hz LiDAR for 3 s: one frame per scan, each with objects.
    assert!((29..=31).contains(&a.counts.frames), "{:?}", a.counts);
    assert_eq!(a.counts.published, a.counts.frames, "{:?}", a.counts);
    assert_eq!(a.counts.bad_stamps + a.counts.refused, 0, "{:?}", a.counts);
    let objects: usize = a
        .outputs
        .iter()
        .map(|(_, _, b)| {
            fusion_msgs::decode::<TrackedObjects>(b)
                .unwrap()
                .objects
                .len()
        })
        .sum();
    assert!(
        objects > 30,
        "{objects} objects in {} frames",
        a.outputs.len()
    );
    // Outputs come out in order, at non-decreasing recording times.
    assert!(
        a.outputs
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    );

    let b = replay(Scenario::Highway, 3, wasm());
    assert_eq!(a.digest, b.digest, "two replays of one drive differ");
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.frames_log, b.frames_log);

    let n = replay(Scenario::Highway, 3, native());
    assert_eq!(a.digest, n.digest, "the Wasm and native builds differ");
}

#[test]
fn the_frames_log_names_every_sensor_stamp_and_the_dropouts() {
    let r = replay(Scenario::SensorDropout, 10, native());
    assert_eq!(r.frames_log.len() as u64, r.counts.frames);
    let mut degraded_front = 0;
    for line in &r.frames_log {
        let stamps = line["stamps_ns"].as_object().unwrap();
        assert_eq!(stamps.len(), 8, "{line}");
        let trigger = line["trigger_stamp_ns"].as_i64().unwrap();
        assert_eq!(stamps["lidar_top"].as_i64(), Some(trigger));
        let missing: Vec<&str> = line["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        for (name, stamp) in stamps {
            // A sensor is missing exactly when it has no stamp; present
            // ones are within the launch file's 60 ms skew.
            assert_eq!(stamp.is_null(), missing.contains(&name.as_str()), "{line}");
            if let Some(s) = stamp.as_i64() {
                assert!((s - trigger).abs() <= 60_000_000, "{line}");
            }
        }
        if missing == ["camera_front"] {
            degraded_front += 1;
        }
        assert_eq!(line["degraded"].as_bool(), Some(!missing.is_empty()));
    }
    // The front camera is out for 15 % of the drive: about 15 frames.
    assert!(
        (8..=20).contains(&degraded_front),
        "{degraded_front} frames without the front camera"
    );
}
