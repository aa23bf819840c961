//! What the benchmarks share: the frame sizes, and the resizing
//! that brings the simulator's messages to them exactly.

use fusion_abi::SensorKind;
use fusion_msgs::radar_msgs::{RadarReturn, RadarScan};
use fusion_msgs::sensor_msgs::PointCloud2;
use fusion_msgs::vision_msgs::Detection2DArray;
use fusion_sim::SensorMessage;

/// Points of the LiDAR cloud.
pub const LIDAR_POINTS: u32 = 120_000;
/// Returns of each radar scan.
pub const RADAR_RETURNS: usize = 256;
/// Detections of each camera.
pub const CAMERA_DETECTIONS: usize = 40;

fn resize<M: fusion_msgs::Message>(payload: &mut Vec<u8>, change: impl FnOnce(&mut M)) {
    let mut m: M = fusion_msgs::decode(payload).unwrap();
    change(&mut m);
    *payload = fusion_msgs::encode(&m).unwrap();
}

/// Brings each message to the benchmark's exact sizes.
pub fn to_benchmark_size(messages: &mut [SensorMessage]) {
    for (_, kind, payload) in messages.iter_mut() {
        match kind {
            SensorKind::Lidar => resize::<PointCloud2>(payload, |c| {
                assert!(
                    c.width * c.height >= LIDAR_POINTS,
                    "the scan has {} points",
                    c.width * c.height
                );
                (c.height, c.width) = (1, LIDAR_POINTS);
                c.row_step = c.point_step * LIDAR_POINTS;
                c.data.truncate(c.row_step as usize);
            }),
            SensorKind::Radar => resize::<RadarScan>(payload, |s| {
                // Extra returns are far clutter with no Doppler.
                let mut i = 0.0f32;
                s.returns.resize_with(RADAR_RETURNS, || {
                    i += 1.0;
                    RadarReturn {
                        range: 150.0 + i,
                        azimuth: 0.01 * i - 0.5,
                        amplitude: 3.0,
                        ..Default::default()
                    }
                });
            }),
            SensorKind::Camera => resize::<Detection2DArray>(payload, |d| {
                let filler = d.detections.last().cloned().unwrap_or_default();
                d.detections.resize(CAMERA_DETECTIONS, filler);
            }),
        }
    }
}
