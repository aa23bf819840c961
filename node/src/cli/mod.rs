//! Command-line interface: argument parsing and dispatch to subcommands.
//!
//! Exit codes follow ripgrep and cargo: 0 success, 1 a failure was found,
//! 2 a usage or input error.

mod check_launch;
mod compile;
mod demo;
mod deploy;
mod evaluate;
mod info;
mod inspect;
mod module;
mod msgs;
mod progress;
mod record;
mod replay;
mod report;
mod run;
mod simulate;
mod simulate_live;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for a failure found (a module or artifact that is refused).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage or input error.
pub const EXIT_USAGE: u8 = 2;

/// Real-time LiDAR, radar and camera fusion for vehicle edge computers.
///
/// fusion-node subscribes to ROS 2 sensor topics over zenoh, aligns their
/// messages into frames, runs a WebAssembly fusion module on each frame under
/// a deadline and publishes tracked objects.
#[derive(Debug, Parser)]
#[command(
    name = "fusion-node",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node on the default launch file, fed the sample drive
    /// replayed live (or, with --simulate, the live simulator), all in this
    /// process on loopback zenoh (no router, nothing else installed); print
    /// a status line a second, then the summary, the tracking accuracy
    /// against the drive's ground truth and where the logs are.
    ///
    /// Example: fusion-node demo --duration 20s
    Demo(demo::DemoArgs),
    /// Inspect the ROS 2 message types the node reads and writes.
    #[command(subcommand)]
    Msgs(msgs::MsgsCommand),
    /// Compile a fusion module ahead of time to a `.cwasm` artifact and its
    /// manifest (`.cwasm.json`), for this host or another target.
    ///
    /// Example: fusion-node compile fusion.wasm --target aarch64-unknown-linux-gnu --cpu cortex-a78
    Compile(compile::CompileArgs),
    /// Describe a `.wasm` or `.cwasm`: ABI version, imports, exports, memory
    /// limits, hashes, target. A `.cwasm` is verified exactly as loading
    /// verifies it; exit code 1 and the reason when it would be refused. A
    /// valid artifact for another target is described (exit code 0).
    Inspect(inspect::InspectArgs),
    /// Deploy tools for fusion modules: `keygen` makes an ed25519 key pair
    /// for the launch file's `[module.swap] trusted_keys`, `sign` writes
    /// a module's signature (MODULE.sig) for `require_signed`.
    ///
    /// Example: fusion-node module sign fusion.wasm --key deploy.key
    #[command(subcommand)]
    Module(module::ModuleCommand),
    /// Summarise a recorded drive (`.mcap`): duration, start and end,
    /// message counts and rates per topic, compression. Read from the
    /// summary section, or by scanning a truncated file (with a warning).
    /// Exit code 2 when the file cannot be read or is not MCAP.
    ///
    /// Example: fusion-node info drive.mcap --json
    Info(info::InfoArgs),
    /// Validate a launch file without running it.
    CheckLaunch(check_launch::CheckLaunchArgs),
    /// Run the node: subscribe to the launch file's sensors, fuse each
    /// aligned frame with its module under the deadline, publish the
    /// tracked objects. Stops on SIGINT/SIGTERM (or after --duration),
    /// draining the frames in flight, and prints a summary.
    ///
    /// Example: fusion-node run --launch launch/default.toml
    Run(run::RunArgs),
    /// Simulate a drive of a named scenario and write it to an MCAP file:
    /// every sensor at its own rate, and the ground truth.
    ///
    /// Example: fusion-node simulate --scenario highway --duration 60s --seed 1 -o drive.mcap
    Simulate(simulate::SimulateArgs),
    /// Replay a drive: onto zenoh with its recorded timing for a live
    /// node, or with --offline through the aligner and module here,
    /// deterministically, into a fused drive.
    ///
    /// Example: fusion-node replay drive.mcap --offline -o fused.mcap --frames-log frames.jsonl
    Replay(replay::ReplayArgs),
    /// QA: a run's deadline-miss and latency report (HTML, JSON or
    /// markdown) and release gate, or two runs side by side.
    ///
    /// Example: fusion-node report --hlog logs/latency.hlog --misses logs/misses.jsonl -o report.html --fail-on 'miss-rate>0.001,p99.9>5ms'
    Report(report::ReportArgs),
    /// Score a fused drive against its ground truth: CLEAR MOT, IDF1, ID
    /// switches, precision and recall per class, position and velocity
    /// RMSE.
    ///
    /// Example: fusion-node evaluate fused.mcap
    Evaluate(evaluate::EvaluateArgs),
    /// Record a launch file's topics (its sensors, outputs, /diagnostics
    /// and /ground_truth/objects) over zenoh to a drive (`.mcap`) that
    /// Foxglove and `ros2 bag` open. Stops on SIGINT/SIGTERM (or after
    /// --duration), finishes the file and prints messages and drops per
    /// topic. A killed recorder leaves a file readable up to its last
    /// chunk (about a second).
    ///
    /// Example: fusion-node record -o drive.mcap --launch launch/default.toml --duration 10s
    Record(record::RecordArgs),
    /// Publish simulated sensor data (a highway scene) for a launch file's
    /// sensors, e.g. to drive `run` on the same host.
    ///
    /// Example: fusion-node simulate-live --launch launch/default.toml --rate 20 --duration 10s
    SimulateLive(simulate_live::SimulateLiveArgs),
    /// Print a running node's live counters and latency percentiles, read
    /// over zenoh from `fusion/<NAME>/stats`. Exit code 2 when no node
    /// answers.
    ///
    /// Example: fusion-node stats --node fusion_node --connect tcp/127.0.0.1:7447
    Stats(stats::StatsArgs),
    /// Hot-swap a running node's fusion module: send it over zenoh, wait
    /// for the outcome (after the new module's warm-up and watch).
    ///
    /// Example: fusion-node deploy fusion_v2.wasm --node fusion_node
    Deploy(deploy::DeployArgs),
}

