//! `fusion-node check-launch` as a user runs it: the shipped launch files
//! pass, and each kind of bad file gives exactly one error line naming
//! `file:line:column`, with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check_launch(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("check-launch")
        .arg(file)
        .output()
        .unwrap()
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../launch")
        .join(name)
}

#[test]
fn every_shipped_launch_file_passes() {
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(shipped("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = check_launch(&path);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", path.display());
        assert!(stderr.is_empty(), "{stderr}");
        assert!(stdout.lines().next().unwrap().ends_with(": ok"), "{stdout}");
        checked.push((path.file_name().unwrap().to_owned(), stdout));
    }
    checked.sort();
    let names: Vec<_> = checked.iter().map(|(n, _)| n.to_str().unwrap()).collect();
    assert!(
        names.contains(&"default.toml") && names.contains(&"minimal.toml"),
        "{names:?}"
    );
    for (name, stdout) in &checked {
        let sensors = if name == "default.toml" {
            8
        } else if name == "minimal.toml" {
            1
        } else {
            continue;
        };
        assert!(
            stdout.contains(&format!("sensors   {sensors}\n")),
            "{stdout}"
        );
        assert!(
            stdout.contains("lidar_top            lidar  /sensors/lidar_top/points (primary)"),
            "{stdout}"
        );
        // The default file widens the skew to a 20 Hz radar's period.
        let skew = if name == "default.toml" {
            "60ms"
        } else {
            "25ms"
        };
        assert!(
            stdout.contains(&format!(
                "policy    trigger (max_skew {skew}, max_wait 5ms)"
            )),
            "{stdout}"
        );
        assert!(stdout.contains("deadline  10ms"), "{stdout}");
        assert!(stdout.contains("module    builtin:reference ("), "{stdout}");
        assert!(
            stdout.contains("swap      watch off, warmup 8 frames, watch 20 frames, rollback at 3 misses, signatures not required\n"),
            "{stdout}"
        );
    }
}

/// A valid launch file for the fixtures; each case edits one thing.
const GOOD: &str = r#"name = "t"

[module]
path = "m.wasm"

[[sensors]]
name = "lidar"
kind = "lidar"
topic = "/lidar"
frame_id = "lidar"
extrinsics = { translation = [0, 0, 0], rpy_deg = [0, 0, 0] }

[[sensors]]
name = "cam"
kind = "camera"
topic = "/cam"
frame_id = "cam"
extrinsics = { translation = [0, 0, 0], rpy_deg = [-90, 0, -90] }
intrinsics = { fx = 500.0, fy = 500.0, cx = 320.0, cy = 240.0, width = 640, height = 480 }
"#;

/// The smallest valid Wasm module: magic and version.
const EMPTY_WASM: &[u8] = b"\0asm\x01\0\0\0";

/// Writes `text` as `launch.toml` beside a valid `m.wasm` and runs
/// check-launch on it.
fn check_text(text: &str) -> (PathBuf, Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), EMPTY_WASM).unwrap();
    let file = dir.path().join("launch.toml");
    std::fs::write(&file, text).unwrap();
    let out = check_launch(&file);
    (file, out, dir)
}

/// Asserts exit code 2, nothing on stdout, and one stderr line starting
/// `error: FILE:LINE:COL: ` and containing `message`.
fn assert_error(text: &str, line: usize, column: usize, message: &str) {
    let (file, out, _dir) = check_text(text);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let prefix = format!("error: {}:{line}:{column}: ", file.display());
    assert!(stderr.starts_with(&prefix), "want {prefix}\ngot  {stderr}");
    assert!(stderr.contains(message), "want {message}\ngot  {stderr}");
}

fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_fixture_itself_is_valid() {
    let (_, out, _dir) = check_text(GOOD);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unknown_key() {
    assert_error(
        &edit("topic = \"/lidar\"", "topicc = \"/lidar\""),
        9,
        1,
        "unknown field `topicc`, expected one of `name`, `kind`, `topic`",
    );
}

#[test]
fn wrong_type() {
    assert_error(
        &edit("frame_id = \"lidar\"", "frame_id = 5"),
        10,
        12,
        "invalid type: integer `5`, expected a string",
    );
}

#[test]
fn duration_without_unit() {
    assert_error(
        &edit("name = \"t\"", "name = \"t\"\ndeadline = 10"),
        2,
        12,
        "10 has no unit",
    );
}

#[test]
fn missing_sensor_topic() {
    assert_error(
        &edit("topic = \"/lidar\"\n", ""),
        6,
        1,
        "missing field `topic`",
    );
}

#[test]
fn duplicate_sensor_name() {
    assert_error(
        &edit("name = \"cam\"", "name = \"lidar\""),
        14,
        8,
        "duplicate sensor name `lidar` (first on line 7)",
    );
}

#[test]
fn camera_without_intrinsics() {
    assert_error(
        &edit(
            "intrinsics = { fx = 500.0, fy = 500.0, cx = 320.0, cy = 240.0, width = 640, height = 480 }\n",
            "",
        ),
        15,
        8,
        "camera `cam` needs `intrinsics`",
    );
}

#[test]
fn unreadable_module() {
    assert_error(
        &edit("path = \"m.wasm\"", "path = \"missing.wasm\""),
        4,
        8,
        "cannot read module `",
    );
}

#[test]
fn module_that_is_not_wasm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), b"not wasm").unwrap();
    let file = dir.path().join("launch.toml");
    std::fs::write(&file, GOOD).unwrap();
    let out = check_launch(&file);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with(&format!("error: {}:4:8: ", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("is not a WebAssembly file"), "{stderr}");
}

#[test]
fn malformed_toml() {
    assert_error(&edit("name = \"t\"", "name = \"t"), 1, 10, "");
}

#[test]
fn missing_launch_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.toml");
    let out = check_launch(&file);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: cannot read the launch file: ",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn swap_table_errors_name_the_position() {
    let swap = "path = \"m.wasm\"\n\n[module.swap]\n";
    assert_error(
        &edit(
            "path = \"m.wasm\"\n",
            &format!("{swap}watch = true\npolling = \"1s\"\n"),
        ),
        8,
        1,
        "unknown field `polling`, expected one of `watch`, `poll_interval`",
    );
    assert_error(
        &edit(
            "path = \"m.wasm\"\n",
            &format!("{swap}require_signed = true\ntrusted_keys = [\"d75a98\"]\n"),
        ),
        8,
        17,
        "trusted_keys[0]: not an ed25519 public key: expected 64 hex characters, found 6",
    );
}

#[test]
fn check_launch_prints_the_swap_policy() {
    let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let text = edit(
        "path = \"m.wasm\"\n",
        &format!(
            "path = \"m.wasm\"\n[module.swap]\nwatch = true\npoll_interval = \"1s\"\nrequire_signed = true\ntrusted_keys = [\"{key}\"]\n"
        ),
    );
    let (_, out, _dir) = check_text(&text);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "swap      watch on (poll 1s), warmup 8 frames, watch 20 frames, rollback at 3 misses, signed only (1 trusted key)\n   0 trusted key {key}\n"
        )),
        "{stdout}"
    );
}
