//! Version 1 of the interface between fusion-node (the host) and a fusion
//! module (the guest), specified in `fusion-modules/ABI.md`.
//!
//! - [`frame`]: the frame layout, parsed by guests and written by the host;
//! - [`guest`]: the SDK: implement [`guest::FusionModule`], add
//!   [`export_module!`], and the SDK provides the exports and all the unsafe
//!   glue;
//! - [`status`]: the status codes exports return.
//!
//! This crate knows the contract and nothing of the host: no wasmtime, no
//! I/O, no clock. It is `no_std` so modules compile to small Wasm.
#![no_std]

extern crate alloc;

pub mod frame;
pub mod guest;
mod runtime;

pub use frame::{Frame, FrameError, FrameHeader, SensorKind, Slot};
pub use guest::{FusionModule, ModuleError, NativeModule};

/// The ABI version this crate implements, returned by `fusion_abi_version`.
pub const ABI_VERSION: u32 = 1;

/// Names of the exports, for hosts that look them up.
pub mod exports {
    /// `() -> i32`: the ABI version.
    pub const ABI_VERSION: &str = "fusion_abi_version";
    /// `(len: i32) -> i32`: pointer to a module-owned buffer of `len` bytes.
    pub const INPUT_BUFFER: &str = "fusion_input_buffer";
    /// `(config_len: i32) -> i32`: status.
    pub const INIT: &str = "fusion_init";
    /// `(frame_len: i32) -> i64`: output `len << 32 | ptr`, or `-status`.
    pub const STEP: &str = "fusion_step";
    /// `() -> i64`: the last error message, `len << 32 | ptr`.
    pub const LAST_ERROR: &str = "fusion_last_error";
    /// `() -> i64`: identifier of the snapshot layout; 0 for none (optional).
    pub const STATE_SCHEMA: &str = "fusion_state_schema";
    /// `() -> i64`: the state, `len << 32 | ptr`, or `-status` (optional).
    pub const SNAPSHOT: &str = "fusion_snapshot";
    /// `(len: i32) -> i32`: status (optional).
    pub const RESTORE: &str = "fusion_restore";
    /// The memory export.
    pub const MEMORY: &str = "memory";
}

/// Status codes. Zero is success; exports that return i64 return `-code`.
pub mod status {
    /// Success.
    pub const OK: u32 = 0;
    /// The frame bytes are not a valid frame.
    pub const BAD_FRAME: u32 = 1;
    /// The configuration is invalid; the message says why.
    pub const BAD_CONFIG: u32 = 2;
    /// `fusion_step` or `fusion_snapshot` before a successful `fusion_init`.
    pub const NOT_INITIALIZED: u32 = 3;
    /// The module cannot provide a buffer of the requested size.
    pub const NO_MEMORY: u32 = 4;
    /// The module does not carry state across swaps.
    pub const UNSUPPORTED: u32 = 5;
    /// Snapshot bytes the module cannot restore.
    pub const BAD_STATE: u32 = 6;
    /// The module's own failure while fusing; the message says why.
    pub const STEP_FAILED: u32 = 7;
    /// First code free for module-specific failures.
    pub const MODULE_SPECIFIC: u32 = 100;
}

#[cfg(all(target_arch = "wasm32", feature = "wasm-runtime"))]
mod wasm_runtime {
    //! What a `no_std` Wasm module needs from its environment.

    #[global_allocator]
    static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    /// A panic is a bug in the module: trap, and let the host report it.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}
