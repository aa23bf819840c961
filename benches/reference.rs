//! Step time of the reference fusion module, native and Wasm (compiled
//! ahead of time by wasmtime), on full-size frames: a 120k-point LiDAR
//! cloud, 3 radar scans of 256 returns and 4 cameras of 40 detections.
//!
//! `cargo bench --bench reference` prints p50/p99/max per build, the
//! Wasm/native speed ratio and the `.wasm` size; BENCHMARKS.md has the
//! figures.
//!
//! Two Wasm runs: through `ModuleHost` on the node's engine (epoch
//! interruption on, as in production), and on a bare wasmtime engine with
//! the same settings but no interruption checks, which shows what the
//! preemption costs.

mod common;

use common::{CAMERA_DETECTIONS, LIDAR_POINTS, RADAR_RETURNS, to_benchmark_size};
use std::time::Instant;

use fusion_abi::NativeModule;
use fusion_node::host::{Limits, ModuleHost, engine};
use fusion_reference::ReferenceModule;
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig};
use hdrhistogram::Histogram;

const FRAMES: usize = 40;
const ROUNDS: usize = 10;

fn frames() -> (Vec<u8>, Vec<Vec<u8>>) {
    let lidar = LidarModel {
        azimuth_steps: 1800,
        ..LidarModel::vlp128_like()
    };
    let mut generator = FrameGenerator::new(Scene::highway(3), default_rig(), lidar, 3);
    generator.radar.clutter_mean = 200.0;
    generator.camera.false_positive_mean = 30.0;
    let config = fusion_msgs::encode(&generator.module_config(Vec::new())).unwrap();
    let frames = (0..FRAMES)
        .map(|_| {
            let f = generator.next(0.1);
            let mut messages = generator.messages(f.sequence);
            to_benchmark_size(&mut messages);
            fusion_sim::frame(f.sequence, f.stamp_ns, &messages)
        })
        .collect();
    (config, frames)
}

/// Rewrites the trigger stamp so time keeps moving forward across rounds.
fn restamp(frame: &mut [u8], stamp_ns: i64) {
    frame[16..24].copy_from_slice(&stamp_ns.to_le_bytes());
}

/// Step times of one build.
struct Timings {
    name: &'static str,
    hist: Histogram<u64>,
    output_bytes: usize,
}

impl Timings {
    fn new(name: &'static str) -> Self {
        Timings {
            name,
            hist: Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).unwrap(),
            output_bytes: 0,
        }
    }

    /// Times one step; returns its output.
    fn time<'o>(&mut self, record: bool, step: impl FnOnce() -> &'o [u8]) -> &'o [u8] {
        let start = Instant::now();
        let out = step();
        let ns = start.elapsed().as_nanos() as u64;
        if record {
            self.hist.record(ns).unwrap();
        }
        self.output_bytes += out.len();
        out
    }

    fn print(&self) {
        let h = &self.hist;
        println!(
            "{:<30} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  mean {:>7.3} ms  ({} steps, {} output bytes)",
            self.name,
            h.value_at_quantile(0.5) as f64 / 1e6,
            h.value_at_quantile(0.99) as f64 / 1e6,
            h.max() as f64 / 1e6,
            h.mean() / 1e6,
            h.len(),
            self.output_bytes,
        );
    }
}

/// The module on a bare wasmtime engine: the node's code-generation
/// settings without epoch interruption.
struct BareWasm {
    store: wasmtime::Store<()>,
    memory: wasmtime::Memory,
    input: wasmtime::TypedFunc<i32, i32>,
    step: wasmtime::TypedFunc<i32, i64>,
}

impl BareWasm {
    fn new(wasm: &[u8], config: &[u8]) -> Self {
        let mut c = wasmtime::Config::new();
        c.cranelift_opt_level(wasmtime::OptLevel::Speed);
        c.wasm_simd(true);
        c.native_unwind_info(false);
        let engine = wasmtime::Engine::new(&c).unwrap();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        let input = instance
            .get_typed_func(&mut store, "fusion_input_buffer")
            .unwrap();
        let step = instance.get_typed_func(&mut store, "fusion_step").unwrap();
        let init = instance
            .get_typed_func::<i32, i32>(&mut store, "fusion_init")
            .unwrap();
        let mut bare = BareWasm {
            store,
            memory,
            input,
            step,
        };
        let len = bare.write(config);
        assert_eq!(init.call(&mut bare.store, len).unwrap(), 0);
        bare
    }