/// Parses the process arguments, runs the command and maps its outcome to
/// an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Msgs(_)
            | Command::Info(_)
            | Command::Inspect(_)
            | Command::Module(_)
            | Command::CheckLaunch(_)
            | Command::Report(_)
            | Command::Evaluate(_)
            | Command::Stats(_)
    ) {
        end_quietly_on_a_closed_pipe();
    }
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Msgs(cmd) => msgs::run(cmd),
        Command::Compile(args) => compile::run(args),
        Command::Info(args) => info::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Module(cmd) => module::run(cmd),
        Command::CheckLaunch(args) => check_launch::run(args),
        Command::Record(args) => record::run(args),
        Command::Run(args) => run::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::SimulateLive(args) => simulate_live::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Deploy(args) => deploy::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", err.message);
            ExitCode::from(err.code)
        }
    }
}

/// For commands that print and end: a reader that goes away (`| head`)
/// ends the process quietly, as it ends coreutils, instead of a panic on
/// the next `println!`. Long-running commands keep Rust's default (the
/// pipe's error is theirs to handle), so a node never dies of its stdout.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: called before any thread is started; restores the default
    // disposition, which has no handler to race with.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// An error to report on one line, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// The line to print after `error: `.
    pub message: String,
    /// The process exit code.
    pub code: u8,
}

impl CliError {
    /// A failure found (exit code 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }

    /// A usage or input error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }
}

/// Logs to stderr with `tracing`, filtered by `RUST_LOG` (default
/// `default`, e.g. `info`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A zenoh session: peers at `connect` (multicast scouting off) when
/// given, else the launch file's `[zenoh]`.
fn open_session(
    zenoh: &crate::launch::Zenoh,
    connect: &[String],
) -> Result<zenoh::Session, CliError> {
    use crate::transport;
    let config = if connect.is_empty() {
        transport::config(zenoh)
    } else {
        transport::explicit_peer_config(&[], connect)
    }
    .map_err(|e| CliError::usage(e.to_string()))?;
    transport::open_config(config).map_err(|e| CliError::failure(e.to_string()))
}

/// `--rate` must be a positive number.
/// Asks the node `node` on `key` (over `connect` endpoints, or multicast
/// scouting without them) and returns its JSON answer. No answer within
/// `timeout` is a usage error (exit 2); an error reply is a failure.
fn ask_node(
    node: &str,
    key: zenoh::key_expr::KeyExpr<'static>,
    connect: &[String],
    payload: Option<Vec<u8>>,
    attachment: Option<Vec<u8>>,
    timeout: std::time::Duration,
) -> Result<serde_json::Value, CliError> {
    let config = if connect.is_empty() {
        zenoh::Config::default()
    } else {
        crate::transport::explicit_peer_config(&[], connect)
            .map_err(|e| CliError::usage(e.to_string()))?
    };
    let session =
        crate::transport::open_config(config).map_err(|e| CliError::failure(e.to_string()))?;
    let where_ = key.to_string();
    let answer = crate::transport::query_json(&session, key, payload, attachment, timeout);
    let _ = zenoh::Wait::wait(session.close());
    answer.map_err(CliError::failure)?.ok_or_else(|| {
        CliError::usage(format!(
            "no node named `{node}` answered on {where_} within {}",
            crate::launch::format_duration(timeout)
        ))
    })
}

fn positive_rate(rate: f64) -> Result<(), CliError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "--rate {rate} is not a positive number"
        )))
    }
}

/// A channel that receives once per SIGINT or SIGTERM. (SIGHUP is not a
/// stop: `run` re-reads its launch file on it.)
fn stop_signal() -> Result<crossbeam_channel::Receiver<()>, CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| CliError::failure(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
    std::thread::Builder::new()
        .name("fusion-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                let _ = tx.try_send(());
            }
        })
        .map_err(|e| CliError::failure(format!("cannot handle SIGINT/SIGTERM: {e}")))?;
    Ok(rx)
}
