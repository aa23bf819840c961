//! Launch files: the TOML document that says everything one
//! `fusion-node run` needs, validated before anything starts.
//!
//! [`Launch::load`] parses and checks a file completely: unknown keys,
//! types, ranges, duplicate names and topics, camera intrinsics, and that
//! the module and zenoh config files it names can be read. Every error is
//! a [`LaunchError`] naming `file:line:column`. A [`Launch`] therefore
//! always describes a runnable node; it converts to the module's
//! [`ModuleConfig`] and the aligner's [`AlignerConfig`].
//!
//! This module reads files but opens no sockets and starts nothing. The
//! schema is documented in `launch/README.md`.

mod error;
mod raw;
mod rotation;
mod units;
mod validate;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fusion_msgs::fusion_interfaces::{CameraIntrinsics, ModuleConfig, Parameter, SensorConfig};
use fusion_msgs::geometry_msgs::{Point, Pose, Quaternion};
use serde::Deserialize;

use crate::align::{AlignerConfig, ApproximateTimeConfig, PolicyConfig, TriggerConfig};
use crate::swap::signing::PublicKey;

pub use error::{LaunchError, LaunchErrorKind, Location};
pub use units::{format_duration, format_size, parse_duration};

/// The frame budget when the launch file does not set `deadline`.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(10);
/// The module's memory cap when `[module] memory` is not set.
pub const DEFAULT_MEMORY_BYTES: u64 = 128 << 20;
/// `[align.trigger] max_skew` by default: half a 20 Hz period.
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_millis(25);
/// `[align.trigger] max_wait` by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_millis(5);
/// Default topic of the fused `TrackedObjects`.
pub const DEFAULT_TRACKED_OBJECTS_TOPIC: &str = "/fusion/tracked_objects";
/// Default topic of the viewers' `MarkerArray`.
pub const DEFAULT_MARKERS_TOPIC: &str = "/fusion/markers";
/// Default topic of the `DiagnosticArray`.
pub const DEFAULT_DIAGNOSTICS_TOPIC: &str = "/diagnostics";
/// Default frame of the published objects.
pub const DEFAULT_OUTPUT_FRAME: &str = "base_link";
/// Default period of the `.hlog` interval log.
pub const DEFAULT_HLOG_INTERVAL: Duration = Duration::from_secs(5);
/// The `[module] path` that names the reference module built with the node.
pub const BUILTIN_REFERENCE: &str = "builtin:reference";
/// `[module.swap] poll_interval` by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// `[module.swap] warmup_frames` by default.
pub const DEFAULT_WARMUP_FRAMES: u32 = 8;
/// `[module.swap] watch_frames` by default.
pub const DEFAULT_WATCH_FRAMES: u32 = 20;
/// `[module.swap] rollback_misses` by default.
pub const DEFAULT_ROLLBACK_MISSES: u32 = 3;

/// A validated launch file. Only [`Launch::load`] and [`Launch::parse`]
/// make one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Launch {
    /// The file it was read from.
    pub file: PathBuf,
    /// The node's name (`name`).
    pub name: String,
    /// How to join zenoh (`[zenoh]`).
    pub zenoh: Zenoh,
    /// The sensors in file order; `Sensor::index` is the position.
    pub sensors: Vec<Sensor>,
    /// Alignment policy (`[align]`).
    pub align: AlignPolicy,
    /// Budget from a frame's trigger arrival to its publication.
    pub deadline: Duration,
    /// The fusion module (`[module]`).
    pub module: Module,
    /// What the node publishes (`[outputs]`).
    pub outputs: Outputs,
    /// Where logs and histograms go (`[logs]`).
    pub logs: Logs,
}

/// How the node joins zenoh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zenoh {
    /// Settings from the launch file.
    Settings {
        /// Peer (default), client or router.
        mode: ZenohMode,
        /// Endpoints to connect to, e.g. `tcp/10.0.0.2:7447`.
        connect: Vec<String>,
        /// Endpoints to listen on.
        listen: Vec<String>,
    },
    /// A standard zenoh json5 config file, used as it is.
    ConfigFile(PathBuf),
}

/// A zenoh session mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZenohMode {
    /// An embedded peer: no router needed (the default).
    Peer,
    /// A client of a router.
    Client,
    /// A router itself.
    Router,
}

/// What a sensor is, which fixes the message type on its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorKind {
    /// `sensor_msgs/msg/PointCloud2`.
    Lidar,
    /// `radar_msgs/msg/RadarScan`.
    Radar,
    /// `vision_msgs/msg/Detection2DArray`.
    Camera,
}

impl SensorKind {
    /// `SensorConfig.kind` and the frame slot's kind byte.
    pub fn abi_kind(self) -> u8 {
        match self {
            SensorKind::Lidar => SensorConfig::LIDAR,
            SensorKind::Radar => SensorConfig::RADAR,
            SensorKind::Camera => SensorConfig::CAMERA,
        }
    }

