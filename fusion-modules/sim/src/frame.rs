//! ABI frames of simulated sensor messages, and a generator of whole runs.

use fusion_abi::SensorKind;
use fusion_abi::frame::{FrameHeader, SlotInput, frame_len, write_frame};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_msgs::fusion_interfaces::{ModuleConfig, Parameter, SensorConfig};

use crate::actors::Scene;
use crate::camera::CameraModel;
use crate::lidar::LidarModel;
use crate::radar::RadarModel;
use crate::{rig, sensor_rng};

/// The default stamp of a [`FrameGenerator`]'s start: 2023-11-14T22:13:20Z
/// (1.7e9 s), a fixed, plausible time (no wall clock is read).
pub const DEFAULT_START_NS: i64 = 1_700_000_000_000_000_000;

/// One sensor message: (`SensorConfig.index`, kind, CDR bytes).
pub type SensorMessage = (u16, SensorKind, Vec<u8>);

/// A version-1 ABI frame of these messages, all stamped `stamp_ns`, which
/// is also the trigger stamp; no sensor is marked missing.
///
/// # Panics
/// If the frame would exceed the layout's 4 GiB or 65 535 slots.
pub fn frame(sequence: u64, stamp_ns: i64, slots: &[SensorMessage]) -> Vec<u8> {
    let inputs: Vec<SlotInput<'_>> = slots
        .iter()
        .map(|(sensor_index, kind, payload)| SlotInput {
            sensor_index: *sensor_index,
            kind: *kind,
            stamp_ns,
            payload,
        })
        .collect();
    let header = FrameHeader {
        sequence,
        trigger_stamp_ns: stamp_ns,
        missing_sensors: 0,
        flags: 0,
    };
    let mut bytes = vec![0u8; frame_len(slots.iter().map(|s| s.2.len()))];
    let len = write_frame(&mut bytes, &header, &inputs).expect("frame fits the v1 layout");
    bytes.truncate(len);
    bytes
}

/// What [`FrameGenerator::next`] produces.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedFrame {
    /// Frame sequence number, from 0.
    pub sequence: u64,
    /// The common stamp of the frame and of every message in it (ns).
    pub stamp_ns: i64,
    /// The ABI frame: one slot per sensor of the rig, in rig order.
    pub frame_bytes: Vec<u8>,
    /// The scene at `stamp_ns`.
    pub ground_truth: TrackedObjects,
}

/// Runs a scene and renders every sensor of a rig at a common stamp.
///
/// The noise of sensor `i` in frame `n` comes from
/// [`sensor_rng`]`(seed, n, i)`, so every frame is reproducible on its own
/// and changing one sensor's model does not change what the others see.
#[derive(Debug, Clone)]
pub struct FrameGenerator {
    /// The world, as of the last generated frame.
    pub scene: Scene,
    /// The sensors; each gets one slot per frame.
    pub rig: Vec<SensorConfig>,
    /// Model of every LiDAR of the rig.
    pub lidar: LidarModel,
    /// Model of every radar of the rig.
    pub radar: RadarModel,
    /// Model of every camera of the rig.
    pub camera: CameraModel,
    seed: u64,
    sequence: u64,
    stamp_ns: i64,
}

impl FrameGenerator {
    /// A generator starting at [`DEFAULT_START_NS`] with the default
    /// radar and camera models.
    pub fn new(scene: Scene, rig: Vec<SensorConfig>, lidar: LidarModel, seed: u64) -> Self {
        FrameGenerator {
            scene,
            rig,
            lidar,
            radar: RadarModel::default(),
            camera: CameraModel::default(),
            seed,
            sequence: 0,
            stamp_ns: DEFAULT_START_NS,
        }
    }

    /// The same generator with the scene's initial state at `stamp_ns`.
    pub fn starting_at(mut self, stamp_ns: i64) -> Self {
        self.stamp_ns = stamp_ns;
        self
    }

    /// The seed of all randomness.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stamp of the scene's current state (ns).
    pub fn stamp_ns(&self) -> i64 {
        self.stamp_ns
    }

    /// The sequence number the next frame gets.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// What a fusion module's `init` receives for this rig.
    pub fn module_config(&self, parameters: Vec<Parameter>) -> ModuleConfig {
        rig::module_config(&self.rig, parameters)
    }

    /// Advances the scene by `dt` seconds (rounded to whole nanoseconds;
    /// `next(0.0)` renders the current state) and renders every sensor at
    /// the new stamp.
    pub fn next(&mut self, dt: f64) -> GeneratedFrame {
        let dt_ns = (dt * 1e9).round() as i64;
        self.stamp_ns += dt_ns;
        self.scene.advance(dt_ns as f64 * 1e-9);
        let sequence = self.sequence;
        self.sequence += 1;
        let messages = self.messages(sequence);
        GeneratedFrame {
            sequence,
            stamp_ns: self.stamp_ns,
            frame_bytes: frame(sequence, self.stamp_ns, &messages),
            ground_truth: self.scene.ground_truth(self.stamp_ns),
        }
    }

    /// Every sensor's message of the current scene at the current stamp,
    /// with the noise of frame `sequence`; sensors of unknown kind are
    /// skipped.
    pub fn messages(&self, sequence: u64) -> Vec<SensorMessage> {
        let stamp = self.stamp_ns;
        self.rig
            .iter()
            .filter_map(|sensor| {
                let mut rng = sensor_rng(self.seed, sequence, sensor.index);
                let kind = SensorKind::from_u8(sensor.kind)?;
                let cdr = match kind {
                    SensorKind::Lidar => {
                        encode(&self.lidar.scan(&self.scene, sensor, stamp, &mut rng))
                    }
                    SensorKind::Radar => {
                        encode(&self.radar.scan(&self.scene, sensor, stamp, &mut rng))
                    }
                    SensorKind::Camera => {
                        encode(&self.camera.detect(&self.scene, sensor, stamp, &mut rng))
                    }
                };
                Some((sensor.index, kind, cdr))
            })
            .collect()
    }
}

fn encode<M: fusion_msgs::Message>(message: &M) -> Vec<u8> {
    fusion_msgs::encode(message).expect("simulated messages are encodable")
}
