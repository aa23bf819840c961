use core::f64::consts::{FRAC_PI_2, PI};

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use fusion_msgs::autoware_perception_msgs::{Shape, TrackedObjectKinematics};

use super::close;
use crate::geom::{Rot3, Vec3, wrap_angle, yaw_quaternion};
use crate::truth::{actor_id, actor_uuid};
use crate::{Actor, HIGHWAY_LANES, Scene, time_from_ns};

#[test]
fn straight_and_turning_motion() {
    let mut a = Actor::new(1, Class::CAR, 0.0, 0.0, FRAC_PI_2, 10.0);
    a.advance(0.5);
    close(a.x, 0.0, 1e-12);
    close(a.y, 5.0, 1e-12);

    // A quarter of the circle around (20, -10), clockwise.
    let mut scene = Scene::circling();
    for _ in 0..100 {
        scene.advance(PI / 100.0);
    }
    let c = &scene.actors[0];
    close(c.x, 30.0, 1e-9);
    close(c.y, -10.0, 1e-9);
    close(c.yaw, -FRAC_PI_2, 1e-9);
    // The whole circle in one step lands back at the start.
    scene.advance(3.0 * PI);
    close(scene.actors[0].x, 20.0, 1e-9);
    close(scene.actors[0].y, 0.0, 1e-9);
}

#[test]
fn named_scenes() {
    let crossing = Scene::crossing();
    let labels: Vec<u8> = crossing.actors.iter().map(|a| a.label).collect();
    for label in [Class::CAR, Class::TRUCK, Class::PEDESTRIAN, Class::BICYCLE] {
        assert!(labels.contains(&label));
    }
    // Cars 1 and 2 pass the crossing point (25, 0) about a second apart.
    let at = |id: usize, t: f64| {
        let mut a = crossing.actors[id].clone();
        a.advance(t);
        (a.x, a.y)
    };
    let t1 = 200f64.sqrt() / 7.0;
    let t2 = 450f64.sqrt() / 7.0;
    for (p, t) in [(at(0, t1), t1), (at(1, t2), t2)] {
        close(p.0, 25.0, 1e-9);
        close(p.1, 0.0, 1e-9);
        assert!(t > 1.5 && t < 3.5);
    }

    for seed in 0..50 {
        let h = Scene::highway(seed);
        assert!((10..=20).contains(&h.actors.len()), "seed {seed}");
        assert!(h.actors.iter().filter(|a| a.x > 80.0).count() >= 2);
        let ids: Vec<u32> = h.actors.iter().map(|a| a.id).collect();
        assert_eq!(ids, (1..=h.actors.len() as u32).collect::<Vec<_>>());
        for a in &h.actors {
            assert!(HIGHWAY_LANES.iter().any(|y| (a.y - y).abs() <= 0.3));
            // Nothing where the ego stands.
            assert!(a.x.abs() > 8.0 || a.y.abs() > 2.0, "{a:?}");
        }
        for (i, a) in h.actors.iter().enumerate() {
            for b in &h.actors[i + 1..] {
                let same_lane = (a.y - b.y).abs() < 1.0;
                let gap = (a.x - b.x).abs() - (a.length + b.length) / 2.0;
                assert!(!same_lane || gap >= 18.0, "{a:?} {b:?}");
            }
        }
    }
    assert_eq!(Scene::highway(7), Scene::highway(7));
    assert_ne!(Scene::highway(7), Scene::highway(8));
}

#[test]
fn ground_truth_describes_every_actor() {
    let mut scene = Scene::crossing();
    scene.ground_slope = 0.01;
    let gt = scene.ground_truth(1_500_000_000);
    assert_eq!(gt.header.frame_id, "base_link");
    assert_eq!(
        (gt.header.stamp.sec, gt.header.stamp.nanosec),
        (1, 500_000_000)
    );
    assert_eq!(gt.objects.len(), scene.actors.len());
    for (o, a) in gt.objects.iter().zip(&scene.actors) {
        assert_eq!(actor_id(&o.object_id), Some(a.id));
        assert_eq!(o.classification[0].label, a.label);
        assert_eq!(o.classification[0].probability, 1.0);
        let k = &o.kinematics;
        let p = &k.pose_with_covariance.pose.position;
        assert_eq!((p.x, p.y), (a.x, a.y));
        close(p.z, 0.01 * a.x + a.height / 2.0, 1e-12);
        let q = &k.pose_with_covariance.pose.orientation;
        close(2.0 * q.z.atan2(q.w), a.yaw, 1e-12);
        assert_eq!(k.twist_with_covariance.twist.linear.x, a.speed);
        assert_eq!(
            k.orientation_availability,
            TrackedObjectKinematics::AVAILABLE
        );
        assert_eq!(k.is_stationary, a.speed == 0.0);
        assert_eq!(o.shape.r#type, Shape::BOUNDING_BOX);
        let d = &o.shape.dimensions;
        assert_eq!((d.x, d.y, d.z), (a.length, a.width, a.height));
    }
    fusion_msgs::encode(&gt).unwrap();
    assert_eq!(actor_id(&actor_uuid(u32::MAX)), Some(u32::MAX));
    assert_eq!(actor_id(&Default::default()), None);
}

#[test]
fn geometry_helpers() {
    for yaw in [-3.0, -1.0, 0.0, 0.5, 3.1] {
        let r = Rot3::from_quaternion(&yaw_quaternion(yaw));
        let y = Rot3::from_yaw(yaw);
        for (a, b) in r.m.iter().flatten().zip(y.m.iter().flatten()) {
            close(*a, *b, 1e-12);
        }
    }
    // Quaternion round trip through a general rotation.
    let r = Rot3::from_yaw(0.7).compose(&crate::rig::optical_rotation(2.0, 0.3));
    let back = Rot3::from_quaternion(&r.to_quaternion());
    for (a, b) in r.m.iter().flatten().zip(back.m.iter().flatten()) {
        close(*a, *b, 1e-12);
    }
    let v = Vec3::new(1.0, 2.0, 3.0);
    let rt = r.apply_inverse(r.apply(v));
    close((rt - v).norm(), 0.0, 1e-12);
    close(wrap_angle(3.0 * PI), PI, 1e-12);
    close(wrap_angle(-PI), PI, 1e-12);
    let t = time_from_ns(-1);
    assert_eq!((t.sec, t.nanosec), (-1, 999_999_999));
}
