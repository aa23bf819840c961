//! Synthetic driving scenes for testing and benchmarking fusion modules.
//!
//! A [`Scene`] of [`Actor`]s (boxes on the ground moving at constant speed
//! and turn rate) around a static ego vehicle is observed by a rig of
//! sensors ([`rig::default_rig`]): a ray-cast LiDAR ([`LidarModel`]),
//! radars ([`RadarModel`]) and camera object detectors ([`CameraModel`]),
//! each producing the ROS 2 message its real counterpart publishes, in its
//! own frame. [`Scene::ground_truth`] gives the answer as
//! `TrackedObjects`, and [`FrameGenerator`] packs everything into ABI
//! frames.
//!
//! Frames: `base_link` is x forward, y left, z up, origin on the ground;
//! sensor poses are `SensorConfig.pose` (camera poses are those of the ROS
//! optical frame, x right, y down, z forward).
//!
//! Determinism: all randomness comes from explicitly seeded PCG generators
//! (see [`sensor_rng`]); no clock is read. The same seed gives
//! byte-identical messages with the same build on the same platform
//! (trigonometry and the normal sampler use the platform's libm).
//!
//! Whole drives: [`Traffic`] moves actors plausibly around a moving or
//! waiting ego in a named [`Scenario`], and [`Drive`] renders every sensor
//! at its own rate, with stamp jitter, latency and the scenario's
//! dropouts, as one stream of messages in receive order.
//!
//! Not modelled yet: occlusion for radar and camera (the LiDAR sees only
//! the nearest surface), ego turns (the ego drives straight or waits).

mod actors;
pub mod alloc_count;
pub mod camera;
pub mod drive;
pub mod faults;
pub mod frame;
pub mod geom;
pub mod lidar;
pub mod path;
pub mod radar;
pub mod rig;
mod scenes;
pub mod traffic;
pub mod truth;

pub use actors::{Actor, Scene, class_name, default_dimensions};
pub use camera::{CameraModel, Pinhole};
pub use drive::{Drive, DriveConfig, DriveMessage, SensorRates, Source};
pub use frame::{FrameGenerator, GeneratedFrame, SensorMessage, frame};
pub use lidar::{LidarModel, RayCaster};
pub use radar::RadarModel;
pub use rig::{default_rig, module_config};
pub use scenes::HIGHWAY_LANES;
pub use traffic::{Scenario, Traffic};

use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::std_msgs::Header;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// A ROS time from nanoseconds since the epoch (negative stamps keep
/// `nanosec` in [0, 1e9); seconds saturate at the i32 range).
pub fn time_from_ns(ns: i64) -> Time {
    let sec = ns.div_euclid(1_000_000_000);
    Time {
        sec: sec.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        nanosec: ns.rem_euclid(1_000_000_000) as u32,
    }
}

/// The generator of the noise of one sensor in one frame: independent
/// streams for every (`seed`, `sequence`, `sensor_index`).
pub fn sensor_rng(seed: u64, sequence: u64, sensor_index: u16) -> Pcg64Mcg {
    let s = splitmix64(splitmix64(splitmix64(seed) ^ sequence) ^ u64::from(sensor_index));
    Pcg64Mcg::seed_from_u64(s)
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A header in `frame_id` at `stamp_ns`.
fn header(stamp_ns: i64, frame_id: &str) -> Header {
    Header {
        stamp: time_from_ns(stamp_ns),
        frame_id: frame_id.to_string(),
    }
}

#[cfg(test)]
mod tests;
