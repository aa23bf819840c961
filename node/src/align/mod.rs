//! Time alignment: groups sensor messages that belong to the same instant
//! into [`AlignedSet`]s, under the launch file's policy.
//!
//! The [`Aligner`] is pure logic. It does no I/O, starts no threads and
//! never reads a clock: the caller passes each message's arrival time and
//! the current time to [`Aligner::poll`], so a replay aligns exactly as the
//! live run did.
//!
//! Two policies:
//! - `trigger`: the primary LiDAR's message opens a frame; every other
//!   sensor contributes its buffered message nearest in stamp within
//!   `max_skew`, and a frame waits at most `max_wait` (from the trigger's
//!   arrival) for sensors that have nothing close enough yet.
//! - `approximate_time`: a port of ROS 2 message_filters'
//!   `ApproximateTime` policy, with its published test cases.
//!
//! Bad stamps never wedge the aligner: duplicates and out-of-order stamps
//! are dropped, stamps far in the future are dropped, and a sensor whose
//! time jumps backwards (a looping replay) resets all state. Everything is
//! counted in [`AlignCounters`].
//!
//! **No allocation per message in steady state.** Every buffer is a
//! `VecDeque`/`Vec` allocated with its final capacity in [`Aligner::new`];
//! finished sets are recycled through a fixed pool, and [`Aligner::poll`]
//! swaps a finished set with the caller's, so the caller's set is reused
//! too (`tests/align_alloc.rs` checks this with a counting allocator).

mod approximate;
mod config;
mod guard;
mod set;
mod trigger;

#[cfg(test)]
mod tests;

pub use config::{
    AlignConfigError, AlignerConfig, ApproximateTimeConfig, BACKWARD_JUMP_RESET_NS,
    DEFAULT_AGE_PENALTY, DEFAULT_BUFFER_LEN, DEFAULT_MAX_PENDING, FUTURE_LIMIT_NS,
    FUTURE_RESET_AFTER, MAX_SENSORS, PolicyConfig, TriggerConfig,
};
pub use set::AlignedSet;

use approximate::ApproximateAligner;
use guard::{StampGuard, Verdict};
use set::SetQueue;
use trigger::TriggerAligner;

/// One sensor message as the aligner sees it: who sent it, its header
/// stamp, when it arrived, and an opaque handle to its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped<T> {
    /// The sensor's index in the launch file (`SensorConfig.index`).
    pub sensor: u16,
    /// The message's `header.stamp`, in nanoseconds.
    pub stamp_ns: i64,
    /// When the node received it, in nanoseconds of the caller's monotonic
    /// clock.
    pub arrival_ns: i64,
    /// The payload handle; the aligner never looks inside.
    pub payload: T,
}

/// What [`Aligner::push`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Buffered for alignment.
    Accepted,
    /// Buffered, after the sensor's time jumped backwards and reset the
    /// aligner.
    AcceptedAfterReset,
    /// Dropped: the sensor index is not one of the configured sensors.
    UnknownSensor,
    /// Dropped: same stamp as the sensor's previous message.
    Duplicate,
    /// Dropped: older than the sensor's previous message (by less than the
    /// reset threshold).
    OutOfOrder,
    /// Dropped: far ahead of every stamp seen so far.
    Future,
}

/// What the aligner has done since it was created. All counts only grow.
///
/// Accounting: `accepted == messages_emitted + discarded + overflowed +`
/// [`Aligner::buffered`] at every moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlignCounters {
    /// Messages buffered for alignment.
    pub accepted: u64,
    /// Messages with a sensor index out of range.
    pub unknown_sensor: u64,
    /// Messages with the same stamp as their sensor's previous one.
    pub duplicates: u64,
    /// Messages older than their sensor's previous one.
    pub out_of_order: u64,
    /// Messages too far ahead of the newest stamp seen.
    pub future: u64,
    /// Times the state was cleared because time went backwards (or jumped
    /// forward for good).
    pub resets: u64,
    /// Messages dropped because their sensor's buffer was full.
    pub overflowed: u64,
    /// Accepted messages that will never be in a set: unmatched, stale,
    /// superseded, or cleared by a reset.
    pub discarded: u64,
    /// Sets produced.
    pub sets: u64,
    /// Sets with at least one sensor missing.
    pub degraded_sets: u64,
    /// Messages placed in sets.
    pub messages_emitted: u64,
    /// Finished sets dropped because the caller did not poll them in time.
    pub sets_overflowed: u64,
}

enum Policy<T> {
    Trigger(TriggerAligner<T>),
    ApproximateTime(ApproximateAligner<T>),
}

