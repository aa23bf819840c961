//! The per-stage histograms: one for the current `.hlog` interval and one
//! for the whole run.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::Stage;
use crate::pipeline::{FrameReport, Outcome};

/// The smallest value tracked, in microseconds.
pub const LOWEST_US: u64 = 1;
/// The largest value tracked, in microseconds (10 s).
pub const HIGHEST_US: u64 = 10_000_000;
/// Significant decimal digits kept: values are exact to 0.1 %.
pub const SIGNIFICANT_DIGITS: u8 = 3;

const STAGES: usize = Stage::ALL.len();

/// One interval and one cumulative histogram per [`Stage`], in µs.
#[derive(Debug, Clone)]
pub struct StageHistograms {
    interval: [Histogram<u64>; STAGES],
    total: [Histogram<u64>; STAGES],
    clamped: [u64; STAGES],
}

impl Default for StageHistograms {
    fn default() -> Self {
        Self::new()
    }
}

impl StageHistograms {
    /// Empty histograms with every counter array allocated.
    pub fn new() -> Self {
        let make = |_| {
            Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
                .expect("constant bounds are valid")
        };
        StageHistograms {
            interval: std::array::from_fn(make),
            total: std::array::from_fn(make),
            clamped: [0; STAGES],
        }
    }

    /// Records one duration of `stage`, rounded up to whole microseconds
    /// and clamped into [`LOWEST_US`]`..=`[`HIGHEST_US`]. Never allocates.
    ///
    /// A negative quantity (a sensor stamp ahead of the node's clock, for
    /// [`Stage::StampAge`]) should be passed as `Duration::ZERO`: it is
    /// then counted as clamped.
    pub fn record(&mut self, stage: Stage, duration: Duration) {
        let us = duration.as_nanos().div_ceil(1_000);
        let value = u64::try_from(us)
            .unwrap_or(u64::MAX)
            .clamp(LOWEST_US, HIGHEST_US);
        if u128::from(value) != us {
            self.clamped[stage.index()] += 1;
        }
        let i = stage.index();
        // In range by construction, so neither can fail.
        self.interval[i].saturating_record(value);
        self.total[i].saturating_record(value);
    }

    /// Records every stage of one frame. `EndToEnd` counts every frame, a
    /// missed one up to the moment its miss was known, so misses lie in
    /// the tail rather than being left out; `Publish` counts every
    /// attempt; `StampAge` only published frames. Never allocates.
    pub fn record_frame(&mut self, report: &FrameReport) {
        let s = &report.stages;
        self.record(Stage::AlignWait, s.align_wait);
        self.record(Stage::FrameBuild, s.frame_build);
        self.record(Stage::ModuleExec, s.module_exec);
        self.record(Stage::EndToEnd, s.end_to_end);
        if let Some(publish) = report.publish() {
            self.record(Stage::Publish, publish);
        }
        if let Outcome::Published { stamp_age, .. } = report.outcome {
            self.record(Stage::StampAge, stamp_age);
        }
    }

    /// What `stage` recorded since the last [`StageHistograms::reset_interval`].
    pub fn interval(&self, stage: Stage) -> &Histogram<u64> {
        &self.interval[stage.index()]
    }

    /// What `stage` recorded since [`StageHistograms::new`].
    pub fn cumulative(&self, stage: Stage) -> &Histogram<u64> {
        &self.total[stage.index()]
    }

    /// How many of `stage`'s values fell outside the tracked range (below
    /// 1 µs, i.e. zero, or above 10 s) and were clamped, over the run.
    pub fn clamped(&self, stage: Stage) -> u64 {
        self.clamped[stage.index()]
    }

    /// Empties the interval histograms (the `.hlog` writer does this after
    /// writing them). Never allocates.
    pub fn reset_interval(&mut self) {
        self.interval.iter_mut().for_each(Histogram::reset);
    }
}
