//! Small rigid-body geometry: vectors, rotations, poses and their
//! conversions to and from `geometry_msgs`.

use core::ops::{Add, Mul, Neg, Sub};

use fusion_msgs::geometry_msgs::{Point, Pose, Quaternion};

/// A 3D vector or point, in metres unless stated otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vec3 {
    /// x component.
    pub x: f64,
    /// y component.
    pub y: f64,
    /// z component.
    pub z: f64,
}

impl Vec3 {
    /// The zero vector.
    pub const ZERO: Vec3 = Vec3::new(0.0, 0.0, 0.0);

    /// A vector from its components.
    pub const fn new(x: f64, y: f64, z: f64) -> Self {
        Vec3 { x, y, z }
    }

    /// The unit vector of the given azimuth (from +x towards +y) and
    /// elevation (towards +z), both in radians.
    pub fn from_spherical(azimuth: f64, elevation: f64) -> Self {
        let (sa, ca) = azimuth.sin_cos();
        let (se, ce) = elevation.sin_cos();
        Vec3::new(ce * ca, ce * sa, se)
    }

    /// Dot product.
    #[inline(always)]
    pub fn dot(self, o: Vec3) -> f64 {
        self.x * o.x + self.y * o.y + self.z * o.z
    }

    /// Cross product.
    pub fn cross(self, o: Vec3) -> Vec3 {
        Vec3::new(
            self.y * o.z - self.z * o.y,
            self.z * o.x - self.x * o.z,
            self.x * o.y - self.y * o.x,
        )
    }

    /// Euclidean length.
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }

    /// Length of the projection on the xy plane.
    pub fn norm_xy(self) -> f64 {
        self.x.hypot(self.y)
    }

    /// Component `i` (0 = x, 1 = y, 2 = z).
    #[inline(always)]
    pub fn get(self, i: usize) -> f64 {
        match i {
            0 => self.x,
            1 => self.y,
            _ => self.z,
        }
    }
}

impl Add for Vec3 {
    type Output = Vec3;
    #[inline(always)]
    fn add(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x + o.x, self.y + o.y, self.z + o.z)
    }
}

impl Sub for Vec3 {
    type Output = Vec3;
    #[inline(always)]
    fn sub(self, o: Vec3) -> Vec3 {
        Vec3::new(self.x - o.x, self.y - o.y, self.z - o.z)
    }
}

impl Mul<f64> for Vec3 {
    type Output = Vec3;
    #[inline(always)]
    fn mul(self, s: f64) -> Vec3 {
        Vec3::new(self.x * s, self.y * s, self.z * s)
    }
}

impl Neg for Vec3 {
    type Output = Vec3;
    fn neg(self) -> Vec3 {
        Vec3::new(-self.x, -self.y, -self.z)
    }
}

/// A rotation matrix, stored by rows. Its columns are the rotated frame's
/// axes expressed in the parent frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rot3 {
    /// `m[row][column]`.
    pub m: [[f64; 3]; 3],
}

impl Rot3 {
    /// No rotation.
    pub const IDENTITY: Rot3 = Rot3 {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    };

