//! The swapper thread: takes [`SwapRequest`]s one at a time, prepares the
//! new module off the frame path, hands it to the executor and reports
//! the outcome.
//!
//! A request goes through, in order, and stops at the first refusal:
//! 1. the same bytes as the running module: `unchanged`;
//! 2. the signature, when the launch file requires one (or one came);
//! 3. validation and compilation (imports, exports, ABI version, limits);
//! 4. `fusion_init` with the launch file's module configuration;
//! 5. the warm-up: the executor's recent frames run in shadow, each within
//!    the budget and each output a decodable `TrackedObjects`;
//! 6. when both modules declare the same state schema, a trial restore of
//!    the running module's state;
//! 7. the swap, between two frames ([`crate::pipeline::swap`]), then the
//!    watch: the executor rolls back by itself on a failure or repeated
//!    deadline misses.
//!
//! Hosts the executor hands back (the replaced one after the watch, or a
//! failed candidate) are dropped here, so unmapping a module's memory
//! never costs a frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrayvec::ArrayVec;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use fusion_abi::frame::{SlotInput, frame_len, write_frame};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use sha2::{Digest, Sha256};

use super::status::{ModuleStatus, Outcome, SwapOutcome, Trigger};
use super::verify::{SignaturePolicy, check_signature};
use crate::align::MAX_SENSORS;
use crate::host::{HostEngine, Limits, ModuleHost};
use crate::pipeline::SwapPort;
use crate::pipeline::swap::{
    Candidate, ModuleIdentity, Recent, RecentRequest, STATE_CALL_DEADLINE, ShadowFrame,
    SwapCommand, SwapEvent, SwapRecord,
};

/// How long the swapper waits for the executor to answer a request for
/// its recent frames (it answers between frames, or every 50 ms idle).
const RECENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the swapper waits for a watch to end before it replies that
/// the module is still under watch (the watch goes on).
const WATCH_REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a waiting swapper looks whether the node stops.
const POLL: Duration = Duration::from_millis(100);

/// Requests waiting for the swapper; more are refused as busy.
pub const REQUEST_QUEUE_LEN: usize = 4;

/// A module to swap in.
#[derive(Debug)]
pub struct SwapRequest {
    /// The module's bytes (`.wasm`).
    pub bytes: Vec<u8>,
    /// Its ed25519 signature, if one came with it.
    pub signature: Option<Vec<u8>>,
    /// What asked for it.
    pub trigger: Trigger,
    /// Where it came from, for logs (a path, or `deploy`).
    pub detail: String,
    /// The module configuration for `fusion_init` (the launch file's, or
    /// a re-read launch file's).
    pub config: Arc<Vec<u8>>,
    /// Where the outcome goes.
    pub reply: Option<Sender<SwapOutcome>>,
}

/// What the swapper needs besides the executor's port.
#[derive(Debug, Clone)]
pub struct SwapperConfig {
    /// The engine new modules compile for (the running one's).
    pub engine: HostEngine,
    /// Limits of new modules (the launch file's).
    pub limits: Limits,
    /// Frames watched after a swap.
    pub watch_frames: u32,
    /// Deadline misses in the watched frames that roll a swap back.
    pub rollback_misses: u32,
    /// Who may sign modules.
    pub signatures: SignaturePolicy,
}

