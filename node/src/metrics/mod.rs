//! Latency measurement: one HdrHistogram per stage of the frame path, the
//! `.hlog` interval log and the percentile summary written at exit.
//!
//! Values are recorded in **microseconds**, from 1 µs to 10 s with 3
//! significant digits (the resolution). A duration is rounded up
//! to whole microseconds, so a stage is never reported faster than it
//! was; values outside the range are clamped into it and counted
//! ([`StageHistograms::clamped`]).
//!
//! This module is pure: it reads no clock, starts no thread and opens no
//! socket. The caller passes durations and interval boundaries, so a
//! replay produces the same histograms. [`StageHistograms::record`] does
//! not allocate: every histogram is sized in [`StageHistograms::new`].
//! Writing an interval or the summary allocates, but happens every few
//! seconds, not per frame.
//!
//! The file formats are described in `docs/logs.md`.

mod environment;
mod histograms;
mod hlog;
mod summary;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use environment::{Environment, environment};
pub use histograms::{HIGHEST_US, LOWEST_US, SIGNIFICANT_DIGITS, StageHistograms};
pub use hlog::HlogWriter;
pub use summary::{StageSummary, Summary};

/// A stage of the frame path, each with its own histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// From the trigger message's arrival until its set was aligned.
    AlignWait,
    /// Copying the set's payloads into the module's input frame.
    FrameBuild,
    /// The module's `fusion_step`.
    ModuleExec,
    /// Publishing the output.
    Publish,
    /// From the trigger message's arrival until its output was published:
    /// the quantity the deadline budget limits.
    EndToEnd,
    /// Publish time minus the trigger's header stamp (sensor clock).
    StampAge,
}

impl Stage {
    /// Every stage, in frame-path order (the order of the summary and of
    /// the lines of one `.hlog` interval).
    pub const ALL: [Stage; 6] = [
        Stage::AlignWait,
        Stage::FrameBuild,
        Stage::ModuleExec,
        Stage::Publish,
        Stage::EndToEnd,
        Stage::StampAge,
    ];

    /// The stage's name, also its `.hlog` tag.
    pub fn name(self) -> &'static str {
        match self {
            Stage::AlignWait => "AlignWait",
            Stage::FrameBuild => "FrameBuild",
            Stage::ModuleExec => "ModuleExec",
            Stage::Publish => "Publish",
            Stage::EndToEnd => "EndToEnd",
            Stage::StampAge => "StampAge",
        }
    }

    /// The stage's position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a histogram log or summary could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Creating or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Writing to the interval log failed.
    #[error("writing the interval log: {0}")]
    Write(#[from] std::io::Error),
    /// A histogram could not be encoded.
    #[error("encoding a histogram for the interval log: {0}")]
    Encode(String),
}
