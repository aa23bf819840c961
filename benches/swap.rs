//! Hot swap (issue 9): the swap pause, the time the fusion executor spends
//! between two frames exchanging modules, with the reference module's
//! tracker state carried over (snapshot, restore), as in production.
//!
//! A node on the default launch file runs the reference module (Wasm, on
//! the production engine) fed at 20 Hz over zenoh loopback by the live
//! simulator (highway, the small LiDAR). Another thread swaps in two
//! rebuilds of the reference module in turn (the same code with a
//! different custom section, so a different SHA-256 and the same state
//! schema), each going through the whole swap: compile (cached), init,
//! warm-up on 8 recent frames, trial restore, swap, watch of 4 frames.
//!
//! The harness prints the pause's percentiles (goal: p99 < 100 µs), the
//! preparation time off the frame path, and checks that frame sequence
//! numbers stayed contiguous. `cargo bench --bench swap` runs 200 swaps;
//! `FUSION_BENCH_SWAPS` changes that. BENCHMARKS.md has the figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fusion_node::launch::Launch;
use fusion_node::node::{Node, load_host};
use fusion_node::pipeline::RecordingSink;
use fusion_node::simulate::LiveSim;
use fusion_node::swap::{Outcome, Trigger};
use fusion_node::transport::{explicit_peer_config, open_config};
use fusion_sim::{LidarModel, Scene};
use hdrhistogram::Histogram;

const GOAL_PAUSE_P99: Duration = Duration::from_micros(100);
const T0: i64 = 1_700_000_000_000_000_000;

/// `wasm` with a custom section appended (see node/tests/swap.rs).
fn rebuilt(wasm: &[u8], note: &str) -> Vec<u8> {
    let name = b"fusion-build";
    let body_len = 1 + name.len() + note.len();
    assert!(body_len < 128 && name.len() < 128);
    let mut out = wasm.to_vec();
    out.extend_from_slice(&[0, body_len as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.extend_from_slice(note.as_bytes());
    out
}

fn main() {
    let swaps: usize = std::env::var("FUSION_BENCH_SWAPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut launch = Launch::load(root.join("launch/default.toml")).unwrap();
    launch.module.swap.watch_frames = 4;
    // A loaded machine may make a frame late; that is the node benchmark's
    // subject, not this one's.
    launch.module.swap.rollback_misses = 1000;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let node_session =
        open_config(explicit_peer_config(std::slice::from_ref(&endpoint), &[]).unwrap()).unwrap();
    let peer = open_config(explicit_peer_config(&[], &[endpoint]).unwrap()).unwrap();
    let sink = RecordingSink::new();
    let host = load_host(&launch).unwrap();
    let node = Node::start_with(&launch, node_session, host, Box::new(sink.clone())).unwrap();
    let mut sim = LiveSim::new(&peer, &launch, Scene::highway(3), LidarModel::small(), 3).unwrap();
    let matched = Instant::now();
    while !sim.all_matched() && matched.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }

    let modules = [
        rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "a"),
        rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "b"),
    ];
    let swapper = node.swapper();
    let done = Arc::new(AtomicBool::new(false));
    let swapping = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            // Let the executor collect its warm-up frames first.
            std::thread::sleep(Duration::from_secs(1));
            let mut outcomes = Vec::with_capacity(swaps);
            for i in 0..swaps {
                let outcome = swapper
                    .swap(
                        modules[i % 2].clone(),
                        None,
                        Trigger::Api,
                        format!("bench {i}"),
                        Duration::from_secs(60),
                    )
                    .expect("an outcome");
                outcomes.push(outcome);
            }
            done.store(true, Ordering::Relaxed);
            outcomes
        })
    };
    let start = Instant::now();
    let mut k = 0i64;
    while !done.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(3600) {
        let tick = sim.render_at(T0 + k * 50_000_000);
        sim.publish(&tick.messages, 0).unwrap();
        k += 1;
        let next = start + Duration::from_millis(50) * u32::try_from(k).unwrap();
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let outcomes = swapping.join().unwrap();
    drop(sim);
    node.stop().unwrap();

    let mut pause = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    let mut prepare = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3).unwrap();
    let mut carried = 0;
    for (i, o) in outcomes.iter().enumerate() {
        assert_eq!(o.outcome, Outcome::Swapped, "swap {i}: {o:#?}");
        pause.record(o.pause_us.unwrap().ceil() as u64).unwrap();
        prepare
            .record((o.prepare_ms.unwrap() * 1e3).ceil() as u64)
            .unwrap();
        carried += usize::from(o.state.as_deref().is_some_and(|s| s.starts_with("carried")));
    }
    let frames = sink.snapshot().frames;
    let contiguous = frames
        .iter()
        .enumerate()
        .all(|(k, r)| r.sequence == k as u64);
    let q = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q);
    println!(
        "swap: {} swaps in {:.1} s, {} frames (sequence contiguous: {contiguous}), tracker state carried over in {carried}",
        outcomes.len(),
        start.elapsed().as_secs_f64(),
        frames.len()
    );
    println!(
        "swap pause (executor, between two frames): p50 {} µs, p90 {} µs, p99 {} µs, max {} µs",
        q(&pause, 0.5),
        q(&pause, 0.9),
        q(&pause, 0.99),
        pause.max()
    );
    println!(
        "preparation (swapper thread: compile from cache, init, 8 warm-up frames, trial restore): p50 {:.1} ms, p99 {:.1} ms",
        q(&prepare, 0.5) as f64 / 1e3,
        q(&prepare, 0.99) as f64 / 1e3
    );
    let p99 = Duration::from_micros(q(&pause, 0.99));
    println!(
        "goal: swap pause p99 < {} µs: {}",
        GOAL_PAUSE_P99.as_micros(),
        if p99 < GOAL_PAUSE_P99 {
            "met"
        } else {
            "NOT met"
        }
    );
    assert!(contiguous, "frame sequence numbers have a gap");
}
