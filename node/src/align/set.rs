//! Aligned sets and the fixed pool they are recycled through.

use std::collections::VecDeque;

use super::{AlignCounters, Stamped};

/// Finished sets held for the caller; a further one drops the oldest.
const READY_CAPACITY: usize = 8;

/// One aligned frame: per sensor slot a message or nothing, the trigger
/// stamp and which sensors are missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignedSet<T> {
    trigger_stamp_ns: i64,
    trigger_arrival_ns: i64,
    missing: u64,
    slots: Vec<Option<Stamped<T>>>,
}

impl<T> AlignedSet<T> {
    /// An empty set with `sensor_count` slots, all missing.
    pub fn new(sensor_count: usize) -> Self {
        let mut set = AlignedSet {
            trigger_stamp_ns: 0,
            trigger_arrival_ns: 0,
            missing: 0,
            slots: Vec::with_capacity(sensor_count),
        };
        set.reset(sensor_count);
        set
    }

    /// The frame's stamp: the trigger message's stamp (`trigger`), or the
    /// newest stamp in the set (`approximate_time`).
    pub fn trigger_stamp_ns(&self) -> i64 {
        self.trigger_stamp_ns
    }

    /// When the deadline clock starts: the trigger message's arrival
    /// (`trigger`), or the arrival of the message that completed the set
    /// (`approximate_time`).
    pub fn trigger_arrival_ns(&self) -> i64 {
        self.trigger_arrival_ns
    }

    /// Bit `i` set: sensor `i` has no message in this set.
    pub fn missing_sensors(&self) -> u64 {
        self.missing
    }

    /// Whether some sensor is missing.
    pub fn is_degraded(&self) -> bool {
        self.missing != 0
    }

    /// One slot per sensor, by sensor index.
    pub fn slots(&self) -> &[Option<Stamped<T>>] {
        &self.slots
    }

    /// The message of `sensor`, if present.
    pub fn get(&self, sensor: usize) -> Option<&Stamped<T>> {
        self.slots.get(sensor).and_then(Option::as_ref)
    }

    /// Moves the message of `sensor` out of the set. `missing_sensors`
    /// still describes the set as it was aligned.
    pub fn take(&mut self, sensor: usize) -> Option<Stamped<T>> {
        self.slots.get_mut(sensor).and_then(Option::take)
    }

    /// The messages present, in sensor order.
    pub fn present(&self) -> impl Iterator<Item = &Stamped<T>> {
        self.slots.iter().flatten()
    }

    pub(super) fn reset(&mut self, sensor_count: usize) {
        self.slots.clear();
        self.slots.resize_with(sensor_count, || None);
        self.trigger_stamp_ns = 0;
        self.trigger_arrival_ns = 0;
        self.missing = 0;
    }

    pub(super) fn slot_mut(&mut self, sensor: usize) -> Option<&mut Option<Stamped<T>>> {
        self.slots.get_mut(sensor)
    }

    /// Stamps the set and derives `missing` from the empty slots; returns
    /// the number of messages in it.
    pub(super) fn finish(&mut self, trigger_stamp_ns: i64, trigger_arrival_ns: i64) -> usize {
        self.trigger_stamp_ns = trigger_stamp_ns;
        self.trigger_arrival_ns = trigger_arrival_ns;
        self.missing = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .fold(0, |m, (i, _)| m | (1 << i));
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

/// Finished sets waiting for `poll`, and the empty sets to fill next.
#[derive(Debug)]
pub(super) struct SetQueue<T> {
    sensor_count: usize,
    ready: VecDeque<AlignedSet<T>>,
    free: Vec<AlignedSet<T>>,
}

impl<T> SetQueue<T> {
    pub(super) fn new(sensor_count: usize) -> Self {
        SetQueue {
            sensor_count,
            ready: VecDeque::with_capacity(READY_CAPACITY),
            free: (0..READY_CAPACITY)
                .map(|_| AlignedSet::new(sensor_count))
                .collect(),
        }
    }

    pub(super) fn sensor_count(&self) -> usize {
        self.sensor_count
    }

    /// An empty set appended to the ready queue, to be filled and
    /// [`AlignedSet::finish`]ed by the caller.
    pub(super) fn begin(&mut self, counters: &mut AlignCounters) -> &mut AlignedSet<T> {
        let mut set = match self.free.pop() {
            Some(set) => set,
            // The pool is empty only when every set is ready and unpolled.
            None => match self.ready.pop_front() {
                Some(oldest) => {
                    counters.sets_overflowed += 1;
                    oldest
                }
                None => AlignedSet::new(self.sensor_count),
            },
        };
        set.reset(self.sensor_count);
        self.ready.push_back(set);
        let last = self.ready.len() - 1;
        &mut self.ready[last]
    }

    pub(super) fn pop_into(&mut self, out: &mut AlignedSet<T>) -> bool {
        let Some(mut set) = self.ready.pop_front() else {
            return false;
        };
        std::mem::swap(out, &mut set);
        set.reset(self.sensor_count);
        self.free.push(set);
        true
    }
}
