//! The node end to end, as `fusion-node run` runs it (issue 6): the
//! reference module (Wasm, on the production host engine) on the default
//! launch file's sensors, fed at 20 Hz over zenoh loopback
//! (`tcp/127.0.0.1`, multicast scouting off) with full-size messages: a
//! 120,000-point LiDAR cloud, 3 radar scans of 256 returns and 4 cameras
//! of 40 detections. Like a sensor driver on the same computer, the feeder
//! puts large payloads in a zenoh shared-memory pool.
//!
//! Every frame's [`FrameReport`] goes to a recording sink; the harness
//! prints end-to-end latency (trigger arrival → publish), the module's
//! execution time, the node's own overhead (end to end minus module) and
//! the misses. In the same run, a bare zenoh publisher → subscriber hop
//! with the same payloads on loopback gives the transport's latency for
//! comparison.
//!
//! `cargo bench --bench node` runs 60 s of each; `FUSION_BENCH_SECONDS`
//! shortens (or lengthens) that. BENCHMARKS.md has the figures.

mod common;

use common::{CAMERA_DETECTIONS, LIDAR_POINTS, RADAR_RETURNS, to_benchmark_size};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fusion_abi::SensorKind;
use fusion_node::host::MissReason;
use fusion_node::launch::Launch;
use fusion_node::node::{Node, load_host};
use fusion_node::pipeline::{FrameReport, Outcome, RecordingSink};
use fusion_node::simulate::Pacer;
use fusion_node::transport::{
    DEFAULT_SHM_POOL_BYTES, SensorPublisher, ShmPool, explicit_peer_config, open_config,
};
use fusion_sim::{FrameGenerator, LidarModel, Scene, SensorMessage};
use hdrhistogram::Histogram;
use zenoh::{Session, Wait};

/// Distinct ticks rendered ahead; the run cycles through them, restamped.
const TICKS: usize = 40;
const PERIOD: Duration = Duration::from_millis(50);
/// Frames of the first second are warm-up, left out of the figures.
const WARMUP_FRAMES: usize = 20;

const GOAL_E2E_P999: Duration = Duration::from_millis(3);
const GOAL_OVERHEAD_P99: Duration = Duration::from_micros(150);

/// The default launch file and `TICKS` ticks of the highway scene for its
/// sensors, at full size.
fn inputs() -> (Launch, Vec<Vec<SensorMessage>>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let launch = Launch::load(root.join("launch/default.toml")).unwrap();
    let lidar = LidarModel {
        azimuth_steps: 1800,
        ..LidarModel::vlp128_like()
    };
    let rig = launch.module_config().sensors;
    let mut generator = FrameGenerator::new(Scene::highway(3), rig, lidar, 3);
    generator.radar.clutter_mean = 200.0;
    generator.camera.false_positive_mean = 30.0;
    let ticks = (0..TICKS)
        .map(|_| {
            let f = generator.next(PERIOD.as_secs_f64());
            let mut messages = generator.messages(f.sequence);
            to_benchmark_size(&mut messages);
            let sec = (f.stamp_ns / 1_000_000_000) as i32;
            for (_, _, bytes) in &messages {
                assert_eq!(
                    bytes[4..8],
                    sec.to_le_bytes(),
                    "the stamp is not where restamp writes"
                );
            }
            messages
        })
        .collect();
    (launch, ticks)
}

/// Rewrites a CDR message's header stamp (after the 4-byte encapsulation
/// header: `sec: i32`, `nanosec: u32`).
fn restamp(message: &mut [u8], stamp_ns: i64) {
    let sec = (stamp_ns / 1_000_000_000) as i32;
    let nanosec = (stamp_ns % 1_000_000_000) as u32;
    message[4..8].copy_from_slice(&sec.to_le_bytes());
    message[8..12].copy_from_slice(&nanosec.to_le_bytes());
}

fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Two sessions on loopback, scouting off: (listening, connected).
fn session_pair() -> (Session, Session) {
    let port = free_port();
    let listening = open_config(explicit_peer_config(&[endpoint(port)], &[]).unwrap()).unwrap();
    let connected = open_config(explicit_peer_config(&[], &[endpoint(port)]).unwrap()).unwrap();
    (listening, connected)
}

