//! The binary as a user runs it: output, exit codes, one-line errors.

use std::process::{Command, Output};

fn fusion_node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_and_help() {
    let out = fusion_node(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("fusion-node {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8(fusion_node(&["--help"]).stdout).unwrap();
    assert!(help.contains("msgs"), "{help}");
}

#[test]
fn a_reader_that_goes_away_ends_a_printing_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let drive = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../recordings/highway-20s.mcap"
    );
    for args in [&["info", drive][..], &["msgs", "list"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // As `| head -0` does: the read end is closed before any output.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?}",
            out.status
        );
    }
}

#[test]
fn msgs_list_names_every_type() {
    let out = fusion_node(&["msgs", "list"]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let known: Vec<String> = fusion_msgs::ALL_TYPES
        .iter()
        .map(|t| t.name.to_owned())
        .collect();
    assert_eq!(listed, known);
    assert!(
        listed
            .iter()
            .any(|t| t == "autoware_perception_msgs/msg/TrackedObjects")
    );
}

#[test]
fn msgs_show_prints_the_mcap_schema_byte_for_byte() {
    use fusion_msgs::Message;
    use fusion_msgs::autoware_perception_msgs::TrackedObjects;
    for name in [
        "autoware_perception_msgs/msg/TrackedObjects",
        "autoware_perception_msgs/TrackedObjects",
    ] {
        let out = fusion_node(&["msgs", "show", name]);
        assert!(out.status.success());
        assert_eq!(out.stdout, TrackedObjects::FULL_DEFINITION.as_bytes());
    }
    let own = fusion_node(&[
        "msgs",
        "show",
        "--no-deps",
        "autoware_perception_msgs/msg/TrackedObjects",
    ]);
    assert_eq!(own.stdout, TrackedObjects::DEFINITION.as_bytes());
}

#[test]
fn unknown_type_is_a_usage_error_with_a_hint() {
    let out = fusion_node(&["msgs", "show", "PointCloud2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("did you mean sensor_msgs/msg/PointCloud2?"),
        "{err}"
    );
}

/// A directory holding `minimal.wasm`, a small well-formed module.
fn minimal_wasm() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wat = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/modules/minimal.wat");
    let wasm = dir.path().join("minimal.wasm");
    std::fs::write(&wasm, wat::parse_file(wat).unwrap()).unwrap();
    (dir, wasm)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn compile_then_inspect_round_trips_the_reference_module() {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("reference.cwasm");
    let wasm = fusion_node::modules::REFERENCE_WASM;
    let out = fusion_node(&["compile", wasm, "-o", cwasm.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("reference.cwasm.json").exists());

    let out = fusion_node(&["inspect", "--json", cwasm.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let source = std::fs::read(wasm).unwrap();
    assert_eq!(report["kind"], "cwasm");
    assert_eq!(report["abi_version"], 1);
    assert_eq!(report["loadable"], true);
    assert_eq!(
        report["manifest"]["source_sha256"],
        fusion_node::host::artifact::sha256_hex(&source)
    );
    assert_eq!(
        report["target"],
        target_lexicon::Triple::host().to_string().as_str()
    );
    assert_eq!(report["interface"]["imports"], serde_json::json!([]));
    let exports: Vec<&str> = report["interface"]["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(exports.contains(&"fusion_step"), "{exports:?}");

    // The source describes the same module.
    let out = fusion_node(&["inspect", "--json", wasm]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source_report = json(&out);
    assert_eq!(source_report["kind"], "wasm");
    assert_eq!(source_report["sha256"], report["manifest"]["source_sha256"]);
    assert_eq!(
        source_report["memory_min_pages"],
        report["memory_min_pages"]
    );
}

#[test]
fn inspect_refuses_a_tampered_artifact_with_the_reason() {
    let (dir, wasm) = minimal_wasm();
    let out = fusion_node(&["compile", wasm.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cwasm = dir.path().join("minimal.cwasm");
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&cwasm, bytes).unwrap();

    let out = fusion_node(&["inspect", cwasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("would be refused") && err.contains("was modified"),
        "{err}"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("loadable     no: "), "{text}");
}

#[test]
fn inspect_describes_an_aarch64_artifact_as_not_loadable_here() {
    let (dir, wasm) = minimal_wasm();
    let cwasm = dir.path().join("minimal-a78.cwasm");
    let out = fusion_node(&[
        "compile",
        wasm.to_str().unwrap(),
        "-o",
        cwasm.to_str().unwrap(),
        "--target",
        "aarch64-unknown-linux-gnu",
        "--cpu",
        "cortex-a78",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = fusion_node(&["inspect", "--json", cwasm.to_str().unwrap()]);
    let report = json(&out);
    assert_eq!(report["target"], "aarch64-unknown-linux-gnu");
    assert_eq!(report["cpu"], "cortex-a78");
    assert_eq!(
        report["manifest"]["cpu_features"],
        serde_json::json!(["lse", "fp16", "dotprod"])
    );
    if cfg!(target_arch = "aarch64") {
        return; // loadable here; the rest is about a foreign host
    }
    assert_eq!(out.status.code(), Some(0), "a valid artifact is described");
    assert_eq!(report["loadable"], false);
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("not loadable on this host: compiled for aarch64-unknown-linux-gnu"),
        "{reason}"
    );
}

#[test]
fn compile_names_a_forbidden_import_and_bad_cpus() {
    let dir = tempfile::tempdir().unwrap();
    let wat =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/forbidden_import.wat");
    let wasm = dir.path().join("wasi.wasm");
    std::fs::write(&wasm, wat::parse_file(wat).unwrap()).unwrap();
    let out = fusion_node(&["compile", wasm.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("`wasi_snapshot_preview1.fd_write`"), "{err}");
    assert!(!dir.path().join("wasi.cwasm").exists());

    let out = fusion_node(&[
        "compile",
        wasm.to_str().unwrap(),
        "--target",
        "aarch64-unknown-linux-gnu",
        "--cpu",
        "pentium",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown CPU `pentium`") && err.contains("cortex-a78"),
        "{err}"
    );
}

#[test]
fn module_keygen_then_sign_makes_a_signature_the_node_accepts() {
    use fusion_node::swap::signing::{self, PublicKey, SignatureError};
    let (dir, wasm) = minimal_wasm();
    let key = dir.path().join("deploy.key");
    let out = fusion_node(&["module", "keygen", "-o", key.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let printed: PublicKey = stdout.lines().next().unwrap().parse().unwrap();
    assert!(
        stdout.contains(&format!("trusted_keys = [\"{printed}\"]")),
        "{stdout}"
    );
    let pub_file = std::fs::read_to_string(dir.path().join("deploy.key.pub")).unwrap();
    assert_eq!(pub_file, format!("{printed}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let out = fusion_node(&[
        "module",
        "sign",
        wasm.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--release-version",
        "3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let module = std::fs::read(&wasm).unwrap();
    let digest = signing::module_sha256(&module);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&fusion_node::host::artifact::sha256_hex(&module)),
        "{stdout}"
    );
    let sig_path = signing::signature_path(&wasm);
    assert!(stdout.contains(&sig_path.display().to_string()), "{stdout}");
    let sig = std::fs::read(&sig_path).unwrap();
    let text = String::from_utf8(sig.clone()).unwrap();
    assert!(
        text.starts_with("fusion-module-signature 1\nsha256 "),
        "{text}"
    );
    assert!(text.contains("\nversion 3\ned25519 "), "{text}");

    // The second trusted key is the one that signed.
    let other: PublicKey = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
        .parse()
        .unwrap();
    assert_eq!(
        signing::verify(&[other, printed], &digest, Some(&sig)),
        Ok(signing::Signed {
            key: 1,
            version: Some(3)
        })
    );
    assert_eq!(
        signing::verify(&[other], &digest, Some(&sig)),
        Err(SignatureError::Untrusted { keys: 1 })
    );
    let changed = signing::module_sha256(&[module.as_slice(), b"\0"].concat());
    assert!(signing::verify(&[printed], &changed, Some(&sig)).is_err());

    // Without a release version: an unversioned signature, said so.
    let unversioned = dir.path().join("unversioned.sig");
    let out = fusion_node(&[
        "module",
        "sign",
        wasm.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "-o",
        unversioned.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("counts as release 0"));
    let sig = std::fs::read(&unversioned).unwrap();
    assert_eq!(sig.len(), 129, "128 hex characters and a newline");
    assert_eq!(
        signing::verify(&[printed], &digest, Some(&sig)).map(|s| s.version),
        Ok(None)
    );
}

#[test]
fn module_keygen_refuses_to_overwrite_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let key_arg = key.to_str().unwrap();
    assert!(
        fusion_node(&["module", "keygen", "-o", key_arg])
            .status
            .success()
    );
    let before = std::fs::read(&key).unwrap();

    let out = fusion_node(&["module", "keygen", "-o", key_arg]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // Only the .pub left over is refused too, and nothing is written.
    std::fs::remove_file(&key).unwrap();
    let out = fusion_node(&["module", "keygen", "-o", key_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!key.exists());

    let out = fusion_node(&["module", "keygen", "-o", key_arg, "--force"]);
    assert!(out.status.success());
    assert_ne!(std::fs::read(&key).unwrap(), before);

    // sign: an unreadable key is exit code 2.
    let (_wasm_dir, wasm) = minimal_wasm();
    let missing = dir.path().join("missing.key");
    let out = fusion_node(&[
        "module",
        "sign",
        wasm.to_str().unwrap(),
        "--key",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!signing_path_exists(&wasm));
}

fn signing_path_exists(module: &std::path::Path) -> bool {
    fusion_node::swap::signing::signature_path(module).exists()
}

#[test]
fn replay_refuses_live_options_offline_and_offline_options_live() {
    let drive = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../recordings/highway-20s.mcap"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fused.mcap");
    let out = out.to_str().unwrap();
    for args in [
        &["replay", drive, "--offline", "-o", out, "--loop"][..],
        &["replay", drive, "--offline", "-o", out, "--rate", "2"],
        &[
            "replay",
            drive,
            "--offline",
            "-o",
            out,
            "--wait-for-subscribers",
            "1s",
        ],
        &["replay", drive, "-o", out],
        &["replay", drive, "--recompress"],
    ] {
        let result = fusion_node(args);
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    assert!(!std::path::Path::new(out).exists());
}
