//! `.cwasm` artifacts and the compile cache: every way an artifact can be
//! wrong is refused with its own error before wasmtime deserializes it,
//! and with the source at hand the module is compiled again instead.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_reference_still_works, functional_limits, shared, wat};
use fusion_node::host::artifact::{
    self, ArtifactError, LoadOrigin, Manifest, load, manifest_path, verify_and_deserialize,
};
use fusion_node::host::cache::{CacheOutcome, CompileCache};
use fusion_node::host::{CompileTarget, ModuleHost, WASMTIME_VERSION};
use tempfile::TempDir;

/// `minimal.wasm` and `minimal.cwasm` (+ manifest) in a fresh directory;
/// `with_source: false` leaves the source out.
fn compiled_minimal(with_source: bool) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat("minimal");
    let cwasm = dir.path().join("minimal.cwasm");
    let source = with_source.then_some("minimal.wasm");
    artifact::compile(&wasm, &CompileTarget::host(), source)
        .unwrap()
        .write(&cwasm)
        .unwrap();
    if with_source {
        std::fs::write(dir.path().join("minimal.wasm"), &wasm).unwrap();
    }
    (dir, cwasm)
}

/// Loads `cwasm` and runs one frame through it.
fn runs(cwasm: &Path) -> LoadOrigin {
    let (engine, _) = shared();
    let loaded = load(engine, cwasm, None).unwrap();
    let mut host = ModuleHost::from_module(engine, &loaded.module, functional_limits()).unwrap();
    host.init(b"config").unwrap();
    assert_eq!(host.step(b"frame").unwrap(), b"ok1");
    loaded.origin
}

fn refusal(cwasm: &Path) -> ArtifactError {
    match verify_and_deserialize(&shared().0, cwasm) {
        Ok(_) => panic!("{} was accepted", cwasm.display()),
        Err(e) => e,
    }
}

fn edit_manifest(cwasm: &Path, edit: impl FnOnce(&mut Manifest)) {
    let mut manifest = Manifest::read_beside(cwasm).unwrap();
    edit(&mut manifest);
    std::fs::write(manifest_path(cwasm), manifest.to_json()).unwrap();
}

#[test]
fn a_compiled_artifact_loads_and_runs() {
    let (_dir, cwasm) = compiled_minimal(true);
    assert_eq!(runs(&cwasm), LoadOrigin::Artifact);
    // Named by the artifact's bytes, as verified.
    let loaded = load(&shared().0, &cwasm, None).unwrap();
    assert_eq!(
        loaded.sha256,
        artifact::sha256_hex(&std::fs::read(&cwasm).unwrap())
    );
    let manifest = Manifest::read_beside(&cwasm).unwrap();
    assert_eq!(manifest.wasmtime_version, WASMTIME_VERSION);
    assert_eq!(manifest.abi_version, 1);
    assert_eq!(manifest.source_file.as_deref(), Some("minimal.wasm"));
    assert_eq!(
        manifest.source_sha256,
        artifact::sha256_hex(&wat("minimal"))
    );
}

#[test]
fn truncated_artifact_is_refused_then_recompiled_from_source() {
    let (dir, cwasm) = compiled_minimal(false);
    let bytes = std::fs::read(&cwasm).unwrap();
    std::fs::write(&cwasm, &bytes[..bytes.len() / 2]).unwrap();
    let err = refusal(&cwasm);
    assert_eq!(
        err,
        ArtifactError::Truncated {
            path: cwasm.clone(),
            expected: bytes.len() as u64,
            found: bytes.len() as u64 / 2
        }
    );
    assert!(err.to_string().contains("truncated"), "{err}");
    // Without the source, loading fails with the same reason...
    assert_eq!(load(&shared().0, &cwasm, None).unwrap_err(), err);
    // ...and with it, the source is compiled instead.
    std::fs::write(dir.path().join("minimal.wasm"), wat("minimal")).unwrap();
    match runs(&cwasm) {
        LoadOrigin::Recompiled { reason, .. } => assert_eq!(reason, err),
        other => panic!("{other:?}"),
    }
    // Named by the source that runs, not by the refused artifact.
    let loaded = load(&shared().0, &cwasm, None).unwrap();
    assert_eq!(loaded.sha256, artifact::sha256_hex(&wat("minimal")));
    assert_reference_still_works();
}

#[test]
fn tampered_artifact_is_refused() {
    let (_dir, cwasm) = compiled_minimal(false);
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&cwasm, &bytes).unwrap();
    let err = refusal(&cwasm);
    assert!(matches!(err, ArtifactError::HashMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("was modified"), "{err}");
    assert_reference_still_works();
}

#[test]
fn artifact_for_another_target_is_refused_as_foreign() {
    let (foreign, cpu) = if cfg!(target_arch = "x86_64") {
        ("aarch64-unknown-linux-gnu", "cortex-a78")
    } else {
        ("x86_64-unknown-linux-gnu", "x86-64-v3")
    };
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("minimal.cwasm");
    let target = CompileTarget::parse(Some(foreign), Some(cpu)).unwrap();
    artifact::compile(&wat("minimal"), &target, None)
        .unwrap()
        .write(&cwasm)
        .unwrap();
    let err = refusal(&cwasm);
    match &err {
        ArtifactError::ForeignTarget { artifact, host } => {
            assert_eq!(artifact, foreign);
            assert_eq!(*host, target_lexicon::Triple::host().to_string());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("compiled for {foreign}")),
        "{err}"
    );
    assert_reference_still_works();
}

