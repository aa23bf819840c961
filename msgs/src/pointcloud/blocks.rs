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
            let take = available.min(B - filled);
            let (head, rest) = self.run.split_at(take * step);
            self.run = rest;
            let first_offset = self.reader.offsets.first().copied().unwrap_or(0);
            match (self.contiguous && first_offset == 0, step) {
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
