//! Rigid transforms and the pinhole camera, on nalgebra.

use nalgebra::{Matrix3, Quaternion, UnitQuaternion, Vector3};

use fusion_msgs::geometry_msgs::Pose;

/// Sensor frame -> vehicle frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extrinsics {
    /// Rotation of the sensor axes in the vehicle frame.
    pub rotation: Matrix3<f64>,
    /// Sensor origin in the vehicle frame.
    pub translation: Vector3<f64>,
}

impl Extrinsics {
    /// From a `geometry_msgs/Pose` (the quaternion is normalised; a zero
    /// quaternion is refused).
    pub fn from_pose(pose: &Pose) -> Option<Self> {
        let o = &pose.orientation;
        let q = Quaternion::new(o.w, o.x, o.y, o.z);
        let norm = sqrt(q.norm_squared());
        let p = &pose.position;
        let finite = [o.w, o.x, o.y, o.z, p.x, p.y, p.z]
            .iter()
            .all(|v| v.is_finite());
        if !finite || norm < 1e-9 {
            return None;
        }
        let unit = UnitQuaternion::new_unchecked(q / norm);
        Some(Extrinsics {
            rotation: *unit.to_rotation_matrix().matrix(),
            translation: Vector3::new(p.x, p.y, p.z),
        })
    }

    /// A point of the sensor frame in the vehicle frame.
    #[inline(always)]
    pub fn apply(&self, p: Vector3<f64>) -> Vector3<f64> {
        self.rotation * p + self.translation
    }

    /// A point of the vehicle frame in the sensor frame.
    #[inline(always)]
    pub fn invert(&self, p: Vector3<f64>) -> Vector3<f64> {
        self.rotation.transpose() * (p - self.translation)
    }
}

/// A calibrated pinhole camera in its optical frame (x right, y down, z
/// forward).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Optical frame -> vehicle frame.
    pub extrinsics: Extrinsics,
    /// Focal lengths and principal point (px).
    pub fx: f64,
    /// Focal length (px).
    pub fy: f64,
    /// Principal point (px).
    pub cx: f64,
    /// Principal point (px).
    pub cy: f64,
    /// Image size (px).
    pub width: f64,
    /// Image size (px).
    pub height: f64,
}

/// Points nearer than this in front of the camera do not project.
const MIN_DEPTH: f64 = 0.1;

impl Camera {
    /// Projects a vehicle-frame point to pixels, if it is in front.
    pub fn project(&self, p: Vector3<f64>) -> Option<(f64, f64)> {
        self.project_optical(self.extrinsics.invert(p))
    }

    /// Projects a point of the optical frame, if it is in front.
    pub fn project_optical(&self, c: Vector3<f64>) -> Option<(f64, f64)> {
        (c.z > MIN_DEPTH).then(|| (self.fx * c.x / c.z + self.cx, self.fy * c.y / c.z + self.cy))
    }

    /// Where the segment `a`-`b` (optical frame) crosses the near plane,
    /// when exactly one end is in front of it.
    pub fn near_plane_crossing(a: Vector3<f64>, b: Vector3<f64>) -> Option<Vector3<f64>> {
        let (fa, fb) = (a.z > MIN_DEPTH, b.z > MIN_DEPTH);
        (fa != fb).then(|| {
            let t = (MIN_DEPTH - a.z) / (b.z - a.z);
            a + (b - a) * t + Vector3::new(0.0, 0.0, 1e-9)
        })
    }
}

/// An axis-aligned image rectangle (px).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
}