    /// The ROS 2 type of the sensor's messages.
    pub fn message_type(self) -> &'static str {
        match self {
            SensorKind::Lidar => "sensor_msgs/msg/PointCloud2",
            SensorKind::Radar => "radar_msgs/msg/RadarScan",
            SensorKind::Camera => "vision_msgs/msg/Detection2DArray",
        }
    }

    /// The name used in launch files.
    pub fn name(self) -> &'static str {
        match self {
            SensorKind::Lidar => "lidar",
            SensorKind::Radar => "radar",
            SensorKind::Camera => "camera",
        }
    }
}

/// One sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensor {
    /// Position in the launch file: `SensorConfig.index`, the frame slot.
    pub index: u16,
    /// Unique name, e.g. `lidar_top`.
    pub name: String,
    /// LiDAR, radar or camera.
    pub kind: SensorKind,
    /// Unique topic the node subscribes to.
    pub topic: String,
    /// `header.frame_id` of its messages.
    pub frame_id: String,
    /// Whether this LiDAR triggers frames.
    pub primary: bool,
    /// The sensor frame in the vehicle frame.
    pub extrinsics: Extrinsics,
    /// Cameras only.
    pub camera: Option<Camera>,
}

/// A rigid transform: the sensor frame in the vehicle frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extrinsics {
    /// Metres.
    pub translation: [f64; 3],
    /// Unit quaternion, x y z w (normalised; given or from roll/pitch/yaw).
    pub rotation_xyzw: [f64; 4],
}

/// A pinhole camera's intrinsics and resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    /// Focal length in x, pixels.
    pub fx: f64,
    /// Focal length in y, pixels.
    pub fy: f64,
    /// Principal point x, pixels.
    pub cx: f64,
    /// Principal point y, pixels.
    pub cy: f64,
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
    /// Distortion coefficients (4, 5, 8, 12 or 14, OpenCV order); empty if
    /// none. ABI v1 does not pass them to modules.
    pub distortion: Vec<f64>,
}

/// The alignment policy with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum AlignPolicy {
    /// The primary LiDAR triggers frames.
    Trigger {
        /// Largest stamp difference to the trigger.
        max_skew: Duration,
        /// Longest wait for late sensors after the trigger arrives.
        max_wait: Duration,
    },
    /// message_filters' ApproximateTime.
    ApproximateTime {
        /// Messages kept per sensor.
        queue_size: u32,
        /// Widest set accepted; `None`: no bound.
        max_interval: Option<Duration>,
        /// Preference for newer sets.
        age_penalty: f64,
    },
}

/// The fusion module.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Where it comes from.
    pub source: ModuleSource,
    /// Cap on its linear memory, in bytes.
    pub memory_bytes: u64,
    /// Its tuning parameters, sorted by name (booleans as 1 and 0).
    pub parameters: Vec<(String, f64)>,
    /// How it is hot-swapped (`[module.swap]`).
    pub swap: SwapPolicy,
}

/// How the module is hot-swapped (`[module.swap]`); [`Default`] is the
/// table's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapPolicy {
    /// Watch the module file and swap when it changes.
    pub watch: bool,
    /// How often the watcher looks at the file (at least 10ms).
    pub poll_interval: Duration,
    /// Recent frames a new module runs in shadow before it goes live
    /// (1 to 64).
    pub warmup_frames: u32,
    /// Frames watched after a swap (1 to 10000).
    pub watch_frames: u32,
    /// Deadline misses within the watched frames that roll the swap back
    /// (1 to `watch_frames`); any trap rolls back at once.
    pub rollback_misses: u32,
    /// Refuse a module without a signature from one of `trusted_keys`.
    pub require_signed: bool,
    /// The ed25519 keys whose signatures are accepted; not empty when
    /// `require_signed`.
    pub trusted_keys: Vec<PublicKey>,
    /// The oldest release version taken (`fusion-node module sign
    /// --release-version`); the version of the signed module running is a floor
    /// too. Needs `require_signed` when above 0.
    pub min_version: u64,
}

impl Default for SwapPolicy {
    fn default() -> Self {
        SwapPolicy {
            watch: false,
            poll_interval: DEFAULT_POLL_INTERVAL,
            warmup_frames: DEFAULT_WARMUP_FRAMES,
            watch_frames: DEFAULT_WATCH_FRAMES,
            rollback_misses: DEFAULT_ROLLBACK_MISSES,
            require_signed: false,
            trusted_keys: Vec::new(),
            min_version: 0,
        }
    }
}

/// Where the module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// `builtin:reference`: the reference module built with the node.
    BuiltinReference,
    /// A `.wasm` or `.cwasm` file (resolved against the launch file).
    File(PathBuf),
}

