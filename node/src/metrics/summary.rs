//! The percentile summary printed and written at exit.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::{MetricsError, Stage, StageHistograms};

/// Percentiles of one stage over the whole run, in microseconds.
///
/// Each percentile is the highest value of its histogram bucket (within
/// 0.1 % of the true value, never below it); all zero when `count` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageSummary {
    /// The stage.
    pub stage: Stage,
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest value.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
    /// Values clamped into 1 µs..=10 s.
    pub clamped: u64,
}

/// Percentiles of every stage, in [`Stage::ALL`] order. `Display` is an
/// aligned table; `Serialize` gives the JSON form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// One entry per stage.
    pub stages: Vec<StageSummary>,
}

impl Summary {
    /// Summarises the cumulative histograms.
    pub fn of(histograms: &StageHistograms) -> Summary {
        let stages = Stage::ALL
            .iter()
            .map(|&stage| {
                let h = histograms.cumulative(stage);
                StageSummary {
                    stage,
                    count: h.len(),
                    p50_us: h.value_at_quantile(0.5),
                    p90_us: h.value_at_quantile(0.9),
                    p99_us: h.value_at_quantile(0.99),
                    p999_us: h.value_at_quantile(0.999),
                    max_us: h.max(),
                    mean_us: h.mean(),
                    clamped: histograms.clamped(stage),
                }
            })
            .collect();
        Summary { stages }
    }

    /// The entry of `stage`.
    pub fn get(&self, stage: Stage) -> Option<&StageSummary> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// Writes the summary to `path` (and creates its directory): JSON if
    /// the name ends in `.json`, else the table. The file is replaced
    /// atomically, so a reader never sees half of it.
    pub fn write(&self, path: &Path) -> Result<(), MetricsError> {
        let io = |source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = if path.extension().is_some_and(|e| e == "json") {
            let mut json =
                serde_json::to_string_pretty(self).expect("a summary of numbers always serializes");
            json.push('\n');
            json
        } else {
            self.to_string()
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>8}",
            "stage (µs)", "count", "p50", "p90", "p99", "p99.9", "max", "mean", "clamped"
        )?;
        for s in &self.stages {
            writeln!(
                f,
                "{:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11.1} {:>8}",
                s.stage.name(),
                s.count,
                s.p50_us,
                s.p90_us,
                s.p99_us,
                s.p999_us,
                s.max_us,
                s.mean_us,
                s.clamped
            )?;
        }
        Ok(())
    }
}
