//! The node's JSON-lines logs, read tolerantly: the miss log (format in
//! `docs/logs.md`) and the frames log of `replay --offline`. A line that is
//! not JSON, or lacks a required key, is skipped and listed.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::model::Skipped;

/// One miss-log line. Only `reason` and `arrival_ns` are required, so logs
/// of older or newer nodes still read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MissRecord {
    /// Why the frame (or input) missed.
    pub reason: String,
    /// Frame sequence number.
    #[serde(default)]
    pub sequence: Option<u64>,
    /// Trigger header stamp, ns.
    #[serde(default)]
    pub trigger_stamp_ns: Option<i64>,
    /// Trigger arrival, ns: since the node's start in a live run, the
    /// recording's log time in an offline replay.
    pub arrival_ns: i64,
    /// The budget the node judged against, µs.
    #[serde(default)]
    pub budget_us: Option<f64>,
    /// Per-stage durations, µs.
    #[serde(default)]
    pub stages_us: Option<StagesUs>,
    /// Trap kind.
    #[serde(default)]
    pub trap: Option<String>,
    /// Module status code.
    #[serde(default)]
    pub module_status: Option<u32>,
    /// SHA-256 of the module that ran.
    #[serde(default)]
    pub module_sha256: String,
    /// Missing sensors.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The overflowing sensor (`dropped_input`).
    #[serde(default)]
    pub sensor: Option<String>,
    /// Messages or sets dropped.
    #[serde(default)]
    pub dropped: Option<u64>,
}

/// The stage durations of a miss, µs.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct StagesUs {
    /// End to end.
    #[serde(default)]
    pub end_to_end: Option<f64>,
    /// Module execution.
    #[serde(default)]
    pub module_exec: Option<f64>,
}

/// One frames-log line (only what the report uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrameRecord {
    /// Frame sequence number.
    pub sequence: u64,
    /// The trigger's log time, ns.
    #[serde(default)]
    pub trigger_log_time_ns: Option<i64>,
    /// Whether a sensor was missing.
    #[serde(default)]
    pub degraded: bool,
}

/// Reads every line of `text` as a `T`, with its 1-based line number;
/// blank lines are ignored, others that fail are listed under `file`.
pub fn parse_lines<T: DeserializeOwned>(
    text: &str,
    file: &str,
    skipped: &mut Vec<Skipped>,
) -> Vec<(u64, T)> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = i as u64 + 1;
        match serde_json::from_str::<T>(line) {
            Ok(record) => records.push((number, record)),
            Err(e) => skipped.push(Skipped {
                file: file.to_owned(),
                line: number,
                reason: e.to_string(),
            }),
        }
    }
    records
}
