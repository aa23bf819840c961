use std::fmt;
use std::time::Duration;

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
    #[error(
        "forbidden import `{module}.{name}`: fusion modules may import only what the allow-list names (nothing by default)"
    )]
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
    /// The module trapped, or ran past its deadline.
    #[error("`{export}` trapped: {kind}")]
    Trap {
        /// The export that was running (`instantiate` for a start function).
        export: &'static str,
        /// What kind of trap.
        kind: TrapKind,
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
    /// Classifies an error from a call into `export`.
    pub(crate) fn trap(export: &'static str) -> impl Fn(wasmtime::Error) -> Self {
        move |err| HostError::Trap {
            export,
            kind: err
                .downcast_ref::<Trap>()
                .map_or(TrapKind::Other, |t| TrapKind::from(*t)),
        }
    }

    /// Whether the instance may be left broken (a trap unwound through it).
    pub fn is_trap(&self) -> bool {
        matches!(self, HostError::Trap { .. })
    }
}

/// The kind of a trap, as a step miss records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The epoch deadline passed (see [`MissReason::Deadline`]).
    Interrupt,
    /// A Wasm `unreachable` instruction.
    Unreachable,
    /// The Wasm stack limit was reached.
    StackOverflow,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// A table access out of bounds.
    TableOutOfBounds,
    /// `call_indirect` to a null entry.
    IndirectCallToNull,
    /// `call_indirect` with the wrong signature.
    BadSignature,
    /// Integer overflow (for example `i32.div_s` of MIN by -1).
    IntegerOverflow,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion out of range.
    BadConversionToInteger,
    /// Anything else wasmtime reports.
    Other,
}

impl From<Trap> for TrapKind {
    fn from(trap: Trap) -> Self {
        match trap {
            Trap::Interrupt => TrapKind::Interrupt,
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
            Trap::IndirectCallToNull => TrapKind::IndirectCallToNull,
            Trap::BadSignature => TrapKind::BadSignature,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
            _ => TrapKind::Other,
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Interrupt => "deadline exceeded (epoch interruption)",
            TrapKind::Unreachable => "unreachable",
            TrapKind::StackOverflow => "stack overflow",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::IndirectCallToNull => "indirect call to null",
            TrapKind::BadSignature => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::Other => "other trap",
        })
    }
}

/// Why a frame produced no output: what the deadline monitor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MissReason {
    /// The step ran past its deadline and was interrupted.
    Deadline,
    /// The module trapped.
    Trap(TrapKind),
    /// The module returned an error status (`fusion_abi::status`).
    ModuleError(u32),
    /// The output pointer or length was out of bounds or over the limit.
    OutputInvalid,
    /// The frame could not be handed to the module (too large for 32-bit
    /// Wasm, or the module's input buffer lies outside its memory).
    InputInvalid,
    /// The instance could not be restarted after an earlier trap.
    RestartFailed,
}

impl MissReason {
    /// The reason a failed call counts as.
    pub fn of(error: &HostError) -> Self {
        match error {
            HostError::Trap {
                kind: TrapKind::Interrupt,
                ..
            } => MissReason::Deadline,
            HostError::Trap { kind, .. } => MissReason::Trap(*kind),
            HostError::Module { code, .. } => MissReason::ModuleError(*code),
            HostError::OutOfBounds { what: "output", .. } | HostError::OutputTooLarge { .. } => {
                MissReason::OutputInvalid
            }
            HostError::OutOfBounds { .. } | HostError::InputTooLarge(_) => MissReason::InputInvalid,
            _ => MissReason::RestartFailed,
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::Deadline => f.write_str("deadline"),
            MissReason::Trap(kind) => write!(f, "trap: {kind}"),
            MissReason::ModuleError(code) => write!(f, "module error {code}"),
            MissReason::OutputInvalid => f.write_str("output invalid"),
            MissReason::InputInvalid => f.write_str("input invalid"),
            MissReason::RestartFailed => f.write_str("restart failed"),
        }
    }
}

/// A step that produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame missed ({reason}) after {elapsed:?}: {error}")]
pub struct StepMiss {
    /// What the deadline monitor records.
    pub reason: MissReason,
    /// Time from the start of the step until the module returned or was
    /// interrupted (a restart after a trap is not included).
    pub elapsed: Duration,
    /// The error behind it.
    pub error: HostError,
    /// Whether a fresh instance replaced a trapped one (its state is lost).
    pub restarted: bool,
}
