//! `fusion-node simulate`: a scenario's drive, written to an MCAP file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use fusion_drive::{Compression, DriveWriter, WriterConfig};
use fusion_sim::{Drive, DriveConfig, Scenario, SensorRates, Source};

use super::CliError;
use super::simulate_live::Lidar;
use crate::launch::{Launch, parse_duration};
use crate::simulate::GROUND_TRUTH_TOPIC;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario: highway, urban-intersection or sensor-dropout.
    #[arg(long, value_parser = parse_scenario)]
    scenario: Scenario,
    /// Length of the drive, e.g. `60s`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Seed of everything random: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The MCAP file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// The launch file whose sensors (topics, poses, intrinsics) are
    /// simulated; the built-in default launch file when not given.
    #[arg(long, value_name = "FILE")]
    launch: Option<PathBuf>,
    /// The LiDAR model.
    #[arg(long, value_enum, default_value = "vlp128")]
    lidar: Lidar,
    /// LiDAR scans a second (10 to 20); radars run at 20 Hz, cameras at 30.
    #[arg(long, default_value_t = 10.0)]
    lidar_hz: f64,
    /// Chunk compression: zstd, lz4 or none.
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    compression: Compression,
}

fn parse_scenario(name: &str) -> Result<Scenario, String> {
    Scenario::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        format!("unknown scenario `{name}`; one of {}", names.join(", "))
    })
}

/// The launch file at `path`, or the built-in default.
pub(super) fn launch_or_default(path: Option<&PathBuf>) -> Result<Launch, CliError> {
    match path {
        Some(path) => Launch::load(path).map_err(|e| CliError::usage(e.to_string())),
        None => super::demo::default_launch(),
    }
}

pub fn run(args: SimulateArgs) -> Result<(), CliError> {
    if !(10.0..=20.0).contains(&args.lidar_hz) {
        return Err(CliError::usage("--lidar-hz must be between 10 and 20"));
    }
    let launch = launch_or_default(args.launch.as_ref())?;
    let duration_ns = i64::try_from(args.duration.as_nanos()).unwrap_or(i64::MAX);
    let mut config = DriveConfig::new(
        args.scenario,
        args.seed,
        duration_ns,
        launch.module_config().sensors,
    );
    config.lidar = args.lidar.model();
    config.rates = SensorRates {
        lidar_hz: args.lidar_hz,
        ..SensorRates::default()
    };
    let failed =
        |e: fusion_drive::DriveError| CliError::failure(format!("{}: {e}", args.output.display()));
    let writer_config = WriterConfig {
        compression: args.compression,
        ..WriterConfig::default()
    };
    let mut writer = DriveWriter::create(&args.output, writer_config).map_err(failed)?;
    let mut topics = Vec::with_capacity(launch.sensors.len());
    for sensor in &launch.sensors {
        topics.push(
            writer
                .add_topic(&sensor.topic, sensor.kind.message_type())
                .map_err(failed)?,
        );
    }
    let truth = writer
        .add_topic(
            GROUND_TRUTH_TOPIC,
            "autoware_perception_msgs/msg/TrackedObjects",
        )
        .map_err(failed)?;
    let start_ns = config.start_ns;
    let seconds = args.duration.as_secs().max(1);
    let bar = super::progress::bar(seconds, "simulating", "s");
    let began = Instant::now();
    for message in Drive::new(config) {
        let topic = match message.source {
            Source::Sensor { index, .. } => topics[usize::from(index)],
            Source::GroundTruth => truth,
        };
        let log = u64::try_from(message.log_time_ns).unwrap_or(0);
        let stamp = u64::try_from(message.stamp_ns).unwrap_or(0);
        writer
            .write(topic, log, stamp, &message.data)
            .map_err(failed)?;
        bar.set_position(
            (message.log_time_ns.saturating_sub(start_ns) / 1_000_000_000).clamp(0, seconds as i64)
                as u64,
        );
    }
    bar.finish_and_clear();
    let summary = writer.finish().map_err(failed)?;
    let size = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{}: {} s of {} (seed {}), {} messages, {:.1} MB, written in {:.1} s",
        args.output.display(),
        args.duration.as_secs_f64(),
        args.scenario.name(),
        args.seed,
        summary.messages,
        size as f64 / 1e6,
        began.elapsed().as_secs_f64(),
    );
    Ok(())
}
