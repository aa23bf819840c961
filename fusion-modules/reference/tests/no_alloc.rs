//! In steady state a step allocates nothing: every buffer keeps the
//! capacity the largest frame so far needed. A counting allocator watches
//! the native build, which runs the same code as the Wasm one.

use fusion_abi::NativeModule;
use fusion_reference::ReferenceModule;
use fusion_sim::alloc_count::{Counting, allocations};
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_steps_allocate_nothing() {
    // The same frame, stamped forward: the scene and the number of tracks
    // stay the same, so every buffer has reached its size after warm-up.
    let mut generator =
        FrameGenerator::new(Scene::highway(3), default_rig(), LidarModel::small(), 5);
    generator.radar.clutter_mean = 50.0;
    generator.camera.false_positive_mean = 5.0;
    let config = fusion_msgs::encode(&generator.module_config(Vec::new())).unwrap();
    let mut frames: Vec<Vec<u8>> = (0..10).map(|_| generator.next(0.1).frame_bytes).collect();
    let mut module = NativeModule::<ReferenceModule>::init(&config).unwrap();
    let mut stamp = 1_700_000_000_000_000_000i64;
    let mut run = |module: &mut NativeModule<ReferenceModule>, frames: &mut [Vec<u8>]| {
        for frame in frames.iter_mut() {
            stamp += 100_000_000;
            frame[16..24].copy_from_slice(&stamp.to_le_bytes());
            module.step(frame).unwrap();
        }
    };
    for _ in 0..3 {
        run(&mut module, &mut frames);
    }
    let before = allocations();
    run(&mut module, &mut frames);
    assert_eq!(
        allocations() - before,
        0,
        "allocations in 10 steady-state steps"
    );
}
