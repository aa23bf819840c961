//! Actors (boxes moving at constant speed and turn rate) and the scene
//! that holds them.

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;

use crate::geom::{Vec3, wrap_angle};

/// One traffic participant: an oriented box standing on the ground.
///
/// Positions are in `base_link` (x forward, y left, z up); the box's
/// bottom face rests on the ground under its centre.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// Identity, stable over the run; ground truth derives its UUID from it.
    pub id: u32,
    /// Autoware `ObjectClassification` label (`CAR = 1`, `TRUCK = 2`,
    /// `BUS = 3`, `MOTORCYCLE = 5`, `BICYCLE = 6`, `PEDESTRIAN = 7`, ...).
    pub label: u8,
    /// Extent along the actor's heading (m).
    pub length: f64,
    /// Extent across the heading (m).
    pub width: f64,
    /// Extent upwards (m).
    pub height: f64,
    /// Centre x in `base_link` (m).
    pub x: f64,
    /// Centre y in `base_link` (m).
    pub y: f64,
    /// Heading, counter-clockwise from +x (rad).
    pub yaw: f64,
    /// Speed along the heading (m/s); negative drives backwards.
    pub speed: f64,
    /// Speed across the heading, to the actor's left (m/s): a lane change
    /// seen from an ego driving alongside, or a sideslip. Usually 0.
    pub lateral_speed: f64,
    /// Turn rate (rad/s), counter-clockwise positive.
    pub yaw_rate: f64,
}

impl Actor {
    /// An actor with the typical dimensions of `label`
    /// ([`default_dimensions`]) driving straight.
    pub fn new(id: u32, label: u8, x: f64, y: f64, yaw: f64, speed: f64) -> Self {
        let (length, width, height) = default_dimensions(label);
        Actor {
            id,
            label,
            length,
            width,
            height,
            x,
            y,
            yaw,
            speed,
            lateral_speed: 0.0,
            yaw_rate: 0.0,
        }
    }

    /// The same actor turning at `yaw_rate` rad/s.
    pub fn with_yaw_rate(mut self, yaw_rate: f64) -> Self {
        self.yaw_rate = yaw_rate;
        self
    }

    /// Moves the actor by `dt` seconds at constant speed and turn rate
    /// (exact integration of the CTRV model; with a lateral speed, the
    /// velocity of the start is held over `dt`).
    pub fn advance(&mut self, dt: f64) {
        let w = self.yaw_rate;
        let yaw1 = self.yaw + w * dt;
        if self.lateral_speed != 0.0 {
            let (vx, vy) = self.velocity();
            self.x += vx * dt;
            self.y += vy * dt;
        } else if w.abs() < 1e-9 {
            let (s, c) = self.yaw.sin_cos();
            self.x += self.speed * c * dt;
            self.y += self.speed * s * dt;
        } else {
            let r = self.speed / w;
            self.x += r * (yaw1.sin() - self.yaw.sin());
            self.y += r * (self.yaw.cos() - yaw1.cos());
        }
        self.yaw = wrap_angle(yaw1);
    }

    /// Velocity of the centre in `base_link` (m/s).
    pub fn velocity(&self) -> (f64, f64) {
        let (s, c) = self.yaw.sin_cos();
        (
            self.speed * c - self.lateral_speed * s,
            self.speed * s + self.lateral_speed * c,
        )
    }

    /// Velocity in `base_link` of the body point above (`px`, `py`),
    /// including the rotation about the centre.
    pub fn velocity_at(&self, px: f64, py: f64) -> (f64, f64) {
        let (vx, vy) = self.velocity();
        let (rx, ry) = (px - self.x, py - self.y);
        (vx - self.yaw_rate * ry, vy + self.yaw_rate * rx)
    }

    /// The four footprint corners in `base_link`, counter-clockwise:
    /// front-left, rear-left, rear-right, front-right.
    pub fn footprint(&self) -> [(f64, f64); 4] {
        let (s, c) = self.yaw.sin_cos();
        let (hl, hw) = (self.length / 2.0, self.width / 2.0);
        let at = |l: f64, w: f64| (self.x + l * c - w * s, self.y + l * s + w * c);
        [at(hl, hw), at(-hl, hw), at(-hl, -hw), at(hl, -hw)]
    }

