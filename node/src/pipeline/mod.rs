//! The frame path at run time: zenoh callbacks -> one bounded lock-free
//! queue per sensor -> the aligner thread -> the fusion executor thread ->
//! publish.
//!
//! - **Intake** (`intake`): each sensor's subscriber callback reads the
//!   header stamp and pushes zenoh's buffer (not a copy) into that sensor's
//!   `ArrayQueue`. Full: the oldest message goes, counted per sensor.
//!   Unreadable stamps are counted and dropped; the node never panics on
//!   network input.
//! - **Aligner thread** (`align_loop`): owns the [`Aligner`]; wakes on a
//!   message or at [`Aligner::next_timeout_ns`].
//! - **Executor thread** (`executor`, `SCHED_FIFO` priority 1 where
//!   permitted, below the epoch ticker's 2): owns the [`ModuleHost`];
//!   frames are written straight into the module's memory. Nothing blocks
//!   it: finished sets wait in a small bounded queue, and when it is full
//!   the oldest set is dropped and counted ([`FrameSink::dropped`]).
//! - **Outputs**: the module's bytes are published as they are on the
//!   TrackedObjects topic; a marker thread (`markers`) draws them for
//!   viewers while someone subscribes.
//!
//! Every frame ends in a [`FrameReport`] to the [`FrameSink`]: the seam for
//! the latency histograms and the deadline monitor.

mod align_loop;
mod clock;
mod executor;
mod intake;
pub mod markers;
mod report;
mod stamp;
pub mod swap;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use fusion_abi::SensorKind;
use fusion_abi::frame::{FLAG_DEGRADED, FrameHeader};
use thiserror::Error;
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Subscriber;
use zenoh::{Session, Wait};

pub use clock::{Clock, span, wall_clock_ns};
pub use intake::{Intake, Message, Offer, SensorCounts};
pub use report::{
    DroppedSet, FrameReport, FrameSink, Outcome, Recorded, RecordingSink, StageTimes,
};
pub use stamp::{STAMP_PREFIX_LEN, StampError, header_stamp_ns, shift_header_stamp};

use crate::align::{AlignConfigError, AlignCounters, AlignedSet, Aligner, AlignerConfig};
use crate::host::ModuleHost;
use crate::launch::Launch;
use crate::transport::{self, TransportError};
use align_loop::AlignLoop;
use executor::Executor;
use swap::{ModuleIdentity, SwapCommand, SwapEvent};

/// Messages each sensor's queue holds: 200 ms of a 20 Hz sensor. The
/// aligner drains the queues within microseconds, so they fill only if
/// it stalls.
pub const DEFAULT_SENSOR_QUEUE_LEN: usize = 4;
/// Aligned sets waiting for a busy executor before the oldest is dropped.
pub const DEFAULT_SET_QUEUE_LEN: usize = 2;
/// Recent frames kept for a new module's warm-up.
pub const DEFAULT_WARMUP_FRAMES: usize = 8;

/// Why the pipeline could not start or stop cleanly.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// A subscriber, publisher or key expression was refused.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The aligner configuration is invalid.
    #[error("aligner: {0}")]
    Aligner(#[from] AlignConfigError),
    /// A thread could not be started.
    #[error("cannot start a pipeline thread: {0}")]
    Spawn(std::io::Error),
    /// A pipeline thread panicked (a bug; reported at shutdown).
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// One sensor input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorInput {
    /// The sensor's name, for summaries.
    pub name: String,
    /// The ROS topic it publishes on.
    pub topic: String,
    /// Its message type, as the frame slot names it.
    pub kind: SensorKind,
}

