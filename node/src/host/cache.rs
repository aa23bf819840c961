//! A content-addressed compile cache: `<sha256(wasm) + engine>.cwasm` with
//! its manifest, verified on every hit exactly as any artifact is.
//!
//! A warm start hashes the `.wasm`, reads and checks the entry, and
//! deserializes it, with no compilation. Entries are written atomically; a
//! corrupt or stale entry is deleted and rebuilt.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Module;

use super::artifact::{self, ArtifactError, check_host, manifest_path};
use super::{CompileTarget, HostEngine, hex};

/// The environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "FUSION_NODE_CACHE_DIR";

/// What a cache lookup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid entry was loaded.
    Hit,
    /// No entry: the module was compiled and stored.
    Miss,
    /// The entry was refused, deleted, and the module compiled again.
    Rebuilt {
        /// Why the entry was refused.
        reason: ArtifactError,
    },
}

/// A directory of compiled modules.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache { dir: dir.into() }
    }

    /// `$FUSION_NODE_CACHE_DIR`, else `$XDG_CACHE_HOME/fusion-node`, else
    /// `~/.cache/fusion-node`; `None` when none of them is set.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        var(CACHE_DIR_ENV)
            .map(PathBuf::from)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("fusion-node")))
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/fusion-node")))
    }

    /// The cache's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `wasm` compiled by `engine` lives.
    pub fn entry_path(&self, engine: &HostEngine, wasm: &[u8]) -> PathBuf {
        self.entry_for(engine, &Sha256::digest(wasm))
    }

    fn entry_for(&self, engine: &HostEngine, source_digest: &[u8]) -> PathBuf {
        let mut key = Sha256::new();
        key.update(source_digest);
        key.update(engine.fingerprint().as_bytes());
        self.dir.join(format!("{}.cwasm", hex(&key.finalize())))
    }

    /// The module for `wasm`: from the cache when a valid entry exists,
    /// else compiled for this host and stored.
    pub fn load(
        &self,
        engine: &HostEngine,
        wasm: &[u8],
    ) -> Result<(Module, CacheOutcome), ArtifactError> {
        let digest = Sha256::digest(wasm);
        let path = self.entry_for(engine, &digest);
        let outcome = match self.try_entry(engine, &path, &hex(&digest)) {
            Ok(Some(module)) => return Ok((module, CacheOutcome::Hit)),
            Ok(None) => CacheOutcome::Miss,
            Err(reason) => {
                tracing::warn!(entry = %path.display(), %reason, "compile cache entry refused; rebuilding it");
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(manifest_path(&path));
                CacheOutcome::Rebuilt { reason }
            }
        };
        let compiled = artifact::compile(wasm, &CompileTarget::host(), None)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| ArtifactError::io(&self.dir, &e))?;
        compiled.write(&path)?;
        let verified = artifact::Verified {
            manifest: compiled.manifest,
            bytes: compiled.artifact,
            file: None,
        };
        let module = artifact::deserialize(engine, &path, &verified)?;
        Ok((module, outcome))
    }

    /// `Ok(None)` when there is no entry.
    fn try_entry(
        &self,
        engine: &HostEngine,
        path: &Path,
        source_sha256: &str,
    ) -> Result<Option<Module>, ArtifactError> {
        if !manifest_path(path).exists() && !path.exists() {
            return Ok(None);
        }
        let verified = artifact::verify_integrity(path)?;
        check_host(&verified.manifest)?;
        if verified.manifest.source_sha256 != source_sha256 {
            return Err(ArtifactError::SourceChanged {
                path: path.to_owned(),
                expected: verified.manifest.source_sha256,
                found: source_sha256.to_owned(),
            });
        }
        artifact::deserialize(engine, path, &verified).map(Some)
    }
}
