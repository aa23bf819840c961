//! LiDAR front end: one point cloud in, object boxes out.
//!
//! 1. Transform every point to the vehicle frame and keep it in an arena,
//!    noting the lowest point of each 2 m ground cell.
//! 2. Fit the ground plane to those minima (RANSAC, then least squares).
//! 3. Mark the fine BEV cells of points between `ground_clearance` and
//!    `max_object_height` above the plane.
//! 4. Connected components of marked cells are clusters.
//! 5. An L-shape fit gives each cluster an oriented box.
//!
//! Every buffer is allocated once at the size the range and cell size
//! imply and reused, so a frame allocates nothing. Nothing here depends on
//! anything but the input, so native and Wasm agree bit for bit.

mod ground;
mod lshape;

use crate::geometry::MinMax;
use alloc::vec;
use alloc::vec::Vec;

use fusion_msgs::PointCloudView;

use crate::detection::{Detection, source};
use crate::geometry::Extrinsics;
use crate::params::Params;

pub use ground::Plane;
pub use lshape::{Rect, axis_angle};

/// Side of a ground-estimation cell (m).
const GROUND_CELL_M: f64 = 2.0;
/// Points transformed together (a multiple of every SIMD width).
const BLOCK: usize = 16;
/// One point in this many is sampled for the ground cell minima.
const GROUND_SAMPLE_STRIDE: usize = 8;

/// Per-cell accumulators of the fine grid; valid when `stamp` is the
/// current frame's.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    stamp: u32,
    count: u32,
    sum_x: f32,
    sum_y: f32,
    max_h: f32,
    /// Index of the cell in `occupied`, for the union-find.
    slot: u32,
}

/// Transformed points as structure of arrays, in whole blocks. Every
/// point of the cloud is kept, in range or not: dropping points would cost
/// a compaction per point, while the range test costs nothing folded into
/// the height test. Lanes past the last point hold NaN heights.
#[derive(Debug, Default)]
struct Points {
    x: Vec<[f32; BLOCK]>,
    y: Vec<[f32; BLOCK]>,
    z: Vec<[f32; BLOCK]>,
}

impl Points {
    /// Empties the arena; its memory is kept for the next frame.
    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.z.clear();
    }

    /// The points in blocks.
    fn blocks(&self) -> impl Iterator<Item = (&[f32; BLOCK], &[f32; BLOCK], &[f32; BLOCK])> {
        self.x
            .iter()
            .zip(&self.y)
            .zip(&self.z)
            .map(|((x, y), z)| (x, y, z))
    }
}

/// Maps a point within range to its fine cell, without a float-to-int
/// conversion (Wasm's saturating conversion is a long instruction
/// sequence): adding 2^23 to a value below 2^22 leaves its integer part,
/// rounded to nearest, in the low mantissa bits.
#[derive(Debug, Clone, Copy)]
pub(super) struct CellIndex {
    inv: f32,
    /// `range / cell - 0.5`: rounding `v - 0.5` to nearest is `floor(v)`.
    offset: f32,
    last: u32,
    per_side: u32,
}

impl CellIndex {
    const MAGIC: f32 = 8_388_608.0;

    pub(super) fn new(range: f32, cell: f32, per_side: usize) -> Self {
        let inv = 1.0 / cell;
        CellIndex {
            inv,
            offset: range * inv - 0.5,
            last: per_side as u32 - 1,
            per_side: per_side as u32,
        }
    }

    /// The cell index along one axis, clamped to the grid.
    #[inline(always)]
    fn axis(&self, v: f32) -> u32 {
        let t = (v * self.inv + self.offset).fmax(0.0) + Self::MAGIC;
        (t.to_bits() & 0x007f_ffff).min(self.last)
    }

    #[inline(always)]
    pub(super) fn of(&self, x: f32, y: f32) -> u32 {
        self.axis(y) * self.per_side + self.axis(x)
    }
}

/// Points of one cell seen one after another, summed before they are added
/// to the cell.
#[derive(Debug, Clone, Copy)]
struct Run {
    idx: u32,
    count: u32,
    sum_x: f32,
    sum_y: f32,
    max_h: f32,
}

impl Default for Run {
    fn default() -> Self {
        Run::start(u32::MAX, 0.0)
    }
}

