//! `ModuleHost`: runs one fusion module (ABI version 1) in wasmtime.
//!
//! The module is validated before it is instantiated: its exports and their
//! signatures must match the ABI and its imports must be within the
//! allow-list (empty). It runs in a sandbox (memory, table and instance
//! limits, a bounded Wasm stack, no WASI, no host functions) under a
//! deadline enforced by epoch interruption. A step copies the frame into
//! the module's input buffer, calls `fusion_step` and borrows the output
//! from the module's memory. After a trap the instance is replaced by a
//! fresh one from the same `InstancePre` and initialised again.
//!
//! `artifact` compiles modules ahead of time and loads `.cwasm` files only
//! after verifying them; `cache` keeps compiled modules by content.

pub mod artifact;
pub mod cache;
mod engine;
mod epoch;
mod error;
mod instance;
mod validate;

use std::time::{Duration, Instant};

use wasmtime::{InstancePre, Linker, Module, Store};

pub use engine::{
    CPU_MODELS, CompileTarget, CpuModel, EPOCH_TICK, EngineSettings, HostEngine,
    MAX_WASM_STACK_BYTES, TargetError, WASMTIME_VERSION, build_engine, engine, fingerprint, hex,
    host_has_feature,
};
pub use epoch::{Armed, EpochTicker, IDLE_CATCH_UP, LINGER};
pub use error::{HostError, MissReason, StepMiss, TrapKind};
pub use instance::HostState;
pub use validate::{
    ALLOWED_IMPORTS, AbiReport, Export, ExportKind, Import, Interface, ValKind, validate,
    validate_interface,
};

use instance::{Exports, instantiate, unpack};

/// Sandbox limits and deadlines of one module instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes (a `memory.grow` past it fails).
    pub memory_bytes: usize,
    /// Largest output a step may return, in bytes.
    pub max_output_bytes: usize,
    /// Largest table, in elements.
    pub table_elements: usize,
    /// Time a step may take before it is interrupted.
    pub step_deadline: Duration,
    /// Time instantiation, the ABI version query or `fusion_init` may take.
    pub init_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            max_output_bytes: 16 << 20,
            table_elements: 65_536,
            step_deadline: Duration::from_millis(10),
            init_deadline: Duration::from_secs(1),
        }
    }
}

/// A step's output, borrowed from the module's memory until the next call.
#[derive(Debug)]
pub struct Stepped<'a> {
    /// The output bytes (CDR `TrackedObjects`).
    pub output: &'a [u8],
    /// Time from the start of the step until `fusion_step` returned.
    pub elapsed: Duration,
}

/// One instantiated fusion module.
pub struct ModuleHost {
    engine: HostEngine,
    pre: InstancePre<HostState>,
    store: Store<HostState>,
    exports: Exports,
    limits: Limits,
    report: AbiReport,
    /// The last configuration `fusion_init` accepted, to initialise a fresh
    /// instance after a trap.
    config: Option<Vec<u8>>,
    /// A trap left the instance unusable and restarting failed with this.
    broken: Option<HostError>,
    restarts: u64,
}

impl ModuleHost {
    /// Compiles, validates and instantiates a `.wasm` module.
    pub fn from_wasm(engine: &HostEngine, wasm: &[u8], limits: Limits) -> Result<Self, HostError> {
        // Validate first: naming a forbidden import beats a compile error.
        validate_interface(&Interface::from_wasm(wasm)?, ALLOWED_IMPORTS)?;
        let module =
            Module::new(engine.engine(), wasm).map_err(|e| HostError::Compile(format!("{e:#}")))?;
        Self::from_module(engine, &module, limits)
    }

