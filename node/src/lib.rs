//! fusion-node: a real-time sensor-fusion node for vehicle edge computers.
//!
//! This crate owns everything that touches the outside world: the command
//! line, I/O, scheduling and (in later modules) the Wasm module host. Wire
//! types come from `fusion-msgs`.

pub mod align;
pub mod cli;
pub mod deadline;
pub mod diagnostics;
pub mod host;
pub mod launch;
pub mod metrics;
pub mod modules;
pub mod monitor;
pub mod node;
pub mod pipeline;
pub mod replay;
pub mod sched;
pub mod simulate;
pub mod stats;
pub mod swap;
pub mod transport;
