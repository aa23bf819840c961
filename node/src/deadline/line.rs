//! One miss-log line. Every key is on every line, `null` where it does not
//! apply, so a reader needs no per-reason schema. Serialised straight into
//! the log's buffer: nothing here allocates.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::host::{MissReason, TrapKind};

use super::{DeadlineConfig, Miss};
use crate::pipeline::swap::SwapRecord;
use crate::pipeline::{DroppedSet, FrameReport};

#[derive(Serialize)]
pub(super) struct Line<'a> {
    reason: &'static str,
    sequence: Option<u64>,
    trigger_stamp_ns: Option<i64>,
    arrival_ns: i64,
    budget_us: f64,
    stages_us: Option<StagesUs>,
    trap: Option<&'static str>,
    module_status: Option<u32>,
    module_sha256: &'a str,
    missing: Names<'a>,
    sensor: Option<&'a str>,
    dropped: Option<u64>,
    swap: Option<SwapLine<'a>>,
}

/// The `swap` object of a hot-swap line.
#[derive(Serialize)]
struct SwapLine<'a> {
    /// Where the running module came from.
    module_detail: &'a str,
    /// The module replaced, rolled back or refused.
    other_sha256: &'a str,
    other_detail: &'a str,
    /// How state crossed, or why.
    detail: &'a str,
    pause_us: Option<f64>,
}

#[derive(Serialize)]
struct StagesUs {
    align_wait: f64,
    frame_build: f64,
    module_exec: f64,
    publish: Option<f64>,
    end_to_end: f64,
}

/// The sensors named by the set bits of a mask, as a JSON array.
struct Names<'a> {
    mask: u64,
    names: &'a [String],
}

impl Serialize for Names<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.names
                .iter()
                .enumerate()
                .filter(|(i, _)| self.mask & (1 << i) != 0)
                .map(|(_, name)| name),
        )
    }
}

/// Microseconds with nanosecond resolution.
fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1_000.0
}

pub(super) fn frame<'a>(report: &FrameReport, miss: Miss, config: &'a DeadlineConfig) -> Line<'a> {
    let (trap, module_status) = match miss {
        Miss::Module(MissReason::Trap(kind)) => (Some(trap_tag(kind)), None),
        Miss::Module(MissReason::ModuleError(status)) => (None, Some(status)),
        _ => (None, None),
    };
    let s = &report.stages;
    Line {
        reason: miss.tag(),
        sequence: Some(report.sequence),
        trigger_stamp_ns: Some(report.trigger_stamp_ns),
        arrival_ns: report.trigger_arrival_ns,
        budget_us: us(config.budget),
        stages_us: Some(StagesUs {
            align_wait: us(s.align_wait),
            frame_build: us(s.frame_build),
            module_exec: us(s.module_exec),
            publish: report.publish().map(us),
            end_to_end: us(s.end_to_end),
        }),
        trap,
        module_status,
        module_sha256: &config.module_sha256,
        missing: Names {
            mask: report.missing_sensors,
            names: &config.sensors,
        },
        sensor: None,
        dropped: None,
        swap: None,
    }
}

/// A line that is not a frame's: only the reason, the time, the budget
/// and the module set; callers fill in their own keys.
fn not_a_frame<'a>(reason: &'static str, arrival_ns: i64, config: &'a DeadlineConfig) -> Line<'a> {
    Line {
        reason,
        sequence: None,
        trigger_stamp_ns: None,
        arrival_ns,
        budget_us: us(config.budget),
        stages_us: None,
        trap: None,
        module_status: None,
        module_sha256: &config.module_sha256,
        missing: Names {
            mask: 0,
            names: &[],
        },
        sensor: None,
        dropped: None,
        swap: None,
    }
}

pub(super) fn dropped(sensor: u16, dropped: u64, now_ns: i64, config: &DeadlineConfig) -> Line<'_> {
    Line {
        sensor: config.sensors.get(usize::from(sensor)).map(String::as_str),
        dropped: Some(dropped),
        ..not_a_frame(Miss::DroppedInput.tag(), now_ns, config)
    }
}

pub(super) fn dropped_set<'a>(set: &DroppedSet, config: &'a DeadlineConfig) -> Line<'a> {
    Line {
        trigger_stamp_ns: Some(set.trigger_stamp_ns),
        missing: Names {
            mask: set.missing_sensors,
            names: &config.sensors,
        },
        dropped: Some(1),
        ..not_a_frame(Miss::DroppedSet.tag(), set.trigger_arrival_ns, config)
    }
}

pub(super) fn swap<'a>(
    record: &'a SwapRecord,
    now_ns: i64,
    config: &'a DeadlineConfig,
) -> Line<'a> {
    Line {
        sequence: record.sequence,
        module_sha256: &record.module.sha256,
        swap: Some(SwapLine {
            module_detail: &record.module.detail,
            other_sha256: &record.other.sha256,
            other_detail: &record.other.detail,
            detail: &record.detail,
            pause_us: record.pause.map(us),
        }),
        ..not_a_frame(record.reason, now_ns, config)
    }
}

/// The `trap` field: a stable name for each kind.
pub(super) fn trap_tag(kind: TrapKind) -> &'static str {
    match kind {
        TrapKind::Interrupt => "interrupt",
        TrapKind::Unreachable => "unreachable",
        TrapKind::StackOverflow => "stack_overflow",
        TrapKind::MemoryOutOfBounds => "memory_out_of_bounds",
        TrapKind::TableOutOfBounds => "table_out_of_bounds",
        TrapKind::IndirectCallToNull => "indirect_call_to_null",
        TrapKind::BadSignature => "bad_signature",
        TrapKind::IntegerOverflow => "integer_overflow",
        TrapKind::IntegerDivisionByZero => "integer_division_by_zero",
        TrapKind::BadConversionToInteger => "bad_conversion_to_integer",
        TrapKind::Other => "other",
    }
}