/// The swapper thread. Dropping it (or [`Swapper::stop`]) stops taking
/// requests and waits for the one in progress.
#[derive(Debug)]
pub struct Swapper {
    handle: Option<SwapHandle>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Where requests go and the status comes from; cheap to clone, for the
/// admin queryables, the file watcher and SIGHUP.
#[derive(Debug, Clone)]
pub struct SwapHandle {
    requests: Sender<SwapRequest>,
    status: Arc<Mutex<ModuleStatus>>,
    /// The module configuration new modules get (a reload may change it).
    config: Arc<Mutex<Arc<Vec<u8>>>>,
}

impl Swapper {
    /// Starts the thread on the executor's `port`; `module_config` is
    /// what `fusion_init` of new modules gets.
    pub fn start(
        config: SwapperConfig,
        port: SwapPort,
        module_config: Vec<u8>,
    ) -> std::io::Result<Swapper> {
        let (requests, queue) = crossbeam_channel::bounded(REQUEST_QUEUE_LEN);
        let status = Arc::new(Mutex::new(ModuleStatus::new(
            port.initial.clone(),
            now_ns(),
        )));
        let stop = Arc::new(AtomicBool::new(false));
        let module_config = Arc::new(module_config);
        let worker = Worker {
            config,
            current_config: Arc::clone(&module_config),
            port,
            status: Arc::clone(&status),
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("fusion-swapper".into())
            .spawn(move || worker.run(&queue))?;
        Ok(Swapper {
            handle: Some(SwapHandle {
                requests,
                status,
                config: Arc::new(Mutex::new(module_config)),
            }),
            stop,
            thread: Some(thread),
        })
    }

    /// A handle for triggers.
    pub fn handle(&self) -> SwapHandle {
        self.handle
            .clone()
            .expect("a running swapper has its handle")
    }

    /// Stops taking requests (once every handle is gone) and waits for
    /// the one in progress.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.handle = None;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.shut();
    }
}

impl SwapHandle {
    /// Queues a request for `bytes`, with the current module configuration;
    /// the outcome goes to `reply`. A full queue refuses it at once.
    pub fn request(
        &self,
        bytes: Vec<u8>,
        signature: Option<Vec<u8>>,
        trigger: Trigger,
        detail: String,
        reply: Option<Sender<SwapOutcome>>,
    ) {
        let request = SwapRequest {
            bytes,
            signature,
            trigger,
            detail,
            config: Arc::clone(&lock(&self.config)),
            reply,
        };
        if let Err(e) = self.requests.try_send(request) {
            let request = e.into_inner();
            let outcome = SwapOutcome::refused(
                &request,
                sha256_hex(&request.bytes),
                &self.status().current.sha256,
                "the swapper is busy with earlier requests, or stopping; try again".into(),
            );
            if let Some(reply) = request.reply {
                let _ = reply.send(outcome);
            }
        }
    }

    /// [`SwapHandle::request`], waiting up to `timeout` for the outcome.
    pub fn swap(
        &self,
        bytes: Vec<u8>,
        signature: Option<Vec<u8>>,
        trigger: Trigger,
        detail: String,
        timeout: Duration,
    ) -> Option<SwapOutcome> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.request(bytes, signature, trigger, detail, Some(tx));
        rx.recv_timeout(timeout).ok()
    }

    /// Replaces the module configuration later requests get.
    pub fn set_module_config(&self, config: Vec<u8>) {
        *lock(&self.config) = Arc::new(config);
    }

    /// The module status now.
    pub fn status(&self) -> ModuleStatus {
        lock(&self.status).clone()
    }
}

struct Worker {
    config: SwapperConfig,
    /// The configuration the running module was initialised with.
    current_config: Arc<Vec<u8>>,
    port: SwapPort,
    status: Arc<Mutex<ModuleStatus>>,
    /// Set when the node stops: requests still queued are refused.
    stop: Arc<AtomicBool>,
}

/// A refusal: why, and the warm-up so far.
type Refusal = String;

