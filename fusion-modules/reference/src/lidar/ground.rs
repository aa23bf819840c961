//! The ground plane, fitted to the lowest point of each coarse BEV cell.

use crate::geometry::MinMax;
use alloc::vec;
use alloc::vec::Vec;

use super::CellIndex;
use crate::lcg::Lcg;
use nalgebra::{Matrix3, Vector3};

/// RANSAC hypotheses per frame.
const RANSAC_ITERATIONS: u32 = 48;
/// A cell minimum within this of the plane supports it (m).
const INLIER_M: f64 = 0.15;

/// `z = a x + b y + c` in the vehicle frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Plane {
    /// Slope along x.
    pub a: f64,
    /// Slope along y.
    pub b: f64,
    /// Height at the origin.
    pub c: f64,
}

impl Plane {
    /// Ground height under (x, y).
    pub fn height_at(&self, x: f64, y: f64) -> f64 {
        self.a * x + self.b * y + self.c
    }
}

/// Takes the points of one frame into a [`GroundGrid`]. A copy of the
/// index and a plain slice: the hot loop then keeps both in registers.
pub(super) struct Observer<'a> {
    index: CellIndex,
    lowest: &'a mut [f32],
}

impl Observer<'_> {
    /// Notes a point; `z` is +inf for points out of range or not finite.
    /// No branch on the data: this runs for a share of every cloud.
    #[inline(always)]
    pub(super) fn observe(&mut self, x: f32, y: f32, z: f32) {
        let idx = self.index.of(x, y) as usize;
        // The index is clamped to the grid: always `Some`.
        if let Some(cell) = self.lowest.get_mut(idx) {
            *cell = cell.min1(z);
        }
    }
}

pub(super) struct GroundGrid {
    range: f32,
    cell: f32,
    index: CellIndex,
    per_side: usize,
    max_slope: f64,
    /// Lowest z of each cell this frame; +inf where no point fell.
    lowest: Vec<f32>,
    /// The cells with points: centre and lowest z, as structure of arrays
    /// so that counting inliers runs on whole vectors.
    minima: Minima,
}

#[derive(Debug)]
struct Minima {
    /// Room for every cell; the first `len` hold minima.
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    len: usize,
}

impl Minima {
    fn with_room(cells: usize) -> Self {
        Minima {
            x: vec![0.0; cells],
            y: vec![0.0; cells],
            z: vec![0.0; cells],
            len: 0,
        }
    }

    /// The minima as (x, y, z) slices.
    fn slices(&self) -> (&[f64], &[f64], &[f64]) {
        let n = self.len;
        (&self.x[..n], &self.y[..n], &self.z[..n])
    }

    fn get(&self, i: usize) -> Vector3<f64> {
        Vector3::new(self.x[i], self.y[i], self.z[i])
    }

    /// How many minima are within `INLIER_M` of `plane`. Eight at a time,
    /// with no branch: each group is a few vector instructions, and the
    /// Wasm build checks for interruption once per group, not per minimum.
    fn inlier_count(&self, plane: &Plane) -> usize {
        const GROUP: usize = 8;
        let (a, b, c) = (plane.a, plane.b, plane.c);
        let near = |x: f64, y: f64, z: f64| u32::from((z - (a * x + b * y + c)).abs() < INLIER_M);
        let (x, y, z) = self.slices();
        let (xs, x_rest) = x.as_chunks::<GROUP>();
        let (ys, y_rest) = y.as_chunks::<GROUP>();
        let (zs, z_rest) = z.as_chunks::<GROUP>();
        let mut count = 0;
        for ((x, y), z) in xs.iter().zip(ys).zip(zs) {
            let mut group = 0;
            for i in 0..GROUP {
                group += near(x[i], y[i], z[i]);
            }
            count += group as usize;
        }
        let rest = x_rest.iter().zip(y_rest).zip(z_rest);
        count
            + rest
                .map(|((&x, &y), &z)| near(x, y, z) as usize)
                .sum::<usize>()
    }

    /// Whether each minimum is within `INLIER_M` of `plane`, in cell order.
    fn inlier_flags<'a>(&'a self, plane: &'a Plane) -> impl Iterator<Item = bool> + 'a {
        let (a, b, c) = (plane.a, plane.b, plane.c);
        let (x, y, z) = self.slices();
        x.iter()
            .zip(y)
            .zip(z)
            .map(move |((&x, &y), &z)| (z - (a * x + b * y + c)).abs() < INLIER_M)
    }
}

