//! Builds the reference fusion module for `wasm32-unknown-unknown` so that
//! `cargo build` and `cargo test` alone give the node a module to run.
//!
//! A nested cargo builds `fusion-reference` with the `wasm-module` profile
//! into its own target directory (a second build sharing ours would wait
//! forever on our lock), and the path of the result reaches the node's code
//! as `FUSION_REFERENCE_WASM`.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "fusion-reference";
const ARTIFACT: &str = "fusion_reference.wasm";
const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "wasm-module";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap();
    for watched in [
        "fusion-modules/abi",
        "fusion-modules/reference",
        "msgs/src",
        "msgs/msg",
        "msgs/build.rs",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=FUSION_SKIP_WASM_BUILD");

    let target_dir = wasm_target_dir();
    let wasm = target_dir.join(TARGET).join(PROFILE).join(ARTIFACT);
    if std::env::var_os("FUSION_SKIP_WASM_BUILD").is_none() {
        ensure_target(workspace);
        build(workspace, &target_dir);
    }
    println!("cargo:rustc-env=FUSION_REFERENCE_WASM={}", wasm.display());
    println!(
        "cargo:rustc-env=FUSION_WASMTIME_VERSION={}",
        locked_version(&workspace.join("Cargo.lock"), "wasmtime")
    );
}

/// The version of `package` that Cargo.lock resolved. Precompiled artifacts
/// record it: wasmtime itself only checks the major version.
fn locked_version(lock: &Path, package: &str) -> String {
    let text = std::fs::read_to_string(lock)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lock.display()));
    let wanted = format!("name = \"{package}\"");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return version.to_owned();
        }
    }
    panic!("{} does not name the package {package}", lock.display())
}

/// `<target>/wasm-modules`, beside the outer build's own directories.
fn wasm_target_dir() -> PathBuf {
    // OUT_DIR is <target>/[<triple>/]<profile>/build/fusion-node-<hash>/out.
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target = out
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.ancestors().nth(4).unwrap().to_path_buf());
    target.join("wasm-modules")
}

/// rust-toolchain.toml lists the Wasm target, but rustup adds listed
/// targets only when it installs the toolchain itself; a toolchain that was
/// already there lacks it. Ask rustup for it then, as the file intends.
fn ensure_target(workspace: &Path) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    let installed = sysroot.is_ok_and(|out| {
        let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Path::new(&root).join("lib/rustlib").join(TARGET).exists()
    });
    if !installed {
        println!(
            "cargo:warning=installing the {TARGET} target with rustup (rust-toolchain.toml lists it)"
        );
        let _ = Command::new("rustup")
            .args(["target", "add", TARGET])
            .current_dir(workspace)
            .status();
    }
}

fn build(workspace: &Path, target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--package",
            PACKAGE,
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            // Wasm SIMD, so loops vectorise as they do natively; lane
            // arithmetic is IEEE, so results stay identical to native.
            "--config",
            "target.wasm32-unknown-unknown.rustflags=['-C', 'target-feature=+simd128']",
            "--target-dir",
        ])
        .arg(target_dir)
        // Our stdout is read by cargo for `cargo:` lines; keep the nested
        // build's out of it (its progress goes to stderr anyway).
        .stdout(std::process::Stdio::null());
    // The outer build's flags and wrappers are for the host, not for Wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {PACKAGE} for {TARGET}: {e}"));
    if !status.success() {
        panic!(
            "building {PACKAGE} for {TARGET} failed ({status}); if the target is missing, \
             `rustup target add {TARGET}` (rust-toolchain.toml normally installs it)"
        );
    }
}
