use fusion_abi::{Frame, SensorKind};
use fusion_msgs::fusion_interfaces::{ModuleConfig, Parameter};
use fusion_msgs::radar_msgs::RadarScan;
use fusion_msgs::vision_msgs::Detection2DArray;
use fusion_msgs::{PointCloudView, decode};

use crate::{FrameGenerator, LidarModel, Scene, default_rig, frame, module_config};

fn generator(seed: u64) -> FrameGenerator {
    FrameGenerator::new(Scene::crossing(), default_rig(), LidarModel::small(), seed)
}

#[test]
fn frames_parse_back_with_one_slot_per_sensor() {
    let mut g = generator(1);
    let start = g.stamp_ns();
    for n in 0..3u64 {
        let f = g.next(0.1);
        assert_eq!(f.sequence, n);
        assert_eq!(f.stamp_ns, start + (n as i64 + 1) * 100_000_000);
        let parsed = Frame::parse(&f.frame_bytes).unwrap();
        assert_eq!(parsed.header.sequence, n);
        assert_eq!(parsed.header.trigger_stamp_ns, f.stamp_ns);
        assert!(!parsed.header.is_degraded());
        assert_eq!(parsed.slot_count(), 8);
        let rig = default_rig();
        for (slot, sensor) in parsed.slots().zip(&rig) {
            assert_eq!(slot.sensor_index, sensor.index);
            assert_eq!(slot.kind as u8, sensor.kind);
            assert_eq!(slot.stamp_ns, f.stamp_ns);
            let frame_id = match slot.kind {
                SensorKind::Lidar => {
                    let cloud = PointCloudView::from_cdr(slot.payload).unwrap();
                    assert!(cloud.width > 10_000);
                    cloud.frame_id.to_string()
                }
                SensorKind::Radar => decode::<RadarScan>(slot.payload).unwrap().header.frame_id,
                SensorKind::Camera => {
                    decode::<Detection2DArray>(slot.payload)
                        .unwrap()
                        .header
                        .frame_id
                }
            };
            assert_eq!(frame_id, sensor.frame_id);
        }
        assert_eq!(f.ground_truth.objects.len(), 8);
    }
    // The front camera sees the crossing cars.
    let f = g.next(0.0);
    let parsed = Frame::parse(&f.frame_bytes).unwrap();
    let front = decode::<Detection2DArray>(parsed.slot(4).unwrap().payload).unwrap();
    assert!(front.detections.len() >= 2);
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let run = |seed| {
        let mut g = generator(seed);
        (0..3).map(|_| g.next(0.1)).collect::<Vec<_>>()
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert!(a == b);
    for (x, z) in a.iter().zip(&c) {
        assert!(x.frame_bytes != z.frame_bytes);
        // The world is the same; only the sensor noise differs.
        assert_eq!(x.ground_truth, z.ground_truth);
    }
    // A frame's noise does not depend on the frames before it: render
    // frame 2 from a scene moved there without generating frames 0 and 1.
    let mut later = generator(11).starting_at(a[2].stamp_ns);
    for _ in 0..3 {
        later.scene.advance(1e8 * 1e-9);
    }
    let messages = later.messages(2);
    assert!(frame(2, a[2].stamp_ns, &messages) == a[2].frame_bytes);
}

#[test]
fn module_config_lists_the_rig() {
    let rig = default_rig();
    let params = vec![Parameter {
        name: "gate".into(),
        value: 2.5,
    }];
    let config = module_config(&rig, params.clone());
    assert_eq!(config.output_frame_id, "base_link");
    assert_eq!(config.sensors, rig);
    assert_eq!(config.parameters, params);
    let bytes = fusion_msgs::encode(&config).unwrap();
    assert_eq!(decode::<ModuleConfig>(&bytes).unwrap(), config);
    let kinds: Vec<u8> = rig.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [1, 2, 2, 2, 3, 3, 3, 3]);
    for s in &rig[4..] {
        assert_eq!((s.intrinsics.width, s.intrinsics.height), (1920, 1080));
    }
}
