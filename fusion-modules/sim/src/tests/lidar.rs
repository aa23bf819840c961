use fusion_msgs::PointCloudView;
use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::{close, sensor};
use crate::geom::{Isometry, Vec3};
use crate::{LidarModel, RayCaster, Scene, rig, sensor_rng};

/// The roof LiDAR's x offset in `base_link`.
const LIDAR_X: f64 = 1.1;

/// Every point of a cloud as (x, y, z, intensity).
fn points(cloud: &fusion_msgs::sensor_msgs::PointCloud2) -> Vec<[f64; 4]> {
    let bytes = fusion_msgs::encode(cloud).unwrap();
    let view = PointCloudView::from_cdr(&bytes).unwrap();
    let mut out = Vec::new();
    view.points::<f64, 4>(["x", "y", "z", "intensity"])
        .unwrap()
        .for_each(|p| out.push(p));
    out
}

#[test]
fn centre_ray_hits_a_box_ahead_at_the_analytic_range() {
    let scene = Scene::single(Class::TRUCK, 20.0, 0.0, 0.0, 0.0);
    let lidar = sensor(rig::LIDAR_TOP);
    let caster = RayCaster::new(&scene, &rig::extrinsics(&lidar), 200.0);
    let hit = caster
        .cast(Vec3::new(1.0, 0.0, 0.0))
        .expect("the truck is hit");
    close(hit.range, 20.0 - 8.0 / 2.0 - LIDAR_X, 1e-9);
    assert_eq!(hit.actor, Some(1));
    close(hit.cos_incidence, 1.0, 1e-12);

    // Turned across the road, the box shows its side.
    let scene = Scene::single(Class::TRUCK, 20.0, 0.0, core::f64::consts::FRAC_PI_2, 0.0);
    let caster = RayCaster::new(&scene, &rig::extrinsics(&lidar), 200.0);
    let hit = caster.cast(Vec3::new(1.0, 0.0, 0.0)).unwrap();
    close(hit.range, 20.0 - 2.5 / 2.0 - LIDAR_X, 1e-9);

    // A car is lower than the roof LiDAR: the level ray passes over it
    // and never meets the ground.
    let scene = Scene::single(Class::CAR, 20.0, 0.0, 0.0, 0.0);
    let caster = RayCaster::new(&scene, &rig::extrinsics(&lidar), 200.0);
    assert_eq!(caster.cast(Vec3::new(1.0, 0.0, 0.0)), None);
    // Beyond the range there is nothing.
    let caster = RayCaster::new(&scene, &rig::extrinsics(&lidar), 10.0);
    assert_eq!(caster.cast(Vec3::new(1.0, 0.0, -0.05)), None);
}

#[test]
fn scan_points_on_the_rear_face_lie_in_its_plane() {
    let scene = Scene::single(Class::TRUCK, 20.0, 0.0, 0.0, 0.0);
    let model = LidarModel::small().ideal();
    let lidar = sensor(rig::LIDAR_TOP);
    let cloud = model.scan(&scene, &lidar, 0, &mut sensor_rng(1, 0, 0));
    assert_eq!(cloud.header.frame_id, "lidar_top");
    let face: Vec<_> = points(&cloud)
        .into_iter()
        .filter(|p| p[1].abs() < 1.0 && p[2] > -1.5 && p[0] < 30.0)
        .collect();
    assert!(face.len() > 20, "{} points on the truck", face.len());
    for p in &face {
        close(p[0], 20.0 - 4.0 - LIDAR_X, 1e-4);
        assert!(p[3] > 0.0 && p[3] <= 255.0);
    }

    // With noise, the face is still there on average.
    let noisy = LidarModel::small().scan(&scene, &lidar, 0, &mut sensor_rng(1, 0, 0));
    let xs: Vec<f64> = points(&noisy)
        .into_iter()
        .filter(|p| p[1].abs() < 1.0 && p[2] > -1.5 && p[0] < 30.0)
        .map(|p| p[0])
        .collect();
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    close(mean, 20.0 - 4.0 - LIDAR_X, 0.02);
}

