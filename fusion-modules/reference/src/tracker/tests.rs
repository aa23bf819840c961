//! Tracker tests.

use super::state::{HEADER_LEN, TRACK_LEN};
use super::*;
use crate::detection::source;
use crate::lcg::Lcg;

const STEP: i64 = 100_000_000;

fn det(x: f64, y: f64) -> Detection {
    Detection {
        x,
        y,
        z: 0.8,
        length: 4.5,
        width: 1.9,
        height: 1.6,
        yaw: 0.0,
        yaw_sign_known: false,
        position_variance: 0.04,
        label: ObjectClassification::CAR,
        label_probability: 0.9,
        radial: None,
        sources: source::LIDAR,
    }
}

fn published(tr: &Tracker) -> Vec<&Track> {
    tr.tracks().filter(|t| t.is_published()).collect()
}

fn nearest(tr: &Tracker, x: f64, y: f64) -> u64 {
    published(tr)
        .into_iter()
        .min_by(|a, b| {
            let da = (a.x() - x).powi(2) + (a.y() - y).powi(2);
            let db = (b.x() - x).powi(2) + (b.y() - y).powi(2);
            da.total_cmp(&db)
        })
        .expect("a published track")
        .id
}

/// Runs a target at (20, 5) + t (5, -1) for 20 frames at 10 Hz with
/// position noise `sigma`; returns the track.
fn constant_velocity(params: &Params, sigma: f64, seed: u64) -> Track {
    let mut tr = Tracker::new(params);
    let mut rng = Lcg(seed);
    for k in 0..20 {
        let t = k as f64 * 0.1;
        let mut d = det(
            20.0 + 5.0 * t + sigma * rng.normal(),
            5.0 - t + sigma * rng.normal(),
        );
        d.position_variance = sigma * sigma;
        tr.update(k * STEP, &[d]);
    }
    let tracks: Vec<_> = tr.tracks().cloned().collect();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].status, TrackStatus::Confirmed);
    tracks[0].clone()
}

#[test]
fn constant_velocity_converges() {
    // A constant-velocity target deserves a small process noise: with
    // it the velocity error after 2 s has a standard deviation of about
    // 0.11 m/s, so 0.3 m/s holds for every seed. (With the default
    // process_accel of 2 it is about 0.35 m/s; see the next test.)
    let params = Params {
        process_accel: 0.1,
        ..Params::default()
    };
    for seed in 1..=10 {
        let t = constant_velocity(&params, 0.1, seed);
        assert!((t.vx() - 5.0).abs() < 0.3, "seed {seed}: vx {}", t.vx());
        assert!((t.vy() + 1.0).abs() < 0.3, "seed {seed}: vy {}", t.vy());
        assert_eq!(t.label().0, ObjectClassification::CAR);
        assert!((t.length.value - 4.5).abs() < 1e-9);
    }
}

#[test]
fn velocity_error_agrees_with_its_covariance() {
    // Default tuning, LiDAR-like noise: the error stays within what the
    // filter reports (NEES, 2 dof, averaged over seeds).
    let params = Params::default();
    let mut nees = 0.0;
    let seeds = 30;
    for seed in 1..=seeds {
        let t = constant_velocity(&params, 0.3, seed);
        let e = Vector2::new(t.vx() - 5.0, t.vy() + 1.0);
        let p = t.covariance.fixed_view::<2, 2>(2, 2).into_owned();
        let nis = (e.transpose() * inverse2(&p).unwrap() * e)[0];
        assert!(
            nis < 13.8,
            "seed {seed}: error {e:?} far outside covariance"
        );
        nees += nis;
    }
    let mean = nees / f64::from(seeds as u32);
    assert!(mean < 2.0, "mean NEES {mean}: the filter is overconfident");
}