impl GroundGrid {
    pub(super) fn new(range: f64, cell: f64, max_slope: f64) -> Self {
        let per_side = libm::ceil(2.0 * range / cell) as usize;
        GroundGrid {
            range: range as f32,
            cell: cell as f32,
            index: CellIndex::new(range as f32, cell as f32, per_side),
            per_side,
            max_slope: libm::tan(max_slope),
            lowest: vec![f32::INFINITY; per_side * per_side],
            minima: Minima::with_room(per_side * per_side),
        }
    }

    /// Forgets the last frame's minima; the returned observer takes this
    /// frame's points.
    pub(super) fn start_frame(&mut self) -> Observer<'_> {
        self.lowest.fill(f32::INFINITY);
        Observer {
            index: self.index,
            lowest: &mut self.lowest,
        }
    }

    /// Collects the cell minima at their cells' centres.
    fn gather(&mut self) {
        let m = &mut self.minima;
        let centre = |i: usize| f64::from((i as f32 + 0.5) * self.cell - self.range);
        // Branch-free: every cell is written at the next free slot, which
        // only advances past cells with a point.
        let mut n = 0;
        let mut put = |ix: usize, cy: f64, z: f32| {
            // n never passes the cell's own index: the slot exists.
            if let (Some(sx), Some(sy), Some(sz)) = (m.x.get_mut(n), m.y.get_mut(n), m.z.get_mut(n))
            {
                (*sx, *sy, *sz) = (centre(ix), cy, f64::from(z));
            }
            n += usize::from(z.is_finite());
        };
        for (iy, row) in self.lowest.chunks_exact(self.per_side).enumerate() {
            let cy = centre(iy);
            // Eight cells per iteration, unrolled: the Wasm build checks
            // for interruption, and reloads what it keeps on the stack,
            // once per eight cells instead of every cell.
            let (groups, rest) = row.as_chunks::<8>();
            for (g, group) in groups.iter().enumerate() {
                for (k, &z) in group.iter().enumerate() {
                    put(8 * g + k, cy, z);
                }
            }
            for (k, &z) in rest.iter().enumerate() {
                put(8 * groups.len() + k, cy, z);
            }
        }
        m.len = n;
    }

    /// RANSAC over the cell minima, refined by least squares on the
    /// inliers. Falls back to z = 0 (base_link is on the ground) when the
    /// data cannot support a plane.
    pub(super) fn fit(&mut self) -> Plane {
        self.gather();
        let n = self.minima.len;
        if n < 3 {
            return Plane::default();
        }
        // A fixed-seed generator: deterministic, and the same every frame.
        let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
        // n is at most the number of cells, far below u32::MAX.
        let mut pick = |n: usize| rng.below(n as u32) as usize;
        let mut best: Option<(usize, Plane)> = None;
        for _ in 0..RANSAC_ITERATIONS {
            let (p, q, r) = (
                self.minima.get(pick(n)),
                self.minima.get(pick(n)),
                self.minima.get(pick(n)),
            );
            let Some(plane) = self.through(p, q, r) else {
                continue;
            };
            let support = self.minima.inlier_count(&plane);
            if best.is_none_or(|(s, _)| support > s) {
                best = Some((support, plane));
            }
        }
        let Some((_, plane)) = best else {
            return Plane::default();
        };
        self.least_squares(&plane)
            .filter(|p| self.slope_ok(p))
            .unwrap_or(plane)
    }

    fn slope_ok(&self, p: &Plane) -> bool {
        crate::geometry::sqrt(p.a * p.a + p.b * p.b) <= self.max_slope
    }

    fn through(&self, p: Vector3<f64>, q: Vector3<f64>, r: Vector3<f64>) -> Option<Plane> {
        let normal = (q - p).cross(&(r - p));
        if normal.z.abs() < 1e-6 {
            return None; // collinear or vertical
        }
        let plane = Plane {
            a: -normal.x / normal.z,
            b: -normal.y / normal.z,
            c: 0.0,
        };
        let plane = Plane {
            c: p.z - plane.a * p.x - plane.b * p.y,
            ..plane
        };
        self.slope_ok(&plane).then_some(plane)
    }

    /// The least-squares plane through the inliers of `plane`.
    fn least_squares(&self, plane: &Plane) -> Option<Plane> {
        let mut ata = Matrix3::<f64>::zeros();
        let mut atb = Vector3::<f64>::zeros();
        let inliers = self.minima.inlier_flags(plane).enumerate();
        for (i, _) in inliers.filter(|&(_, inlier)| inlier) {
            let p = self.minima.get(i);
            let row = Vector3::new(p.x, p.y, 1.0);
            ata += row * row.transpose();
            atb += row * p.z;
        }
        let sol = ata.try_inverse()? * atb;
        sol.iter().all(|v| v.is_finite()).then(|| Plane {
            a: sol.x,
            b: sol.y,
            c: sol.z,
        })
    }
}
