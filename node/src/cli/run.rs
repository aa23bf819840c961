//! `fusion-node run`: the node itself.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::CliError;
use crate::diagnostics::DiagnosticsPublisher;
use crate::launch::{Launch, format_duration, parse_duration};
use crate::monitor::{MonitorHandle, MonitorSink};
use crate::node::{Node, load_host, module_sha256};
use crate::pipeline::Summary;
use crate::transport;

/// How often the main thread feeds the monitor the queue-drop counts and
/// publishes the diagnostics.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The launch file (see launch/README.md).
    #[arg(long, value_name = "FILE")]
    launch: PathBuf,
    /// Stop after this long, e.g. `3s` or `500ms` (for tests and benches);
    /// without it the node runs until SIGINT or SIGTERM.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
}

pub fn run(args: RunArgs) -> Result<(), CliError> {
    super::init_logging();
    let launch = Launch::load(&args.launch).map_err(|e| CliError::usage(e.to_string()))?;
    let stop = super::stop_signal()?;
    let host = load_host(&launch).map_err(|e| CliError::failure(e.to_string()))?;
    let session = transport::open(&launch.zenoh).map_err(|e| CliError::failure(e.to_string()))?;
    let sha256 = module_sha256(&launch).map_err(|e| CliError::failure(e.to_string()))?;
    let sink =
        MonitorSink::from_launch(&launch, &sha256).map_err(|e| CliError::failure(e.to_string()))?;
    let monitor = sink.handle();
    let node = Node::start_with(&launch, session, host, Box::new(sink))
        .map_err(|e| CliError::failure(e.to_string()))?;
    let mut diagnostics = DiagnosticsPublisher::declare(node.session(), &launch)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let sensor_names = launch.sensors.iter().map(|s| s.name.clone()).collect();
    let stats = crate::stats::serve(node.session(), &launch.name, sensor_names, monitor.clone())
        .map_err(|e| CliError::failure(e.to_string()))?;
    tracing::info!(
        node = %launch.name,
        sensors = launch.sensors.len(),
        deadline = %format_duration(launch.deadline),
        output = %launch.outputs.tracked_objects,
        "running"
    );
    let end = args.duration.map(|d| Instant::now() + d);
    let signalled = loop {
        let wait = end.map_or(TICK, |end| {
            TICK.min(end.saturating_duration_since(Instant::now()))
        });
        if stop.recv_timeout(wait).is_ok() {
            break true;
        }
        tick(&node, &monitor, &mut diagnostics);
        if end.is_some_and(|end| Instant::now() >= end) {
            break false;
        }
    };
    tracing::info!(
        reason = if signalled { "signal" } else { "duration" },
        "stopping: intake closed, draining frames in flight"
    );
    tick(&node, &monitor, &mut diagnostics);
    drop(diagnostics);
    drop(stats);
    let summary = node.stop().map_err(|e| CliError::failure(e.to_string()))?;
    eprint!("{}", summary_text(&launch.name, &summary));
    if let Some(latency) = monitor.summary() {
        eprint!("{latency}");
    }
    let c = monitor.counters();
    eprintln!(
        "  misses: {} ({} deadline, {} late, {} degraded), {} dropped inputs, {} dropped sets, {} miss-log lines",
        c.misses(),
        c.deadline,
        c.late,
        c.degraded,
        c.dropped_inputs,
        c.dropped_sets,
        c.log_lines
    );
    Ok(())
}

/// Once a second: hand the queue-drop totals to the monitor and publish
/// the diagnostics (on this thread, never the executor's).
fn tick(node: &Node, monitor: &MonitorHandle, diagnostics: &mut DiagnosticsPublisher) {
    let pipeline = node.pipeline();
    let stats = pipeline.sensor_stats();
    monitor.set_overflow_drops(stats.iter().map(|s| s.counts.dropped_overflow));
    let now_ns = pipeline.clock().now_ns();
    if let Err(e) = diagnostics.publish(now_ns, &stats, &monitor.counters()) {
        tracing::warn!(error = %e, "diagnostics");
    }
}

/// The summary printed at exit.
pub fn summary_text(name: &str, s: &Summary) -> String {
    let f = &s.frames;
    let mut text = format!(
        "{name}: {} frames, {} published, {} missed ({} deadline), {} degraded, {} sets dropped (executor busy), {} publish failures\n",
        f.frames,
        f.published,
        f.module_misses,
        f.deadline_misses,
        f.degraded,
        f.sets_dropped,
        f.publish_failures,
    );
    for sensor in &s.sensors {
        let c = &sensor.counts;
        text.push_str(&format!(
            "  {}: {} received, {} dropped (queue full), {} malformed\n",
            sensor.name, c.received, c.dropped_overflow, c.malformed
        ));
    }
    text.push_str(if s.executor_realtime {
        "  executor: SCHED_FIFO priority 1\n"
    } else {
        "  executor: normal priority (no CAP_SYS_NICE)\n"
    });
    let a = &s.align;
    text.push_str(&format!(
        "  aligner: {} sets ({} degraded), {} discarded, {} duplicates, {} out of order, {} future, {} resets\n",
        a.sets, a.degraded_sets, a.discarded, a.duplicates, a.out_of_order, a.future, a.resets
    ));
    text
}