#[test]
fn crossing_targets_keep_their_ids() {
    let mut tr = Tracker::new(&Params::default());
    let mut rng = Lcg(2);
    let a = |t: f64| (8.0 * t, -6.0 + 3.0 * t);
    let b = |t: f64| (8.0 * t, 6.0 - 3.0 * t);
    let mut ids = None;
    for k in 0..45 {
        let t = k as f64 * 0.1;
        let (ax, ay) = a(t);
        let (bx, by) = b(t);
        let dets = [
            det(ax + 0.1 * rng.normal(), ay + 0.1 * rng.normal()),
            det(bx + 0.1 * rng.normal(), by + 0.1 * rng.normal()),
        ];
        tr.update(k * STEP, &dets);
        if k == 5 {
            ids = Some((nearest(&tr, ax, ay), nearest(&tr, bx, by)));
        }
        if k > 5 {
            let (ida, idb) = ids.unwrap();
            assert_ne!(ida, idb);
            assert_eq!(published(&tr).len(), 2, "frame {k}");
            if k != 20 {
                // At the crossing itself both are at one spot.
                assert_eq!(nearest(&tr, ax, ay), ida, "frame {k}");
                assert_eq!(nearest(&tr, bx, by), idb, "frame {k}");
            }
        }
    }
    let (ida, _) = ids.unwrap();
    let ta = tr.tracks().find(|t| t.id == ida).unwrap();
    assert!((ta.vy() - 3.0).abs() < 0.5, "vy {}", ta.vy());
}

#[test]
fn lost_target_coasts_then_is_deleted() {
    let params = Params::default();
    let mut tr = Tracker::new(&params);
    for k in 0..10 {
        tr.update(k * STEP, &[det(10.0 + k as f64 * 0.5, 0.0)]);
    }
    let mut objects = Vec::new();
    let mut coasted = 0;
    let mut k = 10;
    while tr.tracks().next().is_some() {
        tr.update(k * STEP, &[]);
        k += 1;
        if let Some(t) = tr.tracks().next() {
            assert_eq!(t.status, TrackStatus::Coasting);
            tr.write_objects(&mut objects);
            assert_eq!(objects.len(), 1);
            coasted += 1;
        }
        assert!(k < 10 + params.max_coast_frames as i64 + 2, "never deleted");
    }
    assert!(coasted >= 1);
}

#[test]
fn coasting_is_bounded_by_max_coast_frames() {
    // Without false alarms a miss barely dents existence, so only the
    // frame count deletes the track.
    let params = Params {
        max_coast_frames: 3.0,
        false_alarm_probability: 0.0,
        detection_probability: 0.5,
        ..Params::default()
    };
    let mut tr = Tracker::new(&params);
    for k in 0..10 {
        tr.update(k * STEP, &[det(10.0, 0.0)]);
    }
    for k in 10..13 {
        tr.update(k * STEP, &[]);
        assert_eq!(tr.tracks().count(), 1, "frame {k}");
    }
    tr.update(13 * STEP, &[]);
    assert_eq!(tr.tracks().count(), 0);
}

#[test]
fn confirmed_only_after_confirm_hits() {
    for hits in [1u32, 3, 5] {
        let params = Params {
            confirm_hits: f64::from(hits),
            ..Params::default()
        };
        let mut tr = Tracker::new(&params);
        let mut objects = Vec::new();
        for k in 0..hits + 1 {
            tr.update(i64::from(k) * STEP, &[det(10.0, 0.0)]);
            tr.write_objects(&mut objects);
            let t = tr.tracks().next().unwrap();
            assert_eq!(t.hits, k + 1);
            if k + 1 < hits {
                assert_eq!(t.status, TrackStatus::Tentative);
                assert!(objects.is_empty());
            } else {
                assert_eq!(t.status, TrackStatus::Confirmed);
                assert_eq!(objects.len(), 1);
            }
        }
    }
    // A tentative track that misses is gone at once.
    let mut tr = Tracker::new(&Params::default());
    tr.update(0, &[det(10.0, 0.0)]);
    tr.update(STEP, &[det(10.0, 0.0)]);
    tr.update(2 * STEP, &[]);
    assert_eq!(tr.tracks().count(), 0);
}

