//! `fusion-node run`: the node itself.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clap::Args;

use super::CliError;
use crate::diagnostics::DiagnosticsPublisher;
use crate::launch::{Launch, format_duration, parse_duration};
use crate::monitor::{MonitorHandle, MonitorSink, RunMode};
use crate::node::{Node, load_module};
use crate::pipeline::Summary;
use crate::swap::admin::Admin;
use crate::swap::watch::Triggers;
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
    super::init_logging("info");
    let launch = Launch::load(&args.launch).map_err(|e| CliError::usage(e.to_string()))?;
    let stop = super::stop_signal()?;
    let session = transport::open(&launch.zenoh).map_err(|e| CliError::failure(e.to_string()))?;
    let mut running = Running::start(&launch, session)?;
    let end = args.duration.map(|d| Instant::now() + d);
    let signalled = loop {
        let wait = end.map_or(TICK, |end| {
            TICK.min(end.saturating_duration_since(Instant::now()))
        });
        if stop.recv_timeout(wait).is_ok() {
            break true;
        }
        running.tick();
        if end.is_some_and(|end| Instant::now() >= end) {
            break false;
        }
    };
    tracing::info!(
        reason = if signalled { "signal" } else { "duration" },
        "stopping: intake closed, draining frames in flight"
    );
    running.stop()
}

/// A node as `run` runs it: the launch file's module under the deadline
/// monitor, with `/diagnostics` and the stats queryable. `demo` runs the
/// same.
pub(super) struct Running {
    name: String,
    node: Node,
    monitor: MonitorHandle,
    diagnostics: DiagnosticsPublisher,
    stats: zenoh::query::Queryable<()>,
    /// `fusion-node deploy` and `module status`.
    admin: Admin,
    /// The module file watcher and SIGHUP.
    triggers: Triggers,
}

impl Running {
    /// Loads the module and starts the node on `session`.
    pub(super) fn start(launch: &Launch, session: zenoh::Session) -> Result<Self, CliError> {
        let failure = |e: &dyn std::fmt::Display| CliError::failure(e.to_string());
        // First: a SIGHUP while the module loads must not end the process.
        let sighup = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&sighup))
            .map_err(|e| failure(&format!("cannot handle SIGHUP: {e}")))?;
        let module = load_module(launch).map_err(|e| failure(&e))?;
        let sink = MonitorSink::from_launch(launch, &module.sha256, &RunMode::Live)
            .map_err(|e| failure(&e))?;
        let monitor = sink.handle();
        let node =
            Node::start_loaded(launch, session, module, Box::new(sink)).map_err(|e| failure(&e))?;
        let diagnostics =
            DiagnosticsPublisher::declare(node.session(), launch).map_err(|e| failure(&e))?;
        let sensor_names = launch.sensors.iter().map(|s| s.name.clone()).collect();
        let stats =
            crate::stats::serve(node.session(), &launch.name, sensor_names, monitor.clone())
                .map_err(|e| failure(&e))?;
        let admin = crate::swap::admin::serve(node.session(), &launch.name, node.swapper())
            .map_err(|e| failure(&e))?;
        let triggers =
            Triggers::start(launch, node.swapper(), Some(sighup)).map_err(|e| failure(&e))?;
        tracing::info!(
            node = %launch.name,
            sensors = launch.sensors.len(),
            deadline = %format_duration(launch.deadline),
            output = %launch.outputs.tracked_objects,
            "running"
        );
        Ok(Running {
            name: launch.name.clone(),
            node,
            monitor,
            diagnostics,
            stats,
            admin,
            triggers,
        })
    }

    /// The deadline monitor's live view.
    pub(super) fn monitor(&self) -> &MonitorHandle {
        &self.monitor
    }

    /// Once a second: hand the queue-drop totals to the monitor and
    /// publish the diagnostics (on this thread, never the executor's).
    pub(super) fn tick(&mut self) {
        let pipeline = self.node.pipeline();
        let stats = pipeline.sensor_stats();
        self.monitor
            .set_overflow_drops(stats.iter().map(|s| s.counts.dropped_overflow));
        let now_ns = pipeline.clock().now_ns();
        self.diagnostics.set_module(self.node.swapper().status());
        if let Err(e) = self
            .diagnostics
            .publish(now_ns, &stats, &self.monitor.counters())
        {
            tracing::warn!(error = %e, "diagnostics");
        }
    }

    /// Stops intake, drains the frames in flight, flushes the logs and
    /// prints the summary.
    pub(super) fn stop(mut self) -> Result<(), CliError> {
        self.tick();
        let Running {
            name,
            node,
            monitor,
            diagnostics,
            stats,
            admin,
            triggers,
        } = self;
        drop(triggers);
        drop(admin);
        drop(diagnostics);
        drop(stats);
        let summary = node.stop().map_err(|e| CliError::failure(e.to_string()))?;
        eprint!("{}", summary_text(&name, &summary));
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
