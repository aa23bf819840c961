//! The executor's side of a hot swap: the recent frames it keeps for a
//! new module's warm-up, and the swap itself, between two frames.
//!
//! Everything slow happens on the swapper's thread (`crate::swap`):
//! compiling, validating, initialising and warming up the new module. The
//! executor only answers [`SwapCommand`]s between frames, and never waits:
//! - [`SwapCommand::Recent`]: it hands over its last frames (the payloads
//!   are zenoh buffers, shared, not copied) and the running module's state;
//! - [`SwapCommand::Install`]: the *swap pause*, only the exchange of the
//!   two hosts. When both modules declare the same state schema, the new
//!   one arrives with the running one's state already restored and caught
//!   up: the swapper restored a snapshot and ran the frames since in
//!   shadow. If frames came in meanwhile, the candidate goes back to catch
//!   up ([`SwapEvent::Behind`]), a few times at most. Then the executor
//!   watches the next frames and swaps back by itself on a trap or
//!   repeated deadline misses (moving the state back, if it crossed). The
//!   old host goes back to the swapper to be dropped there, off the frame
//!   path.
//!
//! Frames keep their sequence numbers across a swap: the swap happens
//! between two frames, and no frame is dropped, run twice or reordered.

use std::time::Duration;

use crossbeam_channel::Sender;
use fusion_abi::SensorKind;
use fusion_abi::frame::FrameHeader;
use zenoh::bytes::ZBytes;

use crate::host::ModuleHost;

/// How long a module's `fusion_snapshot` or `fusion_restore` may take
/// (on the executor, between frames, for a snapshot). Generous against
/// the epoch ticker's 1 ms steps: a snapshot cut short costs the running
/// module its state.
pub const STATE_CALL_DEADLINE: Duration = Duration::from_millis(5);

/// Times a candidate goes back to catch up before it is refused.
pub const CATCH_UP_ATTEMPTS: u32 = 10;

/// Which module is running, as logs and replies name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleIdentity {
    /// SHA-256 of the module's bytes, hex.
    pub sha256: String,
    /// Where it came from: its path, `builtin:reference`, or `deploy`.
    pub detail: String,
}

/// One recent frame, for a warm-up in shadow.
#[derive(Debug, Clone)]
pub struct ShadowFrame {
    /// The frame's header as the running module saw it.
    pub header: FrameHeader,
    /// The sensor messages in it, in slot order.
    pub slots: Vec<ShadowSlot>,
}

/// One sensor message of a [`ShadowFrame`].
#[derive(Debug, Clone)]
pub struct ShadowSlot {
    /// The sensor's index in the launch file.
    pub sensor_index: u16,
    /// Its kind.
    pub kind: SensorKind,
    /// The message's header stamp.
    pub stamp_ns: i64,
    /// The CDR payload as zenoh delivered it.
    pub payload: ZBytes,
}

/// What the swapper asks with [`SwapCommand::Recent`].
#[derive(Debug)]
pub struct RecentRequest {
    /// Only frames after this sequence number (all kept frames if `None`).
    pub after: Option<u64>,
    /// Include a snapshot of the running module's state if it declares
    /// this schema (the candidate's): no snapshot for nothing.
    pub state_for: Option<i64>,
    /// Where the answer goes.
    pub reply: Sender<Recent>,
}

/// What the executor answers to [`SwapCommand::Recent`].
#[derive(Debug)]
pub struct Recent {
    /// The kept frames asked for, oldest first (at most the warm-up
    /// count).
    pub frames: Vec<ShadowFrame>,
    /// Whether `frames` reach back to the one after `after` (the executor
    /// keeps only the last few).
    pub complete: bool,
    /// The last frame the running module ran (`None` before the first).
    pub through: Option<u64>,
    /// The running module's state schema, if it carries state.
    pub schema: Option<i64>,
    /// Its state after frame `through`, if asked for and the schemas
    /// match (`None` otherwise); an error if the snapshot failed.
    pub state: Option<Result<Vec<u8>, String>>,
}

/// A module ready to go live.
pub struct Candidate {
    /// Initialised and warmed up.
    pub host: ModuleHost,
    /// Its identity.
    pub module: ModuleIdentity,
    /// The new module's state schema; the state is carried over when the
    /// running module declares the same.
    pub carry_schema: Option<i64>,
    /// Which swap this is (events name it, so a late event of an earlier
    /// swap is never taken for this one's).
    pub id: u64,
    /// The running module's state is already in the candidate, as it was
    /// after frame `Some(n)` (`Some(None)`: before any frame), restored
    /// and caught up in shadow; `None`: not synced.
    pub synced: Option<Option<u64>>,
    /// Times the candidate went back to catch up.
    pub attempts: u32,
    /// Frames to watch after the swap.
    pub watch_frames: u32,
    /// Deadline misses (`deadline` or `late`) in the watched frames that
    /// roll the swap back; a trap rolls back at once.
    pub rollback_misses: u32,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("module", &self.module)
            .field("carry_schema", &self.carry_schema)
            .finish_non_exhaustive()
    }
}

