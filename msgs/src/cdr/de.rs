use serde::de::{self, DeserializeSeed, Visitor};

use super::{CdrError, ENCAPSULATION_HEADER_LEN, Endianness, Result};

/// Most bytes of padding a sender may leave after a message.
const MAX_TRAILING_PADDING: usize = 3;

/// Decodes one whole ROS 2 message: header, body and at most 3 bytes of
/// trailing padding. Strings and byte sequences may borrow from `bytes`.
pub fn from_bytes<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
    let (value, rest) = from_bytes_prefix(bytes)?;
    if rest > MAX_TRAILING_PADDING {
        return Err(CdrError::TrailingBytes { count: rest });
    }
    Ok(value)
}

/// Decodes the message at the start of `bytes` and returns it with the
/// number of bytes that follow it.
pub fn from_bytes_prefix<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, usize)> {
    let endianness = Endianness::from_header(bytes)?;
    let mut de = Deserializer::new(&bytes[ENCAPSULATION_HEADER_LEN..], endianness);
    let value = T::deserialize(&mut de)?;
    Ok((value, de.remaining()))
}

/// A serde deserializer over the body of a CDR message (the bytes after the
/// encapsulation header).
#[derive(Debug, Clone)]
pub struct Deserializer<'de> {
    body: &'de [u8],
    pos: usize,
    endianness: Endianness,
}

macro_rules! get_primitive {
    ($fn:ident, $ty:ident, $visit:ident) => {
        #[inline(always)]
        fn $fn<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            const N: usize = core::mem::size_of::<$ty>();
            self.align(N)?;
            let raw: [u8; N] = self.take(N)?.try_into().expect("take returns N bytes");
            visitor.$visit(match self.endianness {
                Endianness::Little => $ty::from_le_bytes(raw),
                Endianness::Big => $ty::from_be_bytes(raw),
            })
        }
    };
}

impl<'de> Deserializer<'de> {
    /// A deserializer over a message body with the given byte order.
    pub fn new(body: &'de [u8], endianness: Endianness) -> Self {
        Deserializer {
            body,
            pos: 0,
            endianness,
        }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.body.len() - self.pos
    }

    /// Offset of the next byte, counted from the start of the body.
    pub fn position(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        if n > self.remaining() {
            return Err(CdrError::Truncated {
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let bytes = &self.body[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// Skips the padding before a primitive of size `align` (a power of 2).
    #[inline(always)]
    fn align(&mut self, align: usize) -> Result<()> {
        let pad = self.pos.wrapping_neg() & (align - 1);
        self.take(pad).map(drop)
    }

    /// Reads an `int32`.
    pub fn read_i32(&mut self) -> Result<i32> {
        self.read_u32().map(|v| v as i32)
    }

    /// Reads a `float64`.
    pub fn read_f64(&mut self) -> Result<f64> {
        self.align(8)?;
        let raw: [u8; 8] = self.take(8)?.try_into().expect("take returns 8 bytes");
        Ok(match self.endianness {
            Endianness::Little => f64::from_le_bytes(raw),
            Endianness::Big => f64::from_be_bytes(raw),
        })
    }

    /// Skips `n` `float64`s (an array of them: one alignment, then the
    /// elements back to back).
    pub fn skip_f64s(&mut self, n: usize) -> Result<()> {
        self.align(8)?;
        self.take(8 * n).map(drop)
    }

    /// The next `n` bytes, unread, aligned to `align` first (a power of 2).
    pub fn read_raw(&mut self, n: usize, align: usize) -> Result<&'de [u8]> {
        self.align(align)?;
        self.take(n)
    }

    /// The byte order of the message.
    pub fn endianness(&self) -> Endianness {
        self.endianness
    }

    /// A deserializer over a whole message, header included: checks the
    /// encapsulation header.
    pub fn for_message(bytes: &'de [u8]) -> Result<Self> {
        let endianness = Endianness::from_header(bytes)?;
        Ok(Deserializer::new(
            &bytes[ENCAPSULATION_HEADER_LEN..],
            endianness,
        ))
    }

    /// Fails unless at most the alignment padding a writer may append
    /// remains.
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            rest if rest > MAX_TRAILING_PADDING => Err(CdrError::TrailingBytes { count: rest }),
            _ => Ok(()),
        }
    }

    /// Reads a `uint32`.
    pub fn read_u32(&mut self) -> Result<u32> {
        self.align(4)?;
        let raw: [u8; 4] = self.take(4)?.try_into().expect("take returns 4 bytes");
        Ok(match self.endianness {
            Endianness::Little => u32::from_le_bytes(raw),
            Endianness::Big => u32::from_be_bytes(raw),
        })
    }

    /// Reads a sequence or string length and checks that at least
    /// `len * min_elem_size` bytes follow, so that no caller ever sizes an
    /// allocation from a length the buffer cannot back.
    pub fn read_len(&mut self, min_elem_size: usize) -> Result<usize> {
        self.align(4)?;
        let offset = self.pos;
        let len = self.read_u32()?;
        let needed = (len as usize).checked_mul(min_elem_size);
        match needed {
            Some(needed) if needed <= self.remaining() => Ok(len as usize),
            _ => Err(CdrError::LengthPastEnd {
                offset,
                len,
                remaining: self.remaining(),
            }),
        }
    }

    /// Reads a CDR string and borrows it.
    pub fn read_str(&mut self) -> Result<&'de str> {
        let len = self.read_len(1)?;
        let offset = self.pos;
        let bytes = self.take(len)?;
        // Some writers send an empty string as length 0 with no terminator.
        let Some((&last, text)) = bytes.split_last() else {
            return Ok("");
        };
        if last != 0 {
            return Err(CdrError::MissingNul { offset });
        }
        core::str::from_utf8(text).map_err(|_| CdrError::InvalidUtf8 { offset })
    }

    /// Reads a CDR `uint8[]` and borrows it.
    pub fn read_bytes(&mut self) -> Result<&'de [u8]> {
        let len = self.read_len(1)?;
        self.take(len)
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = CdrError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(CdrError::Unsupported("a self-describing value"))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let offset = self.pos;
        match self.take(1)?[0] {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            value => Err(CdrError::InvalidBool { offset, value }),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i8(self.take(1)?[0] as i8)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u8(self.take(1)?[0])
    }
    get_primitive!(deserialize_i16, i16, visit_i16);
    get_primitive!(deserialize_i32, i32, visit_i32);
    get_primitive!(deserialize_i64, i64, visit_i64);
    get_primitive!(deserialize_u16, u16, visit_u16);
    get_primitive!(deserialize_u32, u32, visit_u32);
    get_primitive!(deserialize_u64, u64, visit_u64);
    get_primitive!(deserialize_f32, f32, visit_f32);
    get_primitive!(deserialize_f64, f64, visit_f64);

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_char(char::from(self.take(1)?[0]))
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.read_str()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_bytes(self.read_bytes()?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(CdrError::Unsupported("an Option"))
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Every ROS 2 element takes at least one byte on the wire (even an
        // empty message carries a placeholder octet).
        let len = self.read_len(1)?;
        visitor.visit_seq(Elements {
            de: self,
            left: len,
        })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Elements {
            de: self,
            left: len,
        })
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(CdrError::Unsupported("a map"))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(fields.len(), visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value> {
        Err(CdrError::Unsupported("an enum"))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(CdrError::Unsupported("an identifier"))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(CdrError::Unsupported("skipping a value"))
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The elements of a sequence, a fixed array or a struct's fields.
struct Elements<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = CdrError;

    #[inline(always)]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}
