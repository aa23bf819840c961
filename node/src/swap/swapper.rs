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
    Candidate, ModuleIdentity, Recent, RecentRequest, ShadowFrame, SwapCommand, SwapEvent,
    SwapRecord,
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
    /// The rules a swap is held to (SIGHUP may change them).
    pub rules: SwapRules,
    /// The release version of the signed module the node starts with (0
    /// if none): a swap may not go below it.
    pub running_version: u64,
}

/// The rules a swap is held to, from `[module.swap]`; each request takes
/// the rules of the moment it starts ([`SwapHandle::set_rules`]).
#[derive(Debug, Clone, Default)]
pub struct SwapRules {
    /// Frames watched after a swap.
    pub watch_frames: u32,
    /// Deadline misses in the watched frames that roll a swap back.
    pub rollback_misses: u32,
    /// Who may sign modules, and the oldest release taken.
    pub signatures: SignaturePolicy,
}

impl SwapRules {
    /// The rules of a launch file's `[module.swap]`.
    pub fn of(policy: &crate::launch::SwapPolicy) -> Self {
        SwapRules {
            watch_frames: policy.watch_frames,
            rollback_misses: policy.rollback_misses,
            signatures: SignaturePolicy {
                required: policy.require_signed,
                trusted: policy.trusted_keys.clone(),
                min_version: policy.min_version,
            },
        }
    }
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
    /// The worker's rules.
    rules: Arc<Mutex<SwapRules>>,
    /// The running module's configuration, which requests get unless they
    /// bring their own (the worker's `running_config`).
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
        let status = Arc::new(Mutex::new(ModuleStatus {
            release_floor: config.running_version,
            ..ModuleStatus::new(port.initial.clone(), now_ns())
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let running_config = Arc::new(Mutex::new(Arc::new(module_config)));
        let rules = Arc::new(Mutex::new(config.rules.clone()));
        let running_version = config.running_version;
        let worker = Worker {
            config,
            rules: Arc::clone(&rules),
            running_config: Arc::clone(&running_config),
            next_id: 0,
            watching: None,
            running_version,
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
                rules,
                config: running_config,
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
    /// Holds the requests that start from now on to `rules`.
    pub fn set_rules(&self, rules: SwapRules) {
        *lock(&self.rules) = rules;
    }

    /// Queues a request for `bytes`, with the running module's
    /// configuration; the outcome goes to `reply`. A full queue refuses it
    /// at once (returns false).
    pub fn request(
        &self,
        bytes: Vec<u8>,
        signature: Option<Vec<u8>>,
        trigger: Trigger,
        detail: String,
        reply: Option<Sender<SwapOutcome>>,
    ) -> bool {
        self.request_configured(bytes, signature, trigger, detail, None, reply)
    }

    /// [`SwapHandle::request`] with another module configuration (a
    /// reloaded launch file's), which later requests get once this one's
    /// module went live.
    pub fn request_configured(
        &self,
        bytes: Vec<u8>,
        signature: Option<Vec<u8>>,
        trigger: Trigger,
        detail: String,
        config: Option<Vec<u8>>,
        reply: Option<Sender<SwapOutcome>>,
    ) -> bool {
        let request = SwapRequest {
            bytes,
            signature,
            trigger,
            detail,
            config: config.map_or_else(|| Arc::clone(&lock(&self.config)), Arc::new),
            reply,
        };
        let Err(e) = self.requests.try_send(request) else {
            return true;
        };
        let request = e.into_inner();
        let why = "the swapper is busy with earlier requests, or stopping; try again";
        let outcome = SwapOutcome::refused(
            &request,
            sha256_hex(&request.bytes),
            &self.status().current.sha256,
            why.into(),
        );
        tracing::warn!(trigger = ?request.trigger, module = %request.detail, "hot swap refused: {why}");
        lock(&self.status).record(&outcome);
        if let Some(reply) = request.reply {
            let _ = reply.send(outcome);
        }
        false
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

    /// The module status now.
    pub fn status(&self) -> ModuleStatus {
        lock(&self.status).clone()
    }
}

struct Worker {
    config: SwapperConfig,
    /// The rules now (shared with the handle; `config.rules` is the first).
    rules: Arc<Mutex<SwapRules>>,
    /// The configuration the running module was initialised with, which
    /// requests get unless they bring their own (shared with the handle).
    /// It changes only once a swap went live: a refused reload changes
    /// nothing.
    running_config: Arc<Mutex<Arc<Vec<u8>>>>,
    port: SwapPort,
    status: Arc<Mutex<ModuleStatus>>,
    /// Set when the node stops: requests still queued are refused.
    stop: Arc<AtomicBool>,
    /// The id of the next swap.
    next_id: u64,
    /// A swap whose reply went out before its watch ended.
    watching: Option<Watching>,
    /// The release version of the signed module running (0 before any):
    /// an older release is refused.
    running_version: u64,
}

/// A swap still watched after its reply.
struct Watching {
    id: u64,
    config: Arc<Vec<u8>>,
    version: Option<u64>,
}

/// A refusal: why.
type Refusal = String;

impl Worker {
    fn run(mut self, queue: &Receiver<SwapRequest>) {
        loop {
            let request = match queue.recv_timeout(POLL) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => {
                    self.drain_events();
                    if self.stopping() {
                        break;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            self.drain_events();
            let refuse = |why: &str| {
                let current = self.current();
                SwapOutcome::refused(
                    &request,
                    sha256_hex(&request.bytes),
                    &current.sha256,
                    why.into(),
                )
            };
            let outcome = if self.stopping() {
                refuse("the node is stopping")
            } else if self.watching.is_some() {
                refuse("the previous swap is still being watched (are frames arriving?)")
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
        self.drain_events();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn current(&self) -> ModuleIdentity {
        lock(&self.status).current.identity()
    }

    /// A swap went live for good: its configuration (and its release
    /// version, if signed) is the running one.
    fn committed(&mut self, config: &Arc<Vec<u8>>, version: Option<u64>) {
        *lock(&self.running_config) = Arc::clone(config);
        if let Some(version) = version {
            self.running_version = self.running_version.max(version);
            lock(&self.status).release_floor = self.running_version;
        }
    }

    /// Events that came after their swap's reply: the end of a watch the
    /// reply did not wait for, and hosts to drop.
    fn drain_events(&mut self) {
        while let Ok(event) = self.port.events.try_recv() {
            let watched = self.watching.as_ref().map(|w| w.id);
            match event {
                SwapEvent::Committed { id, previous, .. } if Some(id) == watched => {
                    drop(previous);
                    if let Some(w) = self.watching.take() {
                        self.committed(&w.config, w.version);
                    }
                }
                SwapEvent::RolledBack {
                    id, why, failed, ..
                } if Some(id) == watched => {
                    drop(failed);
                    self.watching = None;
                    let mut status = lock(&self.status);
                    status.rolled_back(now_ns());
                    if let Some(last) = &mut status.last {
                        last.outcome = Outcome::RolledBack;
                        last.reason = Some(why);
                    }
                }
                // The reply went out before it went live, and it never will:
                // the old module runs on, and the next request may start.
                SwapEvent::Behind { id, candidate, .. } if Some(id) == watched => {
                    drop(candidate);
                    self.not_installed(
                        "it fell behind the running module after the reply went out",
                    );
                }
                SwapEvent::Aborted { id, why, host } if Some(id) == watched => {
                    drop(host);
                    self.not_installed(&why);
                }
                // Anything else belongs to a swap already answered: only its
                // host, if it carries one, is dropped here.
                other => drop(other),
            }
        }
    }

    /// The watched swap did not go live after all.
    fn not_installed(&mut self, why: &str) {
        self.watching = None;
        if let Some(last) = &mut lock(&self.status).last {
            last.outcome = Outcome::Refused;
            last.reason = Some(format!("not installed: {why}"));
        }
    }

    fn handle(&mut self, request: &SwapRequest) -> SwapOutcome {
        // One set of rules for the whole request.
        let rules = lock(&self.rules).clone();
        let digest: [u8; 32] = Sha256::digest(&request.bytes).into();
        let sha256 = crate::host::hex(&digest);
        let current = self.current();
        if sha256 == current.sha256 && request.config == *lock(&self.running_config) {
            // The module running, signed again as a later release, raises
            // the floor: its older releases are refused from now on. A
            // signature that does not verify changes nothing.
            let signed_version = request.signature.as_deref().and_then(|signature| {
                check_signature(
                    &rules.signatures,
                    &digest,
                    Some(signature),
                    self.running_version,
                )
                .ok()
                .flatten()
            });
            if let Some(version) = signed_version {
                let config = Arc::clone(&request.config);
                self.committed(&config, Some(version));
            }
            return SwapOutcome {
                outcome: Outcome::Unchanged,
                signed_version,
                ..SwapOutcome::new(request, sha256, &current.sha256)
            };
        }
        let identity = ModuleIdentity {
            sha256: sha256.clone(),
            detail: request.detail.clone(),
        };
        let started = Instant::now();
        let prepared = self.prepare(request, &digest, &rules);
        let prepare_time = started.elapsed();
        let (prepared, warmup) = match prepared {
            Ok(ready) => ready,
            Err(why) => {
                self.log_refusal(&current, identity, &why);
                return SwapOutcome::refused(request, sha256, &current.sha256, why);
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let version = prepared.version;
        let candidate = Box::new(Candidate {
            host: prepared.host,
            module: identity.clone(),
            carry_schema: prepared.carry_schema,
            id,
            synced: prepared.synced,
            attempts: 0,
            watch_frames: rules.watch_frames,
            rollback_misses: rules.rollback_misses,
        });
        let mut outcome = SwapOutcome::new(request, sha256, &current.sha256);
        if !self.install(candidate, &mut outcome) {
            return outcome;
        }
        outcome.prepare_ms = Some(prepare_time.as_secs_f64() * 1e3);
        outcome.warmup_frames = Some(warmup.frames);
        outcome.warmup_max_step_us = Some(warmup.max_step.as_secs_f64() * 1e6);
        outcome.signed_version = version;
        self.await_watch(id, &mut outcome, &identity, &request.config, version);
        outcome
    }

    /// Hands `candidate` to the executor; false (and the reason in
    /// `outcome`) when the node is stopping.
    fn install(&self, candidate: Box<Candidate>, outcome: &mut SwapOutcome) -> bool {
        let sent = self
            .port
            .commands
            .send(SwapCommand::Install(candidate))
            .is_ok();
        if !sent {
            outcome.reason = Some("the node is stopping".into());
        }
        sent
    }

    /// A refusal decided here, for the miss log (written by the executor,
    /// in order with the frames).
    fn log_refusal(&self, current: &ModuleIdentity, other: ModuleIdentity, why: &str) {
        let _ = self
            .port
            .commands
            .send(SwapCommand::Log(Box::new(SwapRecord {
                at_ns: 0,
                reason: "swap_refused",
                sequence: None,
                module: current.clone(),
                other,
                detail: why.to_owned(),
                pause: None,
            })));
    }

    /// Follows the executor's events for swap `id` until it stands or
    /// fell, or the reply cannot wait longer (the watch then goes on, and
    /// its end is taken in [`Worker::drain_events`]).
    fn await_watch(
        &mut self,
        id: u64,
        outcome: &mut SwapOutcome,
        identity: &ModuleIdentity,
        config: &Arc<Vec<u8>>,
        version: Option<u64>,
    ) {
        let deadline = Instant::now() + WATCH_REPLY_TIMEOUT;
        let mut installed = false;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now()).min(POLL);
            let event = match self.port.events.recv_timeout(wait) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) if !self.stopping() && Instant::now() < deadline => {
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {
                    let why = if self.stopping() {
                        "the node stopped before the watch ended"
                    } else {
                        "still being watched: too few frames so far"
                    };
                    outcome.reason = Some(why.into());
                    if installed {
                        outcome.outcome = Outcome::Swapped;
                        outcome.running_sha256 = identity.sha256.clone();
                    }
                    self.watching = Some(Watching {
                        id,
                        config: Arc::clone(config),
                        version,
                    });
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    outcome.reason = Some("the node stopped".into());
                    return;
                }
            };
            match event {
                SwapEvent::Behind {
                    id: event_id,
                    mut candidate,
                    through: _,
                } if event_id == id => {
                    if let Err(why) = self.catch_up(&mut candidate) {
                        self.log_refusal(&self.current(), identity.clone(), &why);
                        outcome.reason = Some(why);
                        return;
                    }
                    if !self.install(candidate, outcome) {
                        return;
                    }
                }
                SwapEvent::Installed {
                    id: event_id,
                    sequence,
                    pause,
                    state,
                } if event_id == id => {
                    installed = true;
                    outcome.first_sequence = Some(sequence);
                    outcome.pause_us = Some(pause.as_secs_f64() * 1e6);
                    outcome.state = Some(state.to_string());
                    lock(&self.status).installed(identity.clone(), now_ns());
                }
                SwapEvent::Aborted {
                    id: event_id,
                    why,
                    host,
                } if event_id == id => {
                    drop(host);
                    outcome.reason = Some(why);
                    return;
                }
                SwapEvent::Committed {
                    id: event_id,
                    frames,
                    misses,
                    previous,
                } if event_id == id => {
                    drop(previous);
                    self.committed(config, version);
                    outcome.outcome = Outcome::Swapped;
                    outcome.watched_frames = Some(frames);
                    outcome.watched_misses = Some(misses);
                    outcome.running_sha256 = identity.sha256.clone();
                    return;
                }
                SwapEvent::RolledBack {
                    id: event_id,
                    why,
                    sequence,
                    pause,
                    failed,
                } if event_id == id => {
                    drop(failed);
                    outcome.outcome = Outcome::RolledBack;
                    outcome.reason = Some(why);
                    outcome.rollback_sequence = Some(sequence);
                    outcome.rollback_pause_us = Some(pause.as_secs_f64() * 1e6);
                    lock(&self.status).rolled_back(now_ns());
                    return;
                }
                // Another swap's late event: drop its host here.
                other => drop(other),
            }
        }
    }

    /// Steps 2 to 6: a module ready to go live, or why not.
    fn prepare(
        &mut self,
        request: &SwapRequest,
        digest: &[u8; 32],
        rules: &SwapRules,
    ) -> Result<(Prepared, Warmup), Refusal> {
        let version = check_signature(
            &rules.signatures,
            digest,
            request.signature.as_deref(),
            self.running_version,
        )
        .map_err(|e| e.to_string())?;
        let mut host = self.load(request)?;
        host.init(&request.config)
            .map_err(|e| format!("fusion_init failed: {e}"))?;
        let schema = host.state_schema(self.config.limits.init_deadline);
        let recent = self.recent(None, schema)?;
        let warmup = warm_up(&mut host, &recent.frames, self.config.limits.step_deadline)?;
        let synced = self.sync(&mut host, &recent)?;
        if synced.is_none() {
            // Going live without the running module's state: as fresh as
            // `fusion_init` left it, not with the warm-up's frames in it.
            host.reinstantiate()
                .and_then(|()| host.init(&request.config))
                .map_err(|e| format!("fusion_init after the warm-up failed: {e}"))?;
        }
        Ok((
            Prepared {
                host,
                carry_schema: schema,
                synced,
                version,
            },
            warmup,
        ))
    }

    /// Compiles and validates the request's module. A `.wasm` from a
    /// deploy compiles in memory (a network peer must not fill the compile
    /// cache's disk); a local one goes through the cache. A `.cwasm` is
    /// taken only from a local file (the watched module or a reloaded
    /// launch file), after the same verification as at start; deploying
    /// native code over the network is refused.
    fn load(&self, request: &SwapRequest) -> Result<ModuleHost, Refusal> {
        let engine = &self.config.engine;
        let limits = self.config.limits;
        let refused = |e: &dyn std::fmt::Display| format!("refused: {e}");
        if request.bytes.starts_with(b"\0asm") {
            return if request.trigger == Trigger::Deploy {
                ModuleHost::from_wasm(engine, &request.bytes, limits)
            } else {
                let source = crate::launch::ModuleSource::File(request.detail.clone().into());
                crate::node::from_wasm(engine, &source, &request.bytes, limits)
            }
            .map_err(|e| refused(&e));
        }
        let local = matches!(request.trigger, Trigger::FileChanged | Trigger::Reload);
        if request.bytes.starts_with(b"\x7fELF") && local {
            let path = std::path::Path::new(&request.detail);
            // What runs must be what was hashed (and signed): the verified
            // artifact itself, never its source compiled instead (nor
            // checked against a `.wasm` beside it), nor a file changed since.
            let (module, manifest) = crate::host::artifact::verify_and_deserialize(engine, path)
                .map_err(|e| {
                    format!("refused: the artifact was refused ({e}); deploy the .wasm")
                })?;
            if manifest.artifact_sha256 != sha256_hex(&request.bytes) {
                return Err("refused: the module file changed while it was loaded".into());
            }
            return ModuleHost::from_module(engine, &module, limits).map_err(|e| refused(&e));
        }
        Err("not a WebAssembly module (no \\0asm magic); a precompiled .cwasm is taken only from the launch file's module path: deploy the .wasm".into())
    }

    /// Frames after `after` (every kept frame if `None`) and the running
    /// module's state if it declares `state_for`.
    fn recent(&self, after: Option<u64>, state_for: Option<i64>) -> Result<Recent, Refusal> {
        let (reply, rx) = crossbeam_channel::bounded(1);
        self.port
            .commands
            .send(SwapCommand::Recent(RecentRequest {
                after,
                state_for,
                reply,
            }))
            .map_err(|_| "the node is stopping".to_owned())?;
        rx.recv_timeout(RECENT_TIMEOUT)
            .map_err(|_| "the fusion executor did not answer (stopping or stalled)".to_owned())
    }

    /// Restores the running module's state from `recent` into `host`, if
    /// it came: `host` is then as the running module after the frame
    /// returned (`Some(None)`: before any frame).
    fn sync(&self, host: &mut ModuleHost, recent: &Recent) -> Result<Option<Option<u64>>, Refusal> {
        match &recent.state {
            None => Ok(None),
            Some(Err(why)) => Err(why.clone()),
            Some(Ok(state)) => {
                // Off the frame path: a generous deadline.
                host.restore(state, self.config.limits.init_deadline)
                    .map_err(|e| format!("cannot take the running module's tracker state: {e}"))?;
                Ok(Some(recent.through))
            }
        }
    }

    /// Brings a candidate the executor sent back up to the frame it ran
    /// last: the frames since its state was synced, in shadow, or (when
    /// the executor no longer keeps them all, or a step was preempted and
    /// restarted the instance) the running module's state again.
    fn catch_up(&self, candidate: &mut Candidate) -> Result<(), Refusal> {
        if let Some(synced) = candidate.synced {
            let recent = self.recent(synced, None)?;
            if recent.complete {
                let budget = self.config.limits.step_deadline;
                let mut preempted = false;
                for frame in &recent.frames {
                    match run_shadow(&mut candidate.host, frame, budget) {
                        Ok(_) => candidate.synced = Some(Some(frame.header.sequence)),
                        Err(Shadow::OverBudget(_)) => {
                            preempted = true;
                            break;
                        }
                        Err(Shadow::Failed(why)) => {
                            return Err(format!(
                                "catching up on frame {}: {why}",
                                frame.header.sequence
                            ));
                        }
                    }
                }
                if !preempted {
                    return Ok(());
                }
            }
        }
        let fresh = self.recent(Some(u64::MAX), candidate.carry_schema)?;
        candidate.synced = self.sync(&mut candidate.host, &fresh)?;
        Ok(())
    }
}

struct Prepared {
    host: ModuleHost,
    carry_schema: Option<i64>,
    /// See [`Candidate::synced`].
    synced: Option<Option<u64>>,
    /// The release version of a signed module.
    version: Option<u64>,
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
