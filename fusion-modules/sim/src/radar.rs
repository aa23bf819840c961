//! An automotive radar: a few returns on each visible actor plus clutter.

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use fusion_msgs::fusion_interfaces::SensorConfig;
use fusion_msgs::radar_msgs::{RadarReturn, RadarScan};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Poisson, StandardNormal};

use crate::actors::{Actor, Scene};
use crate::geom::{Isometry, Vec3};
use crate::{header, rig};

/// Field of view, detection and noise of a radar.
///
/// Each actor with a part in the field of view yields 1–2 (pedestrians,
/// two-wheelers), 1–3 (cars) or 2–4 (trucks, buses, trailers) candidate
/// reflection points on the part of its box outline that faces the
/// radar, at 20–70 % of its height; each candidate in the field of view
/// is reported with `detection_probability`. A Poisson number of clutter
/// returns (mean `clutter_mean`) with random position and Doppler is
/// added. Returns are sorted by range. Occlusion is not modelled.
#[derive(Debug, Clone, PartialEq)]
pub struct RadarModel {
    /// Returns farther than this are not reported (m).
    pub max_range: f64,
    /// Half the horizontal field of view (rad).
    pub half_fov_azimuth: f64,
    /// Half the vertical field of view (rad).
    pub half_fov_elevation: f64,
    /// Probability that a candidate reflection is reported.
    pub detection_probability: f64,
    /// Mean number of clutter returns per scan.
    pub clutter_mean: f64,
    /// Standard deviation of the range noise (m).
    pub range_sigma: f64,
    /// Standard deviation of the azimuth noise (rad).
    pub azimuth_sigma: f64,
    /// Standard deviation of the elevation noise (rad).
    pub elevation_sigma: f64,
    /// Standard deviation of the Doppler noise (m/s).
    pub doppler_sigma: f64,
    /// Standard deviation of the amplitude noise (dB).
    pub amplitude_sigma: f64,
}

impl Default for RadarModel {
    /// A mid-range corner/front radar: ±60° x ±10°, 200 m, Pd 0.9, two
    /// clutter returns a scan, σ = 0.15 m, 0.3°, 0.5°, 0.1 m/s, 2 dB.
    fn default() -> Self {
        RadarModel {
            max_range: 200.0,
            half_fov_azimuth: 60f64.to_radians(),
            half_fov_elevation: 10f64.to_radians(),
            detection_probability: 0.9,
            clutter_mean: 2.0,
            range_sigma: 0.15,
            azimuth_sigma: 0.3f64.to_radians(),
            elevation_sigma: 0.5f64.to_radians(),
            doppler_sigma: 0.1,
            amplitude_sigma: 2.0,
        }
    }
}

impl RadarModel {
    /// The same radar without noise, misses or clutter.
    pub fn ideal(self) -> Self {
        RadarModel {
            detection_probability: 1.0,
            clutter_mean: 0.0,
            range_sigma: 0.0,
            azimuth_sigma: 0.0,
            elevation_sigma: 0.0,
            doppler_sigma: 0.0,
            amplitude_sigma: 0.0,
            ..self
        }
    }

    /// One scan of `sensor` over `scene`, in the radar's frame.
    pub fn scan<R: Rng + ?Sized>(
        &self,
        scene: &Scene,
        sensor: &SensorConfig,
        stamp_ns: i64,
        rng: &mut R,
    ) -> RadarScan {
        let pose = rig::extrinsics(sensor);
        let mut returns = Vec::new();
        for actor in &scene.actors {
            self.actor_returns(scene, actor, &pose, rng, &mut returns);
        }
        self.clutter(rng, &mut returns);
        returns.sort_by(|a, b| a.range.total_cmp(&b.range));
        RadarScan {
            header: header(stamp_ns, &sensor.frame_id),
            returns,
        }
    }

    /// Range, azimuth and elevation of a sensor-frame point, if it is in
    /// the field of view.
    fn measure(&self, p: Vec3) -> Option<(f64, f64, f64)> {
        let range = p.norm();
        let azimuth = p.y.atan2(p.x);
        let elevation = p.z.atan2(p.norm_xy());
        (range <= self.max_range
            && azimuth.abs() <= self.half_fov_azimuth
            && elevation.abs() <= self.half_fov_elevation)
            .then_some((range, azimuth, elevation))
    }

