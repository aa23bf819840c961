//! Bad stamps: counted, dropped or reset, never wedging.

use super::*;
use crate::align::{
    Admission, AlignConfigError, ApproximateTimeConfig, FUTURE_LIMIT_NS, FUTURE_RESET_AFTER,
    TriggerConfig,
};

fn trigger() -> Aligner<u32> {
    aligner(
        2,
        PolicyConfig::Trigger(TriggerConfig::new(0, 10 * MS, 5 * MS)),
    )
}

#[test]
fn unknown_sensors_duplicates_and_reordering_are_counted_and_dropped() {
    let mut a = trigger();
    assert_eq!(a.push(msg(2, 0, 0)), Admission::UnknownSensor);
    assert_eq!(a.push(msg(1, 100 * MS, 1)), Admission::Accepted);
    assert_eq!(a.push(msg(1, 100 * MS, 2)), Admission::Duplicate);
    assert_eq!(a.push(msg(1, 90 * MS, 3)), Admission::OutOfOrder);
    let c = a.counters();
    assert_eq!(
        (c.unknown_sensor, c.duplicates, c.out_of_order, c.accepted),
        (1, 1, 1, 1)
    );
    assert_eq!(a.buffered(), 1);
}

#[test]
fn time_going_backwards_resets_and_alignment_resumes() {
    for policy in [
        PolicyConfig::Trigger(TriggerConfig::new(0, 10 * MS, 5 * MS)),
        PolicyConfig::ApproximateTime(ApproximateTimeConfig::new(4)),
    ] {
        let mut a = aligner(2, policy);
        let mut sets = 0;
        for lap in 0..3 {
            // 2 s laps: each restart goes back by more than the threshold.
            for i in 0..40 {
                let t = 1_000 * S + i * 50 * MS;
                let arrival = lap * 10 * S + i * 50 * MS;
                a.push(msg(1, t, arrival));
                a.push(msg(0, t, arrival));
                sets += drain(&mut a, arrival).len();
            }
        }
        assert_eq!(a.counters().resets, 2, "one per replay loop");
        // Every lap's sets except those lost in the resets.
        assert!(sets >= 3 * 40 - 2, "{sets} sets");
    }
}

#[test]
fn a_stamp_far_in_the_future_is_dropped() {
    let mut a = trigger();
    a.push(msg(1, S, 0));
    assert_eq!(
        a.push(msg(0, S + FUTURE_LIMIT_NS + 1, 1)),
        Admission::Future
    );
    assert_eq!(a.push(msg(0, S + 10 * MS, 2)), Admission::Accepted);
    assert_eq!(a.counters().future, 1);
    assert_eq!(drain(&mut a, 2).len(), 1);
}

#[test]
fn time_that_jumps_forward_for_good_is_adopted() {
    let mut a = trigger();
    a.push(msg(1, S, 0));
    let later = 2 * FUTURE_LIMIT_NS;
    let mut admissions = Vec::new();
    for i in 0..i64::from(FUTURE_RESET_AFTER) {
        admissions.push(a.push(msg(1, later + i * MS, i)));
    }
    assert_eq!(
        admissions.last(),
        Some(&Admission::AcceptedAfterReset),
        "{admissions:?}"
    );
    assert_eq!(a.counters().resets, 1);
    a.push(msg(0, later + 15 * MS, 100));
    assert_eq!(drain(&mut a, 100).len(), 1);
}

#[test]
fn extreme_stamps_do_not_overflow() {
    for policy in [
        PolicyConfig::Trigger(TriggerConfig::new(0, i64::MAX, i64::MAX)),
        PolicyConfig::ApproximateTime(ApproximateTimeConfig::new(2)),
    ] {
        let mut a = aligner(2, policy);
        for (s, t) in [(0, i64::MIN), (1, i64::MAX), (1, i64::MIN), (0, i64::MAX)] {
            a.push(msg(s, t, 0));
            drain(&mut a, i64::MAX);
        }
    }
}

#[test]
fn bad_configs_are_refused() {
    let cfg = |n, p| Aligner::<u32>::new(&AlignerConfig::new(n, p)).map(|_| ());
    let t = |primary| PolicyConfig::Trigger(TriggerConfig::new(primary, MS, MS));
    assert_eq!(cfg(0, t(0)), Err(AlignConfigError::SensorCount(0)));
    assert_eq!(cfg(65, t(0)), Err(AlignConfigError::SensorCount(65)));
    assert!(matches!(
        cfg(2, t(2)),
        Err(AlignConfigError::Primary { .. })
    ));
    let mut approx = ApproximateTimeConfig::new(0);
    assert_eq!(
        cfg(2, PolicyConfig::ApproximateTime(approx.clone())),
        Err(AlignConfigError::ZeroCapacity)
    );
    approx.queue_size = 1;
    approx.age_penalty = f64::NAN;
    assert!(matches!(
        cfg(2, PolicyConfig::ApproximateTime(approx)),
        Err(AlignConfigError::AgePenalty(_))
    ));
}
