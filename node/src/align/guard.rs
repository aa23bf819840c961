//! Stamp sanity checks shared by both policies: duplicates, reordering,
//! backwards jumps and stamps from the far future.

use super::config::FUTURE_RESET_AFTER;

/// What to do with a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Accept,
    /// Clear all state, then accept.
    Reset,
    Duplicate,
    OutOfOrder,
    Future,
}

/// The last accepted stamp of every sensor and the newest overall.
#[derive(Debug)]
pub(super) struct StampGuard {
    last: Vec<Option<i64>>,
    newest: Option<i64>,
    future_streak: u32,
    backward_reset_ns: i64,
    future_limit_ns: i64,
}

impl StampGuard {
    pub(super) fn new(sensor_count: usize, backward_reset_ns: i64, future_limit_ns: i64) -> Self {
        StampGuard {
            last: vec![None; sensor_count],
            newest: None,
            future_streak: 0,
            backward_reset_ns,
            future_limit_ns,
        }
    }

    pub(super) fn check(&mut self, sensor: usize, stamp_ns: i64) -> Verdict {
        if let Some(newest) = self.newest
            && stamp_ns > newest.saturating_add(self.future_limit_ns)
        {
            // One wild stamp is dropped; a run of them means the source's
            // clock really moved on, and waiting for it to come back would
            // wedge the aligner.
            self.future_streak += 1;
            return if self.future_streak >= FUTURE_RESET_AFTER {
                Verdict::Reset
            } else {
                Verdict::Future
            };
        }
        self.future_streak = 0;
        match self.last.get(sensor).copied().flatten() {
            Some(last) if stamp_ns < last.saturating_sub(self.backward_reset_ns) => Verdict::Reset,
            Some(last) if stamp_ns < last => Verdict::OutOfOrder,
            Some(last) if stamp_ns == last => Verdict::Duplicate,
            _ => Verdict::Accept,
        }
    }

    pub(super) fn record(&mut self, sensor: usize, stamp_ns: i64) {
        if let Some(last) = self.last.get_mut(sensor) {
            *last = Some(stamp_ns);
        }
        self.newest = Some(self.newest.map_or(stamp_ns, |n| n.max(stamp_ns)));
    }

    pub(super) fn clear(&mut self) {
        self.last.fill(None);
        self.newest = None;
        self.future_streak = 0;
    }
}
