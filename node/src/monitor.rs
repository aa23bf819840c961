//! The [`FrameSink`] of a running node: the deadline monitor, the stage
//! histograms and the `.hlog` writer behind the pipeline's seam.
//!
//! It runs on the executor thread, so it never blocks: counters go to the
//! rest of the node through a [`MonitorHandle`] (atomics and a mutex taken
//! only with `try_lock`). An `.hlog` interval is written when the launch
//! file's `hlog_interval` has passed, checked on every frame; miss-log
//! lines are written at least once a second. [`FrameSink::finish`] writes
//! the last interval, flushes the miss log and writes the summary.
//!
//! The sink also refreshes a percentile snapshot in the handle about once
//! a second (`try_lock` again), which `fusion-node stats` reads over zenoh.
//!
//! Per-sensor queue drops are counted by the pipeline's intake, which the
//! executor does not see: the node's main thread stores the totals of
//! `Pipeline::sensor_stats` in the handle once a second
//! ([`MonitorHandle::set_overflow_drops`]), and the sink logs the growth as
//! `dropped_input` on its next frame.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use thiserror::Error;

use crate::align::MAX_SENSORS;
use crate::deadline::{DeadlineConfig, DeadlineError, DeadlineMonitor, MissCounters, MissLog};
use crate::launch::Launch;
use crate::metrics::{HlogWriter, MetricsError, StageHistograms, Summary, environment};
use crate::pipeline::swap::SwapRecord;
use crate::pipeline::{DroppedSet, FrameReport, FrameSink};

/// How often buffered miss-log lines are written at the latest.
pub const MISS_LOG_FLUSH_PERIOD: Duration = Duration::from_secs(1);

