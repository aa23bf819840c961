//! The aligner thread: drains the sensor queues into the [`Aligner`] in
//! arrival order, and hands finished sets to the executor. It sleeps until
//! the aligner's next time-out or the next message, whichever is first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use zenoh::bytes::ZBytes;

use super::clock::Clock;
use super::intake::{Intake, Message};
use super::report::DroppedSet;
use super::{ReadySet, Shared};
use crate::align::{AlignCounters, AlignedSet, Aligner};

/// The longest the thread sleeps with nothing to do, so a lost wake-up
/// costs at most this.
const IDLE_WAIT: Duration = Duration::from_millis(50);
/// The longest a shutdown waits for pending frames' time-outs.
const DRAIN_LIMIT_NS: i64 = 1_000_000_000;

/// Everything the aligner thread owns.
pub(super) struct AlignLoop {
    pub aligner: Aligner<ZBytes>,
    pub intake: Arc<Intake>,
    pub rings: Receiver<()>,
    /// To the executor, and the same channel's receiving end to take the
    /// oldest set back when it is full.
    pub to_executor: Sender<ReadySet>,
    pub oldest: Receiver<ReadySet>,
    /// Sets the executor is done with, and the way to return dropped ones.
    pub free_sets: Receiver<AlignedSet<ZBytes>>,
    pub recycle: Sender<AlignedSet<ZBytes>>,
    pub dropped: Sender<DroppedSet>,
    pub shared: Arc<Shared>,
    pub stop: Arc<AtomicBool>,
    pub clock: Clock,
}

impl AlignLoop {
    /// Runs until stopped and drained; returns the aligner's counters.
    pub fn run(mut self) -> AlignCounters {
        // Without CAP_SYS_NICE the thread stays at normal priority; the
        // executor reports that case once for both.
        let _ = crate::sched::raise_priority(crate::sched::ALIGNER_PRIORITY);
        let mut batch: Vec<Message> = Vec::with_capacity(self.intake.capacity());
        let mut spare = self.aligner.new_set();
        let mut stopping_since: Option<i64> = None;
        loop {
            if stopping_since.is_none() && self.stop.load(Ordering::Acquire) {
                stopping_since = Some(self.clock.now_ns());
            }
            self.intake.drain_into(&mut batch);
            // Queues are per sensor; the aligner wants arrival order.
            batch.sort_unstable_by_key(|m| m.arrival_ns);
            for message in batch.drain(..) {
                self.aligner.push(message);
            }
            let now = self.clock.now_ns();
            while self.aligner.poll(now, &mut spare) {
                let next = self.spare_set();
                let set = std::mem::replace(&mut spare, next);
                self.hand_off(ReadySet {
                    set,
                    emitted_ns: now,
                });
            }
            let timeout = self.aligner.next_timeout_ns();
            if let Some(since) = stopping_since
                && (timeout.is_none() || now.saturating_sub(since) > DRAIN_LIMIT_NS)
            {
                break;
            }
            let idle = self.clock.instant_at(now) + IDLE_WAIT;
            let wake = timeout.map_or(idle, |t| self.clock.instant_at(t).min(idle));
            let _ = self.rings.recv_deadline(wake);
        }
        self.aligner.counters().clone()
    }

    /// An empty set: one the executor returned, else a new one (only
    /// while the pool fills up at start).
    fn spare_set(&mut self) -> AlignedSet<ZBytes> {
        self.free_sets
            .try_recv()
            .unwrap_or_else(|_| self.aligner.new_set())
    }

    /// Queues `ready` for the executor; when the queue is full the oldest
    /// set in it is dropped, counted and reported, so this never blocks.
    fn hand_off(&mut self, mut ready: ReadySet) {
        // Two rounds suffice: a full queue has an oldest set to take.
        for _ in 0..3 {
            match self.to_executor.try_send(ready) {
                Ok(()) => return,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    ready = back;
                    if let Ok(oldest) = self.oldest.try_recv() {
                        self.drop_set(oldest);
                    }
                }
            }
        }
        self.drop_set(ready);
    }

    fn drop_set(&mut self, ReadySet { mut set, .. }: ReadySet) {
        self.shared.sets_dropped.fetch_add(1, Ordering::Relaxed);
        let _ = self.dropped.try_send(DroppedSet {
            trigger_stamp_ns: set.trigger_stamp_ns(),
            trigger_arrival_ns: set.trigger_arrival_ns(),
            dropped_ns: self.clock.now_ns(),
            missing_sensors: set.missing_sensors(),
        });
        super::empty(&mut set);
        let _ = self.recycle.try_send(set);
    }
}
