//! `fusion-node stats`: a running node's live counters and percentiles.

use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::launch::parse_duration;

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The node's name (the launch file's `name`).
    #[arg(long, value_name = "NAME")]
    node: String,
    /// A zenoh endpoint to connect to, e.g. `tcp/127.0.0.1:7447`
    /// (repeatable); without it, peers are found by multicast scouting.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the node's JSON answer instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatsArgs) -> Result<(), CliError> {
    super::init_logging("info");
    let key = crate::stats::key(&args.node).map_err(|e| CliError::usage(e.to_string()))?;
    let stats = super::ask_node(&args.node, key, &args.connect, None, None, args.timeout)?;
    if args.json {
        println!("{stats:#}");
    } else {
        print!("{}", crate::stats::table(&stats));
    }
    Ok(())
}
