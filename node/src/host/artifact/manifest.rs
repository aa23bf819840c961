//! The manifest: a JSON sidecar `module.cwasm.json` that says what an
//! artifact is, so that it can be checked before wasmtime is trusted with
//! it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ArtifactError;
use crate::host::{EngineSettings, Interface};

/// The manifest layout version this node reads and writes.
pub const MANIFEST_FORMAT: u32 = 1;

/// What a `.cwasm` is, recorded when it was compiled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// SHA-256 of the source `.wasm`, lower-case hex.
    pub source_sha256: String,
    /// Length of the source `.wasm`.
    pub source_len: u64,
    /// File name of the source as it was compiled, if it came from a file.
    pub source_file: Option<String>,
    /// SHA-256 of the `.cwasm`, lower-case hex.
    pub artifact_sha256: String,
    /// Length of the `.cwasm`.
    pub artifact_len: u64,
    /// The ABI version whose interface the module was validated against.
    pub abi_version: u32,
    /// The wasmtime release that compiled it.
    pub wasmtime_version: String,
    /// The target triple it was compiled for.
    pub target: String,
    /// The CPU (`native`: the compiling host's own).
    pub cpu: String,
    /// CPU features the code may use (`std::arch` names).
    pub cpu_features: Vec<String>,
    /// The node's engine settings.
    pub engine: EngineSettings,
    /// SHA-256 of the compiling engine's configuration (the cache key part).
    pub engine_fingerprint: String,
    /// The module's imports and exports, so that an artifact for another
    /// target can be described without loading it.
    pub interface: Interface,
}

/// `module.cwasm` → `module.cwasm.json`.
pub fn manifest_path(cwasm: &Path) -> PathBuf {
    let mut name = cwasm.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

impl Manifest {
    /// Reads and parses the manifest beside `cwasm`.
    pub fn read_beside(cwasm: &Path) -> Result<Self, ArtifactError> {
        let path = manifest_path(cwasm);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArtifactError::ManifestMissing { path });
            }
            Err(e) => return Err(ArtifactError::io(&path, &e)),
        };
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|e| ArtifactError::ManifestInvalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ArtifactError::ManifestInvalid {
                path,
                reason: format!(
                    "format {} (this node reads format {MANIFEST_FORMAT})",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }

    /// The manifest as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}
