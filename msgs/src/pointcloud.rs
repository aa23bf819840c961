//! Zero-copy reading and writing of `sensor_msgs/msg/PointCloud2`.
//!
//! A LiDAR scan is about 2 MB; the view parses only the small header and the
//! field table, checks that every field fits its point and every point fits
//! the data, and then reads fields straight out of the borrowed CDR bytes.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use arrayvec::ArrayVec;
use serde::Deserialize;

use crate::builtin_interfaces::Time;
use crate::cdr::CdrError;
use crate::sensor_msgs::{PointCloud2, PointField};
use crate::std_msgs::Header;

/// Most fields a cloud may declare; real sensors use fewer than a dozen.
pub const MAX_FIELDS: usize = 32;

/// The datatype of a point field (`sensor_msgs/msg/PointField` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointFieldType {
    /// `INT8`
    I8,
    /// `UINT8`
    U8,
    /// `INT16`
    I16,
    /// `UINT16`
    U16,
    /// `INT32`
    I32,
    /// `UINT32`
    U32,
    /// `FLOAT32`
    F32,
    /// `FLOAT64`
    F64,
}

impl PointFieldType {
    /// The type for a `PointField.datatype` value, if it names one.
    pub const fn from_datatype(datatype: u8) -> Option<Self> {
        Some(match datatype {
            PointField::INT8 => Self::I8,
            PointField::UINT8 => Self::U8,
            PointField::INT16 => Self::I16,
            PointField::UINT16 => Self::U16,
            PointField::INT32 => Self::I32,
            PointField::UINT32 => Self::U32,
            PointField::FLOAT32 => Self::F32,
            PointField::FLOAT64 => Self::F64,
            _ => return None,
        })
    }

