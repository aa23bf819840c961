//! Tracking accuracy of `autoware_perception_msgs/TrackedObjects` against
//! ground truth: CLEAR MOT (MOTA, MOTP), IDF1/IDP/IDR, ID switches,
//! precision and recall, overall and per class, and position and velocity
//! RMSE.
//!
//! The figures are py-motmetrics 1.4.0's, computed the same way (its
//! `MOTAccumulator.update` event rules and `metrics.py` definitions) on the
//! Euclidean distance of the 2D centres, pairs farther apart than
//! [`EvalConfig::match_threshold_m`] forbidden. The Python oracle
//! `tests/oracle/eval_oracle.py` checks that they agree.
//!
//! Rules, beyond motmetrics' own:
//! - Frames evaluated are the hypothesis (output) frames, each paired with
//!   the truth frame of nearest stamp within
//!   [`EvalConfig::pairing_tolerance_ns`] ([`evaluate`]).
//! - Distance: 2D centre distance in the messages' common frame; MOTP is
//!   its mean over the pairs, in metres (motmetrics' `motp` is the mean of
//!   whatever distance it is given; this is not `1 - IoU`).
//! - Class: the most probable label ([`top_label`]); per-class figures
//!   filter both sides to one label, so a misclassified track is a miss in
//!   the truth's class and a false positive in its own.
//! - Velocity: the twist is in the object frame (Autoware, the simulator
//!   and the reference tracker agree), turned into the message frame by the
//!   object's orientation before it is compared.
//!
//! This crate knows nothing about files, transports or the node: it takes
//! [`Frame`]s (read from messages with [`Frame::from_msg`]) and returns a
//! [`Report`].

mod assignment;
mod frame;
mod mot;
mod report;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use frame::{Frame, ObjectState, class_name, top_label};
pub use report::{ClassMetrics, FrameCounts, Metrics, Report};

use mot::Accumulator;

/// Default [`EvalConfig::match_threshold_m`].
pub const DEFAULT_MATCH_THRESHOLD_M: f64 = 2.0;
/// Default [`EvalConfig::pairing_tolerance_ns`].
pub const DEFAULT_PAIRING_TOLERANCE_NS: u64 = 5_000_000;

/// How frames are paired and objects matched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Largest centre distance of a truth-hypothesis pair, metres
    /// (inclusive; farther pairs can never match).
    pub match_threshold_m: f64,
    /// Largest stamp difference between a hypothesis frame and the truth
    /// frame it is paired with, nanoseconds.
    pub pairing_tolerance_ns: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            match_threshold_m: DEFAULT_MATCH_THRESHOLD_M,
            pairing_tolerance_ns: DEFAULT_PAIRING_TOLERANCE_NS,
        }
    }
}

/// Why an evaluation cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    /// The match threshold is not a positive finite number.
    #[error("match threshold must be a positive number of metres, got {0}")]
    InvalidThreshold(f64),
    /// A hypothesis frame and its truth frame are in different frames of
    /// reference, so their positions cannot be compared.
    #[error(
        "frame_id differs at stamp {stamp_ns} ns: truth is in {truth:?}, hypotheses in {hypothesis:?}"
    )]
    FrameIdMismatch {
        /// The hypothesis frame's stamp.
        stamp_ns: i64,
        /// The truth frame's `frame_id`.
        truth: String,
        /// The hypothesis frame's `frame_id`.
        hypothesis: String,
    },
}

/// An evaluation in progress: feed it paired frames in time order with
/// [`Evaluation::add_frame`], then take its [`Report`].
#[derive(Debug, Clone)]
pub struct Evaluation {
    config: EvalConfig,
    overall: Accumulator,
    per_class: BTreeMap<u8, Accumulator>,
    counts: FrameCounts,
}

impl Evaluation {
    /// An empty evaluation; fails on an invalid config.
    pub fn new(config: EvalConfig) -> Result<Evaluation, EvalError> {
        let t = config.match_threshold_m;
        if !(t.is_finite() && t > 0.0) {
            return Err(EvalError::InvalidThreshold(t));
        }
        Ok(Evaluation {
            config,
            overall: Accumulator::default(),
            per_class: BTreeMap::new(),
            counts: FrameCounts::default(),
        })
    }

