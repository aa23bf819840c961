use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::host::{MissReason, TrapKind};
use crate::pipeline::{FrameReport, Outcome, StageTimes};

const MS: Duration = Duration::from_millis(1);
const SHA: &str = "5f3c0e1b9a8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";

fn config(flush_every_lines: usize) -> DeadlineConfig {
    DeadlineConfig {
        budget: 10 * MS,
        module_sha256: SHA.to_owned(),
        sensors: ["lidar_top", "radar_front", "cam_left", "cam_right"]
            .map(String::from)
            .to_vec(),
        flush_every_lines,
    }
}

fn published(end_to_end: Duration) -> FrameReport {
    FrameReport {
        sequence: 7,
        trigger_stamp_ns: 1_700_000_000_123_456_789,
        trigger_arrival_ns: 42_000_001,
        missing_sensors: 0,
        stages: StageTimes {
            align_wait: Duration::from_micros(1_500),
            frame_build: Duration::from_nanos(120_500),
            module_exec: 4 * MS,
            publish: Duration::from_micros(30),
            end_to_end,
        },
        outcome: Outcome::Published {
            output_len: 512,
            stamp_age: 6 * MS,
        },
    }
}

fn failed(reason: MissReason) -> FrameReport {
    FrameReport {
        outcome: Outcome::ModuleMiss {
            reason,
            restarted: false,
        },
        ..published(11 * MS)
    }
}

/// The miss log's text and its lines as JSON.
fn read_log(path: &std::path::Path) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (text, lines)
}

#[test]
fn frames_are_classified_failure_first_then_late_then_degraded() {
    let budget = 10 * MS;
    assert_eq!(
        classify(&published(10 * MS), budget),
        None,
        "the budget itself is on time"
    );
    assert_eq!(
        classify(&published(10 * MS + Duration::from_nanos(1)), budget),
        Some(Miss::Late)
    );
    let degraded = FrameReport {
        missing_sensors: 0b100,
        ..published(3 * MS)
    };
    assert_eq!(classify(&degraded, budget), Some(Miss::Degraded));
    let late_and_degraded = FrameReport {
        missing_sensors: 0b100,
        ..published(12 * MS)
    };
    assert_eq!(classify(&late_and_degraded, budget), Some(Miss::Late));
    let trap = MissReason::Trap(TrapKind::Unreachable);
    let trapped_and_degraded = FrameReport {
        missing_sensors: 0b100,
        ..failed(trap)
    };
    assert_eq!(
        classify(&trapped_and_degraded, budget),
        Some(Miss::Module(trap))
    );
    let publish_failed = FrameReport {
        outcome: Outcome::PublishFailed,
        ..published(MS)
    };
    assert_eq!(classify(&publish_failed, budget), Some(Miss::PublishFailed));
}

/// One report of every kind, with the reason tag its line must carry.
fn every_reason() -> Vec<(FrameReport, &'static str)> {
    vec![
        (failed(MissReason::Deadline), "deadline"),
        (failed(MissReason::Trap(TrapKind::StackOverflow)), "trap"),
        (failed(MissReason::ModuleError(3)), "module_error"),
        (failed(MissReason::OutputInvalid), "output_invalid"),
        (failed(MissReason::InputInvalid), "input_invalid"),
        (failed(MissReason::RestartFailed), "restart_failed"),
        (
            FrameReport {
                outcome: Outcome::PublishFailed,
                ..published(2 * MS)
            },
            "publish_failed",
        ),
        (published(25 * MS), "late"),
        (
            FrameReport {
                missing_sensors: 0b1010,
                ..published(3 * MS)
            },
            "degraded",
        ),
    ]
}

const KEYS: [&str; 13] = [
    "reason",
    "sequence",
    "trigger_stamp_ns",
    "arrival_ns",
    "budget_us",
    "stages_us",
    "trap",
    "module_status",
    "module_sha256",
    "missing",
    "sensor",
    "dropped",
    "swap",
];