impl Worker {
    fn run(mut self, queue: &Receiver<SwapRequest>) {
        loop {
            let request = match queue.recv_timeout(POLL) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) if !self.stopping() => continue,
                Err(_) => break,
            };
            let outcome = if self.stopping() {
                let current = self.current();
                SwapOutcome::refused(
                    &request,
                    sha256_hex(&request.bytes),
                    &current.sha256,
                    "the node is stopping".into(),
                )
            } else {
                self.handle(&request)
            };
            tracing::info!(
                outcome = %outcome.outcome,
                module = %outcome.module_sha256,
                reason = outcome.reason.as_deref().unwrap_or(""),
                "hot swap"
            );
            lock(&self.status).record(&outcome);
            if let Some(reply) = request.reply {
                let _ = reply.send(outcome);
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn current(&self) -> ModuleIdentity {
        let status = lock(&self.status);
        ModuleIdentity {
            sha256: status.current.sha256.clone(),
            detail: status.current.detail.clone(),
        }
    }

    fn handle(&mut self, request: &SwapRequest) -> SwapOutcome {
        let digest: [u8; 32] = Sha256::digest(&request.bytes).into();
        let sha256 = crate::host::hex(&digest);
        let current = self.current();
        if sha256 == current.sha256 && request.config == self.current_config {
            return SwapOutcome {
                outcome: Outcome::Unchanged,
                ..SwapOutcome::new(request, sha256, &current.sha256)
            };
        }
        let identity = ModuleIdentity {
            sha256: sha256.clone(),
            detail: request.detail.clone(),
        };
        let started = Instant::now();
        let prepared = self.prepare(request, &digest);
        let prepare_time = started.elapsed();
        let (candidate, warmup) = match prepared {
            Ok(ready) => ready,
            Err(why) => {
                let _ = self
                    .port
                    .commands
                    .send(SwapCommand::Log(Box::new(SwapRecord {
                        reason: "swap_refused",
                        sequence: None,
                        module: current.clone(),
                        other: identity,
                        detail: why.clone(),
                        pause: None,
                    })));
                return SwapOutcome::refused(request, sha256, &current.sha256, why);
            }
        };
        let candidate = Box::new(Candidate {
            host: candidate.host,
            module: identity.clone(),
            carry_schema: candidate.carry_schema,
            synced_through: candidate.synced_through,
            attempts: 0,
            watch_frames: self.config.watch_frames,
            rollback_misses: self.config.rollback_misses,
        });
        if self
            .port
            .commands
            .send(SwapCommand::Install(candidate))
            .is_err()
        {
            return SwapOutcome::refused(
                request,
                sha256,
                &current.sha256,
                "the node is stopping".into(),
            );
        }
        let mut outcome = SwapOutcome::new(request, sha256, &current.sha256);
        outcome.prepare_ms = Some(prepare_time.as_secs_f64() * 1e3);
        outcome.warmup_frames = Some(warmup.frames);
        outcome.warmup_max_step_us = Some(warmup.max_step.as_secs_f64() * 1e6);
        self.await_watch(&mut outcome, &identity);
        if outcome.outcome == Outcome::Swapped {
            self.current_config = Arc::clone(&request.config);
        }
        outcome
    }

    /// Follows the executor's events until the swap stands or fell.
    fn await_watch(&mut self, outcome: &mut SwapOutcome, identity: &ModuleIdentity) {
        let deadline = Instant::now() + WATCH_REPLY_TIMEOUT;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now()).min(POLL);
            let event = match self.port.events.recv_timeout(wait) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) if self.stopping() => {
                    outcome.outcome = Outcome::Swapped;
                    outcome.reason = Some("the node stopped while the module was watched".into());
                    return;
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => continue,
                Err(RecvTimeoutError::Timeout) => {
                    outcome.outcome = Outcome::Swapped;
                    outcome.reason = Some("still under watch: too few frames so far".into());
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    outcome.outcome = Outcome::Refused;
                    outcome.reason = Some("the node stopped".into());
                    return;
                }
            };
            match event {
                SwapEvent::Behind {
                    mut candidate,
                    through: _,
                } => {
                    if let Err(why) = self.catch_up(&mut candidate) {
                        outcome.outcome = Outcome::Refused;
                        outcome.reason = Some(why);
                        return;
                    }
                    if self
                        .port
                        .commands
                        .send(SwapCommand::Install(candidate))
                        .is_err()
                    {
                        outcome.reason = Some("the node is stopping".into());
                        return;
                    }
                }
                SwapEvent::Installed {
                    sequence,
                    pause,
                    state,
                } => {
                    outcome.first_sequence = Some(sequence);
                    outcome.pause_us = Some(pause.as_secs_f64() * 1e6);
                    outcome.state = Some(state.to_string());
                    lock(&self.status).installed(identity.clone(), now_ns());
                }
                SwapEvent::Aborted { why, host } => {
                    drop(host);
                    outcome.outcome = Outcome::Refused;
                    outcome.reason = Some(why);
                    return;
                }
                SwapEvent::Committed {
                    frames,
                    misses,
                    previous,
                } => {
                    drop(previous);
                    outcome.outcome = Outcome::Swapped;
                    outcome.watched_frames = Some(frames);
                    outcome.watched_misses = Some(misses);
                    outcome.running_sha256 = identity.sha256.clone();
                    return;
                }
                SwapEvent::RolledBack {
                    why,
                    sequence,
                    pause,
                    failed,
                } => {
                    drop(failed);
                    outcome.outcome = Outcome::RolledBack;
                    outcome.reason = Some(why);
                    outcome.rollback_sequence = Some(sequence);
                    outcome.rollback_pause_us = Some(pause.as_secs_f64() * 1e6);
                    lock(&self.status).rolled_back(now_ns());
                    return;
                }
            }
        }
    }

    /// Steps 2 to 6: a module ready to go live, or why not.
    fn prepare(
        &mut self,
        request: &SwapRequest,
        digest: &[u8; 32],
    ) -> Result<(Prepared, Warmup), Refusal> {
        check_signature(
            &self.config.signatures,
            digest,
            request.signature.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        if !request.bytes.starts_with(b"\0asm") {
            return Err("not a WebAssembly module (no \\0asm magic): deploy the .wasm".into());
        }
        let engine = &self.config.engine;
        let source = crate::launch::ModuleSource::File(request.detail.clone().into());
        let mut host = crate::node::from_wasm(engine, &source, &request.bytes, self.config.limits)
            .map_err(|e| format!("refused: {e}"))?;
        host.init(&request.config)
            .map_err(|e| format!("fusion_init failed: {e}"))?;
        let recent = self.recent(None, true)?;
        let warmup = warm_up(&mut host, &recent.frames, self.config.limits.step_deadline)?;
        let new_schema = host.state_schema(STATE_CALL_DEADLINE);
        let synced_through = if new_schema.is_some() && new_schema == recent.schema {
            sync(&mut host, &recent)?
        } else {
            None
        };
        Ok((
            Prepared {
                host,
                carry_schema: new_schema,
                synced_through,
            },
            warmup,
        ))
    }

    /// Frames after `after` (all kept frames if `None`) and, if asked, the
    /// running module's state.
    fn recent(&self, after: Option<u64>, with_state: bool) -> Result<Recent, Refusal> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.port
            .commands
            .send(SwapCommand::Recent(RecentRequest {
                after,
                with_state,
                reply,
            }))
            .map_err(|_| "the node is stopping".to_owned())?;
        rx.recv_timeout(RECENT_TIMEOUT)
            .map_err(|_| "the fusion executor did not answer (stopping or stalled)".to_owned())
    }

    /// Brings a candidate the executor sent back up to the frame it ran
    /// last: the frames since its state was synced, in shadow, or (when
    /// the executor no longer keeps them all) the running module's state
    /// again.
    fn catch_up(&self, candidate: &mut Candidate) -> Result<(), Refusal> {
        let recent = self.recent(candidate.synced_through, false)?;
        if !recent.complete || candidate.synced_through.is_none() {
            let fresh = self.recent(Some(u64::MAX), true)?;
            candidate.synced_through = sync(&mut candidate.host, &fresh)?;
            return Ok(());
        }
        let budget = self.config.limits.step_deadline;
        for frame in &recent.frames {
            match run_shadow(&mut candidate.host, frame, budget) {
                Ok(_) => candidate.synced_through = Some(frame.header.sequence),
                // Preempted, the instance restarted without its state:
                // take the running module's state again.
                Err(Shadow::OverBudget(_)) => {
                    let fresh = self.recent(Some(u64::MAX), true)?;
                    candidate.synced_through = sync(&mut candidate.host, &fresh)?;
                    return Ok(());
                }
                Err(Shadow::Failed(why)) => {
                    return Err(format!(
                        "catching up on frame {}: {why}",
                        frame.header.sequence
                    ));
                }
            }
        }
        Ok(())
    }
}

