//! Multi-object tracker in the vehicle frame: a constant-velocity Kalman
//! filter per track (position, plus radar Doppler when present), gated
//! global nearest neighbour association solved optimally, and a track
//! lifecycle driven by hits, misses and an existence probability.
//!
//! Velocities are relative to the vehicle frame: the tracker is given no
//! ego motion.

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

/// Where a track is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackStatus {
    /// Seen fewer than `confirm_hits` times; not published; deleted at its
    /// first miss.
    Tentative,
    /// Confirmed and seen in the last frame.
    Confirmed,
    /// Confirmed but missed in the last frame(s); published, predicted.
    Coasting,
}

impl TrackStatus {
    fn to_u8(self) -> u8 {
        match self {
            TrackStatus::Tentative => 0,
            TrackStatus::Confirmed => 1,
            TrackStatus::Coasting => 2,
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(TrackStatus::Tentative),
            1 => Some(TrackStatus::Confirmed),
            2 => Some(TrackStatus::Coasting),
            _ => None,
        }
    }
}

/// A scalar estimate with its variance (random walk, 1-D Kalman filter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothed {
    /// The estimate.
    pub value: f64,
    /// Its variance.
    pub variance: f64,
}

impl Smoothed {
    /// `measured` if it is finite and at least `min`, else an uninformed
    /// zero that the first good measurement replaces.
    fn init(measured: f64, min: f64, variance: f64) -> Self {
        if measured.is_finite() && measured >= min {
            Smoothed {
                value: measured,
                variance,
            }
        } else {
            Smoothed {
                value: 0.0,
                variance: UNMODELLED_VARIANCE,
            }
        }
    }

    fn predict(&mut self, q: f64, dt: f64) {
        self.variance = (self.variance + q * dt).min(UNMODELLED_VARIANCE);
    }

    /// Measurements that are not finite or below `min` are ignored.
    fn update(&mut self, measured: f64, min: f64, r: f64) {
        if !(measured.is_finite() && measured >= min) {
            return;
        }
        let k = self.variance / (self.variance + r);
        self.value += k * (measured - self.value);
        self.variance *= 1.0 - k;
    }
}

/// One tracked object.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Counter value, unique for the tracker's life, ascending by birth.
    pub id: u64,
    /// RFC 9562 version-8 UUID derived from `id`.
    pub uuid: [u8; 16],
    /// Lifecycle stage.
    pub status: TrackStatus,
    /// Kalman state [x, y, vx, vy] (m, m/s) in the vehicle frame.
    pub state: Vector4<f64>,
    /// Kalman covariance of `state`.
    pub covariance: Matrix4<f64>,
    /// Box centre height.
    pub z: Smoothed,
    /// Box extent along `yaw`.
    pub length: Smoothed,
    /// Box extent across `yaw`.
    pub width: Smoothed,
    /// Box vertical extent.
    pub height: Smoothed,
    /// Heading of the box's length axis, in [-pi, pi].
    pub yaw: f64,
    /// Variance of `yaw` (rad^2).
    pub yaw_variance: f64,
    /// True once `yaw` points to the front, not just along the axis.
    pub yaw_sign_known: bool,
    /// Probability that the object exists.
    pub existence: f64,
    /// Decayed evidence per class label.
    pub class_scores: [f64; NUM_LABELS],
    /// Detections associated over the track's life, including its first.
    pub hits: u32,
    /// Consecutive frames without a detection.
    pub misses: u32,
    /// Frames since birth.
    pub age: u32,
}

impl Track {
    /// Position x (m).
    pub fn x(&self) -> f64 {
        self.state[0]
    }

    /// Position y (m).
    pub fn y(&self) -> f64 {
        self.state[1]
    }

    /// Velocity x (m/s).
    pub fn vx(&self) -> f64 {
        self.state[2]
    }

    /// Velocity y (m/s).
    pub fn vy(&self) -> f64 {
        self.state[3]
    }

    /// Speed (m/s).
    pub fn speed(&self) -> f64 {
        libm::sqrt(self.vx() * self.vx() + self.vy() * self.vy())
    }

    /// True for the tracks [`Tracker::write_objects`] publishes.
    pub fn is_published(&self) -> bool {
        self.status != TrackStatus::Tentative
    }

    /// The most likely class label and its probability among the known
    /// classes; UNKNOWN with probability 1 when no known class was seen.
    pub fn label(&self) -> (u8, f32) {
        let mut best = 0;
        let mut best_score = 0.0;
        let mut total = 0.0;
        for (label, &score) in self.class_scores.iter().enumerate().skip(1) {
            total += score;
            // Strictly greater: the lowest label wins ties.
            if score > best_score {
                best = label;
                best_score = score;
            }
        }
        if best == 0 {
            (ObjectClassification::UNKNOWN, 1.0)
        } else {
            (best as u8, (best_score / total) as f32)
        }
    }

    fn spawn(id: u64, d: &Detection, variance: f64, cfg: &Config) -> Track {
        let mut track = Track {
            id,
            uuid: uuid_of(id),
            status: TrackStatus::Tentative,
            state: Vector4::new(d.x, d.y, 0.0, 0.0),
            covariance: Matrix4::from_diagonal(&Vector4::new(
                variance,
                variance,
                INITIAL_VELOCITY_VARIANCE,
                INITIAL_VELOCITY_VARIANCE,
            )),
            z: Smoothed::init(d.z, f64::NEG_INFINITY, Z_MEASUREMENT_VARIANCE),
            length: Smoothed::init(d.length, 0.0, SIZE_MEASUREMENT_VARIANCE),
            width: Smoothed::init(d.width, 0.0, SIZE_MEASUREMENT_VARIANCE),
            height: Smoothed::init(d.height, 0.0, SIZE_MEASUREMENT_VARIANCE),
            yaw: 0.0,
            yaw_variance: UNMODELLED_VARIANCE,
            yaw_sign_known: false,
            existence: existence_update(0.5, true, cfg),
            class_scores: [0.0; NUM_LABELS],
            hits: 1,
            misses: 0,
            age: 0,
        };
        if d.yaw.is_finite() {
            track.yaw = wrap_pi(d.yaw);
            track.yaw_variance = YAW_MEASUREMENT_VARIANCE;
            track.yaw_sign_known = d.yaw_sign_known;
        }
        if let Some(radial) = &d.radial {
            // From zero velocity with a wide prior this sets the velocity
            // along the line of sight and leaves the rest uncertain.
            track.update_radial(radial, false);
        }
        track.classify(d.label, d.label_probability);
        track.sign_from_velocity();
        if track.hits >= cfg.confirm_hits {
            track.status = TrackStatus::Confirmed;
        }
        track
    }

