//! Oriented boxes for clusters: the L-shape fit of Zhang et al. (2017),
//! "Efficient L-Shape Fitting for Vehicle Detection Using Laser Scanners",
//! with the closeness criterion, which favours the edges a sensor sees.

use crate::geometry::MinMax;
use alloc::vec::Vec;
use core::f64::consts::FRAC_PI_2;

/// Coarse search step before refining around the best angle (rad).
const COARSE_STEP: f64 = 3.0 * core::f64::consts::PI / 180.0;
/// Smallest distance in the closeness criterion, so a point on an edge
/// does not dominate (m).
const MIN_CLOSENESS_M: f64 = 0.05;

/// A fitted rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Centre.
    pub cx: f64,
    /// Centre.
    pub cy: f64,
    /// Longer side.
    pub length: f64,
    /// Shorter side.
    pub width: f64,
    /// Direction of the longer side, in (-pi/2, pi/2].
    pub yaw: f64,
}

/// Reusable point buffer of the fit.
#[derive(Debug, Default)]
pub(super) struct LShape {
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl LShape {
    pub(super) fn clear(&mut self) {
        self.xs.clear();
        self.ys.clear();
    }

    pub(super) fn push(&mut self, x: f64, y: f64) {
        self.xs.push(x);
        self.ys.push(y);
    }

    /// Projects on (cos t, sin t) and its normal: (min1, max1, min2, max2).
    fn extents(&self, cos: f64, sin: f64) -> (f64, f64, f64, f64) {
        let mut e = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (&x, &y) in self.xs.iter().zip(&self.ys) {
            let (c1, c2) = (x * cos + y * sin, -x * sin + y * cos);
            e = (e.0.min1(c1), e.1.max1(c1), e.2.min1(c2), e.3.max1(c2));
        }
        e
    }

    fn closeness(&self, theta: f64) -> f64 {
        let (cos, sin) = (libm::cos(theta), libm::sin(theta));
        let (min1, max1, min2, max2) = self.extents(cos, sin);
        let mut score = 0.0;
        for (&x, &y) in self.xs.iter().zip(&self.ys) {
            let (c1, c2) = (x * cos + y * sin, -x * sin + y * cos);
            let d1 = (max1 - c1).min1(c1 - min1);
            let d2 = (max2 - c2).min1(c2 - min2);
            score += 1.0 / d1.min1(d2).max1(MIN_CLOSENESS_M);
        }
        score
    }

    /// The best rectangle, searched coarse then fine in steps of `step`.
    /// Extents grow by half a cell: points are cell means, inset from the
    /// outline along it.
    pub(super) fn fit(&self, step: f64, cell: f64) -> Option<Rect> {
        if self.xs.is_empty() {
            return None;
        }
        let mut best = (f64::MIN, 0.0);
        let consider = |theta: f64, best: &mut (f64, f64)| {
            let score = self.closeness(theta);
            if score > best.0 {
                *best = (score, theta);
            }
        };
        let coarse = libm::ceil(FRAC_PI_2 / COARSE_STEP) as u32;
        for i in 0..coarse {
            consider(f64::from(i) * COARSE_STEP, &mut best);
        }
        let around = best.1;
        let fine = libm::ceil(COARSE_STEP / step) as i32;
        for i in -fine..=fine {
            consider(around + f64::from(i) * step, &mut best);
        }
        let theta = best.1;
        let (cos, sin) = (libm::cos(theta), libm::sin(theta));
        let (min1, max1, min2, max2) = self.extents(cos, sin);
        let (m1, m2) = ((min1 + max1) / 2.0, (min2 + max2) / 2.0);
        let (ext1, ext2) = (max1 - min1 + cell / 2.0, max2 - min2 + cell / 2.0);
        let (cx, cy) = (m1 * cos - m2 * sin, m1 * sin + m2 * cos);
        let (length, width, yaw) = if ext1 >= ext2 {
            (ext1, ext2, theta)
        } else {
            (ext2, ext1, theta + FRAC_PI_2)
        };
        Some(Rect {
            cx,
            cy,
            length,
            width,
            yaw: axis_angle(yaw),
        })
    }
}

/// An axis direction folded into (-pi/2, pi/2].
pub fn axis_angle(a: f64) -> f64 {
    let a = crate::geometry::wrap_angle(a);
    if a > FRAC_PI_2 {
        a - core::f64::consts::PI
    } else if a <= -FRAC_PI_2 {
        a + core::f64::consts::PI
    } else {
        a
    }
}
