//! Per-sensor arrival statistics: message rate over a sliding window and
//! the age of the last message.

use std::time::Duration;

/// The window the rate is measured over.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Arrival times kept per sensor: rates up to this many Hz are exact.
pub const RATE_WINDOW_CAPACITY: usize = 256;

const WINDOW_NS: i64 = RATE_WINDOW.as_nanos() as i64;

/// Arrivals of one sensor. [`SensorStats::record`] is O(1) and never
/// allocates: the arrival times live in a ring sized at creation.
#[derive(Debug, Clone)]
pub struct SensorStats {
    name: String,
    /// The newest arrivals, oldest overwritten first.
    ring: Box<[i64]>,
    /// Where the next arrival goes.
    next: usize,
    received: u64,
    last_arrival_ns: Option<i64>,
}

impl SensorStats {
    /// Statistics of the sensor `name`.
    pub fn new(name: impl Into<String>) -> Self {
        SensorStats {
            name: name.into(),
            ring: vec![0; RATE_WINDOW_CAPACITY].into_boxed_slice(),
            next: 0,
            received: 0,
            last_arrival_ns: None,
        }
    }

    /// The sensor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Counts a message that arrived at `arrival_ns` (the node's monotonic
    /// clock, as the aligner sees it).
    pub fn record(&mut self, arrival_ns: i64) {
        self.ring[self.next] = arrival_ns;
        self.next = (self.next + 1) % self.ring.len();
        self.received += 1;
        self.last_arrival_ns = Some(arrival_ns);
    }

    /// Messages counted since creation.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Time since the last message, if any (zero if it is stamped after
    /// `now_ns`).
    pub fn age(&self, now_ns: i64) -> Option<Duration> {
        self.last_arrival_ns
            .map(|t| Duration::from_nanos(now_ns.saturating_sub(t).max(0) as u64))
    }

    /// Messages per second over the [`RATE_WINDOW`] ending at `now_ns`.
    /// When more than [`RATE_WINDOW_CAPACITY`] arrived in the window, the
    /// rate is estimated from the span of the newest ones.
    pub fn rate_hz(&self, now_ns: i64) -> f64 {
        let kept = self.ring.len().min(self.received as usize);
        let start = now_ns.saturating_sub(WINDOW_NS);
        let in_window = (1..=kept)
            .map(|back| self.ring[(self.next + self.ring.len() - back) % self.ring.len()])
            .filter(|&t| t > start && t <= now_ns)
            .count();
        if in_window < self.ring.len() {
            return in_window as f64 / RATE_WINDOW.as_secs_f64();
        }
        // Saturated: every kept arrival is in the window.
        let newest = self.ring[(self.next + self.ring.len() - 1) % self.ring.len()];
        let oldest = self.ring[self.next];
        let span = (newest - oldest) as f64 / 1e9;
        if span > 0.0 {
            (self.ring.len() - 1) as f64 / span
        } else {
            // All at one instant: no span to divide by.
            self.ring.len() as f64 / RATE_WINDOW.as_secs_f64()
        }
    }
}
