//! The guest SDK: what a module author implements, and the export macro.

use alloc::string::String;
use alloc::vec::Vec;

use fusion_msgs::fusion_interfaces::ModuleConfig;

use crate::frame::Frame;
use crate::runtime::Runtime;

/// A failure with a status code (see [`crate::status`]) and a readable
/// message for the host's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleError {
    /// A [`crate::status`] code.
    pub code: u32,
    /// What went wrong, for a person.
    pub message: String,
}

impl ModuleError {
    /// An error with a status code and a message.
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        ModuleError {
            code,
            message: message.into(),
        }
    }

    /// A [`crate::status::BAD_CONFIG`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(crate::status::BAD_CONFIG, message)
    }
}

impl core::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (status {})", self.message, self.code)
    }
}

/// A fusion algorithm. Implement this and call [`crate::export_module!`].
pub trait FusionModule: Sized {
    /// Identifies the layout of [`FusionModule::snapshot`] bytes; a host
    /// carries state across a swap only between modules with the same
    /// non-zero schema. 0 means the module keeps no state across swaps.
    const STATE_SCHEMA: u64 = 0;

    /// Builds the module from the node's configuration. An invalid
    /// configuration is an `Err` with a readable message, never a panic.
    fn init(config: &ModuleConfig) -> Result<Self, ModuleError>;

    /// Fuses one frame and writes the CDR bytes of an
    /// `autoware_perception_msgs/msg/TrackedObjects` into `out`, which
    /// arrives empty and keeps its capacity from frame to frame.
    fn step(&mut self, frame: &Frame<'_>, out: &mut Vec<u8>) -> Result<(), ModuleError>;

    /// Writes the state a successor needs (tracks) into `out`.
    fn snapshot(&self, _out: &mut Vec<u8>) -> Result<(), ModuleError> {
        Err(ModuleError::new(
            crate::status::UNSUPPORTED,
            "this module keeps no state across swaps",
        ))
    }

    /// Takes over the state a predecessor wrote with the same schema.
    fn restore(&mut self, _state: &[u8]) -> Result<(), ModuleError> {
        Err(ModuleError::new(
            crate::status::UNSUPPORTED,
            "this module keeps no state across swaps",
        ))
    }
}

/// Runs a module natively through the same byte-level path as the Wasm
/// exports (config CDR in, frame bytes in, output bytes out). The native
/// build is the speed baseline and the determinism oracle of the Wasm one.
pub struct NativeModule<M: FusionModule> {
    runtime: Runtime<M>,
}

impl<M: FusionModule> NativeModule<M> {
    /// Decodes the CDR `config` and initialises the module.
    pub fn init(config: &[u8]) -> Result<Self, ModuleError> {
        let mut runtime = Runtime::new();
        runtime.input(config.len())?.copy_from_slice(config);
        runtime.init(config.len())?;
        Ok(NativeModule { runtime })
    }

    /// Runs one frame given as bytes; returns the output CDR.
    pub fn step(&mut self, frame: &[u8]) -> Result<&[u8], ModuleError> {
        self.runtime.input(frame.len())?.copy_from_slice(frame);
        self.runtime.step(frame.len())
    }

    /// The module's state for a successor.
    pub fn snapshot(&mut self) -> Result<&[u8], ModuleError> {
        self.runtime.snapshot()
    }

