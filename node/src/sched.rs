//! Real-time scheduling of the node's own threads.
//!
//! Priorities, lowest real-time first: the aligner and the fusion executor
//! run at [`ALIGNER_PRIORITY`] and [`EXECUTOR_PRIORITY`], the epoch ticker
//! that preempts the executor at [`TICKER_PRIORITY`], so the watchdog
//! always wins the core. A frame passes from the aligner to the executor,
//! so both must be woken at once however busy the machine is: a normal
//! thread waits behind other work for its time slice.

/// `SCHED_FIFO` priority of the aligner thread. It runs for microseconds
/// per message, so it may share the executor's level.
pub const ALIGNER_PRIORITY: i32 = 1;
/// `SCHED_FIFO` priority of the fusion executor thread.
pub const EXECUTOR_PRIORITY: i32 = 1;
/// `SCHED_FIFO` priority of the epoch ticker thread.
pub const TICKER_PRIORITY: i32 = 2;

/// Moves the calling thread to `SCHED_FIFO` at `priority`. Needs
/// `CAP_SYS_NICE` (or root) and an RT budget; without them the thread stays
/// as it was and this returns false.
#[cfg(target_os = "linux")]
pub fn raise_priority(priority: i32) -> bool {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pthread_self() is the calling thread and `param` is a valid
    // sched_param; the call changes only this thread's scheduling.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) == 0 }
}

/// Real-time priorities are only implemented on Linux.
#[cfg(not(target_os = "linux"))]
pub fn raise_priority(_priority: i32) -> bool {
    false
}
