//! The aligner allocates nothing per message: every buffer is sized when
//! it is created. A counting allocator watches a stream with gaps and
//! replay loops through both policies.

use fusion_node::align::{
    Aligner, AlignerConfig, ApproximateTimeConfig, PolicyConfig, Stamped, TriggerConfig,
};
use fusion_sim::alloc_count::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

const MS: i64 = 1_000_000;

/// Runs 8 sensors at 20 Hz with jitter, a dropped camera now and then
/// and a replay loop, for `frames` frames; returns sets received.
fn stream(a: &mut Aligner<u64>, set: &mut fusion_node::align::AlignedSet<u64>, frames: i64) -> u64 {
    let mut sets = 0;
    for f in 0..frames {
        // Loop back every 100 frames (5 s), as a replay would.
        let t = (f % 100) * 50 * MS;
        let arrival = f * 50 * MS;
        for sensor in (0..8u16).rev() {
            if sensor == 5 && f % 7 == 0 {
                continue;
            }
            let jitter = i64::from(sensor) * 300_000;
            let stamp = t + jitter;
            a.push(Stamped {
                sensor,
                stamp_ns: stamp,
                arrival_ns: arrival + jitter,
                payload: f as u64,
            });
        }
        while a.poll(arrival + 20 * MS, set) {
            sets += 1;
        }
    }
    sets
}

#[test]
fn aligning_does_not_allocate() {
    for policy in [
        PolicyConfig::Trigger(TriggerConfig::new(0, 10 * MS, 5 * MS)),
        PolicyConfig::ApproximateTime(ApproximateTimeConfig::new(4)),
    ] {
        let mut a = Aligner::new(&AlignerConfig::new(8, policy)).unwrap();
        let mut set = a.new_set();
        // Every buffer was sized in `new`: not even the first messages
        // allocate.
        let before = allocations();
        let sets = stream(&mut a, &mut set, 1_000);
        assert_eq!(allocations() - before, 0, "{a:?}");
        assert!(sets > 700, "{sets} sets");
        assert_eq!(a.counters().resets, 9, "one per replay loop");
    }
}
