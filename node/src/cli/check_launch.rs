//! `fusion-node check-launch FILE`: validates a launch file completely,
//! including that its module and zenoh config can be read, without
//! starting anything.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::launch::{
    AlignPolicy, Launch, ModuleSource, SwapPolicy, Zenoh, format_duration, format_size,
};

#[derive(Debug, Args)]
pub struct CheckLaunchArgs {
    /// The launch file (TOML; see launch/README.md).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub fn run(args: CheckLaunchArgs) -> Result<(), CliError> {
    let launch = Launch::load(&args.file).map_err(|e| CliError::usage(e.to_string()))?;
    let written = std::io::stdout()
        .lock()
        .write_all(summary(&launch).as_bytes());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError {
            message: e.to_string(),
            code: 1,
        }),
        _ => Ok(()),
    }
}

/// What the node would run, in a few aligned lines.
fn summary(launch: &Launch) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "{}: ok", launch.file.display());
    let _ = writeln!(s, "node      {}", launch.name);
    let _ = match &launch.zenoh {
        Zenoh::Settings {
            mode,
            connect,
            listen,
        } => writeln!(
            s,
            "zenoh     {} (connect: {}; listen: {})",
            format!("{mode:?}").to_lowercase(),
            list(connect),
            list(listen)
        ),
        Zenoh::ConfigFile(path) => writeln!(s, "zenoh     config {}", path.display()),
    };
    let _ = writeln!(s, "sensors   {}", launch.sensors.len());
    for sensor in &launch.sensors {
        let _ = writeln!(
            s,
            "  {:>2} {:<20} {:<6} {}{}",
            sensor.index,
            sensor.name,
            sensor.kind.name(),
            sensor.topic,
            if sensor.primary { " (primary)" } else { "" }
        );
    }
    let _ = match &launch.align {
        AlignPolicy::Trigger { max_skew, max_wait } => writeln!(
            s,
            "policy    trigger (max_skew {}, max_wait {})",
            format_duration(*max_skew),
            format_duration(*max_wait)
        ),
        AlignPolicy::ApproximateTime {
            queue_size,
            max_interval,
            age_penalty,
        } => writeln!(
            s,
            "policy    approximate_time (queue_size {queue_size}, max_interval {}, age_penalty {age_penalty})",
            max_interval.map_or("none".to_owned(), format_duration)
        ),
    };
    let _ = writeln!(s, "deadline  {}", format_duration(launch.deadline));
    let module = &launch.module;
    let source = match &module.source {
        ModuleSource::BuiltinReference => {
            format!(
                "builtin:reference (embedded, {})",
                format_size(crate::modules::REFERENCE_WASM_BYTES.len() as u64)
            )
        }
        ModuleSource::File(path) => path.display().to_string(),
    };
    let _ = writeln!(
        s,
        "module    {source}, memory {}, {} parameter(s)",
        format_size(module.memory_bytes),
        module.parameters.len()
    );
    swap_policy(&mut s, &module.swap);
    let out = &launch.outputs;
    let _ = writeln!(
        s,
        "outputs   {}, {}, {} (frame {})",
        out.tracked_objects, out.markers, out.diagnostics, out.frame_id
    );
    s
}

/// `[module.swap]`: one line, then the trusted keys.
fn swap_policy(s: &mut String, swap: &SwapPolicy) {
    let _ = writeln!(
        s,
        "swap      watch {}, warmup {} frames, watch {} frames, rollback at {} misses, {}",
        if swap.watch {
            format!("on (poll {})", format_duration(swap.poll_interval))
        } else {
            "off".to_owned()
        },
        swap.warmup_frames,
        swap.watch_frames,
        swap.rollback_misses,
        if swap.require_signed {
            let n = swap.trusted_keys.len();
            format!(
                "signed only ({n} trusted key{})",
                if n == 1 { "" } else { "s" }
            )
        } else {
            "signatures not required".to_owned()
        }
    );
    for (i, key) in swap.trusted_keys.iter().enumerate() {
        let _ = writeln!(s, "  {i:>2} trusted key {key}");
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
