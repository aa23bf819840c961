//! The one thing the node reads inside a sensor message: its header stamp.
//!
//! Every sensor type starts with `std_msgs/Header`, whose `stamp` (int32
//! `sec`, uint32 `nanosec`) comes first. In plain CDR those are the eight
//! bytes right after the four-byte encapsulation header, in the byte order
//! that header names. Nothing else of the message is looked at here; the
//! module validates the rest.

use thiserror::Error;

/// Bytes needed to read a header stamp: encapsulation header, sec, nanosec.
pub const STAMP_PREFIX_LEN: usize = 12;

/// Why a message's stamp could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StampError {
    /// Fewer bytes than an encapsulation header and a stamp.
    #[error("message of {0} bytes is too short for a header stamp")]
    TooShort(usize),
    /// Not plain CDR (`00 00` big-endian or `00 01` little-endian).
    #[error("unsupported CDR encapsulation {0:#06x}")]
    Encapsulation(u16),
    /// `nanosec` not below one second.
    #[error("header stamp nanosec {0} is not below 1e9")]
    Nanosec(u32),
}

/// The header stamp of a CDR sensor message, in nanoseconds, read from its
/// first [`STAMP_PREFIX_LEN`] bytes; `total_len` is the whole message's
/// length (for the error).
pub fn header_stamp_ns(prefix: &[u8], total_len: usize) -> Result<i64, StampError> {
    let Some(head) = prefix.get(..STAMP_PREFIX_LEN) else {
        return Err(StampError::TooShort(total_len));
    };
    let word = |at: usize| [head[at], head[at + 1], head[at + 2], head[at + 3]];
    let (sec, nanosec) = match u16::from_be_bytes([head[0], head[1]]) {
        0x0000 => (i32::from_be_bytes(word(4)), u32::from_be_bytes(word(8))),
        0x0001 => (i32::from_le_bytes(word(4)), u32::from_le_bytes(word(8))),
        other => return Err(StampError::Encapsulation(other)),
    };
    if nanosec >= 1_000_000_000 {
        return Err(StampError::Nanosec(nanosec));
    }
    Ok(i64::from(sec) * 1_000_000_000 + i64::from(nanosec))
}

/// Moves a CDR message's header stamp by `delta_ns` in place (a replay
/// that makes a recording look live); the rest of the message is not
/// touched. Seconds saturate at the `int32` range.
pub fn shift_header_stamp(message: &mut [u8], delta_ns: i64) -> Result<(), StampError> {
    let stamp = header_stamp_ns(message, message.len())?;
    let shifted = stamp.saturating_add(delta_ns);
    let sec = shifted
        .div_euclid(1_000_000_000)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let nanosec = shifted.rem_euclid(1_000_000_000) as u32;
    let big_endian = message[1] == 0;
    let (sec, nanosec) = if big_endian {
        (sec.to_be_bytes(), nanosec.to_be_bytes())
    } else {
        (sec.to_le_bytes(), nanosec.to_le_bytes())
    };
    message[4..8].copy_from_slice(&sec);
    message[8..12].copy_from_slice(&nanosec);
    Ok(())
}

#[cfg(test)]
mod tests {
    use fusion_msgs::builtin_interfaces::Time;
    use fusion_msgs::std_msgs::Header;

    use super::*;

    fn header(sec: i32, nanosec: u32) -> Header {
        Header {
            stamp: Time { sec, nanosec },
            frame_id: "lidar_top".into(),
        }
    }

    #[test]
    fn reads_the_stamp_of_little_endian_cdr() {
        let bytes = fusion_msgs::encode(&header(1_700_000_000, 123)).unwrap();
        assert_eq!(
            header_stamp_ns(&bytes, bytes.len()),
            Ok(1_700_000_000_000_000_123)
        );
    }

    #[test]
    fn reads_the_stamp_of_big_endian_cdr() {
        let mut bytes = vec![0, 0, 0, 0];
        bytes.extend_from_slice(&(-2i32).to_be_bytes());
        bytes.extend_from_slice(&5u32.to_be_bytes());
        assert_eq!(header_stamp_ns(&bytes, 12), Ok(-1_999_999_995));
    }

    #[test]
    fn a_shifted_stamp_reads_back_shifted_and_the_rest_is_untouched() {
        let mut bytes = fusion_msgs::encode(&header(1_700_000_000, 999_999_999)).unwrap();
        let tail = bytes[12..].to_vec();
        shift_header_stamp(&mut bytes, 2).unwrap();
        assert_eq!(
            header_stamp_ns(&bytes, bytes.len()),
            Ok(1_700_000_001_000_000_001)
        );
        assert_eq!(bytes[12..], tail[..]);
        let decoded: Header = fusion_msgs::decode(&bytes).unwrap();
        assert_eq!(
            decoded.stamp,
            Time {
                sec: 1_700_000_001,
                nanosec: 1
            }
        );
        let mut big = vec![0, 0, 0, 0];
        big.extend_from_slice(&1i32.to_be_bytes());
        big.extend_from_slice(&0u32.to_be_bytes());
        shift_header_stamp(&mut big, -1).unwrap();
        assert_eq!(header_stamp_ns(&big, 12), Ok(999_999_999));
        assert_eq!(
            shift_header_stamp(&mut [0u8; 3], 1),
            Err(StampError::TooShort(3))
        );
    }

    #[test]
    fn refuses_what_is_not_a_stamped_cdr_message() {
        assert_eq!(header_stamp_ns(b"abc", 3), Err(StampError::TooShort(3)));
        let mut bytes = fusion_msgs::encode(&header(1, 0)).unwrap();
        bytes[1] = 3;
        assert_eq!(
            header_stamp_ns(&bytes, bytes.len()),
            Err(StampError::Encapsulation(3))
        );
        let bytes = fusion_msgs::encode(&header(1, 1_000_000_000)).unwrap();
        assert_eq!(
            header_stamp_ns(&bytes, bytes.len()),
            Err(StampError::Nanosec(1_000_000_000))
        );
    }
}
