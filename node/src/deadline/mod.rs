//! The deadline monitor: classifies every frame against the budget,
//! counts misses by reason and writes one JSON line per miss.
//!
//! The budget (10 ms by default, `deadline` in the launch file) runs from
//! the arrival of a frame's trigger message to the publication of its
//! output. The fusion executor hands the monitor the pipeline's
//! [`FrameReport`] per frame and calls [`DeadlineMonitor::record_dropped_input`] when a sensor
//! queue overflowed. A frame misses when the module failed (the host's
//! [`MissReason`](crate::host::MissReason)), when publishing failed, when
//! it was published after the budget (`late`), or when a sensor was
//! missing (`degraded`), in that order of precedence: each missed frame is
//! counted once, under its first reason.
//!
//! This module reads no clock and starts no thread: the report carries
//! every time. **A frame that does not miss touches only counters: no
//! allocation, no I/O.** A miss formats its line into a preallocated
//! buffer; the file is written every `flush_every_lines` lines, on
//! [`DeadlineMonitor::flush`] (call it with the 1 Hz diagnostics) and
//! when the monitor is dropped. A miss allocates nothing either
//! (`tests/metrics_alloc.rs`), but that is not a promise: misses are
//! rare, and a write to the log is a system call on the executor thread.
//!
//! The line format is described in `docs/logs.md`.

mod counters;
mod line;
mod log;
mod report;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use counters::MissCounters;
pub use log::MissLog;
pub use report::{Miss, classify};

use crate::align::MAX_SENSORS;
use crate::launch::Launch;
use crate::pipeline::swap::SwapRecord;
use crate::pipeline::{DroppedSet, FrameReport};

/// Miss-log lines buffered before they are written, unless
/// [`DeadlineMonitor::flush`] comes first.
pub const MISS_LOG_FLUSH_LINES: usize = 16;

/// What the monitor needs to know about the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineConfig {
    /// Budget from the trigger's arrival to publication.
    pub budget: Duration,
    /// SHA-256 (hex) of the module running, written on every line.
    pub module_sha256: String,
    /// Sensor names by index, to name missing and overflowing sensors.
    pub sensors: Vec<String>,
    /// Lines buffered before a write (at least 1).
    pub flush_every_lines: usize,
}

impl DeadlineConfig {
    /// The launch file's budget and sensors, for the module with this hash.
    pub fn from_launch(launch: &Launch, module_sha256: impl Into<String>) -> Self {
        DeadlineConfig {
            budget: launch.deadline,
            module_sha256: module_sha256.into(),
            sensors: launch.sensors.iter().map(|s| s.name.clone()).collect(),
            flush_every_lines: MISS_LOG_FLUSH_LINES,
        }
    }
}

/// Why the miss log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum DeadlineError {
    /// Opening the miss log (or creating its directory) failed.
    #[error("miss log {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Writing buffered lines failed. Lines that could not be written are
    /// counted in [`MissCounters::log_errors`].
    #[error("writing the miss log: {0}")]
    Write(#[from] std::io::Error),
}

/// Classifies frames against the budget, counts misses and logs them.
/// See the module docs.
#[derive(Debug)]
pub struct DeadlineMonitor {
    config: DeadlineConfig,
    log: MissLog,
    counters: MissCounters,
}

impl DeadlineMonitor {
    /// A monitor writing its misses to `log`. Sensors past
    /// [`MAX_SENSORS`] are not named.
    pub fn new(mut config: DeadlineConfig, log: MissLog) -> Self {
        config.sensors.truncate(MAX_SENSORS);
        config.flush_every_lines = config.flush_every_lines.max(1);
        DeadlineMonitor {
            config,
            log,
            counters: MissCounters::default(),
        }
    }

    /// Counts one frame and, if it missed, logs it. Returns the miss.
    /// Allocates nothing when the frame is on time and complete.
    pub fn record(&mut self, report: &FrameReport) -> Option<Miss> {
        let miss = classify(report, self.config.budget);
        self.counters.count_frame(report, miss);
        if let Some(miss) = miss {
            let line = line::frame(report, miss, &self.config);
            let written = self.log.append(&line, self.config.flush_every_lines);
            self.counters.count_write(&written);
        }
        miss
    }

    /// Counts `dropped` messages of `sensor` lost to a full queue since the
    /// last call, and logs one `dropped_input` line. `now_ns` is when the
    /// drops were noticed, on the clock of
    /// [`FrameReport::trigger_arrival_ns`] (the pipeline's).
    pub fn record_dropped_input(&mut self, sensor: u16, dropped: u64, now_ns: i64) {
        if dropped == 0 {
            return;
        }
        self.counters.count_dropped(sensor, dropped);
        let line = line::dropped(sensor, dropped, now_ns, &self.config);
        let written = self.log.append(&line, self.config.flush_every_lines);
        self.counters.count_write(&written);
    }

    /// Counts an aligned set the busy executor dropped (a frame that never
    /// ran) and logs one `dropped_set` line.
    pub fn record_dropped_set(&mut self, set: &DroppedSet) {
        self.counters.dropped_sets += 1;
        let line = line::dropped_set(set, &self.config);
        let written = self.log.append(&line, self.config.flush_every_lines);
        self.counters.count_write(&written);
    }

    /// Logs a hot swap, a rollback or a refused module (`now_ns` on the
    /// pipeline's clock); later lines name the module now running.
    pub fn record_swap(&mut self, record: &SwapRecord, now_ns: i64) {
        self.set_module_sha256(&record.module.sha256);
        let line = line::swap(record, now_ns, &self.config);
        let written = self.log.append(&line, self.config.flush_every_lines);
        self.counters.count_write(&written);
    }

    /// Everything counted so far.
    pub fn counters(&self) -> &MissCounters {
        &self.counters
    }

    /// The budget.
    pub fn budget(&self) -> Duration {
        self.config.budget
    }

    /// Names the module on later lines, after it was replaced.
    pub fn set_module_sha256(&mut self, sha256: &str) {
        self.config.module_sha256.clear();
        self.config.module_sha256.push_str(sha256);
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> Result<(), DeadlineError> {
        self.log
            .flush()
            .inspect_err(|_| self.counters.log_errors += 1)?;
        Ok(())
    }
}

impl Drop for DeadlineMonitor {
    fn drop(&mut self) {
        // Nobody is left to tell; an explicit flush() reports errors.
        let _ = self.log.flush();
    }
}
