//! The frame: what the host writes into a module's input buffer before each
//! `fusion_step`. All integers are little-endian. Layout (see ABI.md):
//!
//! ```text
//! header, 40 bytes        slot table, 32 bytes a slot     payloads
//! magic version count     index kind stamp offset len     CDR bytes, each
//! sequence trigger_stamp  ...                             8-byte aligned
//! missing_sensors flags
//! ```

use fusion_msgs::fusion_interfaces::SensorConfig;

/// `"FRM1"` read as a little-endian u32.
pub const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"FRM1");
/// Layout version of the frame header and slot table.
pub const FRAME_VERSION: u16 = 1;
/// Size of the frame header in bytes.
pub const HEADER_LEN: usize = 40;
/// Size of one slot-table entry in bytes.
pub const SLOT_LEN: usize = 32;
/// Payloads start at multiples of this, counted from the frame's first byte.
pub const PAYLOAD_ALIGN: usize = 8;
/// `FrameHeader::flags` bit: at least one expected sensor is missing.
pub const FLAG_DEGRADED: u32 = 1;

/// Which message type a slot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SensorKind {
    /// `sensor_msgs/msg/PointCloud2`.
    Lidar = SensorConfig::LIDAR,
    /// `radar_msgs/msg/RadarScan`.
    Radar = SensorConfig::RADAR,
    /// `vision_msgs/msg/Detection2DArray`.
    Camera = SensorConfig::CAMERA,
}

impl SensorKind {
    /// The kind for a `SensorConfig.kind` value.
    pub fn from_u8(kind: u8) -> Option<Self> {
        match kind {
            SensorConfig::LIDAR => Some(SensorKind::Lidar),
            SensorConfig::RADAR => Some(SensorKind::Radar),
            SensorConfig::CAMERA => Some(SensorKind::Camera),
            _ => None,
        }
    }
}

/// The fixed part of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    /// Frame sequence number, contiguous from the first frame of a run.
    pub sequence: u64,
    /// Header stamp of the message that triggered the frame, in ns.
    pub trigger_stamp_ns: i64,
    /// Bit `i` set: the sensor with index `i` was expected and is missing.
    pub missing_sensors: u64,
    /// [`FLAG_DEGRADED`] and future flags.
    pub flags: u32,
}

impl FrameHeader {
    /// True when a sensor is missing from the frame.
    pub fn is_degraded(&self) -> bool {
        self.flags & FLAG_DEGRADED != 0
    }
}

/// One sensor message of a frame, as the module reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot<'a> {
    /// Index of the sensor in the launch file (`SensorConfig.index`).
    pub sensor_index: u16,
    /// Message type of the payload.
    pub kind: SensorKind,
    /// Header stamp of the message, in ns.
    pub stamp_ns: i64,
    /// The message's CDR bytes, exactly as received.
    pub payload: &'a [u8],
}

/// Why frame bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than a header.
    #[error("frame of {0} bytes is shorter than its 40-byte header")]
    Short(usize),
    /// The magic number is wrong.
    #[error("frame magic {0:#010x} is not FRM1")]
    BadMagic(u32),
    /// A layout version this code does not know.
    #[error("frame version {0} is not supported (expected 1)")]
    BadVersion(u16),
    /// The slot table runs past the end of the frame.
    #[error("{slots} slots do not fit in a frame of {len} bytes")]
    SlotTableTooLong {
        /// Declared slot count.
        slots: u16,
        /// Frame length.
        len: usize,
    },
    /// A slot names an unknown sensor kind.
    #[error("slot {slot}: unknown sensor kind {kind}")]
    BadKind {
        /// Slot position in the table.
        slot: usize,
        /// The kind found.
        kind: u8,
    },
    /// A payload is misaligned or runs past the end of the frame.
    #[error("slot {slot}: payload at {offset}+{len} is misaligned or outside the frame")]
    BadPayload {
        /// Slot position in the table.
        slot: usize,
        /// Declared offset.
        offset: u32,
        /// Declared length.
        len: u32,
    },
    /// The destination buffer is smaller than the frame.
    #[error("frame needs {needed} bytes, the buffer has {len}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        len: usize,
    },
    /// More slots than a u16 count or payloads larger than u32 offsets allow.
    #[error("frame too large for the version-1 layout")]
    TooLarge,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A validated frame borrowed from the input buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The header fields.
    pub header: FrameHeader,
    bytes: &'a [u8],
    slot_count: usize,
}

