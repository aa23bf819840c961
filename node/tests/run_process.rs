//! `fusion-node run` as a separate process, on zenoh loopback (explicit
//! endpoints from a json5 file, multicast scouting off): it runs for its
//! duration against a publisher, and it stops cleanly on SIGTERM. Every
//! wait is bounded.

#![cfg(target_os = "linux")]

mod common;
mod live;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fusion_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus};
use fusion_node::launch::Launch;
use fusion_node::simulate::LiveSim;
use fusion_sim::{LidarModel, Scene};
use live::{connected_session, endpoint, free_port, matched_publisher};
use zenoh::Wait;

/// The default launch file with `[zenoh]` replaced by a json5 file that
/// listens on `port` only, in `dir`.
fn loopback_launch(dir: &Path, port: u16) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let default = std::fs::read_to_string(root.join("launch/default.toml")).unwrap();
    let start = default.find("[zenoh]").unwrap();
    let end = start + default[start..].find("\n\n").unwrap();
    let text = format!(
        "{}[zenoh]\nconfig = \"zenoh.json5\"{}",
        &default[..start],
        &default[end..]
    );
    std::fs::write(
        dir.join("zenoh.json5"),
        format!(
            "{{ mode: \"peer\", listen: {{ endpoints: [\"{}\"] }}, scouting: {{ multicast: {{ enabled: false }} }} }}",
            endpoint(port)
        ),
    )
    .unwrap();
    let path = dir.join("launch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A child process that is killed (and reaped) when dropped, so that a
/// test failing half-way leaves no node or recorder running. After a
/// clean exit the test has reaped it, and `Child::kill` then signals
/// nothing.
struct Reaped(Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `fusion-node run` and a thread that forwards its stderr lines.
fn spawn_node(launch: &Path, extra: &[&str]) -> (Reaped, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("run")
        .arg("--launch")
        .arg(launch)
        .args(extra)
        // The compile cache the other tests warm up.
        .env(
            "FUSION_NODE_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"),
        )
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Reaped(child), rx)
}

/// Waits for a line containing `needle`; returns the lines seen.
fn wait_for_line(lines: &Receiver<String>, needle: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_deadline(deadline) {
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return seen;
        }
    }
    panic!("no line with `{needle}` within {timeout:?}: {seen:#?}");
}

/// Waits for the child to exit, killing it after `timeout`.
fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Module compilation may take a while on a cold cache in a debug build.
const STARTUP: Duration = Duration::from_secs(180);

/// Starts `fusion-node run` on `launch_path` with `extra` arguments, waits
/// until it runs, and connects a session to its `port`: (node, its stderr
/// lines, the launch file, the session).
fn start_node(
    launch_path: &Path,
    port: u16,
    extra: &[&str],
) -> (Reaped, Receiver<String>, Launch, zenoh::Session) {
    let (child, lines) = spawn_node(launch_path, extra);
    wait_for_line(&lines, "running", STARTUP);
    let launch = Launch::load(launch_path).unwrap();
    (child, lines, launch, connected_session(port))
}

/// Publishes the highway scene for `launch`'s sensors on `peer` at 20 Hz
/// for `duration`, once the node subscribes to the LiDAR (at most 10 s).
fn feed(peer: &zenoh::Session, launch: &Launch, duration: Duration) {
    drop(matched_publisher(peer, "/sensors/lidar_top/points"));
    let mut sim = LiveSim::new(peer, launch, Scene::highway(5), LidarModel::small(), 5).unwrap();
    sim.run(20.0, Some(duration), &AtomicBool::new(false))
        .unwrap();
}

