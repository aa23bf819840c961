//! Oriented boxes for clusters: the L-shape fit of Zhang et al. (2017),
//! "Efficient L-Shape Fitting for Vehicle Detection Using Laser Scanners",
//! with the closeness criterion, which favours the edges a sensor sees.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
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

/// Reusable point buffer of the fit, and the directions it tries.
#[derive(Debug)]
pub(super) struct LShape {
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Steps each side of the best coarse angle.
    fine: i32,
    /// (theta, cos, sin) of the coarse angles, then for each coarse angle
    /// its fine neighbours: the angles are the same for every cluster, so
    /// their cosines and sines are computed once (with the same
    /// expressions, so the same bits) instead of per cluster.
    coarse: Vec<(f64, f64, f64)>,
    fine_angles: Vec<(f64, f64, f64)>,
}

/// An angle with its cosine and sine.
fn direction(theta: f64) -> (f64, f64, f64) {
    let (sin, cos) = crate::geometry::sin_cos(theta);
    (theta, cos, sin)
}

impl LShape {
    /// A fit searching in fine steps of `step` (rad).
    pub(super) fn new(step: f64) -> Self {
        let coarse: Vec<_> = (0..libm::ceil(FRAC_PI_2 / COARSE_STEP) as u32)
            .map(|i| direction(f64::from(i) * COARSE_STEP))
            .collect();
        let fine = libm::ceil(COARSE_STEP / step) as i32;
        let fine_angles = coarse
            .iter()
            .flat_map(|&(around, _, _)| {
                (-fine..=fine).map(move |i| direction(around + f64::from(i) * step))
            })
            .collect();
        LShape {
            xs: Vec::new(),
            ys: Vec::new(),
            fine,
            coarse,
            fine_angles,
        }
    }

    pub(super) fn clear(&mut self) {
        self.xs.clear();
        self.ys.clear();
    }

    pub(super) fn push(&mut self, x: f64, y: f64) {
        self.xs.push(x);
        self.ys.push(y);
    }

