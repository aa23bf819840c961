//! `fusion-node info`: what a recorded drive holds, like `ros2 bag info`.

use std::path::PathBuf;

use clap::Args;

use super::CliError;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The drive (`.mcap`).
    #[arg(value_name = "DRIVE")]
    drive: PathBuf,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InfoArgs) -> Result<(), CliError> {
    // Unreadable or not MCAP: one line, exit code 2. Truncated or corrupt
    // files still get their figures, with the warnings on stderr.
    let info =
        fusion_drive::DriveInfo::read(&args.drive).map_err(|e| CliError::usage(e.to_string()))?;
    if args.json {
        let json = serde_json::to_string_pretty(&info)
            .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
        println!("{json}");
        eprint!("{}", info.issues);
    } else {
        print!("{info}");
    }
    Ok(())
}
