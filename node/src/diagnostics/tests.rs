use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus};

use super::*;
use crate::deadline::{DeadlineConfig, DeadlineMonitor, MissLog};
use crate::host::{MissReason, TrapKind};
use crate::pipeline::{FrameReport, Outcome, StageTimes};

const MS: i64 = 1_000_000;
const S: i64 = 1_000 * MS;

#[test]
fn rate_over_the_last_second() {
    let mut s = SensorStats::new("lidar_top");
    assert_eq!(s.rate_hz(0), 0.0);
    assert_eq!(s.age(0), None);
    for k in 1..=60 {
        s.record(k * 50 * MS); // 20 Hz for 3 s
    }
    assert_eq!(s.rate_hz(3 * S), 20.0);
    assert_eq!(s.received(), 60);
    assert_eq!(s.age(3 * S + 250 * MS), Some(Duration::from_millis(250)));
    // Half a second later only half the window has messages.
    assert_eq!(s.rate_hz(3 * S + 500 * MS), 10.0);
    assert_eq!(s.rate_hz(5 * S), 0.0);
}

#[test]
fn rate_above_the_ring_is_estimated_from_its_span() {
    let mut s = SensorStats::new("imu");
    for k in 1..=5_000 {
        s.record(k * MS); // 1 kHz
    }
    let rate = s.rate_hz(5 * S);
    assert!((rate - 1_000.0).abs() < 1.0, "{rate}");
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
    let mut sensors = ["lidar", "radar", "cam"].map(SensorStats::new);
    let mut diag = Diagnostics::new("fusion");
    let stamp = Time {
        sec: 1_700_000_000,
        nanosec: 5,
    };
    // t = 0..2 s: lidar and radar at 10 Hz, the camera never.
    for k in 1..=20 {
        sensors[0].record(k * 100 * MS);
        sensors[1].record(k * 100 * MS);
        monitor.record(&report(PUBLISHED, 0, 3));
    }
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
    for k in 21..=30 {
        sensors[0].record(k * 100 * MS);
        sensors[1].record(k * 100 * MS);
        sensors[2].record(k * 100 * MS);
    }
    monitor.record_dropped_input(1, 4, 3 * S);
    monitor.record(&report(PUBLISHED, 0, 12));
    monitor.record(&report(PUBLISHED, 0b100, 3));
    let a = diag.build(3 * S, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::OK, D::WARN, D::OK, D::WARN]);
    assert_eq!(value(&a.status[1], "dropped_since_last_report"), "4");
    assert_eq!(
        a.status[3].message,
        "2 frames, 2 missed since the last report (late 1, degraded 1, dropped_input 4)"
    );

    // t = 3..4.5 s: the lidar falls silent, the module traps: ERROR.
    // Drops are old news: the radar is OK again.
    for k in 31..=45 {
        sensors[1].record(k * 100 * MS);
        sensors[2].record(k * 100 * MS);
    }
    monitor.record(&report(
        Outcome::ModuleMiss {
            reason: MissReason::Trap(TrapKind::Unreachable),
            restarted: true,
        },
        0,
        4,
    ));
    let a = diag.build(4_500 * MS, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::ERROR, D::OK, D::OK, D::ERROR]);
    assert_eq!(a.status[0].message, "silent for 1.5 s");
    assert_eq!(value(&a.status[0], "rate_hz"), "0.00");
    assert_eq!(value(&a.status[1], "dropped"), "4");
    assert_eq!(value(&a.status[3], "trap"), "1");
    assert_eq!(value(&a.status[3], "misses"), "3");

    // Nothing new: all well.
    sensors[0].record(4_600 * MS);
    sensors[1].record(4_600 * MS);
    sensors[2].record(4_600 * MS);
    monitor.record(&report(PUBLISHED, 0, 3));
    let a = diag.build(4_700 * MS, stamp.clone(), &sensors, monitor.counters());
    assert_eq!(levels(&a), [D::OK, D::OK, D::OK, D::OK]);
}

#[test]
fn the_array_encodes_as_cdr() {
    let sensors = [SensorStats::new("lidar")];
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
