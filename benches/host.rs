//! The module host: loading a `.cwasm` and instantiating it, a warm start
//! from the compile cache, the call overhead of an empty step, copying a
//! 2 MB frame into guest memory (against a plain memcpy), preemption
//! latency after the deadline, and cross-compiling the reference module
//! for aarch64.
//!
//! `cargo bench --bench host` prints the figures; BENCHMARKS.md has them.
//! Without `--bench` (as `cargo test --benches` runs it) every measurement
//! runs a few times only, as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fusion_node::host::artifact::{self, verify_and_deserialize};
use fusion_node::host::cache::CompileCache;
use fusion_node::host::{CompileTarget, HostEngine, Limits, ModuleHost, engine};
use hdrhistogram::Histogram;

/// A module whose step does nothing and returns empty output; its input
/// buffer takes frames up to 4 MiB.
const EMPTY_STEP: &str = r#"
(module
  (memory (export "memory") 80)
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param i32) (result i32) (i32.const 65536))
  (func (export "fusion_init") (param i32) (result i32) (i32.const 0))
  (func (export "fusion_step") (param i32) (result i64) (i64.const 0))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
"#;

/// A module whose step never returns.
const ENDLESS_STEP: &str = r#"
(module
  (memory (export "memory") 2)
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "fusion_init") (param i32) (result i32) (i32.const 0))
  (func (export "fusion_step") (param i32) (result i64) (loop $l (br $l)) (i64.const 0))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
"#;

const FRAME_BYTES: usize = 2_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).unwrap()
}

fn report(name: &str, hist: &Histogram<u64>) {
    let us = |ns: u64| ns as f64 / 1e3;
    println!(
        "{name:<44} p50 {:>9.2} µs  p99 {:>9.2} µs  max {:>9.2} µs  mean {:>9.2} µs  (n = {})",
        us(hist.value_at_quantile(0.5)),
        us(hist.value_at_quantile(0.99)),
        us(hist.max()),
        hist.mean() / 1e3,
        hist.len()
    );
}

fn measure(name: &str, runs: usize, mut f: impl FnMut()) -> Histogram<u64> {
    let mut hist = histogram();
    f(); // warm-up
    for _ in 0..runs {
        let start = Instant::now();
        f();
        hist.record(start.elapsed().as_nanos() as u64).unwrap();
    }
    report(name, &hist);
    hist
}

fn host_of(engine: &HostEngine, wat: &str, limits: Limits) -> ModuleHost {
    let wasm = wat::parse_str(wat).unwrap();
    let mut host = ModuleHost::from_wasm(engine, &wasm, limits).unwrap();
    host.init(&[]).unwrap();
    host
}

fn load_and_instantiate(engine: &HostEngine, wasm: &[u8], runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let cwasm = dir.path().join("reference.cwasm");
    artifact::compile(wasm, &CompileTarget::host(), None)
        .unwrap()
        .write(&cwasm)
        .unwrap();
    println!(
        "reference module: {} bytes of .wasm, {} bytes of .cwasm",
        wasm.len(),
        std::fs::metadata(&cwasm).unwrap().len()
    );
    let bytes = std::fs::read(&cwasm).unwrap();
    measure("read + SHA-256 of the .cwasm", runs, || {
        black_box(artifact::sha256_hex(&std::fs::read(&cwasm).unwrap()));
    });
    measure("Module::deserialize (bytes, no checks)", runs, || {
        // SAFETY: produced just above by this node's compiler.
        black_box(unsafe { wasmtime::Module::deserialize(engine.engine(), &bytes) }.unwrap());
    });
    measure("Module::deserialize_file (mmap, no checks)", runs, || {
        // SAFETY: as above.
        black_box(unsafe { wasmtime::Module::deserialize_file(engine.engine(), &cwasm) }.unwrap());
    });
    let (module, _) = verify_and_deserialize(engine, &cwasm).unwrap();
    measure("instantiate (+ ABI version call)", runs, || {
        black_box(ModuleHost::from_module(engine, &module, Limits::default()).unwrap());
    });
    measure("verified load .cwasm + instantiate", runs, || {
        let (module, _) = verify_and_deserialize(engine, &cwasm).unwrap();
        black_box(ModuleHost::from_module(engine, &module, Limits::default()).unwrap());
    });
    let cache = CompileCache::new(dir.path().join("cache"));
    cache.load(engine, wasm).unwrap();
    measure("warm start from the cache + instantiate", runs, || {
        let (module, outcome) = cache.load(engine, wasm).unwrap();
        assert_eq!(outcome, fusion_node::host::cache::CacheOutcome::Hit);
        black_box(ModuleHost::from_module(engine, &module, Limits::default()).unwrap());
    });
}

