//! The checks a `.cwasm` passes before `Module::deserialize`, in order:
//! manifest → length and SHA-256 (truncation, tampering) → wasmtime version
//! → `Engine::detect_precompiled` → target, engine settings and CPU
//! features against this host → the source's SHA-256, when the source is
//! at hand.
//!
//! The manifest guards against accidents (a truncated copy, a flipped bit,
//! an artifact for the wrong board or a stale one); it is not a signature.
//! Whoever can write both files can run code in the node, so the artifact
//! directory must be as trusted as the binary.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use target_lexicon::Triple;
use wasmtime::{Engine, Module, Precompiled};

use super::Manifest;
use crate::host::{EngineSettings, HostEngine, HostError, WASMTIME_VERSION, hex, host_has_feature};

/// Why an artifact is refused. Each message says which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// No `.cwasm.json` beside the artifact.
    #[error("manifest {path} is missing: recompile with `fusion-node compile`")]
    ManifestMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The manifest does not parse or has another format.
    #[error("manifest {path} is invalid: {reason}")]
    ManifestInvalid {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The artifact is shorter than the manifest says.
    #[error("{path} is truncated: {found} of {expected} bytes")]
    Truncated {
        /// The artifact.
        path: PathBuf,
        /// Length per the manifest.
        expected: u64,
        /// Length on disk.
        found: u64,
    },
    /// The artifact's SHA-256 is not the manifest's.
    #[error("{path} was modified: SHA-256 {found}, the manifest says {expected}")]
    HashMismatch {
        /// The artifact.
        path: PathBuf,
        /// Per the manifest.
        expected: String,
        /// Of the bytes on disk.
        found: String,
    },
    /// The bytes are not a wasmtime module artifact.
    #[error("{path} is not a precompiled wasmtime module")]
    NotAnArtifact {
        /// The file.
        path: PathBuf,
    },
    /// Another wasmtime compiled it.
    #[error("compiled by wasmtime {artifact}, this node runs wasmtime {host}: recompile")]
    WasmtimeVersion {
        /// Per the manifest.
        artifact: String,
        /// This binary's.
        host: String,
    },
    /// It was compiled for another architecture or OS.
    #[error("compiled for {artifact}, this host is {host}")]
    ForeignTarget {
        /// The artifact's triple.
        artifact: String,
        /// This host's triple.
        host: String,
    },
    /// It was compiled with other engine settings.
    #[error("compiled with engine settings {artifact}, this node uses {host}: recompile")]
    EngineSettings {
        /// Per the manifest (JSON).
        artifact: String,
        /// This node's (JSON).
        host: String,
    },
    /// It uses a CPU feature this host lacks.
    #[error("compiled for CPU {cpu}, whose feature `{feature}` this host lacks")]
    CpuFeature {
        /// The feature.
        feature: String,
        /// The artifact's CPU.
        cpu: String,
    },
    /// The source `.wasm` beside it is not the one it was compiled from.
    #[error(
        "source {path} changed since compilation: SHA-256 {found}, the manifest says {expected}"
    )]
    SourceChanged {
        /// The source.
        path: PathBuf,
        /// Per the manifest.
        expected: String,
        /// Of the file now.
        found: String,
    },
    /// wasmtime refused it after every check here passed.
    #[error("wasmtime refused {path}: {reason}")]
    Rejected {
        /// The artifact.
        path: PathBuf,
        /// wasmtime's message.
        reason: String,
    },
    /// The module does not follow the ABI or cannot be compiled.
    #[error("{0}")]
    Module(#[from] HostError),
}