    fn predict(&mut self, dt: f64, q: f64) {
        let f = Matrix4::new(
            1.0, 0.0, dt, 0.0, //
            0.0, 1.0, 0.0, dt, //
            0.0, 0.0, 1.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        );
        // White-noise acceleration with spectral density q.
        let dt2 = dt * dt * 0.5 * q;
        let dt3 = dt * dt * dt / 3.0 * q;
        let dt1 = dt * q;
        let noise = Matrix4::new(
            dt3, 0.0, dt2, 0.0, //
            0.0, dt3, 0.0, dt2, //
            dt2, 0.0, dt1, 0.0, //
            0.0, dt2, 0.0, dt1,
        );
        self.state = f * self.state;
        self.covariance = f * self.covariance * f.transpose() + noise;
        symmetrize(&mut self.covariance);
        self.z.predict(Z_PROCESS, dt);
        self.length.predict(SIZE_PROCESS, dt);
        self.width.predict(SIZE_PROCESS, dt);
        self.height.predict(SIZE_PROCESS, dt);
        self.yaw_variance = (self.yaw_variance + YAW_PROCESS * dt).min(UNMODELLED_VARIANCE);
    }

    /// Association cost of `d` (Mahalanobis d^2 + ln det S), or `None`
    /// outside the gate.
    fn gate_cost(&self, d: &Detection, variance: f64, gate: f64) -> Option<f64> {
        let p = &self.covariance;
        let a = p[(0, 0)] + variance;
        let b = p[(0, 1)];
        let c = p[(1, 1)] + variance;
        let det = a * c - b * b;
        if !(det > 0.0 && det.is_finite()) {
            return None;
        }
        let dx = d.x - self.x();
        let dy = d.y - self.y();
        let d2 = (dx * dx * c - 2.0 * dx * dy * b + dy * dy * a) / det;
        if d2.is_nan() || d2 > gate {
            return None;
        }
        Some(d2 + libm::log(det))
    }

    fn update_position(&mut self, x: f64, y: f64, variance: f64) {
        let h = Matrix2x4::new(
            1.0, 0.0, 0.0, 0.0, //
            0.0, 1.0, 0.0, 0.0,
        );
        let r = Matrix2::from_diagonal_element(variance);
        let s = h * self.covariance * h.transpose() + r;
        let Some(s_inv) = inverse2(&s) else { return };
        let k = self.covariance * h.transpose() * s_inv;
        let innovation = Vector2::new(x - self.x(), y - self.y());
        self.state += k * innovation;
        // Joseph form: stays symmetric positive semi-definite.
        let ikh = Matrix4::identity() - k * h;
        self.covariance = ikh * self.covariance * ikh.transpose() + k * r * k.transpose();
        symmetrize(&mut self.covariance);
    }

    /// Scalar Doppler update, h(x) = vx * los_x + vy * los_y.
    fn update_radial(&mut self, radial: &Radial, gated: bool) {
        let Radial {
            speed,
            los_x,
            los_y,
            variance,
        } = *radial;
        if !(speed.is_finite() && los_x.is_finite() && los_y.is_finite() && variance.is_finite()) {
            return;
        }
        let norm = libm::sqrt(los_x * los_x + los_y * los_y);
        if norm.is_nan() || norm <= 1.0e-6 {
            return;
        }
        let h = RowVector4::new(0.0, 0.0, los_x / norm, los_y / norm);
        let r = variance.max(MIN_VARIANCE);
        let s = (h * self.covariance * h.transpose())[0] + r;
        if !(s > 0.0 && s.is_finite()) {
            return;
        }
        let innovation = speed - (h * self.state)[0];
        let chi2 = innovation * innovation / s;
        if gated && (chi2.is_nan() || chi2 > DOPPLER_GATE_CHI2) {
            return;
        }
        let k = self.covariance * h.transpose() / s;
        self.state += k * innovation;
        let ikh = Matrix4::identity() - k * h;
        self.covariance = ikh * self.covariance * ikh.transpose() + k * (r * k.transpose());
        symmetrize(&mut self.covariance);
    }

    fn update_yaw(&mut self, d: &Detection) {
        if !d.yaw.is_finite() {
            return;
        }
        if d.yaw_sign_known && !self.yaw_sign_known {
            // Adopt the detection's front.
            if libm::fabs(wrap_pi(d.yaw - self.yaw)) > FRAC_PI_2 {
                self.yaw = wrap_pi(self.yaw + PI);
            }
            self.yaw_sign_known = true;
        }
        // The measurement is an axis: take whichever end is nearer.
        let innovation = libm::remainder(d.yaw - self.yaw, PI);
        let k = self.yaw_variance / (self.yaw_variance + YAW_MEASUREMENT_VARIANCE);
        self.yaw = wrap_pi(self.yaw + k * innovation);
        self.yaw_variance *= 1.0 - k;
    }

    /// Once the track moves clearly, its velocity tells the front.
    fn sign_from_velocity(&mut self) {
        let (vx, vy) = (self.vx(), self.vy());
        let speed2 = vx * vx + vy * vy;
        if speed2.is_nan() || speed2 <= YAW_SIGN_SPEED * YAW_SIGN_SPEED {
            return;
        }
        let p = &self.covariance;
        let along =
            (vx * vx * p[(2, 2)] + 2.0 * vx * vy * p[(2, 3)] + vy * vy * p[(3, 3)]) / speed2;
        // Two sigma: a barely known velocity must not pick the front.
        if along.is_nan() || speed2 <= 4.0 * along {
            return;
        }
        let heading = libm::atan2(vy, vx);
        if libm::fabs(wrap_pi(self.yaw - heading)) > FRAC_PI_2 {
            self.yaw = wrap_pi(self.yaw + PI);
        }
        self.yaw_sign_known = true;
    }