impl Run {
    #[inline(always)]
    fn start(idx: u32, h: f32) -> Self {
        Run {
            idx,
            count: 0,
            sum_x: 0.0,
            sum_y: 0.0,
            max_h: h,
        }
    }

    #[inline(always)]
    fn add(&mut self, x: f32, y: f32, h: f32) {
        self.count += 1;
        self.sum_x += x;
        self.sum_y += y;
        self.max_h = self.max_h.max1(h);
    }

    /// The lanes of a block set in `lanes`, all in cell `idx`. The sums
    /// run as four lanes of four, an order both builds share, so the
    /// compiler can keep them in one vector register.
    #[inline(always)]
    fn of_block(
        idx: u32,
        lanes: u32,
        x: &[f32; BLOCK],
        y: &[f32; BLOCK],
        h: &[f32; BLOCK],
    ) -> Self {
        let (mut sx, mut sy, mut top) = ([0.0f32; 4], [0.0f32; 4], [f32::NEG_INFINITY; 4]);
        for k in 0..BLOCK / 4 {
            for j in 0..4 {
                let i = 4 * k + j;
                let on = lanes & (1 << i) != 0;
                sx[j] += if on { x[i] } else { 0.0 };
                sy[j] += if on { y[i] } else { 0.0 };
                top[j] = top[j].fmax(if on { h[i] } else { f32::NEG_INFINITY });
            }
        }
        Run {
            idx,
            count: lanes.count_ones(),
            sum_x: (sx[0] + sx[1]) + (sx[2] + sx[3]),
            sum_y: (sy[0] + sy[1]) + (sy[2] + sy[3]),
            max_h: top[0].fmax(top[1]).fmax(top[2].fmax(top[3])),
        }
    }

    /// Adds another run of the same cell.
    #[inline(always)]
    fn merge(&mut self, other: &Run) {
        self.count += other.count;
        self.sum_x += other.sum_x;
        self.sum_y += other.sum_y;
        self.max_h = self.max_h.max1(other.max_h);
    }

    /// Adds the run to its cell, claiming the cell on its first run this
    /// frame.
    fn flush(&self, cells: &mut [Cell], occupied: &mut Vec<u32>, stamp: u32) {
        if self.count == 0 {
            return;
        }
        let cell = &mut cells[self.idx as usize];
        if cell.stamp != stamp {
            *cell = Cell {
                stamp,
                slot: occupied.len() as u32,
                max_h: self.max_h,
                ..Cell::default()
            };
            occupied.push(self.idx);
        }
        cell.count += self.count;
        cell.sum_x += self.sum_x;
        cell.sum_y += self.sum_y;
        cell.max_h = cell.max_h.max1(self.max_h);
    }
}

/// Heights of a block's points above the plane `[a, b, c]` into `h`, and
/// the lanes in range and between `clearance` and `max_height` above it
/// (`limits` is `[clearance, max_height, range^2]`) as bits. Every
/// comparison is false for NaN, so non-finite points are never set.
#[inline(always)]
fn heights_above(
    x: &[f32; BLOCK],
    y: &[f32; BLOCK],
    z: &[f32; BLOCK],
    [a, b, c]: [f32; 3],
    [clearance, max_height, range2]: [f32; 3],
    h: &mut [f32; BLOCK],
) -> u32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        // The same lane arithmetic, but the mask comes from `bitmask`
        // (one `movmskps`): LLVM builds it from the shifted bools with
        // per-lane constants and an OR reduction in the Wasm build.
        use core::arch::wasm32::*;
        let (av, bv, cv) = (f32x4_splat(a), f32x4_splat(b), f32x4_splat(c));
        let (lo, hi, r2) = (
            f32x4_splat(clearance),
            f32x4_splat(max_height),
            f32x4_splat(range2),
        );
        let mut above = 0u32;
        for g in 0..BLOCK / 4 {
            let i = 4 * g;
            let xv = f32x4(x[i], x[i + 1], x[i + 2], x[i + 3]);
            let yv = f32x4(y[i], y[i + 1], y[i + 2], y[i + 3]);
            let zv = f32x4(z[i], z[i + 1], z[i + 2], z[i + 3]);
            let hv = f32x4_sub(
                zv,
                f32x4_add(f32x4_add(f32x4_mul(av, xv), f32x4_mul(bv, yv)), cv),
            );
            h[i] = f32x4_extract_lane::<0>(hv);
            h[i + 1] = f32x4_extract_lane::<1>(hv);
            h[i + 2] = f32x4_extract_lane::<2>(hv);
            h[i + 3] = f32x4_extract_lane::<3>(hv);
            let inside = f32x4_lt(f32x4_add(f32x4_mul(xv, xv), f32x4_mul(yv, yv)), r2);
            let on = v128_and(inside, v128_and(f32x4_ge(hv, lo), f32x4_le(hv, hi)));
            above |= u32::from(i32x4_bitmask(on) as u8) << i;
        }
        above
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let mut above = 0u32;
        for i in 0..BLOCK {
            h[i] = z[i] - (a * x[i] + b * y[i] + c);
            let inside = x[i] * x[i] + y[i] * y[i] < range2;
            above |= u32::from(inside & (h[i] >= clearance) & (h[i] <= max_height)) << i;
        }
        above
    }
}