    fn actor_returns<R: Rng + ?Sized>(
        &self,
        scene: &Scene,
        actor: &Actor,
        pose: &Isometry,
        rng: &mut R,
        out: &mut Vec<RadarReturn>,
    ) {
        let base_z = scene.base_z(actor);
        let footprint = actor.footprint();
        // Skip without drawing random numbers when nothing can be seen.
        let visible = footprint
            .iter()
            .chain(core::iter::once(&(actor.x, actor.y)))
            .any(|&(x, y)| {
                let p = pose.apply_inverse(Vec3::new(x, y, pose.translation.z));
                self.measure(p).is_some()
            });
        if !visible {
            return;
        }
        let edges = facing_edges(&footprint, pose.translation);
        let total: f64 = edges.iter().map(|e| e.2).sum();
        if total <= 0.0 {
            return;
        }
        let (lo, hi) = match actor.label {
            Class::PEDESTRIAN | Class::BICYCLE | Class::MOTORCYCLE | Class::ANIMAL => (1, 2),
            Class::TRUCK | Class::BUS | Class::TRAILER => (2, 4),
            _ => (1, 3),
        };
        let count = rng.random_range(lo..=hi);
        for _ in 0..count {
            let mut u = rng.random::<f64>() * total;
            let height = base_z + actor.height * rng.random_range(0.2..0.7);
            let detected = rng.random::<f64>() < self.detection_probability;
            let (mut x, mut y) = edges[edges.len() - 1].1;
            for &(a, b, len) in &edges {
                if u <= len {
                    let f = u / len;
                    (x, y) = (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1));
                    break;
                }
                u -= len;
            }
            let world = Vec3::new(x, y, height);
            let Some((range, azimuth, elevation)) = self.measure(pose.apply_inverse(world)) else {
                continue;
            };
            if !detected {
                continue;
            }
            let doppler = doppler_velocity(actor, world, pose.translation);
            let amplitude = rcs_dbsm(actor.label) + 100.0 - 40.0 * range.max(1.0).log10();
            out.push(RadarReturn {
                range: (range + self.noise(rng, self.range_sigma)).max(0.0) as f32,
                azimuth: (azimuth + self.noise(rng, self.azimuth_sigma)) as f32,
                elevation: (elevation + self.noise(rng, self.elevation_sigma)) as f32,
                doppler_velocity: (doppler + self.noise(rng, self.doppler_sigma)) as f32,
                amplitude: (amplitude + self.noise(rng, self.amplitude_sigma)) as f32,
            });
        }
    }

    fn clutter<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<RadarReturn>) {
        let Ok(poisson) = Poisson::new(self.clutter_mean) else {
            return; // mean 0 (or invalid): no clutter
        };
        let count = poisson.sample(rng) as u64;
        for _ in 0..count {
            let fov = |rng: &mut R, half: f64| rng.random_range(-1.0..=1.0) * half;
            out.push(RadarReturn {
                range: rng.random_range(1.0..=self.max_range.max(1.0)) as f32,
                azimuth: fov(rng, self.half_fov_azimuth) as f32,
                elevation: fov(rng, self.half_fov_elevation) as f32,
                doppler_velocity: rng.random_range(-15.0..=15.0) as f32,
                amplitude: rng.random_range(-5.0..=15.0) as f32,
            });
        }
    }

    fn noise<R: Rng + ?Sized>(&self, rng: &mut R, sigma: f64) -> f64 {
        if sigma > 0.0 {
            sigma * rng.sample::<f64, _>(StandardNormal)
        } else {
            0.0
        }
    }
}

/// The Doppler velocity a static sensor at `sensor` measures on the body
/// point `point` of `actor` (both in `base_link`): the point's velocity
/// along the line of sight, positive when moving away.
pub fn doppler_velocity(actor: &Actor, point: Vec3, sensor: Vec3) -> f64 {
    let los = point - sensor;
    let n = los.norm();
    if n < 1e-9 {
        return 0.0;
    }
    let (vx, vy) = actor.velocity_at(point.x, point.y);
    (vx * los.x + vy * los.y) / n
}

/// Typical radar cross-section of a class (dBsm).
fn rcs_dbsm(label: u8) -> f64 {
    match label {
        Class::TRUCK | Class::BUS | Class::TRAILER => 20.0,
        Class::CAR => 10.0,
        Class::MOTORCYCLE => 5.0,
        Class::BICYCLE => 0.0,
        Class::PEDESTRIAN | Class::ANIMAL => -5.0,
        _ => 0.0,
    }
}

/// A footprint edge: start, end, length.
type Edge = ((f64, f64), (f64, f64), f64);

/// The footprint edges whose outside faces `sensor` (xy only).
fn facing_edges(footprint: &[(f64, f64); 4], sensor: Vec3) -> Vec<Edge> {
    let mut edges = Vec::with_capacity(2);
    for i in 0..4 {
        let (a, b) = (footprint[i], footprint[(i + 1) % 4]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        // Counter-clockwise polygon: the outward normal is on the right.
        let (nx, ny) = (dy, -dx);
        let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        if (sensor.x - mx) * nx + (sensor.y - my) * ny > 0.0 {
            edges.push((a, b, dx.hypot(dy)));
        }
    }
    edges
}