#[test]
fn run_for_a_duration_against_a_publisher_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = loopback_launch(dir.path(), port);
    let (mut child, lines, launch, peer) = start_node(&launch_path, port, &["--duration", "3s"]);
    // The node's /diagnostics, once a second.
    let (diag_tx, diagnostics) = crossbeam_channel::unbounded();
    peer.declare_subscriber("diagnostics")
        .callback(move |sample| {
            let _ = diag_tx.send(sample.payload().to_bytes().into_owned());
        })
        .background()
        .wait()
        .unwrap();
    // Publish for about 1.5 s, well inside the node's 3 s.
    feed(&peer, &launch, Duration::from_millis(1500));

    let status =
        wait_exit(&mut child, Duration::from_secs(20)).expect("node exits after --duration");
    let _ = peer.close().wait();
    let output: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "{status:?}: {output:#?}");
    let summary = output
        .iter()
        .find(|l| l.contains(" frames, "))
        .unwrap_or_else(|| panic!("no summary: {output:#?}"));
    let published: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" published"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("summary: {summary}"));
    assert!(published > 0, "{summary}");

    let arrays: Vec<DiagnosticArray> = diagnostics
        .try_iter()
        .map(|bytes| fusion_msgs::decode(&bytes).unwrap())
        .collect();
    assert!(!arrays.is_empty(), "no diagnostics: {output:#?}");
    for array in &arrays {
        // One status per sensor, then the frames and the module.
        let n = launch.sensors.len();
        assert_eq!(array.status.len(), n + 2, "{array:#?}");
        assert_eq!(array.status[0].name, "fusion_node: lidar_top");
        assert_eq!(array.status[n].name, "fusion_node: frames");
        assert_eq!(array.status[n + 1].name, "fusion_node: module");
        assert!(
            array.status[n + 1].message.contains("builtin:reference"),
            "{array:#?}"
        );
    }
    assert!(
        arrays
            .iter()
            .any(|a| a.status[0].level == DiagnosticStatus::OK),
        "the LiDAR never OK while publishing: {arrays:#?}"
    );
}

#[test]
fn sigterm_stops_a_running_node_within_2s() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = loopback_launch(dir.path(), port);
    let (mut child, lines) = spawn_node(&launch_path, &[]);
    wait_for_line(&lines, "running", STARTUP);
    let pid = i32::try_from(child.id()).unwrap();
    let sent = Instant::now();
    // SAFETY: kill(2) with the pid of our own child and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(2));
    let output: Vec<String> = lines.try_iter().collect();
    let status = status.unwrap_or_else(|| panic!("still running 2 s after SIGTERM: {output:#?}"));
    assert!(status.success(), "{status:?}: {output:#?}");
    assert!(sent.elapsed() < Duration::from_secs(2));
    assert!(
        output.iter().any(|l| l.contains(" frames, ")),
        "{output:#?}"
    );
}

