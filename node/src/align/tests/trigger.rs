//! The trigger policy, case by case.

use super::*;
use crate::align::TriggerConfig;

/// Sensor 0 is the LiDAR (primary), 1 a radar, 2 a camera; skew 10 ms,
/// wait 5 ms.
fn rig() -> Aligner<u32> {
    aligner(
        3,
        PolicyConfig::Trigger(TriggerConfig::new(0, 10 * MS, 5 * MS)),
    )
}

#[test]
fn a_frame_whose_sensors_are_buffered_is_emitted_at_once() {
    let mut a = rig();
    a.push(msg(1, 95 * MS, 1));
    a.push(msg(2, 102 * MS, 2));
    a.push(msg(0, 100 * MS, 3));
    let sets = drain(&mut a, 3);
    assert_eq!(
        sets,
        vec![(
            100 * MS,
            vec![Some(100 * MS), Some(95 * MS), Some(102 * MS)],
            0
        )]
    );
}

#[test]
fn a_late_sensor_completes_the_frame_before_the_wait_ends() {
    let mut a = rig();
    a.push(msg(1, 99 * MS, 1));
    a.push(msg(0, 100 * MS, 10 * MS));
    assert!(drain(&mut a, 10 * MS).is_empty(), "camera still due");
    assert_eq!(a.next_timeout_ns(), Some(15 * MS));
    a.push(msg(2, 101 * MS, 12 * MS));
    let sets = drain(&mut a, 12 * MS);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].2, 0);
}

#[test]
fn a_missing_sensor_degrades_the_frame_after_max_wait() {
    let mut a = rig();
    a.push(msg(1, 99 * MS, 1));
    a.push(msg(0, 100 * MS, 10 * MS));
    assert!(drain(&mut a, 15 * MS - 1).is_empty());
    let sets = drain(&mut a, 15 * MS);
    assert_eq!(
        sets,
        vec![(100 * MS, vec![Some(100 * MS), Some(99 * MS), None], 0b100)]
    );
    assert_eq!(a.counters().degraded_sets, 1);
    // The camera's late message is too old for any later frame.
    a.push(msg(2, 100 * MS, 16 * MS));
    assert_eq!(a.counters().discarded, 0);
    a.push(msg(0, 200 * MS, 20 * MS));
    assert_eq!(a.counters().discarded, 1);
}

#[test]
fn the_nearest_stamp_within_max_skew_is_chosen_and_used_once() {
    let mut a = rig();
    for (i, stamp) in [80, 98, 103, 109].into_iter().enumerate() {
        a.push(msg(1, stamp * MS, i as i64));
    }
    a.push(msg(2, 100 * MS, 5));
    a.push(msg(0, 100 * MS, 6));
    let sets = drain(&mut a, 6);
    assert_eq!(sets[0].1[1], Some(98 * MS));
    // 103 is nearer to 105 than 109 is; 98 is not offered again.
    a.push(msg(2, 105 * MS, 7));
    a.push(msg(0, 105 * MS, 8));
    let sets = drain(&mut a, 8);
    assert_eq!(sets[0].1[1], Some(103 * MS));
}

#[test]
fn a_sensor_past_the_window_with_nothing_in_it_does_not_delay_the_frame() {
    let mut a = rig();
    a.push(msg(0, 100 * MS, 1));
    a.push(msg(1, 100 * MS, 2));
    // The camera jumps past 110 ms: nothing nearer can come any more.
    a.push(msg(2, 111 * MS, 3));
    let sets = drain(&mut a, 3);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].2, 0b100);
}

#[test]
fn frames_leave_in_trigger_order() {
    let mut a = aligner(
        3,
        PolicyConfig::Trigger(TriggerConfig::new(0, 10 * MS, 50 * MS)),
    );
    a.push(msg(0, 100 * MS, 1));
    a.push(msg(1, 100 * MS, 2));
    a.push(msg(0, 130 * MS, 3));
    a.push(msg(1, 130 * MS, 4));
    // Frame 130 has no camera yet either; a camera at 130 completes it
    // and, being past 110, also the frame at 100 (degraded).
    a.push(msg(2, 130 * MS, 5));
    let sets = drain(&mut a, 5);
    let triggers: Vec<i64> = sets.iter().map(|s| s.0).collect();
    assert_eq!(triggers, vec![100 * MS, 130 * MS]);
    assert_eq!(sets[0].2, 0b100);
    assert_eq!(sets[1].2, 0);
}

#[test]
fn too_many_pending_triggers_finish_the_oldest() {
    let mut config = TriggerConfig::new(0, 10 * MS, S);
    config.max_pending = 2;
    let mut a = aligner(2, PolicyConfig::Trigger(config));
    for (i, t) in [100, 150, 200].into_iter().enumerate() {
        a.push(msg(0, t * MS, i as i64));
    }
    let sets = drain(&mut a, 3);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].0, 100 * MS);
    assert_eq!(a.buffered(), 2);
}

#[test]
fn full_sensor_buffers_drop_their_oldest() {
    let mut config = TriggerConfig::new(0, 10 * MS, 5 * MS);
    config.buffer_len = 3;
    let mut a = aligner(2, PolicyConfig::Trigger(config));
    for i in 0..5 {
        a.push(msg(1, i * MS, i));
    }
    assert_eq!(a.buffered(), 3);
    assert_eq!(a.counters().overflowed, 2);
}

#[test]
fn a_lone_lidar_makes_a_frame_per_message() {
    let mut a = aligner(1, PolicyConfig::Trigger(TriggerConfig::new(0, 0, 0)));
    for i in 1..=3 {
        a.push(msg(0, i * 50 * MS, i));
    }
    assert_eq!(drain(&mut a, 3).len(), 3);
}
