use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus};

use super::*;
use crate::deadline::{DeadlineConfig, DeadlineMonitor, MissLog};
use crate::host::{MissReason, TrapKind};
use crate::pipeline::{FrameReport, Outcome, SensorCounts, StageTimes};

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;

/// Sensor totals as `Pipeline::sensor_stats` gives them.
fn stats(name: &str, received: u64, dropped: u64, last_arrival_ns: Option<i64>) -> SensorStats {
    SensorStats {
        name: name.into(),
        counts: SensorCounts {
            received,
            malformed: 0,
            dropped_overflow: dropped,
            last_arrival_ns,
        },
    }
}

#[test]
fn rate_is_the_growth_of_received_since_the_last_report() {
    let mut diag = Diagnostics::new("n");
    let counters = MissCounters::default();
    // First report: since the clock's origin (2 s, 40 messages).
    let a = diag.build(
        2 * S,
        Time::default(),
        &[stats("s", 40, 0, Some(2 * S))],
        &counters,
    );
    assert_eq!(value(&a.status[0], "rate_hz"), "20.00");
    assert_eq!(value(&a.status[0], "age_s"), "0.000");
    // Half a second later, 5 more: 10 Hz; the last 250 ms ago.
    let a = diag.build(
        2_500 * MS,
        Time::default(),
        &[stats("s", 45, 0, Some(2_250 * MS))],
        &counters,
    );
    assert_eq!(value(&a.status[0], "rate_hz"), "10.00");
    assert_eq!(value(&a.status[0], "age_s"), "0.250");
    // Same instant again: no time to divide by.
    let a = diag.build(
        2_500 * MS,
        Time::default(),
        &[stats("s", 45, 0, Some(2_250 * MS))],
        &counters,
    );
    assert_eq!(value(&a.status[0], "rate_hz"), "0.00");
}

fn report(outcome: Outcome, missing: u64, end_to_end_ms: u64) -> FrameReport {
    FrameReport {
        sequence: 0,
        trigger_stamp_ns: 0,
        trigger_arrival_ns: 0,
        missing_sensors: missing,
        stages: StageTimes {
            end_to_end: Duration::from_millis(end_to_end_ms),
            ..StageTimes::default()
        },
        outcome,
    }
}

const PUBLISHED: Outcome = Outcome::Published {
    output_len: 100,
    stamp_age: Duration::from_millis(5),
};

fn levels(a: &DiagnosticArray) -> Vec<u8> {
    a.status.iter().map(|s| s.level).collect()
}

fn value<'a>(s: &'a DiagnosticStatus, key: &str) -> &'a str {
    &s.values.iter().find(|kv| kv.key == key).unwrap().value
}

#[test]
fn levels_follow_silence_drops_and_misses() {
    use DiagnosticStatus as D;
    let mut monitor = DeadlineMonitor::new(
        DeadlineConfig {
            budget: Duration::from_millis(10),
            module_sha256: String::new(),
            sensors: vec!["lidar".into(), "radar".into(), "cam".into()],
            flush_every_lines: 1,
        },
        MissLog::disabled(),
    );
    let mut diag = Diagnostics::new("fusion");
    let stamp = Time {
        sec: 1_700_000_000,
        nanosec: 5,
    };
    // t = 0..2 s: lidar and radar at 10 Hz, the camera never.
    for _ in 1..=20 {
        monitor.record(&report(PUBLISHED, 0, 3));
    }
    let sensors = [
        stats("lidar", 20, 0, Some(2 * S)),
        stats("radar", 20, 0, Some(2 * S)),
        stats("cam", 0, 0, None),
    ];
    let a = diag.build(2 * S, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(a.header.stamp, stamp);
    assert_eq!(levels(&a), [D::OK, D::OK, D::ERROR, D::OK]);
    assert_eq!(a.status[0].name, "fusion: lidar");
    assert_eq!(a.status[0].hardware_id, "lidar");
    assert_eq!(value(&a.status[0], "rate_hz"), "10.00");
    assert_eq!(a.status[2].message, "no message received");
    assert_eq!(value(&a.status[2], "age_s"), "never");
    assert_eq!(value(&a.status[3], "frames"), "20");
    assert_eq!(
        a.status[3].message,
        "20 frames, 0 missed since the last report"
    );

    // t = 2..3 s: the radar's queue overflows, a frame is late and one
    // degraded: WARN.
    monitor.record_dropped_input(1, 4, 3 * S);
    monitor.record(&report(PUBLISHED, 0, 12));
    monitor.record(&report(PUBLISHED, 0b100, 3));
    let sensors = [
        stats("lidar", 30, 0, Some(3 * S)),
        stats("radar", 30, 4, Some(3 * S)),
        stats("cam", 10, 0, Some(3 * S)),
    ];
    let a = diag.build(3 * S, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::OK, D::WARN, D::OK, D::WARN]);
    assert_eq!(value(&a.status[1], "dropped_since_last_report"), "4");
    assert_eq!(value(&a.status[2], "rate_hz"), "10.00");
    assert_eq!(
        a.status[3].message,
        "2 frames, 2 missed since the last report (late 1, degraded 1, dropped_input 4)"
    );

    // t = 3..4.5 s: the lidar falls silent, the module traps: ERROR.
    // Drops are old news: the radar is OK again.
    monitor.record(&report(
        Outcome::ModuleMiss {
            reason: MissReason::Trap(TrapKind::Unreachable),
            restarted: true,
        },
        0,
        4,
    ));
    let sensors = [
        stats("lidar", 30, 0, Some(3 * S)),
        stats("radar", 45, 4, Some(4_500 * MS)),
        stats("cam", 25, 0, Some(4_500 * MS)),
    ];
    let a = diag.build(4_500 * MS, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::ERROR, D::OK, D::OK, D::ERROR]);
    assert_eq!(a.status[0].message, "silent for 1.5 s");
    assert_eq!(value(&a.status[0], "rate_hz"), "0.00");
    assert_eq!(value(&a.status[1], "dropped"), "4");
    assert_eq!(value(&a.status[3], "trap"), "1");
    assert_eq!(value(&a.status[3], "misses"), "3");

    // Nothing new: all well.
    monitor.record(&report(PUBLISHED, 0, 3));
    let sensors = [
        stats("lidar", 31, 0, Some(4_600 * MS)),
        stats("radar", 46, 4, Some(4_600 * MS)),
        stats("cam", 26, 0, Some(4_600 * MS)),
    ];
    let a = diag.build(4_700 * MS, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::OK, D::OK, D::OK, D::OK]);
}

#[test]
fn the_array_encodes_as_cdr() {
    let sensors = [stats("lidar", 0, 0, None)];
    let monitor = DeadlineMonitor::new(
        DeadlineConfig {
            budget: Duration::from_millis(10),
            module_sha256: String::new(),
            sensors: vec!["lidar".into()],
            flush_every_lines: 1,
        },
        MissLog::disabled(),
    );
    let a = Diagnostics::new("n").build(0, Time::default(), &sensors, monitor.counters());
    let bytes = fusion_msgs::encode(&a).unwrap();
    let back: DiagnosticArray = fusion_msgs::decode(&bytes).unwrap();
    assert_eq!(back, a);
}
