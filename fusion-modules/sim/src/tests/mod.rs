//! Tests of the simulator against analytic expectations.

mod actors;
mod camera;
mod drive;
mod frame;
mod lidar;
mod radar;

use fusion_msgs::fusion_interfaces::SensorConfig;

use crate::rig;

/// Sensor `index` of the default rig.
fn sensor(index: u16) -> SensorConfig {
    rig::default_rig()
        .into_iter()
        .find(|s| s.index == index)
        .expect("index in the default rig")
}

/// `a` and `b` differ by at most `tol`.
#[track_caller]
fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} is not within {tol} of {b}");
}
