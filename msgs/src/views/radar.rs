//! `radar_msgs/RadarScan` without copying its returns.

use crate::builtin_interfaces::Time;
use crate::cdr::{Deserializer, Endianness, Result};
use crate::radar_msgs::RadarReturn;

/// Bytes of one `RadarReturn` on the wire: five `float32`, no padding.
const RETURN_LEN: usize = 20;

/// A `radar_msgs/RadarScan` read in place: the header, and the returns as
/// the raw bytes of the message, decoded one at a time by [`RadarScanView::iter`].
#[derive(Debug, Clone)]
pub struct RadarScanView<'a> {
    /// `header.stamp`.
    pub stamp: Time,
    /// `header.frame_id`.
    pub frame_id: &'a str,
    returns: &'a [u8],
    endianness: Endianness,
}

impl<'a> RadarScanView<'a> {
    /// Checks a CDR-encoded `RadarScan` (encapsulation header included)
    /// and returns a view of it.
    pub fn from_cdr(bytes: &'a [u8]) -> Result<Self> {
        let mut de = Deserializer::for_message(bytes)?;
        let (stamp, frame_id) = super::read_header(&mut de)?;
        let count = de.read_len(RETURN_LEN)?;
        let returns = de.read_raw(count * RETURN_LEN, 4)?;
        de.finish()?;
        Ok(RadarScanView {
            stamp,
            frame_id,
            returns,
            endianness: de.endianness(),
        })
    }

    /// Number of returns.
    pub fn len(&self) -> usize {
        self.returns.len() / RETURN_LEN
    }

    /// True when the scan has no returns.
    pub fn is_empty(&self) -> bool {
        self.returns.is_empty()
    }

    /// The returns, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RadarReturn> + 'a {
        let big = self.endianness == Endianness::Big;
        self.returns.chunks_exact(RETURN_LEN).map(move |r| {
            let f = |i: usize| {
                let raw: [u8; 4] = r[4 * i..4 * i + 4].try_into().expect("a 4-byte field");
                if big {
                    f32::from_be_bytes(raw)
                } else {
                    f32::from_le_bytes(raw)
                }
            };
            RadarReturn {
                range: f(0),
                azimuth: f(1),
                elevation: f(2),
                doppler_velocity: f(3),
                amplitude: f(4),
            }
        })
    }
}
