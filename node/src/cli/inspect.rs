//! `fusion-node inspect`: what a `.wasm` or `.cwasm` is, and whether this
//! host would load it, checked exactly as loading checks it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::host::artifact::{
    self, ArtifactError, Manifest, check_host, check_source, find_source, sha256_hex,
    verify_integrity,
};
use crate::host::{ExportKind, HostEngine, Interface, Limits, ModuleHost};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A `.wasm` module or a `.cwasm` artifact (its manifest beside it).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

/// What `inspect` reports.
#[derive(Debug, Serialize)]
struct Report {
    file: PathBuf,
    kind: &'static str,
    size: u64,
    sha256: String,
    abi_version: Option<u32>,
    target: String,
    cpu: Option<String>,
    memory_min_pages: Option<u64>,
    memory_max_pages: Option<u64>,
    interface: Option<Interface>,
    manifest: Option<Manifest>,
    loadable: bool,
    reason: Option<String>,
}

pub fn run(args: InspectArgs) -> Result<(), CliError> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let report = if bytes.starts_with(b"\0asm") {
        inspect_wasm(&args.file, &bytes)?
    } else {
        inspect_cwasm(&args.file, &bytes)?
    };
    print(&report, args.json)?;
    // A valid artifact for another target is described, not a failure;
    // anything loading would refuse for another reason is.
    match &report.reason {
        Some(reason) if !report.target_is_foreign() => Err(CliError::failure(format!(
            "{}: would be refused: {reason}",
            args.file.display()
        ))),
        _ => Ok(()),
    }
}

impl Report {
    fn target_is_foreign(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.starts_with(FOREIGN_PREFIX))
    }
}

const FOREIGN_PREFIX: &str = "not loadable on this host: ";

fn host() -> Result<HostEngine, CliError> {
    HostEngine::new().map_err(|e| CliError::failure(e.to_string()))
}

fn memory(interface: &Interface) -> (Option<u64>, Option<u64>) {
    match interface.export(fusion_abi::exports::MEMORY) {
        Some(ExportKind::Memory {
            min_pages,
            max_pages,
        }) => (Some(*min_pages), *max_pages),
        _ => (None, None),
    }
}

fn inspect_wasm(path: &Path, wasm: &[u8]) -> Result<Report, CliError> {
    let interface = Interface::from_wasm(wasm).ok();
    let (memory_min_pages, memory_max_pages) = interface.as_ref().map_or((None, None), memory);
    // Loading compiles, validates, instantiates and asks the ABI version.
    let loaded = ModuleHost::from_wasm(&host()?, wasm, Limits::default());
    Ok(Report {
        file: path.to_owned(),
        kind: "wasm",
        size: wasm.len() as u64,
        sha256: sha256_hex(wasm),
        abi_version: loaded.as_ref().ok().map(|_| fusion_abi::ABI_VERSION),
        target: "wasm32".into(),
        cpu: None,
        memory_min_pages,
        memory_max_pages,
        interface,
        manifest: None,
        loadable: loaded.is_ok(),
        reason: loaded.err().map(|e| e.to_string()),
    })
}

fn inspect_cwasm(path: &Path, bytes: &[u8]) -> Result<Report, CliError> {
    let mut report = Report {
        file: path.to_owned(),
        kind: "cwasm",
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        abi_version: None,
        target: "unknown".into(),
        cpu: None,
        memory_min_pages: None,
        memory_max_pages: None,
        interface: None,
        manifest: None,
        loadable: false,
        reason: None,
    };
    let verified = match verify_integrity(path) {
        Ok(v) => v,
        Err(e) => {
            report.reason = Some(e.to_string());
            return Ok(report);
        }
    };
    let manifest = verified.manifest.clone();
    (report.memory_min_pages, report.memory_max_pages) = memory(&manifest.interface);
    report.abi_version = Some(manifest.abi_version);
    report.target = manifest.target.clone();
    report.cpu = Some(manifest.cpu.clone());
    report.interface = Some(manifest.interface.clone());
    report.manifest = Some(manifest);
    let manifest = &verified.manifest;
    let checked = check_host(manifest).and_then(|()| match find_source(path, None) {
        Some(source) => {
            let wasm = std::fs::read(&source).map_err(|e| ArtifactError::io(&source, &e))?;
            check_source(manifest, &source, &wasm)
        }
        None => Ok(()),
    });
    let loaded = checked.and_then(|()| {
        let engine = host().map_err(|e| ArtifactError::Rejected {
            path: path.to_owned(),
            reason: e.message,
        })?;
        let module = artifact::deserialize(&engine, path, &verified)?;
        let host = ModuleHost::from_module(&engine, &module, Limits::default())?;
        report.interface = Some(Interface::from_module(&module));
        Ok(host)
    });
    match loaded {
        Ok(_) => report.loadable = true,
        Err(e @ ArtifactError::ForeignTarget { .. }) => {
            report.reason = Some(format!("{FOREIGN_PREFIX}{e}"));
        }
        Err(e) => report.reason = Some(e.to_string()),
    }
    Ok(report)
}

fn print(report: &Report, json: bool) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    let text = if json {
        serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
    } else {
        text(report)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::failure(e.to_string()))
}

fn text(r: &Report) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<12} {v}\n"));
    line("file", r.file.display().to_string());
    line("kind", r.kind.into());
    line("size", format!("{} bytes", r.size));
    line("sha256", r.sha256.clone());
    let abi = r.abi_version.map_or("unknown".into(), |v| v.to_string());
    line("abi", abi);
    line("target", r.target.clone());
    if let Some(cpu) = &r.cpu {
        line("cpu", cpu.clone());
    }
    if let Some(m) = &r.manifest {
        line(
            "source",
            format!("sha256 {} ({} bytes)", m.source_sha256, m.source_len),
        );
        line("wasmtime", m.wasmtime_version.clone());
        line("features", m.cpu_features.join(", "));
    }
    if let Some(min) = r.memory_min_pages {
        let max = r
            .memory_max_pages
            .map_or("no maximum".into(), |m| format!("at most {m} pages"));
        line("memory", format!("{min} pages (64 KiB) initially, {max}"));
    }
    if let Some(i) = &r.interface {
        let imports: Vec<String> = i
            .imports
            .iter()
            .map(|i| format!("{}.{} ({})", i.module, i.name, i.kind))
            .collect();
        line(
            "imports",
            if imports.is_empty() {
                "none".into()
            } else {
                imports.join(", ")
            },
        );
        let exports: Vec<&str> = i.exports.iter().map(|e| e.name.as_str()).collect();
        line("exports", exports.join(", "));
    }
    let loadable = match (&r.reason, r.loadable) {
        (_, true) => "yes".to_owned(),
        (Some(reason), false) => format!("no: {reason}"),
        (None, false) => "no".to_owned(),
    };
    line("loadable", loadable);
    s
}
