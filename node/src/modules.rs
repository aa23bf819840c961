//! Where the node finds the fusion modules it ships.

/// The reference fusion module, built for `wasm32-unknown-unknown` by the
/// build script (see ARCHITECTURE.md): the file in the target directory.
pub const REFERENCE_WASM: &str = env!("FUSION_REFERENCE_WASM");

/// The same module embedded in the binary, which is what
/// `builtin:reference` loads: an installed `fusion-node` carries its
/// module and needs no build tree.
pub static REFERENCE_WASM_BYTES: &[u8] = include_bytes!(env!("FUSION_REFERENCE_WASM"));
