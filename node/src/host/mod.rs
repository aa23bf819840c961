//! `ModuleHost`: runs one fusion module (ABI version 1) in wasmtime.
//!
//! The module is validated before it is instantiated: its exports and their
//! signatures must match the ABI and its imports must be within the
//! allow-list (empty: the reference module imports nothing). Typed handles
//! to the exports are looked up once; a step copies the frame into the
//! module's input buffer, calls `fusion_step` and borrows the output from
//! the module's memory.

mod error;
mod validate;

use wasmtime::{
    Engine, Instance, InstancePre, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder,
    TypedFunc,
};

pub use error::HostError;
pub use validate::{AbiReport, validate};

/// Sandbox limits of one module instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest output a step may return, in bytes.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            max_output_bytes: 16 << 20,
        }
    }
}

/// What a store carries: only its limits (the module gets no host access).
pub struct HostState {
    limits: StoreLimits,
}

/// The exports, looked up once per instance.
struct Exports {
    memory: Memory,
    abi_version: TypedFunc<(), i32>,
    input_buffer: TypedFunc<i32, i32>,
    init: TypedFunc<i32, i32>,
    step: TypedFunc<i32, i64>,
    last_error: TypedFunc<(), i64>,
}

/// One instantiated fusion module.
pub struct ModuleHost {
    pre: InstancePre<HostState>,
    store: Store<HostState>,
    exports: Exports,
    limits: Limits,
    report: AbiReport,
}

/// The process-wide engine: configured once, shared by every module.
pub fn engine() -> Result<Engine, HostError> {
    let mut config = wasmtime::Config::new();
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:#}")))
}

impl ModuleHost {
    /// Compiles, validates and instantiates a `.wasm` module.
    pub fn from_wasm(engine: &Engine, wasm: &[u8], limits: Limits) -> Result<Self, HostError> {
        let module = Module::new(engine, wasm).map_err(|e| HostError::Compile(format!("{e:#}")))?;
        Self::from_module(engine, &module, limits)
    }

    /// Validates and instantiates a compiled module.
    pub fn from_module(
        engine: &Engine,
        module: &Module,
        limits: Limits,
    ) -> Result<Self, HostError> {
        let report = validate(module)?;
        let linker: Linker<HostState> = Linker::new(engine);
        let pre = linker
            .instantiate_pre(module)
            .map_err(|e| HostError::Instantiate(format!("{e:#}")))?;
        let (mut store, exports) = instantiate(&pre, limits)?;
        let instance_version = exports
            .abi_version
            .call(&mut store, ())
            .map_err(HostError::trap)?;
        if instance_version != fusion_abi::ABI_VERSION as i32 {
            return Err(HostError::AbiVersion {
                found: i64::from(instance_version),
                supported: fusion_abi::ABI_VERSION,
            });
        }
        Ok(ModuleHost {
            pre,
            store,
            exports,
            limits,
            report,
        })
    }

    /// What validation found (ABI version, exports present).
    pub fn report(&self) -> &AbiReport {
        &self.report
    }

    /// Starts over with a fresh instance (after a trap: the old memory may
    /// hold a broken state).
    pub fn reinstantiate(&mut self) -> Result<(), HostError> {
        let (store, exports) = instantiate(&self.pre, self.limits)?;
        self.store = store;
        self.exports = exports;
        Ok(())
    }

    /// Copies `bytes` into the module's input buffer and returns its length.
    fn write_input(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<i32, HostError> {
        let len32 = i32::try_from(len).map_err(|_| HostError::InputTooLarge(len))?;
        let ptr = self
            .exports
            .input_buffer
            .call(&mut self.store, len32)
            .map_err(HostError::trap)?;
        if ptr == 0 {
            return Err(self.module_error("fusion_input_buffer", fusion_abi::status::NO_MEMORY));
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

    /// Calls `fusion_init` with a CDR-encoded `ModuleConfig`.
    pub fn init(&mut self, config: &[u8]) -> Result<(), HostError> {
        let len = self.write_input(config.len(), |dst| dst.copy_from_slice(config))?;
        let status = self
            .exports
            .init
            .call(&mut self.store, len)
            .map_err(HostError::trap)?;
        if status != 0 {
            return Err(self.module_error("fusion_init", status as u32));
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
        let len = self.write_input(frame_len, write)?;
        let packed = self
            .exports
            .step
            .call(&mut self.store, len)
            .map_err(HostError::trap)?;
        if packed < 0 {
            return Err(self.module_error("fusion_step", (-packed) as u32));
        }
        let (ptr, len) = (
            (packed as u64 & 0xffff_ffff) as usize,
            (packed as u64 >> 32) as usize,
        );
        if len > self.limits.max_output_bytes {
            return Err(HostError::OutputTooLarge {
                len,
                limit: self.limits.max_output_bytes,
            });
        }
        let memory = self.exports.memory.data(&self.store);
        memory.get(ptr..ptr + len).ok_or(HostError::OutOfBounds {
            what: "output",
            ptr: ptr as u64,
            len: len as u64,
        })
    }

    /// The module's message for its last failure, or a placeholder when it
    /// cannot be read.
    fn module_error(&mut self, export: &'static str, code: u32) -> HostError {
        let message = self
            .exports
            .last_error
            .call(&mut self.store, ())
            .ok()
            .and_then(|packed| {
                let (ptr, len) = (
                    (packed as u64 & 0xffff_ffff) as usize,
                    (packed as u64 >> 32) as usize,
                );
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

    /// Bytes of linear memory the instance has now.
    pub fn memory_size(&self) -> usize {
        self.exports.memory.data_size(&self.store)
    }
}

fn instantiate(
    pre: &InstancePre<HostState>,
    limits: Limits,
) -> Result<(Store<HostState>, Exports), HostError> {
    let state = HostState {
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .instances(1)
            .tables(1)
            .memories(1)
            .build(),
    };
    let mut store = Store::new(pre.module().engine(), state);
    store.limiter(|s| &mut s.limits);
    let instance: Instance = pre
        .instantiate(&mut store)
        .map_err(|e| HostError::Instantiate(format!("{e:#}")))?;
    let exports = Exports {
        memory: instance
            .get_memory(&mut store, fusion_abi::exports::MEMORY)
            .ok_or(HostError::MissingExport(fusion_abi::exports::MEMORY))?,
        abi_version: typed(&instance, &mut store, fusion_abi::exports::ABI_VERSION)?,
        input_buffer: typed(&instance, &mut store, fusion_abi::exports::INPUT_BUFFER)?,
        init: typed(&instance, &mut store, fusion_abi::exports::INIT)?,
        step: typed(&instance, &mut store, fusion_abi::exports::STEP)?,
        last_error: typed(&instance, &mut store, fusion_abi::exports::LAST_ERROR)?,
    };
    Ok((store, exports))
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<HostState>,
    name: &'static str,
) -> Result<TypedFunc<P, R>, HostError> {
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map_err(|_| HostError::MissingExport(name))
}