/// The lanes of `idx` that differ from `value`, as bits.
#[inline(always)]
fn lanes_not_equal(idx: &[u32; BLOCK], value: u32) -> u32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let v = u32x4_splat(value);
        let mut bits = 0u32;
        for g in 0..BLOCK / 4 {
            let i = 4 * g;
            let lanes = u32x4(idx[i], idx[i + 1], idx[i + 2], idx[i + 3]);
            bits |= u32::from(i32x4_bitmask(i32x4_ne(lanes, v)) as u8) << i;
        }
        bits
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let mut bits = 0u32;
        for (i, &cell) in idx.iter().enumerate() {
            bits |= u32::from(cell != value) << i;
        }
        bits
    }
}

/// The LiDAR pipeline with its preallocated buffers.
pub struct LidarFrontEnd {
    range: f32,
    cell: f32,
    clearance: f32,
    max_height: f32,
    min_points: u32,
    max_extent: f64,
    position_variance: f64,
    cells_per_side: usize,
    cells: Vec<Cell>,
    ground: ground::GroundGrid,
    stamp: u32,
    /// Transformed points in range, vehicle frame.
    points: Points,
    /// Fine cells marked this frame, in first-seen order.
    occupied: Vec<u32>,
    /// Union-find parents, by position in `occupied`.
    parent: Vec<u32>,
    /// Cluster id of each union-find root (u32::MAX: not a root seen yet).
    root_cluster: Vec<u32>,
    /// Cluster id of each occupied cell.
    cell_cluster: Vec<u32>,
    /// Write position of each cluster while grouping.
    cursor: Vec<u32>,
    /// Cell indices grouped by cluster (counting sort).
    by_cluster: Vec<u32>,
    cluster_start: Vec<u32>,
    fit: lshape::LShape,
}

impl LidarFrontEnd {
    /// Allocates every buffer for the configured range and cell size.
    pub fn new(p: &Params) -> Self {
        let cells_per_side = libm::ceil(2.0 * p.lidar_range / p.grid_cell) as usize;
        LidarFrontEnd {
            range: p.lidar_range as f32,
            cell: p.grid_cell as f32,
            clearance: p.ground_clearance as f32,
            max_height: p.max_object_height as f32,
            min_points: p.min_cluster_points as u32,
            max_extent: p.max_cluster_extent,
            position_variance: p.lidar_position_sigma * p.lidar_position_sigma,
            cells_per_side,
            cells: vec![Cell::default(); cells_per_side * cells_per_side],
            ground: ground::GroundGrid::new(p.lidar_range, GROUND_CELL_M, p.max_ground_slope),
            stamp: 0,
            points: Points::default(),
            occupied: Vec::new(),
            parent: Vec::new(),
            root_cluster: Vec::new(),
            cell_cluster: Vec::new(),
            cursor: Vec::new(),
            by_cluster: Vec::new(),
            cluster_start: Vec::new(),
            fit: lshape::LShape::new(p.lshape_step),
        }
    }

