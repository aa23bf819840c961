//! The epoch ticker: a thread that advances the engine's epoch every tick,
//! so that a store's epoch deadline becomes a wall-clock deadline.
//!
//! Compiled code checks the epoch at function entries and loop headers, so
//! a module that runs past its deadline traps with `Trap::Interrupt` within
//! about one tick, whatever it is doing.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::Engine;

/// Owns the ticker thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct EpochTicker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the ticker thread and its owner share.
#[derive(Debug)]
struct Shared {
    /// Tick `k` is issued no earlier than `start + k * period`.
    start: Instant,
    period_ns: u64,
    /// Ticks issued so far (after the engine's epoch was advanced).
    issued: AtomicU64,
    stop: AtomicBool,
    /// Whether the thread runs under a real-time scheduling policy.
    realtime: AtomicBool,
}

impl EpochTicker {
    /// Starts ticking `engine` every `period`. This ticker must be the only
    /// one advancing `engine`'s epoch.
    pub fn start(engine: Engine, period: Duration) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            period_ns: u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1),
            issued: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            realtime: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fusion-epoch".into())
            .spawn(move || tick(&engine, &theirs))?;
        Ok(EpochTicker {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the ticker got a real-time priority (`SCHED_FIFO`). Without
    /// one, a busy machine can wake it late, and preemption comes late by
    /// as much.
    pub fn is_realtime(&self) -> bool {
        self.shared.realtime.load(Ordering::Relaxed)
    }

    /// The tick period.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.shared.period_ns)
    }

    /// The epoch deadline, in ticks from now, that traps at the first tick
    /// scheduled at or after `deadline` from now. Ticks follow a fixed
    /// schedule, so the trap comes within the thread's wake-up latency of
    /// the deadline rather than up to a whole tick after it; never before
    /// it, because a tick is issued only once its time has come, and a
    /// tick issued while this runs only makes the deadline one tick later.
    pub fn deadline_ticks(&self, deadline: Duration) -> u64 {
        let s = &self.shared;
        let issued = s.issued.load(Ordering::Acquire);
        let now_ns = u64::try_from(s.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let deadline_ns = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX);
        let due_index = now_ns.saturating_add(deadline_ns).div_ceil(s.period_ns);
        due_index.saturating_sub(issued).max(1)
    }
}

/// Advances the epoch once per elapsed period, counted from the start, so
/// that a late wake-up catches up: the epoch measures time, not wake-ups.
fn tick(engine: &Engine, shared: &Shared) {
    // The lowest real-time priority but one (the executor has the lowest):
    // the ticker preempts ordinary work, and the fusion step it watches, on
    // its core when it wakes, as a watchdog on a vehicle computer should.
    let realtime = crate::sched::raise_priority(crate::sched::TICKER_PRIORITY);
    shared.realtime.store(realtime, Ordering::Relaxed);
    if !realtime {
        tracing::debug!(
            "the epoch ticker runs at normal priority: preemption may come late on a busy machine"
        );
    }
    let (start, period_ns, stop) = (shared.start, shared.period_ns, &shared.stop);
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
            shared.issued.store(ticks, Ordering::Release);
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread wakes within one period; a panic there has
            // already been reported and must not panic the dropper.
            let _ = thread.join();
        }
    }
}
