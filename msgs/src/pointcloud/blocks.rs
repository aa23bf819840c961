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
    for (i, p) in points.iter().enumerate() {
        for (k, field) in block.iter_mut().enumerate() {
            let at = 4 * k;
            field[i] = T::from_f32(f32::from_le_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]));
        }
    }
    true
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