#[test]
fn every_miss_is_one_json_line_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/misses.jsonl");
    let mut monitor = DeadlineMonitor::new(config(1_000), MissLog::open(&path).unwrap());
    for _ in 0..5 {
        assert_eq!(monitor.record(&published(9 * MS)), None);
    }
    let cases = every_reason();
    for (report, tag) in &cases {
        assert_eq!(monitor.record(report).map(Miss::tag), Some(*tag));
    }
    monitor.record_dropped_input(2, 3, 99_000_000);
    monitor.record_dropped_input(1, 0, 99_000_000);
    monitor.flush().unwrap();

    let (text, lines) = read_log(&path);
    assert_eq!(lines.len(), cases.len() + 1, "{text}");
    let keys: BTreeSet<&str> = KEYS.into_iter().collect();
    for line in &lines {
        let got: BTreeSet<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, keys, "{line}");
        assert_eq!(line["module_sha256"], SHA);
        assert_eq!(line["budget_us"], 10_000.0);
    }
    for (line, (_, tag)) in lines.iter().zip(&cases) {
        assert_eq!(line["reason"], *tag);
        assert_eq!(line["sequence"], 7);
        assert_eq!(line["trigger_stamp_ns"], 1_700_000_000_123_456_789_i64);
        assert_eq!(line["arrival_ns"], 42_000_001);
        let stages = &line["stages_us"];
        assert_eq!(stages["align_wait"], 1_500.0);
        assert_eq!(stages["frame_build"], 120.5);
        assert_eq!(stages["module_exec"], 4_000.0);
        assert!(stages["end_to_end"].is_f64());
        let attempted = ["publish_failed", "late", "degraded"].contains(tag);
        assert_eq!(stages["publish"].is_null(), !attempted, "{line}");
        assert_eq!(line["trap"].is_null(), *tag != "trap");
        assert_eq!(line["module_status"].is_null(), *tag != "module_error");
        assert!(line["sensor"].is_null() && line["dropped"].is_null());
    }
    let by_tag = |t: &str| &lines[cases.iter().position(|(_, tag)| *tag == t).unwrap()];
    assert_eq!(by_tag("trap")["trap"], "stack_overflow");
    assert_eq!(by_tag("module_error")["module_status"], 3);
    assert_eq!(by_tag("late")["stages_us"]["end_to_end"], 25_000.0);
    assert_eq!(by_tag("late")["stages_us"]["publish"], 30.0);
    assert_eq!(
        by_tag("degraded")["missing"],
        serde_json::json!(["radar_front", "cam_right"])
    );
    assert_eq!(by_tag("deadline")["missing"], serde_json::json!([]));

    let drop = lines.last().unwrap();
    assert_eq!(drop["reason"], "dropped_input");
    assert_eq!(drop["sensor"], "cam_left");
    assert_eq!(drop["dropped"], 3);
    assert_eq!(drop["arrival_ns"], 99_000_000);
    assert!(drop["sequence"].is_null() && drop["stages_us"].is_null());
}

#[test]
fn counters_count_each_frame_once() {
    let mut monitor = DeadlineMonitor::new(config(1), MissLog::disabled());
    for _ in 0..10 {
        monitor.record(&published(MS));
    }
    for (report, _) in every_reason() {
        monitor.record(&report);
    }
    // A trap on a degraded frame is a trap, and a degraded frame.
    monitor.record(&FrameReport {
        missing_sensors: 1,
        ..failed(MissReason::Trap(TrapKind::Unreachable))
    });
    monitor.record_dropped_input(3, 4, 0);
    monitor.record_dropped_input(3, 1, 0);
    monitor.record_dropped_input(0, 2, 0);
    monitor.record_dropped_input(200, 5, 0);

    let c = monitor.counters();
    assert_eq!(c.frames, 10 + 9 + 1);
    assert_eq!(c.ok, 10);
    assert_eq!(c.frames, c.ok + c.misses());
    assert_eq!(c.trap, 2);
    for miss in [
        Miss::Module(MissReason::Deadline),
        Miss::Late,
        Miss::Degraded,
        Miss::PublishFailed,
    ] {
        assert_eq!(c.get(miss), 1, "{miss}");
    }
    assert_eq!(c.failures(), 8);
    assert_eq!(c.degraded_frames, 2);
    assert_eq!(c.dropped_inputs, 12);
    assert_eq!(&c.dropped_by_sensor[..4], &[2, 0, 0, 5]);
    assert_eq!(
        (c.log_lines, c.log_errors),
        (0, 0),
        "no log, nothing written"
    );
}

