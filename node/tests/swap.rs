//! Hot swaps of the fusion module in a running node, over zenoh loopback:
//! frames stay contiguous across a swap, tracker state (and so track IDs)
//! crosses, a module that turns slow once live is rolled back, hostile
//! modules never replace the running one, signatures are enforced, and a
//! thousand swaps in a row leave the memory flat. Every wait is bounded.

mod common;
mod live;

use std::time::{Duration, Instant};

use fusion_abi::NativeModule;
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_node::host::ModuleHost;
use fusion_node::launch::{AlignPolicy, Launch};
use fusion_node::node::{Node, limits};
use fusion_node::pipeline::{Recorded, RecordingSink};
use fusion_node::simulate::LiveSim;
use fusion_node::swap::signing::{SecretKey, sign};
use fusion_node::swap::{Outcome, SwapHandle, SwapOutcome, Trigger};
use fusion_reference::ReferenceModule;
use fusion_sim::{LidarModel, Scene};
use live::*;
use zenoh::{Session, Wait};

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;
const SWAP_TIMEOUT: Duration = Duration::from_secs(60);

/// These tests keep the two cores busy: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A module that answers every frame with an empty `TrackedObjects` and,
/// if `spin_after` is given, spins until it is preempted on every step
/// after that many since it was instantiated (a preempted instance is
/// started again, so it misses every `spin_after + 1`-th frame). Its
/// warm-up (8 frames, then a fresh instance) passes; live, it fails.
/// `tag` makes builds distinct.
fn objects_module(tag: u32, spin_after: Option<u32>) -> Vec<u8> {
    let output = fusion_msgs::encode(&TrackedObjects::default()).unwrap();
    let data: String = output.iter().map(|b| format!("\\{b:02x}")).collect();
    let spin = spin_after.map_or(String::new(), |n| {
        format!(
            "(global.set $steps (i32.add (global.get $steps) (i32.const 1)))
    (if (i32.gt_u (global.get $steps) (i32.const {n})) (then (loop $spin (br $spin))))"
        )
    });
    let len = output.len();
    wat::parse_str(format!(
        r#"(module
  (memory (export "memory") 2)
  (global $steps (mut i32) (i32.const 0))
  (data (i32.const 512) "{data}")
  (data (i32.const 8192) "build {tag}")
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param $len i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $len) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 65536))
  (func (export "fusion_init") (param $len i32) (result i32) (i32.const 0))
  (func (export "fusion_step") (param $len i32) (result i64)
    {spin}
    (i64.or (i64.shl (i64.const {len}) (i64.const 32)) (i64.const 512)))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))"#
    ))
    .unwrap()
}

/// The default launch file, with a wait and a budget loose enough for a
/// loaded machine (as in `pipeline.rs`); tests edit the parsed launch.
fn default_launch() -> Launch {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut launch = Launch::load(root.join("launch/default.toml")).unwrap();
    if let AlignPolicy::Trigger { max_wait, .. } = &mut launch.align {
        *max_wait = Duration::from_millis(40);
    }
    launch.deadline = common::functional_limits().step_deadline;
    launch
}

/// A node on the reference module and the session that feeds it.
struct Rig {
    node: Node,
    sink: RecordingSink,
    peer: Session,
    launch: Launch,
    config: Vec<u8>,
}

fn start(launch: Launch) -> Rig {
    let (engine, module) = common::shared();
    let host = ModuleHost::from_module(engine, module, limits(&launch)).unwrap();
    start_on(launch, host)
}

/// A node of `launch` on `host` (initialised here).
fn start_on(launch: Launch, mut host: ModuleHost) -> Rig {
    let config = fusion_msgs::encode(&launch.module_config()).unwrap();
    host.init(&config).unwrap();
    let port = free_port();
    let sink = RecordingSink::new();
    let node = Node::start_with(
        &launch,
        listening_session(port),
        host,
        Box::new(sink.clone()),
    )
    .unwrap();
    Rig {
        node,
        sink,
        peer: connected_session(port),
        launch,
        config,
    }
}

