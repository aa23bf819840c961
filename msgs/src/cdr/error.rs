use alloc::string::{String, ToString};
use core::fmt::Display;

/// Result of encoding or decoding CDR.
pub type Result<T, E = CdrError> = core::result::Result<T, E>;

/// Everything that can go wrong while encoding or decoding CDR.
///
/// Offsets count from the first byte after the encapsulation header, as CDR
/// alignment does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdrError {
    /// The buffer ends before a value does.
    #[error("truncated: {needed} bytes needed at offset {offset}, {remaining} remain")]
    Truncated {
        /// Where the value starts.
        offset: usize,
        /// Bytes the value needs.
        needed: usize,
        /// Bytes left in the buffer.
        remaining: usize,
    },
    /// The encapsulation header names neither `CDR_LE` nor `CDR_BE`.
    #[error("unsupported encapsulation {:02x} {:02x}: only plain CDR (00 00, 00 01) is accepted", .0[0], .0[1])]
    UnsupportedEncapsulation([u8; 2]),
    /// A string or sequence length points past the end of the buffer.
    #[error("length {len} at offset {offset} runs past the end: {remaining} bytes remain")]
    LengthPastEnd {
        /// Where the length field starts.
        offset: usize,
        /// The length as read.
        len: u32,
        /// Bytes left after the length field.
        remaining: usize,
    },
    /// A string's bytes are not UTF-8.
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// A string does not end with its NUL terminator.
    #[error("string at offset {offset} lacks its NUL terminator")]
    MissingNul {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// A bool is neither 0 nor 1.
    #[error("bool at offset {offset} holds {value}, not 0 or 1")]
    InvalidBool {
        /// Where the byte is.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// Bytes remain after the message beyond the at most 3 bytes of padding.
    #[error("{count} bytes left after the message (at most 3 bytes of padding are allowed)")]
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// A message too large for CDR's 32-bit length fields.
    #[error("a message of {0} bytes is larger than CDR's 32-bit lengths allow")]
    TooLong(usize),
    /// The serde data model feature has no CDR form (maps, options, enums).
    #[error("{0} has no CDR encoding in ROS 2")]
    Unsupported(&'static str),
    /// A type-level error raised by a `Deserialize` impl (for example a
    /// fixed-size array of the wrong length).
    #[error("{0}")]
    Custom(String),
}

impl serde::ser::Error for CdrError {
    fn custom<T: Display>(msg: T) -> Self {
        CdrError::Custom(msg.to_string())
    }
}

impl serde::de::Error for CdrError {
    fn custom<T: Display>(msg: T) -> Self {
        CdrError::Custom(msg.to_string())
    }
}
