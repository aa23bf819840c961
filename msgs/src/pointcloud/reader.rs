//! Readers of point fields: one field at a time, or several in one pass.

use alloc::string::ToString;

use super::{PointCloudError, PointCloudView, PointFieldType, Scalar};

/// Reads one field of every point of a [`PointCloudView`].
#[derive(Debug, Clone)]
pub struct FieldReader<'a, T> {
    pub(super) data: &'a [u8],
    pub(super) offset: usize,
    pub(super) ty: PointFieldType,
    pub(super) big_endian: bool,
    pub(super) point_step: usize,
    pub(super) row_step: usize,
    pub(super) width: usize,
    pub(super) len: usize,
    pub(super) _to: core::marker::PhantomData<T>,
}

impl<'a, T: Scalar> FieldReader<'a, T> {
    /// The field of point `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        // Packed rows (the usual case) need no division.
        let at = if self.row_step == self.width * self.point_step {
            i * self.point_step + self.offset
        } else {
            (i / self.width) * self.row_step + (i % self.width) * self.point_step + self.offset
        };
        Some(T::from_f64(self.ty.read(&self.data[at..], self.big_endian)))
    }

    /// The field of every point, in row-major order.
    pub fn iter(&self) -> FieldIter<'a, T> {
        FieldIter {
            reader: self.clone(),
            row: 0,
            col: 0,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Iterator over one field of every point; see [`FieldReader::iter`].
#[derive(Debug, Clone)]
pub struct FieldIter<'a, T> {
    reader: FieldReader<'a, T>,
    row: usize,
    col: usize,
}

impl<T: Scalar> FieldIter<'_, T> {
    fn rows(&self) -> usize {
        self.reader.len.checked_div(self.reader.width).unwrap_or(0)
    }
}

impl<T: Scalar> Iterator for FieldIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let r = &self.reader;
        if self.row >= self.rows() {
            return None;
        }
        let at = self.row * r.row_step + self.col * r.point_step + r.offset;
        self.col += 1;
        if self.col == r.width {
            self.col = 0;
            self.row += 1;
        }
        Some(T::from_f64(r.ty.read(&r.data[at..], r.big_endian)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.reader.len - (self.row * self.reader.width + self.col).min(self.reader.len);
        (left, Some(left))
    }

    /// Internal iteration picks the datatype once and then runs a loop
    /// specialised for it: this is what makes `sum`, `for_each` and
    /// `collect` run near memory speed over a 2 MB cloud.
    fn fold<B, F: FnMut(B, T) -> B>(self, init: B, mut f: F) -> B {
        let rows = self.rows();
        let r = self.reader;
        let mut acc = init;
        let mut col = self.col;
        for row in self.row..rows {
            let row_bytes = &r.data[row * r.row_step..row * r.row_step + r.width * r.point_step];
            macro_rules! run {
                ($ty:ident) => {
                    for point in row_bytes.chunks_exact(r.point_step).skip(col) {
                        acc = f(
                            acc,
                            T::from_f64(PointFieldType::$ty.read(&point[r.offset..], r.big_endian)),
                        );
                    }
                };
            }
            match r.ty {
                PointFieldType::I8 => run!(I8),
                PointFieldType::U8 => run!(U8),
                PointFieldType::I16 => run!(I16),
                PointFieldType::U16 => run!(U16),
                PointFieldType::I32 => run!(I32),
                PointFieldType::U32 => run!(U32),
                PointFieldType::F32 => run!(F32),
                PointFieldType::F64 => run!(F64),
            }
            col = 0;
        }
        acc
    }
}

impl<T: Scalar> ExactSizeIterator for FieldIter<'_, T> {}

/// Reads several fields of every point in one pass, e.g. `["x", "y", "z"]`.
#[derive(Debug, Clone)]
pub struct PointsReader<'a, T, const N: usize> {
    data: &'a [u8],
    pub(super) offsets: [usize; N],
    tys: [PointFieldType; N],
    big_endian: bool,
    pub(super) point_step: usize,
    row_step: usize,
    width: usize,
    rows: usize,
    _to: core::marker::PhantomData<T>,
}

impl<'a> PointCloudView<'a> {
    /// A reader of element 0 of each named field, converting to `T`.
    pub fn points<T: Scalar, const N: usize>(
        &self,
        names: [&str; N],
    ) -> Result<PointsReader<'a, T, N>, PointCloudError> {
        let mut offsets = [0; N];
        let mut tys = [PointFieldType::U8; N];
        for (k, name) in names.iter().enumerate() {
            let field = self
                .fields
                .iter()
                .find(|f| f.name == *name)
                .ok_or_else(|| PointCloudError::NoSuchField(name.to_string()))?;
            offsets[k] = field.offset as usize;
            tys[k] = PointFieldType::from_datatype(field.datatype).expect("checked in from_cdr");
        }
        Ok(PointsReader {
            data: self.data,
            offsets,
            tys,
            big_endian: self.is_bigendian,
            point_step: self.point_step as usize,
            row_step: self.row_step as usize,
            width: self.width as usize,
            // No fields allow a zero point_step: then there is nothing to read.
            rows: if self.width == 0 || self.point_step == 0 {
                0
            } else {
                self.height as usize
            },
            _to: core::marker::PhantomData,
        })
    }
}