/// Everything [`Pipeline::start`] needs besides the session and module.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// The sensors, by index.
    pub sensors: Vec<SensorInput>,
    /// The aligner (its sensor count must be `sensors.len()`).
    pub aligner: AlignerConfig,
    /// Topic of the module's `TrackedObjects`.
    pub tracked_objects: String,
    /// Topic of the viewers' `MarkerArray`; `None`: no markers.
    pub markers: Option<String>,
    /// See [`DEFAULT_SENSOR_QUEUE_LEN`].
    pub sensor_queue_len: usize,
    /// See [`DEFAULT_SET_QUEUE_LEN`].
    pub set_queue_len: usize,
    /// The module the pipeline starts with.
    pub module: ModuleIdentity,
    /// Recent frames the executor keeps for a new module's warm-up.
    pub warmup_frames: usize,
}

/// The swapper's end of the executor's swap channels.
#[derive(Debug)]
pub struct SwapPort {
    /// Requests to the executor.
    pub commands: Sender<SwapCommand>,
    /// What the executor did, in order.
    pub events: Receiver<SwapEvent>,
    /// The module the pipeline started with.
    pub initial: ModuleIdentity,
    /// Its state schema.
    pub initial_schema: Option<i64>,
}

impl PipelineConfig {
    /// The pipeline a launch file describes, with default queue sizes.
    pub fn from_launch(launch: &Launch) -> Self {
        PipelineConfig {
            sensors: launch
                .sensors
                .iter()
                .map(|s| SensorInput {
                    name: s.name.clone(),
                    topic: s.topic.clone(),
                    // Launch kinds are exactly the ABI's kinds.
                    kind: SensorKind::from_u8(s.kind.abi_kind()).unwrap_or(SensorKind::Lidar),
                })
                .collect(),
            aligner: launch.aligner_config(),
            tracked_objects: launch.outputs.tracked_objects.clone(),
            markers: Some(launch.outputs.markers.clone()),
            sensor_queue_len: DEFAULT_SENSOR_QUEUE_LEN,
            set_queue_len: DEFAULT_SET_QUEUE_LEN,
            module: ModuleIdentity {
                sha256: String::new(),
                detail: launch.module.source.path().display().to_string(),
            },
            warmup_frames: DEFAULT_WARMUP_FRAMES,
        }
    }
}

/// A finished set on its way to the executor.
pub(crate) struct ReadySet {
    set: AlignedSet<ZBytes>,
    /// When the aligner finished it (pipeline clock).
    #[allow(dead_code)] // kept for the hand-off latency, not reported yet
    emitted_ns: i64,
}

/// Counters the executor and aligner threads update and anyone may read.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    frames: AtomicU64,
    published: AtomicU64,
    module_misses: AtomicU64,
    deadline_misses: AtomicU64,
    publish_failures: AtomicU64,
    degraded: AtomicU64,
    sets_dropped: AtomicU64,
    executor_realtime: AtomicBool,
}

/// Frame counters at one moment; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameCounts {
    /// Frames the module was given.
    pub frames: u64,
    /// Frames whose output was published.
    pub published: u64,
    /// Frames without output (any [`MissReason`](crate::host::MissReason)).
    pub module_misses: u64,
    /// Of those, steps preempted at the deadline.
    pub deadline_misses: u64,
    /// Outputs zenoh refused.
    pub publish_failures: u64,
    /// Frames with a sensor missing.
    pub degraded: u64,
    /// Aligned sets dropped because the executor was busy.
    pub sets_dropped: u64,
}

/// One sensor's name and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorStats {
    /// The sensor's name.
    pub name: String,
    /// Its counters.
    pub counts: SensorCounts,
}

/// What a pipeline did, returned by [`Pipeline::shutdown`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Frame counters.
    pub frames: FrameCounts,
    /// Per-sensor counters.
    pub sensors: Vec<SensorStats>,
    /// The aligner's counters.
    pub align: AlignCounters,
    /// Whether the executor got `SCHED_FIFO`.
    pub executor_realtime: bool,
}

/// A running pipeline. [`Pipeline::shutdown`] stops it; dropping it stops
/// it too, discarding the summary.
pub struct Pipeline {
    clock: Clock,
    intake: Arc<Intake>,
    names: Vec<String>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    subscribers: Vec<Subscriber<()>>,
    aligner: Option<JoinHandle<AlignCounters>>,
    executor: Option<JoinHandle<()>>,
    markers: Option<JoinHandle<()>>,
    swap_port: Option<SwapPort>,
}