#[test]
fn time_going_backwards_or_jumping_resets() {
    let mut tr = Tracker::new(&Params::default());
    for k in 0..5 {
        tr.update(1_000 * STEP + k * STEP, &[det(10.0, 0.0)]);
    }
    let first = tr.tracks().next().unwrap().id;
    assert_eq!(tr.tracks().next().unwrap().status, TrackStatus::Confirmed);

    // Same stamp: no prediction, one more hit.
    let before = tr.tracks().next().unwrap().covariance;
    tr.update(1_004 * STEP, &[]);
    let t = tr.tracks().next().unwrap();
    assert_eq!(t.covariance, before);
    assert_eq!(t.status, TrackStatus::Coasting);

    tr.update(0, &[det(10.0, 0.0)]);
    let tracks: Vec<_> = tr.tracks().collect();
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].id > first);
    assert_eq!(tracks[0].status, TrackStatus::Tentative);

    for k in 1..4 {
        tr.update(k * STEP, &[det(10.0, 0.0)]);
    }
    let confirmed = tr.tracks().next().unwrap().id;
    tr.update(3 * STEP + 5_000_000_001, &[det(10.0, 0.0)]);
    let t = tr.tracks().next().unwrap();
    assert!(t.id > confirmed);
    assert_eq!(t.status, TrackStatus::Tentative);

    // Extreme stamps must not overflow.
    tr.update(i64::MIN, &[]);
    tr.update(i64::MAX, &[det(1.0, 1.0)]);
    assert_eq!(tr.tracks().count(), 1);
}

/// A scene with several classes, radar and yaw, for state tests.
fn scene(k: i64, rng: &mut Lcg) -> Vec<Detection> {
    let t = k as f64 * 0.1;
    let mut out = Vec::new();
    let mut a = det(10.0 + 6.0 * t, 3.0);
    a.radial = Some(Radial {
        speed: 6.0,
        los_x: 1.0,
        los_y: 0.0,
        variance: 0.09,
    });
    a.sources |= source::RADAR;
    out.push(a);
    let mut b = det(-5.0, -4.0 + 1.2 * t);
    b.label = ObjectClassification::PEDESTRIAN;
    b.yaw = 1.5;
    b.length = 0.6;
    b.width = 0.6;
    out.push(b);
    let mut c = det(30.0 + 0.1 * rng.normal(), -8.0);
    c.label = ObjectClassification::UNKNOWN;
    c.label_probability = 0.3;
    c.yaw = -2.0;
    c.yaw_sign_known = true;
    if k % 4 != 3 {
        out.push(c);
    }
    out
}

#[test]
fn snapshot_restore_is_exact() {
    let params = Params::default();
    let mut tr = Tracker::new(&params);
    let mut rng = Lcg(3);
    for k in 0..15 {
        tr.update(k * STEP, &scene(k, &mut rng));
    }
    let mut bytes = Vec::new();
    tr.snapshot(&mut bytes);
    assert_eq!(bytes.len(), HEADER_LEN + tr.tracks().count() * TRACK_LEN);
    let mut restored = Tracker::new(&params);
    restored.restore(&bytes).unwrap();

    let (mut a, mut b) = (Vec::new(), Vec::new());
    tr.write_objects(&mut a);
    restored.write_objects(&mut b);
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    let mut again = Vec::new();
    restored.snapshot(&mut again);
    assert_eq!(bytes, again);

    // The restored tracker carries on exactly as the original.
    let mut rng2 = Lcg(rng.0);
    for k in 15..30 {
        tr.update(k * STEP, &scene(k, &mut rng));
        restored.update(k * STEP, &scene(k, &mut rng2));
        tr.write_objects(&mut a);
        restored.write_objects(&mut b);
        assert_eq!(a, b);
    }
    let new_tracks = |t: &Tracker| t.tracks().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(new_tracks(&tr), new_tracks(&restored));
}