    /// The `PointField.datatype` value.
    pub const fn datatype(self) -> u8 {
        match self {
            Self::I8 => PointField::INT8,
            Self::U8 => PointField::UINT8,
            Self::I16 => PointField::INT16,
            Self::U16 => PointField::UINT16,
            Self::I32 => PointField::INT32,
            Self::U32 => PointField::UINT32,
            Self::F32 => PointField::FLOAT32,
            Self::F64 => PointField::FLOAT64,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Reads one element from the start of `b` (at least `size()` bytes).
    #[inline(always)]
    fn read(self, b: &[u8], big_endian: bool) -> f64 {
        if big_endian {
            self.read_as::<true>(b)
        } else {
            self.read_as::<false>(b)
        }
    }

    /// [`Self::read`] with the byte order fixed at compile time, so loops
    /// that pick it once run without a branch per value.
    #[inline(always)]
    fn read_as<const BIG: bool>(self, b: &[u8]) -> f64 {
        macro_rules! get {
            ($ty:ty, $n:literal) => {{
                let raw: [u8; $n] = b[..$n].try_into().unwrap();
                if BIG {
                    <$ty>::from_be_bytes(raw)
                } else {
                    <$ty>::from_le_bytes(raw)
                }
            }};
        }
        match self {
            Self::I8 => f64::from(b[0] as i8),
            Self::U8 => f64::from(b[0]),
            Self::I16 => f64::from(get!(i16, 2)),
            Self::U16 => f64::from(get!(u16, 2)),
            Self::I32 => f64::from(get!(i32, 4)),
            Self::U32 => f64::from(get!(u32, 4)),
            Self::F32 => f64::from(get!(f32, 4)),
            Self::F64 => get!(f64, 8),
        }
    }

    /// Writes `v` converted to this type (saturating for integers).
    fn write(self, v: f64, out: &mut [u8]) {
        match self {
            Self::I8 => out[0] = (v as i8) as u8,
            Self::U8 => out[0] = v as u8,
            Self::I16 => out[..2].copy_from_slice(&(v as i16).to_le_bytes()),
            Self::U16 => out[..2].copy_from_slice(&(v as u16).to_le_bytes()),
            Self::I32 => out[..4].copy_from_slice(&(v as i32).to_le_bytes()),
            Self::U32 => out[..4].copy_from_slice(&(v as u32).to_le_bytes()),
            Self::F32 => out[..4].copy_from_slice(&(v as f32).to_le_bytes()),
            Self::F64 => out[..8].copy_from_slice(&v.to_le_bytes()),
        }
    }
}

/// Expands `$run!(Variant, big_endian_literal)` in a match over the
/// datatype and byte order, so each arm is a loop specialised for both.
macro_rules! for_each_type {
    ($ty:expr, $big:expr, $run:ident) => {
        match ($ty, $big) {
            (PointFieldType::I8, _) => $run!(I8, false),
            (PointFieldType::U8, _) => $run!(U8, false),
            (PointFieldType::I16, false) => $run!(I16, false),
            (PointFieldType::I16, true) => $run!(I16, true),
            (PointFieldType::U16, false) => $run!(U16, false),
            (PointFieldType::U16, true) => $run!(U16, true),
            (PointFieldType::I32, false) => $run!(I32, false),
            (PointFieldType::I32, true) => $run!(I32, true),
            (PointFieldType::U32, false) => $run!(U32, false),
            (PointFieldType::U32, true) => $run!(U32, true),
            (PointFieldType::F32, false) => $run!(F32, false),
            (PointFieldType::F32, true) => $run!(F32, true),
            (PointFieldType::F64, false) => $run!(F64, false),
            (PointFieldType::F64, true) => $run!(F64, true),
        }
    };
}

/// A numeric type a field can be read as, whatever its datatype on the wire.
pub trait Scalar: Copy {
    /// Converts from the widened value (`as` semantics for integers).
    fn from_f64(v: f64) -> Self;
}

macro_rules! scalar {
    ($($ty:ty),*) => { $(impl Scalar for $ty { #[inline(always)] fn from_f64(v: f64) -> Self { v as $ty } })* };
}
scalar!(f32, f64, i8, u8, i16, u16, i32, u32, i64, u64);

/// Why a cloud cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointCloudError {
    /// The CDR around the point data is malformed.
    #[error("malformed PointCloud2: {0}")]
    Cdr(#[from] CdrError),
    /// A field's datatype is not one of the eight `PointField` constants.
    #[error("field `{field}` has unknown datatype {datatype}")]
    UnknownDatatype {
        /// The field's name.
        field: String,
        /// The datatype found.
        datatype: u8,
    },
    /// A field reaches past the end of its point.
    #[error("field `{field}` ends at byte {end} of a point that is {point_step} bytes long")]
    FieldOutsidePoint {
        /// The field's name.
        field: String,
        /// First byte after the field.
        end: u64,
        /// The cloud's point_step.
        point_step: u32,
    },
    /// A row of `width` points does not fit in `row_step` bytes.
    #[error("row_step {row_step} is shorter than width x point_step = {needed}")]
    RowTooShort {
        /// The cloud's row_step.
        row_step: u32,
        /// width x point_step.
        needed: u64,
    },
    /// The data is shorter than the points it should hold.
    #[error("data holds {len} bytes but height x width points need {needed}")]
    DataTooShort {
        /// Bytes of point data.
        len: usize,
        /// Bytes the declared points need.
        needed: u64,
    },
    /// More fields than [`MAX_FIELDS`].
    #[error("more than {MAX_FIELDS} point fields")]
    TooManyFields,
    /// The cloud has no field of that name.
    #[error("the cloud has no field `{0}`")]
    NoSuchField(String),
}

/// One entry of a cloud's field table, borrowing its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PointFieldRef<'a> {
    /// Field name, e.g. `x` or `intensity`.
    pub name: &'a str,
    /// Byte offset inside a point.
    pub offset: u32,
    /// Raw datatype value.
    pub datatype: u8,
    /// Number of elements.
    pub count: u32,
}

#[derive(Deserialize)]
struct WireHeader<'a> {
    stamp: Time,
    frame_id: &'a str,
}

/// The field table; `overflow` records a table longer than [`MAX_FIELDS`]
/// (the rest is read and dropped so the error can name its cause).
struct WireFields<'a> {
    fields: ArrayVec<PointFieldRef<'a>, MAX_FIELDS>,
    overflow: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for WireFields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = WireFields<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a sequence of PointField")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = ArrayVec::new();
                let mut overflow = false;
                while let Some(field) = seq.next_element()? {
                    overflow |= fields.try_push(field).is_err();
                }
                Ok(WireFields { fields, overflow })
            }
        }
        d.deserialize_seq(V(core::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct WireCloud<'a> {
    #[serde(borrow)]
    header: WireHeader<'a>,
    height: u32,
    width: u32,
    #[serde(borrow)]
    fields: WireFields<'a>,
    is_bigendian: bool,
    point_step: u32,
    row_step: u32,
    data: &'a [u8],
    is_dense: bool,
}

/// A `sensor_msgs/msg/PointCloud2` read in place from its CDR bytes.
#[derive(Debug, Clone)]
pub struct PointCloudView<'a> {
    /// `header.stamp`.
    pub stamp: Time,
    /// `header.frame_id`.
    pub frame_id: &'a str,
    /// Rows (1 for an unordered cloud).
    pub height: u32,
    /// Points per row.
    pub width: u32,
    /// Whether multi-byte values are big-endian.
    pub is_bigendian: bool,
    /// Bytes per point.
    pub point_step: u32,
    /// Bytes per row.
    pub row_step: u32,
    /// True when no point is invalid (NaN).
    pub is_dense: bool,
    fields: ArrayVec<PointFieldRef<'a>, MAX_FIELDS>,
    data: &'a [u8],
}

impl<'a> PointCloudView<'a> {
    /// Parses and checks a cloud without copying its point data.
    pub fn from_cdr(bytes: &'a [u8]) -> Result<Self, PointCloudError> {
        let wire: WireCloud<'a> = crate::cdr::from_bytes(bytes)?;
        if wire.fields.overflow {
            return Err(PointCloudError::TooManyFields);
        }
        for f in &wire.fields.fields {
            let ty = PointFieldType::from_datatype(f.datatype).ok_or_else(|| {
                PointCloudError::UnknownDatatype {
                    field: f.name.to_string(),
                    datatype: f.datatype,
                }
            })?;
            let end = u64::from(f.offset) + ty.size() as u64 * u64::from(f.count.max(1));
            if end > u64::from(wire.point_step) {
                return Err(PointCloudError::FieldOutsidePoint {
                    field: f.name.to_string(),
                    end,
                    point_step: wire.point_step,
                });
            }
        }
        let row_needed = u64::from(wire.width) * u64::from(wire.point_step);
        if wire.height > 0 && u64::from(wire.row_step) < row_needed {
            return Err(PointCloudError::RowTooShort {
                row_step: wire.row_step,
                needed: row_needed,
            });
        }
        // The last row needs only its points, not a whole row_step.
        let needed = match wire.height {
            0 => 0,
            h => u64::from(h - 1) * u64::from(wire.row_step) + row_needed,
        };
        if (wire.data.len() as u64) < needed {
            return Err(PointCloudError::DataTooShort {
                len: wire.data.len(),
                needed,
            });
        }
        Ok(PointCloudView {
            stamp: wire.header.stamp,
            frame_id: wire.header.frame_id,
            height: wire.height,
            width: wire.width,
            is_bigendian: wire.is_bigendian,
            point_step: wire.point_step,
            row_step: wire.row_step,
            is_dense: wire.is_dense,
            fields: wire.fields.fields,
            data: wire.data,
        })
    }

