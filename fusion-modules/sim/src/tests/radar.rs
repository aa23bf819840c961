use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;

use super::{close, sensor};
use crate::geom::Vec3;
use crate::radar::doppler_velocity;
use crate::{Actor, RadarModel, Scene, rig, sensor_rng};

fn scan(
    scene: &Scene,
    index: u16,
    model: &RadarModel,
) -> Vec<fusion_msgs::radar_msgs::RadarReturn> {
    model
        .scan(scene, &sensor(index), 0, &mut sensor_rng(3, 0, index))
        .returns
}

#[test]
fn an_actor_driving_away_has_positive_doppler() {
    let model = RadarModel::default().ideal();
    let away = Scene::single(Class::CAR, 30.0, 0.0, 0.0, 5.0);
    let returns = scan(&away, rig::RADARS[0], &model);
    assert!(!returns.is_empty());
    for r in &returns {
        assert!(
            r.doppler_velocity > 4.9 && r.doppler_velocity <= 5.0,
            "{r:?}"
        );
        // The rear face, 30 - 2.25 - 3.8 m ahead of the radar.
        assert!(r.range >= 23.95 && r.range < 24.1, "{r:?}");
        assert!(r.azimuth.abs() < 0.05 && r.elevation.abs() < 0.1, "{r:?}");
    }
    let towards = Scene::single(Class::CAR, 30.0, 0.0, core::f64::consts::PI, 5.0);
    for r in scan(&towards, rig::RADARS[0], &model) {
        assert!(r.doppler_velocity < -4.9, "{r:?}");
    }
    // Crossing the line of sight: no radial speed at the centre.
    let crossing = Actor::new(1, Class::CAR, 30.0, 0.0, core::f64::consts::FRAC_PI_2, 5.0);
    close(
        doppler_velocity(
            &crossing,
            Vec3::new(30.0, 0.0, 0.5),
            Vec3::new(3.8, 0.0, 0.5),
        ),
        0.0,
        1e-12,
    );
}

#[test]
fn returns_are_in_the_radar_frame_and_field_of_view() {
    let model = RadarModel::default().ideal();
    // 45° to the front left: straight ahead of the front-left radar.
    let scene = Scene::single(Class::TRUCK, 23.5, 22.8, 0.0, 0.0);
    let returns = scan(&scene, rig::RADARS[1], &model);
    assert!((2..=4).contains(&returns.len()), "{returns:?}");
    for r in &returns {
        assert!(r.azimuth.abs() < 0.2, "{r:?}");
        assert!(r.range > 25.0 && r.range < 35.0, "{r:?}");
        close(f64::from(r.doppler_velocity), 0.0, 1e-6);
    }
    // The front-right radar (-45°) does not see it, nor does any radar
    // see a car behind the ego.
    assert!(scan(&scene, rig::RADARS[2], &model).is_empty());
    let behind = Scene::single(Class::CAR, -20.0, 0.0, 0.0, 0.0);
    for index in rig::RADARS {
        assert!(scan(&behind, index, &model).is_empty());
    }
}

#[test]
fn clutter_and_misses() {
    let scene = Scene::crossing();
    let model = RadarModel {
        clutter_mean: 3.0,
        detection_probability: 0.5,
        ..RadarModel::default()
    };
    let ideal = RadarModel {
        clutter_mean: 0.0,
        detection_probability: 1.0,
        ..model.clone()
    };
    let (mut with, mut without) = (0usize, 0usize);
    for seq in 0..300 {
        let radar = sensor(rig::RADARS[0]);
        let r = model
            .scan(&scene, &radar, 0, &mut sensor_rng(1, seq, 1))
            .returns;
        assert!(r.windows(2).all(|w| w[0].range <= w[1].range));
        for ret in &r {
            assert!(f64::from(ret.azimuth.abs()) <= 60f64.to_radians() + 0.02);
            assert!(ret.range <= 200.5);
        }
        with += r.len();
        without += ideal
            .scan(&scene, &radar, 0, &mut sensor_rng(1, seq, 1))
            .returns
            .len();
    }
    let expected = without as f64 / 300.0 * 0.5 + 3.0;
    let mean = with as f64 / 300.0;
    assert!((mean - expected).abs() < 0.5, "{mean} vs {expected}");
}
