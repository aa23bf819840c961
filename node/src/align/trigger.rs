//! The `trigger` policy: the primary LiDAR opens frames, every other
//! sensor contributes its nearest message within `max_skew`.

use std::collections::VecDeque;

use super::set::SetQueue;
use super::{AlignCounters, Stamped, TriggerConfig};

pub(super) struct TriggerAligner<T> {
    primary: usize,
    max_skew_ns: i64,
    max_wait_ns: i64,
    buffer_len: usize,
    max_pending: usize,
    /// Per sensor, in stamp order (the guard drops reordered stamps).
    /// The primary's stays empty.
    buffers: Vec<VecDeque<Stamped<T>>>,
    /// Primary messages whose frames are not finished, in stamp order.
    pending: VecDeque<Stamped<T>>,
    /// Newest stamp accepted per sensor, including consumed messages.
    newest: Vec<Option<i64>>,
    /// Messages older than this can match no future trigger.
    floor_ns: Option<i64>,
}

impl<T> TriggerAligner<T> {
    pub(super) fn new(sensor_count: usize, c: &TriggerConfig) -> Self {
        let primary = usize::from(c.primary);
        TriggerAligner {
            primary,
            max_skew_ns: c.max_skew_ns,
            max_wait_ns: c.max_wait_ns,
            buffer_len: c.buffer_len,
            max_pending: c.max_pending,
            buffers: (0..sensor_count)
                .map(|s| VecDeque::with_capacity(if s == primary { 0 } else { c.buffer_len }))
                .collect(),
            pending: VecDeque::with_capacity(c.max_pending),
            newest: vec![None; sensor_count],
            floor_ns: None,
        }
    }

    pub(super) fn push(&mut self, msg: Stamped<T>, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        let s = usize::from(msg.sensor);
        self.newest[s] = Some(msg.stamp_ns);
        if s == self.primary {
            if self.pending.len() >= self.max_pending
                && let Some(oldest) = self.pending.pop_front()
            {
                self.emit(oldest, out, c);
            }
            self.pending.push_back(msg);
            if let Some(oldest) = self.pending.front() {
                let floor = oldest.stamp_ns.saturating_sub(self.max_skew_ns);
                self.prune(floor, c);
            }
        } else if self.floor_ns.is_some_and(|f| msg.stamp_ns < f) {
            c.discarded += 1;
        } else {
            let buf = &mut self.buffers[s];
            if buf.len() >= self.buffer_len && buf.pop_front().is_some() {
                c.overflowed += 1;
            }
            buf.push_back(msg);
        }
        self.finish_ready(None, out, c);
    }

    /// Finishes the frames whose wait ran out by `now_ns`.
    pub(super) fn expire(&mut self, now_ns: i64, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        self.finish_ready(Some(now_ns), out, c);
    }

    pub(super) fn next_timeout_ns(&self) -> Option<i64> {
        self.pending
            .front()
            .map(|t| t.arrival_ns.saturating_add(self.max_wait_ns))
    }

    pub(super) fn buffered(&self) -> usize {
        self.pending.len() + self.buffers.iter().map(VecDeque::len).sum::<usize>()
    }

    pub(super) fn buffer_bound(&self) -> usize {
        self.max_pending + (self.buffers.len() - 1) * self.buffer_len
    }

    pub(super) fn clear(&mut self, c: &mut AlignCounters) {
        c.discarded += self.buffered() as u64;
        self.pending.clear();
        self.buffers.iter_mut().for_each(VecDeque::clear);
        self.newest.fill(None);
        self.floor_ns = None;
    }

    /// Emits pending frames from the oldest on, while the oldest is
    /// complete or (given `now_ns`) timed out. Frames leave in trigger order.
    fn finish_ready(&mut self, now_ns: Option<i64>, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        while let Some(trigger) = self.pending.front() {
            let timed_out = now_ns
                .is_some_and(|now| now.saturating_sub(trigger.arrival_ns) >= self.max_wait_ns);
            if !timed_out && !self.complete(trigger.stamp_ns) {
                break;
            }
            if let Some(trigger) = self.pending.pop_front() {
                self.emit(trigger, out, c);
            }
        }
    }

    /// Whether no sensor can still improve the frame at `t`: each has a
    /// message within `max_skew`, or has moved past `t + max_skew`.
    fn complete(&self, t: i64) -> bool {
        (0..self.buffers.len())
            .filter(|&s| s != self.primary)
            .all(|s| {
                self.nearest(s, t).is_some()
                    || self.newest[s].is_some_and(|n| n > t.saturating_add(self.max_skew_ns))
            })
    }

    /// Position in sensor `s`'s buffer of the message nearest to `t` within
    /// `max_skew`; on a tie the earlier one.
    fn nearest(&self, s: usize, t: i64) -> Option<usize> {
        let skew = self.max_skew_ns.unsigned_abs();
        self.buffers[s]
            .iter()
            .enumerate()
            .map(|(i, m)| (m.stamp_ns.abs_diff(t), i))
            .filter(|&(d, _)| d <= skew)
            .min()
            .map(|(_, i)| i)
    }

    fn emit(&mut self, trigger: Stamped<T>, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        let (t, arrival) = (trigger.stamp_ns, trigger.arrival_ns);
        let set = out.begin(c);
        if let Some(slot) = set.slot_mut(self.primary) {
            *slot = Some(trigger);
        }
        for s in 0..self.buffers.len() {
            if s == self.primary {
                continue;
            }
            if let Some(i) = self.nearest(s, t)
                && let Some(slot) = set.slot_mut(s)
            {
                *slot = self.buffers[s].remove(i);
            }
        }
        let count = set.finish(t, arrival);
        let degraded = set.is_degraded();
        c.sets += 1;
        c.degraded_sets += u64::from(degraded);
        c.messages_emitted += count as u64;
        // Triggers only increase, so nothing older than t - max_skew can be
        // used again.
        self.prune(t.saturating_sub(self.max_skew_ns), c);
    }

    /// Discards every buffered message older than `floor_ns`, which no
    /// pending or future trigger can use.
    fn prune(&mut self, floor_ns: i64, c: &mut AlignCounters) {
        self.floor_ns = Some(self.floor_ns.map_or(floor_ns, |f| f.max(floor_ns)));
        for buf in &mut self.buffers {
            while buf.front().is_some_and(|m| m.stamp_ns < floor_ns) {
                buf.pop_front();
                c.discarded += 1;
            }
        }
    }
}
