//! The sensor rig: where each sensor sits on the vehicle and what it is.

use core::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use fusion_msgs::fusion_interfaces::{CameraIntrinsics, ModuleConfig, Parameter, SensorConfig};
use fusion_msgs::geometry_msgs::{Point, Pose, Quaternion};

use crate::geom::{Isometry, Rot3, Vec3, yaw_quaternion};

/// Index of the roof LiDAR in [`default_rig`].
pub const LIDAR_TOP: u16 = 0;
/// Indices of the radars in [`default_rig`]: front, front-left, front-right.
pub const RADARS: [u16; 3] = [1, 2, 3];
/// Indices of the cameras in [`default_rig`]: front, left, right, rear.
pub const CAMERAS: [u16; 4] = [4, 5, 6, 7];
/// The `output_frame_id` of [`module_config`].
pub const BASE_LINK: &str = "base_link";

/// The test vehicle's eight sensors, `SensorConfig.index` = position:
///
/// | index | name | frame_id | position (m) | looks |
/// |---|---|---|---|---|
/// | 0 | `lidar_top` | `lidar_top` | (1.1, 0, 1.9) | 360° |
/// | 1 | `radar_front` | `radar_front` | (3.8, 0, 0.5) | 0° |
/// | 2 | `radar_front_left` | `radar_front_left` | (3.5, 0.8, 0.5) | +45° |
/// | 3 | `radar_front_right` | `radar_front_right` | (3.5, -0.8, 0.5) | -45° |
/// | 4 | `camera_front` | `camera_front_optical_frame` | (1.9, 0, 1.5) | 0° |
/// | 5 | `camera_left` | `camera_left_optical_frame` | (1.5, 0.9, 1.4) | +90° |
/// | 6 | `camera_right` | `camera_right_optical_frame` | (1.5, -0.9, 1.4) | -90° |
/// | 7 | `camera_rear` | `camera_rear_optical_frame` | (-0.9, 0, 1.3) | 180° |
///
/// The LiDAR and radar frames are x forward, y left, z up, yawed as
/// shown; camera poses are those of the optical frames
/// ([`optical_orientation`]) and all cameras have [`default_intrinsics`].
pub fn default_rig() -> Vec<SensorConfig> {
    let cam = default_intrinsics();
    vec![
        lidar(LIDAR_TOP, "lidar_top", Vec3::new(1.1, 0.0, 1.9), 0.0),
        radar(RADARS[0], "radar_front", Vec3::new(3.8, 0.0, 0.5), 0.0),
        radar(
            RADARS[1],
            "radar_front_left",
            Vec3::new(3.5, 0.8, 0.5),
            FRAC_PI_4,
        ),
        radar(
            RADARS[2],
            "radar_front_right",
            Vec3::new(3.5, -0.8, 0.5),
            -FRAC_PI_4,
        ),
        camera(
            CAMERAS[0],
            "camera_front",
            Vec3::new(1.9, 0.0, 1.5),
            0.0,
            cam.clone(),
        ),
        camera(
            CAMERAS[1],
            "camera_left",
            Vec3::new(1.5, 0.9, 1.4),
            FRAC_PI_2,
            cam.clone(),
        ),
        camera(
            CAMERAS[2],
            "camera_right",
            Vec3::new(1.5, -0.9, 1.4),
            -FRAC_PI_2,
            cam.clone(),
        ),
        camera(
            CAMERAS[3],
            "camera_rear",
            Vec3::new(-0.9, 0.0, 1.3),
            PI,
            cam,
        ),
    ]
}

/// A 1920 x 1080 pinhole camera, fx = fy = 1000 px, principal point at
/// the image centre (960, 540): about 88° x 57° field of view.
pub fn default_intrinsics() -> CameraIntrinsics {
    CameraIntrinsics {
        fx: 1000.0,
        fy: 1000.0,
        cx: 960.0,
        cy: 540.0,
        width: 1920,
        height: 1080,
    }
}

/// A LiDAR at `position` in `base_link`, yawed by `yaw`; its frame_id is
/// its name.
pub fn lidar(index: u16, name: &str, position: Vec3, yaw: f64) -> SensorConfig {
    sensor(
        index,
        SensorConfig::LIDAR,
        name,
        name,
        pose(position, yaw_quaternion(yaw)),
    )
}

/// A radar at `position` in `base_link`, boresight yawed by `yaw`; its
/// frame_id is its name.
pub fn radar(index: u16, name: &str, position: Vec3, yaw: f64) -> SensorConfig {
    sensor(
        index,
        SensorConfig::RADAR,
        name,
        name,
        pose(position, yaw_quaternion(yaw)),
    )
}

/// A level camera at `position` in `base_link` looking towards
/// `look_yaw`; its frame_id is `<name>_optical_frame` and its pose is
/// that of the optical frame.
pub fn camera(
    index: u16,
    name: &str,
    position: Vec3,
    look_yaw: f64,
    intrinsics: CameraIntrinsics,
) -> SensorConfig {
    SensorConfig {
        intrinsics,
        ..sensor(
            index,
            SensorConfig::CAMERA,
            name,
            &format!("{name}_optical_frame"),
            pose(position, optical_orientation(look_yaw)),
        )
    }
}

/// Orientation in `base_link` of the ROS optical frame (x right, y down,
/// z forward) of a level camera looking towards `look_yaw` (0 = forward
/// along +x, π/2 = left). For `look_yaw = 0` this is the well-known
/// (x, y, z, w) = (-0.5, 0.5, -0.5, 0.5).
pub fn optical_orientation(look_yaw: f64) -> Quaternion {
    optical_rotation(look_yaw, 0.0).to_quaternion()
}

/// The rotation of the optical frame of a camera looking towards
/// `look_yaw`, pitched down by `pitch_down` radians.
pub fn optical_rotation(look_yaw: f64, pitch_down: f64) -> Rot3 {
    let (sy, cy) = look_yaw.sin_cos();
    let (sp, cp) = pitch_down.sin_cos();
    let forward = Vec3::new(cp * cy, cp * sy, -sp);
    let right = Vec3::new(sy, -cy, 0.0);
    let down = forward.cross(right);
    Rot3::from_columns(right, down, forward)
}

/// The extrinsics of a sensor: its frame in `base_link`.
pub fn extrinsics(sensor: &SensorConfig) -> Isometry {
    Isometry::from_pose(&sensor.pose)
}

/// What a fusion module's `init` receives for `rig`: output frame
/// `base_link`, the sensors and the given parameters.
pub fn module_config(rig: &[SensorConfig], parameters: Vec<Parameter>) -> ModuleConfig {
    ModuleConfig {
        output_frame_id: BASE_LINK.to_string(),
        sensors: rig.to_vec(),
        parameters,
    }
}

fn pose(position: Vec3, orientation: Quaternion) -> Pose {
    Pose {
        position: Point {
            x: position.x,
            y: position.y,
            z: position.z,
        },
        orientation,
    }
}

fn sensor(index: u16, kind: u8, name: &str, frame_id: &str, pose: Pose) -> SensorConfig {
    SensorConfig {
        index,
        kind,
        name: name.to_string(),
        frame_id: frame_id.to_string(),
        pose,
        intrinsics: CameraIntrinsics::default(),
    }
}
