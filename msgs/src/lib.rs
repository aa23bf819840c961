//! ROS 2 wire types of fusion-node and their CDR encoding.
//!
//! The message structs are generated at build time from the upstream `.msg`
//! files shipped under `msgs/msg/` (see `msg/SOURCES.md`); their fields and
//! constants carry the names the `.msg` files give them. Encode and decode
//! with [`encode`], [`decode`] and the [`cdr`] module; read LiDAR clouds
//! without copying them through [`PointCloudView`].
//!
//! This crate knows wire types and nothing else: no zenoh, no wasmtime, no
//! I/O. It is `no_std` (with `alloc`) so Wasm fusion modules use it too.
#![no_std]

extern crate alloc;

pub mod cdr;
mod pointcloud;
mod views;

pub use pointcloud::{
    FieldIter, FieldReader, PointCloudBuilder, PointCloudError, PointCloudView, PointFieldRef,
    PointFieldType, PointsIter, PointsReader, Scalar,
};
pub use views::{Detection2DArrayView, Detection2DView, Hypothesis, RadarScanView};

/// A ROS 2 message type: its name, its `.msg` text and its CDR codec.
pub trait Message: cdr::CdrEncode + serde::Serialize + serde::de::DeserializeOwned {
    /// Fully qualified name, e.g. `sensor_msgs/msg/PointCloud2`.
    const TYPE_NAME: &'static str;
    /// The type's own `.msg` file, verbatim.
    const DEFINITION: &'static str;
    /// The definition with every dependency appended, exactly as rosbag2
    /// writes an MCAP schema of encoding `ros2msg`.
    const FULL_DEFINITION: &'static str;
}

/// Encodes a message as ROS 2 does: little-endian CDR behind `00 01 00 00`.
pub fn encode<M: Message>(message: &M) -> Result<alloc::vec::Vec<u8>, cdr::CdrError> {
    cdr::to_vec(message)
}

/// Decodes a whole ROS 2 message of either byte order.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, cdr::CdrError> {
    cdr::from_bytes(bytes)
}

/// What the registry knows of one message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// Fully qualified name, e.g. `sensor_msgs/msg/PointCloud2`.
    pub name: &'static str,
    /// The type's own `.msg` text.
    pub definition: &'static str,
    /// The `ros2msg` schema text with all dependencies.
    pub full_definition: &'static str,
}

impl TypeInfo {
    /// The registry entry of `M`.
    pub const fn of<M: Message>() -> Self {
        TypeInfo {
            name: M::TYPE_NAME,
            definition: M::DEFINITION,
            full_definition: M::FULL_DEFINITION,
        }
    }

    /// Looks a type up by `pkg/msg/Name` or the short `pkg/Name`.
    pub fn find(name: &str) -> Option<&'static TypeInfo> {
        ALL_TYPES
            .iter()
            .find(|t| t.name == name || t.short_name_eq(name))
    }

    fn short_name_eq(&self, name: &str) -> bool {
        match (self.name.split_once("/msg/"), name.split_once('/')) {
            (Some((pkg, ty)), Some((p, t))) => pkg == p && ty == t,
            _ => false,
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[cfg(test)]
mod arb;
#[cfg(test)]
mod tests;
