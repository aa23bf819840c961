//! `fusion-node deploy`: sends a module to a running node over zenoh and
//! prints how the hot swap went.
//!
//! Exit codes: 0 swapped (or already running), 1 refused or rolled back,
//! 2 a usage error, an unreadable file or no node answering.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::launch::parse_duration;
use crate::swap::admin::admin_key;
use crate::swap::signing::{parse_signature, signature_path};

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The module (`.wasm`).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    /// The node's name (the launch file's `name`).
    #[arg(long, value_name = "NAME")]
    node: String,
    /// The module's signature [default: MODULE.sig when it exists].
    #[arg(long, value_name = "FILE")]
    signature: Option<PathBuf>,
    /// A zenoh endpoint to connect to, e.g. `tcp/127.0.0.1:7447`
    /// (repeatable); without it, peers are found by multicast scouting.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// How long to wait for the outcome (the node answers after the new
    /// module's watched frames).
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DeployArgs) -> Result<(), CliError> {
    super::init_logging("warn");
    let read = |path: &PathBuf| {
        std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
    };
    let module = read(&args.module)?;
    let signature = match &args.signature {
        Some(path) => Some(read(path)?),
        None => std::fs::read(signature_path(&args.module)).ok(),
    };
    // Checked here for a clear error, sent as it is: the node reads both
    // forms (a release statement keeps its version).
    if let Some(bytes) = &signature {
        parse_signature(bytes).map_err(|e| CliError::usage(e.to_string()))?;
    }
    let key = admin_key(&args.node, "deploy").map_err(|e| CliError::usage(e.to_string()))?;
    let outcome = super::ask_node(
        &args.node,
        key,
        &args.connect,
        Some(module),
        signature,
        args.timeout,
    )?;
    if args.json {
        println!("{outcome:#}");
    } else {
        print!("{}", describe(&outcome));
    }
    match outcome["outcome"].as_str() {
        Some("swapped" | "unchanged") => Ok(()),
        Some(other) => Err(CliError::failure(format!(
            "{other}: {}",
            outcome["reason"].as_str().unwrap_or("(no reason given)")
        ))),
        None => Err(CliError::failure("the node's answer has no outcome")),
    }
}

/// The outcome in a few lines.
fn describe(o: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let text = |key: &str| o[key].as_str().unwrap_or("").to_owned();
    let _ = writeln!(
        out,
        "{}: module {}",
        text("outcome"),
        short(&text("module_sha256"))
    );
    if let Some(reason) = o["reason"].as_str() {
        let _ = writeln!(out, "  reason: {reason}");
    }
    if let Some(state) = o["state"].as_str() {
        let _ = writeln!(out, "  tracker state: {state}");
    }
    if let Some(seq) = o["first_sequence"].as_u64() {
        let _ = writeln!(
            out,
            "  live from frame {seq}; swap pause {:.1} µs",
            o["pause_us"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(frames) = o["warmup_frames"].as_u64() {
        let _ = writeln!(
            out,
            "  warm-up: {frames} frames in shadow, slowest step {:.0} µs; prepared in {:.0} ms",
            o["warmup_max_step_us"].as_f64().unwrap_or(0.0),
            o["prepare_ms"].as_f64().unwrap_or(0.0)
        );
    }
    if let Some(frames) = o["watched_frames"].as_u64() {
        let _ = writeln!(
            out,
            "  watched {frames} frames, {} deadline misses",
            o["watched_misses"].as_u64().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "  running: {}", short(&text("running_sha256")));
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