/// What the swapper asks of the executor.
#[derive(Debug)]
pub enum SwapCommand {
    /// Send recent frames and, if asked, the running module's state.
    Recent(RecentRequest),
    /// Swap this module in between two frames, then watch it.
    Install(Box<Candidate>),
    /// Write this swap record to the miss log (a refusal the swapper
    /// decided), in order with the frames.
    Log(Box<SwapRecord>),
}

/// How tracker state crossed a swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateCarry {
    /// Restored off the frame path and caught up to the swap.
    CaughtUp,
    /// The new module started without it, for this reason.
    Fresh(String),
}

impl std::fmt::Display for StateCarry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateCarry::CaughtUp => write!(f, "carried over (restored and caught up in shadow)"),
            StateCarry::Fresh(why) => write!(f, "fresh ({why})"),
        }
    }
}

/// What the executor tells the swapper, in order.
pub enum SwapEvent {
    /// The candidate runs from frame `sequence` on.
    Installed {
        /// The swap ([`Candidate::id`]).
        id: u64,
        /// First frame it runs.
        sequence: u64,
        /// How long the executor spent swapping.
        pause: Duration,
        /// How the state crossed.
        state: StateCarry,
    },
    /// Frames ran since the candidate's state was synced: it goes back to
    /// catch up (the old module runs on).
    Behind {
        /// The swap ([`Candidate::id`]).
        id: u64,
        /// The candidate.
        candidate: Box<Candidate>,
        /// The last frame the running module ran.
        through: Option<u64>,
    },
    /// The candidate was not installed (its state could not be restored);
    /// the old module runs on.
    Aborted {
        /// The swap ([`Candidate::id`]).
        id: u64,
        /// Why.
        why: String,
        /// The candidate, to drop off the frame path.
        host: ModuleHost,
    },
    /// The watched frames passed: the swap stands.
    Committed {
        /// The swap ([`Candidate::id`]).
        id: u64,
        /// Frames watched.
        frames: u32,
        /// Deadline misses among them.
        misses: u32,
        /// The previous module, to drop.
        previous: ModuleHost,
    },
    /// The new module failed while watched; the previous one runs again
    /// from frame `sequence`.
    RolledBack {
        /// The swap ([`Candidate::id`]).
        id: u64,
        /// Why.
        why: String,
        /// First frame the previous module runs again.
        sequence: u64,
        /// How long the executor spent swapping back.
        pause: Duration,
        /// The failed module, to drop.
        failed: ModuleHost,
    },
}

impl std::fmt::Debug for SwapEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwapEvent::Installed {
                sequence,
                pause,
                state,
                ..
            } => f
                .debug_struct("Installed")
                .field("sequence", sequence)
                .field("pause", pause)
                .field("state", state)
                .finish(),
            SwapEvent::Behind { through, .. } => {
                f.debug_struct("Behind").field("through", through).finish()
            }
            SwapEvent::Aborted { why, .. } => f.debug_struct("Aborted").field("why", why).finish(),
            SwapEvent::Committed { frames, misses, .. } => f
                .debug_struct("Committed")
                .field("frames", frames)
                .field("misses", misses)
                .finish(),
            SwapEvent::RolledBack { why, sequence, .. } => f
                .debug_struct("RolledBack")
                .field("why", why)
                .field("sequence", sequence)
                .finish(),
        }
    }
}

/// A swap outcome as the miss log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRecord {
    /// When, on the pipeline's clock (the executor sets it).
    pub at_ns: i64,
    /// `swap`, `rollback` or `swap_refused`.
    pub reason: &'static str,
    /// The frame from which the module now running runs (`None` for a
    /// refusal).
    pub sequence: Option<u64>,
    /// The module running after this event.
    pub module: ModuleIdentity,
    /// The other module: the one replaced, rolled back or refused.
    pub other: ModuleIdentity,
    /// A sentence: how state crossed, or why.
    pub detail: String,
    /// The swap pause, if the executor swapped.
    pub pause: Option<Duration>,
}

/// The executor's swap bookkeeping.
pub(super) struct SwapState {
    /// The module running.
    pub current: ModuleIdentity,
    /// Its state schema, read once when it went live.
    pub current_schema: Option<i64>,
    /// Where snapshots go: reused, so a swap allocates only when a state
    /// outgrows every earlier one.
    pub state_buf: Vec<u8>,
    pub events: Sender<SwapEvent>,
    pub watch: Option<Watch>,
}

/// A swap under watch.
pub(super) struct Watch {
    pub id: u64,
    pub previous: ModuleHost,
    /// The new host's restarts at the swap: a restart since means its
    /// state was reset, and must not be carried back.
    pub restarts: u64,
    pub previous_id: ModuleIdentity,
    pub previous_schema: Option<i64>,
    /// The state crossed, so it should cross back on a rollback.
    pub carried: bool,
    pub frames_left: u32,
    pub frames: u32,
    pub misses: u32,
    pub rollback_misses: u32,
}
