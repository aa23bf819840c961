//! The `diagnostic_msgs/DiagnosticArray` the node publishes on
//! `/diagnostics` once a second: one status per sensor (rate, age of the
//! last message, drops) and one for the node (frames and misses by
//! reason).
//!
//! Levels:
//! - a sensor is ERROR when it has sent nothing yet or nothing for
//!   [`SILENT_AFTER`], WARN when its queue dropped messages since the last
//!   report, else OK;
//! - the node is ERROR when a frame produced no output since the last
//!   report (deadline, trap, module error, invalid input or output, failed
//!   restart or publish), WARN when frames were late or degraded or
//!   inputs dropped, else OK.
//!
//! [`Diagnostics::build`] is pure: the caller passes the time, the
//! pipeline's per-sensor totals ([`SensorStats`]: received, overflow drops,
//! last arrival) and the monitor's counters. The rate is the growth of
//! `received` over the time since the previous report, so nothing is
//! recorded per message beyond the intake's atomic counters. Building the
//! array allocates its strings, once a second.
//! [`DiagnosticsPublisher`] publishes it as CDR on the launch file's
//! diagnostics topic; `run`'s main thread calls it once a second.

mod publish;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::time::Duration;

use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use fusion_msgs::std_msgs::Header;

use crate::deadline::MissCounters;
use crate::pipeline::{SensorCounts, SensorStats, span};
use crate::swap::ModuleStatus;

pub use publish::{DiagnosticsPublisher, PublishError};

/// A sensor with no message for this long is reported as an ERROR.
pub const SILENT_AFTER: Duration = Duration::from_secs(1);

/// Builds the diagnostics array, comparing counters with the last report
/// to tell what happened since.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    node: String,
    silent_after: Duration,
    previous: MissCounters,
    /// Every sensor's totals at the previous report, by index (missing:
    /// all zero).
    previous_sensors: Vec<SensorCounts>,
    /// When the previous report was built; 0, the pipeline clock's origin
    /// when every count was zero, before the first.
    previous_ns: i64,
    /// The module status to report, if the node has a swapper.
    module: Option<ModuleStatus>,
    /// Swap counts (swaps, rollbacks, refused) at the previous report.
    previous_swaps: (u64, u64, u64),
}

impl Diagnostics {
    /// Diagnostics of the node `node` (the launch file's `name`).
    pub fn new(node: impl Into<String>) -> Self {
        Diagnostics {
            node: node.into(),
            silent_after: SILENT_AFTER,
            previous: MissCounters::default(),
            previous_sensors: Vec::new(),
            previous_ns: 0,
            module: None,
            previous_swaps: (0, 0, 0),
        }
    }

    /// The module status the next report includes.
    pub fn set_module(&mut self, status: ModuleStatus) {
        self.module = Some(status);
    }

    /// The array to publish now. `now_ns` is on the clock of the arrival
    /// times in `sensors` (the pipeline's); `stamp` is the header stamp
    /// (wall clock). `sensors` are in sensor-index order, as
    /// `Pipeline::sensor_stats` gives them.
    pub fn build(
        &mut self,
        now_ns: i64,
        stamp: Time,
        sensors: &[SensorStats],
        counters: &MissCounters,
    ) -> DiagnosticArray {
        let mut status: Vec<DiagnosticStatus> = sensors
            .iter()
            .enumerate()
            .map(|(i, s)| self.sensor(now_ns, i, s))
            .collect();
        status.push(self.node_status(counters));
        if let Some(module) = self.module.take() {
            status.push(self.module_status(&module));
            self.previous_swaps = (module.swaps, module.rollbacks, module.refused);
        }
        self.previous = *counters;
        self.previous_sensors = sensors.iter().map(|s| s.counts).collect();
        self.previous_ns = now_ns;
        DiagnosticArray {
            header: Header {
                stamp,
                frame_id: String::new(),
            },
            status,
        }
    }

    fn sensor(&self, now_ns: i64, index: usize, s: &SensorStats) -> DiagnosticStatus {
        let c = &s.counts;
        let before = self
            .previous_sensors
            .get(index)
            .copied()
            .unwrap_or_default();
        let dropped = c.dropped_overflow;
        let new_drops = since(dropped, before.dropped_overflow);
        let elapsed = span(self.previous_ns, now_ns).as_secs_f64();
        let rate = if elapsed > 0.0 {
            since(c.received, before.received) as f64 / elapsed
        } else {
            0.0
        };
        let age = c.last_arrival_ns.map(|t| span(t, now_ns));
        let (level, message) = match age {
            None => (DiagnosticStatus::ERROR, "no message received".to_owned()),
            Some(age) if age > self.silent_after => (
                DiagnosticStatus::ERROR,
                format!("silent for {:.1} s", age.as_secs_f64()),
            ),
            Some(_) if new_drops > 0 => (
                DiagnosticStatus::WARN,
                format!("{new_drops} messages dropped (queue full) since the last report"),
            ),
            Some(_) => (DiagnosticStatus::OK, format!("{rate:.1} Hz")),
        };
        DiagnosticStatus {
            level,
            name: format!("{}: {}", self.node, s.name),
            message,
            hardware_id: s.name.clone(),
            values: vec![
                kv("rate_hz", format!("{rate:.2}")),
                kv(
                    "age_s",
                    age.map_or_else(|| "never".to_owned(), |a| format!("{:.3}", a.as_secs_f64())),
                ),
                kv("received", c.received.to_string()),
                kv("malformed", c.malformed.to_string()),
                kv("dropped", dropped.to_string()),
                kv("dropped_since_last_report", new_drops.to_string()),
            ],
        }
    }