#[test]
fn ground_points_are_at_ground_height_in_base_link() {
    let lidar = sensor(rig::LIDAR_TOP);
    let pose = Isometry::from_pose(&lidar.pose);
    for slope in [0.0, 0.03] {
        let scene = Scene {
            ground_slope: slope,
            ..Scene::empty()
        };
        let cloud = LidarModel::small()
            .ideal()
            .scan(&scene, &lidar, 0, &mut sensor_rng(1, 0, 0));
        let pts = points(&cloud);
        // Every downward ray within range hits the ground.
        assert!(pts.len() > 10_000, "{} ground points", pts.len());
        for p in pts {
            let b = pose.apply(Vec3::new(p[0], p[1], p[2]));
            close(b.z, slope * b.x, 1e-3);
        }
    }
    // With range noise the error stays within a few sigma.
    let cloud = LidarModel::small().scan(&Scene::empty(), &lidar, 0, &mut sensor_rng(1, 0, 0));
    for p in points(&cloud) {
        let b = pose.apply(Vec3::new(p[0], p[1], p[2]));
        assert!(b.z.abs() < 0.2, "ground point at z = {}", b.z);
    }
}

#[test]
fn a_yawed_offset_lidar_sees_the_same_world() {
    let lidar = rig::lidar(0, "lidar_side", Vec3::new(-0.5, 0.7, 1.2), 1.0);
    let pose = rig::extrinsics(&lidar);
    let scene = Scene::single(Class::TRUCK, 20.0, 0.0, 0.0, 0.0);
    let cloud = LidarModel::small()
        .ideal()
        .scan(&scene, &lidar, 0, &mut sensor_rng(1, 0, 0));
    let mut on_face = 0;
    for p in points(&cloud) {
        let b = pose.apply(Vec3::new(p[0], p[1], p[2]));
        if b.z > 0.05 {
            // Off the ground, a point is on the truck's surface.
            assert!(b.x > 15.99 && b.x < 24.01 && b.y.abs() < 1.26, "{b:?}");
            on_face += usize::from((b.x - 16.0).abs() < 1e-3);
        } else {
            close(b.z, 0.0, 1e-3);
        }
    }
    assert!(on_face > 20);
}

#[test]
fn azimuth_culling_loses_no_hit() {
    let mut scene = Scene::crossing();
    scene
        .actors
        .extend(Scene::highway(3).actors.into_iter().map(|mut a| {
            a.id += 100;
            a.y += 20.0;
            a
        }));
    let model = LidarModel::small().ideal();
    let lidar = sensor(rig::LIDAR_TOP);
    let cloud = points(&model.scan(&scene, &lidar, 0, &mut sensor_rng(0, 0, 0)));
    let caster = RayCaster::new(&scene, &rig::extrinsics(&lidar), model.max_range);
    let mut brute = Vec::new();
    for j in 0..model.azimuth_steps {
        for i in 0..model.beams {
            let dir = Vec3::from_spherical(model.azimuth(j), model.elevation(i));
            if let Some(hit) = caster.cast(dir) {
                brute.push(dir * hit.range);
            }
        }
    }
    assert_eq!(cloud.len(), brute.len());
    for (p, q) in cloud.iter().zip(&brute) {
        close(p[0], q.x, 1e-4);
        close(p[1], q.y, 1e-4);
        close(p[2], q.z, 1e-4);
    }
}

#[test]
fn dropout_and_range_limit_thin_the_cloud() {
    let lidar = sensor(rig::LIDAR_TOP);
    let scene = Scene::crossing();
    let mut rng = Pcg64Mcg::seed_from_u64(5);
    let ideal = LidarModel::small().ideal();
    let full = ideal.scan(&scene, &lidar, 0, &mut rng).width;
    let dropped = LidarModel {
        dropout: 0.5,
        ..ideal.clone()
    }
    .scan(&scene, &lidar, 0, &mut rng)
    .width;
    let ratio = f64::from(dropped) / f64::from(full);
    assert!((0.45..0.55).contains(&ratio), "kept {ratio}");
    let short = LidarModel {
        max_range: 10.0,
        ..ideal
    };
    for p in points(&short.scan(&scene, &lidar, 0, &mut rng)) {
        assert!((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() <= 10.0 + 1e-4);
    }
}

#[test]
fn model_sizes() {
    assert_eq!(LidarModel::vlp128_like().rays(), 128 * 940);
    assert_eq!(LidarModel::small().rays(), 32 * 720);
    let m = LidarModel::small();
    close(m.elevation(0), m.min_elevation, 1e-12);
    close(m.elevation(m.beams - 1), m.max_elevation, 1e-12);
}