/// Groups sensor messages into [`AlignedSet`]s. See the module docs.
pub struct Aligner<T> {
    guard: StampGuard,
    policy: Policy<T>,
    out: SetQueue<T>,
    counters: AlignCounters,
}

impl<T> Aligner<T> {
    /// An aligner for `config`, with every buffer allocated.
    pub fn new(config: &AlignerConfig) -> Result<Self, AlignConfigError> {
        config.validate()?;
        let n = config.sensor_count;
        let policy = match &config.policy {
            PolicyConfig::Trigger(c) => Policy::Trigger(TriggerAligner::new(n, c)),
            PolicyConfig::ApproximateTime(c) => {
                Policy::ApproximateTime(ApproximateAligner::new(n, c))
            }
        };
        Ok(Aligner {
            guard: StampGuard::new(n, config.backward_reset_ns, config.future_limit_ns),
            policy,
            out: SetQueue::new(n),
            counters: AlignCounters::default(),
        })
    }

    /// The number of sensor slots in every set.
    pub fn sensor_count(&self) -> usize {
        self.out.sensor_count()
    }

    /// An empty set sized for this aligner, to pass to [`Aligner::poll`].
    pub fn new_set(&self) -> AlignedSet<T> {
        AlignedSet::new(self.sensor_count())
    }

    /// Offers one message. Sets it completes become available to
    /// [`Aligner::poll`]; time-outs are only decided there.
    pub fn push(&mut self, msg: Stamped<T>) -> Admission {
        let sensor = usize::from(msg.sensor);
        if sensor >= self.sensor_count() {
            self.counters.unknown_sensor += 1;
            return Admission::UnknownSensor;
        }
        let admission = match self.guard.check(sensor, msg.stamp_ns) {
            Verdict::Accept => Admission::Accepted,
            Verdict::Reset => {
                self.reset();
                Admission::AcceptedAfterReset
            }
            Verdict::Duplicate => {
                self.counters.duplicates += 1;
                return Admission::Duplicate;
            }
            Verdict::OutOfOrder => {
                self.counters.out_of_order += 1;
                return Admission::OutOfOrder;
            }
            Verdict::Future => {
                self.counters.future += 1;
                return Admission::Future;
            }
        };
        self.guard.record(sensor, msg.stamp_ns);
        self.counters.accepted += 1;
        let (out, c) = (&mut self.out, &mut self.counters);
        match &mut self.policy {
            Policy::Trigger(p) => p.push(msg, out, c),
            Policy::ApproximateTime(p) => p.push(msg, out, c),
        }
        admission
    }

    /// Finishes frames whose wait has run out by `now_ns`, then moves the
    /// oldest finished set into `out` (whose previous contents are
    /// recycled). Returns false, leaving `out` untouched, if no set is
    /// ready. Call it until it returns false.
    pub fn poll(&mut self, now_ns: i64, out: &mut AlignedSet<T>) -> bool {
        if let Policy::Trigger(p) = &mut self.policy {
            p.expire(now_ns, &mut self.out, &mut self.counters);
        }
        self.out.pop_into(out)
    }

    /// When [`Aligner::poll`] next has a time-out to decide, if any: the
    /// pipeline can sleep until then.
    pub fn next_timeout_ns(&self) -> Option<i64> {
        match &self.policy {
            Policy::Trigger(p) => p.next_timeout_ns(),
            Policy::ApproximateTime(_) => None,
        }
    }

    /// Messages held for alignment (not counting finished sets).
    pub fn buffered(&self) -> usize {
        match &self.policy {
            Policy::Trigger(p) => p.buffered(),
            Policy::ApproximateTime(p) => p.buffered(),
        }
    }

    /// The most messages [`Aligner::buffered`] can ever report.
    pub fn buffer_bound(&self) -> usize {
        match &self.policy {
            Policy::Trigger(p) => p.buffer_bound(),
            Policy::ApproximateTime(p) => p.buffer_bound(),
        }
    }

    /// What happened so far.
    pub fn counters(&self) -> &AlignCounters {
        &self.counters
    }

    /// Forgets every buffered message and stamp, as after a backwards jump
    /// (and counts a reset). Finished sets stay available to `poll`.
    pub fn reset(&mut self) {
        self.counters.resets += 1;
        self.guard.clear();
        match &mut self.policy {
            Policy::Trigger(p) => p.clear(&mut self.counters),
            Policy::ApproximateTime(p) => p.clear(&mut self.counters),
        }
    }
}

impl<T> std::fmt::Debug for Aligner<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aligner")
            .field("sensors", &self.sensor_count())
            .field("buffered", &self.buffered())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}