    fn write(&mut self, bytes: &[u8]) -> i32 {
        let len = bytes.len() as i32;
        let at = self.input.call(&mut self.store, len).unwrap() as usize;
        self.memory.data_mut(&mut self.store)[at..at + bytes.len()].copy_from_slice(bytes);
        len
    }

    fn step(&mut self, frame: &[u8]) -> &[u8] {
        let len = self.write(frame);
        let packed = self.step.call(&mut self.store, len).unwrap() as u64;
        let (at, len) = ((packed & 0xffff_ffff) as usize, (packed >> 32) as usize);
        &self.memory.data(&self.store)[at..at + len]
    }
}

/// Steps every build on every frame, one after the other, so that the
/// machine's noise falls on all alike; checks their outputs agree.
fn measure(
    frames: &mut [Vec<u8>],
    native: &mut NativeModule<ReferenceModule>,
    host: &mut ModuleHost,
    bare: &mut BareWasm,
) -> [Timings; 3] {
    let mut t = [
        Timings::new("native"),
        Timings::new("wasm"),
        Timings::new("wasm, no interruption checks"),
    ];
    let mut stamp = 1_700_000_000_000_000_000i64;
    for round in 0..ROUNDS {
        for frame in frames.iter_mut() {
            stamp += 100_000_000;
            restamp(frame, stamp);
            let record = round > 0; // round 0 warms caches and buffers
            let [n, w, b] = &mut t;
            let a = n.time(record, || native.step(frame).unwrap());
            let out = w.time(record, || host.step(frame).unwrap());
            assert!(a == out, "native and Wasm outputs differ at stamp {stamp}");
            let out = b.time(record, || bare.step(frame));
            assert!(
                a == out,
                "native and bare Wasm outputs differ at stamp {stamp}"
            );
        }
    }
    t
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent:
    // building the frames is the smoke test then.
    let full = std::env::args().any(|a| a == "--bench");
    let (config, mut frames) = frames();
    if !full {
        return;
    }
    let wasm = std::fs::read(fusion_node::modules::REFERENCE_WASM).unwrap();
    println!(
        "frame: {} LiDAR points, 3 x {RADAR_RETURNS} radar returns, 4 x {CAMERA_DETECTIONS} detections, {:.2} MB",
        LIDAR_POINTS,
        frames[0].len() as f64 / 1e6
    );
    println!("fusion_reference.wasm: {} bytes", wasm.len());

    let mut native = NativeModule::<ReferenceModule>::init(&config).unwrap();
    let engine = engine().unwrap();
    let precompiled = engine.precompile_module(&wasm).unwrap();
    // SAFETY: the bytes were produced just above by this engine.
    let module = unsafe { wasmtime::Module::deserialize(&engine, &precompiled) }.unwrap();
    // A generous deadline: this measures speed; on a busy machine a step
    // can be descheduled past 10 ms, and the bench must not stop there.
    let limits = Limits {
        step_deadline: std::time::Duration::from_secs(1),
        ..Limits::default()
    };
    let mut host = ModuleHost::from_module(&engine, &module, limits).unwrap();
    host.init(&config).unwrap();

    let mut bare = BareWasm::new(&wasm, &config);

    let timings = measure(&mut frames, &mut native, &mut host, &mut bare);
    timings.iter().for_each(Timings::print);
    let native = &timings[0].hist;
    for wasm in &timings[1..] {
        println!(
            "{}: wasm/native speed {:.3} (mean), {:.3} (p50)",
            wasm.name,
            native.mean() / wasm.hist.mean(),
            native.value_at_quantile(0.5) as f64 / wasm.hist.value_at_quantile(0.5) as f64
        );
    }
}
