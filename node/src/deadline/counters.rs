//! Frames and misses counted by reason, for /diagnostics.

use crate::align::MAX_SENSORS;
use crate::host::MissReason;

use super::Miss;
use crate::pipeline::FrameReport;

/// What the monitor counted since it was created. All counts only grow.
///
/// Every frame is counted once: `frames == ok + misses()`, where each
/// missed frame is under its first reason. `degraded_frames` counts every
/// frame with a missing sensor, whatever else happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissCounters {
    /// Frames recorded.
    pub frames: u64,
    /// Frames published on time with every sensor.
    pub ok: u64,
    /// Module interrupted at its deadline.
    pub deadline: u64,
    /// Module trapped.
    pub trap: u64,
    /// Module returned an error status.
    pub module_error: u64,
    /// Module returned an invalid output.
    pub output_invalid: u64,
    /// The frame could not be handed to the module.
    pub input_invalid: u64,
    /// The module could not be restarted after a trap.
    pub restart_failed: u64,
    /// Publishing failed.
    pub publish_failed: u64,
    /// Published after the budget.
    pub late: u64,
    /// Published on time with a sensor missing.
    pub degraded: u64,
    /// Frames with a sensor missing, whatever their outcome.
    pub degraded_frames: u64,
    /// Sensor messages dropped by full queues.
    pub dropped_inputs: u64,
    /// Aligned sets dropped because the executor was busy (frames that
    /// never ran, so not in `frames`).
    pub dropped_sets: u64,
    /// The same, by sensor index.
    pub dropped_by_sensor: [u64; MAX_SENSORS],
    /// Lines written to the miss log (buffered or flushed).
    pub log_lines: u64,
    /// Miss-log writes or flushes that failed.
    pub log_errors: u64,
}

impl Default for MissCounters {
    fn default() -> Self {
        MissCounters {
            frames: 0,
            ok: 0,
            deadline: 0,
            trap: 0,
            module_error: 0,
            output_invalid: 0,
            input_invalid: 0,
            restart_failed: 0,
            publish_failed: 0,
            late: 0,
            degraded: 0,
            degraded_frames: 0,
            dropped_inputs: 0,
            dropped_sets: 0,
            dropped_by_sensor: [0; MAX_SENSORS],
            log_lines: 0,
            log_errors: 0,
        }
    }
}

impl MissCounters {
    /// Missed frames, over all reasons (dropped inputs are not frames).
    pub fn misses(&self) -> u64 {
        self.failures() + self.late + self.degraded
    }

    /// Frames that produced no published output.
    pub fn failures(&self) -> u64 {
        self.deadline
            + self.trap
            + self.module_error
            + self.output_invalid
            + self.input_invalid
            + self.restart_failed
            + self.publish_failed
    }

    /// The count of frames missed for `miss` (for
    /// [`Miss::DroppedInput`], of dropped messages; for
    /// [`Miss::DroppedSet`], of dropped sets).
    pub fn get(&self, miss: Miss) -> u64 {
        match miss {
            Miss::Module(MissReason::Deadline) => self.deadline,
            Miss::Module(MissReason::Trap(_)) => self.trap,
            Miss::Module(MissReason::ModuleError(_)) => self.module_error,
            Miss::Module(MissReason::OutputInvalid) => self.output_invalid,
            Miss::Module(MissReason::InputInvalid) => self.input_invalid,
            Miss::Module(MissReason::RestartFailed) => self.restart_failed,
            Miss::PublishFailed => self.publish_failed,
            Miss::Late => self.late,
            Miss::Degraded => self.degraded,
            Miss::DroppedInput => self.dropped_inputs,
            Miss::DroppedSet => self.dropped_sets,
        }
    }

    fn get_mut(&mut self, miss: Miss) -> &mut u64 {
        match miss {
            Miss::Module(MissReason::Deadline) => &mut self.deadline,
            Miss::Module(MissReason::Trap(_)) => &mut self.trap,
            Miss::Module(MissReason::ModuleError(_)) => &mut self.module_error,
            Miss::Module(MissReason::OutputInvalid) => &mut self.output_invalid,
            Miss::Module(MissReason::InputInvalid) => &mut self.input_invalid,
            Miss::Module(MissReason::RestartFailed) => &mut self.restart_failed,
            Miss::PublishFailed => &mut self.publish_failed,
            Miss::Late => &mut self.late,
            Miss::Degraded => &mut self.degraded,
            Miss::DroppedInput => &mut self.dropped_inputs,
            Miss::DroppedSet => &mut self.dropped_sets,
        }
    }

    pub(super) fn count_frame(&mut self, report: &FrameReport, miss: Option<Miss>) {
        self.frames += 1;
        if report.is_degraded() {
            self.degraded_frames += 1;
        }
        match miss {
            Some(miss) => *self.get_mut(miss) += 1,
            None => self.ok += 1,
        }
    }

    pub(super) fn count_write(&mut self, written: &std::io::Result<bool>) {
        match written {
            Ok(true) => self.log_lines += 1,
            Ok(false) => {}
            Err(_) => self.log_errors += 1,
        }
    }

    pub(super) fn count_dropped(&mut self, sensor: u16, dropped: u64) {
        self.dropped_inputs += dropped;
        if let Some(n) = self.dropped_by_sensor.get_mut(usize::from(sensor)) {
            *n += dropped;
        }
    }
}