impl ModuleSource {
    /// The module file to load; for the built-in module, its name (it is
    /// embedded in the binary, see [`ModuleSource::read`]).
    pub fn path(&self) -> PathBuf {
        match self {
            ModuleSource::BuiltinReference => PathBuf::from(BUILTIN_REFERENCE),
            ModuleSource::File(path) => path.clone(),
        }
    }

    /// The module's bytes: read from its file, or the embedded built-in.
    pub fn read(&self) -> std::io::Result<std::borrow::Cow<'static, [u8]>> {
        match self {
            ModuleSource::BuiltinReference => Ok(crate::modules::REFERENCE_WASM_BYTES.into()),
            ModuleSource::File(path) => std::fs::read(path).map(Into::into),
        }
    }

    /// Whether it is a precompiled wasmtime artifact rather than Wasm.
    pub fn is_precompiled(&self) -> bool {
        matches!(self, ModuleSource::File(p) if p.extension().is_some_and(|e| e == "cwasm"))
    }
}

/// Output topics and frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// `autoware_perception_msgs/msg/TrackedObjects`.
    pub tracked_objects: String,
    /// `visualization_msgs/msg/MarkerArray`.
    pub markers: String,
    /// `diagnostic_msgs/msg/DiagnosticArray`, at 1 Hz.
    pub diagnostics: String,
    /// `header.frame_id` of the objects (`ModuleConfig.output_frame_id`).
    pub frame_id: String,
}

/// Where logs and histograms go; `None` means not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logs {
    /// The miss log, one JSON line per miss.
    pub miss_log: Option<PathBuf>,
    /// The HdrHistogram interval log (`.hlog`).
    pub hlog: Option<PathBuf>,
    /// How often an interval is written to `hlog`.
    pub hlog_interval: Duration,
    /// The percentile summary written at exit.
    pub summary: Option<PathBuf>,
}

impl Launch {
    /// Reads and validates the launch file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Launch, LaunchError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| LaunchError {
            file: path.to_path_buf(),
            location: None,
            kind: LaunchErrorKind::Read(e),
        })?;
        Launch::parse(&text, path)
    }

    /// Validates `text` as the launch file `file`: relative paths in it are
    /// resolved against `file`'s directory, and the files they name must
    /// be readable.
    pub fn parse(text: &str, file: &Path) -> Result<Launch, LaunchError> {
        validate::launch(text, file)
    }

    /// The sensor that triggers frames: the LiDAR marked `primary`, else
    /// the first LiDAR.
    pub fn primary(&self) -> Option<&Sensor> {
        self.sensors.iter().find(|s| s.primary)
    }

    /// What the module's `fusion_init` receives: the sensors in file order
    /// with their poses and intrinsics, and the parameters.
    pub fn module_config(&self) -> ModuleConfig {
        ModuleConfig {
            output_frame_id: self.outputs.frame_id.clone(),
            sensors: self.sensors.iter().map(Sensor::config).collect(),
            parameters: self
                .module
                .parameters
                .iter()
                .map(|(name, value)| Parameter {
                    name: name.clone(),
                    value: *value,
                })
                .collect(),
        }
    }

    /// The aligner's configuration for these sensors and policy.
    pub fn aligner_config(&self) -> AlignerConfig {
        let ns = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let policy = match &self.align {
            AlignPolicy::Trigger { max_skew, max_wait } => {
                PolicyConfig::Trigger(TriggerConfig::new(
                    self.primary().map_or(0, |s| s.index),
                    ns(*max_skew),
                    ns(*max_wait),
                ))
            }
            AlignPolicy::ApproximateTime {
                queue_size,
                max_interval,
                age_penalty,
            } => PolicyConfig::ApproximateTime(ApproximateTimeConfig {
                queue_size: *queue_size as usize,
                max_interval_ns: max_interval.map(ns),
                age_penalty: *age_penalty,
                inter_message_lower_bound_ns: Vec::new(),
            }),
        };
        AlignerConfig::new(self.sensors.len(), policy)
    }
}

impl Sensor {
    /// This sensor as a module sees it.
    pub fn config(&self) -> SensorConfig {
        let [x, y, z] = self.extrinsics.translation;
        let [qx, qy, qz, qw] = self.extrinsics.rotation_xyzw;
        SensorConfig {
            index: self.index,
            kind: self.kind.abi_kind(),
            name: self.name.clone(),
            frame_id: self.frame_id.clone(),
            pose: Pose {
                position: Point { x, y, z },
                orientation: Quaternion {
                    x: qx,
                    y: qy,
                    z: qz,
                    w: qw,
                },
            },
            intrinsics: self
                .camera
                .as_ref()
                .map(|c| CameraIntrinsics {
                    fx: c.fx,
                    fy: c.fy,
                    cx: c.cx,
                    cy: c.cy,
                    width: c.width,
                    height: c.height,
                })
                .unwrap_or_default(),
        }
    }
}
