//! The reference module: the sensor front ends, the camera matcher and the
//! tracker, run in order on each frame.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use fusion_abi::{Frame, FusionModule, ModuleError, SensorKind};
use fusion_msgs::autoware_perception_msgs::{TrackedObject, TrackedObjects};
use fusion_msgs::cdr::{self, Endianness};
use fusion_msgs::fusion_interfaces::{ModuleConfig, SensorConfig};
use fusion_msgs::{Detection2DArrayView, PointCloudView, RadarScanView, builtin_interfaces::Time};

use crate::camera::{CameraMatcher, prior_dimensions};
use crate::detection::Detection;
use crate::geometry::{Camera, Extrinsics};
use crate::lidar::LidarFrontEnd;
use crate::params::Params;
use crate::radar::RadarFrontEnd;
use crate::tracker::Tracker;

/// Most sensors a configuration may declare.
pub const MAX_SENSORS: usize = 64;

/// A configured sensor, ready to use.
#[derive(Debug, Clone)]
enum Sensor {
    Lidar(Extrinsics),
    Radar(Extrinsics),
    Camera(Camera),
}

/// The reference fusion module.
pub struct ReferenceModule {
    params: Params,
    output_frame_id: String,
    /// Indexed by `SensorConfig.index`.
    sensors: Vec<Option<Sensor>>,
    lidar: LidarFrontEnd,
    radar: RadarFrontEnd,
    cameras: CameraMatcher,
    tracker: Tracker,
    detections: Vec<Detection>,
    output: TrackedObjects,
    spare_objects: Vec<TrackedObject>,
}

impl ReferenceModule {
    /// The parameters in force.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The tracker, for inspection in tests.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}

fn sensor_of(config: &SensorConfig) -> Result<Sensor, ModuleError> {
    let name = &config.name;
    let extrinsics = Extrinsics::from_pose(&config.pose).ok_or_else(|| {
        ModuleError::config(format!(
            "sensor `{name}`: pose is not finite or its quaternion is zero"
        ))
    })?;
    match SensorKind::from_u8(config.kind) {
        Some(SensorKind::Lidar) => Ok(Sensor::Lidar(extrinsics)),
        Some(SensorKind::Radar) => Ok(Sensor::Radar(extrinsics)),
        Some(SensorKind::Camera) => {
            let k = &config.intrinsics;
            let positive = [k.fx, k.fy].iter().all(|v| v.is_finite() && *v > 0.0)
                && [k.cx, k.cy].iter().all(|v| v.is_finite())
                && k.width > 0
                && k.height > 0;
            if !positive {
                return Err(ModuleError::config(format!(
                    "camera `{name}`: intrinsics need fx, fy > 0 and a non-empty image"
                )));
            }
            Ok(Sensor::Camera(Camera {
                extrinsics,
                fx: k.fx,
                fy: k.fy,
                cx: k.cx,
                cy: k.cy,
                width: f64::from(k.width),
                height: f64::from(k.height),
            }))
        }
        None => Err(ModuleError::config(format!(
            "sensor `{name}`: unknown kind {}",
            config.kind
        ))),
    }
}

impl FusionModule for ReferenceModule {
    const STATE_SCHEMA: u64 = Tracker::STATE_SCHEMA;

    fn init(config: &ModuleConfig) -> Result<Self, ModuleError> {
        let params = Params::from_config(&config.parameters)?;
        let mut sensors: Vec<Option<Sensor>> = Vec::new();
        for s in &config.sensors {
            let index = usize::from(s.index);
            if index >= MAX_SENSORS {
                return Err(ModuleError::config(format!(
                    "sensor `{}`: index {index} >= {MAX_SENSORS}",
                    s.name
                )));
            }
            if sensors.len() <= index {
                sensors.resize(index + 1, None);
            }
            if sensors[index].is_some() {
                return Err(ModuleError::config(format!(
                    "sensor `{}`: index {index} is used twice",
                    s.name
                )));
            }
            sensors[index] = Some(sensor_of(s)?);
        }
        if config.output_frame_id.is_empty() {
            return Err(ModuleError::config("output_frame_id is empty"));
        }
        Ok(ReferenceModule {
            lidar: LidarFrontEnd::new(&params),
            radar: RadarFrontEnd::new(&params),
            cameras: CameraMatcher::new(&params),
            tracker: Tracker::new(&params),
            detections: Vec::with_capacity(1024),
            output: TrackedObjects::default(),
            spare_objects: spare_objects(),
            output_frame_id: config.output_frame_id.clone(),
            sensors,
            params,
        })
    }

