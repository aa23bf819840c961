//! The pipeline's monotonic clock: nanoseconds since the pipeline started.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Monotonic time in nanoseconds since [`Clock::start`]. Every arrival
/// time, deadline and report of one pipeline is on this clock, so they
/// compare directly; it is `Copy`, so every thread reads the same one.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Self {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Nanoseconds since the clock started (saturating after 292 years).
    pub fn now_ns(&self) -> i64 {
        self.ns_of(Instant::now())
    }

    /// `instant` on this clock.
    pub fn ns_of(&self, instant: Instant) -> i64 {
        let elapsed = instant.saturating_duration_since(self.origin);
        i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX)
    }

    /// The instant that is `ns` on this clock (the origin for negative
    /// values).
    pub fn instant_at(&self, ns: i64) -> Instant {
        self.origin + Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
    }
}

/// The wall clock in nanoseconds since the Unix epoch, the scale of ROS
/// header stamps (0 before 1970, saturating after 2262).
pub fn wall_clock_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The time from `from_ns` to `to_ns` (zero if negative).
pub fn span(from_ns: i64, to_ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(to_ns.saturating_sub(from_ns)).unwrap_or(0))
}