impl<T: Scalar, const N: usize> PointsReader<'_, T, N> {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.rows * self.width
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the fields of every point, in row-major order. When
    /// all fields share one datatype (the usual `x y z` as FLOAT32) the loop
    /// is specialised for it and runs near memory speed.
    pub fn for_each(&self, mut f: impl FnMut([T; N])) {
        let points = self.iter();
        if points.contiguous {
            // The common x, y, z FLOAT32 layout: the iterator's fast path.
            return points.for_each(f);
        }
        let uniform = N > 0 && self.tys.iter().all(|&t| t == self.tys[0]);
        if !uniform {
            return self.rows_mixed(&mut f);
        }
        // One monomorphised loop per (datatype, byte order), each with a
        // single call of `f`, so the compiler inlines `f` into it.
        macro_rules! run {
            ($ty:ident, $big:literal) => {
                self.rows_uniform::<{ PointFieldType::$ty.datatype() }, $big>(&mut f)
            };
        }
        for_each_type!(self.tys[0], self.big_endian, run)
    }

    /// The points as an iterator, for hot loops the caller writes itself
    /// (a `for` loop over this inlines completely, where a large closure
    /// passed to [`PointsReader::for_each`] may not).
    pub fn iter(&self) -> PointsIter<'_, T, N> {
        let f32_le = !self.big_endian && self.tys.iter().all(|&t| t == PointFieldType::F32);
        // The usual x, y, z at 0, 4, 8: one range check reads all of them.
        let contiguous = f32_le
            && self
                .offsets
                .iter()
                .enumerate()
                .all(|(k, &o)| o == self.offsets[0] + 4 * k);
        // Rows without padding are one run of points: no per-row step.
        let packed = self.row_step == self.width * self.point_step;
        let (runs, run_len) = if packed {
            (self.rows.min(1), self.rows * self.width)
        } else {
            (self.rows, self.width)
        };
        PointsIter {
            reader: self,
            run: &[],
            next_run: 0,
            runs,
            run_len,
            f32_le,
            contiguous,
        }
    }

    fn rows(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.rows).flat_map(move |row| {
            let start = row * self.row_step;
            self.data[start..start + self.width * self.point_step].chunks_exact(self.point_step)
        })
    }

    // Kept out of line so each instance has its own single call of `f`,
    // which the compiler then inlines (14 copies in one function it won't).
    #[inline(never)]
    fn rows_uniform<const DATATYPE: u8, const BIG: bool>(&self, f: &mut impl FnMut([T; N])) {
        let ty = PointFieldType::from_datatype(DATATYPE).expect("a datatype constant");
        for row in 0..self.rows {
            let start = row * self.row_step;
            for p in
                self.data[start..start + self.width * self.point_step].chunks_exact(self.point_step)
            {
                // A plain loop: `array::from_fn` is not inlined here and
                // costs a call per point.
                let mut values = [T::from_f64(0.0); N];
                for (v, &offset) in values.iter_mut().zip(&self.offsets) {
                    *v = T::from_f64(ty.read_as::<BIG>(&p[offset..]));
                }
                f(values);
            }
        }
    }

    #[inline(never)]
    fn rows_mixed(&self, f: &mut impl FnMut([T; N])) {
        for p in self.rows() {
            f(core::array::from_fn(|k| {
                T::from_f64(self.tys[k].read(&p[self.offsets[k]..], self.big_endian))
            }));
        }
    }
}

/// Iterator over the points of a [`PointsReader`].
#[derive(Debug, Clone)]
pub struct PointsIter<'r, T, const N: usize> {
    pub(super) reader: &'r PointsReader<'r, T, N>,
    /// Points left of the current run (a row, or the whole cloud when
    /// packed): a whole number of points.
    pub(super) run: &'r [u8],
    next_run: usize,
    runs: usize,
    run_len: usize,
    /// Every field is a little-endian FLOAT32: the common case, read
    /// without the datatype dispatch.
    f32_le: bool,
    /// `f32_le`, and the fields follow each other without gaps.
    pub(super) contiguous: bool,
}

impl<T: Scalar, const N: usize> PointsIter<'_, T, N> {
    #[inline(always)]
    pub(super) fn decode(&self, p: &[u8]) -> [T; N] {
        let r = self.reader;
        let mut values = [T::from_f64(0.0); N];
        if self.contiguous {
            let start = r.offsets[0];
            let fields = &p[start..start + 4 * N];
            for (v, b) in values.iter_mut().zip(fields.chunks_exact(4)) {
                *v = T::from_f32(f32::from_le_bytes(b.try_into().unwrap()));
            }
            return values;
        }
        for (k, v) in values.iter_mut().enumerate() {
            let at = r.offsets[k];
            *v = if self.f32_le {
                // One range check and one 4-byte load; built from single
                // bytes, the Wasm build does four loads.
                T::from_f32(f32::from_le_bytes(p[at..at + 4].try_into().unwrap()))
            } else {
                T::from_f64(r.tys[k].read(&p[at..], r.big_endian))
            };
        }
        values
    }
}

impl<T: Scalar, const N: usize> PointsIter<'_, T, N> {
    /// Moves to the next run; false at the end of the cloud.
    #[inline(always)]
    pub(super) fn next_run(&mut self) -> bool {
        if self.next_run >= self.runs {
            return false;
        }
        let r = self.reader;
        let start = self.next_run * r.row_step;
        self.run = &r.data[start..start + self.run_len * r.point_step];
        self.next_run += 1;
        true
    }
}

impl<T: Scalar, const N: usize> Iterator for PointsIter<'_, T, N> {
    type Item = [T; N];

    #[inline(always)]
    fn next(&mut self) -> Option<[T; N]> {
        loop {
            // A run is a whole number of points, and empty when there are
            // none (a zero point_step included).
            if !self.run.is_empty() {
                let (p, rest) = self.run.split_at(self.reader.point_step);
                self.run = rest;
                return Some(self.decode(p));
            }
            if !self.next_run() {
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.run.len() / self.reader.point_step.max(1)
            + (self.runs - self.next_run) * self.run_len;
        (left, Some(left))
    }
}

impl<T: Scalar, const N: usize> ExactSizeIterator for PointsIter<'_, T, N> {}
