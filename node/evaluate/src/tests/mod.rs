//! Hand-computed cases; `oracle` dumps generated ones for motmetrics.

mod oracle;

use super::*;
use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;

const CAR: u8 = Class::CAR;
const PEDESTRIAN: u8 = Class::PEDESTRIAN;

fn uuid(id: u64) -> [u8; 16] {
    let mut uuid = [0; 16];
    uuid[8..].copy_from_slice(&id.to_be_bytes());
    uuid
}

fn obj(id: u64, x: f64, y: f64) -> ObjectState {
    ObjectState {
        id: uuid(id),
        label: CAR,
        position: [x, y],
        velocity: [0.0; 2],
    }
}

fn labelled(id: u64, label: u8, x: f64) -> ObjectState {
    ObjectState {
        label,
        ..obj(id, x, 0.0)
    }
}

fn frame(stamp_ns: i64, objects: Vec<ObjectState>) -> Frame {
    Frame {
        stamp_ns,
        frame_id: "base_link".into(),
        objects,
    }
}

/// Evaluates (truth, hypotheses) frame pairs in order.
fn run(threshold: f64, frames: &[(Vec<ObjectState>, Vec<ObjectState>)]) -> Report {
    let config = EvalConfig {
        match_threshold_m: threshold,
        ..EvalConfig::default()
    };
    let mut eval = Evaluation::new(config).unwrap();
    for (i, (truth, hyp)) in frames.iter().enumerate() {
        let stamp = i as i64 * 100_000_000;
        eval.add_frame(&frame(stamp, truth.clone()), &frame(stamp, hyp.clone()))
            .unwrap();
    }
    eval.report()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn a_switch_a_transfer_and_a_false_positive() {
    // Threshold 0.55: truth 1 at 0, truth 2 at 0.6 on the x axis.
    let frames = [
        (
            vec![obj(1, 0.0, 0.0), obj(2, 0.6, 0.0)],
            vec![obj(1, 0.1, 0.0), obj(2, 0.8, 0.0), obj(3, -0.3, 0.0)],
        ),
        (
            vec![obj(1, 0.0, 0.0), obj(2, 0.6, 0.0)],
            vec![obj(1, 0.2, 0.0), obj(2, 0.7, 0.0)],
        ),
        (vec![obj(1, 0.0, 0.0)], vec![obj(2, 0.5, 0.0)]),
    ];
    let m = run(0.55, &frames).overall;
    // Frame 0: 1-1 and 2-2 (0.3 in all) beat 1-3 and 2-1; 3 is a false
    // positive. Frame 1: both pairs kept. Frame 2: 1-2 switches (1 was
    // last with 1) and transfers (2 was last with 2).
    assert_eq!(
        (
            m.num_objects,
            m.num_predictions,
            m.num_matches,
            m.num_switches,
            m.num_transfer
        ),
        (5, 6, 4, 1, 1)
    );
    assert_eq!(
        (
            m.num_false_positives,
            m.num_misses,
            m.num_ascend,
            m.num_migrate
        ),
        (1, 0, 0, 0)
    );
    assert!(close(m.mota, 1.0 - 2.0 / 5.0), "{:?}", m.mota);
    assert!(
        close(m.motp, (0.1 + 0.2 + 0.2 + 0.1 + 0.5) / 5.0),
        "{:?}",
        m.motp
    );
    assert!(close(m.precision, 5.0 / 6.0) && close(m.recall, 1.0));
    // Frames within the threshold: 1-1: 2, 2-2: 2, 2-1: 2, 1-3: 1, 1-2: 1.
    // The best one-to-one map is 1-1, 2-2: IDTP 4.
    assert_eq!((m.idtp, m.idfp, m.idfn), (4, 2, 1));
    assert!(close(m.idf1, 8.0 / 11.0) && close(m.idp, 4.0 / 6.0) && close(m.idr, 0.8));
    assert_eq!(
        (m.mostly_tracked, m.partially_tracked, m.mostly_lost),
        (2, 0, 0)
    );
}

#[test]
fn the_previous_match_is_kept_while_within_the_threshold() {
    let frames = [
        (
            vec![obj(1, 0.0, 0.0)],
            vec![obj(10, 0.0, 0.0), obj(11, 9.0, 0.0)],
        ),
        // 11 is closer now, but 10 is still within 2 m: 1-10 stays.
        (
            vec![obj(1, 0.0, 0.0)],
            vec![obj(10, 1.5, 0.0), obj(11, 0.1, 0.0)],
        ),
        // 10 is beyond the threshold: 1-11 is a switch.
        (
            vec![obj(1, 0.0, 0.0)],
            vec![obj(10, 2.5, 0.0), obj(11, 0.1, 0.0)],
        ),
    ];
    let m = run(2.0, &frames).overall;
    assert_eq!(
        (
            m.num_matches,
            m.num_switches,
            m.num_false_positives,
            m.num_ascend
        ),
        (2, 1, 3, 1)
    );
    assert!(close(m.motp, (0.0 + 1.5 + 0.1) / 3.0));
}

#[test]
fn a_switch_to_a_new_hypothesis_ascends() {
    let frames = [
        (vec![obj(1, 0.0, 0.0)], vec![obj(10, 0.0, 0.0)]),
        (vec![obj(1, 0.0, 0.0)], vec![obj(11, 0.0, 0.0)]),
    ];
    let m = run(2.0, &frames).overall;
    assert_eq!(
        (m.num_matches, m.num_switches, m.num_ascend, m.num_transfer),
        (1, 1, 1, 0)
    );
    assert!(close(m.mota, 0.5) && close(m.idf1, 0.5));
}

#[test]
fn pairs_beyond_the_threshold_are_a_miss_and_a_false_positive() {
    let beyond = run(2.0, &[(vec![obj(1, 0.0, 0.0)], vec![obj(10, 2.0, 0.5)])]).overall;
    assert_eq!(
        (
            beyond.num_matches,
            beyond.num_misses,
            beyond.num_false_positives
        ),
        (0, 1, 1)
    );
    assert!(close(beyond.mota, -1.0) && close(beyond.precision, 0.0) && close(beyond.recall, 0.0));
    assert_eq!(
        (beyond.motp, beyond.position_rmse_m, beyond.idtp),
        (None, None, 0)
    );
    assert_eq!(beyond.mostly_lost, 1);
    // The threshold itself is inclusive.
    let at = run(2.0, &[(vec![obj(1, 0.0, 0.0)], vec![obj(10, 0.0, 2.0)])]).overall;
    assert_eq!((at.num_matches, at.num_misses), (1, 0));
}

#[test]
fn the_assignment_pairs_as_many_as_it_can_before_it_minimises_distance() {
    // 1-10 alone (0.1 m) would leave 2 unpaired; 1-11 and 2-10 pair both.
    let frames = [(
        vec![obj(1, 0.0, 0.0), obj(2, 2.0, 0.0)],
        vec![obj(10, 0.1, 0.0), obj(11, -1.5, 0.0)],
    )];
    let m = run(2.0, &frames).overall;
    assert_eq!(
        (m.num_matches, m.num_misses, m.num_false_positives),
        (2, 0, 0)
    );
    assert!(close(m.motp, (1.5 + 1.9) / 2.0));
}

#[test]
fn per_class_figures_filter_both_sides_by_their_top_label() {
    // A car tracked as a pedestrian: overall a match, per class a miss
    // (car) and a false positive (pedestrian).
    let frames = [(
        vec![labelled(1, CAR, 0.0), labelled(2, PEDESTRIAN, 10.0)],
        vec![
            labelled(10, PEDESTRIAN, 0.2),
            labelled(11, PEDESTRIAN, 10.1),
        ],
    )];
    let report = run(2.0, &frames);
    assert_eq!(report.overall.num_matches, 2);
    let names: Vec<(u8, &str)> = report
        .per_class
        .iter()
        .map(|c| (c.label, c.name.as_str()))
        .collect();
    assert_eq!(names, [(CAR, "car"), (PEDESTRIAN, "pedestrian")]);
    let car = &report.per_class[0].metrics;
    assert_eq!(
        (
            car.num_objects,
            car.num_misses,
            car.num_predictions,
            car.num_frames
        ),
        (1, 1, 0, 1)
    );
    assert_eq!((car.recall, car.precision), (Some(0.0), None));
    let ped = &report.per_class[1].metrics;
    assert_eq!((ped.num_matches, ped.num_false_positives), (1, 1));
    assert!(close(ped.precision, 0.5) && close(ped.recall, 1.0));
}

#[test]
fn fragmentations_and_track_ratios() {
    let hit = || (vec![obj(1, 0.0, 0.0)], vec![obj(10, 0.0, 0.0)]);
    let miss = || (vec![obj(1, 0.0, 0.0)], vec![]);
    // Missed before it was ever tracked (no fragment), then tracked,
    // missed twice, tracked, missed at the end (no fragment either).
    let frames = [miss(), hit(), miss(), miss(), hit(), miss()];
    let m = run(2.0, &frames).overall;
    assert_eq!(
        (m.num_fragmentations, m.num_misses, m.num_matches),
        (1, 4, 2)
    );
    assert_eq!(
        (m.mostly_tracked, m.partially_tracked, m.mostly_lost),
        (0, 1, 0)
    );
}

#[test]
fn rmse_of_position_and_velocity_over_the_pairs() {
    let truth = ObjectState {
        velocity: [1.0, 0.0],
        ..obj(1, 0.0, 0.0)
    };
    let hyp_a = ObjectState {
        velocity: [1.0, 2.0],
        ..obj(10, 0.3, 0.4)
    };
    let hyp_b = ObjectState {
        velocity: [f64::NAN, 0.0],
        ..obj(10, 0.0, 1.0)
    };
    let m = run(
        2.0,
        &[(vec![truth], vec![hyp_a]), (vec![truth], vec![hyp_b])],
    )
    .overall;
    assert!(close(m.position_rmse_m, ((0.25 + 1.0) / 2.0f64).sqrt()));
    // The NaN velocity is left out of the velocity error only.
    assert_eq!(m.velocity_pairs, 1);
    assert!(close(m.velocity_rmse_mps, 2.0));
}

#[test]
fn nothing_to_evaluate_gives_no_ratios() {
    let m = run(2.0, &[]).overall;
    assert_eq!(
        (m.num_frames, m.mota, m.motp, m.idf1, m.precision),
        (0, None, None, None, None)
    );
}

#[test]
fn hypothesis_frames_pair_with_the_nearest_truth_within_tolerance() {
    let ms = 1_000_000;
    let truth = vec![
        frame(30 * ms, vec![obj(1, 5.0, 0.0)]),
        frame(0, vec![obj(1, 0.0, 0.0)]),
        frame(100 * ms, vec![]),
    ];
    let hyps = vec![
        // Nearest truth is 30 ms (4 ms away), at 5 m: a match.
        frame(34 * ms, vec![obj(10, 5.0, 0.0)]),
        // 3 ms after the truth at 0: matched against x = 0.
        frame(3 * ms, vec![obj(10, 0.0, 0.0)]),
        // 50 ms from any truth: left out.
        frame(60 * ms, vec![obj(10, 0.0, 0.0)]),
    ];
    let report = evaluate(truth, hyps, &EvalConfig::default()).unwrap();
    assert_eq!(
        report.frames,
        FrameCounts {
            evaluated: 2,
            unpaired_hypothesis: 1,
            unpaired_truth: 1,
            ..FrameCounts::default()
        }
    );
    assert_eq!(
        (report.overall.num_matches, report.overall.num_misses),
        (2, 0)
    );
}

#[test]
fn bad_input_is_an_error_or_a_counted_skip() {
    let bad = EvalConfig {
        match_threshold_m: f64::NAN,
        ..EvalConfig::default()
    };
    assert!(matches!(
        Evaluation::new(bad),
        Err(EvalError::InvalidThreshold(_))
    ));
    assert!(
        Evaluation::new(EvalConfig {
            match_threshold_m: 0.0,
            ..bad
        })
        .is_err()
    );

    let mut eval = Evaluation::new(EvalConfig::default()).unwrap();
    let mut map = frame(0, vec![]);
    map.frame_id = "map".into();
    let err = eval.add_frame(&frame(0, vec![]), &map).unwrap_err();
    assert_eq!(
        err.to_string(),
        "frame_id differs at stamp 0 ns: truth is in \"base_link\", hypotheses in \"map\""
    );

    let truth = frame(
        0,
        vec![obj(1, 0.0, 0.0), obj(1, 1.0, 0.0), obj(2, f64::NAN, 0.0)],
    );
    let hyp = frame(0, vec![obj(10, f64::INFINITY, 0.0), obj(11, 0.0, 0.0)]);
    eval.add_frame(&truth, &hyp).unwrap();
    let report = eval.report();
    assert_eq!(
        (
            report.frames.skipped_duplicate_id,
            report.frames.skipped_non_finite
        ),
        (1, 2)
    );
    assert_eq!(
        (report.overall.num_objects, report.overall.num_matches),
        (1, 1)
    );
}

#[test]
fn the_report_reads_as_json_and_as_a_table() {
    let report = run(2.0, &[(vec![obj(1, 0.0, 0.0)], vec![obj(10, 2.5, 0.0)])]);
    let json = report.to_json();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(json.contains("\"motp\": null"), "{json}");
    let table = report.to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[1].starts_with("class ") && lines[1].contains("MOTA%"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("all ") && lines[3].starts_with("car "),
        "{table}"
    );
    assert!(lines[2].contains("-100.0"), "{table}");
}

#[test]
fn simulator_ground_truth_against_a_shifted_copy_of_itself() {
    use fusion_sim::{Actor, Scene};
    let mut scene = Scene::new(vec![
        Actor::new(1, CAR, 10.0, 0.0, 0.0, 8.0),
        Actor::new(2, PEDESTRIAN, 5.0, 4.0, 2.0, 1.5),
        Actor::new(3, Class::TRUCK, -20.0, -3.5, -0.7, 12.0),
    ]);
    scene.actors[1].yaw_rate = 0.3;
    let (mut truth, mut hyp) = (Vec::new(), Vec::new());
    for step in 0..20 {
        let stamp = step * 100_000_000;
        let msg = scene.ground_truth(stamp);
        let frame = Frame::from_msg(&msg);
        // The truth's twist is in the object frame; read back in base_link
        // it is the actor's world velocity (the ego is static).
        for (o, a) in frame.objects.iter().zip(&scene.actors) {
            let (vx, vy) = a.velocity();
            assert!((o.velocity[0] - vx).abs() < 1e-9 && (o.velocity[1] - vy).abs() < 1e-9);
        }
        let mut tracked = msg.clone();
        for object in &mut tracked.objects {
            object.object_id.uuid[0] ^= 0xff; // tracker ids, not actor ids
            object.kinematics.pose_with_covariance.pose.position.y += 0.5;
        }
        truth.push(frame);
        hyp.push(Frame::from_msg(&tracked));
        scene.advance(0.1);
    }
    let report = evaluate(truth, hyp, &EvalConfig::default()).unwrap();
    let m = &report.overall;
    assert_eq!(
        (m.num_objects, m.num_matches, m.num_switches, m.idtp),
        (60, 60, 0, 60)
    );
    assert!(close(m.mota, 1.0) && close(m.idf1, 1.0) && close(m.motp, 0.5));
    assert!(m.velocity_rmse_mps.is_some_and(|v| v < 1e-9));
    assert_eq!(report.per_class.len(), 3);
}
