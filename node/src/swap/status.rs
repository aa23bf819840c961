//! What a swap request came to, and the module status the node reports
//! (`fusion-node module status`, `/diagnostics`).

use std::fmt;

use serde::Serialize;

use super::swapper::SwapRequest;
use crate::pipeline::swap::ModuleIdentity;

/// What asked for a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The module file changed on disk.
    FileChanged,
    /// `fusion-node deploy` over zenoh.
    Deploy,
    /// SIGHUP: the launch file was read again.
    Reload,
    /// A test or an embedding program.
    Api,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new module runs, and passed its watch.
    Swapped,
    /// It went live but failed while watched: the previous one runs again.
    RolledBack,
    /// It never went live.
    Refused,
    /// It is the module already running.
    Unchanged,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Swapped => "swapped",
            Outcome::RolledBack => "rolled_back",
            Outcome::Refused => "refused",
            Outcome::Unchanged => "unchanged",
        })
    }
}

/// The answer to a swap request: the deploy reply, and the status's
/// `last`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwapOutcome {
    /// How it ended.
    pub outcome: Outcome,
    /// Why, for a refusal or a rollback (or a note).
    pub reason: Option<String>,
    /// What asked.
    pub trigger: Trigger,
    /// SHA-256 of the requested module.
    pub module_sha256: String,
    /// Where it came from.
    pub detail: String,
    /// SHA-256 of the module running after the request.
    pub running_sha256: String,
    /// How the tracker state crossed, if it went live.
    pub state: Option<String>,
    /// The first frame it ran.
    pub first_sequence: Option<u64>,
    /// The swap pause on the executor, µs.
    pub pause_us: Option<f64>,
    /// Compiling, initialising and warming up, ms.
    pub prepare_ms: Option<f64>,
    /// Frames run in shadow.
    pub warmup_frames: Option<usize>,
    /// The slowest of them, µs.
    pub warmup_max_step_us: Option<f64>,
    /// Frames watched after the swap.
    pub watched_frames: Option<u32>,
    /// Deadline misses among them.
    pub watched_misses: Option<u32>,
    /// For a rollback: the first frame the previous module ran again.
    pub rollback_sequence: Option<u64>,
    /// For a rollback: the pause swapping back, µs.
    pub rollback_pause_us: Option<f64>,
    /// The release version its signature names (0: an unversioned
    /// signature; none: unsigned).
    pub signed_version: Option<u64>,
}

impl SwapOutcome {
    /// An outcome with only the identities filled in (outcome `refused`).
    pub(super) fn blank(
        trigger: Trigger,
        detail: String,
        module_sha256: String,
        running: &str,
    ) -> Self {
        SwapOutcome {
            outcome: Outcome::Refused,
            reason: None,
            trigger,
            module_sha256,
            detail,
            running_sha256: running.to_owned(),
            state: None,
            first_sequence: None,
            pause_us: None,
            prepare_ms: None,
            warmup_frames: None,
            warmup_max_step_us: None,
            watched_frames: None,
            watched_misses: None,
            rollback_sequence: None,
            rollback_pause_us: None,
            signed_version: None,
        }
    }

    /// [`SwapOutcome::blank`] for `request`.
    pub(super) fn new(request: &SwapRequest, module_sha256: String, running: &str) -> Self {
        Self::blank(
            request.trigger,
            request.detail.clone(),
            module_sha256,
            running,
        )
    }

    /// A refusal for `why`.
    pub(super) fn refused(
        request: &SwapRequest,
        module_sha256: String,
        running: &str,
        why: String,
    ) -> Self {
        SwapOutcome {
            reason: Some(why),
            ..SwapOutcome::new(request, module_sha256, running)
        }
    }
}

/// A module as the status names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleEntry {
    /// SHA-256, hex.
    pub sha256: String,
    /// Its path, `builtin:reference` or `deploy`.
    pub detail: String,
    /// When it went live, ns since the Unix epoch.
    pub since_unix_ns: i64,
}

impl ModuleEntry {
    /// `module`, live since `now_ns`.
    fn of(module: ModuleIdentity, now_ns: i64) -> Self {
        ModuleEntry {
            sha256: module.sha256,
            detail: module.detail,
            since_unix_ns: now_ns,
        }
    }

    /// Its identity, as logs name it.
    pub fn identity(&self) -> ModuleIdentity {
        ModuleIdentity {
            sha256: self.sha256.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// The node's module status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleStatus {
    /// The module running.
    pub current: ModuleEntry,
    /// The one before it, if there was a swap.
    pub previous: Option<ModuleEntry>,
    /// Swaps that went live (rolled back ones included).
    pub swaps: u64,
    /// Of those, rolled back.
    pub rollbacks: u64,
    /// Requests refused before going live.
    pub refused: u64,
    /// The last request's outcome.
    pub last: Option<SwapOutcome>,
    /// The oldest signed release a swap may bring: the highest release
    /// running since the start (0 before any).
    pub release_floor: u64,
}

impl ModuleStatus {
    /// The status of a node that started with `module`.
    pub fn new(module: ModuleIdentity, now_ns: i64) -> Self {
        ModuleStatus {
            current: ModuleEntry::of(module, now_ns),
            previous: None,
            swaps: 0,
            rollbacks: 0,
            refused: 0,
            last: None,
            release_floor: 0,
        }
    }

    /// A module went live.
    pub(super) fn installed(&mut self, module: ModuleIdentity, now_ns: i64) {
        let current = ModuleEntry::of(module, now_ns);
        self.previous = Some(std::mem::replace(&mut self.current, current));
        self.swaps += 1;
    }

    /// The module that went live was rolled back: the previous one runs.
    pub(super) fn rolled_back(&mut self, now_ns: i64) {
        if let Some(mut previous) = self.previous.take() {
            previous.since_unix_ns = now_ns;
            self.previous = Some(std::mem::replace(&mut self.current, previous));
        }
        self.rollbacks += 1;
    }

    /// A request ended.
    pub(super) fn record(&mut self, outcome: &SwapOutcome) {
        if outcome.outcome == Outcome::Refused {
            self.refused += 1;
        }
        self.last = Some(outcome.clone());
    }
}