    /// Projects on (cos t, sin t) and its normal: (min1, max1, min2, max2).
    /// Four points per iteration, folded in point order (the same result
    /// as one at a time): the Wasm build then checks for interruption and
    /// moves its accumulators through memory once per four points.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn extents(&self, cos: f64, sin: f64) -> (f64, f64, f64, f64) {
        let mut e = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let add = |x: f64, y: f64, e: &mut (f64, f64, f64, f64)| {
            let (c1, c2) = (x * cos + y * sin, -x * sin + y * cos);
            *e = (e.0.min1(c1), e.1.max1(c1), e.2.min1(c2), e.3.max1(c2));
        };
        let (xs, x_rest) = self.xs.as_chunks::<4>();
        let (ys, y_rest) = self.ys.as_chunks::<4>();
        for (x, y) in xs.iter().zip(ys) {
            for i in 0..4 {
                add(x[i], y[i], &mut e);
            }
        }
        for (&x, &y) in x_rest.iter().zip(y_rest) {
            add(x, y, &mut e);
        }
        e
    }

    /// `extents` with both projections of a point in one vector, [c1, c2]:
    /// the same lane arithmetic and fold order, without the splats the
    /// scalar `min1`/`max1` need in Wasm.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn extents(&self, cos: f64, sin: f64) -> (f64, f64, f64, f64) {
        use core::arch::wasm32::*;
        let (lo, hi) = self.extent_vectors(cos, sin);
        (
            f64x2_extract_lane::<0>(lo),
            f64x2_extract_lane::<0>(hi),
            f64x2_extract_lane::<1>(lo),
            f64x2_extract_lane::<1>(hi),
        )
    }

    /// ([min1, min2], [max1, max2]) of the projections [c1, c2].
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn extent_vectors(
        &self,
        cos: f64,
        sin: f64,
    ) -> (core::arch::wasm32::v128, core::arch::wasm32::v128) {
        use core::arch::wasm32::*;
        // c1 = x cos + y sin, c2 = x (-sin) + y cos; x (-sin) is -x sin
        // exactly.
        let (along_x, along_y) = (f64x2(cos, -sin), f64x2(sin, cos));
        let project = |x: f64, y: f64| {
            f64x2_add(
                f64x2_mul(f64x2_splat(x), along_x),
                f64x2_mul(f64x2_splat(y), along_y),
            )
        };
        let (mut lo, mut hi) = (f64x2_splat(f64::MAX), f64x2_splat(f64::MIN));
        // pmin(c, lo) is `lo < c ? lo : c`, the scalar `lo.min1(c)`.
        let mut add = |c: v128| {
            lo = f64x2_pmin(c, lo);
            hi = f64x2_pmax(c, hi);
        };
        let (xs, x_rest) = self.xs.as_chunks::<4>();
        let (ys, y_rest) = self.ys.as_chunks::<4>();
        for (x, y) in xs.iter().zip(ys) {
            for i in 0..4 {
                add(project(x[i], y[i]));
            }
        }
        for (&x, &y) in x_rest.iter().zip(y_rest) {
            add(project(x, y));
        }
        (lo, hi)
    }

    /// The sum of `term(x, y)` over the points, four per iteration and in
    /// point order (both builds must add in the same order to agree on
    /// the bits).
    #[inline(always)]
    fn sum_over_points(&self, term: impl Fn(f64, f64) -> f64) -> f64 {
        let mut score = 0.0;
        let (xs, x_rest) = self.xs.as_chunks::<4>();
        let (ys, y_rest) = self.ys.as_chunks::<4>();
        for (x, y) in xs.iter().zip(ys) {
            let t = [
                term(x[0], y[0]),
                term(x[1], y[1]),
                term(x[2], y[2]),
                term(x[3], y[3]),
            ];
            score = score + t[0] + t[1] + t[2] + t[3];
        }
        for (&x, &y) in x_rest.iter().zip(y_rest) {
            score += term(x, y);
        }
        score
    }

    /// The closeness score of direction (cos, sin); four points per
    /// iteration, summed in point order, as in `extents`.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn closeness(&self, cos: f64, sin: f64) -> f64 {
        let (min1, max1, min2, max2) = self.extents(cos, sin);
        let term = |x: f64, y: f64| {
            let (c1, c2) = (x * cos + y * sin, -x * sin + y * cos);
            let d1 = (max1 - c1).min1(c1 - min1);
            let d2 = (max2 - c2).min1(c2 - min2);
            1.0 / d1.min1(d2).max1(MIN_CLOSENESS_M)
        };
        self.sum_over_points(term)
    }

    /// `closeness` with [c1, c2] and [d1, d2] as vectors: the same lane
    /// arithmetic and summation order.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn closeness(&self, cos: f64, sin: f64) -> f64 {
        use core::arch::wasm32::*;
        let (lo, hi) = self.extent_vectors(cos, sin);
        let (along_x, along_y) = (f64x2(cos, -sin), f64x2(sin, cos));
        let floor = f64x2_splat(MIN_CLOSENESS_M);
        let term = |x: f64, y: f64| {
            let c = f64x2_add(
                f64x2_mul(f64x2_splat(x), along_x),
                f64x2_mul(f64x2_splat(y), along_y),
            );
            // d = (hi - c).min1(c - lo), lane by lane.
            let d = f64x2_pmin(f64x2_sub(c, lo), f64x2_sub(hi, c));
            // d1.min1(d2) in lane 0, then .max1(MIN_CLOSENESS_M).
            let m = f64x2_pmin(i64x2_shuffle::<1, 0>(d, d), d);
            let q = f64x2_pmax(floor, m);
            1.0 / f64x2_extract_lane::<0>(q)
        };
        self.sum_over_points(term)
    }

    /// The best rectangle, searched coarse then fine in steps of `step`
    /// (given to [`LShape::new`]). Extents grow by half a cell: points are
    /// cell means, inset from the outline along it.
    pub(super) fn fit(&self, cell: f64) -> Option<Rect> {
        if self.xs.is_empty() {
            return None;
        }
        // (score, theta, cos, sin); theta 0 if no score beats f64::MIN.
        let mut best = (f64::MIN, 0.0, 1.0, 0.0);
        let mut best_coarse = 0;
        for (k, &(theta, cos, sin)) in self.coarse.iter().enumerate() {
            let score = self.closeness(cos, sin);
            if score > best.0 {
                best = (score, theta, cos, sin);
                best_coarse = k;
            }
        }
        let per_coarse = 2 * self.fine as usize + 1;
        let fine = &self.fine_angles[best_coarse * per_coarse..][..per_coarse];
        for &(theta, cos, sin) in fine {
            let score = self.closeness(cos, sin);
            if score > best.0 {
                best = (score, theta, cos, sin);
            }
        }
        let (_, theta, cos, sin) = best;
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
