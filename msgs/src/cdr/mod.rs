//! CDR as ROS 2 puts it on the wire: plain (XCDR1) CDR behind a 4-byte
//! encapsulation header, primitives aligned to their size relative to the
//! first byte after that header.
//!
//! Decoding is a serde data format; encoding is generated per type (see
//! [`CdrEncode`]). Both are written here for what the `cdr` crate cannot
//! do: run in `no_std` guests (the Wasm fusion modules use this code),
//! borrow strings and byte sequences from the input instead of copying
//! them, check every length read from the wire against the bytes that
//! remain before anything is allocated, and encode at memory speed. The
//! `cdr` crate stays as an independent cross-check in the tests.

mod de;
mod error;
mod fixed;
mod ser;

pub use de::{Deserializer, from_bytes, from_bytes_prefix};
pub use error::{CdrError, Result};
pub use fixed::FixedArray;
pub use ser::{CdrEncode, encode_into, to_vec, to_vec_with};

/// Byte order of a CDR payload, named by its encapsulation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endianness {
    /// `CDR_BE`, header `00 00`.
    Big,
    /// `CDR_LE`, header `00 01`: what ROS 2 writes on every common platform.
    Little,
}

/// Length of the encapsulation header that starts every serialized message.
pub const ENCAPSULATION_HEADER_LEN: usize = 4;

impl Endianness {
    /// The first two bytes of the encapsulation header (the representation id).
    pub const fn representation_id(self) -> [u8; 2] {
        match self {
            Endianness::Big => [0x00, 0x00],
            Endianness::Little => [0x00, 0x01],
        }
    }

    /// Reads the encapsulation header at the start of `bytes`.
    ///
    /// The two option bytes that follow the representation id are ignored, as
    /// ROS 2 does.
    pub fn from_header(bytes: &[u8]) -> Result<Self> {
        let Some(header) = bytes.get(..ENCAPSULATION_HEADER_LEN) else {
            return Err(CdrError::Truncated {
                offset: 0,
                needed: ENCAPSULATION_HEADER_LEN,
                remaining: bytes.len(),
            });
        };
        match [header[0], header[1]] {
            [0x00, 0x00] => Ok(Endianness::Big),
            [0x00, 0x01] => Ok(Endianness::Little),
            id => Err(CdrError::UnsupportedEncapsulation(id)),
        }
    }
}