impl<'a> Frame<'a> {
    /// Checks the header, the slot table and every payload's bounds.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() < HEADER_LEN {
            return Err(FrameError::Short(bytes.len()));
        }
        let magic = u32_at(bytes, 0);
        if magic != FRAME_MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        let version = u16_at(bytes, 4);
        if version != FRAME_VERSION {
            return Err(FrameError::BadVersion(version));
        }
        let slots = u16_at(bytes, 6);
        let table_end = HEADER_LEN + usize::from(slots) * SLOT_LEN;
        if table_end > bytes.len() {
            return Err(FrameError::SlotTableTooLong {
                slots,
                len: bytes.len(),
            });
        }
        let frame = Frame {
            header: FrameHeader {
                sequence: u64_at(bytes, 8),
                trigger_stamp_ns: u64_at(bytes, 16) as i64,
                missing_sensors: u64_at(bytes, 24),
                flags: u32_at(bytes, 32),
            },
            bytes,
            slot_count: usize::from(slots),
        };
        for slot in 0..frame.slot_count {
            let at = HEADER_LEN + slot * SLOT_LEN;
            let kind = bytes[at + 2];
            if SensorKind::from_u8(kind).is_none() {
                return Err(FrameError::BadKind { slot, kind });
            }
            let (offset, len) = (u32_at(bytes, at + 16), u32_at(bytes, at + 20));
            let end = offset as usize + len as usize;
            if (offset as usize) < table_end
                || !(offset as usize).is_multiple_of(PAYLOAD_ALIGN)
                || end > bytes.len()
            {
                return Err(FrameError::BadPayload { slot, offset, len });
            }
        }
        Ok(frame)
    }

    /// Number of slots.
    pub fn slot_count(&self) -> usize {
        self.slot_count
    }

    /// Slot `i` (checked in [`Frame::parse`]).
    pub fn slot(&self, i: usize) -> Option<Slot<'a>> {
        if i >= self.slot_count {
            return None;
        }
        let b = self.bytes;
        let at = HEADER_LEN + i * SLOT_LEN;
        let (offset, len) = (u32_at(b, at + 16) as usize, u32_at(b, at + 20) as usize);
        Some(Slot {
            sensor_index: u16_at(b, at),
            kind: SensorKind::from_u8(b[at + 2]).expect("checked in parse"),
            stamp_ns: u64_at(b, at + 8) as i64,
            payload: &b[offset..offset + len],
        })
    }

    /// Every slot in table order.
    pub fn slots(&self) -> impl Iterator<Item = Slot<'a>> + '_ {
        (0..self.slot_count).filter_map(|i| self.slot(i))
    }
}

/// One slot as the host hands it to [`write_frame`].
#[derive(Debug, Clone, Copy)]
pub struct SlotInput<'a> {
    /// Index of the sensor in the launch file.
    pub sensor_index: u16,
    /// Message type of the payload.
    pub kind: SensorKind,
    /// Header stamp of the message, in ns.
    pub stamp_ns: i64,
    /// The CDR bytes as received.
    pub payload: &'a [u8],
}

/// Bytes a frame with payloads of these lengths takes.
pub fn frame_len(payload_lens: impl IntoIterator<Item = usize>) -> usize {
    let mut slots = 0;
    let mut payloads = 0;
    for len in payload_lens {
        slots += 1;
        payloads += len.next_multiple_of(PAYLOAD_ALIGN);
    }
    (HEADER_LEN + slots * SLOT_LEN).next_multiple_of(PAYLOAD_ALIGN) + payloads
}

/// Writes a frame into `dst` (the module's input buffer) and returns its
/// length. Payloads are copied once, as they are; padding is zeroed.
pub fn write_frame(
    dst: &mut [u8],
    header: &FrameHeader,
    slots: &[SlotInput<'_>],
) -> Result<usize, FrameError> {
    let count = u16::try_from(slots.len()).map_err(|_| FrameError::TooLarge)?;
    let needed = frame_len(slots.iter().map(|s| s.payload.len()));
    if needed > u32::MAX as usize {
        return Err(FrameError::TooLarge);
    }
    if dst.len() < needed {
        return Err(FrameError::BufferTooSmall {
            needed,
            len: dst.len(),
        });
    }
    let dst = &mut dst[..needed];
    dst[0..4].copy_from_slice(&FRAME_MAGIC.to_le_bytes());
    dst[4..6].copy_from_slice(&FRAME_VERSION.to_le_bytes());
    dst[6..8].copy_from_slice(&count.to_le_bytes());
    dst[8..16].copy_from_slice(&header.sequence.to_le_bytes());
    dst[16..24].copy_from_slice(&header.trigger_stamp_ns.to_le_bytes());
    dst[24..32].copy_from_slice(&header.missing_sensors.to_le_bytes());
    dst[32..36].copy_from_slice(&header.flags.to_le_bytes());
    dst[36..40].fill(0);
    let mut offset = (HEADER_LEN + slots.len() * SLOT_LEN).next_multiple_of(PAYLOAD_ALIGN);
    dst[HEADER_LEN + slots.len() * SLOT_LEN..offset].fill(0);
    for (i, slot) in slots.iter().enumerate() {
        let at = HEADER_LEN + i * SLOT_LEN;
        let entry = &mut dst[at..at + SLOT_LEN];
        entry.fill(0);
        entry[0..2].copy_from_slice(&slot.sensor_index.to_le_bytes());
        entry[2] = slot.kind as u8;
        entry[8..16].copy_from_slice(&slot.stamp_ns.to_le_bytes());
        entry[16..20].copy_from_slice(&(offset as u32).to_le_bytes());
        entry[20..24].copy_from_slice(&(slot.payload.len() as u32).to_le_bytes());
        let end = offset + slot.payload.len();
        dst[offset..end].copy_from_slice(slot.payload);
        let padded = end.next_multiple_of(PAYLOAD_ALIGN);
        dst[end..padded].fill(0);
        offset = padded;
    }
    Ok(needed)
}
