//! Helpers shared by the host's integration tests: one host engine and the
//! reference module compiled once per test binary (through a compile cache
//! under Cargo's scratch directory, so later runs start warm), and a check
//! that the reference module still fuses good frames.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fusion_abi::NativeModule;
use fusion_node::host::cache::CompileCache;
use fusion_node::host::{HostEngine, Limits, ModuleHost, engine};
use fusion_reference::ReferenceModule;
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig};
use wasmtime::Module;

/// Limits for tests of what a module computes rather than of deadlines: a
/// loaded CI machine can deschedule a step past 10 ms, and a functional
/// test must not fail for that. Deadlines have their own tests, with their
/// own limits.
pub fn functional_limits() -> Limits {
    Limits {
        step_deadline: std::time::Duration::from_secs(10),
        init_deadline: std::time::Duration::from_secs(60),
        ..Limits::default()
    }
}

/// The host engine and the reference module compiled by it.
pub fn shared() -> &'static (HostEngine, Module) {
    static SHARED: OnceLock<(HostEngine, Module)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let engine = engine().unwrap();
        let wasm = std::fs::read(fusion_node::modules::REFERENCE_WASM).unwrap();
        let cache = CompileCache::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"));
        let (module, _) = cache.load(&engine, &wasm).unwrap();
        (engine, module)
    })
}

/// The binary Wasm of a test module: `hostile/NAME.wat` or
/// `modules/NAME.wat` under `node/tests`.
pub fn wat(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let path: PathBuf = ["hostile", "modules"]
        .iter()
        .map(|d| dir.join(d).join(format!("{name}.wat")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no test module {name}.wat"));
    wat::parse_file(&path).unwrap()
}

/// Runs the reference module on `engine` over a few simulated frames and
/// checks that its output matches the native build's byte for byte.
pub fn assert_reference_fuses_good_frames(engine: &HostEngine, module: &Module) {
    let mut frames = FrameGenerator::new(Scene::crossing(), default_rig(), LidarModel::small(), 7);
    let config = fusion_msgs::encode(&frames.module_config(Vec::new())).unwrap();
    let mut native = NativeModule::<ReferenceModule>::init(&config).unwrap();
    let mut host = ModuleHost::from_module(engine, module, functional_limits()).unwrap();
    host.init(&config).unwrap();
    for _ in 0..3 {
        let frame = frames.next(0.1);
        let expected = native.step(&frame.frame_bytes).unwrap().to_vec();
        let stepped = host
            .run_step(frame.frame_bytes.len(), |d| {
                d.copy_from_slice(&frame.frame_bytes)
            })
            .unwrap();
        assert_eq!(stepped.output, expected, "frame {}", frame.sequence);
    }
}

/// [`assert_reference_fuses_good_frames`] on the shared engine.
pub fn assert_reference_still_works() {
    let (engine, module) = shared();
    assert_reference_fuses_good_frames(engine, module);
}

/// `wasm` with a custom section appended: the same code under another
/// SHA-256, as a rebuild of the same module would be.
pub fn rebuilt(wasm: &[u8], note: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                return;
            }
        }
    }
    let name = b"fusion-build";
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name);
    body.extend_from_slice(note.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    leb(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}
