//! Multi-object tracker in the vehicle frame: a constant-velocity Kalman
//! filter per track (position, plus radar Doppler when present), gated
//! global nearest neighbour association solved optimally, and a track
//! lifecycle driven by hits, misses and an existence probability.
//!
//! Velocities are relative to the vehicle frame: the tracker is given no
//! ego motion.

use crate::geometry::MinMax;
use alloc::vec::Vec;
use core::f64::consts::{FRAC_PI_2, PI, TAU};

use fusion_msgs::autoware_perception_msgs::{
    ObjectClassification, Shape, TrackedObject, TrackedObjectKinematics,
};
use fusion_msgs::geometry_msgs::Point32;
use nalgebra::{Matrix2, Matrix2x4, Matrix4, RowVector4, Vector2, Vector4};

use crate::assignment::Assignment;
use crate::detection::{Detection, Radial};
use crate::params::Params;

/// Most tracks alive at once; beyond it new candidates are dropped.
pub const MAX_TRACKS: usize = 256;
/// Most detections considered per frame; later ones are dropped.
pub const MAX_DETECTIONS: usize = 1024;
/// Labels of `autoware_perception_msgs/ObjectClassification` (0..=11).
pub const NUM_LABELS: usize = 12;
/// Identifies the layout of [`Tracker::snapshot`] ("FTRK" and version 1).
pub const STATE_SCHEMA: u64 = 0x4654_524B_0000_0001;

/// A gap longer than this (s) between frames resets the tracker.
const MAX_DT: f64 = 5.0;
/// Velocity variance of a new track along unobserved directions ((m/s)^2).
const INITIAL_VELOCITY_VARIANCE: f64 = 100.0;
/// Variance reported for quantities the tracker does not estimate, and the
/// prior variance of attributes a detection did not give.
const UNMODELLED_VARIANCE: f64 = 1.0e4;
/// Floor for measurement variances, so innovations stay invertible.
const MIN_VARIANCE: f64 = 1.0e-6;
/// Doppler innovations beyond this (chi-square, 1 dof, 99.9%) are outliers.
const DOPPLER_GATE_CHI2: f64 = 10.83;
/// Faster than this (m/s), the velocity tells the front of the object.
const YAW_SIGN_SPEED: f64 = 1.5;
/// Yaw measurement variance (rad^2) and random-walk rate (rad^2/s).
const YAW_MEASUREMENT_VARIANCE: f64 = 0.15 * 0.15;
const YAW_PROCESS: f64 = 0.25;
/// Centre height measurement variance (m^2) and random-walk rate (m^2/s).
const Z_MEASUREMENT_VARIANCE: f64 = 0.2 * 0.2;
const Z_PROCESS: f64 = 0.1;
/// Box dimension measurement variance (m^2) and random-walk rate (m^2/s).
const SIZE_MEASUREMENT_VARIANCE: f64 = 0.3 * 0.3;
const SIZE_PROCESS: f64 = 0.05;
/// Class evidence fades by this factor per labelled update, so a track can
/// change its mind.
const CLASS_DECAY: f64 = 0.95;
/// Existence stays inside these bounds so a long-lived track can still die
/// (at 1.0 the Bayesian update would be stuck).
const EXISTENCE_MIN: f64 = 1.0e-6;
const EXISTENCE_MAX: f64 = 0.999;

mod state;
#[cfg(test)]
mod tests;
mod track;

pub use track::{Smoothed, Track, TrackStatus};

/// The tracking parameters, in the form the tracker uses them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Config {
    gate_chi2: f64,
    process_accel: f64,
    default_position_variance: f64,
    confirm_hits: u32,
    max_coast_frames: u32,
    detection_probability: f64,
    false_alarm_probability: f64,
    min_existence: f64,
    stationary_speed: f64,
}

impl Config {
    /// Non-finite values (possible only in hand-built `Params`) fall back
    /// to the defaults.
    fn new(p: &Params) -> Self {
        let d = Params::default();
        let pick = |v: f64, default: f64| if v.is_finite() { v } else { default };
        let sigma = pick(p.lidar_position_sigma, d.lidar_position_sigma);
        Config {
            gate_chi2: pick(p.gate_chi2, d.gate_chi2),
            process_accel: pick(p.process_accel, d.process_accel).max(0.0),
            default_position_variance: (sigma * sigma).max(MIN_VARIANCE),
            confirm_hits: libm::round(pick(p.confirm_hits, d.confirm_hits)) as u32,
            max_coast_frames: libm::round(pick(p.max_coast_frames, d.max_coast_frames)) as u32,
            detection_probability: pick(p.detection_probability, d.detection_probability)
                .clamp(0.01, 0.99),
            false_alarm_probability: pick(p.false_alarm_probability, d.false_alarm_probability)
                .clamp(0.0, 0.99),
            min_existence: pick(p.min_existence, d.min_existence),
            stationary_speed: pick(p.stationary_speed, d.stationary_speed),
        }
    }
}

