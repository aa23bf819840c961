//! What a report says, as data. The HTML, markdown and JSON forms all
//! render this one value, so they cannot disagree; `--format json` is its
//! serialisation.

use serde::Serialize;

/// The stages in frame-path order, as the node's `.hlog` tags them.
pub const STAGES: [&str; 6] = [
    "AlignWait",
    "FrameBuild",
    "ModuleExec",
    "Publish",
    "EndToEnd",
    "StampAge",
];

/// The stage the budget limits and the gate's bare percentiles refer to.
pub const END_TO_END: &str = "EndToEnd";

/// The report on one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Pass or fail, and why.
    pub verdict: Verdict,
    /// The deadline budget the report judges against, µs.
    pub budget_us: f64,
    /// Where the budget came from: `"--budget"`, `"miss log"`, `"hlog
    /// header"` or `"default"` (10 ms).
    pub budget_source: String,
    /// The files read.
    pub sources: Sources,
    /// The run's environment, from the `.hlog` header (`#[Key: value]`
    /// comments), in file order.
    pub environment: Vec<EnvEntry>,
    /// Frame and miss counts.
    pub frames: FrameCounts,
    /// Whole-run percentiles per stage, in [`STAGES`] order (stages the log
    /// does not have are left out; unknown tags follow).
    pub stages: Vec<StageStats>,
    /// The percentile distribution of every stage, for the
    /// HdrHistogram-style plot.
    pub distributions: Vec<Distribution>,
    /// End-to-end latency per `.hlog` interval, in time order.
    pub intervals: Vec<IntervalStats>,
    /// Misses by reason, most frequent first.
    pub miss_reasons: Vec<ReasonCount>,
    /// Every miss-log record, in file order.
    pub misses: Vec<MissRow>,
    /// The module versions the run used, in order of first appearance.
    pub modules: Vec<ModuleVersion>,
    /// The gate's rules and what each gave.
    pub rules: Vec<RuleOutcome>,
    /// Lines of the inputs that could not be read.
    pub skipped: Vec<Skipped>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// True when no rule failed.
    pub pass: bool,
    /// One sentence: the failed rules, or why the run passed.
    pub summary: String,
}

/// The input files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sources {
    /// The `.hlog` interval log.
    pub hlog: String,
    /// The miss log, if given.
    pub misses: Option<String>,
    /// The frames log, if given.
    pub frames: Option<String>,
    /// `#[StartTime]` of the log: the run's start, seconds since the Unix
    /// epoch.
    pub start_time_s: Option<f64>,
}

/// One `#[Key: value]` line of the `.hlog` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvEntry {
    /// The key, e.g. `Host`.
    pub key: String,
    /// The value.
    pub value: String,
}

/// How many frames ran and missed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameCounts {
    /// Frames that ran: the `EndToEnd` histogram's count.
    pub ran: u64,
    /// Aligned sets dropped before they ran (`dropped_set` lines).
    pub dropped_sets: u64,
    /// Frames in the miss log, `dropped_set` included; `dropped_input` and
    /// the hot-swap lines not (they are not frames). `None` without a miss
    /// log.
    pub missed: Option<u64>,
    /// `missed / (ran + dropped_sets)`; `None` without a miss log.
    pub miss_rate: Option<f64>,
    /// Missed frames that failed (every reason but `late`, `degraded`
    /// and `dropped_input`): the build's fault, not the sensors'.
    pub failures: Option<u64>,
    /// End-to-end values above the budget, to the histogram's resolution
    /// (a value is counted when its whole bucket lies above the budget).
    pub over_budget: u64,
    /// Sensor messages dropped by full queues (`dropped_input` lines).
    pub dropped_inputs: Option<u64>,
    /// Lines in the frames log, if given.
    pub frames_logged: Option<u64>,
    /// Frames-log frames marked degraded, if given.
    pub frames_degraded: Option<u64>,
}

/// Percentiles of one stage over the run, µs. Each percentile is the
/// highest value of its HdrHistogram bucket, as the node's summary gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    /// The stage (`.hlog` tag).
    pub stage: String,
    /// Values recorded.
    pub count: u64,
    /// Smallest value.
    pub min_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// 99.99th percentile.
    pub p9999_us: u64,
    /// Largest value.
    pub max_us: u64,
}

/// A stage's latency by percentile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distribution {
    /// The stage.
    pub stage: String,
    /// Points of increasing percentile, up to 100.
    pub points: Vec<PercentilePoint>,
}

/// One point of a [`Distribution`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PercentilePoint {
    /// Percentile, 0 to 100.
    pub percentile: f64,
    /// Latency at it, µs.
    pub value_us: u64,
}

/// End-to-end latency in one `.hlog` interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalStats {
    /// Interval start, seconds since the log's base time.
    pub start_s: f64,
    /// Interval length, seconds.
    pub length_s: f64,
    /// Frames in it.
    pub count: u64,
    /// Median, µs (0 when empty).
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
}

/// Misses of one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The miss log's `reason`.
    pub reason: String,
    /// Lines with it.
    pub count: u64,
}

/// One miss-log line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissRow {
    /// Line number in the miss log (1-based).
    pub line: u64,
    /// `reason`.
    pub reason: String,
    /// Frame sequence number.
    pub sequence: Option<u64>,
    /// Seconds since the run's start (see [`crate::analyze`]).
    pub time_s: f64,
    /// Trigger header stamp, ns.
    pub trigger_stamp_ns: Option<i64>,
    /// End-to-end time, µs.
    pub end_to_end_us: Option<f64>,
    /// Module execution time, µs.
    pub module_exec_us: Option<f64>,
    /// Sensors missing from the frame.
    pub missing: Vec<String>,
    /// For `dropped_input`: the sensor.
    pub sensor: Option<String>,
    /// For `dropped_input`: messages dropped.
    pub dropped: Option<u64>,
    /// For `trap`: its kind.
    pub trap: Option<String>,
    /// SHA-256 of the module that ran.
    pub module_sha256: String,
}

/// A module the run used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleVersion {
    /// SHA-256 (hex).
    pub sha256: String,
    /// What else the log says of it (its path), if anything.
    pub detail: Option<String>,
    /// When it was first seen, seconds since the run's start.
    pub first_seen_s: Option<f64>,
    /// Misses recorded against it.
    pub misses: u64,
}

/// A gate rule and its result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    /// The rule as written, e.g. `p99.9>5ms`.
    pub rule: String,
    /// The metric's value in the run, in the rule's unit, e.g. `4.2ms`.
    pub actual: String,
    /// True when the rule's condition held: the run fails.
    pub failed: bool,
}

/// An input line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Line number (1-based).
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// Two runs side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Pass or fail: fails on a regression or a failed rule.
    pub verdict: Verdict,
    /// A slower candidate is a regression when it is slower by more than
    /// this fraction...
    pub tolerance: f64,
    /// ...and by more than this many µs.
    pub min_change_us: f64,
    /// The baseline run.
    pub baseline: Report,
    /// The candidate run.
    pub candidate: Report,
    /// Metric by metric.
    pub rows: Vec<ComparisonRow>,
}

/// One metric of both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// The stage, or `misses` for the miss rate.
    pub stage: String,
    /// `p50`, `p90`, `p99`, `p99.9`, `max` or `miss-rate`.
    pub metric: String,
    /// The baseline's value (µs, or a fraction for the miss rate).
    pub baseline: f64,
    /// The candidate's value.
    pub candidate: f64,
    /// `candidate / baseline` (`None` when the baseline is 0).
    pub ratio: Option<f64>,
    /// Slower (or missing more) beyond the tolerance.
    pub regression: bool,
}