fn empty_step(engine: &HostEngine, runs: usize) {
    let mut host = host_of(engine, EMPTY_STEP, Limits::default());
    let batch = 1000;
    let hist = measure("empty step (run_step, 0-byte frame) x1000", runs, || {
        for _ in 0..batch {
            black_box(host.run_step(0, |_| {}).unwrap());
        }
    });
    println!(
        "  -> {:.3} µs per empty step (mean)",
        hist.mean() / 1e3 / batch as f64
    );
}

fn frame_copy(engine: &HostEngine, runs: usize) {
    let frame: Vec<u8> = (0..FRAME_BYTES).map(|i| i as u8).collect();
    let mut host = host_of(engine, EMPTY_STEP, Limits::default());
    let guest = measure("2 MB frame into guest memory + empty step", runs, || {
        black_box(host.step(&frame).unwrap());
    });
    let mut dst = vec![0u8; FRAME_BYTES];
    let base = measure("baseline: memcpy of 2 MB", runs, || {
        dst.copy_from_slice(black_box(&frame));
        black_box(&dst);
    });
    println!(
        "  -> guest copy / memcpy: {:.2} (p50), {:.2} GB/s into the guest",
        guest.value_at_quantile(0.5) as f64 / base.value_at_quantile(0.5) as f64,
        FRAME_BYTES as f64 / guest.value_at_quantile(0.5) as f64
    );
}

fn preemption(engine: &HostEngine, runs: usize) {
    let deadline = Duration::from_millis(5);
    let limits = Limits {
        step_deadline: deadline,
        ..Limits::default()
    };
    let mut host = host_of(engine, ENDLESS_STEP, limits);
    let mut hist = histogram();
    let mut lcg: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..runs {
        // Frames arrive at any phase of the 1 ms epoch tick: wait a
        // pseudo-random 0-1 ms so the samples cover every phase.
        lcg = lcg
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_micros((lcg >> 33) % 1000));
        let miss = host.run_step(0, |_| {}).unwrap_err();
        assert_eq!(miss.reason, fusion_node::host::MissReason::Deadline);
        let late = miss.elapsed.saturating_sub(deadline);
        hist.record(late.as_nanos().max(1) as u64).unwrap();
    }
    report("preemption latency after a 5 ms deadline", &hist);
    println!(
        "  -> (the step started at a random phase of the epoch tick; ticker at real-time priority: {})",
        engine.ticker_is_realtime()
    );
}

fn cross_compile(wasm: &[u8], runs: usize) {
    let target =
        CompileTarget::parse(Some("aarch64-unknown-linux-gnu"), Some("cortex-a78")).unwrap();
    let mut times = Vec::new();
    for _ in 0..runs {
        let compiled = artifact::compile(wasm, &target, None).unwrap();
        times.push(compiled.compile_time);
    }
    let best = times.iter().min().unwrap();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "cross-compile reference for aarch64 (cortex-a78): best {:.0} ms, mean {:.0} ms (n = {})",
        best.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let runs = |n: usize| if full { n } else { 2 };
    let engine = engine().unwrap();
    let wasm = std::fs::read(fusion_node::modules::REFERENCE_WASM).unwrap();
    load_and_instantiate(&engine, &wasm, runs(300));
    empty_step(&engine, runs(300));
    frame_copy(&engine, runs(300));
    preemption(&engine, runs(300));
    cross_compile(&wasm, if full { 3 } else { 1 });
}