/// The tracker with all its per-frame buffers.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: Config,
    /// Ascending by id.
    tracks: Vec<Track>,
    next_id: u64,
    last_stamp: Option<i64>,
    dropped_detections: u64,
    dropped_candidates: u64,
    // Per-frame scratch, reused.
    /// Measurement variance per detection; 0 marks an unusable detection.
    det_variance: Vec<f64>,
    row_gated: Vec<bool>,
    col_gated: Vec<bool>,
    rows: Vec<u16>,
    cols: Vec<u16>,
    cost: Vec<f64>,
    row_to_col: Vec<Option<u16>>,
    /// Detection per track for this frame.
    track_det: Vec<Option<u16>>,
    det_used: Vec<bool>,
    keep: Vec<bool>,
    candidates: Vec<u16>,
    assignment: Assignment,
}

impl Tracker {
    /// The snapshot layout identifier, [`STATE_SCHEMA`].
    pub const STATE_SCHEMA: u64 = STATE_SCHEMA;

    /// An empty tracker with the tracking parameters of `params` and its
    /// buffers allocated for [`MAX_TRACKS`] and [`MAX_DETECTIONS`].
    pub fn new(params: &Params) -> Self {
        Tracker {
            cfg: Config::new(params),
            tracks: Vec::with_capacity(MAX_TRACKS),
            next_id: 1,
            last_stamp: None,
            dropped_detections: 0,
            dropped_candidates: 0,
            det_variance: Vec::with_capacity(MAX_DETECTIONS),
            row_gated: Vec::with_capacity(MAX_TRACKS),
            col_gated: Vec::with_capacity(MAX_DETECTIONS),
            rows: Vec::with_capacity(MAX_TRACKS),
            cols: Vec::with_capacity(MAX_DETECTIONS),
            // Grows (once) only if many tracks and detections gate together.
            cost: Vec::with_capacity(64 * 256),
            row_to_col: Vec::with_capacity(MAX_TRACKS),
            track_det: Vec::with_capacity(MAX_TRACKS),
            det_used: Vec::with_capacity(MAX_DETECTIONS),
            keep: Vec::with_capacity(MAX_TRACKS),
            candidates: Vec::with_capacity(MAX_DETECTIONS),
            assignment: Assignment::with_capacity(64, 256),
        }
    }

    /// Replaces the tracking parameters, keeping the tracks.
    pub fn set_params(&mut self, params: &Params) {
        self.cfg = Config::new(params);
    }

