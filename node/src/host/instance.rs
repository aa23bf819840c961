//! One sandboxed instance: a store with its limits and the typed exports.

use wasmtime::{Instance, InstancePre, Memory, Store, StoreLimits, StoreLimitsBuilder, TypedFunc};

use super::{HostEngine, HostError, Limits};

/// What a store carries: only its limits (the module gets no host access).
pub struct HostState {
    limits: StoreLimits,
}

/// The exports, looked up once per instance.
pub(super) struct Exports {
    pub memory: Memory,
    pub abi_version: TypedFunc<(), i32>,
    pub input_buffer: TypedFunc<i32, i32>,
    pub init: TypedFunc<i32, i32>,
    pub step: TypedFunc<i32, i64>,
    pub last_error: TypedFunc<(), i64>,
    /// The optional state exports, present only all three together
    /// (validation checks that).
    pub state: Option<StateExports>,
}

/// `fusion_state_schema`, `fusion_snapshot` and `fusion_restore`.
pub(super) struct StateExports {
    pub schema: TypedFunc<(), i64>,
    pub snapshot: TypedFunc<(), i64>,
    pub restore: TypedFunc<i32, i32>,
}

/// A fresh store and instance. The start function, if any, runs under the
/// init deadline.
pub(super) fn instantiate(
    engine: &HostEngine,
    pre: &InstancePre<HostState>,
    limits: &Limits,
) -> Result<(Store<HostState>, Exports), HostError> {
    let state = HostState {
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(limits.table_elements)
            .instances(1)
            .tables(1)
            .memories(1)
            .build(),
    };
    let mut store = Store::new(engine.engine(), state);
    store.limiter(|s| &mut s.limits);
    // A new store's deadline is epoch 0, already past: set it before any
    // Wasm runs.
    store.epoch_deadline_trap();
    // Held until the end: instantiation runs the start function.
    let _armed = engine.arm(&mut store, limits.init_deadline);
    let instance: Instance =
        pre.instantiate(&mut store)
            .map_err(|e| match e.downcast_ref::<wasmtime::Trap>() {
                Some(_) => HostError::trap("instantiate")(e),
                None => HostError::Instantiate(format!("{e:#}")),
            })?;
    let exports = Exports {
        memory: instance
            .get_memory(&mut store, fusion_abi::exports::MEMORY)
            .ok_or(HostError::MissingExport(fusion_abi::exports::MEMORY))?,
        abi_version: typed(&instance, &mut store, fusion_abi::exports::ABI_VERSION)?,
        input_buffer: typed(&instance, &mut store, fusion_abi::exports::INPUT_BUFFER)?,
        init: typed(&instance, &mut store, fusion_abi::exports::INIT)?,
        step: typed(&instance, &mut store, fusion_abi::exports::STEP)?,
        last_error: typed(&instance, &mut store, fusion_abi::exports::LAST_ERROR)?,
        state: state_exports(&instance, &mut store),
    };
    Ok((store, exports))
}

fn state_exports(instance: &Instance, store: &mut Store<HostState>) -> Option<StateExports> {
    use fusion_abi::exports::{RESTORE, SNAPSHOT, STATE_SCHEMA};
    Some(StateExports {
        schema: typed(instance, store, STATE_SCHEMA).ok()?,
        snapshot: typed(instance, store, SNAPSHOT).ok()?,
        restore: typed(instance, store, RESTORE).ok()?,
    })
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

/// Splits a packed `(len << 32) | ptr` result.
pub(super) fn unpack(packed: i64) -> (usize, usize) {
    let packed = packed as u64;
    ((packed & 0xffff_ffff) as usize, (packed >> 32) as usize)
}
