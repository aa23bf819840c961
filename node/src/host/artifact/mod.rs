//! Ahead-of-time compilation: `.cwasm` artifacts with their manifests, and
//! loading them back only after they are verified.

mod manifest;
mod verify;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Module;

pub use manifest::{MANIFEST_FORMAT, Manifest, manifest_path};
pub(crate) use verify::deserialize;
pub use verify::{
    ArtifactError, Verified, check_host, check_source, sha256_hex, verify_and_deserialize,
    verify_integrity,
};

use super::{
    ALLOWED_IMPORTS, CompileTarget, EngineSettings, HostEngine, Interface, WASMTIME_VERSION,
    build_engine, fingerprint, validate_interface,
};

/// A compiled module, not yet written anywhere.
#[derive(Debug)]
pub struct Compiled {
    /// The `.cwasm` bytes.
    pub artifact: Vec<u8>,
    /// Its manifest.
    pub manifest: Manifest,
    /// The module's imports and exports.
    pub interface: Interface,
    /// Time spent in Cranelift.
    pub compile_time: Duration,
}

/// Validates `wasm` against the ABI and compiles it for `target`.
/// `source_file` is recorded in the manifest (a file name, not a path).
pub fn compile(
    wasm: &[u8],
    target: &CompileTarget,
    source_file: Option<&str>,
) -> Result<Compiled, ArtifactError> {
    let interface = Interface::from_wasm(wasm)?;
    validate_interface(&interface, ALLOWED_IMPORTS)?;
    let engine = build_engine(target)?;
    let start = Instant::now();
    let artifact = engine
        .precompile_module(wasm)
        .map_err(|e| super::HostError::Compile(format!("{e:#}")))?;
    let compile_time = start.elapsed();
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        source_sha256: sha256_hex(wasm),
        source_len: wasm.len() as u64,
        source_file: source_file.map(str::to_owned),
        artifact_sha256: sha256_hex(&artifact),
        artifact_len: artifact.len() as u64,
        abi_version: fusion_abi::ABI_VERSION,
        wasmtime_version: WASMTIME_VERSION.into(),
        target: target.triple().to_string(),
        cpu: target.cpu_name().into(),
        cpu_features: target.cpu_features(),
        engine: EngineSettings::current(),
        engine_fingerprint: fingerprint(&engine),
        interface: interface.clone(),
    };
    Ok(Compiled {
        artifact,
        manifest,
        interface,
        compile_time,
    })
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so a reader sees the old file or the new one, never half.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ArtifactError::io(path, &e)
    })
}

impl Compiled {
    /// Writes the artifact, then its manifest beside it.
    pub fn write(&self, cwasm: &Path) -> Result<(), ArtifactError> {
        write_atomically(cwasm, &self.artifact)?;
        write_atomically(&manifest_path(cwasm), self.manifest.to_json().as_bytes())
    }
}

/// How a module was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOrigin {
    /// From the verified artifact.
    Artifact,
    /// The artifact was refused and the source compiled instead.
    Recompiled {
        /// Why the artifact was refused.
        reason: ArtifactError,
        /// The source that was compiled.
        source: PathBuf,
    },
}

/// A module ready to instantiate.
#[derive(Debug)]
pub struct Loaded {
    /// The module.
    pub module: Module,
    /// Where it came from.
    pub origin: LoadOrigin,
    /// The SHA-256 (hex) of the bytes it was made from: the artifact as
    /// verified, or the source compiled instead. The module's name in the
    /// logs: hashing the file again could name another file.
    pub sha256: String,
}

/// The source of `cwasm`: `source` if given, else `module.wasm` beside
/// `module.cwasm`, else the file the manifest names, in the same directory.
pub fn find_source(cwasm: &Path, source: Option<&Path>) -> Option<PathBuf> {
    if let Some(source) = source {
        return Some(source.to_owned());
    }
    let sibling = cwasm.with_extension("wasm");
    if sibling != cwasm && sibling.is_file() {
        return Some(sibling);
    }
    let named = Manifest::read_beside(cwasm).ok()?.source_file?;
    // Only a bare file name: the manifest must not point elsewhere.
    let named = Path::new(&named).file_name()?;
    let path = cwasm.with_file_name(named);
    path.is_file().then_some(path)
}

/// Loads `cwasm` after every check. If it is refused for any reason and
/// its source `.wasm` is at hand (see [`find_source`]), the source is
/// compiled instead and the reason is reported in [`LoadOrigin`]; the
/// stale artifact is left as it is.
pub fn load(
    engine: &HostEngine,
    cwasm: &Path,
    source: Option<&Path>,
) -> Result<Loaded, ArtifactError> {
    let source = find_source(cwasm, source);
    let refused = match verify_integrity(cwasm) {
        Ok(verified) => {
            let checked = check_host(&verified.manifest).and_then(|()| match &source {
                Some(path) => {
                    let wasm = std::fs::read(path).map_err(|e| ArtifactError::io(path, &e))?;
                    check_source(&verified.manifest, path, &wasm)
                }
                None => Ok(()),
            });
            match checked.and_then(|()| deserialize(engine, cwasm, &verified)) {
                Ok(module) => {
                    return Ok(Loaded {
                        module,
                        origin: LoadOrigin::Artifact,
                        // Verified equal to the SHA-256 of the bytes read.
                        sha256: verified.manifest.artifact_sha256,
                    });
                }
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let Some(source) = source else {
        return Err(refused);
    };
    tracing::warn!(
        artifact = %cwasm.display(),
        source = %source.display(),
        reason = %refused,
        "artifact refused; compiling the source instead"
    );
    let wasm = std::fs::read(&source).map_err(|e| ArtifactError::io(&source, &e))?;
    validate_interface(&Interface::from_wasm(&wasm)?, ALLOWED_IMPORTS)?;
    let module = Module::new(engine.engine(), &wasm)
        .map_err(|e| super::HostError::Compile(format!("{e:#}")))?;
    Ok(Loaded {
        module,
        sha256: sha256_hex(&wasm),
        origin: LoadOrigin::Recompiled {
            reason: refused,
            source,
        },
    })
}
