//! A spinning LiDAR: every ray cast against the actor boxes and the ground.

use core::f64::consts::{PI, TAU};

use fusion_msgs::PointCloudBuilder;
use fusion_msgs::PointFieldType::F32;
use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use fusion_msgs::fusion_interfaces::SensorConfig;
use fusion_msgs::sensor_msgs::PointCloud2;
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use crate::actors::Scene;
use crate::geom::{Isometry, Vec3, wrap_angle};
use crate::{header, rig};

/// Reflectivity of the ground, in [0, 1].
const GROUND_REFLECTIVITY: f64 = 0.15;

/// The scan pattern and the imperfections of a spinning LiDAR.
///
/// Beams are spread evenly from `min_elevation` to `max_elevation`
/// (inclusive); columns evenly over 360° starting at azimuth -π. Points
/// come column by column, each column from the lowest beam up.
#[derive(Debug, Clone, PartialEq)]
pub struct LidarModel {
    /// Vertical channels.
    pub beams: u32,
    /// Firings per revolution.
    pub azimuth_steps: u32,
    /// Elevation of the lowest beam (rad, negative is down).
    pub min_elevation: f64,
    /// Elevation of the highest beam (rad).
    pub max_elevation: f64,
    /// Hits farther than this give no point (m).
    pub max_range: f64,
    /// Standard deviation of the Gaussian range noise (m).
    pub range_noise_sigma: f64,
    /// Probability that a hit gives no point.
    pub dropout: f64,
}

impl LidarModel {
    /// About a Velodyne VLS-128: 128 beams from -25° to +15°, 940 columns
    /// (0.38°), 200 m, 3 cm noise, 2 % dropout: 120 320 rays a scan.
    pub fn vlp128_like() -> Self {
        LidarModel {
            beams: 128,
            azimuth_steps: 940,
            min_elevation: (-25.0f64).to_radians(),
            max_elevation: 15.0f64.to_radians(),
            max_range: 200.0,
            range_noise_sigma: 0.03,
            dropout: 0.02,
        }
    }

    /// A small sensor for fast tests: 32 beams from -25° to +15°, 720
    /// columns (0.5°), 120 m, 3 cm noise, 2 % dropout: 23 040 rays.
    pub fn small() -> Self {
        LidarModel {
            beams: 32,
            azimuth_steps: 720,
            max_range: 120.0,
            ..LidarModel::vlp128_like()
        }
    }

    /// The same sensor without noise and dropouts.
    pub fn ideal(self) -> Self {
        LidarModel {
            range_noise_sigma: 0.0,
            dropout: 0.0,
            ..self
        }
    }

    /// Rays in one scan.
    pub fn rays(&self) -> usize {
        self.beams as usize * self.azimuth_steps as usize
    }

    /// Elevation of beam `i` (rad).
    pub fn elevation(&self, i: u32) -> f64 {
        if self.beams <= 1 {
            return self.min_elevation;
        }
        let f = f64::from(i) / f64::from(self.beams - 1);
        self.min_elevation + f * (self.max_elevation - self.min_elevation)
    }

    /// Azimuth of column `j` (rad, in [-π, π)).
    pub fn azimuth(&self, j: u32) -> f64 {
        -PI + TAU * f64::from(j) / f64::from(self.azimuth_steps.max(1))
    }

    /// One revolution of `sensor` over `scene`, in the sensor's frame: an
    /// unordered cloud of `x y z intensity` (FLOAT32), intensity in
    /// [0, 255] from the surface's reflectivity and incidence angle.
    pub fn scan<R: Rng + ?Sized>(
        &self,
        scene: &Scene,
        sensor: &SensorConfig,
        stamp_ns: i64,
        rng: &mut R,
    ) -> PointCloud2 {
        let caster = RayCaster::new(scene, &rig::extrinsics(sensor), self.max_range);
        let mut cloud =
            PointCloudBuilder::new(&[("x", F32), ("y", F32), ("z", F32), ("intensity", F32)]);
        cloud.reserve(self.rays());
        let elevations: Vec<(f64, f64)> = (0..self.beams)
            .map(|i| self.elevation(i).sin_cos())
            .collect();
        let mut candidates = Vec::with_capacity(caster.boxes.len());
        for j in 0..self.azimuth_steps {
            let azimuth = self.azimuth(j);
            caster.candidates(azimuth, &mut candidates);
            let (sa, ca) = azimuth.sin_cos();
            for &(se, ce) in &elevations {
                let dir = Vec3::new(ce * ca, ce * sa, se);
                let Some(hit) = caster.cast_among(dir, &candidates) else {
                    continue;
                };
                if self.dropout > 0.0 && rng.random::<f64>() < self.dropout {
                    continue;
                }
                let mut range = hit.range;
                if self.range_noise_sigma > 0.0 {
                    range += self.range_noise_sigma * rng.sample::<f64, _>(StandardNormal);
                }
                if range <= 0.0 {
                    continue;
                }
                let p = dir * range;
                let intensity = (255.0 * hit.reflectivity * hit.cos_incidence).clamp(0.0, 255.0);
                cloud.push(&[p.x, p.y, p.z, intensity]);
            }
        }
        cloud.build(header(stamp_ns, &sensor.frame_id))
    }
}