impl Pipeline {
    /// Declares the publishers, starts the threads, then subscribes to
    /// every sensor topic on `session`. `host` must be initialised.
    pub fn start(
        session: &Session,
        config: PipelineConfig,
        mut host: ModuleHost,
        sink: Box<dyn FrameSink>,
    ) -> Result<Pipeline, PipelineError> {
        let aligner = Aligner::<ZBytes>::new(&config.aligner)?;
        let n = config.sensors.len();
        if aligner.sensor_count() != n {
            return Err(AlignConfigError::SensorCount(n).into());
        }
        let clock = Clock::start();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (intake, rings) = Intake::new(n, config.sensor_queue_len);
        let intake = Arc::new(intake);

        let publisher = transport::declare_publisher(session, &config.tracked_objects, true)?;
        let (marker_feed, markers) = match &config.markers {
            Some(topic) => {
                let (feed, thread) =
                    markers::start(transport::declare_publisher(session, topic, true)?)?;
                (Some(feed), Some(thread))
            }
            None => (None, None),
        };

        let set_queue_len = config.set_queue_len.max(1);
        let (to_executor, sets) = crossbeam_channel::bounded(set_queue_len);
        let (recycle, free_sets) = crossbeam_channel::bounded(set_queue_len + 4);
        let (dropped_tx, dropped_rx) = crossbeam_channel::bounded(64);
        let (swap_tx, swap_rx) = crossbeam_channel::bounded(4);
        let (events_tx, events_rx) = crossbeam_channel::unbounded();
        let schema = host.state_schema(swap::STATE_CALL_DEADLINE);
        let swap_port = SwapPort {
            commands: swap_tx,
            events: events_rx,
            initial: config.module.clone(),
            initial_schema: schema,
        };
        let executor = Executor {
            host,
            kinds: config.sensors.iter().map(|s| s.kind).collect(),
            scratch: vec![Vec::new(); n],
            sets: sets.clone(),
            recycle: recycle.clone(),
            dropped: dropped_rx,
            publisher,
            markers: marker_feed,
            sink,
            shared: Arc::clone(&shared),
            clock,
            sequence: 0,
            steps: executor::StepEstimate::default(),
            swap_commands: swap_rx,
            recent: VecDeque::with_capacity(config.warmup_frames),
            recent_len: config.warmup_frames,
            swap: swap::SwapState {
                current: config.module.clone(),
                current_schema: schema,
                state_buf: Vec::new(),
                events: events_tx,
                watch: None,
            },
        };
        let executor = spawn("fusion-executor", move || executor.run())?;
        let align_loop = AlignLoop {
            aligner,
            intake: Arc::clone(&intake),
            rings,
            to_executor,
            oldest: sets,
            free_sets,
            recycle,
            dropped: dropped_tx,
            shared: Arc::clone(&shared),
            stop: Arc::clone(&stop),
            clock,
        };
        let aligner = spawn("fusion-aligner", move || align_loop.run())?;

        let mut pipeline = Pipeline {
            clock,
            intake,
            names: config.sensors.iter().map(|s| s.name.clone()).collect(),
            shared,
            stop,
            subscribers: Vec::with_capacity(n),
            aligner: Some(aligner),
            executor: Some(executor),
            markers,
            swap_port: Some(swap_port),
        };
        for (index, sensor) in config.sensors.iter().enumerate() {
            let key = transport::key_expr(&sensor.topic)?;
            let intake = Arc::clone(&pipeline.intake);
            let sensor_index = index as u16;
            let subscriber = session
                .declare_subscriber(key.clone())
                .callback(move |mut sample| {
                    let arrival_ns = clock.now_ns();
                    let payload = std::mem::take(sample.payload_mut());
                    intake.offer(sensor_index, arrival_ns, payload);
                })
                .wait()
                .map_err(|e| TransportError::Declare {
                    what: "subscriber",
                    key: key.to_string(),
                    message: e.to_string(),
                })?;
            pipeline.subscribers.push(subscriber);
        }
        Ok(pipeline)
    }

