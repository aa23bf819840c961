//! `vision_msgs/Detection2DArray` without building its vectors and strings.

use crate::builtin_interfaces::Time;
use crate::cdr::{Deserializer, Result};
use crate::vision_msgs::{BoundingBox2D, Point2D, Pose2D};

/// `float64`s of a `geometry_msgs/PoseWithCovariance`: position (3),
/// orientation (4), covariance (36).
const POSE_WITH_COVARIANCE_F64S: usize = 43;

/// A `vision_msgs/Detection2DArray` read in place. The whole message is
/// checked when the view is made, so iterating cannot fail.
#[derive(Debug, Clone)]
pub struct Detection2DArrayView<'a> {
    /// `header.stamp`.
    pub stamp: Time,
    /// `header.frame_id`.
    pub frame_id: &'a str,
    /// Positioned at the first detection.
    detections: Deserializer<'a>,
    count: usize,
}

/// One detection: its box and id, with its hypotheses read on demand.
#[derive(Debug, Clone)]
pub struct Detection2DView<'a> {
    /// `header.stamp`.
    pub stamp: Time,
    /// `header.frame_id`.
    pub frame_id: &'a str,
    /// `bbox`.
    pub bbox: BoundingBox2D,
    /// `id`.
    pub id: &'a str,
    /// Positioned at the first hypothesis.
    results: Deserializer<'a>,
    results_count: usize,
}

/// One `ObjectHypothesisWithPose`, without its pose (skipped, not read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hypothesis<'a> {
    /// `hypothesis.class_id`.
    pub class_id: &'a str,
    /// `hypothesis.score`.
    pub score: f64,
}

impl<'a> Detection2DArrayView<'a> {
    /// Checks a CDR-encoded `Detection2DArray` (encapsulation header
    /// included) and returns a view of it.
    pub fn from_cdr(bytes: &'a [u8]) -> Result<Self> {
        let mut de = Deserializer::for_message(bytes)?;
        let (stamp, frame_id) = super::read_header(&mut de)?;
        // A detection is at least a header, two lengths and a box.
        let count = de.read_len(4 * 4 + 5 * 8)?;
        let detections = de.clone();
        for _ in 0..count {
            let detection = read_detection(&mut de)?;
            let mut results = detection.results.clone();
            for _ in 0..detection.results_count {
                read_hypothesis(&mut results)?;
            }
        }
        de.finish()?;
        Ok(Detection2DArrayView {
            stamp,
            frame_id,
            detections,
            count,
        })
    }

    /// Number of detections.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when there are no detections.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The detections, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Detection2DView<'a>> + use<'a> {
        let mut de = self.detections.clone();
        // Checked in `from_cdr`: every read succeeds.
        (0..self.count).map(move |_| read_detection(&mut de).expect("checked in from_cdr"))
    }
}

impl<'a> Detection2DView<'a> {
    /// The hypotheses (class and score), in order.
    pub fn hypotheses(&self) -> impl ExactSizeIterator<Item = Hypothesis<'a>> + use<'a> {
        let mut de = self.results.clone();
        (0..self.results_count).map(move |_| read_hypothesis(&mut de).expect("checked in from_cdr"))
    }
}

/// Reads one detection up to its end, leaving the hypotheses for later:
/// they are skipped here and `results` points at them.
fn read_detection<'a>(de: &mut Deserializer<'a>) -> Result<Detection2DView<'a>> {
    let (stamp, frame_id) = super::read_header(de)?;
    let results_count = de.read_len(4 + 8 + 8 * POSE_WITH_COVARIANCE_F64S)?;
    let results = de.clone();
    for _ in 0..results_count {
        read_hypothesis(de)?;
    }
    let (x, y, theta) = (de.read_f64()?, de.read_f64()?, de.read_f64()?);
    let (size_x, size_y) = (de.read_f64()?, de.read_f64()?);
    let id = de.read_str()?;
    Ok(Detection2DView {
        stamp,
        frame_id,
        bbox: BoundingBox2D {
            center: Pose2D {
                position: Point2D { x, y },
                theta,
            },
            size_x,
            size_y,
        },
        id,
        results,
        results_count,
    })
}

fn read_hypothesis<'a>(de: &mut Deserializer<'a>) -> Result<Hypothesis<'a>> {
    let class_id = de.read_str()?;
    let score = de.read_f64()?;
    de.skip_f64s(POSE_WITH_COVARIANCE_F64S)?;
    Ok(Hypothesis { class_id, score })
}