/// Publishes ticks of the highway at 20 Hz: at tick `at` it runs `swap`
/// on another thread (a request takes the whole watch to answer), and it
/// goes on for `ticks` ticks and until the swap answered. Returns the
/// rendered ticks and the outcome.
fn stream_with_swap(
    rig: &Rig,
    ticks: i64,
    at: i64,
    swap: impl FnOnce(SwapHandle, &RecordingSink) -> SwapOutcome + Send + 'static,
) -> (Vec<fusion_node::simulate::Rendered>, SwapOutcome) {
    let mut sim = LiveSim::new(
        &rig.peer,
        &rig.launch,
        Scene::highway(3),
        LidarModel::small(),
        3,
    )
    .unwrap();
    assert!(wait_until(Duration::from_secs(10), || sim.all_matched()));
    let mut rendered = Vec::new();
    let mut request: Option<std::thread::JoinHandle<SwapOutcome>> = None;
    let mut swap = Some(swap);
    // `ticks` ticks at least, and on until the swap answered (its watch
    // needs frames), at most a minute more.
    let mut k = 0i64;
    while k < ticks || (k < ticks + 1200 && !request.as_ref().is_some_and(|r| r.is_finished())) {
        if k == at
            && let Some(swap) = swap.take()
        {
            let handle = rig.node.swapper();
            let sink = rig.sink.clone();
            request = Some(std::thread::spawn(move || swap(handle, &sink)));
        }
        let tick = sim.render_at(T0 + k * 50 * MS);
        sim.publish(&tick.messages, 0).unwrap();
        rendered.push(tick);
        std::thread::sleep(Duration::from_millis(50));
        k += 1;
    }
    let total = rendered.len();
    wait_until(Duration::from_secs(10), || {
        rig.sink.snapshot().frames.len() >= total
    });
    let outcome = request.unwrap().join().unwrap();
    (rendered, outcome)
}

/// The swap went live with the running module's tracker state.
fn assert_swapped_with_state(outcome: &SwapOutcome) {
    assert_eq!(outcome.outcome, Outcome::Swapped, "{outcome:#?}");
    assert!(
        outcome
            .state
            .as_deref()
            .unwrap()
            .starts_with("carried over"),
        "{outcome:#?}"
    );
}

/// Frames are numbered 0, 1, 2, ... in order, each tick's trigger once.
fn assert_contiguous(recorded: &Recorded, ticks: &[fusion_node::simulate::Rendered]) {
    assert!(recorded.dropped.is_empty(), "{:?}", recorded.dropped);
    for (k, report) in recorded.frames.iter().enumerate() {
        assert_eq!(report.sequence, k as u64);
        assert_eq!(report.trigger_stamp_ns, ticks[k].stamp_ns, "frame {k}");
    }
    assert_eq!(recorded.frames.len(), ticks.len());
}

#[test]
fn a_swap_mid_stream_loses_no_frame_and_keeps_the_tracks() {
    let _serial = serial();
    let rig = start(default_launch());
    let outputs = collect(&rig.peer, "fusion/tracked_objects");
    let v2 = common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "v2");
    let (ticks, outcome) = stream_with_swap(&rig, 60, 20, move |swapper, _| {
        swapper
            .swap(v2, None, Trigger::Api, "v2".into(), SWAP_TIMEOUT)
            .expect("an outcome")
    });
    let Rig {
        node, sink, config, ..
    } = rig;
    node.stop().unwrap();
    assert_swapped_with_state(&outcome);
    let first = outcome.first_sequence.unwrap();
    // Live after the frames it warmed up on, the request's at tick 20.
    assert!(first > 20, "{outcome:#?}");
    assert!(outcome.warmup_frames.unwrap() >= 8, "{outcome:#?}");
    let recorded = sink.snapshot();
    assert_contiguous(&recorded, &ticks);

    // With the tracker state carried over exactly, the outputs are those
    // of one module that never changed: the native build's, byte for byte,
    // for every frame the node saw whole.
    let mut native = NativeModule::<ReferenceModule>::init(&config).unwrap();
    let outputs: Vec<Vec<u8>> = outputs.try_iter().collect();
    let mut compared = 0;
    for (k, (tick, report)) in ticks.iter().zip(&recorded.frames).enumerate() {
        if report.is_degraded() || !report.is_published() {
            break;
        }
        let frame = fusion_sim::frame(k as u64, tick.stamp_ns, &tick.messages);
        assert_eq!(outputs[k], native.step(&frame).unwrap(), "frame {k}");
        compared += 1;
    }
    assert!(
        compared as u64 > first + 5,
        "only {compared} whole frames, the swap was at {first}"
    );
}

