//! `fusion-node record`: a launch file's topics, received over zenoh,
//! written to a drive (MCAP) that Foxglove and `ros2 bag` open.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use fusion_drive::{Compression, DriveWriter, WriteSummary, WriterConfig};
use zenoh::Wait;

use super::CliError;
use crate::launch::{Launch, format_duration, parse_duration};
use crate::pipeline::wall_clock_ns;
use crate::simulate::GROUND_TRUTH_TOPIC;
use crate::transport;

/// Messages waiting for the writer thread; beyond it they are dropped (and
/// counted) so a slow disk never blocks zenoh's callbacks.
const RECORD_QUEUE_LEN: usize = 4096;

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The drive to write (`.mcap`; replaced if it exists).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The launch file whose zenoh settings, sensor and output topics are
    /// recorded, with `/ground_truth/objects`.
    #[arg(long, value_name = "FILE")]
    launch: PathBuf,
    /// Record only these topics (comma-separated, from the launch file's).
    #[arg(long, value_name = "TOPICS", value_delimiter = ',')]
    topics: Vec<String>,
    /// Stop after this long, e.g. `10s`; without it, on SIGINT or SIGTERM.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Chunk compression: zstd, lz4 or none.
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    compression: Compression,
}

/// The topics a launch file's node reads and writes, with their ROS 2 types.
pub fn launch_topics(launch: &Launch) -> Vec<(String, &'static str)> {
    let mut topics: Vec<(String, &'static str)> = launch
        .sensors
        .iter()
        .map(|s| (s.topic.clone(), s.kind.message_type()))
        .collect();
    let outputs = &launch.outputs;
    topics.push((
        outputs.tracked_objects.clone(),
        "autoware_perception_msgs/msg/TrackedObjects",
    ));
    topics.push((
        outputs.markers.clone(),
        "visualization_msgs/msg/MarkerArray",
    ));
    topics.push((
        outputs.diagnostics.clone(),
        "diagnostic_msgs/msg/DiagnosticArray",
    ));
    topics.push((
        GROUND_TRUTH_TOPIC.to_owned(),
        "autoware_perception_msgs/msg/TrackedObjects",
    ));
    let mut seen = std::collections::HashSet::new();
    topics.retain(|(topic, _)| seen.insert(topic.clone()));
    topics
}

struct Received {
    topic: usize,
    log_time_ns: u64,
    publish_time_ns: u64,
    payload: Vec<u8>,
}

pub fn run(args: RecordArgs) -> Result<(), CliError> {
    super::init_logging("info");
    let launch = Launch::load(&args.launch).map_err(|e| CliError::usage(e.to_string()))?;
    let mut topics = launch_topics(&launch);
    if !args.topics.is_empty() {
        let known: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        if let Some(unknown) = args.topics.iter().find(|t| !known.contains(&t.as_str())) {
            return Err(CliError::usage(format!(
                "--topics: {unknown} is not a topic of {} (its topics: {})",
                args.launch.display(),
                known.join(", ")
            )));
        }
        topics.retain(|(t, _)| args.topics.contains(t));
    }
    let config = WriterConfig {
        compression: args.compression,
        ..WriterConfig::default()
    };
    let mut writer =
        DriveWriter::create(&args.output, config).map_err(|e| CliError::usage(e.to_string()))?;
    let handles = topics
        .iter()
        .map(|(topic, type_name)| writer.add_topic(topic, type_name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::failure(e.to_string()))?;

    let stop = super::stop_signal()?;
    let session = transport::open(&launch.zenoh).map_err(|e| CliError::failure(e.to_string()))?;
    let (tx, rx) = crossbeam_channel::bounded::<Received>(RECORD_QUEUE_LEN);
    let drops: Arc<Vec<AtomicU64>> = Arc::new(topics.iter().map(|_| AtomicU64::new(0)).collect());
    let mut subscribers = Vec::with_capacity(topics.len());
    for (index, (topic, _)) in topics.iter().enumerate() {
        let key = transport::key_expr(topic).map_err(|e| CliError::failure(e.to_string()))?;
        let (tx, drops) = (tx.clone(), Arc::clone(&drops));
        let subscriber = session
            .declare_subscriber(key)
            .callback(move |sample| {
                let log_time_ns = u64::try_from(wall_clock_ns()).unwrap_or(0);
                let publish_time_ns = sample
                    .timestamp()
                    .map_or(log_time_ns, |t| t.get_time().as_nanos());
                let received = Received {
                    topic: index,
                    log_time_ns,
                    publish_time_ns,
                    payload: sample.payload().to_bytes().into_owned(),
                };
                if tx.try_send(received).is_err() {
                    drops[index].fetch_add(1, Ordering::Relaxed);
                }
            })
            .wait()
            .map_err(|e| CliError::failure(format!("cannot subscribe to {topic}: {e}")))?;
        subscribers.push(subscriber);
    }
    drop(tx);
    let writing = std::thread::Builder::new()
        .name("record-writer".into())
        .spawn(move || -> Result<WriteSummary, fusion_drive::DriveError> {
            for r in rx {
                writer.write(
                    handles[r.topic],
                    r.log_time_ns,
                    r.publish_time_ns,
                    &r.payload,
                )?;
            }
            writer.finish()
        })
        .map_err(|e| CliError::failure(format!("cannot start the writer thread: {e}")))?;
    tracing::info!(
        output = %args.output.display(),
        topics = topics.len(),
        compression = %args.compression,
        "recording"
    );

    let end = args.duration.map(|d| Instant::now() + d);
    let wait = end.map_or(Duration::MAX, |end| {
        end.saturating_duration_since(Instant::now())
    });
    let signalled = stop.recv_timeout(wait).is_ok();
    // Undeclaring drops the callbacks and their senders: the writer thread
    // then drains the queue, writes the summary and ends.
    for subscriber in subscribers {
        let _ = subscriber.undeclare().wait();
    }
    let written = writing
        .join()
        .map_err(|_| CliError::failure("the writer thread panicked"))?
        .map_err(|e| CliError::failure(e.to_string()))?;
    let _ = session.close().wait();

    let elapsed = args.duration.filter(|_| !signalled);
    eprintln!(
        "recorded {} messages to {}{}",
        written.messages,
        args.output.display(),
        elapsed.map_or(String::new(), |d| format!(" in {}", format_duration(d)))
    );
    eprintln!("  {:<40} {:>9} {:>9}", "topic", "messages", "dropped");
    let mut dropped_total = 0;
    for ((topic, _, count), dropped) in written.topics.iter().zip(drops.iter()) {
        let dropped = dropped.load(Ordering::Relaxed);
        dropped_total += dropped;
        eprintln!("  {topic:<40} {count:>9} {dropped:>9}");
    }
    if dropped_total > 0 {
        tracing::warn!(
            dropped = dropped_total,
            "messages dropped: the writer fell behind"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_launch_records_its_sensors_outputs_diagnostics_and_ground_truth() {
        let launch = Launch::load("../launch/default.toml").unwrap();
        let topics = launch_topics(&launch);
        for sensor in &launch.sensors {
            assert!(topics.contains(&(sensor.topic.clone(), sensor.kind.message_type())));
        }
        let has = |topic: &str, ty: &str| topics.iter().any(|(t, y)| t == topic && *y == ty);
        assert!(has(
            &launch.outputs.tracked_objects,
            "autoware_perception_msgs/msg/TrackedObjects"
        ));
        assert!(has(
            &launch.outputs.markers,
            "visualization_msgs/msg/MarkerArray"
        ));
        assert!(has("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"));
        assert!(has(
            GROUND_TRUTH_TOPIC,
            "autoware_perception_msgs/msg/TrackedObjects"
        ));
        // Every type is one fusion-drive can register.
        assert!(
            topics
                .iter()
                .all(|(_, ty)| fusion_msgs::TypeInfo::find(ty).is_some())
        );
    }
}
