//! Unit tests of the aligner: message_filters' cases, the trigger policy,
//! stamp robustness and property tests.

mod approximate_time;
mod props;
mod robustness;
mod trigger;

use super::{AlignedSet, Aligner, AlignerConfig, PolicyConfig, Stamped};

/// Nanoseconds in a millisecond and a second.
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;

fn msg(sensor: u16, stamp_ns: i64, arrival_ns: i64) -> Stamped<u32> {
    Stamped {
        sensor,
        stamp_ns,
        arrival_ns,
        payload: 0,
    }
}

fn aligner(sensor_count: usize, policy: PolicyConfig) -> Aligner<u32> {
    Aligner::new(&AlignerConfig::new(sensor_count, policy)).unwrap()
}

/// Every set `poll(now)` hands out, as (trigger stamp, per-slot stamp,
/// missing mask).
fn drain(a: &mut Aligner<u32>, now: i64) -> Vec<(i64, Vec<Option<i64>>, u64)> {
    let mut set: AlignedSet<u32> = a.new_set();
    let mut sets = Vec::new();
    while a.poll(now, &mut set) {
        let stamps = set
            .slots()
            .iter()
            .map(|s| s.as_ref().map(|m| m.stamp_ns))
            .collect();
        sets.push((set.trigger_stamp_ns(), stamps, set.missing_sensors()));
    }
    sets
}