    fn step(&mut self, frame: &Frame<'_>, out: &mut Vec<u8>) -> Result<(), ModuleError> {
        self.detections.clear();
        self.radar.start_frame();
        let mut lidar_origin = None;
        // Malformed sensor messages are skipped: the frame then fuses what
        // remains, as it would with the sensor missing.
        for slot in frame.slots() {
            match (self.sensor(slot.sensor_index), slot.kind) {
                (Some(Sensor::Lidar(e)), SensorKind::Lidar) => {
                    if let Ok(cloud) = PointCloudView::from_cdr(slot.payload) {
                        self.lidar.process(&cloud, &e, &mut self.detections);
                        lidar_origin.get_or_insert((e.translation.x, e.translation.y));
                    }
                }
                (Some(Sensor::Radar(e)), SensorKind::Radar) => {
                    if let Ok(scan) = RadarScanView::from_cdr(slot.payload) {
                        self.radar.add_scan(&scan, &e);
                    }
                }
                _ => {}
            }
        }
        self.radar.attach(&mut self.detections);
        for slot in frame.slots() {
            if let (Some(Sensor::Camera(camera)), SensorKind::Camera) =
                (self.sensor(slot.sensor_index), slot.kind)
                && let Ok(dets) = Detection2DArrayView::from_cdr(slot.payload)
            {
                self.cameras.apply(&camera, &dets, &mut self.detections);
            }
        }
        if let Some(origin) = lidar_origin {
            self.detections
                .iter_mut()
                .for_each(|d| complete_shape(d, origin));
        }
        self.radar.radar_only(&mut self.detections);

        let stamp = frame.header.trigger_stamp_ns;
        self.tracker.update(stamp, &self.detections);
        // Objects no longer published wait in `spare_objects`, vectors and
        // all, so that a frame with more objects allocates nothing.
        let n = self.tracker.published_count();
        let objects = &mut self.output.objects;
        while objects.len() > n {
            self.spare_objects.extend(objects.pop());
        }
        objects.reserve(crate::tracker::MAX_TRACKS.saturating_sub(objects.len()));
        while objects.len() < n {
            objects.push(self.spare_objects.pop().unwrap_or_default());
        }
        self.tracker.write_objects_into(objects);
        self.output.header.stamp = Time {
            sec: stamp.div_euclid(1_000_000_000) as i32,
            nanosec: stamp.rem_euclid(1_000_000_000) as u32,
        };
        if self.output.header.frame_id != self.output_frame_id {
            self.output
                .header
                .frame_id
                .clone_from(&self.output_frame_id);
        }
        cdr::encode_into(&self.output, Endianness::Little, out).map_err(|e| {
            ModuleError::new(
                fusion_abi::status::STEP_FAILED,
                format!("encoding the output: {e}"),
            )
        })
    }

    fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), ModuleError> {
        self.tracker.snapshot(out);
        Ok(())
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        self.tracker
            .restore(state)
            .map_err(|why| ModuleError::new(fusion_abi::status::BAD_STATE, why))
    }
}

impl ReferenceModule {
    fn sensor(&self, index: u16) -> Option<Sensor> {
        self.sensors.get(usize::from(index)).cloned().flatten()
    }
}

/// Grows a box the LiDAR saw only in part to its class's typical size,
/// away from the sensor (the hidden side is the far side).
///
/// With one face visible (the box is thin), that face is the object's
/// width when it is not much longer than the typical width, otherwise its
/// length; with two faces visible, the longer is the length.
fn complete_shape(d: &mut Detection, sensor: (f64, f64)) {
    let Some((length, width, _)) = prior_dimensions(d.label) else {
        return;
    };
    let single_face = d.width < 0.6 * width;
    if single_face && d.length <= 1.3 * width {
        // The visible face is the front or back: the length runs across it.
        core::mem::swap(&mut d.length, &mut d.width);
        d.yaw = crate::lidar::axis_angle(d.yaw + core::f64::consts::FRAC_PI_2);
    }
    let (sin, cos) = crate::geometry::sin_cos(d.yaw);
    let (dx, dy) = (d.x - sensor.0, d.y - sensor.1);
    let along = if dx * cos + dy * sin >= 0.0 {
        1.0
    } else {
        -1.0
    };
    let across = if -dx * sin + dy * cos >= 0.0 {
        1.0
    } else {
        -1.0
    };
    if d.length < length {
        let grow = (length - d.length) / 2.0;
        (d.x, d.y) = (d.x + along * grow * cos, d.y + along * grow * sin);
        d.length = length;
    }
    if d.width < width {
        let grow = (width - d.width) / 2.0;
        (d.x, d.y) = (d.x - across * grow * sin, d.y + across * grow * cos);
        d.width = width;
    }
}

/// Output objects for every track there can be, with room for one
/// classification and the four footprint corners each: the output then
/// never allocates, whatever the number of tracks.
fn spare_objects() -> Vec<TrackedObject> {
    (0..crate::tracker::MAX_TRACKS)
        .map(|_| {
            let mut object = TrackedObject::default();
            object.classification.reserve_exact(1);
            object.shape.footprint.points.reserve_exact(4);
            object
        })
        .collect()
}
