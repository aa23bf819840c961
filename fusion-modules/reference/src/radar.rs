//! Radar front end: returns to vehicle-frame points with Doppler, attached
//! to LiDAR boxes, and radar-only objects beyond LiDAR range.

use crate::geometry::MinMax;
use alloc::vec::Vec;

use fusion_msgs::RadarScanView;
use nalgebra::Vector3;

use crate::detection::{Detection, Radial, source};
use crate::geometry::Extrinsics;
use crate::params::Params;

/// Default footprint given to a radar-only object (a car seen from afar).
const RADAR_ONLY_DIMS: (f64, f64, f64) = (4.5, 1.9, 1.6);

/// One return in the vehicle frame.
#[derive(Debug, Clone, Copy)]
struct Return {
    x: f64,
    y: f64,
    z: f64,
    radial: Radial,
    /// Claimed by a LiDAR box or a radar-only cluster.
    used: bool,
}

/// The radar front end with its reusable buffers.
pub struct RadarFrontEnd {
    gate: f64,
    cluster_distance: f64,
    min_returns: usize,
    speed_variance: f64,
    position_variance: f64,
    azimuth_variance: f64,
    radar_only_range: f64,
    returns: Vec<Return>,
    /// Members of the cluster being grown (return indices); room for
    /// every return, so growing a cluster never reallocates.
    members: Vec<u32>,
    /// The returns sorted by x, for neighbour searches.
    sorted: Vec<Near>,
    /// Position of each return in `sorted`.
    position: Vec<u32>,
    by_x: Vec<(f64, u32)>,
}

/// A return in the x-sorted order of the radar-only clustering: what the
/// neighbour search reads, in one array, so the search loop walks a single
/// base address.
#[derive(Debug, Clone, Copy)]
struct Near {
    x: f64,
    y: f64,
    index: u32,
    used: bool,
}

impl RadarFrontEnd {
    /// A front end with the configured gates.
    pub fn new(p: &Params) -> Self {
        RadarFrontEnd {
            gate: p.radar_gate,
            cluster_distance: p.radar_cluster_distance,
            min_returns: p.radar_min_returns as usize,
            speed_variance: p.radar_speed_sigma * p.radar_speed_sigma,
            position_variance: p.radar_position_sigma * p.radar_position_sigma,
            azimuth_variance: p.radar_azimuth_sigma * p.radar_azimuth_sigma,
            radar_only_range: p.radar_only_range,
            returns: Vec::with_capacity(2048),
            members: Vec::with_capacity(2048),
            sorted: Vec::with_capacity(2048),
            position: Vec::with_capacity(2048),
            by_x: Vec::with_capacity(2048),
        }
    }

    /// Forgets the previous frame's returns.
    pub fn start_frame(&mut self) {
        self.returns.clear();
    }

    /// Adds one scan's returns; non-finite returns are skipped.
    pub fn add_scan(&mut self, scan: &RadarScanView<'_>, e: &Extrinsics) {
        for r in scan.iter() {
            let (range, az, el) = (
                f64::from(r.range),
                f64::from(r.azimuth),
                f64::from(r.elevation),
            );
            let speed = f64::from(r.doppler_velocity);
            if !(range.is_finite() && az.is_finite() && el.is_finite() && speed.is_finite())
                || range <= 0.0
            {
                continue;
            }
            let (se, ce) = crate::geometry::sin_cos(el);
            let (sa, ca) = crate::geometry::sin_cos(az);
            let local = Vector3::new(range * ce * ca, range * ce * sa, range * se);
            let p = e.apply(local);
            let (dx, dy) = (p.x - e.translation.x, p.y - e.translation.y);
            let norm = crate::geometry::sqrt(dx * dx + dy * dy);
            if norm < 1e-6 {
                continue;
            }
            let radial = Radial {
                speed,
                los_x: dx / norm,
                los_y: dy / norm,
                variance: self.speed_variance,
            };
            self.returns.push(Return {
                x: p.x,
                y: p.y,
                z: p.z,
                radial,
                used: false,
            });
        }
    }

