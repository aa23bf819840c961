//! `fusion-node run`: the node itself.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::launch::{Launch, format_duration, parse_duration};
use crate::node::{Node, load_host};
use crate::pipeline::{FrameReport, Outcome, Summary};
use crate::transport;

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
    let node = Node::start_with(&launch, session, host, Box::new(log_misses))
        .map_err(|e| CliError::failure(e.to_string()))?;
    tracing::info!(
        node = %launch.name,
        sensors = launch.sensors.len(),
        deadline = %format_duration(launch.deadline),
        output = %launch.outputs.tracked_objects,
        "running"
    );
    let signalled = match args.duration {
        Some(d) => stop.recv_timeout(d).is_ok(),
        None => stop.recv().is_ok(),
    };
    tracing::info!(
        reason = if signalled { "signal" } else { "duration" },
        "stopping: intake closed, draining frames in flight"
    );
    let summary = node.stop().map_err(|e| CliError::failure(e.to_string()))?;
    eprint!("{}", summary_text(&launch.name, &summary));
    Ok(())
}

/// The executor's sink until the deadline monitor exists: misses go to the
/// log at debug level (the summary counts them).
fn log_misses(report: &FrameReport) {
    if let Outcome::ModuleMiss { reason, restarted } = report.outcome {
        tracing::debug!(sequence = report.sequence, %reason, restarted, "frame missed");
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