#[test]
fn modified_source_makes_the_artifact_stale_and_is_compiled_instead() {
    let (dir, cwasm) = compiled_minimal(true);
    // Another valid module under the source's name: says "OK", not "ok".
    let changed = wat("minimal");
    let at = changed
        .windows(2)
        .position(|w| w == b"ok")
        .expect("the data segment");
    let mut changed = changed;
    changed[at..at + 2].copy_from_slice(b"OK");
    std::fs::write(dir.path().join("minimal.wasm"), &changed).unwrap();

    let (engine, _) = shared();
    let loaded = load(engine, &cwasm, None).unwrap();
    match &loaded.origin {
        LoadOrigin::Recompiled {
            reason: ArtifactError::SourceChanged { path, .. },
            source,
        } => {
            assert_eq!(path, source);
            assert!(source.ends_with("minimal.wasm"));
        }
        other => panic!("{other:?}"),
    }
    let mut host = ModuleHost::from_module(engine, &loaded.module, functional_limits()).unwrap();
    host.init(b"config").unwrap();
    assert_eq!(host.step(b"frame").unwrap(), b"OK1", "the new source runs");
    assert_reference_still_works();
}

#[test]
fn other_wasmtime_version_is_refused() {
    let (_dir, cwasm) = compiled_minimal(false);
    edit_manifest(&cwasm, |m| m.wasmtime_version = "47.0.0".into());
    assert_eq!(
        refusal(&cwasm),
        ArtifactError::WasmtimeVersion {
            artifact: "47.0.0".into(),
            host: WASMTIME_VERSION.into()
        }
    );
}

#[test]
fn other_engine_settings_are_refused() {
    let (_dir, cwasm) = compiled_minimal(false);
    edit_manifest(&cwasm, |m| m.engine.max_wasm_stack *= 2);
    let err = refusal(&cwasm);
    assert!(
        matches!(err, ArtifactError::EngineSettings { .. }),
        "{err:?}"
    );
}

#[test]
fn missing_cpu_feature_is_refused() {
    let (_dir, cwasm) = compiled_minimal(false);
    edit_manifest(&cwasm, |m| m.cpu_features.push("teleport".into()));
    assert_eq!(
        refusal(&cwasm),
        ArtifactError::CpuFeature {
            feature: "teleport".into(),
            cpu: "native".into()
        }
    );
}

#[test]
fn missing_manifest_and_non_artifacts_are_refused() {
    let (_dir, cwasm) = compiled_minimal(false);
    std::fs::remove_file(manifest_path(&cwasm)).unwrap();
    assert_eq!(
        refusal(&cwasm),
        ArtifactError::ManifestMissing {
            path: manifest_path(&cwasm)
        }
    );
    // Bytes that match their manifest but are not a wasmtime module.
    let (_dir, cwasm) = compiled_minimal(false);
    let garbage = b"\x7fELF but not really".to_vec();
    std::fs::write(&cwasm, &garbage).unwrap();
    edit_manifest(&cwasm, |m| {
        m.artifact_len = garbage.len() as u64;
        m.artifact_sha256 = artifact::sha256_hex(&garbage);
    });
    assert_eq!(
        refusal(&cwasm),
        ArtifactError::NotAnArtifact {
            path: cwasm.clone()
        }
    );
    // A manifest that is not JSON.
    std::fs::write(manifest_path(&cwasm), b"{ not json").unwrap();
    assert!(matches!(
        refusal(&cwasm),
        ArtifactError::ManifestInvalid { .. }
    ));
}

#[test]
fn cache_misses_then_hits_and_rebuilds_a_corrupt_entry() {
    let (engine, _) = shared();
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::new(dir.path().join("cache"));
    let wasm = wat("minimal");

    let (_, outcome) = cache.load(engine, &wasm).unwrap();
    assert_eq!(outcome, CacheOutcome::Miss);
    let (module, outcome) = cache.load(engine, &wasm).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    let mut host = ModuleHost::from_module(engine, &module, functional_limits()).unwrap();
    host.init(b"config").unwrap();
    assert_eq!(host.step(b"frame").unwrap(), b"ok1");

    // Corrupt the entry: it is refused, deleted and rebuilt.
    let entry = cache.entry_path(engine, &wasm);
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes.truncate(bytes.len() - 1);
    std::fs::write(&entry, &bytes).unwrap();
    let (_, outcome) = cache.load(engine, &wasm).unwrap();
    assert!(
        matches!(
            outcome,
            CacheOutcome::Rebuilt {
                reason: ArtifactError::Truncated { .. }
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(cache.load(engine, &wasm).unwrap().1, CacheOutcome::Hit);

    // Another module gets another entry.
    let mut other = wasm.clone();
    let at = other.windows(2).position(|w| w == b"ok").unwrap();
    other[at] = b'O';
    assert_ne!(cache.entry_path(engine, &other), entry);
    assert_eq!(cache.load(engine, &other).unwrap().1, CacheOutcome::Miss);
}
