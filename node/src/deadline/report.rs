//! How the monitor classifies the pipeline's [`FrameReport`].

use std::fmt;
use std::time::Duration;

use crate::host::MissReason;
use crate::pipeline::{FrameReport, Outcome};

/// Why a frame (or an input message) counts as a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Miss {
    /// The module produced no output.
    Module(MissReason),
    /// Publishing the output failed.
    PublishFailed,
    /// Published, but after the budget.
    Late,
    /// Published on time without every sensor.
    Degraded,
    /// Sensor messages were dropped by a full queue (not a frame).
    DroppedInput,
    /// An aligned set was dropped because the executor was busy: a frame
    /// that never ran.
    DroppedSet,
}

impl Miss {
    /// The `reason` of the miss-log line.
    pub fn tag(self) -> &'static str {
        match self {
            Miss::Module(MissReason::Deadline) => "deadline",
            Miss::Module(MissReason::Trap(_)) => "trap",
            Miss::Module(MissReason::ModuleError(_)) => "module_error",
            Miss::Module(MissReason::OutputInvalid) => "output_invalid",
            Miss::Module(MissReason::InputInvalid) => "input_invalid",
            Miss::Module(MissReason::RestartFailed) => "restart_failed",
            Miss::PublishFailed => "publish_failed",
            Miss::Late => "late",
            Miss::Degraded => "degraded",
            Miss::DroppedInput => "dropped_input",
            Miss::DroppedSet => "dropped_set",
        }
    }
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The frame's miss, if any: a failure first, then lateness (`end_to_end`
/// over `budget`), then a missing sensor.
pub fn classify(report: &FrameReport, budget: Duration) -> Option<Miss> {
    match report.outcome {
        Outcome::ModuleMiss { reason, .. } => Some(Miss::Module(reason)),
        Outcome::PublishFailed => Some(Miss::PublishFailed),
        Outcome::Published { .. } if report.stages.end_to_end > budget => Some(Miss::Late),
        Outcome::Published { .. } if report.is_degraded() => Some(Miss::Degraded),
        Outcome::Published { .. } => None,
    }
}