    /// Validates and instantiates a compiled module.
    pub fn from_module(
        engine: &HostEngine,
        module: &Module,
        limits: Limits,
    ) -> Result<Self, HostError> {
        let report = validate(module)?;
        let linker: Linker<HostState> = Linker::new(engine.engine());
        let pre = linker
            .instantiate_pre(module)
            .map_err(|e| HostError::Instantiate(format!("{e:#}")))?;
        let (mut store, exports) = instantiate(engine, &pre, &limits)?;
        let armed = engine.arm(&mut store, limits.init_deadline);
        let version = exports
            .abi_version
            .call(&mut store, ())
            .map_err(HostError::trap(fusion_abi::exports::ABI_VERSION))?;
        drop(armed);
        if version != fusion_abi::ABI_VERSION as i32 {
            return Err(HostError::AbiVersion {
                found: i64::from(version),
                supported: fusion_abi::ABI_VERSION,
            });
        }
        Ok(ModuleHost {
            engine: engine.clone(),
            pre,
            store,
            exports,
            limits,
            report,
            config: None,
            broken: None,
            restarts: 0,
        })
    }

    /// What validation found (ABI version, exports present).
    pub fn report(&self) -> &AbiReport {
        &self.report
    }

    /// The limits this host enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many times a trapped instance was replaced.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Starts over with a fresh, uninitialised instance.
    pub fn reinstantiate(&mut self) -> Result<(), HostError> {
        let (store, exports) = instantiate(&self.engine, &self.pre, &self.limits)?;
        self.store = store;
        self.exports = exports;
        self.broken = None;
        Ok(())
    }

    /// Replaces a trapped instance and initialises it with the last
    /// accepted configuration. The old instance's state is lost.
    fn restart(&mut self, cause: &HostError) -> Result<(), HostError> {
        self.restarts += 1;
        tracing::warn!(
            %cause,
            restarts = self.restarts,
            "fusion module trapped: starting a fresh instance; its state (tracks) is lost"
        );
        let fresh = self
            .reinstantiate()
            .and_then(|()| match self.config.clone() {
                Some(config) => self.call_init(&config),
                None => Ok(()),
            });
        if let Err(e) = &fresh {
            self.broken = Some(e.clone());
        }
        fresh
    }

