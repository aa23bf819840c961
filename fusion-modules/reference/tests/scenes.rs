//! The reference module on synthetic scenes with known ground truth.

use std::collections::{BTreeMap, BTreeSet};

use fusion_abi::NativeModule;
use fusion_msgs::autoware_perception_msgs::{
    ObjectClassification as Class, TrackedObject, TrackedObjects,
};
use fusion_reference::ReferenceModule;
use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig};

fn run(scene: Scene, frames: usize, seed: u64) -> Vec<(TrackedObjects, TrackedObjects)> {
    let mut generator = FrameGenerator::new(scene, default_rig(), LidarModel::small(), seed);
    let config = fusion_msgs::encode(&generator.module_config(Vec::new())).unwrap();
    let mut module = NativeModule::<ReferenceModule>::init(&config).unwrap();
    (0..frames)
        .map(|_| {
            let frame = generator.next(0.1);
            let out = fusion_msgs::decode(module.step(&frame.frame_bytes).unwrap()).unwrap();
            (out, frame.ground_truth)
        })
        .collect()
}

fn position(o: &TrackedObject) -> (f64, f64) {
    let p = &o.kinematics.pose_with_covariance.pose.position;
    (p.x, p.y)
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn label(o: &TrackedObject) -> u8 {
    o.classification.first().map_or(Class::UNKNOWN, |c| c.label)
}

/// The output object nearest to each truth object, within `gate` metres.
fn matches<'a>(
    out: &'a TrackedObjects,
    truth: &'a TrackedObjects,
    gate: f64,
) -> Vec<(&'a TrackedObject, &'a TrackedObject)> {
    truth
        .objects
        .iter()
        .filter_map(|t| {
            out.objects
                .iter()
                .map(|o| (distance(position(o), position(t)), o))
                .filter(|(d, _)| *d < gate)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, o)| (t, o))
        })
        .collect()
}

#[test]
fn a_single_car_is_found_within_30_cm_with_its_class() {
    let results = run(Scene::single(Class::CAR, 18.0, 3.5, 0.0, 8.0), 25, 1);
    for (k, (out, truth)) in results.iter().enumerate().skip(5) {
        let matched = matches(out, truth, 2.0);
        assert_eq!(
            matched.len(),
            1,
            "frame {k}: {} objects out",
            out.objects.len()
        );
        let (t, o) = matched[0];
        let err = distance(position(o), position(t));
        assert!(err < 0.3, "frame {k}: position error {err:.3} m");
        assert_eq!(label(o), Class::CAR, "frame {k}");
    }
}

#[test]
fn pedestrians_and_trucks_get_their_classes() {
    for (class, x, y) in [(Class::PEDESTRIAN, 12.0, -4.0), (Class::TRUCK, 25.0, -3.5)] {
        let results = run(Scene::single(class, x, y, 0.0, 1.5), 15, 2);
        let (out, truth) = results.last().unwrap();
        let matched = matches(out, truth, 2.0);
        assert_eq!(matched.len(), 1, "class {class}");
        let (t, o) = matched[0];
        assert_eq!(label(o), class);
        let err = distance(position(o), position(t));
        assert!(err < 0.3, "class {class}: position error {err:.3} m");
    }
}

#[test]
fn ids_stay_stable_through_a_crossing() {
    let results = run(Scene::crossing(), 50, 3);
    // For every truth actor: the UUIDs matched to it once tracking settled.
    let mut ids: BTreeMap<[u8; 16], BTreeSet<[u8; 16]>> = BTreeMap::new();
    let mut errors = Vec::new();
    for (out, truth) in results.iter().skip(5) {
        for (t, o) in matches(out, truth, 1.5) {
            ids.entry(t.object_id.uuid)
                .or_default()
                .insert(o.object_id.uuid);
            errors.push(distance(position(o), position(t)));
        }
    }
    assert!(ids.len() >= 3, "most actors are tracked: {}", ids.len());
    for (actor, tracks) in &ids {
        assert_eq!(
            tracks.len(),
            1,
            "actor {:?} changed identity: {} track IDs",
            fusion_sim::truth::actor_id(&fusion_msgs::unique_identifier_msgs::UUID {
                uuid: *actor
            }),
            tracks.len()
        );
    }
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    assert!(median < 0.3, "median position error {median:.3} m");
}
