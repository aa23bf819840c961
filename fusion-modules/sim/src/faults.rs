//! Damaged sensor messages for robustness tests: what a failing sensor, a
//! bad driver or a hostile peer may put on the wire.

use fusion_abi::SensorKind;
use fusion_msgs::radar_msgs::RadarScan;
use fusion_msgs::sensor_msgs::PointCloud2;
use fusion_msgs::vision_msgs::Detection2DArray;
use rand::Rng;

use crate::frame::SensorMessage;

/// One way of damaging a frame's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every message of this kind is absent.
    MissingSensor(SensorKind),
    /// The LiDAR sends a cloud with no points.
    EmptyCloud,
    /// A third of the points have NaN, +inf or -inf coordinates.
    NonFiniteCloud,
    /// Points at +-1e30 m.
    AbsurdCoordinates,
    /// The cloud claims u32::MAX points per row.
    AbsurdDeclaredSize,
    /// Radar returns with NaN, infinite and 1e30 fields.
    AbsurdRadar,
    /// Camera boxes of NaN, negative and 1e300 pixel sizes.
    AbsurdCameraBoxes,
    /// Every payload cut in half.
    TruncatedPayloads,
    /// Every payload replaced by random bytes of the same length.
    GarbagePayloads,
    /// Payloads moved to slots of another kind.
    SwappedKinds,
}

/// Every fault, for tests that try them all.
pub const ALL_FAULTS: &[Fault] = &[
    Fault::MissingSensor(SensorKind::Lidar),
    Fault::MissingSensor(SensorKind::Radar),
    Fault::MissingSensor(SensorKind::Camera),
    Fault::EmptyCloud,
    Fault::NonFiniteCloud,
    Fault::AbsurdCoordinates,
    Fault::AbsurdDeclaredSize,
    Fault::AbsurdRadar,
    Fault::AbsurdCameraBoxes,
    Fault::TruncatedPayloads,
    Fault::GarbagePayloads,
    Fault::SwappedKinds,
];

fn rewrite<M: fusion_msgs::Message>(payload: &mut Vec<u8>, change: impl FnOnce(&mut M)) {
    if let Ok(mut message) = fusion_msgs::decode::<M>(payload) {
        change(&mut message);
        *payload = fusion_msgs::encode(&message).expect("encodable");
    }
}

/// Overwrites the x, y, z (f32 at offsets 0, 4, 8) of every `every`-th point.
fn poke_points(cloud: &mut PointCloud2, every: usize, values: [f32; 3]) {
    let step = cloud.point_step as usize;
    if step < 12 {
        return;
    }
    for point in cloud.data.chunks_exact_mut(step).step_by(every) {
        for (k, v) in values.iter().enumerate() {
            point[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// Damages `messages` (one frame's) in place.
pub fn apply<R: Rng + ?Sized>(fault: Fault, messages: &mut Vec<SensorMessage>, rng: &mut R) {
    let of_kind = |kind: SensorKind| move |m: &&mut SensorMessage| m.1 == kind;
    match fault {
        Fault::MissingSensor(kind) => messages.retain(|m| m.1 != kind),
        Fault::EmptyCloud => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Lidar))
            .for_each(|m| {
                rewrite::<PointCloud2>(&mut m.2, |c| {
                    c.width = 0;
                    c.row_step = 0;
                    c.data.clear();
                })
            }),
        Fault::NonFiniteCloud => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Lidar))
            .for_each(|m| {
                rewrite::<PointCloud2>(&mut m.2, |c| {
                    poke_points(c, 3, [f32::NAN, f32::INFINITY, f32::NEG_INFINITY])
                })
            }),
        Fault::AbsurdCoordinates => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Lidar))
            .for_each(|m| {
                rewrite::<PointCloud2>(&mut m.2, |c| {
                    poke_points(c, 2, [1e30, -1e30, 1e30]);
                    poke_points(c, 7, [f32::MAX, f32::MIN, f32::MIN_POSITIVE]);
                })
            }),
        Fault::AbsurdDeclaredSize => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Lidar))
            .for_each(|m| {
                rewrite::<PointCloud2>(&mut m.2, |c| {
                    c.width = u32::MAX;
                    c.row_step = u32::MAX;
                })
            }),
        Fault::AbsurdRadar => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Radar))
            .for_each(|m| {
                rewrite::<RadarScan>(&mut m.2, |scan| {
                    for (i, r) in scan.returns.iter_mut().enumerate() {
                        match i % 4 {
                            0 => r.range = f32::NAN,
                            1 => r.azimuth = f32::INFINITY,
                            2 => r.doppler_velocity = 1e30,
                            _ => r.range = -5.0,
                        }
                    }
                })
            }),
        Fault::AbsurdCameraBoxes => messages
            .iter_mut()
            .filter(of_kind(SensorKind::Camera))
            .for_each(|m| {
                rewrite::<Detection2DArray>(&mut m.2, |dets| {
                    for (i, d) in dets.detections.iter_mut().enumerate() {
                        match i % 3 {
                            0 => d.bbox.size_x = f64::NAN,
                            1 => d.bbox.size_y = -40.0,
                            _ => (d.bbox.size_x, d.bbox.center.position.x) = (1e300, -1e300),
                        }
                        for h in &mut d.results {
                            h.hypothesis.score = if i % 2 == 0 { f64::NAN } else { 7.0 };
                        }
                    }
                })
            }),
        Fault::TruncatedPayloads => messages
            .iter_mut()
            .for_each(|m| m.2.truncate(m.2.len() / 2)),
        Fault::GarbagePayloads => messages.iter_mut().for_each(|m| rng.fill_bytes(&mut m.2)),
        Fault::SwappedKinds => messages.iter_mut().for_each(|m| {
            m.1 = match m.1 {
                SensorKind::Lidar => SensorKind::Radar,
                SensorKind::Radar => SensorKind::Camera,
                SensorKind::Camera => SensorKind::Lidar,
            }
        }),
    }
}
