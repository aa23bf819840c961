//! One track: its Kalman filter, smoothed shape and class evidence.

use super::*;
use crate::geometry::MinMax;

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
    pub(super) fn to_u8(self) -> u8 {
        match self {
            TrackStatus::Tentative => 0,
            TrackStatus::Confirmed => 1,
            TrackStatus::Coasting => 2,
        }
    }

    pub(super) fn from_u8(v: u8) -> Option<Self> {
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
    pub(super) fn init(measured: f64, min: f64, variance: f64) -> Self {
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

    pub(super) fn predict(&mut self, q: f64, dt: f64) {
        self.variance = (self.variance + q * dt).min1(UNMODELLED_VARIANCE);
    }

    /// Measurements that are not finite or below `min` are ignored.
    pub(super) fn update(&mut self, measured: f64, min: f64, r: f64) {
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
        crate::geometry::sqrt(self.vx() * self.vx() + self.vy() * self.vy())
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

    pub(super) fn spawn(id: u64, d: &Detection, variance: f64, cfg: &Config) -> Track {
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

    pub(super) fn predict(&mut self, dt: f64, q: f64) {
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
        self.yaw_variance = (self.yaw_variance + YAW_PROCESS * dt).min1(UNMODELLED_VARIANCE);
    }

    /// Association cost of `d` (Mahalanobis d^2 + ln det S), or `None`
    /// outside the gate.
    /// Whether `gate_cost` is `Some`, without the logarithm and without a
    /// branch (the same operations, so the same answer).
    #[inline(always)]
    pub(super) fn within_gate(&self, d: &Detection, variance: f64, gate: f64) -> bool {
        let p = &self.covariance;
        let a = p[(0, 0)] + variance;
        let b = p[(0, 1)];
        let c = p[(1, 1)] + variance;
        let det = a * c - b * b;
        let dx = d.x - self.x();
        let dy = d.y - self.y();
        let d2 = (dx * dx * c - 2.0 * dx * dy * b + dy * dy * a) / det;
        (det > 0.0) & det.is_finite() & !(d2.is_nan() | (d2 > gate))
    }

    pub(super) fn gate_cost(&self, d: &Detection, variance: f64, gate: f64) -> Option<f64> {
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

    pub(super) fn update_position(&mut self, x: f64, y: f64, variance: f64) {
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
    pub(super) fn update_radial(&mut self, radial: &Radial, gated: bool) {
        let Radial {
            speed,
            los_x,
            los_y,
            variance,
        } = *radial;
        if !(speed.is_finite() && los_x.is_finite() && los_y.is_finite() && variance.is_finite()) {
            return;
        }
        let norm = crate::geometry::sqrt(los_x * los_x + los_y * los_y);
        if norm.is_nan() || norm <= 1.0e-6 {
            return;
        }
        let h = RowVector4::new(0.0, 0.0, los_x / norm, los_y / norm);
        let r = variance.max1(MIN_VARIANCE);
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

    pub(super) fn update_yaw(&mut self, d: &Detection) {
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
    pub(super) fn sign_from_velocity(&mut self) {
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

    pub(super) fn classify(&mut self, label: u8, probability: f32) {
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

    pub(super) fn hit(&mut self, d: &Detection, variance: f64, cfg: &Config) {
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
    pub(super) fn miss(&mut self, cfg: &Config) -> bool {
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

    pub(super) fn is_sound(&self) -> bool {
        self.state.iter().all(|v| v.is_finite())
            && self.covariance.iter().all(|v| v.is_finite())
            && [self.z, self.length, self.width, self.height]
                .iter()
                .all(|s| s.value.is_finite() && s.variance.is_finite())
            && self.yaw.is_finite()
            && self.yaw_variance.is_finite()
    }

    pub(super) fn write_object(&self, obj: &mut TrackedObject, stationary_speed: f64) {
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
        (o.z, o.w) = crate::geometry::sin_cos(self.yaw * 0.5);
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
        let (sin, cos) = crate::geometry::sin_cos(self.yaw);
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