    /// Restores a predecessor's state.
    pub fn restore(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        self.runtime.input(state.len())?.copy_from_slice(state);
        self.runtime.restore(state.len())
    }
}

/// Exports `ty` (a [`FusionModule`]) as a Wasm module of ABI version 1.
///
/// Expands to nothing outside `wasm32`, so the same crate also builds as a
/// native library.
#[macro_export]
macro_rules! export_module {
    ($module:ty) => {
        #[cfg(target_arch = "wasm32")]
        type __FusionExportedModule = $module;

        #[cfg(target_arch = "wasm32")]
        mod __fusion_module_exports {
            use $crate::guest::wasm::ModuleCell;

            static MODULE: ModuleCell<super::__FusionExportedModule> = ModuleCell::new();

            #[unsafe(no_mangle)]
            extern "C" fn fusion_abi_version() -> i32 {
                $crate::ABI_VERSION as i32
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_input_buffer(len: i32) -> i32 {
                MODULE.exports().input_buffer(len)
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_init(len: i32) -> i32 {
                MODULE.exports().init(len)
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_step(len: i32) -> i64 {
                MODULE.exports().step(len)
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_last_error() -> i64 {
                MODULE.exports().last_error()
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_state_schema() -> i64 {
                MODULE.exports().state_schema()
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_snapshot() -> i64 {
                MODULE.exports().snapshot()
            }
            #[unsafe(no_mangle)]
            extern "C" fn fusion_restore(len: i32) -> i32 {
                MODULE.exports().restore(len)
            }
        }
    };
}

/// The Wasm side of [`export_module!`]: pointer and status encoding.
#[cfg(target_arch = "wasm32")]
pub mod wasm {
    use core::cell::UnsafeCell;

    use crate::FusionModule;
    use crate::runtime::Runtime;

    /// The one module instance of a Wasm module.
    pub struct ModuleCell<M: FusionModule>(UnsafeCell<Option<Exports<M>>>);

    // SAFETY: a wasm32 module without the atomics feature has one thread,
    // and the host calls one export at a time (the module imports nothing,
    // so no export runs inside another).
    #[cfg(not(target_feature = "atomics"))]
    unsafe impl<M: FusionModule> Sync for ModuleCell<M> {}

    impl<M: FusionModule> Default for ModuleCell<M> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<M: FusionModule> ModuleCell<M> {
        /// An empty cell; the runtime is created on first use.
        pub const fn new() -> Self {
            ModuleCell(UnsafeCell::new(None))
        }

        /// The exports' state.
        #[allow(clippy::mut_from_ref)]
        pub fn exports(&self) -> &mut Exports<M> {
            // SAFETY: see the Sync impl: no other reference is alive while
            // an export runs, and none outlives it.
            let slot = unsafe { &mut *self.0.get() };
            slot.get_or_insert_with(|| Exports {
                runtime: Runtime::new(),
                error: alloc::string::String::new(),
            })
        }
    }

    /// The runtime plus the last error message.
    pub struct Exports<M: FusionModule> {
        runtime: Runtime<M>,
        error: alloc::string::String,
    }

    fn packed(bytes: &[u8]) -> i64 {
        ((bytes.len() as i64) << 32) | bytes.as_ptr() as usize as i64
    }

    impl<M: FusionModule> Exports<M> {
        fn fail(&mut self, err: crate::ModuleError) -> u32 {
            self.error = err.message;
            err.code
        }

        /// `fusion_input_buffer`.
        pub fn input_buffer(&mut self, len: i32) -> i32 {
            let buffer = usize::try_from(len)
                .map_err(|_| crate::ModuleError::new(crate::status::NO_MEMORY, "negative length"))
                .and_then(|len| {
                    self.runtime
                        .input(len)
                        .map(|buf| buf.as_mut_ptr() as usize as i32)
                });
            buffer.unwrap_or_else(|e| {
                self.fail(e);
                0
            })
        }

        /// `fusion_init`.
        pub fn init(&mut self, len: i32) -> i32 {
            match self.runtime.init(len.max(0) as usize) {
                Ok(()) => 0,
                Err(e) => self.fail(e) as i32,
            }
        }

        /// `fusion_step`.
        pub fn step(&mut self, len: i32) -> i64 {
            match self.runtime.step(len.max(0) as usize) {
                Ok(out) => packed(out),
                Err(e) => -i64::from(self.fail(e)),
            }
        }

        /// `fusion_last_error`.
        pub fn last_error(&self) -> i64 {
            packed(self.error.as_bytes())
        }

        /// `fusion_state_schema`.
        pub fn state_schema(&self) -> i64 {
            M::STATE_SCHEMA as i64
        }

        /// `fusion_snapshot`.
        pub fn snapshot(&mut self) -> i64 {
            match self.runtime.snapshot() {
                Ok(state) => packed(state),
                Err(e) => -i64::from(self.fail(e)),
            }
        }

        /// `fusion_restore`.
        pub fn restore(&mut self, len: i32) -> i32 {
            match self.runtime.restore(len.max(0) as usize) {
                Ok(()) => 0,
                Err(e) => self.fail(e) as i32,
            }
        }
    }
}
