//! Where the node finds the fusion modules it ships.

/// The reference fusion module, built for `wasm32-unknown-unknown` by the
/// build script (see ARCHITECTURE.md).
pub const REFERENCE_WASM: &str = env!("FUSION_REFERENCE_WASM");