struct Prepared {
    host: ModuleHost,
    carry_schema: Option<i64>,
    /// The running module's state is in `host` as of this frame.
    synced_through: Option<u64>,
}

/// Restores the running module's state from `recent` into `host` (when
/// it has one): `host` is then as the running module after the frame
/// returned.
fn sync(host: &mut ModuleHost, recent: &Recent) -> Result<Option<u64>, Refusal> {
    if recent.state.is_empty() {
        return Ok(None);
    }
    host.restore(&recent.state, STATE_CALL_DEADLINE)
        .map_err(|e| format!("cannot take the running module's tracker state: {e}"))?;
    Ok(recent.through)
}

/// What the warm-up measured.
#[derive(Debug, Clone, Copy, Default)]
struct Warmup {
    frames: usize,
    max_step: Duration,
}

/// Runs `frames` through `host` in shadow: each step must finish within
/// `budget` and return a decodable `TrackedObjects`. With no recent frames
/// (no traffic yet) one empty frame checks that the module steps at all.
fn warm_up(
    host: &mut ModuleHost,
    frames: &[ShadowFrame],
    budget: Duration,
) -> Result<Warmup, Refusal> {
    let empty = [ShadowFrame {
        header: fusion_abi::frame::FrameHeader {
            sequence: 0,
            trigger_stamp_ns: 0,
            missing_sensors: 0,
            flags: 0,
        },
        slots: Vec::new(),
    }];
    let frames = if frames.is_empty() {
        &empty[..]
    } else {
        frames
    };
    // A step over the budget may be this thread losing the CPU, not the
    // module being slow: one in eight may miss. A trap or a bad output
    // refuses the module at once.
    let allowed = frames.len() / 8;
    let mut warmup = Warmup::default();
    let mut misses = 0;
    for (i, frame) in frames.iter().enumerate() {
        let where_ = || format!("warm-up frame {} of {}", i + 1, frames.len());
        match run_shadow(host, frame, budget) {
            Ok(step) => warmup.max_step = warmup.max_step.max(step),
            Err(Shadow::OverBudget(why)) if misses < allowed => {
                misses += 1;
                tracing::debug!(frame = i + 1, %why, "warm-up frame over budget (tolerated)");
            }
            Err(Shadow::OverBudget(why) | Shadow::Failed(why)) => {
                return Err(format!("{}: {why}", where_()));
            }
        }
        warmup.frames = i + 1;
    }
    Ok(warmup)
}

