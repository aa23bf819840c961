//! The `approximate_time` policy: a line-by-line port of ROS 2
//! message_filters' `sync_policies::ApproximateTime` (approximate_time.hpp),
//! so sets come out exactly as a ROS node would make them. Comments name
//! the upstream functions.
//!
//! Differences: stamps are i64 nanoseconds and differences saturate
//! instead of throwing; `Duration * (1 + age_penalty)` is computed in f64
//! and truncated toward zero, as rclcpp does in long double (identical
//! for differences below 2^53 ns, 104 days). Upstream keeps copies of the
//! candidate's messages; here the candidate's message for sensor i is the
//! oldest of `past[i]` or, if that is empty, the front of `deques[i]`
//! (upstream clears `past` whenever it makes a candidate), so payloads
//! need not be `Clone`.

use std::collections::VecDeque;

use super::set::SetQueue;
use super::{AlignCounters, ApproximateTimeConfig, Stamped};

pub(super) struct ApproximateAligner<T> {
    queue_size: usize,
    max_interval_ns: Option<i64>,
    /// `1 + age_penalty`.
    age_factor: f64,
    lower_bound_ns: Vec<i64>,
    /// deque + past of one sensor never exceed queue_size + 1 messages,
    /// so capacity queue_size + 1 for each means no reallocation.
    deques: Vec<VecDeque<Stamped<T>>>,
    past: Vec<Vec<Stamped<T>>>,
    non_empty: usize,
    pivot: Option<usize>,
    pivot_time: i64,
    candidate_start: i64,
    candidate_end: i64,
    has_dropped: Vec<bool>,
    virtual_moves: Vec<usize>,
    /// Arrival of the message being added: a set it releases starts its
    /// deadline clock then.
    release_arrival_ns: i64,
}

impl<T> ApproximateAligner<T> {
    pub(super) fn new(n: usize, c: &ApproximateTimeConfig) -> Self {
        let mut lower_bound_ns = c.inter_message_lower_bound_ns.clone();
        lower_bound_ns.resize(n, 0);
        ApproximateAligner {
            queue_size: c.queue_size,
            max_interval_ns: c.max_interval_ns,
            age_factor: 1.0 + c.age_penalty,
            lower_bound_ns,
            deques: (0..n)
                .map(|_| VecDeque::with_capacity(c.queue_size + 1))
                .collect(),
            past: (0..n)
                .map(|_| Vec::with_capacity(c.queue_size + 1))
                .collect(),
            non_empty: 0,
            pivot: None,
            pivot_time: 0,
            candidate_start: 0,
            candidate_end: 0,
            has_dropped: vec![false; n],
            virtual_moves: vec![0; n],
            release_arrival_ns: 0,
        }
    }

    pub(super) fn buffered(&self) -> usize {
        self.deques.iter().map(VecDeque::len).sum::<usize>()
            + self.past.iter().map(Vec::len).sum::<usize>()
    }

    pub(super) fn buffer_bound(&self) -> usize {
        self.deques.len() * self.queue_size
    }

    pub(super) fn clear(&mut self, c: &mut AlignCounters) {
        c.discarded += self.buffered() as u64;
        self.deques.iter_mut().for_each(VecDeque::clear);
        self.past.iter_mut().for_each(Vec::clear);
        self.non_empty = 0;
        self.pivot = None;
        self.has_dropped.fill(false);
    }

    /// Upstream `add<i>`.
    pub(super) fn push(&mut self, msg: Stamped<T>, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        let i = usize::from(msg.sensor);
        self.release_arrival_ns = msg.arrival_ns;
        self.deques[i].push_back(msg);
        if self.deques[i].len() == 1 {
            self.non_empty += 1;
            if self.non_empty == self.n() {
                self.process(out, c);
            }
        }
        // During process() queue i may have held queue_size + 1 messages.
        if self.deques[i].len() + self.past[i].len() > self.queue_size {
            // Cancel any candidate search; drop the oldest of topic i.
            self.non_empty = 0;
            self.recover_all();
            if self.deques[i].pop_front().is_some() {
                c.overflowed += 1;
            }
            if self.deques[i].is_empty() {
                // Upstream cannot get here (the deque held at least 2).
                self.non_empty -= 1;
            }
            self.has_dropped[i] = true;
            if self.pivot.is_some() {
                self.pivot = None;
                self.process(out, c);
            }
        }
    }

    fn n(&self) -> usize {
        self.deques.len()
    }

    /// `Duration * (1 + age_penalty)`, truncated toward zero like rclcpp.
    fn aged(&self, d: i64) -> i64 {
        (d as f64 * self.age_factor) as i64
    }

    /// Upstream `process`.
    fn process(&mut self, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        let n = self.n();
        while self.non_empty == n {
            let (end_index, end_time) = self.boundary(true);
            let (start_index, start_time) = self.boundary(false);
            for (i, dropped) in self.has_dropped.iter_mut().enumerate() {
                if i != end_index {
                    // No dropped message could have been better than the
                    // ones we have: this topic may be a pivot again.
                    *dropped = false;
                }
            }
            if self.pivot.is_none() {
                let too_wide = self
                    .max_interval_ns
                    .is_some_and(|m| end_time.saturating_sub(start_time) > m);
                if too_wide || self.has_dropped[end_index] {
                    self.delete_front(start_index, c);
                    continue;
                }
                self.make_candidate(c);
                self.candidate_start = start_time;
                self.candidate_end = end_time;
                self.pivot = Some(end_index);
                self.pivot_time = end_time;
                self.move_front_to_past(start_index);
            } else if self.aged(end_time.saturating_sub(self.candidate_end))
                >= start_time.saturating_sub(self.candidate_start)
            {
                // Not better than the current candidate.
                self.move_front_to_past(start_index);
            } else {
                // Better: keep the pivot, replace the candidate.
                self.make_candidate(c);
                self.candidate_start = start_time;
                self.candidate_end = end_time;
                self.move_front_to_past(start_index);
            }
            let age_check = self.aged(end_time.saturating_sub(self.candidate_end));
            if Some(start_index) == self.pivot {
                // Every candidate for this pivot has been seen.
                self.publish(out, c);
            } else if age_check >= self.pivot_time.saturating_sub(self.candidate_start) {
                // Provably optimal: any later candidate contains
                // [pivot_time, end_time], already too wide.
                self.publish(out, c);
            } else if self.non_empty < n {
                self.virtual_search(out, c);
            }
        }
    }

