//! Zero-copy reading and writing of `sensor_msgs/msg/PointCloud2`.
//!
//! A LiDAR scan is about 2 MB; the view parses only the small header and the
//! field table, checks that every field fits its point and every point fits
//! the data, and then reads fields straight out of the borrowed CDR bytes.

use alloc::string::{String, ToString};

use arrayvec::ArrayVec;
use serde::Deserialize;

use crate::builtin_interfaces::Time;
use crate::cdr::CdrError;
use crate::sensor_msgs::PointField;

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
    /// Converts from an `f32` (identity for `f32`: no round trip through
    /// `f64`, which Wasm code generators do not fold away).
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        Self::from_f64(f64::from(v))
    }
}

macro_rules! scalar {
    ($($ty:ty),*) => { $(impl Scalar for $ty { #[inline(always)] fn from_f64(v: f64) -> Self { v as $ty } })* };
}
scalar!(f64, i8, u8, i16, u16, i32, u32, i64, u64);

impl Scalar for f32 {
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
}

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

mod blocks;
mod builder;
mod reader;

pub use builder::PointCloudBuilder;
pub use reader::{FieldIter, FieldReader, PointsIter, PointsReader};