/// `loopback_launch` with `[logs]` pointing into `dir/logs` (1 s `.hlog`
/// intervals) and, if given, the module `wat` compiled into `dir`.
fn logging_launch(dir: &Path, port: u16, wat: Option<&str>) -> PathBuf {
    let path = loopback_launch(dir, port);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[logs]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    text.replace_range(
        start..end,
        "[logs]\nmiss_log = \"logs/misses.jsonl\"\nhlog = \"logs/latency.hlog\"\nhlog_interval = \"1s\"\nsummary = \"logs/summary.json\"",
    );
    if let Some(name) = wat {
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/modules/{name}.wat"));
        std::fs::write(dir.join("module.wasm"), wat::parse_file(source).unwrap()).unwrap();
        text = text.replace("path = \"builtin:reference\"", "path = \"module.wasm\"");
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the node of `launch_path` against a simulated rig for about 3 s,
/// then sends SIGTERM; returns its stderr after it exited 0.
fn run_then_sigterm(launch_path: &Path, port: u16) -> Vec<String> {
    let (mut child, lines, launch, peer) = start_node(launch_path, port, &[]);
    feed(&peer, &launch, Duration::from_millis(3000));
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with the pid of our own child and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let _ = peer.close().wait();
    let output: Vec<String> = lines.try_iter().collect();
    let status = status.unwrap_or_else(|| panic!("still running after SIGTERM: {output:#?}"));
    assert!(status.success(), "{status:?}: {output:#?}");
    output
}

/// Every line of the miss log, parsed.
fn miss_lines(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("logs/misses.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn sigterm_leaves_a_miss_log_an_hlog_and_a_summary() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = logging_launch(dir.path(), port, None);
    let output = run_then_sigterm(&launch_path, port);
    assert!(
        output.iter().any(|l| l.contains("EndToEnd")),
        "no percentile table: {output:#?}"
    );

    miss_lines(dir.path());
    let hlog = std::fs::read_to_string(dir.path().join("logs/latency.hlog")).unwrap();
    let mut intervals = std::collections::BTreeMap::<String, usize>::new();
    for entry in IntervalLogIterator::new(hlog.as_bytes()) {
        if let LogEntry::Interval(i) = entry.unwrap_or_else(|e| panic!("{e:?}: {hlog}")) {
            *intervals
                .entry(i.tag().unwrap().as_str().to_owned())
                .or_default() += 1;
        }
    }
    for stage in fusion_node::metrics::Stage::ALL {
        assert!(
            intervals.get(stage.name()).copied().unwrap_or(0) >= 1,
            "{stage}: {hlog}"
        );
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("logs/summary.json")).unwrap(),
    )
    .unwrap();
    let e2e = end_to_end(&summary);
    assert!(e2e["count"].as_u64().unwrap() > 0, "{summary}");

    // The report, from the `.hlog` alone, gives the node's own summary.
    let report = report_json(dir.path(), &[]);
    let ours = end_to_end(&report);
    for key in ["count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert_eq!(ours[key], e2e[key], "{key}: {report:#}");
    }
    let env: Vec<&str> = report["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    for key in [
        "Node", "Mode", "Host", "CPU", "OS", "Build", "Launch", "Budget",
    ] {
        assert!(env.contains(&key), "{key}: {env:?}");
    }
    assert_eq!(report["modules"].as_array().unwrap().len(), 1, "{report:#}");
}

/// The `EndToEnd` entry of a summary's or a report's `stages`.
fn end_to_end(json: &serde_json::Value) -> &serde_json::Value {
    json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "EndToEnd")
        .unwrap()
}

/// `fusion-node report --format json` on the logs of `dir/logs`, with
/// `extra` arguments; checks the exit code agrees with the verdict.
fn report_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let logs = dir.join("logs");
    let output = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("report")
        .arg("--hlog")
        .arg(logs.join("latency.hlog"))
        .arg("--misses")
        .arg(logs.join("misses.jsonl"))
        .args(["--format", "json", "--budget", "1s"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let pass = report["verdict"]["pass"].as_bool().unwrap();
    assert_eq!(
        output.status.code(),
        Some(if pass { 0 } else { 1 }),
        "{stderr}"
    );
    report
}

#[test]
fn a_module_past_its_deadline_logs_deadline_misses() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = logging_launch(dir.path(), port, Some("busy_loop"));
    run_then_sigterm(&launch_path, port);
    let lines = miss_lines(dir.path());
    assert!(
        lines.iter().any(|l| l["reason"] == "deadline"),
        "{lines:#?}"
    );
    // QA's gate fails the run on those misses, and counts each one.
    let deadline = lines.iter().filter(|l| l["reason"] == "deadline").count();
    let report = report_json(dir.path(), &["--fail-on", "misses.deadline>0"]);
    assert_eq!(report["verdict"]["pass"], false, "{report:#}");
    assert_eq!(report["rules"][0]["actual"], deadline.to_string());
    let counted = report["miss_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["reason"] == "deadline")
        .unwrap();
    assert_eq!(counted["count"], deadline);
}

/// Runs `fusion-node stats` with `args`; (exit code, stdout, stderr).
fn stats_command(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("stats")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn stats_reads_a_running_nodes_counters_and_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = loopback_launch(dir.path(), port);
    let (mut child, _lines, launch, peer) = start_node(&launch_path, port, &["--duration", "20s"]);
    feed(&peer, &launch, Duration::from_millis(1500));

    let endpoint = endpoint(port);
    let (code, json, stderr) =
        stats_command(&["--node", "fusion_node", "--connect", &endpoint, "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let stats: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(stats["node"], "fusion_node");
    assert!(
        stats["counters"]["frames"].as_u64().unwrap() > 0,
        "{stats:#}"
    );
    let sensors = stats["sensors"].as_array().unwrap();
    assert_eq!(sensors.len(), launch.sensors.len());
    assert_eq!(sensors[0]["name"], "lidar_top");
    let stages = stats["latency"]["stages"]
        .as_array()
        .expect("a latency snapshot");
    assert_eq!(stages.len(), 6, "{stats:#}");
    assert!(
        stages
            .iter()
            .any(|s| s["stage"] == "EndToEnd" && s["count"].as_u64() > Some(0)),
        "{stats:#}"
    );

    let (code, table, stderr) = stats_command(&["--node", "fusion_node", "--connect", &endpoint]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(table.starts_with("fusion_node (up "), "{table}");
    assert!(
        table.contains("frames") && table.contains("p99.9"),
        "{table}"
    );

    let (code, _, stderr) = stats_command(&[
        "--node",
        "nobody",
        "--connect",
        &endpoint,
        "--timeout",
        "500ms",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no node named `nobody` answered"),
        "{stderr}"
    );

    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with the pid of our own child and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(5)).expect("exits on SIGTERM");
    assert!(status.success());
    let _ = peer.close().wait();
}

/// Runs `fusion-node demo ARGS --out DIR` and checks what every demo
/// shows: a status line a second with frames flowing and objects tracked,
/// the summary, and the logs left in DIR; returns stdout.
fn demo(args: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("demo")
        .args(args)
        .arg("--out")
        .arg(out.path())
        .env(
            "FUSION_NODE_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let column = |name: &str| -> Vec<u64> {
        stdout
            .lines()
            .filter_map(|l| {
                l.split(name)
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    };
    let frames = column("frames");
    assert!(frames.len() >= 3, "{stdout}");
    assert!(*frames.last().unwrap() >= 20, "{stdout}");
    let objects = column("objects");
    assert!(objects.iter().any(|&n| n > 0), "{stdout}");
    assert!(stderr.contains(" frames, "), "no summary: {stderr}");
    for log in ["misses.jsonl", "latency.hlog", "summary.txt"] {
        assert!(out.path().join(log).exists(), "{log} missing: {stdout}");
    }
    let summary = std::fs::read_to_string(out.path().join("summary.txt")).unwrap();
    assert!(summary.contains("EndToEnd"), "{summary}");
    stdout
}

/// The README's main command, shortened: the node on the built-in default
/// launch file, fed the sample drive replayed live in the same process
/// over loopback zenoh, then scored against the drive's ground truth.
#[test]
fn demo_replays_the_sample_drive_into_the_node_and_scores_it() {
    let stdout = demo(&["--duration", "3s"]);
    assert!(stdout.contains("fed the drive "), "{stdout}");
    assert!(
        stdout.contains("accuracy against the ground truth, within 80 m:"),
        "{stdout}"
    );
    // The evaluation's table: the overall row has a MOTA figure.
    let all = stdout
        .lines()
        .find(|l| l.starts_with("all "))
        .expect("an overall row");
    let mota: f64 = all.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(mota > 0.0, "{all}");
}

/// `demo --simulate`: the live simulator feeds the node instead.
#[test]
fn demo_runs_the_node_on_the_simulator_and_leaves_its_logs() {
    let stdout = demo(&["--simulate", "--duration", "3s", "--lidar", "small"]);
    assert!(stdout.contains("simulated at 20 Hz"), "{stdout}");
}

/// `replay` (live) publishes a drive's messages with the recorded spacing
/// divided by `--rate`, only the topics asked for, restamped to now with
/// `--restamp`, and with `--wait-for-subscribers` loses none of them.
#[test]
fn live_replay_publishes_the_chosen_topics_at_the_chosen_rate() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive.mcap");
    let status = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args([
            "simulate",
            "--scenario",
            "highway",
            "--duration",
            "4s",
            "--lidar",
            "sparse",
            "-o",
        ])
        .arg(&drive)
        .status()
        .unwrap();
    assert!(status.success());
    let port = free_port();
    let listener = live::listening_session(port);
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&received);
    let _subscriber = listener
        .declare_subscriber("sensors/**")
        .callback(move |sample| {
            let bytes = sample.payload().to_bytes().to_vec();
            let stamp = fusion_node::pipeline::header_stamp_ns(&bytes, bytes.len()).unwrap();
            sink.lock()
                .unwrap()
                .push((sample.key_expr().to_string(), stamp, Instant::now()));
        })
        .wait()
        .unwrap();
    let began = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .arg("replay")
        .arg(&drive)
        .args([
            "--rate",
            "2",
            "--restamp",
            "--topics",
            "/sensors/lidar_top/points,/sensors/radar_front/scan",
        ])
        .args(["--connect", &live::endpoint(port)])
        .args(["--wait-for-subscribers", "10s"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = began.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    let received = received.lock().unwrap();
    let lidar = received
        .iter()
        .filter(|(k, ..)| k.contains("lidar_top"))
        .count();
    let radar = received
        .iter()
        .filter(|(k, ..)| k.contains("radar_front/"))
        .count();
    // Publishing starts once zenoh has matched the subscriber
    // (--wait-for-subscribers): nothing is lost, nothing else published.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("every sensor topic has a subscriber"),
        "{stderr}"
    );
    assert_eq!(lidar, 40, "LiDAR scans");
    assert_eq!(radar, 80, "radar scans");
    assert_eq!(received.len(), lidar + radar, "only the chosen topics");
    // 4 s of drive at twice the speed.
    assert!(took >= Duration::from_millis(1800), "took {took:?}");
    // Restamped: the stamps are about now, not in 2023.
    let now = fusion_node::pipeline::wall_clock_ns();
    assert!(
        received
            .iter()
            .all(|(_, s, _)| (now - s).abs() < 60_000_000_000)
    );
}

/// `record` writes what a sensor publisher sends; a recorder killed with
/// SIGKILL leaves a file that `info` and `replay` still read, up to its last
/// chunk, and a recorder stopped by `--duration` a finished one.
#[test]
fn record_keeps_what_it_received_even_when_killed() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = loopback_launch(dir.path(), port);
    let launch = Launch::load(&launch_path).unwrap();
    let record = |out: &Path, extra: &[&str]| {
        Reaped(
            Command::new(env!("CARGO_BIN_EXE_fusion-node"))
                .args(["record", "--launch"])
                .arg(&launch_path)
                .arg("-o")
                .arg(out)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    // `info --json`: the LiDAR scans and the warnings, or `info`'s error
    // (before its first chunk a recording may not even be MCAP yet).
    let scans = |path: &Path| -> Result<(u64, String), String> {
        let out = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
            .arg("info")
            .arg(path)
            .arg("--json")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err(stderr);
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let lidar = json["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == "/sensors/lidar_top/points")
            .map_or(0, |t| t["count"].as_u64().unwrap());
        Ok((lidar, stderr))
    };
    let info = |path: &Path| scans(path).unwrap_or_else(|stderr| panic!("{stderr}"));

    // Stopped by --duration: a finished file with what was sent.
    let finished = dir.path().join("finished.mcap");
    let mut recorder = record(&finished, &["--duration", "4s", "--compression", "lz4"]);
    let peer = connected_session(port);
    feed(&peer, &launch, Duration::from_secs(2));
    let status = wait_exit(&mut recorder, Duration::from_secs(20)).expect("stops after --duration");
    assert!(status.success());
    let (lidar, warnings) = info(&finished);
    assert!(
        (30..=41).contains(&lidar),
        "{lidar} of about 40 LiDAR scans"
    );
    assert!(warnings.is_empty(), "{warnings}");
    let _ = peer.close().wait();

    // Killed: the chunks it wrote (one a second) are still there.
    let killed = dir.path().join("killed.mcap");
    let mut recorder = record(&killed, &[]);
    let peer = connected_session(port);
    feed(&peer, &launch, Duration::from_secs(3));
    // Chunks close on log time (one a second), so 3 s of scans make two
    // closed chunks; a loaded machine may take a while to write them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while scans(&killed).map_or(0, |(lidar, _)| lidar) < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    recorder.kill().unwrap();
    let _ = recorder.wait();
    let _ = peer.close().wait();
    let (lidar, warnings) = info(&killed);
    assert!(lidar >= 20, "{lidar} LiDAR scans survived the kill");
    assert!(warnings.contains("truncated"), "{warnings}");
}

/// `fusion-node module status --json` of the node on `port`.
fn module_status(port: u16) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args(["module", "status", "--node", "fusion_node", "--json"])
        .args(["--connect", &endpoint(port), "--timeout", "5s"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_running_node_swaps_on_deploy_on_a_file_change_and_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let launch_path = logging_launch(dir.path(), port, None);
    let module = dir.path().join("module.wasm");
    std::fs::write(&module, fusion_node::modules::REFERENCE_WASM_BYTES).unwrap();
    // A loose budget and watch: deadlines are the in-process tests' subject.
    let text = std::fs::read_to_string(&launch_path)
        .unwrap()
        .replace("path = \"builtin:reference\"", "path = \"module.wasm\"")
        .replace("deadline = \"10ms\"", "deadline = \"50ms\"")
        + "\n[module.swap]\nwatch = true\npoll_interval = \"100ms\"\nrollback_misses = 20\n";
    std::fs::write(&launch_path, &text).unwrap();
    let (mut child, lines, launch, peer) = start_node(&launch_path, port, &[]);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let feeder = {
        let (peer, launch, stop) = (peer.clone(), launch.clone(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            drop(matched_publisher(&peer, "/sensors/lidar_top/points"));
            let mut sim =
                LiveSim::new(&peer, &launch, Scene::highway(5), LidarModel::small(), 5).unwrap();
            sim.run(20.0, Some(Duration::from_secs(120)), &stop)
                .unwrap();
        })
    };
    let status = |port| module_status(port);
    // The status once `what` holds of it (at most a minute).
    let settled = |what: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = status(port);
            if what(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "{s:#}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    let deploy = |path: &Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fusion-node"))
            .args(["deploy", path.to_str().unwrap(), "--node", "fusion_node"])
            .args(extra)
            .args(["--connect", &endpoint(port)])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let v1 = status(port)["current"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    // 1. deploy over zenoh.
    let v2 = dir.path().join("v2.wasm");
    std::fs::write(
        &v2,
        common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "v2"),
    )
    .unwrap();
    let out = deploy(&v2, &["--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["outcome"], "swapped", "{outcome:#}");
    assert!(
        outcome["state"]
            .as_str()
            .unwrap()
            .starts_with("carried over"),
        "{outcome:#}"
    );
    let after = status(port);
    assert_eq!(after["current"]["sha256"], outcome["module_sha256"]);
    assert_eq!(after["previous"]["sha256"], v1.as_str());
    assert_eq!(after["swaps"], 1);

    // 2. the module file changes (written elsewhere, then renamed in).
    let staged = dir.path().join("module.wasm.new");
    std::fs::write(
        &staged,
        common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "v3"),
    )
    .unwrap();
    std::fs::rename(&staged, &module).unwrap();
    // The status counts a swap when it goes live, and records the outcome
    // when its watch is over.
    let swapped = |want: u64, trigger: &str| {
        let s = settled(&|s| s["swaps"].as_u64() == Some(want) && s["last"]["trigger"] == trigger);
        assert_eq!(s["last"]["outcome"], "swapped", "{s:#}");
        assert_eq!(s["last"]["module_sha256"], s["current"]["sha256"], "{s:#}");
        s
    };
    swapped(2, "file_changed");

    // 3. SIGHUP after a parameter changed: the same module, configured anew.
    std::fs::write(
        &launch_path,
        text.replace("gate_chi2 = 13.8", "gate_chi2 = 14.0"),
    )
    .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with the pid of our own child and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    swapped(3, "reload");

    // 4. garbage is refused, and says why; the module stays.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a module").unwrap();
    let out = deploy(&junk, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused"));
    let s = status(port);
    assert_eq!(
        (s["swaps"].as_u64(), s["refused"].as_u64()),
        (Some(3), Some(1)),
        "{s:#}"
    );

    // 5. SIGHUP applies [module.swap]: signed releases from 2 up are now
    // required, so an unsigned module file is refused; signed, it swaps.
    let key = fusion_node::swap::signing::SecretKey::generate().unwrap();
    let key_file = dir.path().join("deploy.key");
    std::fs::write(&key_file, key.to_key_file()).unwrap();
    let sign = |path: &Path, release: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_fusion-node"))
            .args(["module", "sign", path.to_str().unwrap()])
            .args([
                "--key",
                key_file.to_str().unwrap(),
                "--release-version",
                release,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        &launch_path,
        text.replace("gate_chi2 = 13.8", "gate_chi2 = 14.0")
            + &format!(
                "require_signed = true\ntrusted_keys = [\"{}\"]\nmin_version = 2\n",
                key.public_key()
            ),
    )
    .unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    settled(&|s| s["last"]["trigger"] == "reload" && s["last"]["outcome"] == "unchanged");
    std::fs::write(
        &staged,
        common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "v4"),
    )
    .unwrap();
    std::fs::rename(&staged, &module).unwrap();
    let s = settled(&|s| s["refused"].as_u64() == Some(2));
    assert_eq!(s["last"]["trigger"], "file_changed", "{s:#}");
    assert!(
        s["last"]["reason"].as_str().unwrap().contains("require"),
        "{s:#}"
    );
    sign(&module, "2");
    // (`swapped` would take the refusal above, still the last outcome
    // until this swap's watch is over.)
    let s = settled(&|s| s["last"]["outcome"] == "swapped" && s["swaps"].as_u64() == Some(4));
    assert_eq!(s["last"]["trigger"], "file_changed", "{s:#}");
    assert_eq!(s["last"]["signed_version"], 2, "{s:#}");
    assert_eq!(s["last"]["module_sha256"], s["current"]["sha256"], "{s:#}");

    // 6. `deploy` sends a release statement as it is (its version too).
    let v5 = dir.path().join("v5.wasm");
    std::fs::write(
        &v5,
        common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "v5"),
    )
    .unwrap();
    sign(&v5, "3");
    let out = deploy(&v5, &["--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(deployed["signed_version"], 3, "{deployed:#}");
    let s = settled(&|s| s["release_floor"] == 3);
    assert_eq!(s["current"]["sha256"], deployed["module_sha256"], "{s:#}");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    feeder.join().unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let exit = wait_exit(&mut child, Duration::from_secs(10));
    let _ = peer.close().wait();
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(exit.is_some_and(|e| e.success()), "{rest:#?}");

    // The miss log has every swap and the refusal; the QA report lists the
    // module versions.
    let records = miss_lines(dir.path());
    let count = |reason: &str| records.iter().filter(|l| l["reason"] == reason).count();
    assert_eq!(
        (count("swap"), count("swap_refused")),
        (5, 2),
        "{records:#?}"
    );
    let report = report_json(dir.path(), &["--fail-on", "frames<1"]);
    assert!(
        report["modules"].as_array().unwrap().len() >= 3,
        "{report:#}"
    );
}
