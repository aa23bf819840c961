//! `fusion-node report` as QA runs it: on the logs of an offline replay of
//! the sample drive, with its exit codes, on damaged logs, and comparing
//! two runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The logs of one offline replay of 8 s of the sample drive, made once per
/// test binary: (directory, hlog, miss log, frames log).
fn replay_logs() -> &'static (PathBuf, PathBuf, PathBuf, PathBuf) {
    static LOGS: OnceLock<(PathBuf, PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    LOGS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-replay");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let drive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recordings/highway-20s.mcap");
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        let out = node(&[
            "replay",
            &s(&drive),
            "--offline",
            "--duration",
            "8s",
            "-o",
            &s(&dir.join("fused.mcap")),
            "--frames-log",
            &s(&dir.join("frames.jsonl")),
            "--logs",
            &s(&dir.join("logs")),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let logs = dir.join("logs");
        (
            dir.clone(),
            logs.join("latency.hlog"),
            logs.join("misses.jsonl"),
            dir.join("frames.jsonl"),
        )
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_replays_report_in_every_format_carries_the_same_numbers() {
    let (dir, hlog, misses, frames) = replay_logs();
    let out_dir = tempfile::tempdir().unwrap();
    let path = |name: &str| out_dir.path().join(name);
    for name in ["r.html", "r.json", "r.md"] {
        let out = node(&[
            "report",
            "--hlog",
            s(hlog),
            "--misses",
            s(misses),
            "--frames",
            s(frames),
            "-o",
            s(&path(name)),
        ]);
        // The sample drive's first frame lacks the radars and cameras
        // (degraded, not a failure) and nothing is over budget... unless
        // this machine is very slow: then the verdict and the exit code
        // must still agree.
        let json: serde_json::Value = match name {
            "r.json" => serde_json::from_slice(&std::fs::read(path(name)).unwrap()).unwrap(),
            _ => continue,
        };
        let pass = json["verdict"]["pass"].as_bool().unwrap();
        assert_eq!(
            out.status.code(),
            Some(if pass { 0 } else { 1 }),
            "{}",
            stderr(&out)
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path("r.json")).unwrap()).unwrap();
    let frames_logged = std::fs::read_to_string(frames).unwrap().lines().count() as u64;
    assert!(frames_logged > 50, "{frames_logged}");
    assert_eq!(json["frames"]["frames_logged"], frames_logged);
    assert_eq!(json["frames"]["ran"], frames_logged, "{json:#}");
    let miss_lines = std::fs::read_to_string(misses).unwrap().lines().count();
    assert_eq!(json["misses"].as_array().unwrap().len(), miss_lines);
    assert_eq!(json["budget_us"], 10_000.0);
    let summary = std::fs::read_to_string(dir.join("logs/summary.txt")).unwrap();
    let e2e = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "EndToEnd")
        .unwrap();
    // The node's own summary table has the same percentiles.
    let row = summary
        .lines()
        .find(|l| l.trim_start().starts_with("EndToEnd"))
        .unwrap();
    for key in ["p50_us", "p99_us", "max_us"] {
        let value = e2e[key].as_u64().unwrap().to_string();
        assert!(
            row.split_whitespace().any(|w| w == value),
            "{key} {value}: {row}"
        );
    }
    let module = json["modules"][0]["detail"].as_str().unwrap();
    assert_eq!(module, "builtin:reference");
    let mode = json["environment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "Mode")
        .unwrap();
    assert!(
        mode["value"]
            .as_str()
            .unwrap()
            .starts_with("offline replay of")
    );

    let md = std::fs::read_to_string(path("r.md")).unwrap();
    assert!(
        md.contains(&format!("| frames run | {frames_logged} |")),
        "{md}"
    );
    let html = std::fs::read_to_string(path("r.html")).unwrap();
    assert!(html.contains("<svg"), "{html}");
    // Shown in ms, to the microsecond.
    let p99_ms = format!("{:.3} ms", e2e["p99_us"].as_f64().unwrap() / 1000.0);
    assert!(html.contains(&p99_ms), "{p99_ms}");
    assert!(html.contains(r#"data-kind="report""#));
}

#[test]
fn fail_on_rules_set_the_exit_code() {
    let (_, hlog, misses, _) = replay_logs();
    let report = |rules: &str| {
        node(&[
            "report",
            "--hlog",
            s(hlog),
            "--misses",
            s(misses),
            "--fail-on",
            rules,
            "--format",
            "json",
        ])
    };
    let out = report("p50>1us");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("FAIL: p50>1us (actual "),
        "{}",
        stderr(&out)
    );
    let out = report("p50>1s,frames<1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // One degraded first frame in ~80: 1.25 %.
    assert_eq!(report("miss-rate>0.1%").status.code(), Some(1));
    assert_eq!(report("miss-rate>5%").status.code(), Some(0));
    assert_eq!(report("misses.degraded<1").status.code(), Some(0));

    for (rules, needle) in [
        ("p99>5", "not a duration with a unit"),
        ("speed>1", "unknown metric"),
        ("p99", "no comparison"),
    ] {
        let out = report(rules);
        assert_eq!(out.status.code(), Some(2), "{rules}");
        assert!(stderr(&out).contains(needle), "{rules}: {}", stderr(&out));
    }
    let out = node(&["report", "--hlog", s(hlog), "--fail-on", "miss-rate>0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs the miss log (--misses)"),
        "{}",
        stderr(&out)
    );
    let out = node(&["report", "--hlog", "/nonexistent/run.hlog"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /nonexistent/run.hlog"));
}

#[test]
fn damaged_logs_are_reported_with_their_skipped_lines() {
    let (_, hlog, misses, _) = replay_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read(hlog).unwrap();
    let good_lines = text.split(|&b| b == b'\n').count() as u64 - 1;
    text.extend_from_slice(b"Tag=EndToEnd,1.0,1.0,2.0,HISTFAAAA\xff\xfe\ntruncated,1.0\n");
    std::fs::write(dir.path().join("bad.hlog"), &text).unwrap();
    let mut log = std::fs::read_to_string(misses).unwrap();
    log.push_str("{\"reason\": \"deadline\", \"arrival_ns\": 12\n[1,2]\n");
    std::fs::write(dir.path().join("bad.jsonl"), &log).unwrap();
    let out = node(&[
        "report",
        "--hlog",
        s(&dir.path().join("bad.hlog")),
        "--misses",
        s(&dir.path().join("bad.jsonl")),
        "--format",
        "json",
        "--fail-on",
        "frames<1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("4 unreadable input lines skipped"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped: Vec<(String, u64)> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let file = s["file"].as_str().unwrap();
            (
                file.rsplit('/').next().unwrap().to_owned(),
                s["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let miss_lines = log.lines().count() as u64;
    assert_eq!(
        skipped,
        [
            ("bad.hlog".to_owned(), good_lines + 1),
            ("bad.hlog".to_owned(), good_lines + 2),
            ("bad.jsonl".to_owned(), miss_lines - 1),
            ("bad.jsonl".to_owned(), miss_lines),
        ]
    );
    // Everything readable was still used.
    assert!(json["frames"]["ran"].as_u64().unwrap() > 50);
}

/// Writes a `.hlog` of one EndToEnd interval of `values` µs.
fn write_hlog(path: &Path, values: impl Iterator<Item = u64>) {
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    for v in values {
        h.record(v).unwrap();
    }
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let start = SystemTime::now();
    let mut log = IntervalLogWriterBuilder::new()
        .with_start_time(start)
        .with_base_time(start)
        .begin_log_with(&mut out, &mut serializer)
        .unwrap();
    log.write_histogram(
        &h,
        Duration::ZERO,
        Duration::from_secs(5),
        Some(Tag::new("EndToEnd").unwrap()),
    )
    .unwrap();
    std::fs::write(path, out).unwrap();
}

#[test]
fn comparing_runs_flags_a_slower_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    // 1 to 3 ms; the candidate is the same but 40 % slower.
    write_hlog(&p("a.hlog"), (0..3000).map(|i| 1_000 + (i * 2_000) / 3000));
    write_hlog(
        &p("same.hlog"),
        (0..3000).map(|i| 1_000 + (i * 2_000) / 3000),
    );
    write_hlog(&p("b.hlog"), (0..3000).map(|i| 1_400 + (i * 2_800) / 3000));
    let compare = |candidate: &str, out: &str| {
        node(&[
            "report",
            "--baseline",
            s(&p("a.hlog")),
            "--candidate",
            s(&p(candidate)),
            "-o",
            s(&p(out)),
        ])
    };
    let out = compare("same.hlog", "same.md");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = compare("b.hlog", "b.json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("regressions in EndToEnd p50"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("b.json")).unwrap()).unwrap();
    let p50 = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "p50")
        .unwrap();
    assert_eq!(p50["regression"], true);
    assert!((p50["ratio"].as_f64().unwrap() - 1.4).abs() < 0.01, "{p50}");
    let out = compare("b.hlog", "b.html");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(p("b.html"))
            .unwrap()
            .contains("<svg")
    );
}