    /// Finds the objects of one cloud and appends them to `out`. Returns
    /// the ground plane it fitted.
    pub fn process(
        &mut self,
        cloud: &PointCloudView<'_>,
        extrinsics: &Extrinsics,
        out: &mut Vec<Detection>,
    ) -> Plane {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // After 2^32 frames every stale stamp could look current.
            self.cells.iter_mut().for_each(|c| c.stamp = 0);
            self.stamp = 1;
        }
        self.collect_points(cloud, extrinsics);
        let plane = self.ground.fit();
        self.mark_cells(&plane);
        self.cluster();
        self.fit_boxes(&plane, out);
        plane
    }

    // Out of line: each stage shows in profiles under its own name.
    #[inline(never)]
    fn collect_points(&mut self, cloud: &PointCloudView<'_>, e: &Extrinsics) {
        let mut ground = self.ground.start_frame();
        self.points.clear();
        let Ok(xyz) = cloud.points::<f32, 3>(["x", "y", "z"]) else {
            return;
        };
        let r = e.rotation.map(|v| v as f32);
        let t = e.translation.map(|v| v as f32);
        // black_box: without it the Wasm build converts the f64 matrix to
        // f32 again for every point instead of once.
        let rows = core::hint::black_box([
            [r[(0, 0)], r[(0, 1)], r[(0, 2)], t.x],
            [r[(1, 0)], r[(1, 1)], r[(1, 2)], t.y],
            [r[(2, 0)], r[(2, 1)], r[(2, 2)], t.z],
        ]);
        let range2 = self.range * self.range;
        // Blocks of points as structure-of-arrays: the transform runs as
        // fixed-length loops the compiler turns into SIMD.
        let mut points = xyz.iter();
        let mut block = [[0.0f32; BLOCK]; 3];
        let mut blocks = 0usize;
        loop {
            let n = points.next_block(&mut block);
            if n == 0 {
                break;
            }
            let [xs, ys, zs] = &block;
            let [r0, r1, r2] = &rows;
            let (mut a, mut b, mut c) = ([0.0f32; BLOCK], [0.0f32; BLOCK], [0.0f32; BLOCK]);
            for i in 0..BLOCK {
                a[i] = r0[0] * xs[i] + r0[1] * ys[i] + r0[2] * zs[i] + r0[3];
                b[i] = r1[0] * xs[i] + r1[1] * ys[i] + r1[2] * zs[i] + r1[3];
                c[i] = r2[0] * xs[i] + r2[1] * ys[i] + r2[2] * zs[i] + r2[3];
            }
            // Only the last block is partial: a branch taken once costs
            // less than a lane select in every block.
            if n < BLOCK {
                c[n..].fill(f32::NAN);
            }
            self.points.x.push(a);
            self.points.y.push(b);
            self.points.z.push(c);
            // Cell minima need a fraction of a dense scan. The sampled
            // lanes shift from block to block, and once more every 8
            // blocks: a scan column is often a whole number of blocks, and
            // fixed lanes would sample the same beams in every column.
            // They are read back from the arena: indexing the block
            // arrays with a variable lane would keep them in memory (on
            // the Wasm stack) instead of in vector registers.
            let shift = (blocks + blocks / 8) % GROUND_SAMPLE_STRIDE;
            blocks += 1;
            if let (Some(a), Some(b), Some(c)) = (
                self.points.x.last(),
                self.points.y.last(),
                self.points.z.last(),
            ) {
                for k in 0..BLOCK / GROUND_SAMPLE_STRIDE {
                    let l = (shift + k * GROUND_SAMPLE_STRIDE) % BLOCK;
                    // False for NaN: non-finite points are left out.
                    let keep = (a[l] * a[l] + b[l] * b[l] < range2) & c[l].is_finite();
                    let z = if keep { c[l] } else { f32::INFINITY };
                    ground.observe(a[l], b[l], z);
                }
            }
            if n < BLOCK {
                break;
            }
        }
    }

    // Out of line: each stage shows in profiles under its own name.
    #[inline(never)]
    fn mark_cells(&mut self, plane: &Plane) {
        self.occupied.clear();
        let (a, b, c) = (plane.a as f32, plane.b as f32, plane.c as f32);
        let (clearance, max_height) = (self.clearance, self.max_height);
        let range2 = self.range * self.range;
        let index = CellIndex::new(self.range, self.cell, self.cells_per_side);
        // Consecutive points mostly fall in one cell (a scan column up a
        // vehicle's side): sum them in registers and touch the grid once
        // per run rather than once per point.
        let mut run = Run::default();
        let points = &self.points;
        for (x, y, z) in points.blocks() {
            // Most blocks are mixed: test all lanes at once, visit only the
            // lanes in range and above the ground. Every comparison is
            // false for NaN, so non-finite points are never marked.
            let mut h = [0.0f32; BLOCK];
            let mut above =
                heights_above(x, y, z, [a, b, c], [clearance, max_height, range2], &mut h);
            if above == 0 {
                continue;
            }
            let mut idx = [0u32; BLOCK];
            for i in 0..BLOCK {
                idx[i] = index.of(x[i], y[i]);
            }
            // A column of points up a vertical surface falls in one cell:
            // then the whole block is summed at once, in vector registers.
            let first = idx[above.trailing_zeros() as usize % BLOCK];
            let elsewhere = lanes_not_equal(&idx, first);
            if elsewhere & above == 0 {
                let block = Run::of_block(first, above, x, y, &h);
                if first != run.idx {
                    run.flush(&mut self.cells, &mut self.occupied, self.stamp);
                    run = block;
                } else {
                    run.merge(&block);
                }
                continue;
            }
            while above != 0 {
                let i = above.trailing_zeros() as usize % BLOCK;
                above &= above - 1;
                if idx[i] != run.idx {
                    run.flush(&mut self.cells, &mut self.occupied, self.stamp);
                    run = Run::start(idx[i], h[i]);
                }
                run.add(x[i], y[i], h[i]);
            }
        }
        run.flush(&mut self.cells, &mut self.occupied, self.stamp);
    }

    /// Union-find over 8-connected occupied cells.
    // Out of line: each stage shows in profiles under its own name.
    #[inline(never)]
    fn cluster(&mut self) {
        let n = self.cells_per_side;
        self.parent.clear();
        self.parent.extend(0..self.occupied.len() as u32);
        for k in 0..self.occupied.len() {
            let idx = self.occupied[k] as usize;
            let (ix, iy) = (idx % n, idx / n);
            for (dx, dy) in [(-1isize, -1isize), (0, -1), (1, -1), (-1, 0)] {
                let (jx, jy) = (ix as isize + dx, iy as isize + dy);
                if jx < 0 || jy < 0 || jx >= n as isize {
                    continue;
                }
                let other = &self.cells[jy as usize * n + jx as usize];
                if other.stamp == self.stamp {
                    union(&mut self.parent, k as u32, other.slot);
                }
            }
        }
        // Cluster ids in first-seen order of their roots.
        self.root_cluster.clear();
        self.root_cluster.resize(self.occupied.len(), u32::MAX);
        self.cell_cluster.clear();
        let mut clusters = 0u32;
        for k in 0..self.occupied.len() {
            let root = find(&mut self.parent, k as u32) as usize;
            if self.root_cluster[root] == u32::MAX {
                self.root_cluster[root] = clusters;
                clusters += 1;
            }
            self.cell_cluster.push(self.root_cluster[root]);
        }
        // Group the cells by cluster (a counting sort, stable in cell order).
        self.cluster_start.clear();
        self.cluster_start.resize(clusters as usize + 1, 0);
        for &id in &self.cell_cluster {
            self.cluster_start[id as usize + 1] += 1;
        }
        for i in 1..self.cluster_start.len() {
            self.cluster_start[i] += self.cluster_start[i - 1];
        }
        self.cursor.clear();
        self.cursor
            .extend_from_slice(&self.cluster_start[..clusters as usize]);
        self.by_cluster.clear();
        self.by_cluster.resize(self.occupied.len(), 0);
        for (&cell, &id) in self.occupied.iter().zip(&self.cell_cluster) {
            let at = &mut self.cursor[id as usize];
            self.by_cluster[*at as usize] = cell;
            *at += 1;
        }
    }

    // Out of line: each stage shows in profiles under its own name.
    #[inline(never)]
    fn fit_boxes(&mut self, plane: &Plane, out: &mut Vec<Detection>) {
        for c in 0..self.cluster_start.len().saturating_sub(1) {
            let cells = &self.by_cluster
                [self.cluster_start[c] as usize..self.cluster_start[c + 1] as usize];
            let count: u32 = cells.iter().map(|&i| self.cells[i as usize].count).sum();
            if count < self.min_points {
                continue;
            }
            self.fit.clear();
            let mut top = 0.0f64;
            for &i in cells {
                let cell = &self.cells[i as usize];
                let w = f64::from(cell.count);
                self.fit
                    .push(f64::from(cell.sum_x) / w, f64::from(cell.sum_y) / w);
                top = top.max1(f64::from(cell.max_h));
            }
            let Some(rect) = self.fit.fit(f64::from(self.cell)) else {
                continue;
            };
            if rect.length > self.max_extent || rect.width > self.max_extent {
                continue;
            }
            let ground_z = plane.height_at(rect.cx, rect.cy);
            out.push(Detection {
                x: rect.cx,
                y: rect.cy,
                z: ground_z + top / 2.0,
                length: rect.length,
                width: rect.width,
                height: top,
                yaw: rect.yaw,
                yaw_sign_known: false,
                position_variance: self.position_variance,
                label: 0,
                label_probability: 0.0,
                radial: None,
                sources: source::LIDAR,
            });
        }
    }
}

