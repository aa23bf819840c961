//! What the executor reports about one frame, and how it is classified.

use std::fmt;
use std::time::Duration;

use crate::host::MissReason;

/// Durations of one frame's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageTimes {
    /// From the trigger's arrival until the set was aligned.
    pub align_wait: Duration,
    /// Copying the payloads into the module's frame.
    pub frame_build: Duration,
    /// The module's step, until it returned or was interrupted
    /// (`Stepped::elapsed` or `StepMiss::elapsed`).
    pub module_exec: Duration,
    /// From the trigger's arrival until publication, or until the miss was
    /// known when nothing was published. The budget applies to this.
    pub end_to_end: Duration,
}

/// How a frame ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOutcome {
    /// The output was published.
    Published {
        /// Time spent publishing.
        publish: Duration,
        /// Publication time minus the trigger's header stamp; a negative
        /// age (sensor clock ahead) as `Duration::ZERO`.
        stamp_age: Duration,
    },
    /// The module produced no output (`StepMiss::reason`).
    ModuleMissed(MissReason),
    /// The module's output could not be published.
    PublishFailed {
        /// Time spent trying.
        publish: Duration,
    },
}

/// One frame, as the fusion executor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameReport {
    /// The frame's sequence number.
    pub sequence: u64,
    /// The trigger message's header stamp, ns (sensor clock).
    pub trigger_stamp_ns: i64,
    /// The trigger message's arrival, ns of the node's monotonic clock
    /// since start (`AlignedSet::trigger_arrival_ns`).
    pub arrival_ns: i64,
    /// Missing sensors, bit `i` for sensor `i`
    /// (`AlignedSet::missing_sensors`).
    pub missing: u64,
    /// Stage durations.
    pub stages: StageTimes,
    /// How it ended.
    pub outcome: FrameOutcome,
}

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
        }
    }
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FrameReport {
    /// The frame's miss, if any: a failure first, then lateness, then a
    /// missing sensor.
    pub fn classify(&self, budget: Duration) -> Option<Miss> {
        match self.outcome {
            FrameOutcome::ModuleMissed(reason) => Some(Miss::Module(reason)),
            FrameOutcome::PublishFailed { .. } => Some(Miss::PublishFailed),
            FrameOutcome::Published { .. } if self.stages.end_to_end > budget => Some(Miss::Late),
            FrameOutcome::Published { .. } if self.missing != 0 => Some(Miss::Degraded),
            FrameOutcome::Published { .. } => None,
        }
    }

    /// Publication time, if publishing was attempted.
    pub fn publish(&self) -> Option<Duration> {
        match self.outcome {
            FrameOutcome::Published { publish, .. } | FrameOutcome::PublishFailed { publish } => {
                Some(publish)
            }
            FrameOutcome::ModuleMissed(_) => None,
        }
    }
}