    /// Drops every track; ids keep counting.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.last_stamp = None;
    }

    /// Every track, tentative ones included, in ascending id order.
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.iter()
    }

    /// The stamp of the last update, if any.
    pub fn last_stamp(&self) -> Option<i64> {
        self.last_stamp
    }

    /// Detections ignored so far because a frame had more than
    /// [`MAX_DETECTIONS`].
    pub fn dropped_detections(&self) -> u64 {
        self.dropped_detections
    }

    /// New-track candidates ignored so far because [`MAX_TRACKS`] were
    /// alive.
    pub fn dropped_candidates(&self) -> u64 {
        self.dropped_candidates
    }

    /// Advances to `stamp_ns` and incorporates `detections` (vehicle
    /// frame). Time going backwards or a gap over 5 s drops every track
    /// first; an equal stamp only updates.
    pub fn update(&mut self, stamp_ns: i64, detections: &[Detection]) {
        let dt = match self.last_stamp {
            None => 0.0,
            Some(last) => match stamp_ns.checked_sub(last) {
                Some(ns) if ns >= 0 => ns as f64 * 1.0e-9,
                _ => f64::INFINITY,
            },
        };
        let dt = if dt <= MAX_DT {
            dt
        } else {
            self.tracks.clear();
            0.0
        };
        self.last_stamp = Some(stamp_ns);
        if dt > 0.0 {
            let q = self.cfg.process_accel;
            self.tracks.iter_mut().for_each(|t| t.predict(dt, q));
        }

        let dets = &detections[..detections.len().min(MAX_DETECTIONS)];
        self.dropped_detections = self
            .dropped_detections
            .saturating_add((detections.len() - dets.len()) as u64);
        self.det_variance.clear();
        let default_variance = self.cfg.default_position_variance;
        self.det_variance.extend(dets.iter().map(|d| {
            if !(d.x.is_finite() && d.y.is_finite()) {
                0.0
            } else if d.position_variance.is_finite() && d.position_variance > 0.0 {
                d.position_variance.max1(MIN_VARIANCE)
            } else {
                default_variance
            }
        }));

        self.associate(dets);

        // Update or miss each track.
        self.keep.clear();
        for (t, det) in self.tracks.iter_mut().zip(&self.track_det) {
            let alive = match det {
                Some(di) => {
                    let di = usize::from(*di);
                    t.hit(&dets[di], self.det_variance[di], &self.cfg);
                    true
                }
                None => t.miss(&self.cfg),
            };
            t.age = t.age.saturating_add(1);
            let sound = t.is_sound();
            self.keep
                .push(alive && sound && t.existence >= self.cfg.min_existence);
        }
        let mut keep = self.keep.iter();
        self.tracks
            .retain(|_| keep.next().copied().unwrap_or(false));

        self.spawn(dets);
    }

    /// Fills `track_det` and `det_used` by gated optimal assignment.
    fn associate(&mut self, dets: &[Detection]) {
        let gate = self.cfg.gate_chi2;
        self.row_gated.clear();
        self.row_gated.resize(self.tracks.len(), false);
        self.col_gated.clear();
        self.col_gated.resize(dets.len(), false);
        // Eight detections per iteration, without a branch: the Wasm build
        // checks for interruption once per eight and keeps the track's
        // values in registers.
        let variances = &self.det_variance[..dets.len()];
        let (det_groups, det_rest) = dets.as_chunks::<8>();
        let (var_groups, var_rest) = variances.as_chunks::<8>();
        let (col_groups, col_rest) = self.col_gated.as_chunks_mut::<8>();
        for (t, row_gated) in self.tracks.iter().zip(self.row_gated.iter_mut()) {
            let gated = |d: &Detection, r: f64| (r > 0.0) & t.within_gate(d, r, gate);
            let mut any = false;
            for ((ds, rs), cols) in det_groups.iter().zip(var_groups).zip(col_groups.iter_mut()) {
                for k in 0..8 {
                    let g = gated(&ds[k], rs[k]);
                    cols[k] |= g;
                    any |= g;
                }
            }
            for ((d, &r), col) in det_rest.iter().zip(var_rest).zip(col_rest.iter_mut()) {
                let g = gated(d, r);
                *col |= g;
                any |= g;
            }
            *row_gated = any;
        }
        // Only tracks and detections inside some gate enter the solver.
        self.rows.clear();
        self.rows.extend(
            (0..self.tracks.len())
                .filter(|&i| self.row_gated[i])
                .map(|i| i as u16),
        );
        self.cols.clear();
        self.cols.extend(
            (0..dets.len())
                .filter(|&i| self.col_gated[i])
                .map(|i| i as u16),
        );
        self.cost.clear();
        for &ti in &self.rows {
            let t = &self.tracks[usize::from(ti)];
            for &di in &self.cols {
                let di = usize::from(di);
                let c = t.gate_cost(&dets[di], self.det_variance[di], gate);
                self.cost.push(c.unwrap_or(f64::INFINITY));
            }
        }
        let (nr, nc) = (self.rows.len(), self.cols.len());
        self.row_to_col.clear();
        self.row_to_col.resize(nr, None);
        self.assignment
            .solve(nr, nc, &self.cost, &mut self.row_to_col);

        self.track_det.clear();
        self.track_det.resize(self.tracks.len(), None);
        self.det_used.clear();
        self.det_used.resize(dets.len(), false);
        for (k, col) in self.row_to_col.iter().enumerate() {
            if let Some(c) = col {
                let di = self.cols[usize::from(*c)];
                self.track_det[usize::from(self.rows[k])] = Some(di);
                self.det_used[usize::from(di)] = true;
            }
        }
    }

    /// Starts tentative tracks from unused detections, the most credible
    /// first when there is not room for all.
    fn spawn(&mut self, dets: &[Detection]) {
        self.candidates.clear();
        self.candidates.extend(
            (0..dets.len())
                .filter(|&i| !self.det_used[i] && self.det_variance[i] > 0.0)
                .map(|i| i as u16),
        );
        let room = MAX_TRACKS - self.tracks.len();
        if self.candidates.len() > room {
            self.dropped_candidates = self
                .dropped_candidates
                .saturating_add((self.candidates.len() - room) as u64);
            let var = &self.det_variance;
            self.candidates.sort_unstable_by(|&a, &b| {
                let (da, db) = (&dets[usize::from(a)], &dets[usize::from(b)]);
                let (va, vb) = (var[usize::from(a)], var[usize::from(b)]);
                // More sensors, then a surer class, then a tighter
                // position, then the earlier detection.
                db.sources
                    .count_ones()
                    .cmp(&da.sources.count_ones())
                    .then(label_weight(db).total_cmp(&label_weight(da)))
                    .then(va.total_cmp(&vb))
                    .then(a.cmp(&b))
            });
            self.candidates.truncate(room);
            self.candidates.sort_unstable();
        }
        for &di in &self.candidates {
            let di = usize::from(di);
            let id = self.next_id;
            self.next_id += 1;
            self.tracks.push(Track::spawn(
                id,
                &dets[di],
                self.det_variance[di],
                &self.cfg,
            ));
        }
    }

    /// Writes every published track (confirmed or coasting), in ascending
    /// id order, into `objects`, overwriting existing elements in place so
    /// their inner vectors keep their capacity.
    pub fn write_objects(&self, objects: &mut Vec<TrackedObject>) {
        let n = self.published_count();
        objects.truncate(n);
        objects.resize_with(n, TrackedObject::default);
        self.write_objects_into(objects);
    }

    /// How many tracks [`Tracker::write_objects`] publishes.
    pub fn published_count(&self) -> usize {
        self.tracks.iter().filter(|t| t.is_published()).count()
    }

    /// Writes the published tracks into `objects`, which must hold exactly
    /// [`Tracker::published_count`] of them; their vectors are reused.
    pub fn write_objects_into(&self, objects: &mut [TrackedObject]) {
        let published = self.tracks.iter().filter(|t| t.is_published());
        for (obj, track) in objects.iter_mut().zip(published) {
            track.write_object(obj, self.cfg.stationary_speed);
        }
    }
}

