//! Fusion earns its keep: in every shipped scenario, the default launch
//! file (LiDAR, radars, cameras) tracks better than the LiDAR-only
//! configuration of the same module (`launch/lidar-only.toml`), by
//! CLEAR MOT accuracy within 80 m of the vehicle. Offline replay, so the
//! figures depend on the drive alone. ACCURACY.md has the full table.

use fusion_evaluate::{EvalConfig, Frame, Report, evaluate};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_node::launch::Launch;
use fusion_node::pipeline::RecordingSink;
use fusion_node::replay::OfflineReplay;
use fusion_sim::{Drive, DriveConfig, DriveMessage, LidarModel, Scenario, Source};

const RANGE_M: f64 = 80.0;

fn launch(name: &str) -> Launch {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut launch = Launch::load(root.join("launch").join(name)).unwrap();
    launch.logs.miss_log = None;
    launch.logs.hlog = None;
    launch.logs.summary = None;
    launch
}

fn in_range(bytes: &[u8]) -> Frame {
    let mut frame = Frame::from_msg(&fusion_msgs::decode::<TrackedObjects>(bytes).unwrap());
    frame.retain_within(RANGE_M);
    frame
}

/// The drive's messages through `launch`'s sensors and module, scored
/// against the drive's ground truth.
fn score(messages: &[DriveMessage], launch: &Launch) -> Report {
    let host = fusion_node::node::load_host_for_replay(launch).unwrap();
    let mut replay =
        OfflineReplay::new(launch, host, Box::new(RecordingSink::new()), None).unwrap();
    let (mut fused, mut truth) = (Vec::new(), Vec::new());
    let mut emit = |f: fusion_node::replay::Fused<'_>| fused.push(in_range(f.bytes));
    let topics: Vec<u16> = launch.sensors.iter().map(|s| s.index).collect();
    for m in messages {
        match m.source {
            Source::Sensor { index, .. } if topics.contains(&index) => {
                replay.feed(index, m.log_time_ns, m.data.as_slice(), &mut emit)
            }
            Source::Sensor { .. } => replay.advance_to(m.log_time_ns, &mut emit),
            Source::GroundTruth => truth.push(in_range(&m.data)),
        }
    }
    replay.finish(&mut emit);
    evaluate(truth, fused, &EvalConfig::default()).unwrap()
}

#[test]
fn fusion_beats_lidar_only_in_every_scenario() {
    let (fusion, lidar_only) = (launch("default.toml"), launch("lidar-only.toml"));
    for scenario in Scenario::ALL {
        let mut config =
            DriveConfig::new(scenario, 1, 8_000_000_000, fusion.module_config().sensors);
        config.lidar = LidarModel::small();
        let messages: Vec<DriveMessage> = Drive::new(config).collect();
        let with = score(&messages, &fusion);
        let without = score(&messages, &lidar_only);
        let (a, b) = (with.overall.mota.unwrap(), without.overall.mota.unwrap());
        eprintln!("{}: MOTA fusion {a:.3}, LiDAR only {b:.3}", scenario.name());
        // 80 LiDAR scans, fewer in sensor-dropout (a blackout, lost scans).
        assert!(
            with.frames.evaluated >= 60,
            "{}: {:?}",
            scenario.name(),
            with.frames
        );
        assert!(
            a > b,
            "{}: fusion MOTA {a:.3} is not above LiDAR-only {b:.3}",
            scenario.name()
        );
    }
}
