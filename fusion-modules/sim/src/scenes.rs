//! Named test scenes.

use core::f64::consts::{FRAC_PI_4, PI};

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::actors::{Actor, Scene, default_dimensions};

/// Lane centres of [`Scene::highway`] (m, `base_link` y); the ego is in
/// the lane at y = 0.
pub const HIGHWAY_LANES: [f64; 4] = [-3.5, 0.0, 3.5, 7.0];

impl Scene {
    /// An empty scene: flat ground only.
    pub fn empty() -> Self {
        Scene::default()
    }

    /// One actor (id 1) with the typical dimensions of `label`.
    pub fn single(label: u8, x: f64, y: f64, yaw: f64, speed: f64) -> Self {
        Scene::new(vec![Actor::new(1, label, x, y, yaw, speed)])
    }

    /// An urban crossing in front of the ego:
    ///
    /// - ids 1 and 2: cars whose paths cross in an X at (25, 0), about one
    ///   second apart (car 1 from the front right at t ≈ 2.0 s, car 2 from
    ///   the front left at t ≈ 3.0 s), both at 7 m/s;
    /// - id 3: a lead car in the ego lane at 40 m, pulling away at 10 m/s;
    /// - id 4: a truck parked on the left, beside the ego;
    /// - id 5: a pedestrian on the right walking forward at 1.4 m/s;
    /// - id 6: a cyclist behind on the right at 4 m/s;
    /// - id 7: an oncoming car in the left lane at 70 m, 12 m/s;
    /// - id 8: a car stopped 20 m behind the ego.
    pub fn crossing() -> Self {
        Scene::new(vec![
            Actor::new(1, Class::CAR, 15.0, -10.0, FRAC_PI_4, 7.0),
            Actor::new(2, Class::CAR, 10.0, 15.0, -FRAC_PI_4, 7.0),
            Actor::new(3, Class::CAR, 40.0, 0.0, 0.0, 10.0),
            Actor::new(4, Class::TRUCK, 0.0, 7.0, 0.0, 0.0),
            Actor::new(5, Class::PEDESTRIAN, 3.0, -5.5, 0.0, 1.4),
            Actor::new(6, Class::BICYCLE, -12.0, -3.0, 0.0, 4.0),
            Actor::new(7, Class::CAR, 70.0, 3.5, PI, 12.0),
            Actor::new(8, Class::CAR, -20.0, 0.0, 0.0, 0.0),
        ])
    }

    /// A four-lane highway ([`HIGHWAY_LANES`]) with 10 to 20 cars, trucks,
    /// buses and motorcycles between 70 m behind and 190 m ahead, at least
    /// two of them beyond 80 m. The same seed gives the same scene.
    ///
    /// Speeds are relative to an ego driving with the flow (the ego is
    /// static in `base_link`), so the scene stays in view for a long
    /// run: the right lane falls back at about 4 m/s, the ego lane's
    /// leaders pull away at 2 m/s (its followers fall back at 1 m/s), the
    /// left lanes overtake at 5 and 8 m/s. Actors of one lane differ by at
    /// most 1 m/s and start at least 18 m apart, so they do not collide
    /// within the first 18 s.
    pub fn highway(seed: u64) -> Self {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut candidates: Vec<(usize, Actor)> = Vec::new();
        for (lane, &y) in HIGHWAY_LANES.iter().enumerate() {
            let mut rear_edge = rng.random_range(-70.0..-45.0);
            loop {
                let roll: f64 = rng.random();
                let label = match roll {
                    r if r < 0.12 && lane < 2 => Class::TRUCK,
                    r if r < 0.17 && lane < 2 => Class::BUS,
                    r if r > 0.9 => Class::MOTORCYCLE,
                    _ => Class::CAR,
                };
                let (length, ..) = default_dimensions(label);
                let x = rear_edge + length / 2.0;
                if x > 190.0 {
                    break;
                }
                let base = match lane {
                    0 => -4.0,
                    1 if x > 0.0 => 2.0,
                    1 => -1.0,
                    2 => 5.0,
                    _ => 8.0,
                };
                let speed = base + rng.random_range(-0.5..0.5);
                let dy = rng.random_range(-0.3..0.3);
                let yaw = rng.random_range(-0.01..0.01);
                rear_edge = x + length / 2.0 + rng.random_range(18.0..45.0);
                // Keep the ego's own spot free.
                if lane == 1 && x.abs() < 14.0 {
                    continue;
                }
                candidates.push((lane, Actor::new(0, label, x, y + dy, yaw, speed)));
            }
        }
        let (mut far, mut near): (Vec<_>, Vec<_>) =
            candidates.into_iter().partition(|(_, a)| a.x > 80.0);
        shuffle(&mut far, &mut rng);
        shuffle(&mut near, &mut rng);
        let total = far.len() + near.len();
        let n = rng.random_range(10..=20).min(total);
        let keep_far = far.len().min(2);
        let mut chosen: Vec<(usize, Actor)> = far.drain(..keep_far).collect();
        let mut rest: Vec<_> = far.into_iter().chain(near).collect();
        shuffle(&mut rest, &mut rng);
        chosen.extend(rest.into_iter().take(n - keep_far));
        chosen.sort_by(|(la, a), (lb, b)| la.cmp(lb).then(a.x.total_cmp(&b.x)));
        let actors = chosen
            .into_iter()
            .zip(1..)
            .map(|((_, a), id)| Actor { id, ..a })
            .collect();
        Scene::new(actors)
    }

    /// A car (id 1) circling clockwise at 5 m/s on a 10 m radius around
    /// (20, -10), starting at (20, 0) heading forward: turning motion.
    pub fn circling() -> Self {
        Scene::new(vec![
            Actor::new(1, Class::CAR, 20.0, 0.0, 0.0, 5.0).with_yaw_rate(-0.5),
        ])
    }
}

/// Fisher–Yates with the given generator (the rand `alloc` feature is off).
fn shuffle<T, R: rand::Rng + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}
