//! Times one `vlp128_like` LiDAR scan (and one whole frame) over a busy
//! scene: `cargo run --release -p fusion-sim --example scan_timing`.

use std::time::Instant;

use fusion_sim::{FrameGenerator, LidarModel, Scene, default_rig, sensor_rng};

fn main() {
    // The crossing plus a shifted highway: about 30 actors.
    let mut scene = Scene::crossing();
    scene
        .actors
        .extend(Scene::highway(1).actors.into_iter().map(|mut a| {
            a.id += 100;
            a.y += 20.0;
            a
        }));
    while scene.actors.len() < 30 {
        let mut more = Scene::highway(scene.actors.len() as u64).actors;
        more.truncate(30 - scene.actors.len());
        for (k, mut a) in more.into_iter().enumerate() {
            a.id = 200 + k as u32;
            a.y -= 20.0;
            scene.actors.push(a);
        }
    }
    let rig = default_rig();
    let model = LidarModel::vlp128_like();
    let mut times = Vec::new();
    let mut points = 0;
    for n in 0..50 {
        let mut rng = sensor_rng(7, n, 0);
        let start = Instant::now();
        let cloud = model.scan(&scene, &rig[0], 0, &mut rng);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        points = cloud.width;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "vlp128_like scan: {} rays, {} actors, {points} points: min {:.2} ms, median {:.2} ms, max {:.2} ms",
        model.rays(),
        scene.actors.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1],
    );

    let mut generator = FrameGenerator::new(scene, rig, model, 7);
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let frame = generator.next(0.1);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        bytes = frame.frame_bytes.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "whole frame (LiDAR + 3 radars + 4 cameras + encoding), {bytes} bytes: median {:.2} ms",
        times[times.len() / 2],
    );
}
