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
/// Every this many points is sampled for the ground cell minima.
const GROUND_SAMPLE_STRIDE: usize = 4;

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

/// The LiDAR pipeline with its preallocated buffers.
pub struct LidarFrontEnd {
    range: f32,
    cell: f32,
    clearance: f32,
    max_height: f32,
    min_points: u32,
    max_extent: f64,
    lshape_step: f64,
    position_variance: f64,
    cells_per_side: usize,
    cells: Vec<Cell>,
    ground: ground::GroundGrid,
    stamp: u32,
    /// Transformed points (x, y, z), vehicle frame.
    points: Vec<[f32; 3]>,
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
            lshape_step: p.lshape_step,
            position_variance: p.lidar_position_sigma * p.lidar_position_sigma,
            cells_per_side,
            cells: vec![Cell::default(); cells_per_side * cells_per_side],
            ground: ground::GroundGrid::new(p.lidar_range, GROUND_CELL_M, p.max_ground_slope),
            stamp: 0,
            points: Vec::new(),
            occupied: Vec::new(),
            parent: Vec::new(),
            root_cluster: Vec::new(),
            cell_cluster: Vec::new(),
            cursor: Vec::new(),
            by_cluster: Vec::new(),
            cluster_start: Vec::new(),
            fit: lshape::LShape::default(),
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

    fn collect_points(&mut self, cloud: &PointCloudView<'_>, e: &Extrinsics) {
        self.ground.start_frame();
        // Write through a plain slice: pushing to the Vec from the closure
        // keeps its length in memory and costs several times more.
        self.points.clear();
        self.points.resize(cloud.len(), [0.0; 3]);
        let Ok(xyz) = cloud.points::<f32, 3>(["x", "y", "z"]) else {
            self.points.clear();
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
        let out = &mut self.points[..];
        let mut kept = 0;
        // Blocks of points as structure-of-arrays: the transform then runs
        // as fixed-length loops the compiler turns into SIMD.
        let mut points = xyz.iter();
        loop {
            let (mut xs, mut ys, mut zs) = ([0.0f32; BLOCK], [0.0f32; BLOCK], [0.0f32; BLOCK]);
            let mut n = 0;
            // The range first: zipped the other way round, the point after
            // a full block would be taken and lost.
            for (i, [x, y, z]) in (0..BLOCK).zip(points.by_ref()) {
                (xs[i], ys[i], zs[i]) = (x, y, z);
                n = i + 1;
            }
            let [r0, r1, r2] = &rows;
            let (mut a, mut b, mut c) = ([0.0f32; BLOCK], [0.0f32; BLOCK], [0.0f32; BLOCK]);
            for i in 0..BLOCK {
                a[i] = r0[0] * xs[i] + r0[1] * ys[i] + r0[2] * zs[i] + r0[3];
                b[i] = r1[0] * xs[i] + r1[1] * ys[i] + r1[2] * zs[i] + r1[3];
                c[i] = r2[0] * xs[i] + r2[1] * ys[i] + r2[2] * zs[i] + r2[3];
            }
            for i in 0..n {
                // Branch-free compaction. `d2 < range2` is false for NaN, so
                // non-finite points are dropped; `kept` never passes the
                // point's own index, so the slot exists.
                let keep = (a[i] * a[i] + b[i] * b[i] < range2) & c[i].is_finite();
                if let Some(slot) = out.get_mut(kept) {
                    *slot = [a[i], b[i], c[i]];
                }
                kept += usize::from(keep);
            }
            if n < BLOCK {
                break;
            }
        }
        self.points.truncate(kept);
        // Cell minima need a fraction of a dense scan; every point would
        // double the cost of this pass.
        for &[x, y, z] in self.points.iter().step_by(GROUND_SAMPLE_STRIDE) {
            self.ground.observe(x, y, z);
        }
    }

    fn mark_cells(&mut self, plane: &Plane) {
        self.occupied.clear();
        let (a, b, c) = (plane.a as f32, plane.b as f32, plane.c as f32);
        let inv = 1.0 / self.cell;
        let n = self.cells_per_side;
        for &[x, y, z] in &self.points {
            let h = z - (a * x + b * y + c);
            if h < self.clearance || h > self.max_height {
                continue;
            }
            // Points are within range, so both indices are in the grid.
            let ix = (((x + self.range) * inv) as usize).min(n - 1);
            let iy = (((y + self.range) * inv) as usize).min(n - 1);
            let idx = iy * n + ix;
            let cell = &mut self.cells[idx];
            if cell.stamp != self.stamp {
                *cell = Cell {
                    stamp: self.stamp,
                    count: 0,
                    sum_x: 0.0,
                    sum_y: 0.0,
                    max_h: h,
                    slot: 0,
                };
                cell.slot = self.occupied.len() as u32;
                self.occupied.push(idx as u32);
            }
            cell.count += 1;
            cell.sum_x += x;
            cell.sum_y += y;
            cell.max_h = cell.max_h.fmax(h);
        }
    }

    /// Union-find over 8-connected occupied cells.
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
                top = top.fmax(f64::from(cell.max_h));
            }
            let Some(rect) = self.fit.fit(self.lshape_step, f64::from(self.cell)) else {
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

    #[test]
    fn every_finite_point_in_range_is_kept_whatever_the_block_size() {
        let layout = [
            ("x", PointFieldType::F32),
            ("y", PointFieldType::F32),
            ("z", PointFieldType::F32),
        ];
        for n in [0usize, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5] {
            let mut b = PointCloudBuilder::new(&layout);
            for i in 0..n {
                // Every 7th point is out of range, every 11th is NaN.
                let x = if i % 7 == 3 { 500.0 } else { i as f64 * 0.1 };
                let z = if i % 11 == 5 { f64::NAN } else { 0.5 };
                b.push(&[x, 1.0, z]);
            }
            let bytes = fusion_msgs::encode(&b.build(Default::default())).unwrap();
            let cloud = PointCloudView::from_cdr(&bytes).unwrap();
            let identity = Extrinsics::from_pose(&Default::default()).unwrap();
            let mut lidar = LidarFrontEnd::new(&Params::default());
            lidar.collect_points(&cloud, &identity);
            let expected = (0..n).filter(|i| i % 7 != 3 && i % 11 != 5).count();
            assert_eq!(lidar.points.len(), expected, "{n} points");
            let xs: Vec<f32> = lidar.points.iter().map(|p| p[0]).collect();
            let want: Vec<f32> = (0..n)
                .filter(|i| i % 7 != 3 && i % 11 != 5)
                .map(|i| (i as f64 * 0.1) as f32)
                .collect();
            assert_eq!(xs, want, "{n} points, in order");
        }
    }
}