    fn classify(&mut self, label: u8, probability: f32) {
        let p = f64::from(probability);
        let p = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let label = usize::from(label);
        if (1..NUM_LABELS).contains(&label) {
            self.class_scores.iter_mut().for_each(|s| *s *= CLASS_DECAY);
            self.class_scores[label] += p;
        } else {
            // UNKNOWN (or out of range) only feeds its own bin, so it never
            // outvotes a known class.
            self.class_scores[0] = self.class_scores[0] * CLASS_DECAY + p;
        }
    }

    fn hit(&mut self, d: &Detection, variance: f64, cfg: &Config) {
        self.update_position(d.x, d.y, variance);
        if let Some(radial) = &d.radial {
            self.update_radial(radial, true);
        }
        self.z
            .update(d.z, f64::NEG_INFINITY, Z_MEASUREMENT_VARIANCE);
        self.length.update(d.length, 0.0, SIZE_MEASUREMENT_VARIANCE);
        self.width.update(d.width, 0.0, SIZE_MEASUREMENT_VARIANCE);
        self.height.update(d.height, 0.0, SIZE_MEASUREMENT_VARIANCE);
        self.update_yaw(d);
        self.sign_from_velocity();
        self.classify(d.label, d.label_probability);
        self.hits = self.hits.saturating_add(1);
        self.misses = 0;
        self.existence = existence_update(self.existence, true, cfg);
        self.status = match self.status {
            TrackStatus::Tentative if self.hits < cfg.confirm_hits => TrackStatus::Tentative,
            _ => TrackStatus::Confirmed,
        };
    }

    /// Returns false when the track is to be deleted.
    fn miss(&mut self, cfg: &Config) -> bool {
        self.misses = self.misses.saturating_add(1);
        self.existence = existence_update(self.existence, false, cfg);
        match self.status {
            TrackStatus::Tentative => false,
            TrackStatus::Confirmed | TrackStatus::Coasting => {
                self.status = TrackStatus::Coasting;
                self.misses <= cfg.max_coast_frames
            }
        }
    }

    fn is_sound(&self) -> bool {
        self.state.iter().all(|v| v.is_finite())
            && self.covariance.iter().all(|v| v.is_finite())
            && [self.z, self.length, self.width, self.height]
                .iter()
                .all(|s| s.value.is_finite() && s.variance.is_finite())
            && self.yaw.is_finite()
            && self.yaw_variance.is_finite()
    }

