//! Drives end to end, as a user runs them: simulate a scenario to MCAP,
//! replay it offline (twice, and with the native reference module), and
//! evaluate the fused drive. Also: a drive cut short replays up to the cut,
//! and the fused drive holds the same messages whether the input chunks
//! are copied into it or compressed again.

use std::path::Path;
use std::process::{Command, Output};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args(args)
        .output()
        .expect("fusion-node runs")
}

fn ok(args: &[&str]) -> String {
    let out = node(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "fusion-node {args:?} failed: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

fn digest(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("sha256 "))
        .expect("a digest line")
}

fn line_with<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {stdout}"))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Simulates 4 s of `scenario` with a sparse LiDAR into `out`.
fn simulate(scenario: &str, seed: &str, out: &Path) -> String {
    ok(&[
        "simulate",
        "--scenario",
        scenario,
        "--duration",
        "4s",
        "--seed",
        seed,
        "--lidar",
        "sparse",
        "-o",
        p(out),
    ])
}

#[test]
fn a_simulated_drive_replays_deterministically_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive.mcap");
    let out = simulate("urban-intersection", "5", &drive);
    assert!(out.contains("4 s of urban-intersection (seed 5)"), "{out}");
    let again = dir.path().join("again.mcap");
    simulate("urban-intersection", "5", &again);
    assert_eq!(
        std::fs::read(&drive).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same bytes"
    );

    let replay = |name: &str, extra: &[&str]| {
        let fused = dir.path().join(name);
        let frames = dir.path().join(format!("{name}.frames.jsonl"));
        let logs = dir.path().join(format!("{name}.logs"));
        let mut args = vec![
            "replay",
            p(&drive),
            "--offline",
            "-o",
            p(&fused),
            "--frames-log",
            p(&frames),
            "--logs",
            p(&logs),
        ];
        args.extend_from_slice(extra);
        let stdout = ok(&args);
        (stdout, fused, frames, logs)
    };
    let (a, fused, frames, logs) = replay("a.mcap", &[]);
    let (b, _, frames_b, _) = replay("b.mcap", &[]);
    let (n, ..) = replay("n.mcap", &["--native-reference"]);
    assert_eq!(digest(&a), digest(&b), "two replays differ");
    assert_eq!(digest(&a), digest(&n), "the Wasm and native builds differ");
    assert_eq!(
        std::fs::read(&frames).unwrap(),
        std::fs::read(&frames_b).unwrap()
    );
    // 10 Hz for 4 s.
    line_with(&a, "replay: 40 frames, 40 published, 0 misses");
    assert_eq!(
        std::fs::read_to_string(&frames).unwrap().lines().count(),
        40
    );
    // The logs of a live run: an interval log and a summary.
    assert!(
        std::fs::read_to_string(logs.join("latency.hlog"))
            .unwrap()
            .contains("#[StartTime")
    );
    assert!(logs.join("summary.txt").exists());

    // The fused drive holds the fused objects, the inputs and the truth.
    let info = ok(&["info", p(&fused), "--json"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let count = |topic: &str| {
        info["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == topic)
            .map(|t| t["count"].as_u64().unwrap())
    };
    assert_eq!(count("/fusion/tracked_objects"), Some(40));
    assert_eq!(count("/ground_truth/objects"), Some(40));
    assert_eq!(count("/sensors/lidar_top/points"), Some(40));

    let report = ok(&["evaluate", p(&fused), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["frames"]["evaluated"], 40, "{report}");
    let overall = &report["overall"];
    assert!(overall["num_objects"].as_u64().unwrap() > 100, "{report}");
    assert!(
        overall["num_matches"].as_u64().unwrap() > 50,
        "the tracker finds actors: {report}"
    );
}

#[test]
fn a_drive_cut_short_replays_up_to_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive.mcap");
    simulate("highway", "2", &drive);
    let bytes = std::fs::read(&drive).unwrap();
    let cut = dir.path().join("cut.mcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let fused = dir.path().join("fused.mcap");
    let out = node(&["replay", p(&cut), "--offline", "-o", p(&fused)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning"), "the cut is reported: {stderr}");
    let frames: u64 = line_with(&stdout, "replay: ")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (10..40).contains(&frames),
        "{frames} frames from 60 % of a 40-frame drive"
    );
    // Not an MCAP at all: a clear error, exit code 2.
    let junk = dir.path().join("junk.mcap");
    std::fs::write(&junk, b"not an mcap file at all").unwrap();
    let out = node(&["replay", p(&junk), "--offline", "-o", p(&fused)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn messages_of_the_wrong_type_on_a_sensor_topic_are_skipped_and_counted() {
    use fusion_drive::{DriveReader, DriveWriter, ReadFilter, WriterConfig};
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive.mcap");
    simulate("highway", "3", &drive);
    // The same drive, but what the radar_front topic carries is declared
    // (and is) a camera's detections.
    let reader = DriveReader::open(&drive).unwrap();
    let bad = dir.path().join("bad.mcap");
    let mut writer = DriveWriter::create(&bad, WriterConfig::default()).unwrap();
    let mut topics = std::collections::BTreeMap::new();
    for m in reader.messages(ReadFilter::default()) {
        let (topic, type_name, data) = if &*m.topic == "/sensors/radar_front/scan" {
            let camera = reader
                .messages(ReadFilter::default().with_topics(["/sensors/camera_front/detections"]))
                .next()
                .unwrap();
            (
                m.topic.to_string(),
                camera.type_name.to_string(),
                camera.data,
            )
        } else {
            (m.topic.to_string(), m.type_name.to_string(), m.data)
        };
        let t = *topics
            .entry(topic.clone())
            .or_insert_with(|| writer.add_topic(&topic, &type_name).unwrap());
        writer
            .write(t, m.log_time_ns, m.publish_time_ns, &data)
            .unwrap();
    }
    writer.finish().unwrap();
    let fused = dir.path().join("fused.mcap");
    let out = node(&["replay", p(&bad), "--offline", "-o", p(&fused)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 4 s of a 20 Hz radar, every one skipped; the frames still run.
    assert!(stdout.contains(", 80 of the wrong type"), "{stdout}");
    assert!(stderr.contains("wrong type"), "a warning: {stderr}");
    assert!(
        line_with(&stdout, "replay: 40 frames").contains("40 published"),
        "{stdout}"
    );
}

/// Every message of the fused drive at `path` (topic, log time, publish
/// time, sequence, bytes), sorted; the drive must read cleanly.
fn drive_messages(path: &Path) -> Vec<(String, u64, u64, u32, Vec<u8>)> {
    use fusion_drive::{DriveReader, ReadFilter};
    let reader = DriveReader::open(path).unwrap();
    let mut messages = reader.messages(ReadFilter::default());
    let mut all: Vec<_> = messages
        .by_ref()
        .map(|m| {
            (
                m.topic.to_string(),
                m.log_time_ns,
                m.publish_time_ns,
                m.sequence,
                m.data,
            )
        })
        .collect();
    assert!(messages.issues().is_clean(), "{:?}", messages.issues());
    all.sort();
    all
}

#[test]
fn the_fused_drive_is_the_same_whether_input_chunks_are_copied_or_compressed_again() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive.mcap");
    simulate("highway", "4", &drive);
    let replay = |name: &str, extra: &[&str]| {
        let fused = dir.path().join(name);
        let mut args = vec!["replay", p(&drive), "--offline", "-o", p(&fused)];
        args.extend_from_slice(extra);
        (ok(&args), fused)
    };
    let (copy, copied) = replay("copied.mcap", &[]);
    let (again, recompressed) = replay("again.mcap", &["--recompress", "--compression", "zstd"]);
    let chunks_copied = |stdout: &str| -> u64 {
        let line = line_with(stdout, "replay: wrote");
        let (_, rest) = line.split_once("messages; ").unwrap();
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(chunks_copied(&copy) > 0, "{copy}");
    assert_eq!(chunks_copied(&again), 0, "{again}");
    assert_eq!(digest(&copy), digest(&again));
    let messages = drive_messages(&copied);
    assert_eq!(messages, drive_messages(&recompressed));
    // Every input message, plus the fused objects.
    let inputs = drive_messages(&drive);
    let fused: Vec<_> = messages
        .iter()
        .filter(|m| m.0 == "/fusion/tracked_objects")
        .collect();
    assert_eq!(fused.len(), 40);
    assert_eq!(messages.len(), inputs.len() + fused.len());

    // A window: chunks that straddle its ends are written again, and
    // nothing outside it gets in.
    let (window, windowed) = replay("window.mcap", &["--start", "1s", "--duration", "2s"]);
    assert!(chunks_copied(&window) < chunks_copied(&copy), "{window}");
    let start = inputs.iter().map(|m| m.1).min().unwrap() + 1_000_000_000;
    let end = start + 2_000_000_000;
    let want: Vec<_> = inputs
        .iter()
        .filter(|m| (start..end).contains(&m.1))
        .collect();
    let got: Vec<_> = drive_messages(&windowed)
        .into_iter()
        .filter(|m| m.0 != "/fusion/tracked_objects")
        .collect();
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
}