#[test]
fn a_module_that_turns_slow_once_live_is_rolled_back() {
    let _serial = serial();
    // A budget the reference module keeps even on a loaded machine, and
    // that a spinning step uses up well within the 50 ms between frames.
    let mut launch = default_launch();
    launch.deadline = Duration::from_millis(20);
    if let AlignPolicy::Trigger { max_wait, .. } = &mut launch.align {
        *max_wait = Duration::from_millis(10);
    }
    // It misses every 9th frame: 3 misses in 27.
    launch.module.swap.watch_frames = 40;
    let rig = start(launch);
    let reference = rig.node.swapper().status().current.sha256;
    let (ticks, outcome) = stream_with_swap(&rig, 60, 20, |swapper, _| {
        swapper
            .swap(
                objects_module(1, Some(8)),
                None,
                Trigger::Api,
                "slow".into(),
                SWAP_TIMEOUT,
            )
            .expect("an outcome")
    });
    let status = rig.node.swapper().status();
    let Rig { node, sink, .. } = rig;
    node.stop().unwrap();
    assert_eq!(outcome.outcome, Outcome::RolledBack, "{outcome:#?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("deadline misses"),
        "{outcome:#?}"
    );
    assert_eq!(status.current.sha256, reference);
    assert_eq!((status.swaps, status.rollbacks), (1, 1));
    let recorded = sink.snapshot();
    assert_contiguous(&recorded, &ticks);
    // The reference module runs again after the rollback.
    let back = outcome.rollback_sequence.unwrap() as usize;
    assert!(back + 5 < recorded.frames.len());
    assert!(recorded.frames[back + 2..].iter().all(|r| r.is_published()));
}

#[test]
fn no_hostile_module_replaces_the_running_one() {
    let _serial = serial();
    let rig = start(default_launch());
    let reference = rig.node.swapper().status().current.sha256;
    let hostile_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(&hostile_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, wat::parse_file(&p).unwrap())
        })
        .collect();
    corpus.sort();
    corpus.push(("not wasm".into(), b"MZ\x90\x00 not a module".to_vec()));
    corpus.push(("empty".into(), Vec::new()));
    corpus.push((
        "output not TrackedObjects".into(),
        wat::parse_file(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/modules/minimal.wat"),
        )
        .unwrap(),
    ));
    corpus.push((
        "truncated reference".into(),
        fusion_node::modules::REFERENCE_WASM_BYTES[..5000].to_vec(),
    ));
    let count = corpus.len();
    let (_, outcomes) = stream_with_swap(&rig, 40, 5, move |swapper, _| {
        let outcomes: Vec<(String, SwapOutcome)> = corpus
            .into_iter()
            .map(|(name, bytes)| {
                let outcome = swapper
                    .swap(bytes, None, Trigger::Api, name.clone(), SWAP_TIMEOUT)
                    .expect("an outcome");
                (name, outcome)
            })
            .collect();
        // Carried back to the test in the outcome's reason field.
        SwapOutcome {
            reason: Some(serde_json::to_string(&outcomes).unwrap()),
            ..outcomes[0].1.clone()
        }
    });
    let status = rig.node.swapper().status();
    let Rig { node, sink, .. } = rig;
    node.stop().unwrap();
    let outcomes: Vec<(String, serde_json::Value)> =
        serde_json::from_str(outcomes.reason.as_deref().unwrap()).unwrap();
    assert_eq!(outcomes.len(), count);
    for (name, outcome) in &outcomes {
        assert_eq!(outcome["outcome"], "refused", "{name}: {outcome:#}");
        assert!(!outcome["reason"].as_str().unwrap().is_empty(), "{name}");
        assert_eq!(outcome["running_sha256"], reference.as_str(), "{name}");
    }
    assert_eq!(status.current.sha256, reference);
    assert_eq!(status.swaps, 0);
    assert_eq!(status.refused, count as u64);
    // The stream went on: every frame published by the reference module.
    let recorded = sink.snapshot();
    assert!(recorded.frames.len() >= 35, "{}", recorded.frames.len());
}

