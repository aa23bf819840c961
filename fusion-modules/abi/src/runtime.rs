//! The byte-level module lifecycle shared by the Wasm exports and
//! [`crate::NativeModule`]: one input buffer, one output buffer, one module.

use alloc::format;
use alloc::vec::Vec;

use fusion_msgs::fusion_interfaces::ModuleConfig;

use crate::frame::Frame;
use crate::guest::{FusionModule, ModuleError};
use crate::status;

/// Largest input buffer a module hands out (frames are a few MB).
const MAX_INPUT_LEN: usize = 256 << 20;

pub(crate) struct Runtime<M> {
    /// u64 storage so the buffer, and so every payload, is 8-byte aligned.
    input: Vec<u64>,
    output: Vec<u8>,
    module: Option<M>,
}

impl<M: FusionModule> Runtime<M> {
    pub(crate) fn new() -> Self {
        Runtime {
            input: Vec::new(),
            output: Vec::new(),
            module: None,
        }
    }

    /// The input buffer, grown (never shrunk) to at least `len` bytes.
    pub(crate) fn input(&mut self, len: usize) -> Result<&mut [u8], ModuleError> {
        if len > MAX_INPUT_LEN {
            return Err(ModuleError::new(
                status::NO_MEMORY,
                format!("input of {len} bytes exceeds {MAX_INPUT_LEN}"),
            ));
        }
        let words = len.div_ceil(8);
        if self.input.len() < words {
            self.input
                .try_reserve_exact(words - self.input.len())
                .map_err(|_| {
                    ModuleError::new(
                        status::NO_MEMORY,
                        format!("cannot allocate an input buffer of {len} bytes"),
                    )
                })?;
            self.input.resize(words, 0);
        }
        Ok(&mut bytes_of(&mut self.input)[..len])
    }

    fn filled(&self, len: usize) -> Result<&[u8], ModuleError> {
        let bytes = bytes_of_ref(&self.input);
        bytes.get(..len).ok_or_else(|| {
            ModuleError::new(
                status::BAD_FRAME,
                format!("length {len} exceeds the {}-byte input buffer", bytes.len()),
            )
        })
    }

    pub(crate) fn init(&mut self, len: usize) -> Result<(), ModuleError> {
        let config: ModuleConfig = fusion_msgs::decode(self.filled(len)?).map_err(|e| {
            ModuleError::config(format!("configuration is not a valid ModuleConfig: {e}"))
        })?;
        self.module = Some(M::init(&config)?);
        Ok(())
    }

    pub(crate) fn step(&mut self, len: usize) -> Result<&[u8], ModuleError> {
        let input = bytes_of_ref(&self.input);
        let bytes = input.get(..len).ok_or_else(|| {
            ModuleError::new(
                status::BAD_FRAME,
                format!("frame length {len} exceeds the input buffer"),
            )
        })?;
        let frame =
            Frame::parse(bytes).map_err(|e| ModuleError::new(status::BAD_FRAME, format!("{e}")))?;
        let module = self.module.as_mut().ok_or_else(not_initialized)?;
        self.output.clear();
        module.step(&frame, &mut self.output)?;
        Ok(&self.output)
    }

    pub(crate) fn snapshot(&mut self) -> Result<&[u8], ModuleError> {
        let module = self.module.as_ref().ok_or_else(not_initialized)?;
        self.output.clear();
        module.snapshot(&mut self.output)?;
        Ok(&self.output)
    }

    pub(crate) fn restore(&mut self, len: usize) -> Result<(), ModuleError> {
        let input = bytes_of_ref(&self.input);
        let state = input.get(..len).ok_or_else(|| {
            ModuleError::new(status::BAD_STATE, "state length exceeds the input buffer")
        })?;
        self.module
            .as_mut()
            .ok_or_else(not_initialized)?
            .restore(state)
    }
}

fn not_initialized() -> ModuleError {
    ModuleError::new(status::NOT_INITIALIZED, "fusion_init has not succeeded")
}

fn bytes_of(words: &mut [u64]) -> &mut [u8] {
    let len = words.len() * 8;
    // SAFETY: u8 has no alignment or validity requirements, the length
    // covers exactly the words' bytes, and the borrow is carried over.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), len) }
}

fn bytes_of_ref(words: &[u64]) -> &[u8] {
    // SAFETY: as in `bytes_of`.
    unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}
