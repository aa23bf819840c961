//! The reference fusion module of fusion-node: LiDAR clustering with
//! L-shape boxes, radar Doppler association and radar-only objects beyond
//! LiDAR range, camera classification by IoU, and a Kalman tracker with
//! optimal assignment. See `ReferenceModule`.
//!
//! Built for `wasm32-unknown-unknown` it is the module the node runs; built
//! natively it is the speed baseline and the determinism oracle: both
//! builds produce the same bytes for the same frames.
// no_std on Wasm (the SDK provides allocator and panic handler); std on
// native, where the crate is also a library. Either way all math goes
// through `libm`, so both builds compute bit-identical results.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod assignment;
pub mod camera;
pub mod detection;
pub mod geometry;
mod lcg;
pub mod lidar;
mod module;
pub mod params;
pub mod radar;
pub mod tracker;

pub use module::{MAX_SENSORS, ReferenceModule};

fusion_abi::export_module!(ReferenceModule);