    fn write_object(&self, obj: &mut TrackedObject, stationary_speed: f64) {
        obj.object_id.uuid = self.uuid;
        obj.existence_probability = self.existence as f32;
        let (label, probability) = self.label();
        obj.classification.clear();
        obj.classification
            .push(ObjectClassification { label, probability });

        let p = &self.covariance;
        let k = &mut obj.kinematics;
        let pose = &mut k.pose_with_covariance;
        pose.pose.position.x = self.x();
        pose.pose.position.y = self.y();
        pose.pose.position.z = self.z.value;
        let o = &mut pose.pose.orientation;
        o.x = 0.0;
        o.y = 0.0;
        o.z = libm::sin(self.yaw * 0.5);
        o.w = libm::cos(self.yaw * 0.5);
        let c = &mut pose.covariance;
        c.fill(0.0);
        c[0] = p[(0, 0)];
        c[1] = p[(0, 1)];
        c[6] = p[(1, 0)];
        c[7] = p[(1, 1)];
        c[14] = self.z.variance;
        c[21] = UNMODELLED_VARIANCE;
        c[28] = UNMODELLED_VARIANCE;
        c[35] = self.yaw_variance;

        // Autoware: twist in the object frame (x along the heading).
        let (sin, cos) = (libm::sin(self.yaw), libm::cos(self.yaw));
        let (vx, vy) = (self.vx(), self.vy());
        let (pxx, pxy, pyy) = (p[(2, 2)], p[(2, 3)], p[(3, 3)]);
        let twist = &mut k.twist_with_covariance;
        twist.twist.linear.x = cos * vx + sin * vy;
        twist.twist.linear.y = -sin * vx + cos * vy;
        twist.twist.linear.z = 0.0;
        twist.twist.angular.x = 0.0;
        twist.twist.angular.y = 0.0;
        twist.twist.angular.z = 0.0;
        let c = &mut twist.covariance;
        c.fill(0.0);
        c[0] = cos * cos * pxx + 2.0 * cos * sin * pxy + sin * sin * pyy;
        c[1] = -cos * sin * pxx + (cos * cos - sin * sin) * pxy + sin * cos * pyy;
        c[6] = c[1];
        c[7] = sin * sin * pxx - 2.0 * sin * cos * pxy + cos * cos * pyy;
        for i in 2..6 {
            c[i * 7] = UNMODELLED_VARIANCE;
        }

        let accel = &mut k.acceleration_with_covariance;
        accel.accel.linear.x = 0.0;
        accel.accel.linear.y = 0.0;
        accel.accel.linear.z = 0.0;
        accel.accel.angular.x = 0.0;
        accel.accel.angular.y = 0.0;
        accel.accel.angular.z = 0.0;
        accel.covariance.fill(0.0);
        for i in 0..6 {
            accel.covariance[i * 7] = UNMODELLED_VARIANCE;
        }

        k.orientation_availability = if self.yaw_sign_known {
            TrackedObjectKinematics::AVAILABLE
        } else {
            TrackedObjectKinematics::SIGN_UNKNOWN
        };
        k.is_stationary = self.speed() < stationary_speed;

        let shape = &mut obj.shape;
        shape.r#type = Shape::BOUNDING_BOX;
        let (l, w, h) = (self.length.value, self.width.value, self.height.value);
        shape.dimensions.x = l;
        shape.dimensions.y = w;
        shape.dimensions.z = h;
        // Bottom corners in the object frame, counter-clockwise from
        // front left.
        let (hl, hw, hz) = ((l * 0.5) as f32, (w * 0.5) as f32, (-h * 0.5) as f32);
        let points = &mut shape.footprint.points;
        points.clear();
        for (x, y) in [(hl, hw), (-hl, hw), (-hl, -hw), (hl, -hw)] {
            points.push(Point32 { x, y, z: hz });
        }
    }
}

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
                d.position_variance.max(MIN_VARIANCE)
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
        for (ti, t) in self.tracks.iter().enumerate() {
            for (di, d) in dets.iter().enumerate() {
                let r = self.det_variance[di];
                if r > 0.0 && t.gate_cost(d, r, gate).is_some() {
                    self.row_gated[ti] = true;
                    self.col_gated[di] = true;
                }
            }
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
        let published = || self.tracks.iter().filter(|t| t.is_published());
        let n = published().count();
        objects.truncate(n);
        objects.resize_with(n, TrackedObject::default);
        for (obj, track) in objects.iter_mut().zip(published()) {
            track.write_object(obj, self.cfg.stationary_speed);
        }
    }

    /// Serialises all track state (little-endian, layout
    /// [`STATE_SCHEMA`]) into `out`, replacing its contents.
    pub fn snapshot(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(HEADER_LEN + self.tracks.len() * TRACK_LEN);
        out.extend_from_slice(&STATE_SCHEMA.to_le_bytes());
        out.push(u8::from(self.last_stamp.is_some()));
        out.extend_from_slice(&self.last_stamp.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.next_id.to_le_bytes());
        out.extend_from_slice(&(self.tracks.len() as u32).to_le_bytes());
        for t in &self.tracks {
            out.extend_from_slice(&t.id.to_le_bytes());
            out.push(t.status.to_u8());
            out.push(u8::from(t.yaw_sign_known));
            out.extend_from_slice(&t.hits.to_le_bytes());
            out.extend_from_slice(&t.misses.to_le_bytes());
            out.extend_from_slice(&t.age.to_le_bytes());
            for v in t.state.iter().chain(t.covariance.transpose().iter()) {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for s in [t.z, t.length, t.width, t.height] {
                out.extend_from_slice(&s.value.to_le_bytes());
                out.extend_from_slice(&s.variance.to_le_bytes());
            }
            for v in [t.yaw, t.yaw_variance, t.existence]
                .iter()
                .chain(&t.class_scores)
            {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    /// Replaces all track state with a [`Tracker::snapshot`]. Everything
    /// is validated before anything changes; on error the tracker is as
    /// it was.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), &'static str> {
        let mut r = Reader { bytes, pos: 0 };
        if r.u64()? != STATE_SCHEMA {
            return Err("tracker state: unknown schema");
        }
        let has_stamp = r.bool()?;
        let stamp = r.i64()?;
        let next_id = r.u64()?;
        let count = r.u32()? as usize;
        if count > MAX_TRACKS {
            return Err("tracker state: more tracks than MAX_TRACKS");
        }
        if bytes.len() != HEADER_LEN + count * TRACK_LEN {
            return Err("tracker state: wrong length for its track count");
        }
        // Ids must stay far from overflow so new ones stay unique.
        if next_id == 0 || next_id > 1 << 62 {
            return Err("tracker state: next id out of range");
        }
        // First pass validates, second loads: a bad track leaves no trace.
        let body = r.clone();
        let mut prev_id = 0;
        for _ in 0..count {
            let t = read_track(&mut r)?;
            if t.id <= prev_id || t.id >= next_id {
                return Err("tracker state: track ids not ascending below next id");
            }
            prev_id = t.id;
        }
        let mut r = body;
        self.tracks.clear();
        for _ in 0..count {
            let t = read_track(&mut r)?;
            self.tracks.push(t);
        }
        self.next_id = next_id;
        self.last_stamp = has_stamp.then_some(stamp);
        Ok(())
    }
}

/// Bytes of the snapshot header: schema, stamp flag, stamp, next id, count.
const HEADER_LEN: usize = 8 + 1 + 8 + 8 + 4;
/// Bytes per track: id, status, sign flag, hits, misses, age, then 43 f64.
const TRACK_LEN: usize = 8 + 1 + 1 + 4 + 4 + 4 + 8 * (4 + 16 + 8 + 3 + NUM_LABELS);

#[derive(Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let end = self.pos.checked_add(N).ok_or("tracker state: truncated")?;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or("tracker state: truncated")?;
        self.pos = end;
        let mut out = [0; N];
        out.copy_from_slice(chunk);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take::<1>()?[0])
    }

    fn bool(&mut self) -> Result<bool, &'static str> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("tracker state: bad flag"),
        }
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    fn i64(&mut self) -> Result<i64, &'static str> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    fn f64(&mut self) -> Result<f64, &'static str> {
        let v = f64::from_le_bytes(self.take()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err("tracker state: number not finite")
        }
    }

    fn variance(&mut self) -> Result<f64, &'static str> {
        let v = self.f64()?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err("tracker state: negative variance")
        }
    }

    fn smoothed(&mut self) -> Result<Smoothed, &'static str> {
        Ok(Smoothed {
            value: self.f64()?,
            variance: self.variance()?,
        })
    }
}