    /// The swapper's end of the executor's swap channels (once).
    pub fn take_swap_port(&mut self) -> Option<SwapPort> {
        self.swap_port.take()
    }

    /// The clock of every arrival time and report.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Every sensor's counters, by index.
    pub fn sensor_stats(&self) -> Vec<SensorStats> {
        self.names
            .iter()
            .zip(self.intake.counts())
            .map(|(name, counts)| SensorStats {
                name: name.clone(),
                counts,
            })
            .collect()
    }

    /// The frame counters now.
    pub fn frame_counts(&self) -> FrameCounts {
        let s = &self.shared;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FrameCounts {
            frames: get(&s.frames),
            published: get(&s.published),
            module_misses: get(&s.module_misses),
            deadline_misses: get(&s.deadline_misses),
            publish_failures: get(&s.publish_failures),
            degraded: get(&s.degraded),
            sets_dropped: get(&s.sets_dropped),
        }
    }

    /// Stops intake, lets the aligner decide its pending frames (at most
    /// `max_wait` later), runs every set already aligned, lets the sink
    /// flush ([`FrameSink::finish`]) and joins the threads.
    pub fn shutdown(mut self) -> Result<Summary, PipelineError> {
        self.stop_threads()
    }

    fn stop_threads(&mut self) -> Result<Summary, PipelineError> {
        self.intake.close();
        for subscriber in self.subscribers.drain(..) {
            if let Err(e) = subscriber.undeclare().wait() {
                tracing::debug!(error = %e, "undeclaring a subscriber failed");
            }
        }
        self.stop.store(true, Ordering::Release);
        self.intake.wake();
        // The aligner's end of the set queue closes when it returns, and
        // the executor then finishes what is queued; its marker feed goes
        // with it, which ends the marker thread.
        let align = join(self.aligner.take(), "aligner");
        let executed = join(self.executor.take(), "executor");
        let marked = join(self.markers.take(), "marker");
        let align = align?.unwrap_or_default();
        executed?;
        marked?;
        Ok(Summary {
            frames: self.frame_counts(),
            sensors: self.sensor_stats(),
            align,
            executor_realtime: self.shared.executor_realtime.load(Ordering::Relaxed),
        })
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.aligner.is_some() || self.executor.is_some() {
            let _ = self.stop_threads();
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("sensors", &self.names)
            .field("frames", &self.frame_counts())
            .finish_non_exhaustive()
    }
}

fn spawn<T: Send + 'static>(
    name: &str,
    run: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, PipelineError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(run)
        .map_err(PipelineError::Spawn)
}

fn join<T>(thread: Option<JoinHandle<T>>, name: &'static str) -> Result<Option<T>, PipelineError> {
    match thread {
        Some(thread) => thread
            .join()
            .map(Some)
            .map_err(|_| PipelineError::Panicked(name)),
        None => Ok(None),
    }
}

/// Drops every message of `set` (releasing zenoh's buffers) so the set
/// can be reused.
/// The ABI header of the frame `set` makes, numbered `sequence`: its
/// trigger stamp, missing sensors and the degraded flag. Live and offline
/// frames are headed the same way.
pub(crate) fn frame_header<T>(set: &AlignedSet<T>, sequence: u64) -> FrameHeader {
    FrameHeader {
        sequence,
        trigger_stamp_ns: set.trigger_stamp_ns(),
        missing_sensors: set.missing_sensors(),
        flags: if set.is_degraded() { FLAG_DEGRADED } else { 0 },
    }
}

fn empty(set: &mut AlignedSet<ZBytes>) {
    for sensor in 0..set.slots().len() {
        set.take(sensor);
    }
}