    /// Number of points, `height x width`.
    pub fn len(&self) -> usize {
        self.height as usize * self.width as usize
    }

    /// True when the cloud has no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field table.
    pub fn fields(&self) -> &[PointFieldRef<'a>] {
        &self.fields
    }

    /// The raw point data, borrowed from the message.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The bytes of point `i` (row-major), or `None` past the end.
    pub fn point_bytes(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.len() {
            return None;
        }
        let start = self.point_start(i);
        Some(&self.data[start..start + self.point_step as usize])
    }

    fn point_start(&self, i: usize) -> usize {
        let (row, col) = (i / self.width as usize, i % self.width as usize);
        row * self.row_step as usize + col * self.point_step as usize
    }

    /// A reader of element 0 of the field `name`, converting to `T`.
    pub fn reader<T: Scalar>(&self, name: &str) -> Result<FieldReader<'a, T>, PointCloudError> {
        self.element_reader(name, 0)
    }

    /// A reader of element `element` of a field with `count > 1`.
    pub fn element_reader<T: Scalar>(
        &self,
        name: &str,
        element: u32,
    ) -> Result<FieldReader<'a, T>, PointCloudError> {
        let field = self
            .fields
            .iter()
            .find(|f| f.name == name && element < f.count.max(1))
            .ok_or_else(|| PointCloudError::NoSuchField(name.to_string()))?;
        let ty = PointFieldType::from_datatype(field.datatype).expect("checked in from_cdr");
        Ok(FieldReader {
            data: self.data,
            offset: field.offset as usize + element as usize * ty.size(),
            ty,
            big_endian: self.is_bigendian,
            point_step: self.point_step as usize,
            row_step: self.row_step as usize,
            width: self.width as usize,
            len: self.len(),
            _to: core::marker::PhantomData,
        })
    }
}