    /// Evaluates one hypothesis frame against its truth frame. Objects with
    /// a non-finite position and repeats of an id within a frame are left
    /// out and counted.
    pub fn add_frame(&mut self, truth: &Frame, hyp: &Frame) -> Result<(), EvalError> {
        if truth.frame_id != hyp.frame_id {
            return Err(EvalError::FrameIdMismatch {
                stamp_ns: hyp.stamp_ns,
                truth: truth.frame_id.clone(),
                hypothesis: hyp.frame_id.clone(),
            });
        }
        let truth = self.usable(&truth.objects);
        let hyp = self.usable(&hyp.objects);
        let threshold = self.config.match_threshold_m;
        self.overall.update(&truth, &hyp, threshold);
        self.counts.evaluated += 1;

        let mut labels: Vec<u8> = truth.iter().chain(&hyp).map(|o| o.label).collect();
        labels.sort_unstable();
        labels.dedup();
        for label in labels {
            let of_class = |side: &[ObjectState]| -> Vec<ObjectState> {
                side.iter().filter(|o| o.label == label).copied().collect()
            };
            // A class's empty frames change nothing but its frame count,
            // which is the overall one (see `report`).
            self.per_class.entry(label).or_default().update(
                &of_class(&truth),
                &of_class(&hyp),
                threshold,
            );
        }
        Ok(())
    }

    fn usable(&mut self, objects: &[ObjectState]) -> Vec<ObjectState> {
        let mut kept: Vec<ObjectState> = Vec::with_capacity(objects.len());
        for o in objects {
            if !(o.position[0].is_finite() && o.position[1].is_finite()) {
                self.counts.skipped_non_finite += 1;
            } else if kept.iter().any(|k| k.id == o.id) {
                self.counts.skipped_duplicate_id += 1;
            } else {
                kept.push(*o);
            }
        }
        kept
    }

    /// The figures so far.
    pub fn report(&self) -> Report {
        let frames = self.overall.frames();
        Report {
            config: self.config,
            frames: self.counts.clone(),
            overall: self.overall.metrics(frames),
            per_class: self
                .per_class
                .iter()
                .map(|(&label, acc)| ClassMetrics {
                    label,
                    name: class_name(label).to_string(),
                    metrics: acc.metrics(frames),
                })
                .collect(),
        }
    }
}

/// Evaluates hypothesis frames against truth frames, both in any order.
/// Each hypothesis frame is paired with the truth frame of nearest stamp
/// (the earlier of two equally near) within the pairing tolerance, and
/// frames are evaluated in hypothesis stamp order (ties in input order).
/// Hypothesis frames with no truth in tolerance and truth frames never
/// paired are left out and counted in [`Report::frames`].
pub fn evaluate<T, H>(truth: T, hypotheses: H, config: &EvalConfig) -> Result<Report, EvalError>
where
    T: IntoIterator<Item = Frame>,
    H: IntoIterator<Item = Frame>,
{
    let mut eval = Evaluation::new(*config)?;
    let mut truth: Vec<Frame> = truth.into_iter().collect();
    truth.sort_by_key(|f| f.stamp_ns);
    let mut hypotheses: Vec<Frame> = hypotheses.into_iter().collect();
    hypotheses.sort_by_key(|f| f.stamp_ns);

    let mut paired = vec![false; truth.len()];
    let mut unpaired_hypothesis = 0;
    for hyp in &hypotheses {
        match nearest(&truth, hyp.stamp_ns, config.pairing_tolerance_ns) {
            Some(i) => {
                paired[i] = true;
                eval.add_frame(&truth[i], hyp)?;
            }
            None => unpaired_hypothesis += 1,
        }
    }
    eval.counts.unpaired_hypothesis = unpaired_hypothesis;
    eval.counts.unpaired_truth = paired.iter().filter(|p| !**p).count() as u64;
    Ok(eval.report())
}

/// The index of the frame of `sorted` nearest `stamp_ns` within
/// `tolerance_ns`, the earlier of two equally near.
fn nearest(sorted: &[Frame], stamp_ns: i64, tolerance_ns: u64) -> Option<usize> {
    let after = sorted.partition_point(|f| f.stamp_ns < stamp_ns);
    let gap = |i: usize| sorted[i].stamp_ns.abs_diff(stamp_ns);
    let candidates = [
        after.checked_sub(1),
        (after < sorted.len()).then_some(after),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|&i| gap(i) <= tolerance_ns)
        .min_by_key(|&i| gap(i))
}
