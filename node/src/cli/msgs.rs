//! `fusion-node msgs`: the message registry, as `ros2 interface` shows it.

use std::io::Write;

use clap::Subcommand;
use fusion_msgs::{ALL_TYPES, TypeInfo};

use super::CliError;

#[derive(Debug, Subcommand)]
pub enum MsgsCommand {
    /// List every message type, one fully qualified name per line.
    List,
    /// Print a type's definition with its dependencies concatenated, exactly
    /// as it is written as an MCAP `ros2msg` schema.
    Show {
        /// Type name: `sensor_msgs/msg/PointCloud2` or `sensor_msgs/PointCloud2`.
        #[arg(value_name = "TYPE")]
        type_name: String,
        /// Print only the type's own `.msg` file, without dependencies.
        #[arg(long)]
        no_deps: bool,
    },
}

pub fn run(cmd: MsgsCommand) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let written = match cmd {
        MsgsCommand::List => ALL_TYPES
            .iter()
            .try_for_each(|t| writeln!(out, "{}", t.name)),
        MsgsCommand::Show { type_name, no_deps } => {
            let info = find(&type_name)?;
            let text = if no_deps {
                info.definition
            } else {
                info.full_definition
            };
            out.write_all(text.as_bytes())
        }
    };
    match written {
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError {
            message: e.to_string(),
            code: 1,
        }),
        _ => Ok(()),
    }
}

fn find(name: &str) -> Result<&'static TypeInfo, CliError> {
    TypeInfo::find(name).ok_or_else(|| {
        let short = name.rsplit('/').next().unwrap_or(name);
        let similar: Vec<&str> = ALL_TYPES
            .iter()
            .filter(|t| {
                t.name
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(short))
            })
            .map(|t| t.name)
            .collect();
        let hint = match similar.as_slice() {
            [] => "`fusion-node msgs list` shows the known types".to_owned(),
            names => format!("did you mean {}?", names.join(" or ")),
        };
        CliError::usage(format!("unknown message type `{name}`: {hint}"))
    })
}
