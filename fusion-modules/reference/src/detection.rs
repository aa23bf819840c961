//! What the sensor front ends hand the tracker: one object candidate each.

/// Which sensors contributed to a detection.
pub mod source {
    /// A LiDAR cluster.
    pub const LIDAR: u8 = 1;
    /// Radar returns.
    pub const RADAR: u8 = 2;
    /// A camera detection matched the box.
    pub const CAMERA: u8 = 4;
}

/// One object candidate in the vehicle frame (x forward, y left, z up;
/// metres, radians).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Detection {
    /// Box centre.
    pub x: f64,
    /// Box centre.
    pub y: f64,
    /// Box centre.
    pub z: f64,
    /// Extent along the heading axis.
    pub length: f64,
    /// Extent across the heading axis.
    pub width: f64,
    /// Vertical extent.
    pub height: f64,
    /// Heading of the length axis, in (-pi, pi]; known up to a sign flip
    /// unless `yaw_sign_known`.
    pub yaw: f64,
    /// True when `yaw` is the direction of travel rather than an axis.
    pub yaw_sign_known: bool,
    /// Variance of the centre's x and y (m^2), isotropic.
    pub position_variance: f64,
    /// `autoware_perception_msgs/ObjectClassification` label.
    pub label: u8,
    /// Probability of `label`, in [0, 1].
    pub label_probability: f32,
    /// Radar radial speed of the object relative to the vehicle (m/s,
    /// positive moving away), with the unit line-of-sight vector from the
    /// radar to the object, when a radar saw it.
    pub radial: Option<Radial>,
    /// Bit set of [`source`] constants.
    pub sources: u8,
}

/// A radar Doppler measurement attached to a detection.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Radial {
    /// Radial speed (m/s), positive away from the radar.
    pub speed: f64,
    /// Line of sight, unit vector in the vehicle frame (x, y).
    pub los_x: f64,
    /// Line of sight, unit vector in the vehicle frame (x, y).
    pub los_y: f64,
    /// Variance of `speed` (m^2/s^2).
    pub variance: f64,
}