/// Reads one field of every point of a [`PointCloudView`].
#[derive(Debug, Clone)]
pub struct FieldReader<'a, T> {
    data: &'a [u8],
    offset: usize,
    ty: PointFieldType,
    big_endian: bool,
    point_step: usize,
    row_step: usize,
    width: usize,
    len: usize,
    _to: core::marker::PhantomData<T>,
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
    offsets: [usize; N],
    tys: [PointFieldType; N],
    big_endian: bool,
    point_step: usize,
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
            rows: if self.width == 0 {
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
        PointsIter {
            reader: self,
            row: 0,
            col: 0,
            f32_le,
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
    reader: &'r PointsReader<'r, T, N>,
    row: usize,
    col: usize,
    /// Every field is a little-endian FLOAT32: the common case, read
    /// without the datatype dispatch.
    f32_le: bool,
}

impl<T: Scalar, const N: usize> Iterator for PointsIter<'_, T, N> {
    type Item = [T; N];

    #[inline(always)]
    fn next(&mut self) -> Option<[T; N]> {
        let r = self.reader;
        if self.row >= r.rows {
            return None;
        }
        let at = self.row * r.row_step + self.col * r.point_step;
        self.col += 1;
        if self.col == r.width {
            (self.col, self.row) = (0, self.row + 1);
        }
        let p = &r.data[at..at + r.point_step];
        let mut values = [T::from_f64(0.0); N];
        for (k, v) in values.iter_mut().enumerate() {
            let b = &p[r.offsets[k]..];
            *v = if self.f32_le {
                T::from_f64(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            } else {
                T::from_f64(r.tys[k].read(b, r.big_endian))
            };
        }
        Some(values)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let r = self.reader;
        let left = (r.rows * r.width).saturating_sub(self.row * r.width + self.col);
        (left, Some(left))
    }
}

/// Writes an unordered (height 1), little-endian, packed cloud point by point.
#[derive(Debug, Clone)]
pub struct PointCloudBuilder {
    fields: Vec<(PointField, PointFieldType)>,
    point_step: usize,
    data: Vec<u8>,
    is_dense: bool,
}

impl PointCloudBuilder {
    /// A builder for points with the given fields, laid out in order, each at
    /// its natural alignment (so `x y z intensity` as f32 is 16 bytes).
    pub fn new(layout: &[(&str, PointFieldType)]) -> Self {
        let mut offset = 0usize;
        let mut max_align = 1;
        let mut fields = Vec::with_capacity(layout.len());
        for &(name, ty) in layout {
            offset = offset.next_multiple_of(ty.size());
            max_align = max_align.max(ty.size());
            let field = PointField {
                name: name.to_string(),
                offset: offset as u32,
                datatype: ty.datatype(),
                count: 1,
            };
            fields.push((field, ty));
            offset += ty.size();
        }
        PointCloudBuilder {
            fields,
            point_step: offset.next_multiple_of(max_align),
            data: Vec::new(),
            is_dense: true,
        }
    }

    /// Reserves room for `points` more points.
    pub fn reserve(&mut self, points: usize) {
        self.data.reserve(points * self.point_step);
    }

    /// Bytes per point.
    pub fn point_step(&self) -> usize {
        self.point_step
    }

    /// Appends one point; `values` holds one value per field, in layout order.
    ///
    /// # Panics
    /// If `values` does not have one value per field.
    pub fn push(&mut self, values: &[f64]) {
        assert_eq!(values.len(), self.fields.len(), "one value per point field");
        let start = self.data.len();
        self.data.resize(start + self.point_step, 0);
        let point = &mut self.data[start..];
        for ((field, ty), &v) in self.fields.iter().zip(values) {
            self.is_dense &= !v.is_nan();
            ty.write(v, &mut point[field.offset as usize..]);
        }
    }

    /// Number of points pushed.
    pub fn len(&self) -> usize {
        self.data.len() / self.point_step.max(1)
    }

    /// True when no point was pushed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Finishes the cloud.
    pub fn build(self, header: Header) -> PointCloud2 {
        let width = self.len() as u32;
        PointCloud2 {
            header,
            height: 1,
            width,
            fields: self.fields.into_iter().map(|(f, _)| f).collect(),
            is_bigendian: false,
            point_step: self.point_step as u32,
            row_step: width * self.point_step as u32,
            data: self.data,
            is_dense: self.is_dense,
        }
    }
}