    /// A rotation about +z by `yaw` radians.
    pub fn from_yaw(yaw: f64) -> Self {
        let (s, c) = yaw.sin_cos();
        Rot3 {
            m: [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]],
        }
    }

    /// The rotation whose columns are `x`, `y` and `z` (orthonormal, right
    /// handed; not checked).
    pub fn from_columns(x: Vec3, y: Vec3, z: Vec3) -> Self {
        Rot3 {
            m: [[x.x, y.x, z.x], [x.y, y.y, z.y], [x.z, y.z, z.z]],
        }
    }

    /// From a quaternion, normalised first. A zero or non-finite quaternion
    /// gives the identity.
    pub fn from_quaternion(q: &Quaternion) -> Self {
        let n = (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w).sqrt();
        if !n.is_finite() || n < 1e-12 {
            return Rot3::IDENTITY;
        }
        let (x, y, z, w) = (q.x / n, q.y / n, q.z / n, q.w / n);
        Rot3 {
            m: [
                [
                    1.0 - 2.0 * (y * y + z * z),
                    2.0 * (x * y - z * w),
                    2.0 * (x * z + y * w),
                ],
                [
                    2.0 * (x * y + z * w),
                    1.0 - 2.0 * (x * x + z * z),
                    2.0 * (y * z - x * w),
                ],
                [
                    2.0 * (x * z - y * w),
                    2.0 * (y * z + x * w),
                    1.0 - 2.0 * (x * x + y * y),
                ],
            ],
        }
    }

    /// The unit quaternion of this rotation, with `w >= 0`.
    pub fn to_quaternion(&self) -> Quaternion {
        let m = &self.m;
        let trace = m[0][0] + m[1][1] + m[2][2];
        let (x, y, z, w) = if trace > 0.0 {
            let s = (trace + 1.0).sqrt() * 2.0;
            (
                (m[2][1] - m[1][2]) / s,
                (m[0][2] - m[2][0]) / s,
                (m[1][0] - m[0][1]) / s,
                0.25 * s,
            )
        } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
            let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
            (
                0.25 * s,
                (m[0][1] + m[1][0]) / s,
                (m[0][2] + m[2][0]) / s,
                (m[2][1] - m[1][2]) / s,
            )
        } else if m[1][1] > m[2][2] {
            let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
            (
                (m[0][1] + m[1][0]) / s,
                0.25 * s,
                (m[1][2] + m[2][1]) / s,
                (m[0][2] - m[2][0]) / s,
            )
        } else {
            let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
            (
                (m[0][2] + m[2][0]) / s,
                (m[1][2] + m[2][1]) / s,
                0.25 * s,
                (m[1][0] - m[0][1]) / s,
            )
        };
        let sign = if w < 0.0 { -1.0 } else { 1.0 };
        let n = (x * x + y * y + z * z + w * w).sqrt() * sign;
        Quaternion {
            x: x / n,
            y: y / n,
            z: z / n,
            w: w / n,
        }
    }

    /// `R v`.
    #[inline(always)]
    pub fn apply(&self, v: Vec3) -> Vec3 {
        let m = &self.m;
        Vec3::new(
            m[0][0] * v.x + m[0][1] * v.y + m[0][2] * v.z,
            m[1][0] * v.x + m[1][1] * v.y + m[1][2] * v.z,
            m[2][0] * v.x + m[2][1] * v.y + m[2][2] * v.z,
        )
    }

    /// `Rᵀ v`, the inverse rotation.
    #[inline(always)]
    pub fn apply_inverse(&self, v: Vec3) -> Vec3 {
        let m = &self.m;
        Vec3::new(
            m[0][0] * v.x + m[1][0] * v.y + m[2][0] * v.z,
            m[0][1] * v.x + m[1][1] * v.y + m[2][1] * v.z,
            m[0][2] * v.x + m[1][2] * v.y + m[2][2] * v.z,
        )
    }

    /// The inverse rotation.
    pub fn transpose(&self) -> Rot3 {
        let m = &self.m;
        Rot3 {
            m: [
                [m[0][0], m[1][0], m[2][0]],
                [m[0][1], m[1][1], m[2][1]],
                [m[0][2], m[1][2], m[2][2]],
            ],
        }
    }

    /// The composition `self * other` (apply `other` first).
    pub fn compose(&self, other: &Rot3) -> Rot3 {
        let (a, b) = (&self.m, &other.m);
        let mut m = [[0.0; 3]; 3];
        for (r, row) in m.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c];
            }
        }
        Rot3 { m }
    }
}

/// A rigid transform from a child frame (e.g. a sensor) to its parent
/// (e.g. `base_link`): `p_parent = rotation · p_child + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Isometry {
    /// Orientation of the child axes in the parent frame.
    pub rotation: Rot3,
    /// Origin of the child frame in the parent frame.
    pub translation: Vec3,
}

impl Isometry {
    /// The identity transform.
    pub const IDENTITY: Isometry = Isometry {
        rotation: Rot3::IDENTITY,
        translation: Vec3::ZERO,
    };

    /// From a `geometry_msgs/Pose` (the pose of the child in the parent).
    pub fn from_pose(pose: &Pose) -> Self {
        let p = &pose.position;
        Isometry {
            rotation: Rot3::from_quaternion(&pose.orientation),
            translation: Vec3::new(p.x, p.y, p.z),
        }
    }

    /// As a `geometry_msgs/Pose`.
    pub fn to_pose(&self) -> Pose {
        Pose {
            position: Point {
                x: self.translation.x,
                y: self.translation.y,
                z: self.translation.z,
            },
            orientation: self.rotation.to_quaternion(),
        }
    }

    /// A child-frame point in the parent frame.
    #[inline(always)]
    pub fn apply(&self, p: Vec3) -> Vec3 {
        self.rotation.apply(p) + self.translation
    }

    /// A parent-frame point in the child frame.
    #[inline(always)]
    pub fn apply_inverse(&self, p: Vec3) -> Vec3 {
        self.rotation.apply_inverse(p - self.translation)
    }
}

/// The quaternion of a rotation by `yaw` about +z.
pub fn yaw_quaternion(yaw: f64) -> Quaternion {
    let (s, c) = (yaw / 2.0).sin_cos();
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: s,
        w: c,
    }
}

/// Wraps an angle to (-π, π].
pub fn wrap_angle(a: f64) -> f64 {
    use core::f64::consts::{PI, TAU};
    let w = a - TAU * ((a + PI) / TAU).floor();
    if w <= -PI { w + TAU } else { w }
}