impl ArtifactError {
    pub(crate) fn io(path: &Path, err: &std::io::Error) -> Self {
        ArtifactError::Io {
            path: path.to_owned(),
            reason: err.to_string(),
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// An artifact whose bytes match its manifest.
#[derive(Debug)]
pub struct Verified {
    /// The manifest.
    pub manifest: Manifest,
    /// The artifact's bytes, as hashed.
    pub bytes: Vec<u8>,
    /// The open file the bytes were read from. Deserializing maps this same
    /// file (not the path again), which is faster than copying the bytes;
    /// artifacts are replaced by rename, never rewritten in place, so the
    /// mapped file is the one that was hashed.
    pub file: Option<std::fs::File>,
}

/// The checks that hold on any host: manifest, length, SHA-256, wasmtime
/// version and the artifact kind.
pub fn verify_integrity(cwasm: &Path) -> Result<Verified, ArtifactError> {
    let manifest = Manifest::read_beside(cwasm)?;
    let mut file = std::fs::File::open(cwasm).map_err(|e| ArtifactError::io(cwasm, &e))?;
    let mut bytes = Vec::with_capacity(usize::try_from(manifest.artifact_len).unwrap_or(0));
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| ArtifactError::io(cwasm, &e))?;
    let found = bytes.len() as u64;
    if found < manifest.artifact_len {
        return Err(ArtifactError::Truncated {
            path: cwasm.to_owned(),
            expected: manifest.artifact_len,
            found,
        });
    }
    let digest = sha256_hex(&bytes);
    if found != manifest.artifact_len || digest != manifest.artifact_sha256 {
        return Err(ArtifactError::HashMismatch {
            path: cwasm.to_owned(),
            expected: manifest.artifact_sha256,
            found: digest,
        });
    }
    if manifest.wasmtime_version != WASMTIME_VERSION {
        return Err(ArtifactError::WasmtimeVersion {
            artifact: manifest.wasmtime_version,
            host: WASMTIME_VERSION.into(),
        });
    }
    if Engine::detect_precompiled(&bytes) != Some(Precompiled::Module) {
        return Err(ArtifactError::NotAnArtifact {
            path: cwasm.to_owned(),
        });
    }
    Ok(Verified {
        manifest,
        bytes,
        file: Some(file),
    })
}

/// The checks against this host: target, engine settings, CPU features.
pub fn check_host(manifest: &Manifest) -> Result<(), ArtifactError> {
    let host = Triple::host();
    let runs_here = manifest.target.parse::<Triple>().is_ok_and(|t| {
        t.architecture == host.architecture && t.operating_system == host.operating_system
    });
    if !runs_here {
        return Err(ArtifactError::ForeignTarget {
            artifact: manifest.target.clone(),
            host: host.to_string(),
        });
    }
    let settings = EngineSettings::current();
    if manifest.engine != settings {
        let json = |s: &EngineSettings| serde_json::to_string(s).unwrap_or_default();
        return Err(ArtifactError::EngineSettings {
            artifact: json(&manifest.engine),
            host: json(&settings),
        });
    }
    if let Some(missing) = manifest.cpu_features.iter().find(|f| !host_has_feature(f)) {
        return Err(ArtifactError::CpuFeature {
            feature: missing.clone(),
            cpu: manifest.cpu.clone(),
        });
    }
    Ok(())
}

/// Checks that `source` is the `.wasm` the artifact was compiled from.
pub fn check_source(manifest: &Manifest, source: &Path, wasm: &[u8]) -> Result<(), ArtifactError> {
    let found = sha256_hex(wasm);
    if found != manifest.source_sha256 {
        return Err(ArtifactError::SourceChanged {
            path: source.to_owned(),
            expected: manifest.source_sha256.clone(),
            found,
        });
    }
    Ok(())
}

/// Every check, then the deserialization.
pub fn verify_and_deserialize(
    engine: &HostEngine,
    cwasm: &Path,
) -> Result<(Module, Manifest), ArtifactError> {
    let verified = verify_integrity(cwasm)?;
    check_host(&verified.manifest)?;
    let module = deserialize(engine, cwasm, &verified)?;
    Ok((module, verified.manifest))
}

/// Deserializes bytes that passed [`verify_integrity`] and [`check_host`].
pub(crate) fn deserialize(
    engine: &HostEngine,
    cwasm: &Path,
    verified: &Verified,
) -> Result<Module, ArtifactError> {
    let file = verified
        .file
        .as_ref()
        .map(std::fs::File::try_clone)
        .transpose();
    let file = file.map_err(|e| ArtifactError::io(cwasm, &e))?;
    // SAFETY: the bytes are the artifact this node's compiler wrote (its
    // SHA-256 matches the manifest written beside it), for this wasmtime,
    // target and settings. The file mapped is the open file that was
    // hashed; see `Verified::file`.
    let module = unsafe {
        match file {
            Some(file) => Module::deserialize_open_file(engine.engine(), file),
            None => Module::deserialize(engine.engine(), &verified.bytes),
        }
    };
    module.map_err(|e| ArtifactError::Rejected {
        path: cwasm.to_owned(),
        reason: format!("{e:#}"),
    })
}
