//! CDR encoding through generated, straight-line code (the way rosidl's
//! typesupport does it), in two passes: measure the exact size, then write
//! into a zeroed slice at computed offsets. Positions travel by value, so
//! the compiler keeps them in registers, and arrays of numbers are written
//! in one loop that vectorises. This is several times faster than a serde
//! serializer appending to a `Vec` value by value.

use alloc::string::String;
use alloc::vec::Vec;

use super::{CdrError, ENCAPSULATION_HEADER_LEN, Endianness, Result};

/// A value with a CDR encoding. Implemented for the primitives, strings,
/// sequences, fixed arrays and (by the build script) every message type.
///
/// Positions count from the first byte after the encapsulation header.
pub trait CdrEncode {
    /// Alignment of the value's first byte (1 for structs: their fields
    /// align themselves).
    const ALIGN: usize = 1;

    /// Where the value ends when it starts at `pos` (padding included).
    fn cdr_end(&self, pos: usize) -> usize;

    /// Writes the value at `pos` (which [`CdrEncode::cdr_end`] sized) into a
    /// zeroed `body` and returns where it ends.
    fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize;

    /// Where a run of values ends; overridden by primitives to skip the loop.
    fn cdr_end_slice(items: &[Self], pos: usize) -> usize
    where
        Self: Sized,
    {
        items.iter().fold(pos, |p, item| item.cdr_end(p))
    }

    /// Writes a run of values; overridden by primitives with a bulk copy.
    fn cdr_write_slice<const BE: bool>(items: &[Self], body: &mut [u8], pos: usize) -> usize
    where
        Self: Sized,
    {
        items
            .iter()
            .fold(pos, |p, item| item.cdr_write::<BE>(body, p))
    }
}

#[inline(always)]
const fn align(pos: usize, to: usize) -> usize {
    (pos + to - 1) & !(to - 1)
}

macro_rules! primitive {
    ($($ty:ty),*) => {$(
        impl CdrEncode for $ty {
            const ALIGN: usize = core::mem::size_of::<$ty>();

            #[inline(always)]
            fn cdr_end(&self, pos: usize) -> usize {
                align(pos, Self::ALIGN) + Self::ALIGN
            }

            #[inline(always)]
            fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {
                let at = align(pos, Self::ALIGN);
                let bytes = if BE { self.to_be_bytes() } else { self.to_le_bytes() };
                body[at..at + Self::ALIGN].copy_from_slice(&bytes);
                at + Self::ALIGN
            }

            #[inline(always)]
            fn cdr_end_slice(items: &[Self], pos: usize) -> usize {
                if items.is_empty() { pos } else { align(pos, Self::ALIGN) + items.len() * Self::ALIGN }
            }

            #[inline]
            fn cdr_write_slice<const BE: bool>(items: &[Self], body: &mut [u8], pos: usize) -> usize {
                if items.is_empty() {
                    return pos;
                }
                let at = align(pos, Self::ALIGN);
                let end = at + items.len() * Self::ALIGN;
                for (dst, v) in body[at..end].chunks_exact_mut(Self::ALIGN).zip(items) {
                    dst.copy_from_slice(&if BE { v.to_be_bytes() } else { v.to_le_bytes() });
                }
                end
            }
        }
    )*};
}
primitive!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

impl CdrEncode for bool {
    #[inline(always)]
    fn cdr_end(&self, pos: usize) -> usize {
        pos + 1
    }
    #[inline(always)]
    fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {
        body[pos] = u8::from(*self);
        pos + 1
    }
}

/// The 32-bit length that starts a string or a sequence.
#[inline(always)]
fn write_len<const BE: bool>(len: usize, body: &mut [u8], pos: usize) -> usize {
    // `encode_into` checked every length against u32::MAX while sizing.
    (len as u32).cdr_write::<BE>(body, pos)
}

impl CdrEncode for String {
    #[inline]
    fn cdr_end(&self, pos: usize) -> usize {
        align(pos, 4) + 4 + self.len() + 1
    }
    #[inline]
    fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {
        let at = write_len::<BE>(self.len() + 1, body, pos);
        body[at..at + self.len()].copy_from_slice(self.as_bytes());
        at + self.len() + 1 // the NUL is already there: `body` is zeroed
    }
}

impl<T: CdrEncode> CdrEncode for Vec<T> {
    #[inline]
    fn cdr_end(&self, pos: usize) -> usize {
        T::cdr_end_slice(self, align(pos, 4) + 4)
    }
    #[inline]
    fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {
        let at = write_len::<BE>(self.len(), body, pos);
        T::cdr_write_slice::<BE>(self, body, at)
    }
}

impl<T: CdrEncode, const N: usize> CdrEncode for [T; N] {
    const ALIGN: usize = T::ALIGN;
    #[inline]
    fn cdr_end(&self, pos: usize) -> usize {
        T::cdr_end_slice(self, pos)
    }
    #[inline]
    fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {
        T::cdr_write_slice::<BE>(self, body, pos)
    }
}

/// Encodes `value` as a little-endian ROS 2 message, header included.
pub fn to_vec<T: CdrEncode + ?Sized>(value: &T) -> Result<Vec<u8>> {
    to_vec_with(value, Endianness::Little)
}

/// Encodes `value` with the given byte order, header included.
pub fn to_vec_with<T: CdrEncode + ?Sized>(value: &T, endianness: Endianness) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_into(value, endianness, &mut out)?;
    Ok(out)
}

/// Encodes `value` into `out`, replacing its contents and reusing its
/// capacity, so that a caller that keeps the buffer does not allocate once
/// the buffer has grown to the message size.
pub fn encode_into<T: CdrEncode + ?Sized>(
    value: &T,
    endianness: Endianness,
    out: &mut Vec<u8>,
) -> Result<()> {
    let body_len = value.cdr_end(0);
    // A sequence or string over u32::MAX elements has a body at least that
    // long, so this one check covers every length field.
    if body_len > u32::MAX as usize {
        return Err(CdrError::TooLong(body_len));
    }
    out.clear();
    out.resize(ENCAPSULATION_HEADER_LEN + body_len, 0);
    out[..2].copy_from_slice(&endianness.representation_id());
    let body = &mut out[ENCAPSULATION_HEADER_LEN..];
    let end = match endianness {
        Endianness::Little => value.cdr_write::<false>(body, 0),
        Endianness::Big => value.cdr_write::<true>(body, 0),
    };
    debug_assert_eq!(end, body_len, "cdr_end and cdr_write disagree");
    Ok(())
}
