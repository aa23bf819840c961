//! Tuning parameters, with defaults, overridable by name from the launch
//! file (`ModuleConfig.parameters`). An unknown name or a value out of its
//! range is a configuration error that names the parameter.

use alloc::format;

use fusion_abi::ModuleError;
use fusion_msgs::fusion_interfaces::Parameter;

/// Every tuning parameter of the reference module.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    // LiDAR front end.
    /// Points farther than this from the vehicle are ignored (m); radar
    /// alone covers the range beyond it.
    pub lidar_range: f64,
    /// Side of a BEV grid cell used for ground estimation and clustering (m).
    pub grid_cell: f64,
    /// Points less than this above the fitted ground are ground (m).
    pub ground_clearance: f64,
    /// Points more than this above the ground are ignored (bridges, signs) (m).
    pub max_object_height: f64,
    /// Largest ground slope the plane fit accepts (rad).
    pub max_ground_slope: f64,
    /// Clusters with fewer points are noise.
    pub min_cluster_points: f64,
    /// Clusters larger than this in length or width are structure, not objects (m).
    pub max_cluster_extent: f64,
    /// Angular step of the L-shape box search (rad).
    pub lshape_step: f64,

    // Radar front end.
    /// A radar return within this distance of a LiDAR box outline joins it (m).
    pub radar_gate: f64,
    /// Radar returns closer than this to each other form one radar-only object (m).
    pub radar_cluster_distance: f64,
    /// Returns needed for a radar-only object.
    pub radar_min_returns: f64,
    /// Radar returns no LiDAR box claims become radar-only objects beyond
    /// this range, where LiDAR points get too sparse to cluster (m).
    pub radar_only_range: f64,
    /// Standard deviation of radar Doppler speed (m/s).
    pub radar_speed_sigma: f64,
    /// Standard deviation of a radar-only position along the line of sight (m).
    pub radar_position_sigma: f64,
    /// Standard deviation of a radar return's azimuth (rad); it dominates
    /// the lateral error of radar-only objects far away.
    pub radar_azimuth_sigma: f64,

    // Camera association.
    /// Smallest IoU between a projected box and a 2D detection to match.
    pub camera_min_iou: f64,
    /// Smallest 2D detection score used.
    pub camera_min_score: f64,

    // Tracker.
    /// Mahalanobis gate on position innovations (chi-square, 2 dof).
    pub gate_chi2: f64,
    /// Process noise: acceleration spectral density (m^2/s^3).
    pub process_accel: f64,
    /// Standard deviation of a LiDAR box centre (m).
    pub lidar_position_sigma: f64,
    /// Hits needed to confirm a tentative track.
    pub confirm_hits: f64,
    /// Frames a confirmed track may go unseen before deletion.
    pub max_coast_frames: f64,
    /// Detection probability for the existence update.
    pub detection_probability: f64,
    /// False-alarm probability for the existence update.
    pub false_alarm_probability: f64,
    /// Tracks below this existence probability are deleted.
    pub min_existence: f64,
    /// Tracks slower than this are stationary (m/s).
    pub stationary_speed: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            lidar_range: 80.0,
            grid_cell: 0.3,
            ground_clearance: 0.25,
            max_object_height: 4.5,
            max_ground_slope: 0.2,
            min_cluster_points: 6.0,
            max_cluster_extent: 20.0,
            lshape_step: 0.0175,
            radar_gate: 2.0,
            radar_cluster_distance: 2.5,
            radar_min_returns: 2.0,
            radar_only_range: 40.0,
            radar_speed_sigma: 0.3,
            radar_position_sigma: 1.0,
            radar_azimuth_sigma: 0.02,
            camera_min_iou: 0.3,
            camera_min_score: 0.3,
            gate_chi2: 13.8,
            process_accel: 2.0,
            lidar_position_sigma: 0.3,
            confirm_hits: 3.0,
            max_coast_frames: 10.0,
            detection_probability: 0.7,
            false_alarm_probability: 0.05,
            min_existence: 0.1,
            stationary_speed: 0.3,
        }
    }
}

macro_rules! table {
    ($($name:ident: $min:expr, $max:expr;)*) => {
        impl Params {
            /// Names of every parameter, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            fn field(&mut self, name: &str) -> Option<(&mut f64, f64, f64)> {
                match name {
                    $(stringify!($name) => Some((&mut self.$name, $min, $max)),)*
                    _ => None,
                }
            }
        }
    };
}

table! {
    lidar_range: 5.0, 300.0;
    grid_cell: 0.05, 2.0;
    ground_clearance: 0.0, 2.0;
    max_object_height: 0.5, 10.0;
    max_ground_slope: 0.0, 0.8;
    min_cluster_points: 1.0, 1.0e6;
    max_cluster_extent: 1.0, 100.0;
    lshape_step: 0.001, 0.5;
    radar_gate: 0.1, 20.0;
    radar_cluster_distance: 0.1, 20.0;
    radar_min_returns: 1.0, 1000.0;
    radar_only_range: 0.0, 1000.0;
    radar_speed_sigma: 0.001, 100.0;
    radar_position_sigma: 0.01, 100.0;
    radar_azimuth_sigma: 0.0, 0.5;
    camera_min_iou: 0.0, 1.0;
    camera_min_score: 0.0, 1.0;
    gate_chi2: 0.1, 1000.0;
    process_accel: 0.0, 1000.0;
    lidar_position_sigma: 0.001, 100.0;
    confirm_hits: 1.0, 1000.0;
    max_coast_frames: 0.0, 1000.0;
    detection_probability: 0.01, 0.99;
    false_alarm_probability: 0.0, 0.99;
    min_existence: 0.0, 1.0;
    stationary_speed: 0.0, 100.0;
}

impl Params {
    /// Defaults overridden by the launch file's parameters.
    pub fn from_config(parameters: &[Parameter]) -> Result<Self, ModuleError> {
        let mut params = Params::default();
        for p in parameters {
            let Some((slot, min, max)) = params.field(&p.name) else {
                return Err(ModuleError::config(format!(
                    "unknown parameter `{}`; known: {}",
                    p.name,
                    Params::NAMES.join(", ")
                )));
            };
            if !(min..=max).contains(&p.value) {
                return Err(ModuleError::config(format!(
                    "parameter `{}` = {} is outside [{min}, {max}]",
                    p.name, p.value
                )));
            }
            *slot = p.value;
        }
        Ok(params)
    }
}
