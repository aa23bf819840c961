//! Generated tracking runs for `tests/oracle/eval_oracle.py`, which feeds
//! the same frames to py-motmetrics and compares every figure.

use super::*;
use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use serde_json::json;

const LABELS: [u8; 3] = [Class::CAR, Class::PEDESTRIAN, Class::TRUCK];
const FRAME_NS: i64 = 100_000_000;

/// How one generated run goes wrong.
struct Case {
    name: &'static str,
    seed: u64,
    frames: usize,
    objects: u64,
    /// Side of the square the objects start in, metres.
    area_m: f64,
    threshold_m: f64,
    noise_m: f64,
    miss_probability: f64,
    /// Per frame: how many false positives at most.
    max_false_positives: usize,
    /// Per object and frame: the tracker starts a new id.
    restart_probability: f64,
    /// Per frame: two objects swap their tracker ids.
    swap_probability: f64,
    misclassify_probability: f64,
}

const CASES: [Case; 5] = [
    Case {
        name: "crossing",
        seed: 1,
        frames: 300,
        objects: 10,
        area_m: 40.0,
        threshold_m: 2.0,
        noise_m: 0.4,
        miss_probability: 0.1,
        max_false_positives: 2,
        restart_probability: 0.01,
        swap_probability: 0.05,
        misclassify_probability: 0.1,
    },
    Case {
        name: "dense",
        seed: 2,
        frames: 250,
        objects: 12,
        area_m: 8.0,
        threshold_m: 2.0,
        noise_m: 0.8,
        miss_probability: 0.15,
        max_false_positives: 3,
        restart_probability: 0.02,
        swap_probability: 0.2,
        misclassify_probability: 0.2,
    },
    Case {
        name: "tight-threshold",
        seed: 3,
        frames: 300,
        objects: 8,
        area_m: 15.0,
        threshold_m: 0.5,
        noise_m: 0.3,
        miss_probability: 0.05,
        max_false_positives: 1,
        restart_probability: 0.005,
        swap_probability: 0.05,
        misclassify_probability: 0.05,
    },
    Case {
        name: "sparse-with-empty-frames",
        seed: 4,
        frames: 400,
        objects: 3,
        area_m: 30.0,
        threshold_m: 2.0,
        noise_m: 0.5,
        miss_probability: 0.3,
        max_false_positives: 1,
        restart_probability: 0.02,
        swap_probability: 0.1,
        misclassify_probability: 0.1,
    },
    Case {
        name: "clean",
        seed: 5,
        frames: 200,
        objects: 6,
        area_m: 50.0,
        threshold_m: 2.0,
        noise_m: 0.1,
        miss_probability: 0.0,
        max_false_positives: 0,
        restart_probability: 0.0,
        swap_probability: 0.0,
        misclassify_probability: 0.0,
    },
];

struct Actor {
    id: u64,
    label: u8,
    position: [f64; 2],
    velocity: [f64; 2],
    /// Frames [first, last) it exists in.
    alive: (usize, usize),
    tracker_id: u64,
}

fn gaussian(rng: &mut Pcg64Mcg) -> f64 {
    // Box-Muller; 1 - u keeps the logarithm finite.
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (core::f64::consts::TAU * v).cos()
}