/// Why the monitor's files could not be opened.
#[derive(Debug, Error)]
pub enum MonitorError {
    /// The miss log.
    #[error(transparent)]
    Deadline(#[from] DeadlineError),
    /// The `.hlog` file.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// What the sink shares with the rest of the node.
#[derive(Debug)]
struct Shared {
    /// Queue-overflow drops per sensor since start, set by the main thread.
    overflow: [AtomicU64; MAX_SENSORS],
    /// The latest counters, updated by the sink when the lock is free.
    counters: Mutex<MissCounters>,
    /// The run's summary, once the sink finished.
    summary: Mutex<Option<Summary>>,
    /// The percentiles so far, refreshed by the sink about once a second
    /// when the lock is free.
    live: Mutex<Option<Summary>>,
}

/// A cheap, cloneable view of a [`MonitorSink`] for other threads.
#[derive(Debug, Clone)]
pub struct MonitorHandle {
    shared: Arc<Shared>,
}

impl MonitorHandle {
    /// Stores the totals of messages each sensor's queue dropped (by
    /// sensor index, as `Pipeline::sensor_stats` gives them).
    pub fn set_overflow_drops(&self, totals: impl IntoIterator<Item = u64>) {
        for (slot, total) in self.shared.overflow.iter().zip(totals) {
            slot.fetch_max(total, Ordering::Relaxed);
        }
    }

    /// The monitor's counters as of its last frame.
    pub fn counters(&self) -> MissCounters {
        *lock(&self.shared.counters)
    }

    /// The run's percentile summary, once the sink has finished.
    pub fn summary(&self) -> Option<Summary> {
        lock(&self.shared.summary).clone()
    }

    /// The percentiles so far: the final summary once the sink finished,
    /// else the snapshot it refreshes about once a second (`None` before
    /// the first).
    pub fn live_summary(&self) -> Option<Summary> {
        self.summary().or_else(|| lock(&self.shared.live).clone())
    }

    /// Queue-overflow drops per sensor, as last stored by
    /// [`MonitorHandle::set_overflow_drops`] (first `sensors` entries).
    pub fn overflow_drops(&self, sensors: usize) -> Vec<u64> {
        self.shared
            .overflow
            .iter()
            .take(sensors)
            .map(|n| n.load(Ordering::Relaxed))
            .collect()
    }
}

/// How a run keeps time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMode {
    /// A live node: `.hlog` intervals on the monotonic clock since the
    /// sink opened, the base time the wall clock then.
    Live,
    /// An offline replay: frames arrive on the recording's log time, and
    /// so do the `.hlog` intervals, from the base time `start_ns`.
    Replay {
        /// The drive, as named on the command line.
        drive: String,
        /// The base time: the replay's start on the recording's clock,
        /// Unix ns.
        start_ns: i64,
    },
}

/// The node's sink: see the module docs.
pub struct MonitorSink {
    monitor: DeadlineMonitor,
    histograms: StageHistograms,
    hlog: Option<HlogWriter<BufWriter<File>>>,
    hlog_interval: Duration,
    summary_path: Option<PathBuf>,
    /// The `.hlog` base time, on the monotonic clock.
    origin: Instant,
    /// For a replay: the `.hlog` base time on the recording's clock (Unix
    /// ns), which then times the intervals instead of `origin`.
    recording_origin_ns: Option<i64>,
    /// The latest frame's end, on the pipeline's clock.
    last_ns: i64,
    next_interval: Duration,
    last_flush: Duration,
    /// Overflow drops already logged, per sensor.
    logged_overflow: [u64; MAX_SENSORS],
    sensors: usize,
    shared: Arc<Shared>,
}

impl MonitorSink {
    /// Opens the miss log and the `.hlog` the launch file's `[logs]` names
    /// (each only if named) for the module with this SHA-256. The mode
    /// goes into the `.hlog` header with the rest of the run's
    /// [`environment`](crate::metrics::environment).
    pub fn from_launch(
        launch: &Launch,
        module_sha256: &str,
        mode: &RunMode,
    ) -> Result<Self, MonitorError> {
        let log = MissLog::from_launch(&launch.logs)?;
        let monitor = DeadlineMonitor::new(DeadlineConfig::from_launch(launch, module_sha256), log);
        let (start, recording_origin_ns, mode_text) = match mode {
            RunMode::Live => (SystemTime::now(), None, "live".to_owned()),
            RunMode::Replay { drive, start_ns } => (
                SystemTime::UNIX_EPOCH
                    + Duration::from_nanos(u64::try_from(*start_ns).unwrap_or(0)),
                Some(*start_ns),
                format!("offline replay of {drive} (intervals on the recording's clock)"),
            ),
        };
        let origin = Instant::now();
        let hlog = match &launch.logs.hlog {
            Some(path) => Some(HlogWriter::create(
                path,
                start,
                &environment(launch, module_sha256, &mode_text),
            )?),
            None => None,
        };
        let hlog_interval = launch.logs.hlog_interval.max(Duration::from_millis(1));
        Ok(MonitorSink {
            monitor,
            histograms: StageHistograms::new(),
            hlog,
            hlog_interval,
            summary_path: launch.logs.summary.clone(),
            origin,
            recording_origin_ns,
            last_ns: 0,
            next_interval: hlog_interval,
            last_flush: Duration::ZERO,
            logged_overflow: [0; MAX_SENSORS],
            sensors: launch.sensors.len().min(MAX_SENSORS),
            shared: Arc::new(Shared {
                overflow: std::array::from_fn(|_| AtomicU64::new(0)),
                counters: Mutex::new(MissCounters::default()),
                summary: Mutex::new(None),
                live: Mutex::new(None),
            }),
        })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> MonitorHandle {
        MonitorHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Logs the growth of every sensor's overflow count; `now_ns` is on the
    /// pipeline's clock.
    fn log_overflow(&mut self, now_ns: i64) {
        for sensor in 0..self.sensors {
            let total = self.shared.overflow[sensor].load(Ordering::Relaxed);
            let new = total.saturating_sub(self.logged_overflow[sensor]);
            if new > 0 {
                self.logged_overflow[sensor] = total;
                self.monitor
                    .record_dropped_input(sensor as u16, new, now_ns);
            }
        }
    }

    /// Writes the `.hlog` interval when it is due, and once a second the
    /// miss log and the live percentile snapshot (skipped when a reader
    /// holds it: the executor never waits).
    /// Time since the `.hlog` base time of a frame that ended at `now_ns`
    /// on the pipeline's clock.
    fn elapsed(&self, now_ns: i64) -> Duration {
        match self.recording_origin_ns {
            Some(origin) => Duration::from_nanos(u64::try_from(now_ns - origin).unwrap_or(0)),
            None => self.origin.elapsed(),
        }
    }

    fn periodic(&mut self, now_ns: i64) {
        let now = self.elapsed(now_ns);
        if now >= self.next_interval {
            self.write_interval(now);
            // Skip intervals nobody recorded in, rather than write a burst.
            while self.next_interval <= now {
                self.next_interval += self.hlog_interval;
            }
        }
        if now.saturating_sub(self.last_flush) >= MISS_LOG_FLUSH_PERIOD {
            self.last_flush = now;
            if let Err(e) = self.monitor.flush() {
                tracing::warn!(error = %e, "miss log");
            }
            if let Ok(mut live) = self.shared.live.try_lock() {
                *live = Some(Summary::of(&self.histograms));
            }
        }
    }

    fn write_interval(&mut self, end: Duration) {
        if let Some(hlog) = &mut self.hlog
            && let Err(e) = hlog.write_interval(&mut self.histograms, end)
        {
            tracing::warn!(error = %e, "latency histogram log");
        }
    }

    fn publish_counters(&self) {
        if let Ok(mut counters) = self.shared.counters.try_lock() {
            *counters = *self.monitor.counters();
        }
    }
}

impl FrameSink for MonitorSink {
    fn frame(&mut self, report: &FrameReport) {
        let now_ns = report
            .trigger_arrival_ns
            .saturating_add(i64::try_from(report.stages.end_to_end.as_nanos()).unwrap_or(i64::MAX));
        self.log_overflow(now_ns);
        self.monitor.record(report);
        self.histograms.record_frame(report);
        self.last_ns = self.last_ns.max(now_ns);
        self.periodic(now_ns);
        self.publish_counters();
    }

    fn dropped(&mut self, set: &DroppedSet) {
        self.monitor.record_dropped_set(set);
        self.publish_counters();
    }

    fn swap(&mut self, record: &SwapRecord) {
        self.monitor.record_swap(record, record.at_ns);
        if record.reason != "swap_refused"
            && let Some(hlog) = &mut self.hlog
            && let Err(e) = hlog.comment(
                "Module",
                &format!("{} {}", record.module.sha256, record.module.detail),
            )
        {
            tracing::warn!(error = %e, "latency histogram log");
        }
    }

    fn finish(&mut self) {
        let now = self.elapsed(self.last_ns);
        let now_ns = match self.recording_origin_ns {
            Some(_) => self.last_ns,
            None => i64::try_from(now.as_nanos()).unwrap_or(i64::MAX),
        };
        self.log_overflow(now_ns);
        self.write_interval(now);
        if let Err(e) = self.monitor.flush() {
            tracing::warn!(error = %e, "miss log");
        }
        let summary = Summary::of(&self.histograms);
        if let Some(path) = &self.summary_path
            && let Err(e) = summary.write(path)
        {
            tracing::warn!(error = %e, "latency summary");
        }
        *lock(&self.shared.summary) = Some(summary);
        *lock(&self.shared.counters) = *self.monitor.counters();
    }
}

impl std::fmt::Debug for MonitorSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorSink")
            .field("monitor", &self.monitor)
            .field("hlog", &self.hlog)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
