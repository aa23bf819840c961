//! `fusion-node simulate-live`: publishes simulated sensor data for a
//! launch file's sensors over zenoh.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use fusion_sim::{LidarModel, Scene};
use zenoh::Wait;

use super::CliError;
use crate::launch::{Launch, parse_duration};
use crate::simulate::LiveSim;

/// The simulated LiDAR (`--lidar`), shared with `demo`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Lidar {
    /// 16 beams x 360 columns (5 760 rays): small recordings.
    Sparse,
    /// 32 beams x 720 columns (23 040 rays).
    Small,
    /// 128 beams x 940 columns (120 320 rays), about a VLS-128.
    Vlp128,
}

impl Lidar {
    pub(super) fn model(self) -> LidarModel {
        match self {
            Lidar::Sparse => LidarModel {
                beams: 16,
                azimuth_steps: 360,
                ..LidarModel::small()
            },
            Lidar::Small => LidarModel::small(),
            Lidar::Vlp128 => LidarModel::vlp128_like(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SimulateLiveArgs {
    /// The launch file whose sensors (topics, poses) are simulated.
    #[arg(long, value_name = "FILE")]
    launch: PathBuf,
    /// Ticks per second; every sensor publishes once per tick.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Stop after this long, e.g. `10s`; else run until SIGINT or SIGTERM.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Connect to this zenoh endpoint (repeatable), e.g.
    /// `tcp/127.0.0.1:7447`, with multicast scouting off. Without it the
    /// launch file's `[zenoh]` is used.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// The LiDAR model.
    #[arg(long, value_enum, default_value = "small")]
    lidar: Lidar,
    /// Seed of the highway scene and of all sensor noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: SimulateLiveArgs) -> Result<(), CliError> {
    super::init_logging("info");
    let launch = Launch::load(&args.launch).map_err(|e| CliError::usage(e.to_string()))?;
    super::positive_rate(args.rate)?;
    let session = super::open_session(&launch.zenoh, &args.connect)?;
    let lidar = args.lidar.model();
    let mut sim = LiveSim::new(
        &session,
        &launch,
        Scene::highway(args.seed),
        lidar,
        args.seed,
    )
    .map_err(|e| CliError::failure(e.to_string()))?;
    let signal = super::stop_signal()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if signal.recv().is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    tracing::info!(
        sensors = launch.sensors.len(),
        rate = args.rate,
        "publishing"
    );
    let ticks = sim
        .run(args.rate, args.duration, &stop)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let _ = session.close().wait();
    eprintln!(
        "simulate-live: {ticks} ticks of {} sensors",
        launch.sensors.len()
    );
    Ok(())
}
