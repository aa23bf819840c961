use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;

use super::{close, sensor};
use crate::geom::Vec3;
use crate::{CameraModel, Pinhole, Scene, rig, sensor_rng};

#[test]
fn optical_frame_of_a_forward_camera_is_the_ros_one() {
    let q = rig::optical_orientation(0.0);
    for (a, b) in [(q.x, -0.5), (q.y, 0.5), (q.z, -0.5), (q.w, 0.5)] {
        close(a, b, 1e-12);
    }
}

#[test]
fn a_point_straight_ahead_projects_to_the_principal_point() {
    // (camera index, a point on its optical axis in base_link)
    let cases = [
        (rig::CAMERAS[0], Vec3::new(30.0, 0.0, 1.5)),
        (rig::CAMERAS[1], Vec3::new(1.5, 25.0, 1.4)),
        (rig::CAMERAS[2], Vec3::new(1.5, -25.0, 1.4)),
        (rig::CAMERAS[3], Vec3::new(-40.0, 0.0, 1.3)),
    ];
    for (index, p) in cases {
        let cam = Pinhole::from_sensor(&sensor(index));
        let (u, v) = cam.project(p).expect("in front");
        close(u, 960.0, 1e-9);
        close(v, 540.0, 1e-9);
        // Behind the camera nothing projects.
        let behind = cam.pose.translation * 2.0 - p;
        assert_eq!(cam.project(behind), None);
    }
    let front = Pinhole::from_sensor(&sensor(rig::CAMERAS[0]));
    // Left of the axis is left in the image, above is up.
    let (u, v) = front.project(Vec3::new(30.0, 3.0, 4.5)).unwrap();
    close(u, 960.0 - 1000.0 * 3.0 / 28.1, 1e-9);
    close(v, 540.0 - 1000.0 * 3.0 / 28.1, 1e-9);
}

#[test]
fn a_car_ahead_is_detected_by_the_front_camera_only() {
    let scene = Scene::single(Class::CAR, 20.0, 0.0, 0.0, 0.0);
    let model = CameraModel::default().ideal();
    for index in rig::CAMERAS {
        let cam = sensor(index);
        let dets = model.detect(&scene, &cam, 5, &mut sensor_rng(0, 0, index));
        assert_eq!(dets.header.frame_id, cam.frame_id);
        if index != rig::CAMERAS[0] {
            assert!(dets.detections.is_empty(), "camera {index}");
            continue;
        }
        let [d] = &dets.detections[..] else {
            panic!("{:?}", dets.detections)
        };
        let h = &d.results[0].hypothesis;
        assert_eq!(h.class_id, "car");
        assert!((0.6..=0.95).contains(&h.score));
        let b = &d.bbox;
        close(b.center.position.x, 960.0, 1e-6);
        // The rear face, 15.85 m from the camera, bounds the box: 1.9 m
        // wide, from 0.1 m above the camera to 1.5 m below.
        close(b.size_x, 1000.0 * 1.9 / (20.0 - 2.25 - 1.9), 1e-6);
        let top = 540.0 - 1000.0 * (1.6 - 1.5) / (20.0 - 2.25 - 1.9);
        let bottom = 540.0 + 1000.0 * 1.5 / (20.0 - 2.25 - 1.9);
        close(b.center.position.y - b.size_y / 2.0, top, 1e-6);
        close(b.center.position.y + b.size_y / 2.0, bottom, 1e-6);
    }
}

#[test]
fn boxes_are_clipped_and_near_plane_cut() {
    // The parked truck beside the ego fills the left camera's view and
    // reaches behind it.
    let scene = Scene::crossing();
    let cam = Pinhole::from_sensor(&sensor(rig::CAMERAS[1]));
    let truck = scene.actors.iter().find(|a| a.id == 4).unwrap();
    let r = cam.project_box(&scene.corners(truck)).unwrap();
    assert!(r[0] >= 0.0 && r[1] >= 0.0 && r[2] <= 1920.0 && r[3] <= 1080.0);
    assert!(r[2] - r[0] > 1000.0, "{r:?}");
    // Something entirely behind a camera gives no box.
    let front = Pinhole::from_sensor(&sensor(rig::CAMERAS[0]));
    let behind = Scene::single(Class::CAR, -20.0, 0.0, 0.0, 0.0);
    assert_eq!(front.project_box(&behind.corners(&behind.actors[0])), None);
}

#[test]
fn noise_misses_and_false_positives() {
    let scene = Scene::crossing();
    let cam = sensor(rig::CAMERAS[0]);
    let model = CameraModel {
        miss_probability: 0.3,
        false_positive_mean: 1.0,
        ..CameraModel::default()
    };
    let ideal = model.clone().ideal();
    let truth = ideal
        .detect(&scene, &cam, 0, &mut sensor_rng(0, 0, 4))
        .detections
        .len();
    let (mut total, mut runs) = (0, 0);
    for seq in 0..200 {
        let d = model.detect(&scene, &cam, 0, &mut sensor_rng(9, seq, 4));
        for det in &d.detections {
            let b = &det.bbox;
            assert!(b.size_x > 0.0 && b.size_y > 0.0);
            assert!(b.center.position.x >= 0.0 && b.center.position.x <= 1920.0);
        }
        total += d.detections.len();
        runs += 1;
    }
    let mean = total as f64 / f64::from(runs);
    let expected = truth as f64 * 0.7 + 1.0;
    assert!((mean - expected).abs() < 0.4, "{mean} vs {expected}");
}