/// A publisher on `topic` that puts large payloads from `pool`, once a
/// subscriber for it is known (at most 10 s).
fn matched_publisher(session: &Session, topic: &str, pool: &Arc<ShmPool>) -> SensorPublisher {
    let publisher = SensorPublisher::declare(session, topic, Some(Arc::clone(pool))).unwrap();
    let start = Instant::now();
    while !publisher.matched() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no subscriber for {topic}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    publisher
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap()
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Publishes `ticks` at 20 Hz for `duration`, in cycle, restamped; calls
/// `publish(sensor, bytes)` for each message, the trigger (LiDAR) last, so
/// the set is complete when the trigger arrives. Returns the tick count.
fn drive(
    ticks: &mut [Vec<SensorMessage>],
    duration: Duration,
    mut publish: impl FnMut(usize, &mut Vec<u8>),
) -> usize {
    const T0: i64 = 1_700_000_000_000_000_000;
    let start = Instant::now();
    let mut pacer = Pacer::new(PERIOD);
    let mut k = 0;
    while start.elapsed() < duration {
        let stamp = T0 + k as i64 * PERIOD.as_nanos() as i64;
        let tick = &mut ticks[k % TICKS];
        for (index, _, bytes) in tick.iter_mut().rev() {
            restamp(bytes, stamp);
            publish(usize::from(*index), bytes);
        }
        k += 1;
        pacer.wait();
    }
    k
}

fn node_run(launch: &Launch, ticks: &mut [Vec<SensorMessage>], duration: Duration) {
    let host = load_host(launch).unwrap();
    let (listening, peer) = session_pair();
    let sink = RecordingSink::new();
    let node = Node::start_with(launch, listening, host, Box::new(sink.clone())).unwrap();
    let pool = Arc::new(ShmPool::new(DEFAULT_SHM_POOL_BYTES).unwrap());
    let publishers: Vec<SensorPublisher> = launch
        .sensors
        .iter()
        .map(|s| matched_publisher(&peer, &s.topic, &pool))
        .collect();
    let sent = drive(ticks, duration, |i, bytes| {
        publishers[i].put(bytes).unwrap();
    });
    let pool_full: u64 = publishers
        .iter()
        .map(SensorPublisher::pool_full_count)
        .sum();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let r = sink.snapshot();
        if r.frames.len() + r.dropped.len() >= sent {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let summary = node.stop().unwrap();
    drop(publishers);
    let _ = peer.close().wait();
    let recorded = sink.snapshot();

    let frames: &[FrameReport] = recorded.frames.get(WARMUP_FRAMES..).unwrap_or_default();
    // end_to_end = align_wait + frame_build + module_exec + publish + rest
    // (the report's own bookkeeping between them).
    let mut stages: [(&str, Histogram<u64>); 7] = [
        ("end to end", histogram()),
        ("module_exec", histogram()),
        ("node overhead", histogram()),
        ("  align_wait", histogram()),
        ("  frame_build", histogram()),
        ("  publish", histogram()),
        ("  rest", histogram()),
    ];
    let (mut deadline, mut other_miss, mut degraded, mut publish_failed) = (0, 0, 0, 0);
    for r in frames {
        let s = &r.stages;
        let overhead = s.end_to_end.saturating_sub(s.module_exec);
        let rest = overhead
            .saturating_sub(s.align_wait)
            .saturating_sub(s.frame_build)
            .saturating_sub(s.publish);
        let values = [
            s.end_to_end,
            s.module_exec,
            overhead,
            s.align_wait,
            s.frame_build,
            s.publish,
            rest,
        ];
        for ((_, h), v) in stages.iter_mut().zip(values) {
            h.record((v.as_nanos() as u64).max(1)).unwrap();
        }
        degraded += usize::from(r.is_degraded());
        match r.outcome {
            Outcome::Published { .. } => {}
            Outcome::ModuleMiss {
                reason: MissReason::Deadline,
                ..
            } => deadline += 1,
            Outcome::ModuleMiss { .. } => other_miss += 1,
            Outcome::PublishFailed => publish_failed += 1,
        }
    }
    let dropped = recorded.dropped.len();
    let lost = sent.saturating_sub(recorded.frames.len() + dropped);
    println!(
        "node: {sent} ticks sent, {} frames reported ({} after warm-up), deadline {:?}",
        recorded.frames.len(),
        frames.len(),
        launch.deadline
    );
    let q = |h: &Histogram<u64>, q: f64| ms(h.value_at_quantile(q));
    for (name, h) in &stages {
        println!(
            "  {name:<15} p50 {:>7.3} ms  p99 {:>7.3} ms  p99.9 {:>7.3} ms  max {:>7.3} ms",
            q(h, 0.5),
            q(h, 0.99),
            q(h, 0.999),
            ms(h.max())
        );
    }
    println!("  (node overhead = end to end - module_exec; the indented rows are its parts)");
    let [(_, e2e), _, (_, overhead), ..] = &stages;
    println!(
        "  misses: {deadline} deadline, {other_miss} other module, {degraded} degraded, {dropped} dropped sets, {publish_failed} publish failed, {lost} ticks never reported"
    );
    println!("  inputs put as plain bytes because the shared-memory pool was full: {pool_full}");
    println!(
        "  summary: published {}, deadline misses {}, degraded {}, sets dropped {}",
        summary.frames.published,
        summary.frames.deadline_misses,
        summary.frames.degraded,
        summary.frames.sets_dropped
    );
    let misses = deadline + other_miss + degraded + dropped + publish_failed + lost;
    let verdict = |met: bool| if met { "MET" } else { "NOT MET" };
    let p999 = e2e.value_at_quantile(0.999);
    let over99 = overhead.value_at_quantile(0.99);
    println!("goals:");
    println!(
        "  end-to-end p99.9 < 3 ms:   {:.3} ms  {}",
        ms(p999),
        verdict(p999 < GOAL_E2E_P999.as_nanos() as u64)
    );
    println!(
        "  0 misses:                  {misses}  {}",
        verdict(misses == 0)
    );
    println!(
        "  node overhead p99 < 150 µs: {:.0} µs  {}",
        over99 as f64 / 1e3,
        verdict(over99 < GOAL_OVERHEAD_P99.as_nanos() as u64)
    );
}

/// The same payloads and rate over a bare zenoh hop: each message carries
/// its send time (ns since `epoch`) in its first 8 bytes.
fn bare_hop(launch: &Launch, ticks: &mut [Vec<SensorMessage>], duration: Duration) {
    let (listening, peer) = session_pair();
    let epoch = Instant::now();
    // Per kind: LiDAR, radar, camera.
    let hists: Arc<Mutex<[Histogram<u64>; 3]>> =
        Arc::new(Mutex::new([histogram(), histogram(), histogram()]));
    let kind_index = |kind: SensorKind| match kind {
        SensorKind::Lidar => 0,
        SensorKind::Radar => 1,
        SensorKind::Camera => 2,
    };
    let kinds: Vec<usize> = ticks[0].iter().map(|(_, k, _)| kind_index(*k)).collect();
    let mut subscribers = Vec::new();
    for (i, _) in launch.sensors.iter().enumerate() {
        let hists = hists.clone();
        let kind = kinds[i];
        let key = format!("bench/hop/{i}");
        let subscriber = listening
            .declare_subscriber(key)
            .callback(move |sample| {
                let now = epoch.elapsed().as_nanos() as u64;
                let payload = sample.payload().to_bytes();
                let sent = u64::from_le_bytes(payload[..8].try_into().unwrap());
                let mut h = hists.lock().unwrap();
                h[kind].record(now.saturating_sub(sent).max(1)).unwrap();
            })
            .wait()
            .unwrap();
        subscribers.push(subscriber);
    }
    let pool = Arc::new(ShmPool::new(DEFAULT_SHM_POOL_BYTES).unwrap());
    let publishers: Vec<SensorPublisher> = (0..launch.sensors.len())
        .map(|i| matched_publisher(&peer, &format!("bench/hop/{i}"), &pool))
        .collect();
    let warmup = Instant::now() + Duration::from_secs(1);
    let mut warm = false;
    drive(ticks, duration, |i, bytes| {
        if !warm && Instant::now() >= warmup {
            warm = true;
            for h in hists.lock().unwrap().iter_mut() {
                h.reset();
            }
        }
        let mut payload = bytes.clone();
        payload[..8].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_le_bytes());
        publishers[i].put(&payload).unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(subscribers);
    drop(publishers);
    let _ = peer.close().wait();
    let _ = listening.close().wait();
    let sizes: Vec<usize> = [SensorKind::Lidar, SensorKind::Radar, SensorKind::Camera]
        .iter()
        .map(|k| {
            ticks[0]
                .iter()
                .find(|(_, kind, _)| kind == k)
                .map_or(0, |(_, _, b)| b.len())
        })
        .collect();
    println!(
        "bare zenoh hop (publisher -> subscriber, tcp loopback + shared memory, same payloads, 20 Hz):"
    );
    let hists = hists.lock().unwrap();
    for (name, (h, size)) in ["LiDAR", "radar", "camera"]
        .iter()
        .zip(hists.iter().zip(sizes))
    {
        println!(
            "  {name:<7} {size:>8} B  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  ({} messages)",
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            h.len()
        );
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent:
    // building the inputs is the smoke test then.
    let full = std::env::args().any(|a| a == "--bench");
    let (launch, mut ticks) = inputs();
    if !full {
        return;
    }
    let seconds: f64 = std::env::var("FUSION_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let duration = Duration::from_secs_f64(seconds);
    let bytes: usize = ticks[0].iter().map(|(_, _, b)| b.len()).sum();
    println!(
        "tick: {LIDAR_POINTS} LiDAR points, 3 x {RADAR_RETURNS} radar returns, 4 x {CAMERA_DETECTIONS} detections, {:.2} MB; 20 Hz for {seconds} s",
        bytes as f64 / 1e6
    );
    node_run(&launch, &mut ticks, duration);
    bare_hop(&launch, &mut ticks, duration);
}