/// Bayesian existence update on a hit or a miss.
fn existence_update(p: f64, hit: bool, cfg: &Config) -> f64 {
    let (pd, pfa) = (cfg.detection_probability, cfg.false_alarm_probability);
    let (present, absent) = if hit {
        (pd, pfa)
    } else {
        (1.0 - pd, 1.0 - pfa)
    };
    let num = p * present;
    let den = num + (1.0 - p) * absent;
    let q = if den > 0.0 { num / den } else { p };
    q.clamp(EXISTENCE_MIN, EXISTENCE_MAX)
}

/// Sort key: how sure the detection's class is (unknown counts as zero).
fn label_weight(d: &Detection) -> f64 {
    let p = f64::from(d.label_probability);
    if d.label != ObjectClassification::UNKNOWN && p.is_finite() {
        p
    } else {
        0.0
    }
}

/// The UUID of track `id`: splitmix64 of the id with two salts, with the
/// RFC 9562 version-8 and variant bits set.
pub fn uuid_of(id: u64) -> [u8; 16] {
    let hi = splitmix64(id ^ 0x6675_7369_6f6e_2d72); // "fusion-r"
    let lo = splitmix64(hi ^ id ^ 0x6566_2d74_7261_636b); // "ef-track"
    let mut uuid = [0; 16];
    uuid[..8].copy_from_slice(&hi.to_be_bytes());
    uuid[8..].copy_from_slice(&lo.to_be_bytes());
    uuid[6] = (uuid[6] & 0x0f) | 0x80;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `a` wrapped into [-pi, pi].
fn wrap_pi(a: f64) -> f64 {
    libm::remainder(a, TAU)
}

fn symmetrize(m: &mut Matrix4<f64>) {
    for i in 0..4 {
        for j in (i + 1)..4 {
            let v = (m[(i, j)] + m[(j, i)]) * 0.5;
            m[(i, j)] = v;
            m[(j, i)] = v;
        }
    }
}

fn inverse2(s: &Matrix2<f64>) -> Option<Matrix2<f64>> {
    let det = s[(0, 0)] * s[(1, 1)] - s[(0, 1)] * s[(1, 0)];
    if !(det > 0.0 && det.is_finite()) {
        return None;
    }
    Some(Matrix2::new(s[(1, 1)], -s[(0, 1)], -s[(1, 0)], s[(0, 0)]) / det)
}
