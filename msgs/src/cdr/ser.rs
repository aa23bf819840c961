use alloc::vec::Vec;

use serde::{Serialize, ser};

use super::{CdrError, ENCAPSULATION_HEADER_LEN, Endianness, Result};

/// Encodes `value` as a little-endian ROS 2 message, header included.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    to_vec_with(value, Endianness::Little)
}

/// Encodes `value` with the given byte order, header included.
pub fn to_vec_with<T: Serialize + ?Sized>(value: &T, endianness: Endianness) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(value, endianness, &mut out)?;
    Ok(out)
}

/// Encodes `value` into `out`, replacing its contents and reusing its
/// capacity, so that a caller that keeps the buffer does not allocate once
/// the buffer has grown to the message size.
pub fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    endianness: Endianness,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.clear();
    out.extend_from_slice(&endianness.representation_id());
    out.extend_from_slice(&[0, 0]);
    value.serialize(&mut Serializer { out, endianness })
}

/// A serde serializer that appends CDR to a buffer that already holds the
/// encapsulation header.
pub struct Serializer<'a> {
    out: &'a mut Vec<u8>,
    endianness: Endianness,
}

macro_rules! put_primitive {
    ($fn:ident, $ty:ty) => {
        fn $fn(self, v: $ty) -> Result<()> {
            self.align(core::mem::size_of::<$ty>());
            match self.endianness {
                Endianness::Little => self.out.extend_from_slice(&v.to_le_bytes()),
                Endianness::Big => self.out.extend_from_slice(&v.to_be_bytes()),
            }
            Ok(())
        }
    };
}

impl Serializer<'_> {
    /// Pads to a multiple of `align`, counted from the end of the header.
    fn align(&mut self, align: usize) {
        let pos = self.out.len() - ENCAPSULATION_HEADER_LEN;
        let pad = (align - pos % align) % align;
        self.out.resize(self.out.len() + pad, 0);
    }

    fn put_len(&mut self, len: usize) -> Result<()> {
        let len = u32::try_from(len).map_err(|_| CdrError::TooLong(len))?;
        ser::Serializer::serialize_u32(self, len)
    }
}

impl ser::Serializer for &mut Serializer<'_> {
    type Ok = ();
    type Error = CdrError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), CdrError>;
    type SerializeMap = ser::Impossible<(), CdrError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), CdrError>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.out.push(v as u8);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.out.push(v);
        Ok(())
    }
    put_primitive!(serialize_i16, i16);
    put_primitive!(serialize_i32, i32);
    put_primitive!(serialize_i64, i64);
    put_primitive!(serialize_u16, u16);
    put_primitive!(serialize_u32, u32);
    put_primitive!(serialize_u64, u64);
    put_primitive!(serialize_f32, f32);
    put_primitive!(serialize_f64, f64);

    fn serialize_char(self, v: char) -> Result<()> {
        // ROS 2 `char` is one octet; Rust code models it as u8, so only
        // Latin-1 fits.
        let byte =
            u8::try_from(u32::from(v)).map_err(|_| CdrError::Unsupported("a non-Latin-1 char"))?;
        self.serialize_u8(byte)
    }

    fn serialize_str(self, v: &str) -> Result<()> {
        self.put_len(v.len() + 1)?;
        self.out.extend_from_slice(v.as_bytes());
        self.out.push(0);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.put_len(v.len())?;
        self.out.extend_from_slice(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<()> {
        Err(CdrError::Unsupported("an Option"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<()> {
        Err(CdrError::Unsupported("an Option"))
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<()> {
        Err(CdrError::Unsupported("an enum"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(CdrError::Unsupported("an enum"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self> {
        let len = len.ok_or(CdrError::Unsupported("a sequence of unknown length"))?;
        self.put_len(len)?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(CdrError::Unsupported("an enum"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(CdrError::Unsupported("a map"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(CdrError::Unsupported("an enum"))
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

macro_rules! compound {
    ($trait:ident, $fn:ident $(, $key:ident)?) => {
        impl ser::$trait for &mut Serializer<'_> {
            type Ok = ();
            type Error = CdrError;
            fn $fn<T: Serialize + ?Sized>(&mut self, $($key: &'static str,)? value: &T) -> Result<()> {
                $(let _ = $key;)?
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<()> {
                Ok(())
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeStruct, serialize_field, key);