fn find(parent: &mut [u32], mut k: u32) -> u32 {
    while parent[k as usize] != k {
        let grand = parent[parent[k as usize] as usize];
        parent[k as usize] = grand;
        k = grand;
    }
    k
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The smaller index wins, so the result does not depend on call order.
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fusion_msgs::{PointCloudBuilder, PointFieldType};

    /// A cloud of `n` points in a row at 1 m above the ground, where every
    /// 7th point is out of range and every 11th is NaN.
    fn row_of_points(n: usize) -> Vec<u8> {
        let layout = [
            ("x", PointFieldType::F32),
            ("y", PointFieldType::F32),
            ("z", PointFieldType::F32),
        ];
        let mut b = PointCloudBuilder::new(&layout);
        for i in 0..n {
            let x = if i % 7 == 3 { 500.0 } else { i as f64 * 0.31 };
            let z = if i % 11 == 5 { f64::NAN } else { 1.0 };
            b.push(&[x, 1.0, z]);
        }
        fusion_msgs::encode(&b.build(Default::default())).unwrap()
    }

    #[test]
    fn every_finite_point_in_range_is_marked_whatever_the_block_size() {
        for n in [0usize, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5] {
            let bytes = row_of_points(n);
            let cloud = PointCloudView::from_cdr(&bytes).unwrap();
            let identity = Extrinsics::from_pose(&Default::default()).unwrap();
            let mut lidar = LidarFrontEnd::new(&Params::default());
            lidar.stamp = 1;
            lidar.collect_points(&cloud, &identity);
            lidar.mark_cells(&Plane::default());
            let marked: u32 = lidar
                .occupied
                .iter()
                .map(|&i| lidar.cells[i as usize].count)
                .sum();
            let expected = (0..n).filter(|i| i % 7 != 3 && i % 11 != 5).count();
            assert_eq!(marked as usize, expected, "{n} points");
            // 0.31 m apart along x, one per 0.3 m cell: cells in point order.
            let xs: Vec<f32> = lidar
                .occupied
                .iter()
                .map(|&i| {
                    let c = &lidar.cells[i as usize];
                    c.sum_x / c.count as f32
                })
                .collect();
            let want: Vec<f32> = (0..n)
                .filter(|i| i % 7 != 3 && i % 11 != 5)
                .map(|i| (i as f64 * 0.31) as f32)
                .collect();
            assert_eq!(xs, want, "{n} points, in order");
        }
    }

    #[test]
    fn a_cell_index_is_the_floor_of_the_position_in_cells() {
        let index = CellIndex::new(80.0, 0.3, 534);
        for &(x, want) in &[
            (-80.0f32, 0u32),
            (-79.71, 0),
            (-79.69, 1),
            (0.0, 266),
            (0.1, 266),
            (79.8, 532),
            (79.95, 533),
            (500.0, 533),
            (f32::NAN, 0),
        ] {
            assert_eq!(index.axis(x), want, "x = {x}");
        }
    }
}
