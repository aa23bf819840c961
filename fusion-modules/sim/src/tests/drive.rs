//! Drives: traffic that behaves, and a message stream with the rates,
//! order and dropouts it claims.

use std::collections::BTreeMap;

use fusion_abi::SensorKind;
use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;

use crate::actors::Actor;
use crate::drive::{Drive, DriveConfig, DriveMessage, Source};
use crate::lidar::LidarModel;
use crate::rig;
use crate::traffic::{MAX_ACTORS, Scenario, TICK_NS, Traffic};

const S: i64 = 1_000_000_000;

/// A cheap LiDAR, so drives render quickly in debug builds.
fn tiny_lidar() -> LidarModel {
    LidarModel {
        beams: 8,
        azimuth_steps: 180,
        ..LidarModel::small()
    }
}

fn drive(scenario: Scenario, seed: u64, seconds: i64) -> Vec<DriveMessage> {
    let mut config = DriveConfig::new(scenario, seed, seconds * S, rig::default_rig());
    config.lidar = tiny_lidar();
    Drive::new(config).collect()
}

/// Whether two actors' footprints overlap (separating axis test).
fn overlap(a: &Actor, b: &Actor) -> bool {
    let (fa, fb) = (a.footprint(), b.footprint());
    let axes = [
        a.yaw,
        a.yaw + core::f64::consts::FRAC_PI_2,
        b.yaw,
        b.yaw + core::f64::consts::FRAC_PI_2,
    ];
    axes.iter().all(|&t| {
        let (s, c) = t.sin_cos();
        let project = |f: &[(f64, f64); 4]| {
            let p = f.map(|(x, y)| x * c + y * s);
            (
                p.iter().copied().fold(f64::INFINITY, f64::min),
                p.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let ((a0, a1), (b0, b1)) = (project(&fa), project(&fb));
        a0 < b1 && b0 < a1
    })
}

/// Runs `scenario`'s traffic for `seconds`, checking every 100 ms that
/// there are 10 to 40 actors and that no two of them (or an actor and the
/// ego) overlap, but for two pedestrians; returns every actor's track: id → (t, actor).
fn run_traffic(scenario: Scenario, seed: u64, seconds: i64) -> BTreeMap<u32, Vec<(f64, Actor)>> {
    let mut traffic = Traffic::new(scenario, seed);
    let ego = Actor::new(0, Class::CAR, 1.3, 0.0, 0.0, 0.0);
    let mut tracks: BTreeMap<u32, Vec<(f64, Actor)>> = BTreeMap::new();
    for step in 0..seconds * 10 {
        let t = step * 10 * TICK_NS;
        traffic.advance_to(t);
        let scene = traffic.scene_at(t);
        let n = scene.actors.len();
        assert!(
            (10..=MAX_ACTORS).contains(&n),
            "{scenario:?} at {t} ns: {n} actors"
        );
        for (i, a) in scene.actors.iter().enumerate() {
            assert!(
                !overlap(a, &ego),
                "{scenario:?} at {t} ns: actor {} hits the ego: {a:?}",
                a.id
            );
            for b in &scene.actors[i + 1..] {
                // People brush past each other; nothing else may touch.
                if a.label == Class::PEDESTRIAN && b.label == Class::PEDESTRIAN {
                    continue;
                }
                assert!(
                    !overlap(a, b),
                    "{scenario:?} at {t} ns: actors collide:\n{a:?}\n{b:?}"
                );
            }
            tracks
                .entry(a.id)
                .or_default()
                .push((t as f64 * 1e-9, a.clone()));
        }
    }
    tracks
}

#[test]
fn highway_traffic_keeps_lanes_overtakes_and_cuts_in_without_collisions() {
    for seed in [1, 2, 3] {
        let tracks = run_traffic(Scenario::Highway, seed, 60);
        let lane_of = |y: f64| {
            crate::HIGHWAY_LANES
                .iter()
                .position(|l| (l - y).abs() < 0.3)
        };
        // A cut-in: an actor in another lane that ends up in the ego's lane
        // within 50 m ahead.
        let cut_ins = tracks
            .values()
            .filter(|track| {
                let was_beside = track
                    .iter()
                    .any(|(_, a)| matches!(lane_of(a.y), Some(0 | 2)));
                let cut = track
                    .iter()
                    .any(|(_, a)| lane_of(a.y) == Some(1) && (5.0..50.0).contains(&a.x));
                was_beside && cut
            })
            .count();
        assert!(cut_ins >= 2, "seed {seed}: {cut_ins} cut-ins in 60 s");
        // Overtaking: actors pass the ego from behind.
        let overtakes = tracks
            .values()
            .filter(|t| {
                t.first().is_some_and(|(_, a)| a.x < -10.0)
                    && t.last().is_some_and(|(_, a)| a.x > 10.0)
            })
            .count();
        assert!(overtakes >= 3, "seed {seed}: {overtakes} overtakes");
        // Lane keeping: outside lane changes, actors stay on a lane centre.
        let on_lane = tracks
            .values()
            .flatten()
            .filter(|(_, a)| lane_of(a.y).is_some())
            .count();
        let all = tracks.values().map(Vec::len).sum::<usize>();
        assert!(
            on_lane * 10 > all * 8,
            "seed {seed}: {on_lane} of {all} samples on a lane centre"
        );
    }
}

#[test]
fn intersection_traffic_crosses_turns_and_passes_without_collisions() {
    for seed in [1, 2] {
        let tracks = run_traffic(Scenario::UrbanIntersection, seed, 90);
        let turned = tracks
            .values()
            .filter(|t| {
                let (first, last) = (&t[0].1, &t[t.len() - 1].1);
                crate::geom::wrap_angle(last.yaw - first.yaw).abs() > 1.4
            })
            .count();
        assert!(turned >= 2, "seed {seed}: {turned} turns");
        let crossing_pedestrians = tracks
            .values()
            .filter(|t| {
                t[0].1.label == Class::PEDESTRIAN
                    && t.iter()
                        .any(|(_, a)| a.y.abs() < 1.0 && (5.0..9.0).contains(&a.x))
            })
            .count();
        assert!(
            crossing_pedestrians >= 1,
            "seed {seed}: no pedestrian crossed"
        );
        let passing = tracks
            .values()
            .filter(|t| {
                t.iter().any(|(_, a)| {
                    (a.y - 3.5).abs() < 0.5 && a.x.abs() < 3.0 && a.velocity().0 < -3.0
                })
            })
            .count();
        assert!(
            passing >= 3,
            "seed {seed}: {passing} vehicles passed the ego"
        );
        let cross = tracks
            .values()
            .filter(|t| {
                t.iter().any(|(_, a)| {
                    ((a.x - 15.75).abs() < 0.3 || (a.x - 12.25).abs() < 0.3) && a.y.abs() < 2.0
                })
            })
            .count();
        assert!(
            cross >= 3,
            "seed {seed}: {cross} vehicles crossed in front of the ego"
        );
        let classes: std::collections::BTreeSet<u8> =
            tracks.values().map(|t| t[0].1.label).collect();
        for c in [Class::CAR, Class::PEDESTRIAN, Class::BICYCLE] {
            assert!(classes.contains(&c), "seed {seed}: no actor of class {c}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    for scenario in Scenario::ALL {
        let a = drive(scenario, 7, 2);
        assert_eq!(a, drive(scenario, 7, 2), "{scenario:?}");
        assert_ne!(a, drive(scenario, 8, 2), "{scenario:?}");
    }
}

#[test]
fn messages_come_in_receive_order_at_each_sensors_rate() {
    let seconds = 4;
    let messages = drive(Scenario::Highway, 3, seconds);
    let start = crate::frame::DEFAULT_START_NS;
    assert!(
        messages
            .windows(2)
            .all(|w| w[0].log_time_ns <= w[1].log_time_ns),
        "log times go back"
    );
    let mut per_source: BTreeMap<Option<u16>, Vec<&DriveMessage>> = BTreeMap::new();
    for m in &messages {
        assert!(
            m.stamp_ns <= m.log_time_ns,
            "received before its stamp: {:?}",
            m.source
        );
        assert!(m.stamp_ns > start - 5_000_000 && m.stamp_ns < start + seconds * S + 5_000_000);
        let key = match m.source {
            Source::Sensor { index, .. } => Some(index),
            Source::GroundTruth => None,
        };
        per_source.entry(key).or_default().push(m);
    }
    for (source, ms) in &per_source {
        assert!(
            ms.windows(2).all(|w| w[0].stamp_ns < w[1].stamp_ns),
            "{source:?}: stamps go back"
        );
        let kind = match ms[0].source {
            Source::Sensor { kind, .. } => Some(kind),
            Source::GroundTruth => None,
        };
        let hz = match kind {
            Some(SensorKind::Lidar) | None => 10,
            Some(SensorKind::Radar) => 20,
            Some(SensorKind::Camera) => 30,
        };
        let expected = (hz * seconds) as usize;
        assert!(
            ms.len().abs_diff(expected) <= 1,
            "{source:?}: {} messages, expected {expected}",
            ms.len()
        );
        // Periods are regular up to the jitter.
        let period = S / hz;
        for w in ms.windows(2) {
            let d = w[1].stamp_ns - w[0].stamp_ns;
            assert!((d - period).abs() < 7_000_000, "{source:?}: period {d} ns");
        }
    }
    // Ground truth shares the LiDAR's stamps.
    let lidar: Vec<i64> = per_source[&Some(rig::LIDAR_TOP)]
        .iter()
        .map(|m| m.stamp_ns)
        .collect();
    let truth: Vec<i64> = per_source[&None].iter().map(|m| m.stamp_ns).collect();
    assert_eq!(lidar, truth);
}

#[test]
fn sensor_dropout_loses_what_it_says_and_nothing_else() {
    let seconds = 20;
    let messages = drive(Scenario::SensorDropout, 5, seconds);
    let start = crate::frame::DEFAULT_START_NS;
    let frac = |m: &DriveMessage| (m.stamp_ns - start) as f64 / (seconds * S) as f64;
    let present = |index: u16, from: f64, to: f64| {
        messages
            .iter()
            .filter(|m| {
                m.source
                    == Source::Sensor {
                        index,
                        kind: kind_of(index),
                    }
                    && (from..to).contains(&frac(m))
            })
            .count()
    };
    let [front, left, ..] = rig::CAMERAS;
    assert_eq!(
        present(front, 0.11, 0.24),
        0,
        "front camera during its outage"
    );
    assert!(present(front, 0.26, 0.74) > 250, "front camera back");
    assert!(present(left, 0.11, 0.24) > 70, "left camera unaffected");
    assert_eq!(present(left, 0.76, 0.84), 0, "all cameras out");
    assert_eq!(present(rig::RADARS[0], 0.31, 0.44), 0, "front radar out");
    assert!(
        present(rig::RADARS[1], 0.31, 0.44) > 40,
        "other radars unaffected"
    );
    assert_eq!(
        present(rig::LIDAR_TOP, 0.6, 0.6 + 0.9 / seconds as f64),
        0,
        "LiDAR blackout"
    );
    let scans = present(rig::LIDAR_TOP, 0.0, 1.0);
    assert!(
        (180..198).contains(&scans),
        "{scans} scans of 200: blackout and a few lost"
    );
    let truth = messages
        .iter()
        .filter(|m| m.source == Source::GroundTruth)
        .count();
    assert_eq!(truth, 200, "ground truth never drops out");
}

fn kind_of(index: u16) -> SensorKind {
    if index == rig::LIDAR_TOP {
        SensorKind::Lidar
    } else if rig::RADARS.contains(&index) {
        SensorKind::Radar
    } else {
        SensorKind::Camera
    }
}