#[test]
fn signed_deploys_take_only_modules_signed_by_a_trusted_key() {
    let _serial = serial();
    let trusted = SecretKey::generate().unwrap();
    let stranger = SecretKey::generate().unwrap();
    let mut launch = default_launch();
    launch.module.swap.require_signed = true;
    launch.module.swap.trusted_keys = vec![trusted.public_key()];
    let rig = start(launch);
    let v2 = common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "signed");
    let digest: [u8; 32] = fusion_node::swap::signing::module_sha256(&v2);
    let good = sign(&trusted, &digest).to_bytes().to_vec();
    let bad = sign(&stranger, &digest).to_bytes().to_vec();
    let tampered = sign(
        &trusted,
        &fusion_node::swap::signing::module_sha256(b"other"),
    )
    .to_bytes()
    .to_vec();
    // Releases: v3 as 5, v4 as 4 (older), v5 as 5 again.
    let release = |note: &str, version: u64| {
        let module = common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, note);
        let digest = fusion_node::swap::signing::module_sha256(&module);
        let file = fusion_node::swap::signing::sign_release(&trusted, &digest, version);
        (module, file.into_bytes())
    };
    let (v3, v4, v5) = (release("v3", 5), release("v4", 4), release("v5", 5));
    let (_, outcome) = stream_with_swap(&rig, 160, 5, move |swapper, _| {
        let attempt = |module: &[u8], signature: Option<Vec<u8>>| {
            swapper
                .swap(
                    module.to_vec(),
                    signature,
                    Trigger::Api,
                    "v".into(),
                    SWAP_TIMEOUT,
                )
                .expect("an outcome")
        };
        let results = [
            attempt(&v2, None),
            attempt(&v2, Some(bad)),
            attempt(&v2, Some(tampered)),
            attempt(&v2, Some(b"short".to_vec())),
            attempt(&v2, Some(good.clone())),
            attempt(&v3.0, Some(v3.1)),
            // An older release, or the unversioned one, validly signed,
            // replayed: refused.
            attempt(&v4.0, Some(v4.1)),
            attempt(&v2, Some(good)),
            attempt(&v5.0, Some(v5.1)),
        ];
        SwapOutcome {
            reason: Some(serde_json::to_string(&results).unwrap()),
            ..results[8].clone()
        }
    });
    let Rig { node, .. } = rig;
    node.stop().unwrap();
    let results: Vec<serde_json::Value> =
        serde_json::from_str(outcome.reason.as_deref().unwrap()).unwrap();
    for (i, needle) in [
        (0, "require"),
        (1, "trusted"),
        (2, "trusted"),
        (3, "malformed"),
        (6, "release version 4 is below 5"),
        (7, "release version 0 is below 5"),
    ] {
        assert_eq!(results[i]["outcome"], "refused", "{:#}", results[i]);
        assert!(
            results[i]["reason"].as_str().unwrap().contains(needle),
            "{:#}",
            results[i]
        );
    }
    for (i, version) in [(4, 0), (5, 5), (8, 5)] {
        assert_eq!(results[i]["outcome"], "swapped", "{:#}", results[i]);
        assert_eq!(results[i]["signed_version"], version, "{:#}", results[i]);
    }
}