/// Why a shadow step failed.
enum Shadow {
    /// It ran past the budget (and was preempted, or finished late).
    OverBudget(String),
    /// It trapped, returned an error or an output that does not decode.
    Failed(String),
}

/// Runs one frame in shadow: the step must finish within `budget` and
/// return a decodable `TrackedObjects`. Returns the step's time.
fn run_shadow(
    host: &mut ModuleHost,
    frame: &ShadowFrame,
    budget: Duration,
) -> Result<Duration, Shadow> {
    let payloads: Vec<std::borrow::Cow<'_, [u8]>> =
        frame.slots.iter().map(|s| s.payload.to_bytes()).collect();
    let mut inputs: ArrayVec<SlotInput<'_>, MAX_SENSORS> = ArrayVec::new();
    for (slot, payload) in frame.slots.iter().zip(&payloads) {
        inputs.push(SlotInput {
            sensor_index: slot.sensor_index,
            kind: slot.kind,
            stamp_ns: slot.stamp_ns,
            payload,
        });
    }
    let len = frame_len(inputs.iter().map(|s| s.payload.len()));
    let stepped = host
        .run_step_within(budget, len, |dst| {
            let _ = write_frame(dst, &frame.header, &inputs);
        })
        .map_err(|miss| {
            let why = format!("{} ({})", miss.reason, miss.error);
            match miss.reason {
                crate::host::MissReason::Deadline => Shadow::OverBudget(why),
                _ => Shadow::Failed(why),
            }
        })?;
    let elapsed = stepped.elapsed;
    if elapsed > budget {
        return Err(Shadow::OverBudget(format!(
            "the step took {:.2} ms, over the {:.2} ms budget",
            elapsed.as_secs_f64() * 1e3,
            budget.as_secs_f64() * 1e3
        )));
    }
    // The output lives in the module's memory; decoding reads it in place.
    fusion_msgs::decode::<TrackedObjects>(stepped.output)
        .map_err(|e| Shadow::Failed(format!("the output is not a TrackedObjects: {e}")))?;
    Ok(elapsed)
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::host::hex(&Sha256::digest(bytes))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
