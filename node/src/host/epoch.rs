//! The epoch ticker: a thread that advances the engine's epoch every tick,
//! so that a store's epoch deadline becomes a wall-clock deadline.
//!
//! Compiled code checks the epoch at function entries and loop headers, so
//! a module that runs past its deadline traps with `Trap::Interrupt` within
//! about one tick, whatever it is doing.
//!
//! **It parks while no guest code has run for a while.** The host [`arm`]s
//! the ticker around every call into a module. Once no call has been armed
//! for [`LINGER`], the thread parks and wakes only every [`IDLE_CATCH_UP`]
//! to catch the epoch up, until the next call unparks it: an idle node
//! does not pay 4,000 context switches a second. It lingers rather than
//! parking after every call because waking a parked thread costs the
//! caller: parking between back-to-back steps made a 1.6 ms Wasm step about
//! 5 % slower on this VM. The epoch still measures time: a woken ticker
//! first issues every tick whose time has passed, so a deadline computed
//! while it was parked falls at the right moment.
//!
//! [`arm`]: EpochTicker::arm

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use wasmtime::Engine;

/// How often a parked ticker wakes to catch the epoch up anyway, so that
/// guest code run without [`EpochTicker::arm`] is still preempted, late.
pub const IDLE_CATCH_UP: Duration = Duration::from_millis(10);

/// How long the ticker keeps ticking after the last armed call: longer
/// than the gap between the frames of a 10–30 Hz pipeline, so that a
/// running node never waits for it to wake.
pub const LINGER: Duration = Duration::from_millis(200);

/// Owns the ticker thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct EpochTicker {
    shared: Arc<Shared>,
    /// The ticker thread, to wake it when the first call is armed.
    waker: Thread,
    thread: Option<JoinHandle<()>>,
}

/// Keeps the ticker ticking while guest code runs; see
/// [`EpochTicker::arm`].
#[derive(Debug)]
#[must_use = "the ticker parks when this is dropped"]
pub struct Armed {
    shared: Arc<Shared>,
    ticks: u64,
}

impl Armed {
    /// The epoch deadline to set on the store (ticks from now).
    pub fn ticks(&self) -> u64 {
        self.ticks
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.shared.armed.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the ticker thread and its owner share.
#[derive(Debug)]
struct Shared {
    /// Tick `k` is issued no earlier than `start + k * period`.
    start: Instant,
    period_ns: u64,
    /// Ticks issued so far (after the engine's epoch was advanced).
    issued: AtomicU64,
    /// Calls into guest code in progress ([`Armed`] guards alive).
    armed: AtomicUsize,
    /// Calls armed so far, so the ticker sees calls shorter than a tick.
    calls: AtomicU64,
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
            armed: AtomicUsize::new(0),
            calls: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            realtime: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fusion-epoch".into())
            .spawn(move || tick(&engine, &theirs))?;
        Ok(EpochTicker {
            shared,
            waker: thread.thread().clone(),
            thread: Some(thread),
        })
    }

    /// Starts the ticker for a call into guest code that must end within
    /// `deadline`; it ticks until the returned guard (and every other) is
    /// dropped. Set the guard's [`Armed::ticks`] as the store's epoch
    /// deadline and keep the guard until the call returns.
    pub fn arm(&self, deadline: Duration) -> Armed {
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
        // Unparking a thread that is not parked costs no system call.
        if self.shared.armed.fetch_add(1, Ordering::AcqRel) == 0 {
            self.waker.unpark();
        }
        Armed {
            shared: Arc::clone(&self.shared),
            ticks: self.deadline_ticks(deadline),
        }
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
    let (mut calls_seen, mut last_busy) = (0, Instant::now());
    while !stop.load(Ordering::Relaxed) {
        let calls = shared.calls.load(Ordering::Relaxed);
        if calls != calls_seen || shared.armed.load(Ordering::Acquire) > 0 {
            calls_seen = calls;
            last_busy = Instant::now();
        }
        if last_busy.elapsed() > LINGER {
            // An `arm` after the loads unparks us: the token makes this
            // park return at once.
            std::thread::park_timeout(IDLE_CATCH_UP);
        } else {
            let next = start + Duration::from_nanos(period_ns.saturating_mul(ticks + 1));
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
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
        self.waker.unpark();
        if let Some(thread) = self.thread.take() {
            // The thread wakes within one period; a panic there has
            // already been reported and must not panic the dropper.
            let _ = thread.join();
        }
    }
}