/// The release signed beside the module the node starts with is a floor
/// from the start: an older signed release is refused, a newer one swaps
/// and raises it, and so does the running module signed again.
#[test]
fn the_start_modules_signed_release_is_a_floor() {
    use fusion_node::swap::signing::{module_sha256, sign_release, signature_path};
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::generate().unwrap();
    let start_module = dir.path().join("module.wasm");
    let reference = fusion_node::modules::REFERENCE_WASM_BYTES;
    std::fs::write(&start_module, reference).unwrap();
    std::fs::write(
        signature_path(&start_module),
        sign_release(&key, &module_sha256(reference), 5),
    )
    .unwrap();
    let mut launch = default_launch();
    launch.module.source = fusion_node::launch::ModuleSource::File(start_module);
    launch.module.swap.require_signed = true;
    launch.module.swap.trusted_keys = vec![key.public_key()];
    let rig = start(launch);
    assert_eq!(rig.node.swapper().status().release_floor, 5);
    let release = |note: &str, version: u64| {
        let module = common::rebuilt(reference, note);
        let signature = sign_release(&key, &module_sha256(&module), version).into_bytes();
        (module, signature)
    };
    let (older, newer, later) = (release("v4", 4), release("v6", 6), release("v7", 7));
    // v6, signed again as release 8.
    let resigned = (
        newer.0.clone(),
        sign_release(&key, &module_sha256(&newer.0), 8).into_bytes(),
    );
    let (_, outcome) = stream_with_swap(&rig, 60, 5, move |swapper, _| {
        let attempt = |(module, signature): (Vec<u8>, Vec<u8>)| {
            swapper
                .swap(
                    module,
                    Some(signature),
                    Trigger::Api,
                    "v".into(),
                    SWAP_TIMEOUT,
                )
                .expect("an outcome")
        };
        let refused = |outcome: &SwapOutcome, why: &str| {
            assert_eq!(outcome.outcome, Outcome::Refused, "{outcome:#?}");
            assert!(
                outcome.reason.as_deref().unwrap().contains(why),
                "{outcome:#?}"
            );
        };
        refused(&attempt(older), "release version 4 is below 5");
        let swapped = attempt(newer);
        assert_eq!(swapped.outcome, Outcome::Swapped, "{swapped:#?}");
        assert_eq!(swapped.signed_version, Some(6));
        assert_eq!(swapper.status().release_floor, 6);
        // The module running, re-signed as a later release: unchanged, but
        // its older releases are refused from now on.
        let unchanged = attempt(resigned);
        assert_eq!(swapper.status().release_floor, 8);
        refused(&attempt(later), "release version 7 is below 8");
        unchanged
    });
    let Rig { node, .. } = rig;
    node.stop().unwrap();
    assert_eq!(outcome.outcome, Outcome::Unchanged, "{outcome:#?}");
    assert_eq!(outcome.signed_version, Some(8));
}

