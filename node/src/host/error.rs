use wasmtime::Trap;

/// Why a module cannot be loaded or why a call into it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The engine could not be configured.
    #[error("wasmtime engine: {0}")]
    Engine(String),
    /// The bytes are not a valid Wasm module.
    #[error("not a valid Wasm module: {0}")]
    Compile(String),
    /// A required export is absent or has another type.
    #[error("missing or mistyped export `{0}`")]
    MissingExport(&'static str),
    /// An export has the wrong signature.
    #[error("export `{name}` has type {found}, the ABI requires {expected}")]
    WrongSignature {
        /// Export name.
        name: String,
        /// What the ABI requires.
        expected: String,
        /// What the module declares.
        found: String,
    },
    /// The module imports something outside the allow-list.
    #[error("forbidden import `{module}::{name}`: fusion modules may import nothing")]
    ForbiddenImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// The module speaks another ABI version.
    #[error("ABI version {found} is not supported (this node supports version {supported})")]
    AbiVersion {
        /// What the module returned.
        found: i64,
        /// What this host speaks.
        supported: u32,
    },
    /// Instantiation failed (for example the memory limit is below the
    /// module's minimum).
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// The module trapped.
    #[error("module trapped: {kind}")]
    Trap {
        /// Trap kind (`unreachable`, `interrupt`, `out of bounds memory access`, ...).
        kind: String,
        /// True when the trap was an epoch interruption (the deadline).
        interrupted: bool,
    },
    /// The module returned an error status.
    #[error("{export} failed with status {code}: {message}")]
    Module {
        /// The export that failed.
        export: &'static str,
        /// The status code (`fusion_abi::status`).
        code: u32,
        /// The module's message.
        message: String,
    },
    /// A pointer and length the module returned point outside its memory.
    #[error("{what} at {ptr}+{len} lies outside the module's memory")]
    OutOfBounds {
        /// Which buffer.
        what: &'static str,
        /// Pointer as returned.
        ptr: u64,
        /// Length as returned.
        len: u64,
    },
    /// The output is larger than the limit.
    #[error("output of {len} bytes exceeds the {limit}-byte limit")]
    OutputTooLarge {
        /// Bytes returned.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A frame or config too large for the 32-bit ABI.
    #[error("input of {0} bytes is too large for a 32-bit module")]
    InputTooLarge(usize),
}

impl HostError {
    /// Classifies an error from a call into the module.
    pub(crate) fn trap(err: wasmtime::Error) -> Self {
        match err.downcast_ref::<Trap>() {
            Some(trap) => HostError::Trap {
                kind: trap.to_string(),
                interrupted: *trap == Trap::Interrupt,
            },
            None => HostError::Trap {
                kind: format!("{err:#}"),
                interrupted: false,
            },
        }
    }
}
