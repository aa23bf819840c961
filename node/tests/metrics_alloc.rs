//! The measurement side of the frame path allocates nothing per frame: a
//! counting allocator watches the deadline monitor and the stage
//! histograms over a stream of on-time frames, and then over misses.
//! (Per-sensor statistics are the intake's atomic counters; diagnostics
//! are built from them once a second, off the frame path.)

use fusion_sim::alloc_count::{Counting, allocations};
use std::time::Duration;

use fusion_node::deadline::{DeadlineConfig, DeadlineMonitor, MissLog};
use fusion_node::host::{MissReason, TrapKind};
use fusion_node::metrics::StageHistograms;
use fusion_node::pipeline::{FrameReport, Outcome, StageTimes};

#[global_allocator]
static GLOBAL: Counting = Counting;

const MS: i64 = 1_000_000;

fn frame(sequence: u64, outcome: Outcome, missing: u64, end_to_end_us: u64) -> FrameReport {
    FrameReport {
        sequence,
        trigger_stamp_ns: sequence as i64 * 50 * MS,
        trigger_arrival_ns: sequence as i64 * 50 * MS + 2 * MS,
        missing_sensors: missing,
        stages: StageTimes {
            align_wait: Duration::from_micros(200 + sequence % 300),
            frame_build: Duration::from_micros(30),
            module_exec: Duration::from_micros(end_to_end_us / 2),
            publish: Duration::from_micros(15 + sequence % 7),
            end_to_end: Duration::from_micros(end_to_end_us),
        },
        outcome,
    }
}

fn published(sequence: u64) -> Outcome {
    Outcome::Published {
        output_len: 4_096,
        stamp_age: Duration::from_micros(2_500 + sequence % 1_000),
    }
}

fn miss(reason: MissReason) -> Outcome {
    Outcome::ModuleMiss {
        reason,
        restarted: false,
    }
}

#[test]
fn on_time_frames_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let config = DeadlineConfig {
        budget: Duration::from_millis(10),
        module_sha256: "ab".repeat(32),
        sensors: (0..8).map(|i| format!("sensor_{i}")).collect(),
        flush_every_lines: 4,
    };
    let log = MissLog::open(&dir.path().join("misses.jsonl")).unwrap();
    let mut monitor = DeadlineMonitor::new(config, log);
    let mut histograms = StageHistograms::new();

    let before = allocations();
    for seq in 0..5_000_u64 {
        let report = frame(seq, published(seq), 0, 1_000 + seq % 5_000);
        assert_eq!(monitor.record(&report), None);
        histograms.record_frame(&report);
        if seq % 100 == 0 {
            histograms.reset_interval();
        }
    }
    assert_eq!(allocations() - before, 0, "on-time frames allocated");
    assert_eq!(monitor.counters().ok, 5_000);

    // Misses format into the preallocated buffer. The log is written
    // (a system call), but nothing is allocated either. This is measured,
    // not promised: see the deadline module's docs.
    let before = allocations();
    for seq in 0..200_u64 {
        let outcome = match seq % 4 {
            0 => miss(MissReason::Deadline),
            1 => miss(MissReason::Trap(TrapKind::MemoryOutOfBounds)),
            2 => published(seq),
            _ => miss(MissReason::ModuleError(2)),
        };
        let report = frame(seq, outcome, 0b1010_0000, 12_000);
        assert!(monitor.record(&report).is_some());
        histograms.record_frame(&report);
        monitor.record_dropped_input(3, 2, seq as i64 * MS);
    }
    monitor.flush().unwrap();
    assert_eq!(allocations() - before, 0, "misses allocated");
    assert_eq!(monitor.counters().log_lines, 400);
    assert_eq!(monitor.counters().log_errors, 0);
}