#[test]
fn lines_are_written_every_n_and_on_flush_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("misses.jsonl");
    let lines = || {
        std::fs::read_to_string(&path)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut monitor = DeadlineMonitor::new(config(3), MissLog::open(&path).unwrap());
    monitor.record(&published(20 * MS));
    monitor.record(&published(20 * MS));
    assert_eq!(lines(), 0, "buffered");
    monitor.record(&published(20 * MS));
    assert_eq!(lines(), 3, "the third line writes the buffer");
    monitor.record(&published(20 * MS));
    monitor.flush().unwrap();
    assert_eq!(lines(), 4);
    monitor.record(&published(20 * MS));
    assert_eq!(monitor.counters().log_lines, 5);
    drop(monitor);
    assert_eq!(lines(), 5, "drop flushes");

    // A restarted node appends.
    let mut again = DeadlineMonitor::new(config(1), MissLog::open(&path).unwrap());
    again.set_module_sha256("00ff");
    again.record(&failed(MissReason::Deadline));
    assert_eq!(lines(), 6);
    let last: Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["module_sha256"], "00ff");
}

#[test]
fn write_errors_are_counted_not_fatal() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut monitor = DeadlineMonitor::new(config(1), MissLog::to_writer(Broken));
    assert_eq!(monitor.record(&published(20 * MS)), Some(Miss::Late));
    assert_eq!(monitor.counters().late, 1);
    assert_eq!(monitor.counters().log_errors, 1);
    assert!(matches!(monitor.flush(), Err(DeadlineError::Write(_))));
}

#[test]
fn the_launch_file_sets_budget_and_sensor_names() {
    let launch = crate::launch::Launch::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../launch/default.toml"
    ))
    .unwrap();
    let c = DeadlineConfig::from_launch(&launch, SHA);
    assert_eq!(c.budget, launch.deadline);
    assert_eq!(c.sensors.len(), launch.sensors.len());
    assert_eq!(c.sensors[0], launch.sensors[0].name);
}

#[test]
fn a_dropped_set_is_one_line_and_not_a_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("misses.jsonl");
    let mut monitor = DeadlineMonitor::new(config(1), MissLog::open(&path).unwrap());
    monitor.record_dropped_set(&crate::pipeline::DroppedSet {
        trigger_stamp_ns: 5,
        trigger_arrival_ns: 6,
        dropped_ns: 7,
        missing_sensors: 0b10,
    });
    let c = monitor.counters();
    assert_eq!((c.dropped_sets, c.frames, c.misses()), (1, 0, 0));
    let line: Value = serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(line["reason"], "dropped_set");
    assert_eq!(line["trigger_stamp_ns"], 5);
    assert_eq!(line["arrival_ns"], 6);
    assert_eq!(line["missing"], serde_json::json!(["radar_front"]));
    assert!(line["sequence"].is_null() && line["stages_us"].is_null());
    assert_eq!(line.as_object().unwrap().len(), KEYS.len());
}

#[test]
fn a_swap_is_one_line_and_names_the_new_module_on_later_lines() {
    use crate::pipeline::swap::{ModuleIdentity, SwapRecord};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("misses.jsonl");
    let mut monitor = DeadlineMonitor::new(config(1), MissLog::open(&path).unwrap());
    let new = ModuleIdentity {
        sha256: "b".repeat(64),
        detail: "v2.wasm".into(),
    };
    monitor.record_swap(
        &SwapRecord {
            at_ns: 99,
            reason: "swap",
            sequence: Some(41),
            module: new.clone(),
            other: ModuleIdentity {
                sha256: SHA.into(),
                detail: "builtin:reference".into(),
            },
            detail: "state carried over (10 bytes)".into(),
            pause: Some(Duration::from_micros(35)),
        },
        99,
    );
    monitor.record(&failed(MissReason::Deadline));
    monitor.flush().unwrap();
    let (text, lines) = read_log(&path);
    assert_eq!(lines.len(), 2, "{text}");
    let swap = &lines[0];
    assert_eq!(swap["reason"], "swap");
    assert_eq!(swap["sequence"], 41);
    assert_eq!(swap["module_sha256"], new.sha256.as_str());
    assert_eq!(swap["swap"]["other_sha256"], SHA);
    assert_eq!(swap["swap"]["module_detail"], "v2.wasm");
    assert_eq!(swap["swap"]["pause_us"], 35.0);
    assert_eq!(swap.as_object().unwrap().len(), KEYS.len());
    // A swap is not a frame, and later misses name the new module.
    assert_eq!(monitor.counters().frames, 1);
    assert_eq!(lines[1]["module_sha256"], new.sha256.as_str());
    assert!(lines[1]["swap"].is_null());
}
