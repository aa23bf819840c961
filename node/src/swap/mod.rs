//! Hot swap of the fusion module, without losing a frame.
//!
//! The executor keeps its last frames and swaps hosts between two frames
//! ([`crate::pipeline::swap`]); everything else is here, off the frame
//! path:
//! - [`Swapper`]: one thread that takes requests one at a time, compiles,
//!   validates, initialises and warms up the new module in shadow on the
//!   executor's recent frames, hands it over, follows the watch and
//!   replies with a [`SwapOutcome`];
//! - the triggers: [`admin`] (`fusion-node deploy` and `module status`
//!   over zenoh), [`watch`] (the module file changing, SIGHUP);
//! - [`signing`] and [`verify`]: ed25519 signatures over a module's
//!   SHA-256, when the launch file requires them.

pub mod admin;
pub mod signing;
pub mod status;
pub mod swapper;
pub mod verify;
pub mod watch;

pub use status::{ModuleStatus, Outcome, SwapOutcome, Trigger};
pub use swapper::{SwapHandle, SwapRequest, SwapRules, Swapper, SwapperConfig, sha256_hex};
pub use verify::{SignaturePolicy, check_signature};
