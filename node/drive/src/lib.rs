//! Recorded drives: ROS 2 MCAP files that Foxglove and `ros2 bag` (rosbag2's
//! mcap storage) open.
//!
//! - [`DriveWriter`] writes a drive: topics registered by ROS 2 type name,
//!   CDR messages in compressed, indexed chunks, a summary on
//!   [`DriveWriter::finish`].
//! - [`DriveReader`] streams a drive's messages in log-time order from a
//!   memory map, tolerating truncated and corrupt files and saying what it
//!   skipped ([`ReadIssues`]).
//! - [`SpliceWriter`] writes a drive from another drive's chunks, copied
//!   as they are, and new messages (an offline replay's output).
//! - [`DriveInfo`] summarises a drive like `ros2 bag info`.
//!
//! This crate knows MCAP and the fusion-msgs registry, nothing else: no
//! zenoh, no wasmtime, no node. Library logic reads no clock: the caller
//! stamps every message.

mod error;
mod info;
mod layout;
mod read;
mod records;
mod splice;
mod write;

pub use error::DriveError;
pub use info::{DriveInfo, TopicSummary};
pub use read::{DriveMessage, DriveReader, Messages, ReadFilter, ReadIssues};
pub use splice::{
    CopyRefused, IndexEntry, RawChunk, SourceChannel, SourceSchema, SpliceSummary, SpliceWriter,
};
pub use write::{Compression, DriveWriter, Topic, WriteSummary, WriterConfig};

/// The MCAP header profile of a ROS 2 drive.
pub const PROFILE: &str = "ros2";
/// The schema encoding of ROS 2 `.msg` definitions.
pub const SCHEMA_ENCODING: &str = "ros2msg";
/// The message encoding of ROS 2 messages.
pub const MESSAGE_ENCODING: &str = "cdr";
/// The MCAP header library string.
pub const LIBRARY: &str = concat!("fusion-drive/", env!("CARGO_PKG_VERSION"));
