//! The figures an evaluation ends with, as JSON (serde) and as a table.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::EvalConfig;

/// The figures of one set of frames (all classes, or one class), named and
/// defined as py-motmetrics 1.4.0 names and defines them. Ratios whose
/// denominator is zero are `None` (motmetrics gives NaN or infinity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Frames evaluated.
    pub num_frames: u64,
    /// Ground-truth object appearances (sum over frames).
    pub num_objects: u64,
    /// Hypothesis appearances (sum over frames).
    pub num_predictions: u64,
    /// Distinct ground-truth ids.
    pub num_unique_objects: u64,
    /// Distinct hypothesis ids.
    pub num_unique_hypotheses: u64,
    /// Truth-hypothesis pairs that continue the object's last pairing (or
    /// are its first).
    pub num_matches: u64,
    /// Pairs whose hypothesis differs from the one last paired with the
    /// object (ID switches).
    pub num_switches: u64,
    /// Pairs whose object differs from the one the hypothesis was last
    /// assigned to.
    pub num_transfer: u64,
    /// Switches to a hypothesis never paired before.
    pub num_ascend: u64,
    /// Transfers to an object never paired before.
    pub num_migrate: u64,
    /// Hypotheses left unpaired.
    pub num_false_positives: u64,
    /// Objects left unpaired.
    pub num_misses: u64,
    /// `num_matches + num_switches`.
    pub num_detections: u64,
    /// Times an object's tracking was interrupted and resumed.
    pub num_fragmentations: u64,
    /// Objects paired in at least 80 % of their frames.
    pub mostly_tracked: u64,
    /// Objects paired in at least 20 % and under 80 % of their frames.
    pub partially_tracked: u64,
    /// Objects paired in under 20 % of their frames.
    pub mostly_lost: u64,
    /// `1 - (misses + switches + false positives) / num_objects`.
    pub mota: Option<f64>,
    /// Mean centre distance of the pairs, metres (`sum d / num_detections`).
    pub motp: Option<f64>,
    /// `num_detections / (num_detections + num_false_positives)`.
    pub precision: Option<f64>,
    /// `num_detections / num_objects`.
    pub recall: Option<f64>,
    /// Identity true positives: the most frames a one-to-one map of truth
    /// ids to hypothesis ids pairs within the threshold.
    pub idtp: u64,
    /// `num_predictions - idtp`.
    pub idfp: u64,
    /// `num_objects - idtp`.
    pub idfn: u64,
    /// `idtp / num_predictions`.
    pub idp: Option<f64>,
    /// `idtp / num_objects`.
    pub idr: Option<f64>,
    /// `2 idtp / (num_objects + num_predictions)`.
    pub idf1: Option<f64>,
    /// Root mean square of the pairs' centre distances, metres.
    pub position_rmse_m: Option<f64>,
    /// Root mean square of the pairs' 2D velocity differences, m/s.
    pub velocity_rmse_mps: Option<f64>,
    /// Pairs in the velocity RMSE (those with finite velocities).
    pub velocity_pairs: u64,
}

/// The figures of one class: both sides filtered to objects whose most
/// probable label is this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The `ObjectClassification` label.
    pub label: u8,
    /// Its name (`car`, `pedestrian`, ...).
    pub name: String,
    /// The figures.
    pub metrics: Metrics,
}

/// How the input frames were used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameCounts {
    /// Hypothesis frames paired with a truth frame and evaluated.
    pub evaluated: u64,
    /// Hypothesis frames with no truth frame within the pairing tolerance
    /// (left out).
    pub unpaired_hypothesis: u64,
    /// Truth frames no hypothesis frame was paired with (left out: no
    /// output for them is not counted as misses).
    pub unpaired_truth: u64,
    /// Objects left out for a non-finite position.
    pub skipped_non_finite: u64,
    /// Objects left out for repeating an id already in their frame.
    pub skipped_duplicate_id: u64,
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The settings used.
    pub config: EvalConfig,
    /// How the frames were used.
    pub frames: FrameCounts,
    /// All objects of all classes.
    pub overall: Metrics,
    /// One entry per label seen on either side, by label.
    pub per_class: Vec<ClassMetrics>,
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // A tree of plain structs, numbers and strings always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1}", 100.0 * x))
}

fn metres(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.3}"))
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, m: &Metrics) -> fmt::Result {
    writeln!(
        f,
        "{name:<14} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5} {:>4} {:>4} {:>4} {:>5} {:>8} {:>9}",
        percent(m.mota),
        metres(m.motp),
        percent(m.idf1),
        percent(m.idp),
        percent(m.idr),
        percent(m.precision),
        percent(m.recall),
        m.num_objects,
        m.num_false_positives,
        m.num_misses,
        m.num_switches,
        m.mostly_tracked,
        m.partially_tracked,
        m.mostly_lost,
        m.num_fragmentations,
        metres(m.position_rmse_m),
        metres(m.velocity_rmse_mps),
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.frames;
        writeln!(
            f,
            "{} frames evaluated; {} hypothesis frames without truth within {} ns, {} truth frames unpaired; \
             objects skipped: {} non-finite, {} duplicate id; match threshold {} m",
            c.evaluated,
            c.unpaired_hypothesis,
            self.config.pairing_tolerance_ns,
            c.unpaired_truth,
            c.skipped_non_finite,
            c.skipped_duplicate_id,
            self.config.match_threshold_m,
        )?;
        writeln!(
            f,
            "{:<14} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5} {:>4} {:>4} {:>4} {:>5} {:>8} {:>9}",
            "class",
            "MOTA%",
            "MOTP m",
            "IDF1%",
            "IDP%",
            "IDR%",
            "Prec%",
            "Rec%",
            "GT",
            "FP",
            "FN",
            "IDsw",
            "MT",
            "PT",
            "ML",
            "Frag",
            "pos RMSE",
            "vel RMSE"
        )?;
        row(f, "all", &self.overall)?;
        for class in &self.per_class {
            row(f, &class.name, &class.metrics)?;
        }
        Ok(())
    }
}