    /// The `while (1)` of upstream `process`: uses the inter-message lower
    /// bounds to prove the candidate optimal before every topic has a
    /// newer message.
    fn virtual_search(&mut self, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        self.virtual_moves.fill(0);
        loop {
            let (_, end_time) = self.virtual_boundary(true);
            let (start_index, start_time) = self.virtual_boundary(false);
            let aged = self.aged(end_time.saturating_sub(self.candidate_end));
            if aged >= self.pivot_time.saturating_sub(self.candidate_start) {
                // Proved optimal; publishing undoes the virtual moves.
                self.publish(out, c);
                return;
            }
            if aged < start_time.saturating_sub(self.candidate_start)
                || !self.move_front_to_past(start_index)
            {
                // An optimistic future candidate beats ours: undo, wait.
                self.non_empty = 0;
                self.recover_virtual_moves();
                return;
            }
            self.virtual_moves[start_index] += 1;
        }
    }

    /// Upstream `getCandidateBoundary`: the earliest (`end` false) or
    /// latest (`end` true) head of the deques, ties as upstream breaks
    /// them. Assumes every deque is non-empty.
    fn boundary(&self, end: bool) -> (usize, i64) {
        let mut best: Option<(usize, i64)> = None;
        for (i, q) in self.deques.iter().enumerate() {
            let Some(m) = q.front() else { continue };
            let t = m.stamp_ns;
            match best {
                Some((_, time)) if !((t < time) ^ end) => {}
                _ => best = Some((i, t)),
            }
        }
        best.unwrap_or((0, self.pivot_time))
    }

    /// Upstream `getVirtualTime<i>`.
    fn virtual_time(&self, i: usize) -> i64 {
        if let Some(m) = self.deques[i].front() {
            return m.stamp_ns;
        }
        match self.past[i].last() {
            Some(last) => last
                .stamp_ns
                .saturating_add(self.lower_bound_ns[i])
                .max(self.pivot_time),
            None => self.pivot_time,
        }
    }

    /// Upstream `getVirtualCandidateBoundary`.
    fn virtual_boundary(&self, end: bool) -> (usize, i64) {
        let mut index = 0;
        let mut time = self.virtual_time(0);
        for i in 0..self.n() {
            let t = self.virtual_time(i);
            if (t < time) ^ end {
                time = t;
                index = i;
            }
        }
        (index, time)
    }

    /// Upstream `dequeDeleteFront`.
    fn delete_front(&mut self, i: usize, c: &mut AlignCounters) {
        if self.deques[i].pop_front().is_some() {
            c.discarded += 1;
            if self.deques[i].is_empty() {
                self.non_empty -= 1;
            }
        }
    }

    /// Upstream `dequeMoveFrontToPast`; false if the deque was empty.
    fn move_front_to_past(&mut self, i: usize) -> bool {
        let Some(m) = self.deques[i].pop_front() else {
            return false;
        };
        self.past[i].push(m);
        if self.deques[i].is_empty() {
            self.non_empty -= 1;
        }
        true
    }

    /// Upstream `makeCandidate`: the deque heads become the candidate, and
    /// every message moved past before is dropped for good.
    fn make_candidate(&mut self, c: &mut AlignCounters) {
        for past in &mut self.past {
            c.discarded += past.len() as u64;
            past.clear();
        }
    }

    /// Upstream `recoverAll()`; the caller has zeroed `non_empty`.
    fn recover_all(&mut self) {
        for i in 0..self.n() {
            while let Some(m) = self.past[i].pop() {
                self.deques[i].push_front(m);
            }
            if !self.deques[i].is_empty() {
                self.non_empty += 1;
            }
        }
    }

    /// Upstream `recoverAll(num_virtual_moves)`; the caller has zeroed
    /// `non_empty`.
    fn recover_virtual_moves(&mut self) {
        for i in 0..self.n() {
            for _ in 0..self.virtual_moves[i] {
                if let Some(m) = self.past[i].pop() {
                    self.deques[i].push_front(m);
                }
            }
            if !self.deques[i].is_empty() {
                self.non_empty += 1;
            }
        }
    }

    /// Upstream `publishCandidate` with `recoverAndDeleteAll`.
    fn publish(&mut self, out: &mut SetQueue<T>, c: &mut AlignCounters) {
        self.pivot = None;
        self.non_empty = 0;
        let set = out.begin(c);
        for i in 0..self.deques.len() {
            while let Some(m) = self.past[i].pop() {
                self.deques[i].push_front(m);
            }
            if let Some(slot) = set.slot_mut(i) {
                *slot = self.deques[i].pop_front();
            }
            if !self.deques[i].is_empty() {
                self.non_empty += 1;
            }
        }
        let count = set.finish(self.candidate_end, self.release_arrival_ns);
        let degraded = set.is_degraded();
        c.sets += 1;
        c.degraded_sets += u64::from(degraded);
        c.messages_emitted += count as u64;
    }
}
