//! The published test cases of ROS 2 message_filters'
//! `test/test_approximate_time_policy.cpp`, with their inputs and expected
//! outputs unchanged. Upstream times are seconds; here nanoseconds. Each
//! upstream input is fed in order, one arrival per message.

use super::*;
use crate::align::ApproximateTimeConfig;

/// Runs `input` ((stamp in s, topic) in arrival order) through an
/// approximate_time aligner and returns every set as stamps in s, in
/// publication order.
fn run(
    topics: usize,
    queue_size: usize,
    lower_bound_s: &[f64],
    input: &[(f64, u16)],
) -> Vec<Vec<f64>> {
    let mut config = ApproximateTimeConfig::new(queue_size);
    config.inter_message_lower_bound_ns = lower_bound_s.iter().map(|b| secs(*b)).collect();
    let mut a = aligner(topics, PolicyConfig::ApproximateTime(config));
    let mut out = Vec::new();
    for (arrival, &(stamp, topic)) in input.iter().enumerate() {
        a.push(msg(topic, secs(stamp), arrival as i64));
        for (_, stamps, missing) in drain(&mut a, arrival as i64) {
            assert_eq!(missing, 0, "approximate_time sets are complete");
            out.push(
                stamps
                    .into_iter()
                    .map(|s| s.unwrap() as f64 / S as f64)
                    .collect(),
            );
        }
    }
    out
}

fn secs(s: f64) -> i64 {
    (s * S as f64).round() as i64
}

#[test]
fn exact_match() {
    let input = [(0., 0), (0., 1), (3., 0), (3., 1), (6., 0), (6., 1)];
    let expected = vec![vec![0., 0.], vec![3., 3.], vec![6., 6.]];
    assert_eq!(run(2, 10, &[], &input), expected);
}

#[test]
fn perfect_match() {
    let input = [(0., 0), (1., 1), (3., 0), (4., 1), (6., 0), (7., 1)];
    let expected = vec![vec![0., 1.], vec![3., 4.]];
    assert_eq!(run(2, 10, &[], &input), expected);
}

#[test]
fn imperfect_match() {
    let input = [
        (0., 0),
        (1., 1),
        (2., 0),
        (3., 0),
        (5., 1),
        (6., 0),
        (7., 1),
    ];
    let expected = vec![vec![0., 1.], vec![6., 5.]];
    assert_eq!(run(2, 10, &[], &input), expected);
}

#[test]
fn acceleration() {
    let input = [(0., 0), (7., 1), (12., 0), (15., 1), (17., 0), (18., 1)];
    let expected = vec![vec![12., 7.], vec![17., 18.]];
    assert_eq!(run(2, 10, &[], &input), expected);
}

const DROPPED_INPUT: [(f64, u16); 10] = [
    (0., 0),
    (1., 1),
    (3., 1),
    (4., 0),
    (7., 1),
    (8., 0),
    (10., 0),
    (11., 1),
    (13., 0),
    (14., 1),
];

#[test]
fn dropped_messages_queue_size_1() {
    let expected = vec![vec![4., 3.], vec![10., 11.]];
    assert_eq!(run(2, 1, &[], &DROPPED_INPUT), expected);
}

#[test]
fn dropped_messages_queue_size_2() {
    let expected = vec![vec![0., 1.], vec![4., 3.], vec![8., 7.], vec![10., 11.]];
    assert_eq!(run(2, 2, &[], &DROPPED_INPUT), expected);
}

#[test]
fn long_queue() {
    let mut input: Vec<(f64, u16)> = (0..9).map(|s| (f64::from(s), 0)).collect();
    input.push((3., 1));
    input.extend((9..13).map(|s| (f64::from(s), 0)));
    input.push((10., 1));
    input.push((13., 0));
    assert_eq!(run(2, 5, &[], &input), vec![vec![10., 10.]]);
}

#[test]
fn double_publish() {
    let input = [(0., 0), (1., 1), (3., 1), (3., 0)];
    let expected = vec![vec![0., 1.], vec![3., 3.]];
    assert_eq!(run(2, 10, &[], &input), expected);
}

#[test]
fn four_topics() {
    let input = [
        (0., 0),
        (1., 1),
        (2., 2),
        (3., 3),
        (5., 0),
        (5., 3),
        (6., 1),
        (6., 2),
        (8., 0),
        (9., 1),
        (10., 2),
        (11., 3),
        (10., 0),
        (13., 0),
        (14., 1),
    ];
    let expected = vec![
        vec![0., 1., 2., 3.],
        vec![5., 6., 6., 5.],
        vec![10., 9., 10., 11.],
    ];
    assert_eq!(run(4, 10, &[], &input), expected);
}

#[test]
fn early_publish() {
    let input = [(0., 0), (1., 1), (2., 2), (3., 3), (7., 0)];
    assert_eq!(run(4, 10, &[], &input), vec![vec![0., 1., 2., 3.]]);
}

const RATE_BOUND_INPUT: [(f64, u16); 6] = [(0., 0), (1., 1), (3., 0), (4., 1), (6., 0), (7., 1)];

#[test]
fn rate_bound_1_5() {
    let expected = vec![vec![0., 1.], vec![3., 4.]];
    assert_eq!(run(2, 10, &[1.5], &RATE_BOUND_INPUT), expected);
}

#[test]
fn rate_bound_2() {
    let expected = vec![vec![0., 1.], vec![3., 4.], vec![6., 7.]];
    assert_eq!(run(2, 10, &[2.0], &RATE_BOUND_INPUT), expected);
}

/// Not upstream: `max_interval_duration`, traced by hand through the
/// algorithm. Without a bound, a (0 s) and A (5 s) form a set; with a 2 s
/// bound that set is too wide, so a and A are dropped and only c-B remains.
#[test]
fn max_interval_drops_wide_sets() {
    let input = [(0., 0), (5., 1), (20., 0), (21., 1), (30., 0)];
    let expected = vec![vec![0., 5.], vec![20., 21.]];
    assert_eq!(run(2, 10, &[], &input), expected);

    let mut config = ApproximateTimeConfig::new(10);
    config.max_interval_ns = Some(2 * S);
    let mut a = aligner(2, PolicyConfig::ApproximateTime(config));
    let mut sets = Vec::new();
    for (arrival, &(stamp, topic)) in input.iter().enumerate() {
        a.push(msg(topic, secs(stamp), arrival as i64));
        sets.extend(drain(&mut a, arrival as i64));
    }
    let stamps: Vec<_> = sets.into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(stamps, vec![vec![Some(20 * S), Some(21 * S)]]);
    assert_eq!(a.counters().discarded, 2, "a and A were dropped");
}

/// The set's frame stamp is its newest message.
#[test]
fn set_stamp_is_the_newest_member() {
    let mut a = aligner(
        2,
        PolicyConfig::ApproximateTime(ApproximateTimeConfig::new(10)),
    );
    a.push(msg(0, 10 * MS, 1));
    a.push(msg(1, 12 * MS, 2));
    a.push(msg(0, 40 * MS, 3));
    a.push(msg(1, 41 * MS, 4));
    let sets = drain(&mut a, 4);
    assert_eq!(sets[0].0, 12 * MS);
}
