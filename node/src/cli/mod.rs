//! Command-line interface: argument parsing and dispatch to subcommands.
//!
//! Exit codes follow ripgrep and cargo: 0 success, 1 a failure was found,
//! 2 a usage or input error.

mod check_launch;
mod msgs;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Inspect the ROS 2 message types the node reads and writes.
    #[command(subcommand)]
    Msgs(msgs::MsgsCommand),
    /// Validate a launch file without running it.
    CheckLaunch(check_launch::CheckLaunchArgs),
}

/// Parses the process arguments, runs the command and maps its outcome to
/// an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Msgs(cmd) => msgs::run(cmd),
        Command::CheckLaunch(args) => check_launch::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", err.message);
            ExitCode::from(err.code)
        }
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
    /// A usage or input error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }
}
