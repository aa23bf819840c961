//! The epoch ticker: a thread that advances the engine's epoch every tick,
//! so that a store's epoch deadline becomes a wall-clock deadline.
//!
//! Compiled code checks the epoch at function entries and loop headers, so
//! a module that runs past its deadline traps with `Trap::Interrupt` within
//! about one tick, whatever it is doing.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::Engine;

/// Owns the ticker thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct EpochTicker {
    period: Duration,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine` every `period`.
    pub fn start(engine: Engine, period: Duration) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fusion-epoch".into())
            .spawn(move || tick(&engine, period, &flag))?;
        Ok(EpochTicker {
            period,
            stop,
            thread: Some(thread),
        })
    }

    /// The tick period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Advances the epoch once per elapsed period, counted from the start, so
/// that a late wake-up catches up: the epoch measures time, not wake-ups.
fn tick(engine: &Engine, period: Duration, stop: &AtomicBool) {
    let start = Instant::now();
    let period_ns = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1);
    let mut ticks: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let next = start + Duration::from_nanos(period_ns.saturating_mul(ticks + 1));
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let elapsed_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let due = elapsed_ns / period_ns;
        while ticks < due {
            engine.increment_epoch();
            ticks += 1;
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread wakes within one period; a panic there has
            // already been reported and must not panic the dropper.
            let _ = thread.join();
        }
    }
}