/// Reflectivity in [0, 1] of an actor class.
fn reflectivity(label: u8) -> f64 {
    match label {
        Class::CAR | Class::BUS => 0.5,
        Class::TRUCK | Class::TRAILER => 0.45,
        Class::MOTORCYCLE | Class::BICYCLE => 0.4,
        Class::PEDESTRIAN | Class::ANIMAL => 0.3,
        _ => 0.35,
    }
}

/// Where a ray first hits the scene.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Distance from the sensor origin (m).
    pub range: f64,
    /// The actor hit, `None` for the ground.
    pub actor: Option<u32>,
    /// Cosine of the angle between the ray and the surface normal.
    pub cos_incidence: f64,
    /// Reflectivity of the surface, in [0, 1].
    pub reflectivity: f64,
}

/// One actor box as seen from the sensor, prepared for many rays.
#[derive(Debug, Clone)]
struct PreparedBox {
    id: u32,
    reflectivity: f64,
    /// Sensor-frame directions into the box frame.
    to_box: [Vec3; 3],
    /// Sensor origin in the box frame.
    origin: Vec3,
    /// Half extents.
    half: Vec3,
    /// Sensor-frame azimuth of the box centre and the interval around it
    /// that holds every corner; `None` when the sensor's vertical axis
    /// passes through the box's footprint (any azimuth may hit).
    azimuth: Option<(f64, f64, f64)>,
}

/// A scene prepared for casting rays from one sensor pose: each box's
/// transform and azimuth extent is computed once, then a ray costs a
/// plane intersection and a slab test per box in its azimuth sector.
#[derive(Debug, Clone)]
pub struct RayCaster {
    boxes: Vec<PreparedBox>,
    /// Ground plane in the sensor frame: `normal · p = offset`.
    ground_normal: Vec3,
    ground_offset: f64,
    max_range: f64,
}

impl RayCaster {
    /// Prepares `scene` for rays from a sensor at `pose` (sensor frame to
    /// `base_link`) reaching at most `max_range` metres.
    pub fn new(scene: &Scene, pose: &Isometry, max_range: f64) -> Self {
        let n = scene.ground_normal();
        let ground_normal = pose.rotation.apply_inverse(n);
        // The plane passes through the base_link origin.
        let ground_offset = -n.dot(pose.translation);
        let mut boxes = Vec::with_capacity(scene.actors.len());
        for a in &scene.actors {
            let center = scene.center(a);
            let center_s = pose.apply_inverse(center);
            if center_s.norm() - a.radius_xy() - a.height > max_range {
                continue;
            }
            let (s, c) = a.yaw.sin_cos();
            // Box axes in base_link, then in the sensor frame.
            let axes = [
                Vec3::new(c, s, 0.0),
                Vec3::new(-s, c, 0.0),
                Vec3::new(0.0, 0.0, 1.0),
            ]
            .map(|v| pose.rotation.apply_inverse(v));
            let origin = -center_s;
            let corners = scene.corners(a).map(|p| pose.apply_inverse(p));
            let inside = {
                // Does the sensor's vertical axis cross the footprint? Then
                // the box can be hit at any azimuth.
                let d = pose.translation - center;
                let (l, w) = (d.x * c + d.y * s, -d.x * s + d.y * c);
                l.abs() <= a.length / 2.0 && w.abs() <= a.width / 2.0
            };
            let azimuth = (!inside).then(|| {
                let mid = center_s.y.atan2(center_s.x);
                let (lo, hi) = corners.iter().fold((0.0f64, 0.0f64), |(lo, hi), p| {
                    let d = wrap_angle(p.y.atan2(p.x) - mid);
                    (lo.min(d), hi.max(d))
                });
                (mid, lo, hi)
            });
            boxes.push(PreparedBox {
                id: a.id,
                reflectivity: reflectivity(a.label),
                to_box: axes,
                origin: Vec3::new(
                    origin.dot(axes[0]),
                    origin.dot(axes[1]),
                    origin.dot(axes[2]),
                ),
                half: Vec3::new(a.length / 2.0, a.width / 2.0, a.height / 2.0),
                azimuth,
            });
        }
        RayCaster {
            boxes,
            ground_normal,
            ground_offset,
            max_range,
        }
    }

