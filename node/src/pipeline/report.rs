//! What the pipeline tells the rest of the node about every frame: the
//! seam where the latency histograms, the deadline monitor and the
//! diagnostics plug in.
//!
//! The executor builds one [`FrameReport`] per frame and hands it to a
//! [`FrameSink`] on the executor thread, right after publishing. Sets the
//! executor never saw (dropped because it was busy) are reported through
//! [`FrameSink::dropped`]. Per-sensor counters are read from
//! [`Pipeline::sensor_stats`](super::Pipeline::sensor_stats).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::host::MissReason;

/// How long each stage of one frame took. The stages follow each other,
/// so `align_wait + frame_build + module_exec + publish` is `end_to_end`
/// (up to the clock reads in between).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// From the trigger message's arrival until the executor started the
    /// frame: waiting for late sensors (at most `max_wait`), the aligner's
    /// hand-off, and any wait for a busy executor.
    pub align_wait: Duration,
    /// Writing the frame (header, slot table, payloads) into the module's
    /// input buffer.
    pub frame_build: Duration,
    /// The rest of the module call: `fusion_input_buffer` and
    /// `fusion_step`, and after a trap the instance's restart.
    pub module_exec: Duration,
    /// Handing the output to zenoh; zero when nothing was published.
    pub publish: Duration,
    /// From the trigger message's arrival until the output was handed to
    /// zenoh, or the miss was known.
    pub end_to_end: Duration,
}

/// How a frame ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The module's output was published.
    Published {
        /// Bytes published.
        output_len: usize,
        /// From the trigger's header stamp to the publication, read on the
        /// wall clock (ROS stamps are wall-clock time); zero when the
        /// sensor's clock is ahead of ours.
        stamp_age: Duration,
    },
    /// The module produced no output; the host's reason. Nothing was
    /// published for this frame.
    ModuleMiss {
        /// Why, as the host classified it (`Deadline` for a preempted step).
        reason: MissReason,
        /// Whether a fresh instance replaced a trapped one (state lost).
        restarted: bool,
    },
    /// The module produced output but zenoh refused to publish it.
    PublishFailed,
}

/// One frame, as the executor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameReport {
    /// The frame's sequence number (as in the ABI frame header):
    /// contiguous from 0 over the frames the module was given.
    pub sequence: u64,
    /// Header stamp of the trigger message, ns.
    pub trigger_stamp_ns: i64,
    /// When the trigger message arrived, on the pipeline's [`Clock`]
    /// (monotonic ns since the pipeline started).
    ///
    /// [`Clock`]: super::Clock
    pub trigger_arrival_ns: i64,
    /// Bit `i` set: sensor `i` was missing and the frame went out
    /// degraded (the module was told through the frame header).
    pub missing_sensors: u64,
    /// Per-stage durations.
    pub stages: StageTimes,
    /// Published, or why not.
    pub outcome: Outcome,
}

impl FrameReport {
    /// Whether some sensor was missing.
    pub fn is_degraded(&self) -> bool {
        self.missing_sensors != 0
    }

    /// Whether the output was published.
    pub fn is_published(&self) -> bool {
        matches!(self.outcome, Outcome::Published { .. })
    }

    /// How long publishing took, if it was attempted (published or
    /// refused by zenoh).
    pub fn publish(&self) -> Option<Duration> {
        match self.outcome {
            Outcome::Published { .. } | Outcome::PublishFailed => Some(self.stages.publish),
            Outcome::ModuleMiss { .. } => None,
        }
    }

    /// The indices of the missing sensors.
    pub fn missing(&self) -> impl Iterator<Item = u16> + '_ {
        (0..64u16).filter(|i| self.missing_sensors & (1 << i) != 0)
    }
}

/// An aligned set the executor never ran: it was busy, the set queue was
/// full, and this, the oldest set, made room for a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedSet {
    /// Header stamp of its trigger message, ns.
    pub trigger_stamp_ns: i64,
    /// When its trigger message arrived (pipeline clock, ns).
    pub trigger_arrival_ns: i64,
    /// When it was dropped (pipeline clock, ns).
    pub dropped_ns: i64,
    /// Its missing-sensor mask.
    pub missing_sensors: u64,
}

/// Receives every frame's report on the executor thread.
///
/// Calls happen between frames, so they must be quick and must not block:
/// record into preallocated structures and leave file and network I/O to
/// another thread. A closure `FnMut(&FrameReport)` is a sink.
pub trait FrameSink: Send {
    /// One frame, after its output was published (or its miss known).
    fn frame(&mut self, report: &FrameReport);

    /// A set dropped before the executor saw it. Called before the next
    /// frame's report, so reports stay in time order.
    fn dropped(&mut self, set: &DroppedSet) {
        let _ = set;
    }

    /// A hot swap, a rollback or a refused module, between two frames'
    /// reports (see [`super::swap`]).
    fn swap(&mut self, record: &super::swap::SwapRecord) {
        let _ = record;
    }

    /// The executor stops: every frame has been reported. Flush here.
    fn finish(&mut self) {}
}

impl<F: FnMut(&FrameReport) + Send> FrameSink for F {
    fn frame(&mut self, report: &FrameReport) {
        self(report)
    }
}

/// What a [`RecordingSink`] holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Every frame report, in order.
    pub frames: Vec<FrameReport>,
    /// Every dropped set, in order.
    pub dropped: Vec<DroppedSet>,
    /// Whether [`FrameSink::finish`] was called.
    pub finished: bool,
}

/// A sink that keeps everything, for tests and tools. It locks and
/// allocates, so it is not for the real-time path.
#[derive(Debug, Clone, Default)]
pub struct RecordingSink {
    inner: Arc<Mutex<Recorded>>,
}

impl RecordingSink {
    /// An empty recording; clones share it.
    pub fn new() -> Self {
        RecordingSink::default()
    }

    /// A copy of what was recorded so far.
    pub fn snapshot(&self) -> Recorded {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FrameSink for RecordingSink {
    fn frame(&mut self, report: &FrameReport) {
        self.lock().frames.push(*report);
    }

    fn dropped(&mut self, set: &DroppedSet) {
        self.lock().dropped.push(*set);
    }

    fn finish(&mut self) {
        self.lock().finished = true;
    }
}
