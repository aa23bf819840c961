//! Damaged frames give valid output (possibly fewer objects), never a
//! panic (a trap in Wasm), and the module keeps tracking afterwards.

use fusion_abi::NativeModule;
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_reference::ReferenceModule;
use fusion_sim::faults::{ALL_FAULTS, apply};
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig, frame, sensor_rng};

#[test]
fn every_fault_gives_valid_output_and_tracking_resumes() {
    let mut generator =
        FrameGenerator::new(Scene::crossing(), default_rig(), LidarModel::small(), 11);
    let config = fusion_msgs::encode(&generator.module_config(Vec::new())).unwrap();
    let mut module = NativeModule::<ReferenceModule>::init(&config).unwrap();
    for _ in 0..6 {
        module.step(&generator.next(0.1).frame_bytes).unwrap();
    }
    for (i, &fault) in ALL_FAULTS.iter().enumerate() {
        let good = generator.next(0.1);
        let mut messages = generator.messages(good.sequence);
        apply(fault, &mut messages, &mut sensor_rng(99, i as u64, 0));
        let damaged = frame(good.sequence, good.stamp_ns, &messages);
        let out = module
            .step(&damaged)
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        let objects: TrackedObjects =
            fusion_msgs::decode(out).unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        for o in &objects.objects {
            let p = &o.kinematics.pose_with_covariance.pose.position;
            assert!(
                p.x.is_finite() && p.y.is_finite() && p.z.is_finite(),
                "{fault:?}: non-finite position"
            );
            assert!(o.existence_probability.is_finite(), "{fault:?}");
        }
    }
    // Good frames again: tracking carries on.
    let mut last = TrackedObjects::default();
    for _ in 0..5 {
        last = fusion_msgs::decode(module.step(&generator.next(0.1).frame_bytes).unwrap()).unwrap();
    }
    assert!(
        last.objects.len() >= 4,
        "tracking resumed: {} objects",
        last.objects.len()
    );
}

#[test]
fn malformed_frames_are_refused_with_a_status_not_a_panic() {
    let generator = FrameGenerator::new(Scene::empty(), default_rig(), LidarModel::small(), 1);
    let config = fusion_msgs::encode(&generator.module_config(Vec::new())).unwrap();
    let mut module = NativeModule::<ReferenceModule>::init(&config).unwrap();
    for bytes in [&b""[..], b"FRM1", &[0u8; 64], &[0xffu8; 100]] {
        let err = module.step(bytes).unwrap_err();
        assert_eq!(err.code, fusion_abi::status::BAD_FRAME, "{err}");
    }
    // A frame with no slots at all is valid: no objects.
    let out = module.step(&frame(0, 1_000_000_000, &[])).unwrap();
    let objects: TrackedObjects = fusion_msgs::decode(out).unwrap();
    assert!(objects.objects.is_empty());
}