/// Resident memory of this process, bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_thousand_swaps_in_a_row_leave_memory_flat() {
    let _serial = serial();
    const SWAPS: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let mut launch = wat_launch(dir.path(), "minimal", "50ms", "1ms", false);
    launch.module.swap.warmup_frames = 1;
    launch.module.swap.watch_frames = 1;
    let a = objects_module(1, None);
    let b = objects_module(2, None);
    let (engine, _) = common::shared();
    let host = ModuleHost::from_wasm(engine, &a, limits(&launch)).unwrap();
    let Rig {
        node, sink, peer, ..
    } = start_on(launch, host);
    let lidar = matched_publisher(&peer, "/test/lidar");
    // A LiDAR at 500 Hz: each swap needs a frame to warm up on and one to
    // be watched.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeding = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut k = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && start.elapsed() < Duration::from_secs(600)
            {
                lidar.put(header_message(T0 + k * 2 * MS)).wait().unwrap();
                k += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let swapper = node.swapper();
    let mut rss = Vec::new();
    for i in 0..SWAPS {
        let module = if i % 2 == 0 { b.clone() } else { a.clone() };
        let outcome = swapper
            .swap(
                module,
                None,
                Trigger::Api,
                format!("soak {i}"),
                SWAP_TIMEOUT,
            )
            .expect("an outcome");
        assert_eq!(outcome.outcome, Outcome::Swapped, "swap {i}: {outcome:#?}");
        if i == 99 || i == SWAPS - 1 {
            rss.push(rss_bytes());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    feeding.join().unwrap();
    let status = swapper.status();
    drop(swapper);
    node.stop().unwrap();
    assert_eq!(status.swaps, SWAPS as u64);
    assert_eq!(status.rollbacks, 0);
    // Flat: after the first hundred (caches, pools warmed up), 900 more
    // swaps may not grow the process by more than 16 MiB.
    let growth = rss[1].saturating_sub(rss[0]);
    assert!(
        growth < 16 << 20,
        "RSS grew {} KiB over 900 swaps",
        growth >> 10
    );
    // No frame ran twice or out of order across the swaps.
    let recorded = sink.snapshot();
    assert!(
        recorded
            .frames
            .windows(2)
            .all(|w| w[0].trigger_stamp_ns < w[1].trigger_stamp_ns)
    );
}

#[test]
fn a_precompiled_module_swaps_from_its_file_but_never_over_the_network() {
    use fusion_node::host::CompileTarget;
    use fusion_node::host::artifact::{self, manifest_path};
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let v2 = common::rebuilt(fusion_node::modules::REFERENCE_WASM_BYTES, "cwasm");
    let cwasm = dir.path().join("v2.cwasm");
    artifact::compile(&v2, &CompileTarget::host(), Some("v2.wasm"))
        .unwrap()
        .write(&cwasm)
        .unwrap();
    // A damaged artifact beside its (good) source, and another module's
    // artifact.
    let stale = tempfile::tempdir().unwrap();
    let stale_cwasm = stale.path().join("v2.cwasm");
    let bytes = std::fs::read(&cwasm).unwrap();
    std::fs::write(&stale_cwasm, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(manifest_path(&cwasm), manifest_path(&stale_cwasm)).unwrap();
    std::fs::write(stale.path().join("v2.wasm"), &v2).unwrap();
    // The good artifact's source beside it has changed since: the artifact
    // is still what runs (a swap never compiles the source instead).
    std::fs::write(dir.path().join("v2.wasm"), common::rebuilt(&v2, "edited")).unwrap();
    let other = dir.path().join("v3.cwasm");
    artifact::compile(&common::wat("minimal"), &CompileTarget::host(), None)
        .unwrap()
        .write(&other)
        .unwrap();
    let rig = start(default_launch());
    let path = cwasm.display().to_string();
    let (stale_path, other_path) = (
        stale_cwasm.display().to_string(),
        other.display().to_string(),
    );
    let (_, outcome) = stream_with_swap(&rig, 40, 10, move |swapper, _| {
        let bytes = std::fs::read(&path).unwrap();
        // What runs must be what was hashed (and would be signed): not
        // the source compiled instead of a refused artifact...
        let stale = swapper
            .swap(
                std::fs::read(&stale_path).unwrap(),
                None,
                Trigger::FileChanged,
                stale_path,
                SWAP_TIMEOUT,
            )
            .expect("an outcome");
        assert_eq!(stale.outcome, Outcome::Refused, "{stale:#?}");
        assert!(
            stale
                .reason
                .as_deref()
                .unwrap()
                .contains("the artifact was refused"),
            "{stale:#?}"
        );
        // ...nor a file other than the bytes hashed.
        let changed = swapper
            .swap(
                bytes.clone(),
                None,
                Trigger::FileChanged,
                other_path,
                SWAP_TIMEOUT,
            )
            .expect("an outcome");
        assert_eq!(changed.outcome, Outcome::Refused, "{changed:#?}");
        assert!(
            changed
                .reason
                .as_deref()
                .unwrap()
                .contains("changed while it was loaded"),
            "{changed:#?}"
        );
        let deployed = swapper
            .swap(
                bytes.clone(),
                None,
                Trigger::Deploy,
                "deploy".into(),
                SWAP_TIMEOUT,
            )
            .expect("an outcome");
        assert_eq!(deployed.outcome, Outcome::Refused, "{deployed:#?}");
        assert!(
            deployed.reason.as_deref().unwrap().contains(".cwasm"),
            "{deployed:#?}"
        );
        swapper
            .swap(bytes, None, Trigger::FileChanged, path, SWAP_TIMEOUT)
            .expect("an outcome")
    });
    let Rig { node, .. } = rig;
    node.stop().unwrap();
    assert_swapped_with_state(&outcome);
}