    /// Gives each detection the Doppler of the nearest return inside its
    /// box grown by the gate, and marks every return on or near the box as
    /// used.
    pub fn attach(&mut self, detections: &mut [Detection]) {
        for det in detections.iter_mut() {
            let (sin, cos) = crate::geometry::sin_cos(det.yaw);
            let (half_l, half_w) = (det.length / 2.0, det.width / 2.0);
            // Every return near the box (gated distance to its outline) is
            // within half a diagonal plus the gate of its centre; the
            // margin covers rounding. Most returns fail this cheap test.
            let near = crate::geometry::sqrt(half_l * half_l + half_w * half_w) + self.gate + 0.5;
            let reach = half_l.max1(half_w) + self.gate;
            // Not farther than `near` (NaN distances are visited, as before).
            let is_near = |r: &Return| {
                let (dx, dy) = (r.x - det.x, r.y - det.y);
                let d2 = dx * dx + dy * dy;
                d2 <= near * near || d2.is_nan()
            };
            let mut best: Option<(f64, usize)> = None;
            let mut visit = |i: usize, r: &mut Return| {
                let (dx, dy) = (r.x - det.x, r.y - det.y);
                if dx * dx + dy * dy <= reach * reach {
                    r.used = true;
                }
                let (along, across) = (dx * cos + dy * sin, -dx * sin + dy * cos);
                let outside_l = (along.abs() - half_l).max1(0.0);
                let outside_w = (across.abs() - half_w).max1(0.0);
                let d = crate::geometry::sqrt(outside_l * outside_l + outside_w * outside_w);
                if d <= self.gate && best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, i));
                }
            };
            // Eight returns per iteration: the cheap test for all eight
            // without a branch, then only the near ones, in index order.
            // The Wasm build checks for interruption once per eight
            // returns instead of keeping the box's values on the stack
            // across a check per return.
            let (groups, rest) = self.returns.as_chunks_mut::<8>();
            for (g, group) in groups.iter_mut().enumerate() {
                let mut near_lanes = 0u32;
                for (k, r) in group.iter().enumerate() {
                    near_lanes |= u32::from(is_near(r)) << k;
                }
                while near_lanes != 0 {
                    let k = near_lanes.trailing_zeros() as usize % 8;
                    near_lanes &= near_lanes - 1;
                    visit(8 * g + k, &mut group[k]);
                }
            }
            let first_rest = groups.len() * 8;
            for (k, r) in rest.iter_mut().enumerate() {
                if is_near(r) {
                    visit(first_rest + k, r);
                }
            }
            if let Some((_, i)) = best {
                det.radial = Some(self.returns[i].radial);
                det.sources |= source::RADAR;
            }
        }
    }

    /// Clusters the returns no box claimed, beyond `radar_only_range`, into
    /// radar-only detections (single-link within `radar_cluster_distance`).
    pub fn radar_only(&mut self, out: &mut Vec<Detection>) {
        let beyond = self.radar_only_range * self.radar_only_range;
        // Returns by x (ties by index: a total order, so the result does not
        // depend on the sort algorithm).
        // Sorting (x, index) pairs compares in place, without a lookup
        // through the index per comparison.
        self.by_x.clear();
        self.by_x.extend(
            self.returns
                .iter()
                .enumerate()
                .map(|(i, r)| (r.x, i as u32)),
        );
        self.by_x
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let returns = &self.returns;
        self.sorted.clear();
        self.sorted.extend(self.by_x.iter().map(|&(x, i)| Near {
            x,
            y: returns[i as usize].y,
            index: i,
            used: returns[i as usize].used,
        }));
        self.position.clear();
        self.position.resize(returns.len(), 0);
        for (pos, near) in self.sorted.iter().enumerate() {
            self.position[near.index as usize] = pos as u32;
        }
        self.members.clear();
        self.members.resize(returns.len(), 0);
        let (sorted, members) = (&mut self.sorted[..], &mut self.members[..]);
        let d = self.cluster_distance;
        for (seed, s) in returns.iter().enumerate() {
            let seed_pos = self.position[seed] as usize;
            if sorted[seed_pos].used || s.x * s.x + s.y * s.y < beyond {
                continue;
            }
            members[0] = seed as u32;
            let mut count = 1;
            sorted[seed_pos].used = true;
            let mut k = 0;
            while k < count {
                let m = &returns[members[k] as usize];
                // Only returns within d in x can be within d: a window of
                // the x-sorted order, not all returns.
                let first = sorted.partition_point(|r| r.x < m.x - d);
                for r in &mut sorted[first..] {
                    if r.x > m.x + d {
                        break;
                    }
                    let (dx, dy) = (r.x - m.x, r.y - m.y);
                    if !r.used && dx * dx + dy * dy <= d * d {
                        r.used = true;
                        // Each return joins once: there is always room.
                        if let Some(slot) = members.get_mut(count) {
                            *slot = r.index;
                        }
                        count += 1;
                    }
                }
                k += 1;
            }
            let members = &members[..count];
            if members.len() < self.min_returns {
                continue;
            }
            let n = members.len() as f64;
            let (mut x, mut y, mut z, mut speed) = (0.0, 0.0, 0.0, 0.0);
            for &m in members {
                let r = &returns[m as usize];
                (x, y, z, speed) = (x + r.x, y + r.y, z + r.z, speed + r.radial.speed);
            }
            let (length, width, height) = RADAR_ONLY_DIMS;
            // Returns come from the near face: the centre is half a length
            // farther along the line of sight.
            let (x, y) = (x / n, y / n);
            let norm = crate::geometry::sqrt(x * x + y * y);
            let (x, y) = (x + x / norm * length / 2.0, y + y / norm * length / 2.0);
            out.push(Detection {
                x,
                y,
                z: z / n,
                length,
                width,
                height,
                yaw: libm::atan2(y, x),
                yaw_sign_known: false,
                // Returns of one object share their azimuth error, so more
                // returns do not make the lateral position much better.
                position_variance: self.position_variance + norm * norm * self.azimuth_variance,
                label: 0,
                label_probability: 0.0,
                radial: Some(Radial {
                    speed: speed / n,
                    los_x: x / norm,
                    los_y: y / norm,
                    variance: self.speed_variance / n,
                }),
                sources: source::RADAR,
            });
        }
    }
}
