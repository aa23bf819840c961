//! The reference module built for Wasm, run by the ModuleHost, against the
//! same module built natively: identical bytes, frame after frame, and no
//! memory growth in steady state.

use fusion_abi::NativeModule;
use fusion_node::host::{HostError, Limits, ModuleHost, engine};
use fusion_reference::ReferenceModule;
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig};

/// These tests check what the module computes; a loaded CI machine can
/// deschedule a step past the production 10 ms deadline, which the host's
/// own tests cover.
fn limits() -> Limits {
    Limits {
        step_deadline: std::time::Duration::from_secs(10),
        init_deadline: std::time::Duration::from_secs(60),
        ..Limits::default()
    }
}

fn reference_wasm() -> Vec<u8> {
    std::fs::read(fusion_node::modules::REFERENCE_WASM)
        .expect("the build script builds the reference module")
}

fn generator() -> FrameGenerator {
    FrameGenerator::new(Scene::crossing(), default_rig(), LidarModel::small(), 7)
}

/// A frame generator, and the reference module natively and in Wasm, both
/// initialised with the generator's configuration.
fn both_builds() -> (FrameGenerator, NativeModule<ReferenceModule>, ModuleHost) {
    let frames = generator();
    let config = fusion_msgs::encode(&frames.module_config(Vec::new())).unwrap();
    let native = NativeModule::<ReferenceModule>::init(&config).unwrap();
    let mut wasm = ModuleHost::from_wasm(&engine().unwrap(), &reference_wasm(), limits()).unwrap();
    wasm.init(&config).unwrap();
    (frames, native, wasm)
}

#[test]
fn wasm_output_is_byte_identical_to_native() {
    let (mut frames, mut native, mut wasm) = both_builds();

    let mut objects_seen = 0;
    for _ in 0..30 {
        let frame = frames.next(0.1);
        let expected = native.step(&frame.frame_bytes).unwrap().to_vec();
        let got = wasm.step(&frame.frame_bytes).unwrap();
        assert_eq!(got, expected, "frame {}", frame.sequence);
        let decoded: fusion_msgs::autoware_perception_msgs::TrackedObjects =
            fusion_msgs::decode(got).unwrap();
        objects_seen += decoded.objects.len();
    }
    assert!(
        objects_seen > 0,
        "the comparison covered frames with objects"
    );
}

#[test]
fn steady_state_does_not_grow_memory() {
    let mut frames = generator();
    let config = fusion_msgs::encode(&frames.module_config(Vec::new())).unwrap();
    let mut wasm = ModuleHost::from_wasm(&engine().unwrap(), &reference_wasm(), limits()).unwrap();
    wasm.init(&config).unwrap();
    let recorded: Vec<Vec<u8>> = (0..10).map(|_| frames.next(0.1).frame_bytes).collect();
    for frame in &recorded {
        wasm.step(frame).unwrap();
    }
    let warm = wasm.memory_size();
    // Replay the same ten frames (time goes backwards: the tracker resets)
    // several times: the heap must not keep growing.
    for _ in 0..5 {
        for frame in &recorded {
            wasm.step(frame).unwrap();
        }
    }
    assert_eq!(wasm.memory_size(), warm);
}

#[test]
fn bad_config_is_a_module_error_with_a_message() {
    let frames = generator();
    let mut config = frames.module_config(Vec::new());
    config
        .parameters
        .push(fusion_msgs::fusion_interfaces::Parameter {
            name: "gate_chi3".into(),
            value: 1.0,
        });
    let mut wasm = ModuleHost::from_wasm(&engine().unwrap(), &reference_wasm(), limits()).unwrap();
    let err = wasm
        .init(&fusion_msgs::encode(&config).unwrap())
        .unwrap_err();
    match err {
        HostError::Module {
            export: "fusion_init",
            code,
            message,
        } => {
            assert_eq!(code, fusion_abi::status::BAD_CONFIG);
            assert!(
                message.contains("unknown parameter `gate_chi3`"),
                "{message}"
            );
        }
        other => panic!("expected a module error, got {other:?}"),
    }
    // Garbage instead of CDR: the same, never a trap.
    let err = wasm.init(b"not a config").unwrap_err();
    assert!(
        matches!(
            err,
            HostError::Module {
                code: fusion_abi::status::BAD_CONFIG,
                ..
            }
        ),
        "{err:?}"
    );
    // And the instance still works after the refusals.
    wasm.init(&fusion_msgs::encode(&generator().module_config(Vec::new())).unwrap())
        .unwrap();
}

#[test]
fn damaged_frames_never_trap_the_wasm_module() {
    use fusion_sim::faults::{ALL_FAULTS, apply};
    let (mut frames, mut native, mut wasm) = both_builds();
    for (i, &fault) in ALL_FAULTS.iter().enumerate() {
        let good = frames.next(0.1);
        let mut messages = frames.messages(good.sequence);
        apply(
            fault,
            &mut messages,
            &mut fusion_sim::sensor_rng(5, i as u64, 0),
        );
        let damaged = fusion_sim::frame(good.sequence, good.stamp_ns, &messages);
        let expected = native.step(&damaged).unwrap().to_vec();
        let got = wasm
            .step(&damaged)
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(
            got, expected,
            "{fault:?}: Wasm and native agree on damaged input too"
        );
    }
}
