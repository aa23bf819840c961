//! A simulated drive: every sensor at its own rate, with stamp jitter and
//! delivery latency, and the ground truth, as one stream of messages in
//! the order a recorder would receive them.
//!
//! The LiDAR scans at 10 Hz (configurable, 10–20 Hz), radars at 20 Hz and
//! cameras at 30 Hz, each sensor with its own phase. A message's header
//! stamp is its capture time plus a little jitter; it is received (its
//! log time) a kind-dependent latency later. Ground truth is stamped at
//! every LiDAR capture, dropped scans included, and received at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fusion_abi::SensorKind;
use fusion_msgs::fusion_interfaces::SensorConfig;
use rand::RngExt;
use rand_distr::{Distribution, Normal};

use crate::camera::CameraModel;
use crate::lidar::LidarModel;
use crate::radar::RadarModel;
use crate::traffic::{Scenario, Traffic};
use crate::{frame::DEFAULT_START_NS, sensor_rng};

/// Capture rates of each kind of sensor (Hz).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensorRates {
    /// LiDAR scans a second (10–20).
    pub lidar_hz: f64,
    /// Radar scans a second.
    pub radar_hz: f64,
    /// Camera frames a second.
    pub camera_hz: f64,
}

impl Default for SensorRates {
    fn default() -> Self {
        SensorRates {
            lidar_hz: 10.0,
            radar_hz: 20.0,
            camera_hz: 30.0,
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct DriveConfig {
    /// The scenario.
    pub scenario: Scenario,
    /// The seed of everything random: same seed, same bytes.
    pub seed: u64,
    /// Stamp of the drive's start (ns since the Unix epoch).
    pub start_ns: i64,
    /// Length of the drive (ns).
    pub duration_ns: i64,
    /// The sensors (poses, intrinsics), as the launch file gives them.
    pub rig: Vec<SensorConfig>,
    /// Model of every LiDAR.
    pub lidar: LidarModel,
    /// Model of every radar.
    pub radar: RadarModel,
    /// Model of every camera.
    pub camera: CameraModel,
    /// Capture rates.
    pub rates: SensorRates,
}

impl DriveConfig {
    /// `scenario` for `duration_ns` on `rig` with the default models and
    /// rates, starting at [`DEFAULT_START_NS`].
    pub fn new(scenario: Scenario, seed: u64, duration_ns: i64, rig: Vec<SensorConfig>) -> Self {
        DriveConfig {
            scenario,
            seed,
            start_ns: DEFAULT_START_NS,
            duration_ns,
            rig,
            lidar: LidarModel::vlp128_like(),
            radar: RadarModel::default(),
            camera: CameraModel::default(),
            rates: SensorRates::default(),
        }
    }
}

/// Where a drive message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The sensor with this `SensorConfig.index`.
    Sensor {
        /// `SensorConfig.index`.
        index: u16,
        /// Its kind.
        kind: SensorKind,
    },
    /// The scene itself, as `TrackedObjects` in `base_link`.
    GroundTruth,
}

/// One message of a drive.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveMessage {
    /// Who sent it.
    pub source: Source,
    /// Its header stamp (ns).
    pub stamp_ns: i64,
    /// When a recorder on the vehicle receives it (ns); messages come in
    /// this order.
    pub log_time_ns: i64,
    /// CDR bytes of the message.
    pub data: Vec<u8>,
}

/// Per kind: (stamp jitter σ, mean latency, latency σ), seconds.
fn timing(kind: SensorKind) -> (f64, f64, f64) {
    match kind {
        SensorKind::Lidar => (0.000_2, 0.002, 0.000_3),
        SensorKind::Radar => (0.000_5, 0.001_5, 0.000_5),
        SensorKind::Camera => (0.001, 0.006, 0.001_5),
    }
}
/// Jitter and latency noise are cut at this many σ, so the stream can be
/// put in log-time order with a bounded look-ahead.
const CUT_SIGMA: f64 = 3.0;
const MAX_EARLY_NS: i64 = 3_000_000;
const MIN_LATENCY_NS: i64 = 500_000;

/// A pending capture: (nominal time, sensor position in the rig).
type Capture = Reverse<(i64, usize)>;

/// The messages of a drive, in log-time order (an iterator).
#[derive(Debug)]
pub struct Drive {
    config: DriveConfig,
    traffic: Traffic,
    /// Next capture of each sensor, earliest first.
    captures: BinaryHeap<Capture>,
    /// Count of captures so far, per sensor.
    counts: Vec<u64>,
    /// Rendered, not yet delivered, earliest log time first.
    pending: BinaryHeap<Reverse<Pending>>,
    /// Messages queued so far: the last tie-break of the order.
    order: u64,
    /// Rig position of the LiDAR whose captures stamp the ground truth.
    truth_sensor: Option<usize>,
}

impl Drive {
    /// The drive `config` describes.
    pub fn new(config: DriveConfig) -> Self {
        let traffic = Traffic::new(config.scenario, config.seed);
        let mut captures = BinaryHeap::new();
        let mut phase_rng = sensor_rng(config.seed ^ PHASE_SALT, 0, 0);
        for (i, sensor) in config.rig.iter().enumerate() {
            let Some(kind) = SensorKind::from_u8(sensor.kind) else {
                continue;
            };
            // The first sensor starts the drive; others start anywhere in
            // their first period.
            let period = period_ns(&config.rates, kind);
            let phase = if i == 0 {
                0
            } else {
                phase_rng.random_range(0..period)
            };
            captures.push(Reverse((phase, i)));
        }
        let counts = vec![0; config.rig.len()];
        let truth_sensor = config
            .rig
            .iter()
            .position(|s| s.kind == SensorKind::Lidar as u8);
        Drive {
            config,
            traffic,
            captures,
            counts,
            pending: BinaryHeap::new(),
            order: 0,
            truth_sensor,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DriveConfig {
        &self.config
    }

    /// Number of actors in the scene now.
    pub fn actor_count(&self) -> usize {
        self.traffic.actor_count()
    }

    /// Renders the next capture and queues what it produced.
    fn capture(&mut self, Reverse((nominal, i)): Capture) {
        let (index, Some(kind)) = (
            self.config.rig[i].index,
            SensorKind::from_u8(self.config.rig[i].kind),
        ) else {
            return;
        };
        let k = self.counts[i];
        self.counts[i] += 1;
        self.captures
            .push(Reverse((nominal + period_ns(&self.config.rates, kind), i)));
        let (jitter, latency, latency_sigma) = timing(kind);
        let mut timing_rng = sensor_rng(self.config.seed ^ TIMING_SALT, k, index);
        let stamp_rel = nominal + cut_normal(&mut timing_rng, jitter);
        let delay = ((latency + cut_normal_s(&mut timing_rng, latency_sigma)) * 1e9) as i64;
        let stamp_ns = self.config.start_ns + stamp_rel;
        self.traffic.advance_to(stamp_rel);
        let scene = self.traffic.scene_at(stamp_rel);
        if self.truth_sensor == Some(i) {
            let truth = fusion_msgs::encode(&scene.ground_truth(stamp_ns)).unwrap_or_default();
            self.queue(DriveMessage {
                source: Source::GroundTruth,
                stamp_ns,
                log_time_ns: stamp_ns,
                data: truth,
            });
        }
        if self.dropped(kind, i, stamp_rel, &mut timing_rng) {
            return;
        }
        let mut rng = sensor_rng(self.config.seed, k, index);
        let sensor = &self.config.rig[i];
        let data = match kind {
            SensorKind::Lidar => {
                encode(&self.config.lidar.scan(&scene, sensor, stamp_ns, &mut rng))
            }
            SensorKind::Radar => {
                encode(&self.config.radar.scan(&scene, sensor, stamp_ns, &mut rng))
            }
            SensorKind::Camera => encode(
                &self
                    .config
                    .camera
                    .detect(&scene, sensor, stamp_ns, &mut rng),
            ),
        };
        self.queue(DriveMessage {
            source: Source::Sensor { index, kind },
            stamp_ns,
            log_time_ns: stamp_ns + delay.max(MIN_LATENCY_NS),
            data,
        });
    }

    /// Whether the scenario loses this capture.
    fn dropped(&self, kind: SensorKind, i: usize, t_ns: i64, rng: &mut impl rand::Rng) -> bool {
        if self.config.scenario != Scenario::SensorDropout {
            return false;
        }
        let f = t_ns as f64 / self.config.duration_ns.max(1) as f64;
        let first_of_kind = self.config.rig.iter().position(|s| s.kind == kind as u8) == Some(i);
        let within = |a: f64, b: f64| (a..b).contains(&f);
        match kind {
            // A one-second blackout, and single scans lost at random.
            SensorKind::Lidar => {
                let blackout = 1e9 / self.config.duration_ns.max(1) as f64;
                within(0.6, 0.6 + blackout) || rng.random::<f64>() < 0.02
            }
            SensorKind::Radar => first_of_kind && within(0.3, 0.45),
            // The first camera fails alone, later all of them (glare).
            SensorKind::Camera => (first_of_kind && within(0.1, 0.25)) || within(0.75, 0.85),
        }
    }

    fn queue(&mut self, message: DriveMessage) {
        let key = (message.log_time_ns, message.stamp_ns, self.order);
        self.order += 1;
        self.pending.push(Reverse(Pending { key, message }));
    }
}

/// A rendered message, ordered by (log time, stamp, queue order).
#[derive(Debug)]
struct Pending {
    key: (i64, i64, u64),
    message: DriveMessage,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl Iterator for Drive {
    type Item = DriveMessage;

    fn next(&mut self) -> Option<DriveMessage> {
        loop {
            let next_capture = self
                .captures
                .peek()
                .map(|Reverse((t, _))| *t)
                .filter(|&t| t < self.config.duration_ns);
            // Any later capture is received after this: deliver what is
            // due before it.
            let horizon =
                next_capture.map(|t| self.config.start_ns + t - MAX_EARLY_NS + MIN_LATENCY_NS);
            if let Some(Reverse(due)) = self.pending.peek()
                && horizon.is_none_or(|h| due.key.0 < h)
            {
                return self.pending.pop().map(|Reverse(p)| p.message);
            }
            next_capture?;
            let capture = self.captures.pop()?;
            self.capture(capture);
        }
    }
}

const PHASE_SALT: u64 = 0x7068_6173_6573_0001;
const TIMING_SALT: u64 = 0x7469_6d69_6e67_0002;

fn period_ns(rates: &SensorRates, kind: SensorKind) -> i64 {
    let hz = match kind {
        SensorKind::Lidar => rates.lidar_hz,
        SensorKind::Radar => rates.radar_hz,
        SensorKind::Camera => rates.camera_hz,
    };
    (1e9 / hz.clamp(0.1, 1000.0)) as i64
}

/// A normal sample of σ `sigma_s` seconds, cut at [`CUT_SIGMA`], in ns.
fn cut_normal(rng: &mut impl rand::Rng, sigma_s: f64) -> i64 {
    (cut_normal_s(rng, sigma_s) * 1e9) as i64
}

fn cut_normal_s(rng: &mut impl rand::Rng, sigma_s: f64) -> f64 {
    let z: f64 = Normal::new(0.0, 1.0).map_or(0.0, |n| n.sample(rng));
    z.clamp(-CUT_SIGMA, CUT_SIGMA) * sigma_s
}

fn encode<M: fusion_msgs::Message>(message: &M) -> Vec<u8> {
    fusion_msgs::encode(message).expect("simulated messages are encodable")
}