fn read_track(r: &mut Reader<'_>) -> Result<Track, &'static str> {
    let id = r.u64()?;
    let status = TrackStatus::from_u8(r.u8()?).ok_or("tracker state: bad track status")?;
    let yaw_sign_known = r.bool()?;
    let hits = r.u32()?;
    let misses = r.u32()?;
    let age = r.u32()?;
    let mut state = Vector4::zeros();
    for v in state.iter_mut() {
        *v = r.f64()?;
    }
    let mut covariance = Matrix4::zeros();
    for i in 0..4 {
        for j in 0..4 {
            covariance[(i, j)] = r.f64()?;
        }
    }
    if covariance != covariance.transpose() || (0..4).any(|i| covariance[(i, i)] < 0.0) {
        return Err("tracker state: covariance not symmetric with a non-negative diagonal");
    }
    let z = r.smoothed()?;
    let length = r.smoothed()?;
    let width = r.smoothed()?;
    let height = r.smoothed()?;
    if length.value < 0.0 || width.value < 0.0 || height.value < 0.0 {
        return Err("tracker state: negative box size");
    }
    let yaw = r.f64()?;
    if !(-PI..=PI).contains(&yaw) {
        return Err("tracker state: yaw out of range");
    }
    let yaw_variance = r.variance()?;
    let existence = r.f64()?;
    if !(0.0..=1.0).contains(&existence) {
        return Err("tracker state: existence out of range");
    }
    let mut class_scores = [0.0; NUM_LABELS];
    for s in class_scores.iter_mut() {
        *s = r.variance()?;
    }
    Ok(Track {
        id,
        uuid: uuid_of(id),
        status,
        state,
        covariance,
        z,
        length,
        width,
        height,
        yaw,
        yaw_variance,
        yaw_sign_known,
        existence,
        class_scores,
        hits,
        misses,
        age,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::source;

    const STEP: i64 = 100_000_000;

    /// Tiny deterministic generator (64-bit LCG, high bits out).
    struct Lcg(u64);

    impl Lcg {
        fn next_u32(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
        fn unit(&mut self) -> f64 {
            (f64::from(self.next_u32()) + 0.5) / (1u64 << 31) as f64
        }
        /// Standard normal (Box-Muller).
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.unit(), self.unit());
            libm::sqrt(-2.0 * libm::log(u)) * libm::cos(TAU * v)
        }
    }

    fn det(x: f64, y: f64) -> Detection {
        Detection {
            x,
            y,
            z: 0.8,
            length: 4.5,
            width: 1.9,
            height: 1.6,
            yaw: 0.0,
            yaw_sign_known: false,
            position_variance: 0.04,
            label: ObjectClassification::CAR,
            label_probability: 0.9,
            radial: None,
            sources: source::LIDAR,
        }
    }

    fn published(tr: &Tracker) -> Vec<&Track> {
        tr.tracks().filter(|t| t.is_published()).collect()
    }

    fn nearest(tr: &Tracker, x: f64, y: f64) -> u64 {
        published(tr)
            .into_iter()
            .min_by(|a, b| {
                let da = (a.x() - x).powi(2) + (a.y() - y).powi(2);
                let db = (b.x() - x).powi(2) + (b.y() - y).powi(2);
                da.total_cmp(&db)
            })
            .expect("a published track")
            .id
    }

    /// Runs a target at (20, 5) + t (5, -1) for 20 frames at 10 Hz with
    /// position noise `sigma`; returns the track.
    fn constant_velocity(params: &Params, sigma: f64, seed: u64) -> Track {
        let mut tr = Tracker::new(params);
        let mut rng = Lcg(seed);
        for k in 0..20 {
            let t = k as f64 * 0.1;
            let mut d = det(
                20.0 + 5.0 * t + sigma * rng.normal(),
                5.0 - t + sigma * rng.normal(),
            );
            d.position_variance = sigma * sigma;
            tr.update(k * STEP, &[d]);
        }
        let tracks: Vec<_> = tr.tracks().cloned().collect();
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].status, TrackStatus::Confirmed);
        tracks[0].clone()
    }

    #[test]
    fn constant_velocity_converges() {
        // A constant-velocity target deserves a small process noise: with
        // it the velocity error after 2 s has a standard deviation of about
        // 0.11 m/s, so 0.3 m/s holds for every seed. (With the default
        // process_accel of 2 it is about 0.35 m/s; see the next test.)
        let params = Params {
            process_accel: 0.1,
            ..Params::default()
        };
        for seed in 1..=10 {
            let t = constant_velocity(&params, 0.1, seed);
            assert!((t.vx() - 5.0).abs() < 0.3, "seed {seed}: vx {}", t.vx());
            assert!((t.vy() + 1.0).abs() < 0.3, "seed {seed}: vy {}", t.vy());
            assert_eq!(t.label().0, ObjectClassification::CAR);
            assert!((t.length.value - 4.5).abs() < 1e-9);
        }
    }

    #[test]
    fn velocity_error_agrees_with_its_covariance() {
        // Default tuning, LiDAR-like noise: the error stays within what the
        // filter reports (NEES, 2 dof, averaged over seeds).
        let params = Params::default();
        let mut nees = 0.0;
        let seeds = 30;
        for seed in 1..=seeds {
            let t = constant_velocity(&params, 0.3, seed);
            let e = Vector2::new(t.vx() - 5.0, t.vy() + 1.0);
            let p = t.covariance.fixed_view::<2, 2>(2, 2).into_owned();
            let nis = (e.transpose() * inverse2(&p).unwrap() * e)[0];
            assert!(
                nis < 13.8,
                "seed {seed}: error {e:?} far outside covariance"
            );
            nees += nis;
        }
        let mean = nees / f64::from(seeds as u32);
        assert!(mean < 2.0, "mean NEES {mean}: the filter is overconfident");
    }

    #[test]
    fn crossing_targets_keep_their_ids() {
        let mut tr = Tracker::new(&Params::default());
        let mut rng = Lcg(2);
        let a = |t: f64| (8.0 * t, -6.0 + 3.0 * t);
        let b = |t: f64| (8.0 * t, 6.0 - 3.0 * t);
        let mut ids = None;
        for k in 0..45 {
            let t = k as f64 * 0.1;
            let (ax, ay) = a(t);
            let (bx, by) = b(t);
            let dets = [
                det(ax + 0.1 * rng.normal(), ay + 0.1 * rng.normal()),
                det(bx + 0.1 * rng.normal(), by + 0.1 * rng.normal()),
            ];
            tr.update(k * STEP, &dets);
            if k == 5 {
                ids = Some((nearest(&tr, ax, ay), nearest(&tr, bx, by)));
            }
            if k > 5 {
                let (ida, idb) = ids.unwrap();
                assert_ne!(ida, idb);
                assert_eq!(published(&tr).len(), 2, "frame {k}");
                if k != 20 {
                    // At the crossing itself both are at one spot.
                    assert_eq!(nearest(&tr, ax, ay), ida, "frame {k}");
                    assert_eq!(nearest(&tr, bx, by), idb, "frame {k}");
                }
            }
        }
        let (ida, _) = ids.unwrap();
        let ta = tr.tracks().find(|t| t.id == ida).unwrap();
        assert!((ta.vy() - 3.0).abs() < 0.5, "vy {}", ta.vy());
    }

    #[test]
    fn lost_target_coasts_then_is_deleted() {
        let params = Params::default();
        let mut tr = Tracker::new(&params);
        for k in 0..10 {
            tr.update(k * STEP, &[det(10.0 + k as f64 * 0.5, 0.0)]);
        }
        let mut objects = Vec::new();
        let mut coasted = 0;
        let mut k = 10;
        while tr.tracks().next().is_some() {
            tr.update(k * STEP, &[]);
            k += 1;
            if let Some(t) = tr.tracks().next() {
                assert_eq!(t.status, TrackStatus::Coasting);
                tr.write_objects(&mut objects);
                assert_eq!(objects.len(), 1);
                coasted += 1;
            }
            assert!(k < 10 + params.max_coast_frames as i64 + 2, "never deleted");
        }
        assert!(coasted >= 1);
    }

    #[test]
    fn coasting_is_bounded_by_max_coast_frames() {
        // Without false alarms a miss barely dents existence, so only the
        // frame count deletes the track.
        let params = Params {
            max_coast_frames: 3.0,
            false_alarm_probability: 0.0,
            detection_probability: 0.5,
            ..Params::default()
        };
        let mut tr = Tracker::new(&params);
        for k in 0..10 {
            tr.update(k * STEP, &[det(10.0, 0.0)]);
        }
        for k in 10..13 {
            tr.update(k * STEP, &[]);
            assert_eq!(tr.tracks().count(), 1, "frame {k}");
        }
        tr.update(13 * STEP, &[]);
        assert_eq!(tr.tracks().count(), 0);
    }

    #[test]
    fn confirmed_only_after_confirm_hits() {
        for hits in [1u32, 3, 5] {
            let params = Params {
                confirm_hits: f64::from(hits),
                ..Params::default()
            };
            let mut tr = Tracker::new(&params);
            let mut objects = Vec::new();
            for k in 0..hits + 1 {
                tr.update(i64::from(k) * STEP, &[det(10.0, 0.0)]);
                tr.write_objects(&mut objects);
                let t = tr.tracks().next().unwrap();
                assert_eq!(t.hits, k + 1);
                if k + 1 < hits {
                    assert_eq!(t.status, TrackStatus::Tentative);
                    assert!(objects.is_empty());
                } else {
                    assert_eq!(t.status, TrackStatus::Confirmed);
                    assert_eq!(objects.len(), 1);
                }
            }
        }
        // A tentative track that misses is gone at once.
        let mut tr = Tracker::new(&Params::default());
        tr.update(0, &[det(10.0, 0.0)]);
        tr.update(STEP, &[det(10.0, 0.0)]);
        tr.update(2 * STEP, &[]);
        assert_eq!(tr.tracks().count(), 0);
    }

    #[test]
    fn time_going_backwards_or_jumping_resets() {
        let mut tr = Tracker::new(&Params::default());
        for k in 0..5 {
            tr.update(1_000 * STEP + k * STEP, &[det(10.0, 0.0)]);
        }
        let first = tr.tracks().next().unwrap().id;
        assert_eq!(tr.tracks().next().unwrap().status, TrackStatus::Confirmed);

        // Same stamp: no prediction, one more hit.
        let before = tr.tracks().next().unwrap().covariance;
        tr.update(1_004 * STEP, &[]);
        let t = tr.tracks().next().unwrap();
        assert_eq!(t.covariance, before);
        assert_eq!(t.status, TrackStatus::Coasting);

        tr.update(0, &[det(10.0, 0.0)]);
        let tracks: Vec<_> = tr.tracks().collect();
        assert_eq!(tracks.len(), 1);
        assert!(tracks[0].id > first);
        assert_eq!(tracks[0].status, TrackStatus::Tentative);

        for k in 1..4 {
            tr.update(k * STEP, &[det(10.0, 0.0)]);
        }
        let confirmed = tr.tracks().next().unwrap().id;
        tr.update(3 * STEP + 5_000_000_001, &[det(10.0, 0.0)]);
        let t = tr.tracks().next().unwrap();
        assert!(t.id > confirmed);
        assert_eq!(t.status, TrackStatus::Tentative);

        // Extreme stamps must not overflow.
        tr.update(i64::MIN, &[]);
        tr.update(i64::MAX, &[det(1.0, 1.0)]);
        assert_eq!(tr.tracks().count(), 1);
    }

    /// A scene with several classes, radar and yaw, for state tests.
    fn scene(k: i64, rng: &mut Lcg) -> Vec<Detection> {
        let t = k as f64 * 0.1;
        let mut out = Vec::new();
        let mut a = det(10.0 + 6.0 * t, 3.0);
        a.radial = Some(Radial {
            speed: 6.0,
            los_x: 1.0,
            los_y: 0.0,
            variance: 0.09,
        });
        a.sources |= source::RADAR;
        out.push(a);
        let mut b = det(-5.0, -4.0 + 1.2 * t);
        b.label = ObjectClassification::PEDESTRIAN;
        b.yaw = 1.5;
        b.length = 0.6;
        b.width = 0.6;
        out.push(b);
        let mut c = det(30.0 + 0.1 * rng.normal(), -8.0);
        c.label = ObjectClassification::UNKNOWN;
        c.label_probability = 0.3;
        c.yaw = -2.0;
        c.yaw_sign_known = true;
        if k % 4 != 3 {
            out.push(c);
        }
        out
    }

    #[test]
    fn snapshot_restore_is_exact() {
        let params = Params::default();
        let mut tr = Tracker::new(&params);
        let mut rng = Lcg(3);
        for k in 0..15 {
            tr.update(k * STEP, &scene(k, &mut rng));
        }
        let mut bytes = Vec::new();
        tr.snapshot(&mut bytes);
        assert_eq!(bytes.len(), HEADER_LEN + tr.tracks().count() * TRACK_LEN);
        let mut restored = Tracker::new(&params);
        restored.restore(&bytes).unwrap();

        let (mut a, mut b) = (Vec::new(), Vec::new());
        tr.write_objects(&mut a);
        restored.write_objects(&mut b);
        assert_eq!(a.len(), 3);
        assert_eq!(a, b);
        let mut again = Vec::new();
        restored.snapshot(&mut again);
        assert_eq!(bytes, again);

        // The restored tracker carries on exactly as the original.
        let mut rng2 = Lcg(rng.0);
        for k in 15..30 {
            tr.update(k * STEP, &scene(k, &mut rng));
            restored.update(k * STEP, &scene(k, &mut rng2));
            tr.write_objects(&mut a);
            restored.write_objects(&mut b);
            assert_eq!(a, b);
        }
        let new_tracks = |t: &Tracker| t.tracks().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(new_tracks(&tr), new_tracks(&restored));
    }

    #[test]
    fn restore_rejects_hostile_bytes_without_panicking() {
        let params = Params::default();
        let mut tr = Tracker::new(&params);
        let mut rng = Lcg(4);
        for k in 0..10 {
            tr.update(k * STEP, &scene(k, &mut rng));
        }
        let mut good = Vec::new();
        tr.snapshot(&mut good);
        let mut target = Tracker::new(&params);
        target.update(0, &[det(1.0, 2.0)]);
        let mut untouched = Vec::new();
        target.snapshot(&mut untouched);

        for len in 0..good.len() {
            assert!(target.restore(&good[..len]).is_err(), "truncated at {len}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(target.restore(&longer).is_err());
        for len in [0, 1, 7, 8, 29, 100, 366, 395, 5000] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            assert!(target.restore(&bytes).is_err());
            // A valid header in front of garbage.
            let mut bytes = bytes;
            bytes.splice(0..bytes.len().min(8), STATE_SCHEMA.to_le_bytes());
            assert!(target.restore(&bytes).is_err());
        }
        let mut now = Vec::new();
        target.snapshot(&mut now);
        assert_eq!(now, untouched, "a failed restore changed the tracker");

        // Corrupt fields one at a time: every result is an error or a
        // tracker that keeps working.
        let huge_count = {
            let mut b = good.clone();
            b[25..29].copy_from_slice(&u32::MAX.to_le_bytes());
            b
        };
        assert!(target.restore(&huge_count).is_err());
        for i in 0..good.len() {
            for v in [0x00, 0xff, 0x7f, good[i] ^ 0x80] {
                let mut bytes = good.clone();
                bytes[i] = v;
                let mut t = Tracker::new(&params);
                if t.restore(&bytes).is_ok() {
                    t.update(10 * STEP, &scene(10, &mut rng));
                    let mut objects = Vec::new();
                    t.write_objects(&mut objects);
                }
            }
        }
        // A NaN in the first covariance element, or an asymmetric
        // covariance, is rejected.
        let at = HEADER_LEN + 22 + 8 * 4;
        let mut bytes = good.clone();
        bytes[at..at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(
            target.restore(&bytes),
            Err("tracker state: number not finite")
        );
        let mut bytes = good.clone();
        bytes[at + 8..at + 16].copy_from_slice(&1.0e-3_f64.to_le_bytes());
        assert!(target.restore(&bytes).is_err());
    }

    #[test]
    fn write_objects_reuses_capacity() {
        let mut tr = Tracker::new(&Params::default());
        let mut rng = Lcg(5);
        for k in 0..10 {
            tr.update(k * STEP, &scene(k, &mut rng));
        }
        let mut objects = Vec::new();
        tr.write_objects(&mut objects);
        let ptrs = |o: &Vec<TrackedObject>| {
            let inner: Vec<_> = o
                .iter()
                .map(|o| (o.classification.as_ptr(), o.shape.footprint.points.as_ptr()))
                .collect();
            (o.as_ptr(), inner)
        };
        let before = ptrs(&objects);
        tr.update(10 * STEP, &scene(10, &mut rng));
        tr.write_objects(&mut objects);
        assert_eq!(objects.len(), before.1.len());
        assert_eq!(ptrs(&objects), before);
        // Shrinking keeps the outer buffer too.
        tr.update(11 * STEP, &scene(11, &mut rng));
        tr.reset();
        tr.write_objects(&mut objects);
        assert!(objects.is_empty());
        assert_eq!(objects.as_ptr(), before.0);
    }

    #[test]
    fn object_fields_follow_autoware_conventions() {
        let params = Params::default();
        let mut tr = Tracker::new(&params);
        // Moving along +y with the box axis given backwards (sign unknown).
        for k in 0..15 {
            let mut d = det(5.0, k as f64 * 0.5);
            d.yaw = -FRAC_PI_2;
            tr.update(k * STEP, &[d]);
        }
        let mut objects = Vec::new();
        tr.write_objects(&mut objects);
        let o = &objects[0];
        let k = &o.kinematics;
        assert_eq!(
            k.orientation_availability,
            TrackedObjectKinematics::AVAILABLE
        );
        let q = &k.pose_with_covariance.pose.orientation;
        let yaw = 2.0 * libm::atan2(q.z, q.w);
        assert!((wrap_pi(yaw - FRAC_PI_2)).abs() < 0.05, "yaw {yaw}");
        assert!((k.twist_with_covariance.twist.linear.x - 5.0).abs() < 0.3);
        assert!(k.twist_with_covariance.twist.linear.y.abs() < 0.3);
        assert!(!k.is_stationary);
        let c = &k.pose_with_covariance.covariance;
        assert!(c[0] > 0.0 && c[7] > 0.0 && c[14] > 0.0 && c[35] > 0.0);
        assert_eq!(c[21], UNMODELLED_VARIANCE);
        let tc = &k.twist_with_covariance.covariance;
        // Lateral uncertainty along world x, longitudinal along world y.
        let t = tr.tracks().next().unwrap();
        assert!((tc[0] - t.covariance[(3, 3)]).abs() < 1e-9);
        assert!((tc[7] - t.covariance[(2, 2)]).abs() < 1e-9);
        assert_eq!(o.classification.len(), 1);
        assert_eq!(o.classification[0].label, ObjectClassification::CAR);
        assert_eq!(o.shape.r#type, Shape::BOUNDING_BOX);
        assert_eq!(o.shape.dimensions.x, 4.5);
        let p = &o.shape.footprint.points;
        assert_eq!(p.len(), 4);
        assert_eq!((p[0].x, p[0].y, p[0].z), (2.25, 0.95, -0.8));
        assert_eq!((p[2].x, p[2].y), (-2.25, -0.95));
        assert_eq!(o.object_id.uuid, uuid_of(t.id));

        // A parked box: stationary, front unknown.
        let mut tr = Tracker::new(&params);
        for k in 0..10 {
            tr.update(k * STEP, &[det(5.0, 5.0)]);
        }
        tr.write_objects(&mut objects);
        let k = &objects[0].kinematics;
        assert!(k.is_stationary);
        assert_eq!(
            k.orientation_availability,
            TrackedObjectKinematics::SIGN_UNKNOWN
        );
    }

    #[test]
    fn radar_initialises_velocity_along_line_of_sight() {
        let mut tr = Tracker::new(&Params::default());
        let mut d = det(40.0, 30.0);
        d.radial = Some(Radial {
            speed: -10.0,
            los_x: 0.8,
            los_y: 0.6,
            variance: 0.09,
        });
        tr.update(0, &[d]);
        let t = tr.tracks().next().unwrap();
        let along = t.vx() * 0.8 + t.vy() * 0.6;
        let across = -t.vx() * 0.6 + t.vy() * 0.8;
        assert!((along + 10.0).abs() < 0.05, "along {along}");
        assert!(across.abs() < 1e-9);
        // Across the line of sight it is still unknown.
        let p = &t.covariance;
        let var_across = 0.36 * p[(2, 2)] - 0.96 * p[(2, 3)] + 0.64 * p[(3, 3)];
        assert!((var_across - INITIAL_VELOCITY_VARIANCE).abs() < 1e-6);
    }

    #[test]
    fn class_histogram_keeps_known_labels() {
        let mut tr = Tracker::new(&Params::default());
        let mut d = det(10.0, 0.0);
        d.label = ObjectClassification::UNKNOWN;
        d.label_probability = 0.5;
        tr.update(0, &[d]);
        assert_eq!(tr.tracks().next().unwrap().label(), (0, 1.0));
        let mut cam = d;
        cam.label = ObjectClassification::BICYCLE;
        cam.label_probability = 0.9;
        tr.update(STEP, &[cam]);
        for k in 2..20 {
            tr.update(k * STEP, &[d]);
        }
        assert_eq!(
            tr.tracks().next().unwrap().label(),
            (ObjectClassification::BICYCLE, 1.0)
        );
        cam.label = ObjectClassification::MOTORCYCLE;
        for k in 20..23 {
            tr.update(k * STEP, &[cam]);
        }
        let (label, p) = tr.tracks().next().unwrap().label();
        assert_eq!(label, ObjectClassification::MOTORCYCLE);
        assert!(p > 0.5 && p < 1.0);
    }

    #[test]
    fn uuids_are_version_8_and_distinct() {
        let mut seen: Vec<[u8; 16]> = (1..5000).map(uuid_of).collect();
        for u in &seen {
            assert_eq!(u[6] >> 4, 8);
            assert_eq!(u[8] >> 6, 0b10);
        }
        assert_eq!(uuid_of(42), uuid_of(42));
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 4999);
    }

    #[test]
    fn full_table_keeps_the_most_credible_candidates() {
        let mut tr = Tracker::new(&Params::default());
        let mut dets = Vec::new();
        for i in 0..300 {
            let mut d = det(f64::from(i % 20) * 10.0, f64::from(i / 20) * 10.0);
            if i >= 250 {
                d.sources |= source::RADAR;
            }
            dets.push(d);
        }
        tr.update(0, &dets);
        assert_eq!(tr.tracks().count(), MAX_TRACKS);
        assert_eq!(tr.dropped_candidates(), 44);
        let radar = tr
            .tracks()
            .filter(|t| t.x() == dets[299].x && t.y() == dets[299].y)
            .count();
        assert_eq!(radar, 1);
        // Ids ascend and follow detection order.
        let ids: Vec<u64> = tr.tracks().map(|t| t.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));

        let many = vec![det(0.0, 0.0); MAX_DETECTIONS + 10];
        let mut tr = Tracker::new(&Params::default());
        tr.update(0, &many);
        assert_eq!(tr.dropped_detections(), 10);
    }

    #[test]
    fn bad_detections_are_ignored() {
        let mut tr = Tracker::new(&Params::default());
        let mut bad = det(f64::NAN, 0.0);
        bad.radial = Some(Radial {
            speed: f64::NAN,
            los_x: 0.0,
            los_y: 0.0,
            variance: -1.0,
        });
        let mut odd = det(3.0, 4.0);
        odd.z = f64::INFINITY;
        odd.length = -1.0;
        odd.yaw = f64::NAN;
        odd.position_variance = f64::NAN;
        odd.label = 200;
        odd.label_probability = f32::NAN;
        odd.radial = bad.radial;
        for k in 0..5 {
            tr.update(k * STEP, &[bad, odd, det(f64::INFINITY, 1.0)]);
        }
        let tracks: Vec<_> = tr.tracks().collect();
        assert_eq!(tracks.len(), 1);
        assert!(tracks[0].is_sound());
        let mut objects = Vec::new();
        tr.write_objects(&mut objects);
        assert_eq!(objects[0].classification[0].label, 0);
    }

    #[test]
    fn steady_state_does_not_grow_buffers() {
        let mut tr = Tracker::new(&Params::default());
        let mut rng = Lcg(6);
        let mut objects = Vec::new();
        let mut bytes = Vec::new();
        let caps = |t: &Tracker| {
            [
                t.tracks.capacity(),
                t.det_variance.capacity(),
                t.row_gated.capacity(),
                t.col_gated.capacity(),
                t.rows.capacity(),
                t.cols.capacity(),
                t.cost.capacity(),
                t.row_to_col.capacity(),
                t.track_det.capacity(),
                t.det_used.capacity(),
                t.keep.capacity(),
                t.candidates.capacity(),
            ]
        };
        let initial = caps(&tr);
        for k in 0..60 {
            tr.update(k * STEP, &scene(k, &mut rng));
            tr.write_objects(&mut objects);
            tr.snapshot(&mut bytes);
        }
        assert_eq!(caps(&tr), initial);
    }

    #[test]
    fn runs_are_deterministic() {
        let run = || {
            let mut tr = Tracker::new(&Params::default());
            let mut rng = Lcg(7);
            let mut bytes = Vec::new();
            for k in 0..40 {
                tr.update(k * STEP, &scene(k, &mut rng));
            }
            tr.snapshot(&mut bytes);
            bytes
        };
        assert_eq!(run(), run());
    }
}