    /// Casts one ray along the unit vector `dir` of the sensor frame,
    /// testing every box.
    pub fn cast(&self, dir: Vec3) -> Option<Hit> {
        let all: Vec<usize> = (0..self.boxes.len()).collect();
        self.cast_among(dir, &all)
    }

    /// Fills `out` with the boxes a ray at sensor-frame `azimuth` may hit.
    fn candidates(&self, azimuth: f64, out: &mut Vec<usize>) {
        out.clear();
        for (k, b) in self.boxes.iter().enumerate() {
            let hit = match b.azimuth {
                None => true,
                Some((mid, lo, hi)) => {
                    let d = wrap_angle(azimuth - mid);
                    d >= lo && d <= hi
                }
            };
            if hit {
                out.push(k);
            }
        }
    }

    /// The nearest hit within range among the ground and `boxes`.
    #[inline]
    fn cast_among(&self, dir: Vec3, boxes: &[usize]) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        let mut limit = self.max_range;
        let down = self.ground_normal.dot(dir);
        if down < 0.0 {
            let t = self.ground_offset / down;
            if t > 0.0 && t <= limit {
                limit = t;
                best = Some(Hit {
                    range: t,
                    actor: None,
                    cos_incidence: -down,
                    reflectivity: GROUND_REFLECTIVITY,
                });
            }
        }
        for &k in boxes {
            let b = &self.boxes[k];
            let d = Vec3::new(
                b.to_box[0].dot(dir),
                b.to_box[1].dot(dir),
                b.to_box[2].dot(dir),
            );
            if let Some((t, cos)) = slab(b.origin, d, b.half, limit) {
                limit = t;
                best = Some(Hit {
                    range: t,
                    actor: Some(b.id),
                    cos_incidence: cos,
                    reflectivity: b.reflectivity,
                });
            }
        }
        best
    }
}

/// Slab test of the ray `origin + t·dir` (dir a unit vector) against the
/// axis-aligned box `[-half, half]`: the entry distance in `(0, limit]` and
/// the cosine of incidence on the entered face. A ray starting inside the
/// box does not hit it.
#[inline(always)]
fn slab(origin: Vec3, dir: Vec3, half: Vec3, limit: f64) -> Option<(f64, f64)> {
    let mut t_in = f64::NEG_INFINITY;
    let mut t_out = limit;
    let mut axis = 0;
    for i in 0..3 {
        let (o, d, h) = (origin.get(i), dir.get(i), half.get(i));
        if d == 0.0 {
            if o.abs() > h {
                return None;
            }
            continue;
        }
        let inv = 1.0 / d;
        let (a, b) = ((-h - o) * inv, (h - o) * inv);
        let (near, far) = if a < b { (a, b) } else { (b, a) };
        if near > t_in {
            t_in = near;
            axis = i;
        }
        t_out = t_out.min(far);
        if t_in > t_out {
            return None;
        }
    }
    (t_in > 0.0).then(|| (t_in, dir.get(axis).abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_enters_the_near_face() {
        let half = Vec3::new(2.0, 1.0, 1.0);
        let origin = Vec3::new(-10.0, 0.0, 0.0);
        let (t, cos) = slab(origin, Vec3::new(1.0, 0.0, 0.0), half, 100.0).unwrap();
        assert!((t - 8.0).abs() < 1e-12 && (cos - 1.0).abs() < 1e-12);
        assert!(slab(origin, Vec3::new(1.0, 0.0, 0.0), half, 7.9).is_none());
        assert!(slab(origin, Vec3::new(-1.0, 0.0, 0.0), half, 100.0).is_none());
        assert!(slab(origin, Vec3::new(0.0, 1.0, 0.0), half, 100.0).is_none());
        assert!(slab(Vec3::ZERO, Vec3::new(1.0, 0.0, 0.0), half, 100.0).is_none());
    }
}