#[test]
fn restore_rejects_hostile_bytes_without_panicking() {
    let params = Params::default();
    let mut tr = Tracker::new(&params);
    let mut rng = Lcg(4);
    for k in 0..10 {
        tr.update(k * STEP, &scene(k, &mut rng));
    }
    let mut good = Vec::new();
    tr.snapshot(&mut good);
    let mut target = Tracker::new(&params);
    target.update(0, &[det(1.0, 2.0)]);
    let mut untouched = Vec::new();
    target.snapshot(&mut untouched);

    for len in 0..good.len() {
        assert!(target.restore(&good[..len]).is_err(), "truncated at {len}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(target.restore(&longer).is_err());
    for len in [0, 1, 7, 8, 29, 100, 366, 395, 5000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        assert!(target.restore(&bytes).is_err());
        // A valid header in front of garbage.
        let mut bytes = bytes;
        bytes.splice(0..bytes.len().min(8), STATE_SCHEMA.to_le_bytes());
        assert!(target.restore(&bytes).is_err());
    }
    let mut now = Vec::new();
    target.snapshot(&mut now);
    assert_eq!(now, untouched, "a failed restore changed the tracker");

    // Corrupt fields one at a time: every result is an error or a
    // tracker that keeps working.
    let huge_count = {
        let mut b = good.clone();
        b[25..29].copy_from_slice(&u32::MAX.to_le_bytes());
        b
    };
    assert!(target.restore(&huge_count).is_err());
    for i in 0..good.len() {
        for v in [0x00, 0xff, 0x7f, good[i] ^ 0x80] {
            let mut bytes = good.clone();
            bytes[i] = v;
            let mut t = Tracker::new(&params);
            if t.restore(&bytes).is_ok() {
                t.update(10 * STEP, &scene(10, &mut rng));
                let mut objects = Vec::new();
                t.write_objects(&mut objects);
            }
        }
    }
    // A NaN in the first covariance element, or an asymmetric
    // covariance, is rejected.
    let at = HEADER_LEN + 22 + 8 * 4;
    let mut bytes = good.clone();
    bytes[at..at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    assert_eq!(
        target.restore(&bytes),
        Err("tracker state: number not finite")
    );
    let mut bytes = good.clone();
    bytes[at + 8..at + 16].copy_from_slice(&1.0e-3_f64.to_le_bytes());
    assert!(target.restore(&bytes).is_err());
}

#[test]
fn write_objects_reuses_capacity() {
    let mut tr = Tracker::new(&Params::default());
    let mut rng = Lcg(5);
    for k in 0..10 {
        tr.update(k * STEP, &scene(k, &mut rng));
    }
    let mut objects = Vec::new();
    tr.write_objects(&mut objects);
    let ptrs = |o: &Vec<TrackedObject>| {
        let inner: Vec<_> = o
            .iter()
            .map(|o| (o.classification.as_ptr(), o.shape.footprint.points.as_ptr()))
            .collect();
        (o.as_ptr(), inner)
    };
    let before = ptrs(&objects);
    tr.update(10 * STEP, &scene(10, &mut rng));
    tr.write_objects(&mut objects);
    assert_eq!(objects.len(), before.1.len());
    assert_eq!(ptrs(&objects), before);
    // Shrinking keeps the outer buffer too.
    tr.update(11 * STEP, &scene(11, &mut rng));
    tr.reset();
    tr.write_objects(&mut objects);
    assert!(objects.is_empty());
    assert_eq!(objects.as_ptr(), before.0);
}

#[test]
fn object_fields_follow_autoware_conventions() {
    let params = Params::default();
    let mut tr = Tracker::new(&params);
    // Moving along +y with the box axis given backwards (sign unknown).
    for k in 0..15 {
        let mut d = det(5.0, k as f64 * 0.5);
        d.yaw = -FRAC_PI_2;
        tr.update(k * STEP, &[d]);
    }
    let mut objects = Vec::new();
    tr.write_objects(&mut objects);
    let o = &objects[0];
    let k = &o.kinematics;
    assert_eq!(
        k.orientation_availability,
        TrackedObjectKinematics::AVAILABLE
    );
    let q = &k.pose_with_covariance.pose.orientation;
    let yaw = 2.0 * libm::atan2(q.z, q.w);
    assert!((wrap_pi(yaw - FRAC_PI_2)).abs() < 0.05, "yaw {yaw}");
    assert!((k.twist_with_covariance.twist.linear.x - 5.0).abs() < 0.3);
    assert!(k.twist_with_covariance.twist.linear.y.abs() < 0.3);
    assert!(!k.is_stationary);
    let c = &k.pose_with_covariance.covariance;
    assert!(c[0] > 0.0 && c[7] > 0.0 && c[14] > 0.0 && c[35] > 0.0);
    assert_eq!(c[21], UNMODELLED_VARIANCE);
    let tc = &k.twist_with_covariance.covariance;
    // Lateral uncertainty along world x, longitudinal along world y.
    let t = tr.tracks().next().unwrap();
    assert!((tc[0] - t.covariance[(3, 3)]).abs() < 1e-9);
    assert!((tc[7] - t.covariance[(2, 2)]).abs() < 1e-9);
    assert_eq!(o.classification.len(), 1);
    assert_eq!(o.classification[0].label, ObjectClassification::CAR);
    assert_eq!(o.shape.r#type, Shape::BOUNDING_BOX);
    assert_eq!(o.shape.dimensions.x, 4.5);
    let p = &o.shape.footprint.points;
    assert_eq!(p.len(), 4);
    assert_eq!((p[0].x, p[0].y, p[0].z), (2.25, 0.95, -0.8));
    assert_eq!((p[2].x, p[2].y), (-2.25, -0.95));
    assert_eq!(o.object_id.uuid, uuid_of(t.id));

    // A parked box: stationary, front unknown.
    let mut tr = Tracker::new(&params);
    for k in 0..10 {
        tr.update(k * STEP, &[det(5.0, 5.0)]);
    }
    tr.write_objects(&mut objects);
    let k = &objects[0].kinematics;
    assert!(k.is_stationary);
    assert_eq!(
        k.orientation_availability,
        TrackedObjectKinematics::SIGN_UNKNOWN
    );
}

#[test]
fn radar_initialises_velocity_along_line_of_sight() {
    let mut tr = Tracker::new(&Params::default());
    let mut d = det(40.0, 30.0);
    d.radial = Some(Radial {
        speed: -10.0,
        los_x: 0.8,
        los_y: 0.6,
        variance: 0.09,
    });
    tr.update(0, &[d]);
    let t = tr.tracks().next().unwrap();
    let along = t.vx() * 0.8 + t.vy() * 0.6;
    let across = -t.vx() * 0.6 + t.vy() * 0.8;
    assert!((along + 10.0).abs() < 0.05, "along {along}");
    assert!(across.abs() < 1e-9);
    // Across the line of sight it is still unknown.
    let p = &t.covariance;
    let var_across = 0.36 * p[(2, 2)] - 0.96 * p[(2, 3)] + 0.64 * p[(3, 3)];
    assert!((var_across - INITIAL_VELOCITY_VARIANCE).abs() < 1e-6);
}

#[test]
fn class_histogram_keeps_known_labels() {
    let mut tr = Tracker::new(&Params::default());
    let mut d = det(10.0, 0.0);
    d.label = ObjectClassification::UNKNOWN;
    d.label_probability = 0.5;
    tr.update(0, &[d]);
    assert_eq!(tr.tracks().next().unwrap().label(), (0, 1.0));
    let mut cam = d;
    cam.label = ObjectClassification::BICYCLE;
    cam.label_probability = 0.9;
    tr.update(STEP, &[cam]);
    for k in 2..20 {
        tr.update(k * STEP, &[d]);
    }
    assert_eq!(
        tr.tracks().next().unwrap().label(),
        (ObjectClassification::BICYCLE, 1.0)
    );
    cam.label = ObjectClassification::MOTORCYCLE;
    for k in 20..23 {
        tr.update(k * STEP, &[cam]);
    }
    let (label, p) = tr.tracks().next().unwrap().label();
    assert_eq!(label, ObjectClassification::MOTORCYCLE);
    assert!(p > 0.5 && p < 1.0);
}

#[test]
fn uuids_are_version_8_and_distinct() {
    let mut seen: Vec<[u8; 16]> = (1..5000).map(uuid_of).collect();
    for u in &seen {
        assert_eq!(u[6] >> 4, 8);
        assert_eq!(u[8] >> 6, 0b10);
    }
    assert_eq!(uuid_of(42), uuid_of(42));
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 4999);
}

#[test]
fn full_table_keeps_the_most_credible_candidates() {
    let mut tr = Tracker::new(&Params::default());
    let mut dets = Vec::new();
    for i in 0..300 {
        let mut d = det(f64::from(i % 20) * 10.0, f64::from(i / 20) * 10.0);
        if i >= 250 {
            d.sources |= source::RADAR;
        }
        dets.push(d);
    }
    tr.update(0, &dets);
    assert_eq!(tr.tracks().count(), MAX_TRACKS);
    assert_eq!(tr.dropped_candidates(), 44);
    let radar = tr
        .tracks()
        .filter(|t| t.x() == dets[299].x && t.y() == dets[299].y)
        .count();
    assert_eq!(radar, 1);
    // Ids ascend and follow detection order.
    let ids: Vec<u64> = tr.tracks().map(|t| t.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let many = vec![det(0.0, 0.0); MAX_DETECTIONS + 10];
    let mut tr = Tracker::new(&Params::default());
    tr.update(0, &many);
    assert_eq!(tr.dropped_detections(), 10);
}

#[test]
fn bad_detections_are_ignored() {
    let mut tr = Tracker::new(&Params::default());
    let mut bad = det(f64::NAN, 0.0);
    bad.radial = Some(Radial {
        speed: f64::NAN,
        los_x: 0.0,
        los_y: 0.0,
        variance: -1.0,
    });
    let mut odd = det(3.0, 4.0);
    odd.z = f64::INFINITY;
    odd.length = -1.0;
    odd.yaw = f64::NAN;
    odd.position_variance = f64::NAN;
    odd.label = 200;
    odd.label_probability = f32::NAN;
    odd.radial = bad.radial;
    for k in 0..5 {
        tr.update(k * STEP, &[bad, odd, det(f64::INFINITY, 1.0)]);
    }
    let tracks: Vec<_> = tr.tracks().collect();
    assert_eq!(tracks.len(), 1);
    assert!(tracks[0].is_sound());
    let mut objects = Vec::new();
    tr.write_objects(&mut objects);
    assert_eq!(objects[0].classification[0].label, 0);
}

#[test]
fn steady_state_does_not_grow_buffers() {
    let mut tr = Tracker::new(&Params::default());
    let mut rng = Lcg(6);
    let mut objects = Vec::new();
    let mut bytes = Vec::new();
    let caps = |t: &Tracker| {
        [
            t.tracks.capacity(),
            t.det_variance.capacity(),
            t.row_gated.capacity(),
            t.col_gated.capacity(),
            t.rows.capacity(),
            t.cols.capacity(),
            t.cost.capacity(),
            t.row_to_col.capacity(),
            t.track_det.capacity(),
            t.det_used.capacity(),
            t.keep.capacity(),
            t.candidates.capacity(),
        ]
    };
    let initial = caps(&tr);
    for k in 0..60 {
        tr.update(k * STEP, &scene(k, &mut rng));
        tr.write_objects(&mut objects);
        tr.snapshot(&mut bytes);
    }
    assert_eq!(caps(&tr), initial);
}

#[test]
fn runs_are_deterministic() {
    let run = || {
        let mut tr = Tracker::new(&Params::default());
        let mut rng = Lcg(7);
        let mut bytes = Vec::new();
        for k in 0..40 {
            tr.update(k * STEP, &scene(k, &mut rng));
        }
        tr.snapshot(&mut bytes);
        bytes
    };
    assert_eq!(run(), run());
}
