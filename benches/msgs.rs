//! Message benchmarks: the zero-copy cloud view and TrackedObjects encoding.
//!
//! `cargo bench --bench msgs`; figures go into BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fusion_msgs::autoware_perception_msgs::{
    ObjectClassification, Shape, TrackedObject, TrackedObjectKinematics, TrackedObjects,
};
use fusion_msgs::cdr::{self, Endianness};
use fusion_msgs::geometry_msgs::{Point32, Polygon};
use fusion_msgs::std_msgs::Header;
use fusion_msgs::{PointCloudBuilder, PointCloudView, PointFieldType};

const LIDAR_POINTS: usize = 120_000;

/// A 120k-point x/y/z/intensity cloud (f32, 16 bytes a point: ~1.9 MB).
fn lidar_cdr() -> Vec<u8> {
    let mut b = PointCloudBuilder::new(&[
        ("x", PointFieldType::F32),
        ("y", PointFieldType::F32),
        ("z", PointFieldType::F32),
        ("intensity", PointFieldType::F32),
    ]);
    b.reserve(LIDAR_POINTS);
    for i in 0..LIDAR_POINTS {
        let a = i as f64 * 0.001;
        b.push(&[
            a.cos() * 20.0,
            a.sin() * 20.0,
            (i % 64) as f64 * 0.05,
            (i % 255) as f64,
        ]);
    }
    fusion_msgs::encode(&b.build(Header {
        frame_id: "lidar_top".into(),
        ..Default::default()
    }))
    .unwrap()
}

fn tracked_objects(n: usize) -> TrackedObjects {
    let object = |i: usize| TrackedObject {
        object_id: fusion_msgs::unique_identifier_msgs::UUID {
            uuid: [i as u8; 16],
        },
        existence_probability: 0.9,
        classification: vec![ObjectClassification {
            label: ObjectClassification::CAR,
            probability: 0.8,
        }],
        kinematics: TrackedObjectKinematics {
            orientation_availability: TrackedObjectKinematics::AVAILABLE,
            ..Default::default()
        },
        shape: Shape {
            r#type: Shape::BOUNDING_BOX,
            footprint: Polygon {
                points: vec![
                    Point32 {
                        x: 1.0,
                        y: 2.0,
                        z: 0.0
                    };
                    4
                ],
            },
            ..Default::default()
        },
    };
    TrackedObjects {
        header: Header {
            frame_id: "base_link".into(),
            ..Default::default()
        },
        objects: (0..n).map(object).collect(),
    }
}

fn pointcloud(c: &mut Criterion) {
    let bytes = lidar_cdr();
    let mut g = c.benchmark_group("pointcloud_120k");
    g.bench_function("view_from_cdr", |b| {
        b.iter(|| PointCloudView::from_cdr(black_box(&bytes)).unwrap().len())
    });

    let view = PointCloudView::from_cdr(&bytes).unwrap();
    g.throughput(Throughput::Bytes(view.data().len() as u64));
    // What a fusion module does first: gather the fields into its own
    // structure-of-arrays buffers. Compare with `baseline_memcpy`.
    g.bench_function("gather_xyzi_into_soa", |b| {
        let readers = ["x", "y", "z", "intensity"].map(|f| view.reader::<f32>(f).unwrap());
        let mut soa = vec![vec![0.0f32; LIDAR_POINTS]; 4];
        b.iter(|| {
            for (r, dst) in readers.iter().zip(soa.iter_mut()) {
                let mut i = 0;
                r.iter().for_each(|v| {
                    dst[i] = v;
                    i += 1;
                });
            }
            black_box(&soa);
        })
    });
    g.bench_function("gather_xyzi_one_pass", |b| {
        let points = view.points::<f32, 4>(["x", "y", "z", "intensity"]).unwrap();
        let mut aos = vec![[0.0f32; 4]; LIDAR_POINTS];
        b.iter(|| {
            let mut i = 0;
            points.for_each(|p| {
                aos[i] = p;
                i += 1;
            });
            black_box(&aos);
        })
    });
    g.bench_function("gather_xyzi_iter", |b| {
        let points = view.points::<f32, 4>(["x", "y", "z", "intensity"]).unwrap();
        let mut aos = vec![[0.0f32; 4]; LIDAR_POINTS];
        b.iter(|| {
            for (dst, p) in aos.iter_mut().zip(points.iter()) {
                *dst = p;
            }
            black_box(&aos);
        })
    });
    g.bench_function("sum_xyzi", |b| {
        let readers = ["x", "y", "z", "intensity"].map(|f| view.reader::<f32>(f).unwrap());
        b.iter(|| {
            let mut sum = 0.0f32;
            for r in &readers {
                sum += r.iter().sum::<f32>();
            }
            black_box(sum)
        })
    });
    g.bench_function("iterate_xyzi_by_index", |b| {
        let readers = ["x", "y", "z", "intensity"].map(|f| view.reader::<f32>(f).unwrap());
        b.iter(|| {
            let mut sum = 0.0f32;
            for i in 0..readers[0].len() {
                for r in &readers {
                    sum += r.get(i).unwrap();
                }
            }
            black_box(sum)
        })
    });
    // The floor: the same bytes summed as f32 with no view in between, in
    // the same serial order (float addition does not vectorise).
    g.bench_function("baseline_sum_raw_f32", |b| {
        b.iter(|| {
            let sum: f32 = black_box(view.data())
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .sum();
            black_box(sum)
        })
    });
    // Memory bandwidth on this machine: copying the point data.
    g.bench_function("baseline_memcpy", |b| {
        let mut dst = vec![0u8; view.data().len()];
        b.iter(|| dst.copy_from_slice(black_box(view.data())))
    });
    g.finish();
}

fn tracked(c: &mut Criterion) {
    let msg = tracked_objects(100);
    let bytes = fusion_msgs::encode(&msg).unwrap();
    let mut g = c.benchmark_group("tracked_objects_100");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode_into_reused_buffer", |b| {
        let mut buf = Vec::with_capacity(bytes.len());
        b.iter(|| cdr::encode_into(black_box(&msg), Endianness::Little, &mut buf).unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| fusion_msgs::decode::<TrackedObjects>(black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, pointcloud, tracked);
criterion_main!(benches);
