//! Points gathered in fixed-size blocks, one array per field: the layout
//! hot loops want, since a fixed-length loop over a block vectorises.

use super::Scalar;
use super::reader::PointsIter;

impl<T: Scalar, const N: usize> PointsIter<'_, T, N> {
    /// Fills `block[field][i]` with up to `B` points and returns how many
    /// it wrote: `B` until the last block, then fewer (0 at the end). Lanes
    /// past the returned count keep their old values.
    ///
    /// Packed little-endian FLOAT32 fields at the start of a 12, 16 or
    /// 32-byte point (x, y, z[, intensity, ...] as most drivers send them)
    /// are read by a loop specialised for that stride; other layouts take
    /// the per-point path of the iterator.
    #[inline(always)]
    pub fn next_block<const B: usize>(&mut self, block: &mut [[T; B]; N]) -> usize {
        let mut filled = 0;
        while filled < B {
            let step = self.reader.point_step;
            let available = self.run.len() / step.max(1);
            if available == 0 {
                if self.next_run() {
                    continue;
                }
                break;
            }
            let packed = self.contiguous && self.reader.offsets.first() == Some(&0);
            // A whole block from one run, every index a constant: no loop
            // left, so in Wasm no loop-header interruption check either.
            if cfg!(target_arch = "wasm32") && filled == 0 && available >= B && packed {
                let whole = match step {
                    12 => gather_block::<T, N, B, 12>(&mut self.run, block),
                    16 => gather_block::<T, N, B, 16>(&mut self.run, block),
                    32 => gather_block::<T, N, B, 32>(&mut self.run, block),
                    _ => false,
                };
                if whole {
                    return B;
                }
            }
            let take = available.min(B - filled);
            let (head, rest) = self.run.split_at(take * step);
            self.run = rest;
            match (packed, step) {
                (true, 12) => gather::<T, N, B, 12>(head, block, filled),
                (true, 16) => gather::<T, N, B, 16>(head, block, filled),
                (true, 32) => gather::<T, N, B, 32>(head, block, filled),
                _ => {
                    for (i, p) in head.chunks_exact(step).enumerate() {
                        let values = self.decode(p);
                        for (field, v) in block.iter_mut().zip(values) {
                            field[(filled + i) % B] = v;
                        }
                    }
                }
            }
            filled += take;
        }
        filled
    }
}

/// Reads the first `B` points of `run` into `block` and moves `run` past
/// them; false when `run` has fewer.
#[inline(always)]
fn gather_block<T: Scalar, const N: usize, const B: usize, const STEP: usize>(
    run: &mut &[u8],
    block: &mut [[T; B]; N],
) -> bool {
    let Some(points) = run.as_chunks::<STEP>().0.first_chunk::<B>() else {
        return false;
    };
    *run = &run[B * STEP..];
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if STEP == 16 && B.is_multiple_of(4) {
        transpose_16::<T, N, B, STEP>(points, block);
        return true;
    }
    for (i, p) in points.iter().enumerate() {
        for (k, field) in block.iter_mut().enumerate() {
            let at = 4 * k;
            field[i] = T::from_f32(f32::from_le_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]));
        }
    }
    true
}

/// Reads 16-byte points (up to four FLOAT32 fields) four at a time as
/// vectors and transposes them: 4 loads and 6 shuffles per four points
/// instead of a scalar load and store per field, which is how Cranelift
/// compiles the plain loop.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn transpose_16<T: Scalar, const N: usize, const B: usize, const STEP: usize>(
    points: &[[u8; STEP]; B],
    block: &mut [[T; B]; N],
) {
    use core::arch::wasm32::*;
    let field = |p: &[u8; STEP], k: usize| {
        f32::from_le_bytes([p[4 * k], p[4 * k + 1], p[4 * k + 2], p[4 * k + 3]])
    };
    let row = |p: &[u8; STEP]| f32x4(field(p, 0), field(p, 1), field(p, 2), field(p, 3));
    for g in 0..B / 4 {
        let i = 4 * g;
        let (p0, p1) = (row(&points[i]), row(&points[i + 1]));
        let (p2, p3) = (row(&points[i + 2]), row(&points[i + 3]));
        let lo01 = i32x4_shuffle::<0, 4, 1, 5>(p0, p1); // x0 x1 y0 y1
        let lo23 = i32x4_shuffle::<0, 4, 1, 5>(p2, p3); // x2 x3 y2 y3
        let hi01 = i32x4_shuffle::<2, 6, 3, 7>(p0, p1); // z0 z1 w0 w1
        let hi23 = i32x4_shuffle::<2, 6, 3, 7>(p2, p3); // z2 z3 w2 w3
        let lanes = [
            i64x2_shuffle::<0, 2>(lo01, lo23),
            i64x2_shuffle::<1, 3>(lo01, lo23),
            i64x2_shuffle::<0, 2>(hi01, hi23),
            i64x2_shuffle::<1, 3>(hi01, hi23),
        ];
        for (out, v) in block.iter_mut().zip(lanes) {
            out[i] = T::from_f32(f32x4_extract_lane::<0>(v));
            out[i + 1] = T::from_f32(f32x4_extract_lane::<1>(v));
            out[i + 2] = T::from_f32(f32x4_extract_lane::<2>(v));
            out[i + 3] = T::from_f32(f32x4_extract_lane::<3>(v));
        }
    }
}

/// Reads `N` packed FLOAT32 fields from the start of each `STEP`-byte
/// point of `bytes` into the block from lane `from` on.
#[inline(always)]
fn gather<T: Scalar, const N: usize, const B: usize, const STEP: usize>(
    bytes: &[u8],
    block: &mut [[T; B]; N],
    from: usize,
) {
    let (points, _) = bytes.as_chunks::<STEP>();
    for (i, p) in points.iter().enumerate() {
        for (k, field) in block.iter_mut().enumerate() {
            let at = 4 * k;
            let v = f32::from_le_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]);
            // `from + i < B` by construction; the mask spares the check.
            field[(from + i) % B] = T::from_f32(v);
        }
    }
}