/// The truth and hypothesis frames of one case.
fn generate(case: &Case) -> Vec<(Frame, Frame)> {
    let mut rng = Pcg64Mcg::new(0xe7a1_0000 + u128::from(case.seed));
    let mut next_tracker_id = 1000;
    let mut actors: Vec<Actor> = (1..=case.objects)
        .map(|id| {
            let first = if rng.random::<f64>() < 0.5 {
                0
            } else {
                rng.random_range(0..case.frames)
            };
            let last = rng.random_range(first + 1..=case.frames);
            next_tracker_id += 1;
            Actor {
                id,
                label: LABELS[rng.random_range(0..LABELS.len())],
                position: [
                    rng.random_range(0.0..case.area_m),
                    rng.random_range(0.0..case.area_m),
                ],
                velocity: [rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0)],
                alive: (first, last),
                tracker_id: next_tracker_id,
            }
        })
        .collect();
    let mut frames = Vec::with_capacity(case.frames);
    for f in 0..case.frames {
        let stamp = f as i64 * FRAME_NS;
        for a in &mut actors {
            for k in 0..2 {
                a.position[k] += a.velocity[k] * 0.1;
                // Bounce back into the area so objects keep crossing.
                if !(0.0..=case.area_m).contains(&a.position[k]) {
                    a.velocity[k] = -a.velocity[k];
                }
            }
        }
        let visible: Vec<usize> = (0..actors.len())
            .filter(|&i| (actors[i].alive.0..actors[i].alive.1).contains(&f))
            .collect();
        if visible.len() >= 2 && rng.random::<f64>() < case.swap_probability {
            let a = visible[rng.random_range(0..visible.len())];
            let b = visible[rng.random_range(0..visible.len())];
            let t = actors[a].tracker_id;
            actors[a].tracker_id = actors[b].tracker_id;
            actors[b].tracker_id = t;
        }
        let mut truth = Vec::new();
        let mut hyp = Vec::new();
        for &i in &visible {
            let a = &mut actors[i];
            truth.push(ObjectState {
                id: uuid(a.id),
                label: a.label,
                position: a.position,
                velocity: a.velocity,
            });
            if rng.random::<f64>() < case.restart_probability {
                next_tracker_id += 1;
                a.tracker_id = next_tracker_id;
            }
            if rng.random::<f64>() < case.miss_probability {
                continue;
            }
            let label = if rng.random::<f64>() < case.misclassify_probability {
                LABELS[rng.random_range(0..LABELS.len())]
            } else {
                a.label
            };
            let mut noisy = |x: f64, scale: f64| x + scale * gaussian(&mut rng);
            let position = [
                noisy(a.position[0], case.noise_m),
                noisy(a.position[1], case.noise_m),
            ];
            let velocity = [noisy(a.velocity[0], 0.5), noisy(a.velocity[1], 0.5)];
            hyp.push(ObjectState {
                id: uuid(a.tracker_id),
                label,
                position,
                velocity,
            });
        }
        let false_positives = rng.random_range(0..=case.max_false_positives);
        for _ in 0..false_positives {
            // Near an object (competing with its track) or anywhere; a
            // small pool of ids so some ghosts persist.
            let position = match visible.get(rng.random_range(0..visible.len().max(1))) {
                Some(&i) if rng.random::<f64>() < 0.7 => {
                    let p = actors[i].position;
                    [
                        p[0] + rng.random_range(-2.5..2.5),
                        p[1] + rng.random_range(-2.5..2.5),
                    ]
                }
                _ => [
                    rng.random_range(0.0..case.area_m),
                    rng.random_range(0.0..case.area_m),
                ],
            };
            let id = uuid(5000 + rng.random_range(0..4u64));
            if hyp.iter().all(|h| h.id != id) {
                let label = LABELS[rng.random_range(0..LABELS.len())];
                hyp.push(ObjectState {
                    id,
                    label,
                    position,
                    velocity: [0.0; 2],
                });
            }
        }
        // Message order matters to motmetrics' first step: shuffle it.
        for objects in [&mut truth, &mut hyp] {
            for i in (1..objects.len()).rev() {
                objects.swap(i, rng.random_range(0..=i));
            }
        }
        frames.push((frame(stamp, truth), frame(stamp, hyp)));
    }
    frames
}

fn id_number(id: &[u8; 16]) -> u64 {
    u64::from_be_bytes(id[8..].try_into().unwrap_or_default())
}

fn dump_objects(objects: &[ObjectState]) -> serde_json::Value {
    objects
        .iter()
        .map(|o| {
            json!([
                id_number(&o.id),
                o.label,
                o.position[0],
                o.position[1],
                o.velocity[0],
                o.velocity[1]
            ])
        })
        .collect()
}

#[test]
fn generated_cases_exercise_every_event() {
    for case in &CASES {
        let frames = generate(case);
        assert_eq!(frames.len(), case.frames);
        let config = EvalConfig {
            match_threshold_m: case.threshold_m,
            ..EvalConfig::default()
        };
        let (truth, hyp): (Vec<Frame>, Vec<Frame>) = frames.into_iter().unzip();
        let m = evaluate(truth, hyp, &config).unwrap().overall;
        assert!(m.num_matches > 0, "{}", case.name);
        if case.swap_probability > 0.0 {
            assert!(
                m.num_switches > 0 && m.num_misses > 0 && m.num_false_positives > 0,
                "{}: {m:?}",
                case.name
            );
            assert!(
                m.num_transfer > 0 && m.num_ascend > 0 && m.num_fragmentations > 0,
                "{}: {m:?}",
                case.name
            );
        }
    }
}

/// With `FUSION_EVAL_ORACLE_OUT=path`, writes every case (frames and our
/// report) as one JSON array for `tests/oracle/eval_oracle.py`.
#[test]
fn dump_cases_for_the_python_oracle() {
    let Some(path) = std::env::var_os("FUSION_EVAL_ORACLE_OUT") else {
        return;
    };
    let cases: Vec<serde_json::Value> = CASES
        .iter()
        .map(|case| {
            let frames = generate(case);
            let config = EvalConfig { match_threshold_m: case.threshold_m, ..EvalConfig::default() };
            let dumped: Vec<serde_json::Value> = frames
                .iter()
                .map(|(t, h)| json!({"truth": dump_objects(&t.objects), "hyp": dump_objects(&h.objects)}))
                .collect();
            let (truth, hyp): (Vec<Frame>, Vec<Frame>) = frames.into_iter().unzip();
            let report = evaluate(truth, hyp, &config).unwrap();
            json!({"name": case.name, "threshold": case.threshold_m, "frames": dumped, "report": report})
        })
        .collect();
    std::fs::write(&path, serde_json::to_string(&cases).unwrap()).unwrap();
}