    fn node_status(&self, c: &MissCounters) -> DiagnosticStatus {
        let p = &self.previous;
        let failures = since(c.failures(), p.failures());
        let warnings = since(c.late, p.late)
            + since(c.degraded, p.degraded)
            + since(c.dropped_inputs, p.dropped_inputs)
            + since(c.dropped_sets, p.dropped_sets);
        let level = if failures > 0 {
            DiagnosticStatus::ERROR
        } else if warnings > 0 {
            DiagnosticStatus::WARN
        } else {
            DiagnosticStatus::OK
        };
        let mut message = format!(
            "{} frames, {} missed since the last report",
            since(c.frames, p.frames),
            since(c.misses(), p.misses())
        );
        let reasons = [
            ("deadline", since(c.deadline, p.deadline)),
            ("trap", since(c.trap, p.trap)),
            ("module_error", since(c.module_error, p.module_error)),
            ("output_invalid", since(c.output_invalid, p.output_invalid)),
            ("input_invalid", since(c.input_invalid, p.input_invalid)),
            ("restart_failed", since(c.restart_failed, p.restart_failed)),
            ("publish_failed", since(c.publish_failed, p.publish_failed)),
            ("late", since(c.late, p.late)),
            ("degraded", since(c.degraded, p.degraded)),
            ("dropped_input", since(c.dropped_inputs, p.dropped_inputs)),
            ("dropped_set", since(c.dropped_sets, p.dropped_sets)),
        ];
        let mut sep = " (";
        for (name, n) in reasons.iter().filter(|(_, n)| *n > 0) {
            let _ = write!(message, "{sep}{name} {n}");
            sep = ", ";
        }
        if sep == ", " {
            message.push(')');
        }
        let totals = [
            ("frames", c.frames),
            ("ok", c.ok),
            ("misses", c.misses()),
            ("deadline", c.deadline),
            ("trap", c.trap),
            ("module_error", c.module_error),
            ("output_invalid", c.output_invalid),
            ("input_invalid", c.input_invalid),
            ("restart_failed", c.restart_failed),
            ("publish_failed", c.publish_failed),
            ("late", c.late),
            ("degraded", c.degraded),
            ("degraded_frames", c.degraded_frames),
            ("dropped_input", c.dropped_inputs),
            ("dropped_set", c.dropped_sets),
            ("miss_log_errors", c.log_errors),
        ];
        DiagnosticStatus {
            level,
            name: format!("{}: frames", self.node),
            message,
            hardware_id: self.node.clone(),
            values: totals.iter().map(|(k, v)| kv(k, v.to_string())).collect(),
        }
    }
}

impl Diagnostics {
    /// The running module, and the hot swaps: WARN when a swap was rolled
    /// back or a module refused since the last report.
    fn module_status(&self, m: &ModuleStatus) -> DiagnosticStatus {
        let (swaps, rollbacks, refused) = self.previous_swaps;
        let level = if m.rollbacks > rollbacks || m.refused > refused {
            DiagnosticStatus::WARN
        } else {
            DiagnosticStatus::OK
        };
        let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_owned();
        let mut message = format!(
            "module {} ({}); {} swaps, {} rolled back, {} refused",
            short(&m.current.sha256),
            m.current.detail,
            m.swaps,
            m.rollbacks,
            m.refused
        );
        let changed = m.swaps > swaps || m.rollbacks > rollbacks || m.refused > refused;
        if changed && let Some(last) = &m.last {
            let _ = write!(message, "; last request {}", last.outcome);
            if let Some(reason) = &last.reason {
                let _ = write!(message, ": {reason}");
            }
        }
        let last = m.last.as_ref();
        let values = [
            ("current_sha256", m.current.sha256.clone()),
            ("current", m.current.detail.clone()),
            ("since_unix_ns", m.current.since_unix_ns.to_string()),
            (
                "previous_sha256",
                m.previous
                    .as_ref()
                    .map(|p| p.sha256.clone())
                    .unwrap_or_default(),
            ),
            ("swaps", m.swaps.to_string()),
            ("rollbacks", m.rollbacks.to_string()),
            ("refused", m.refused.to_string()),
            (
                "last_outcome",
                last.map(|l| l.outcome.to_string()).unwrap_or_default(),
            ),
            (
                "last_reason",
                last.and_then(|l| l.reason.clone()).unwrap_or_default(),
            ),
        ];
        DiagnosticStatus {
            level,
            name: format!("{}: module", self.node),
            message,
            hardware_id: self.node.clone(),
            values: values.iter().map(|(k, v)| kv(k, v.clone())).collect(),
        }
    }
}

/// How much a count grew (zero if the counters were replaced).
fn since(now: u64, then: u64) -> u64 {
    now.saturating_sub(then)
}

fn kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value,
    }
}