impl Rect {
    /// Area, zero when empty (and when an edge is NaN).
    pub fn area(&self) -> f64 {
        // Compare-and-select (`f64::max` is a library call in Wasm, made
        // for every pair of boxes the camera matcher compares).
        (self.x1 - self.x0).max1(0.0) * (self.y1 - self.y0).max1(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, other: &Rect) -> f64 {
        let inter = Rect {
            x0: self.x0.max1(other.x0),
            y0: self.y0.max1(other.y0),
            x1: self.x1.min1(other.x1),
            y1: self.y1.min1(other.y1),
        }
        .area();
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// `(sin(a), cos(a))` with one argument reduction: libm's `sincos` runs
/// the same kernels on the same reduced argument as `sin` and `cos`, so the
/// bits are theirs, at about half the cost (trigonometry is twice as slow
/// in the Wasm build as natively).
#[inline(always)]
pub fn sin_cos(a: f64) -> (f64, f64) {
    libm::sincos(a)
}

/// Wraps an angle to (-pi, pi].
pub fn wrap_angle(a: f64) -> f64 {
    let two_pi = 2.0 * core::f64::consts::PI;
    let w = a - two_pi * libm::floor((a + core::f64::consts::PI) / two_pi);
    if w <= -core::f64::consts::PI {
        w + two_pi
    } else {
        w
    }
}

/// The square root, correctly rounded as IEEE 754 requires, so both builds
/// agree bit for bit: the hardware instruction natively, and Wasm's
/// `f64x2.sqrt` in the Wasm build, where `libm::sqrt` would be a software
/// loop of 128-bit multiplications.
#[inline(always)]
pub fn sqrt(x: f64) -> f64 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::{f64x2_extract_lane, f64x2_splat, f64x2_sqrt};
        f64x2_extract_lane::<0>(f64x2_sqrt(f64x2_splat(x)))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        x.sqrt()
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    {
        libm::sqrt(x)
    }
}

/// `min` and `max` as a compare and a select: `if a < b { a } else { b }`,
/// which is the second operand when they are unordered. `f64::min`
/// follows IEEE minNum instead, which Wasm has no instruction for, so the
/// Wasm build would call a library function.
///
/// Two forms with the same results, bit for bit, NaN included:
/// - `fmin`/`fmax`, the plain expression, for loops the compiler
///   vectorises: they become `minps`/`pmin` on whole vectors;
/// - `min1`/`max1` for scalar code. Natively the expression compiles to
///   `minsd`/`maxsd`, but in Wasm it is a `select`, which Cranelift turns
///   into a branch, mispredicted in loops over point data. Wasm's
///   `f64x2.pmin`/`pmax` are defined as exactly this compare-and-select
///   and become `minpd`/`maxpd`, so the Wasm build uses them on one lane.
pub trait MinMax: Copy {
    /// The smaller of the two (the second one when they are unordered).
    fn fmin(self, other: Self) -> Self;
    /// The larger of the two (the second one when they are unordered).
    fn fmax(self, other: Self) -> Self;
    /// `fmin`, branch-free in scalar Wasm code.
    fn min1(self, other: Self) -> Self;
    /// `fmax`, branch-free in scalar Wasm code.
    fn max1(self, other: Self) -> Self;
}

macro_rules! min_max {
    ($t:ty, $splat:ident, $pmin:ident, $pmax:ident, $extract:ident) => {
        impl MinMax for $t {
            #[inline(always)]
            fn fmin(self, other: $t) -> $t {
                if self < other { self } else { other }
            }
            #[inline(always)]
            fn fmax(self, other: $t) -> $t {
                if self > other { self } else { other }
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            #[inline(always)]
            fn min1(self, other: $t) -> $t {
                use core::arch::wasm32::*;
                // pmin(a, b) is `b < a ? b : a`.
                $extract::<0>($pmin($splat(other), $splat(self)))
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            #[inline(always)]
            fn max1(self, other: $t) -> $t {
                use core::arch::wasm32::*;
                // pmax(a, b) is `a < b ? b : a`.
                $extract::<0>($pmax($splat(other), $splat(self)))
            }
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            #[inline(always)]
            fn min1(self, other: $t) -> $t {
                self.fmin(other)
            }
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            #[inline(always)]
            fn max1(self, other: $t) -> $t {
                self.fmax(other)
            }
        }
    };
}

min_max!(f64, f64x2_splat, f64x2_pmin, f64x2_pmax, f64x2_extract_lane);
min_max!(f32, f32x4_splat, f32x4_pmin, f32x4_pmax, f32x4_extract_lane);

#[cfg(test)]
mod min_max_tests {
    use super::MinMax;

    #[test]
    fn min_and_max_return_the_second_operand_when_unordered() {
        for (a, b) in [
            (1.0f64, 2.0),
            (2.0, 1.0),
            (f64::NAN, 1.0),
            (1.0, f64::NAN),
            (-0.0, 0.0),
        ] {
            assert_eq!(a.min1(b).to_bits(), a.fmin(b).to_bits());
            assert_eq!(a.max1(b).to_bits(), a.fmax(b).to_bits());
        }
        let nan = f64::NAN;
        assert_eq!(1.0f64.fmin(2.0), 1.0);
        assert_eq!(2.0f64.fmin(1.0), 1.0);
        assert_eq!(1.0f64.fmax(2.0), 2.0);
        assert!(1.0f64.fmin(nan).is_nan());
        assert_eq!(nan.fmin(1.0), 1.0);
        assert_eq!(nan.fmax(1.0f64), 1.0);
        assert!(1.0f64.fmax(nan).is_nan());
        assert_eq!(f32::NAN.fmax(0.0f32), 0.0);
        // Equal operands, signs of zero: the second one.
        assert!((-0.0f64).fmin(0.0).is_sign_positive());
        assert!(0.0f64.fmax(-0.0).is_sign_negative());
    }
}
