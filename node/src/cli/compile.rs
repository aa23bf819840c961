//! `fusion-node compile`: ahead-of-time compilation to `.cwasm` plus its
//! manifest.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::host::CompileTarget;
use crate::host::artifact::{self, manifest_path};

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The `.wasm` module to compile.
    #[arg(value_name = "MODULE.wasm")]
    input: PathBuf,
    /// Where to write the artifact [default: the input with extension
    /// `.cwasm`]. The manifest goes beside it as `<output>.json`.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Target triple, for cross-compilation [default: this host].
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// CPU whose features the code may use: `native` (this host's, the
    /// default on this host), `generic`, `cortex-a72`, `cortex-a76`,
    /// `cortex-a78`, `neoverse-n1`, `x86-64-v2` or `x86-64-v3`. A foreign
    /// target without `--cpu` gets its baseline (`generic`, `x86-64-v2`).
    #[arg(long, value_name = "CPU")]
    cpu: Option<String>,
}

pub fn run(args: CompileArgs) -> Result<(), CliError> {
    let target = CompileTarget::parse(args.target.as_deref(), args.cpu.as_deref())
        .map_err(|e| CliError::usage(e.to_string()))?;
    let wasm = std::fs::read(&args.input)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.input.display())))?;
    let output = args
        .output
        .unwrap_or_else(|| args.input.with_extension("cwasm"));
    let source_file = args.input.file_name().map(|n| n.to_string_lossy());
    let compiled = artifact::compile(&wasm, &target, source_file.as_deref())
        .map_err(|e| CliError::failure(format!("{}: {e}", args.input.display())))?;
    compiled
        .write(&output)
        .map_err(|e| CliError::failure(e.to_string()))?;
    eprintln!(
        "compiled {} -> {} ({} bytes) and {} for {} (cpu {}) in {:.2} s",
        args.input.display(),
        output.display(),
        compiled.artifact.len(),
        manifest_path(&output).display(),
        compiled.manifest.target,
        compiled.manifest.cpu,
        compiled.compile_time.as_secs_f64(),
    );
    Ok(())
}