    /// The eight box corners in `base_link` for a box whose bottom is at
    /// height `base_z`: the footprint at `base_z`, then at the top.
    pub fn corners(&self, base_z: f64) -> [Vec3; 8] {
        let f = self.footprint();
        let top = base_z + self.height;
        core::array::from_fn(|i| {
            let (x, y) = f[i % 4];
            Vec3::new(x, y, if i < 4 { base_z } else { top })
        })
    }

    /// Half the footprint diagonal: no part of the box is farther from the
    /// centre axis than this.
    pub fn radius_xy(&self) -> f64 {
        0.5 * self.length.hypot(self.width)
    }
}

/// Typical (length, width, height) in metres of an Autoware label.
pub fn default_dimensions(label: u8) -> (f64, f64, f64) {
    match label {
        Class::CAR => (4.5, 1.9, 1.6),
        Class::TRUCK => (8.0, 2.5, 3.2),
        Class::BUS => (12.0, 2.6, 3.2),
        Class::TRAILER => (10.0, 2.5, 3.5),
        Class::MOTORCYCLE => (2.1, 0.8, 1.5),
        Class::BICYCLE => (1.8, 0.7, 1.7),
        Class::PEDESTRIAN => (0.6, 0.6, 1.7),
        Class::ANIMAL => (1.2, 0.5, 0.8),
        _ => (1.0, 1.0, 1.0),
    }
}

/// The camera detector's class name of an Autoware label (`"car"`,
/// `"truck"`, `"bus"`, `"trailer"`, `"motorcycle"`, `"bicycle"`,
/// `"pedestrian"`, `"animal"`, else `"unknown"`).
pub fn class_name(label: u8) -> &'static str {
    match label {
        Class::CAR => "car",
        Class::TRUCK => "truck",
        Class::BUS => "bus",
        Class::TRAILER => "trailer",
        Class::MOTORCYCLE => "motorcycle",
        Class::BICYCLE => "bicycle",
        Class::PEDESTRIAN => "pedestrian",
        Class::ANIMAL => "animal",
        _ => "unknown",
    }
}

/// The world around the (static) ego vehicle: actors and the ground.
///
/// The ground is the plane `z = ground_slope · x` of `base_link`; actors
/// stand on it at their centre but keep their boxes upright (yaw only),
/// which is accurate for gentle slopes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    /// Every actor; ids should be unique.
    pub actors: Vec<Actor>,
    /// Grade of the ground along +x (dz/dx); 0 for flat ground.
    pub ground_slope: f64,
}

impl Scene {
    /// A scene of these actors on flat ground.
    pub fn new(actors: Vec<Actor>) -> Self {
        Scene {
            actors,
            ground_slope: 0.0,
        }
    }

    /// Moves every actor by `dt` seconds.
    pub fn advance(&mut self, dt: f64) {
        for a in &mut self.actors {
            a.advance(dt);
        }
    }

    /// Height of the ground at (`x`, `y`) of `base_link`.
    pub fn ground_height(&self, x: f64, _y: f64) -> f64 {
        self.ground_slope * x
    }

    /// Unit upward normal of the ground plane in `base_link`.
    pub fn ground_normal(&self) -> Vec3 {
        let n = Vec3::new(-self.ground_slope, 0.0, 1.0);
        n * (1.0 / n.norm())
    }

    /// Height of the bottom face of `actor`'s box.
    pub fn base_z(&self, actor: &Actor) -> f64 {
        self.ground_height(actor.x, actor.y)
    }

    /// Centre of `actor`'s box in `base_link`.
    pub fn center(&self, actor: &Actor) -> Vec3 {
        Vec3::new(actor.x, actor.y, self.base_z(actor) + actor.height / 2.0)
    }

    /// The eight corners of `actor`'s box in `base_link`.
    pub fn corners(&self, actor: &Actor) -> [Vec3; 8] {
        actor.corners(self.base_z(actor))
    }
}