    /// Copies `len` bytes (written by `fill`) into the module's input
    /// buffer and returns the length as the ABI passes it.
    fn write_input(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<i32, HostError> {
        let len32 = i32::try_from(len).map_err(|_| HostError::InputTooLarge(len))?;
        let ptr = self
            .exports
            .input_buffer
            .call(&mut self.store, len32)
            .map_err(HostError::trap(fusion_abi::exports::INPUT_BUFFER))?;
        if ptr == 0 {
            return Err(self.module_error(
                fusion_abi::exports::INPUT_BUFFER,
                fusion_abi::status::NO_MEMORY,
            ));
        }
        let memory = self.exports.memory.data_mut(&mut self.store);
        let start = ptr as u32 as usize;
        let dst = memory
            .get_mut(start..start + len)
            .ok_or(HostError::OutOfBounds {
                what: "input buffer",
                ptr: start as u64,
                len: len as u64,
            })?;
        fill(dst);
        Ok(len32)
    }

    /// Calls `fusion_init` with a CDR-encoded `ModuleConfig`, under the init
    /// deadline. The configuration is kept to initialise a fresh instance
    /// after a trap. A trap here leaves a fresh, uninitialised instance.
    pub fn init(&mut self, config: &[u8]) -> Result<(), HostError> {
        if self.broken.is_some() {
            self.reinstantiate()?;
        }
        match self.call_init(config) {
            Ok(()) => {
                self.config = Some(config.to_vec());
                Ok(())
            }
            Err(e) if e.is_trap() => {
                self.config = None;
                // A fresh instance, so a later init starts from scratch.
                if let Err(again) = self.reinstantiate() {
                    self.broken = Some(again);
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn call_init(&mut self, config: &[u8]) -> Result<(), HostError> {
        // Held until the end: input_buffer and init both run guest code.
        let _armed = self.engine.arm(&mut self.store, self.limits.init_deadline);
        let len = self.write_input(config.len(), |dst| dst.copy_from_slice(config))?;
        let status = self
            .exports
            .init
            .call(&mut self.store, len)
            .map_err(HostError::trap(fusion_abi::exports::INIT))?;
        if status != 0 {
            return Err(self.module_error(fusion_abi::exports::INIT, status as u32));
        }
        Ok(())
    }

    /// Runs one frame (already laid out per the ABI) and returns the
    /// module's output, borrowed from its memory.
    pub fn step(&mut self, frame: &[u8]) -> Result<&[u8], HostError> {
        self.step_with(frame.len(), |dst| dst.copy_from_slice(frame))
    }

    /// Like [`ModuleHost::step`], with the frame written in place by
    /// `write` (for example by `fusion_abi::frame::write_frame`), which
    /// saves a copy.
    pub fn step_with(
        &mut self,
        frame_len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<&[u8], HostError> {
        self.run_step(frame_len, write)
            .map(|s| s.output)
            .map_err(|miss| miss.error)
    }

    /// Runs one frame under the step deadline and reports the output with
    /// its time, or the miss with its reason. After a trap (the deadline
    /// included) a fresh instance, initialised again, takes over before
    /// this returns, so the next frame runs on time.
    pub fn run_step(
        &mut self,
        frame_len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<Stepped<'_>, StepMiss> {
        self.run_step_within(self.limits.step_deadline, frame_len, write)
    }

    /// [`ModuleHost::run_step`] preempted after `deadline` rather than the
    /// configured step deadline: what is left of a frame's budget when
    /// the frame reaches the module late. It is capped at the step
    /// deadline.
    pub fn run_step_within(
        &mut self,
        deadline: Duration,
        frame_len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<Stepped<'_>, StepMiss> {
        let start = Instant::now();
        if let Some(cause) = self.broken.take()
            && let Err(error) = self.restart(&cause)
        {
            return Err(StepMiss {
                reason: MissReason::RestartFailed,
                elapsed: start.elapsed(),
                error,
                restarted: false,
            });
        }
        let armed = self
            .engine
            .arm(&mut self.store, deadline.min(self.limits.step_deadline));
        let result = self.call_step(frame_len, write);
        drop(armed);
        let elapsed = start.elapsed();
        match result {
            Ok((ptr, len)) => Ok(Stepped {
                output: &self.exports.memory.data(&self.store)[ptr..ptr + len],
                elapsed,
            }),
            Err(error) => {
                let restarted = error.is_trap() && self.restart(&error).is_ok();
                Err(StepMiss {
                    reason: MissReason::of(&error),
                    elapsed,
                    error,
                    restarted,
                })
            }
        }
    }

    /// Calls `fusion_step` and checks the output's place; returns it as
    /// (pointer, length).
    fn call_step(
        &mut self,
        frame_len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<(usize, usize), HostError> {
        let len = self.write_input(frame_len, write)?;
        let packed = self
            .exports
            .step
            .call(&mut self.store, len)
            .map_err(HostError::trap(fusion_abi::exports::STEP))?;
        if packed < 0 {
            let code = u32::try_from(packed.unsigned_abs()).unwrap_or(u32::MAX);
            return Err(self.module_error(fusion_abi::exports::STEP, code));
        }
        let (ptr, len) = unpack(packed);
        if len > self.limits.max_output_bytes {
            return Err(HostError::OutputTooLarge {
                len,
                limit: self.limits.max_output_bytes,
            });
        }
        if ptr + len > self.exports.memory.data_size(&self.store) {
            return Err(HostError::OutOfBounds {
                what: "output",
                ptr: ptr as u64,
                len: len as u64,
            });
        }
        Ok((ptr, len))
    }

    /// The module's message for its last failure, or a placeholder when it
    /// cannot be read. Runs under whatever deadline the caller set.
    fn module_error(&mut self, export: &'static str, code: u32) -> HostError {
        let message = self
            .exports
            .last_error
            .call(&mut self.store, ())
            .ok()
            .and_then(|packed| {
                let (ptr, len) = unpack(packed);
                let memory = self.exports.memory.data(&self.store);
                let bytes = memory.get(ptr..ptr + len.min(4096))?;
                Some(String::from_utf8_lossy(bytes).into_owned())
            })
            .unwrap_or_else(|| "(no message)".into());
        HostError::Module {
            export,
            code,
            message,
        }
    }

    /// The module's state schema (`fusion_state_schema`): `None` when it
    /// keeps no state across swaps (no state exports, or 0) or cannot say
    /// within `deadline`.
    pub fn state_schema(&mut self, deadline: Duration) -> Option<i64> {
        let schema = self.exports.state.as_ref()?.schema.clone();
        let armed = self.engine.arm(&mut self.store, deadline);
        let result = schema.call(&mut self.store, ());
        drop(armed);
        result.ok().filter(|&s| s != 0)
    }

    /// Copies the module's packed tracker state (`fusion_snapshot`) into
    /// `out`, replacing what it held. Runs under `deadline`.
    pub fn snapshot_into(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Duration,
    ) -> Result<(), HostError> {
        use fusion_abi::exports::SNAPSHOT;
        let snapshot = self
            .exports
            .state
            .as_ref()
            .ok_or(HostError::MissingExport(SNAPSHOT))?
            .snapshot
            .clone();
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let armed = self.engine.arm(&mut self.store, deadline);
        let packed = snapshot
            .call(&mut self.store, ())
            .map_err(HostError::trap(SNAPSHOT));
        drop(armed);
        let packed = packed.inspect_err(|e| self.mark_broken(e))?;
        if packed < 0 {
            let code = u32::try_from(packed.unsigned_abs()).unwrap_or(u32::MAX);
            return Err(self.module_error(SNAPSHOT, code));
        }
        let (ptr, len) = unpack(packed);
        let bytes = self
            .exports
            .memory
            .data(&self.store)
            .get(ptr..ptr.saturating_add(len))
            .filter(|_| len <= self.limits.max_output_bytes)
            .ok_or(HostError::OutOfBounds {
                what: "snapshot",
                ptr: ptr as u64,
                len: len as u64,
            })?;
        out.clear();
        out.extend_from_slice(bytes);
        Ok(())
    }

    /// Hands `state` (another instance's snapshot) to `fusion_restore`,
    /// under `deadline`. After a trap (here or in `snapshot_into`) the next
    /// step starts a fresh instance, without the state.
    pub fn restore(&mut self, state: &[u8], deadline: Duration) -> Result<(), HostError> {
        use fusion_abi::exports::RESTORE;
        let restore = self
            .exports
            .state
            .as_ref()
            .ok_or(HostError::MissingExport(RESTORE))?
            .restore
            .clone();
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        // Armed first: `fusion_input_buffer` is module code too.
        let armed = self.engine.arm(&mut self.store, deadline);
        let status = self
            .write_input(state.len(), |dst| dst.copy_from_slice(state))
            .and_then(|len| {
                restore
                    .call(&mut self.store, len)
                    .map_err(HostError::trap(RESTORE))
            });
        drop(armed);
        match status.inspect_err(|e| self.mark_broken(e))? {
            0 => Ok(()),
            code => Err(self.module_error(RESTORE, code.unsigned_abs())),
        }
    }

    /// After a trap the instance's memory may be half-updated: the next
    /// step starts a fresh instance instead.
    fn mark_broken(&mut self, error: &HostError) {
        if error.is_trap() {
            self.broken = Some(error.clone());
        }
    }

    /// Bytes of linear memory the instance has now.
    pub fn memory_size(&self) -> usize {
        self.exports.memory.data_size(&self.store)
    }
}
