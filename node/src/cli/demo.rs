//! `fusion-node demo`: the whole product in one process, on nothing but
//! this binary. The node runs on the default launch file (embedded in the
//! binary, like the reference module) exactly as `run` runs it, and the
//! sample drive (`recordings/`) is replayed live into it, restamped to
//! now, through a second zenoh session: two embedded peers on loopback,
//! multicast scouting off, no router (`--simulate` feeds the live
//! simulator instead). Once a second a status line shows frames, tracked
//! objects, latency and misses; at the end come the node's summary, the
//! tracking accuracy of what it published against the drive's ground
//! truth, and where its logs are.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Args;
use fusion_drive::{DriveInfo, DriveReader, ReadFilter};
use fusion_evaluate::{EvalConfig, Frame, evaluate};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_sim::Scene;
use zenoh::Wait;

use super::CliError;
use super::replay::Playback;
use super::run::Running;
use super::simulate_live::Lidar;
use crate::launch::{Launch, parse_duration};
use crate::metrics::Stage;
use crate::simulate::{GROUND_TRUTH_TOPIC, LiveSim};
use crate::transport::{self, explicit_peer_config, open_config};

/// The launch file the demo runs: `launch/default.toml` as shipped.
const DEFAULT_LAUNCH: &str = include_str!("../../../launch/default.toml");
const TICK: Duration = Duration::from_secs(1);
/// Objects farther than this from the vehicle are not scored (m).
const EVALUATION_RANGE_M: f64 = 80.0;
const SENSOR_RATE_HZ: f64 = 20.0;

/// The sample drive the demo replays, where a source checkout has it.
const SAMPLE_DRIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../recordings/highway-20s.mcap"
);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long to replay (or simulate) at most.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Where the miss log, the latency interval log and the summary go.
    #[arg(long, value_name = "DIR", default_value = "fusion-demo")]
    out: PathBuf,
    /// The drive to replay; the sample drive in recordings/ by default.
    #[arg(long, value_name = "FILE", default_value = SAMPLE_DRIVE)]
    drive: PathBuf,
    /// Feed the node from the live simulator (the highway scene at 20 Hz)
    /// instead of a recorded drive.
    #[arg(long)]
    simulate: bool,
    /// With --simulate: the simulated LiDAR.
    #[arg(long, value_enum, default_value = "vlp128")]
    lidar: Lidar,
    /// With --simulate: seed of the scene and of all sensor noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What feeds the node: a recorded drive played back with its timing, or
/// the live simulator.
enum Feed {
    Drive {
        reader: DriveReader,
        filter: ReadFilter,
        playback: Playback,
    },
    Simulator(LiveSim),
}

impl Feed {
    /// Whether the node's sensor topics have their subscriber.
    fn matched(&self, launch: &Launch) -> bool {
        match self {
            Feed::Drive { playback, .. } => {
                playback.matched(launch.sensors.iter().map(|s| s.topic.as_str()))
            }
            Feed::Simulator(sim) => sim.all_matched(),
        }
    }

    /// Publishes until done (or `halt`); returns what was published.
    fn run(self, duration: Duration, halt: &AtomicBool) -> Result<String, String> {
        match self {
            Feed::Drive {
                reader,
                filter,
                playback,
            } => playback
                .play(&reader, &filter, 1.0, true, halt)
                .map(|n| format!("replayed {n} messages"))
                .map_err(|e| e.message),
            Feed::Simulator(mut sim) => sim
                .run(SENSOR_RATE_HZ, Some(duration), halt)
                .map(|ticks| format!("simulated {ticks} ticks"))
                .map_err(|e| e.to_string()),
        }
    }
}

pub fn run(args: DemoArgs) -> Result<(), CliError> {
    // zenoh warns that the connecting peer's scouting found no one before
    // it connected: true, and nothing to act on.
    super::init_logging("warn,zenoh=error");
    let failure = |e: &dyn std::fmt::Display| CliError::failure(e.to_string());
    let launch = demo_launch(&args.out)?;
    let stop = super::stop_signal()?;
    let port = free_loopback_port().map_err(|e| failure(&e))?;
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let node_session = open_config(
        explicit_peer_config(std::slice::from_ref(&endpoint), &[]).map_err(|e| failure(&e))?,
    )
    .map_err(|e| failure(&e))?;
    let sensors = open_config(explicit_peer_config(&[], &[endpoint]).map_err(|e| failure(&e))?)
        .map_err(|e| failure(&e))?;

    let drive = (!args.simulate).then_some(&args.drive);
    let drive = match drive {
        Some(path) if !path.exists() => {
            println!(
                "fusion-node demo: no drive at {} (not a source checkout?); using the live simulator",
                path.display()
            );
            None
        }
        other => other,
    };
    let source = match drive {
        Some(path) => format!("the drive {}", path.display()),
        None => format!("the highway scene simulated at {SENSOR_RATE_HZ} Hz"),
    };
    println!(
        "fusion-node demo: {} on {} sensors, {} deadline, fed {source} for up to {}",
        launch.module.source.path().display(),
        launch.sensors.len(),
        crate::launch::format_duration(launch.deadline),
        crate::launch::format_duration(args.duration),
    );
    let mut running = Running::start(&launch, node_session)?;
    let outputs = Arc::new(Outputs::default());
    let _subscribers = outputs
        .subscribe(&sensors, &launch)
        .map_err(|e| failure(&e))?;
    let feed = match drive {
        Some(path) => {
            let reader = DriveReader::open(path)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            let info = DriveInfo::of(&reader);
            let filter = ReadFilter {
                skip_unknown_types: true,
                ..ReadFilter::window(info.start_ns, args.duration.as_nanos() as u64)
            };
            let playback = Playback::declare(&sensors, &info, &filter)?;
            Feed::Drive {
                reader,
                filter,
                playback,
            }
        }
        None => Feed::Simulator(
            LiveSim::new(
                &sensors,
                &launch,
                Scene::highway(args.seed),
                args.lidar.model(),
                args.seed,
            )
            .map_err(|e| failure(&e))?,
        ),
    };
    let matched = Instant::now();
    while !feed.matched(&launch) && matched.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }

    let halt = Arc::new(AtomicBool::new(false));
    let feed_halt = Arc::clone(&halt);
    let duration = args.duration;
    let feeder = std::thread::Builder::new()
        .name("demo-feed".into())
        .spawn(move || feed.run(duration, &feed_halt))
        .map_err(|e| failure(&e))?;
    let start = Instant::now();
    while !feeder.is_finished() {
        if stop.recv_timeout(TICK).is_ok() {
            halt.store(true, Ordering::Relaxed);
            break;
        }
        running.tick();
        status_line(start.elapsed(), &running, &outputs);
    }
    let fed = feeder
        .join()
        .map_err(|_| CliError::failure("the feeding thread panicked"))?
        .map_err(|e| failure(&e))?;
    // Let the last frames through before intake closes.
    std::thread::sleep(Duration::from_millis(200));
    status_line(start.elapsed(), &running, &outputs);
    println!(
        "{fed}; node: {} outputs received by a subscriber",
        outputs.outputs.load(Ordering::Relaxed)
    );
    running.stop()?;
    let _ = sensors.close().wait();
    outputs.evaluate();
    println!("logs in {}:", args.out.display());
    for path in [
        &launch.logs.miss_log,
        &launch.logs.hlog,
        &launch.logs.summary,
    ]
    .into_iter()
    .flatten()
    {
        println!("  {}", path.display());
    }
    Ok(())
}

/// The shipped default launch file, its logs moved into `out`.
fn demo_launch(out: &Path) -> Result<Launch, CliError> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", out.display())))?;
    let mut launch = default_launch()?;
    launch.logs.miss_log = Some(out.join("misses.jsonl"));
    launch.logs.hlog = Some(out.join("latency.hlog"));
    launch.logs.summary = Some(out.join("summary.txt"));
    Ok(launch)
}

/// The built-in default launch file (`launch/default.toml` as shipped),
/// writing no logs.
pub(super) fn default_launch() -> Result<Launch, CliError> {
    let mut launch = Launch::parse(DEFAULT_LAUNCH, std::path::Path::new("launch/default.toml"))
        .map_err(|e| CliError::failure(format!("the built-in launch file: {e}")))?;
    launch.logs.miss_log = None;
    launch.logs.hlog = None;
    launch.logs.summary = None;
    Ok(launch)
}

fn free_loopback_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// What the demo's subscribers saw: the node's outputs and the ground
/// truth, kept for the evaluation at the end.
#[derive(Default)]
struct Outputs {
    outputs: AtomicU64,
    /// Objects in the latest output.
    objects: AtomicU64,
    fused: Mutex<Vec<Frame>>,
    truth: Mutex<Vec<Frame>>,
}

impl Outputs {
    fn subscribe(
        self: &Arc<Self>,
        session: &zenoh::Session,
        launch: &Launch,
    ) -> Result<Vec<zenoh::pubsub::Subscriber<()>>, Box<dyn std::error::Error + Send + Sync>> {
        let fused = Arc::clone(self);
        let truth = Arc::clone(self);
        let outputs = session
            .declare_subscriber(transport::key_expr(&launch.outputs.tracked_objects)?)
            .callback(move |sample| fused.record(&sample.payload().to_bytes(), true))
            .wait()?;
        let truths = session
            .declare_subscriber(transport::key_expr(GROUND_TRUTH_TOPIC)?)
            .callback(move |sample| truth.record(&sample.payload().to_bytes(), false))
            .wait()?;
        Ok(vec![outputs, truths])
    }

    fn record(&self, bytes: &[u8], fused: bool) {
        let Ok(objects) = fusion_msgs::decode::<TrackedObjects>(bytes) else {
            return;
        };
        let frames = if fused {
            self.outputs.fetch_add(1, Ordering::Relaxed);
            self.objects
                .store(objects.objects.len() as u64, Ordering::Relaxed);
            &self.fused
        } else {
            &self.truth
        };
        frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Frame::from_msg(&objects));
    }

    /// Prints the tracking accuracy of what was received.
    fn evaluate(&self) {
        let take = |m: &Mutex<Vec<Frame>>| {
            std::mem::take(&mut *m.lock().unwrap_or_else(PoisonError::into_inner))
        };
        let (mut fused, mut truth) = (take(&self.fused), take(&self.truth));
        // Where the sensors see, as ACCURACY.md scores.
        for frame in fused.iter_mut().chain(truth.iter_mut()) {
            frame.retain_within(EVALUATION_RANGE_M);
        }
        if fused.is_empty() || truth.is_empty() {
            println!(
                "accuracy: nothing to evaluate ({} outputs, {} ground-truth messages)",
                fused.len(),
                truth.len()
            );
            return;
        }
        match evaluate(truth, fused, &EvalConfig::default()) {
            Ok(report) => print!(
                "accuracy against the ground truth, within {EVALUATION_RANGE_M} m:\n{report}"
            ),
            Err(e) => println!("accuracy: {e}"),
        }
    }
}

fn status_line(elapsed: Duration, running: &Running, outputs: &Outputs) {
    let monitor = running.monitor();
    let counters = monitor.counters();
    let latency = monitor
        .live_summary()
        .and_then(|s| s.get(Stage::EndToEnd).copied());
    let (p50, p99) = latency.map_or((0.0, 0.0), |l| {
        (l.p50_us as f64 / 1e3, l.p99_us as f64 / 1e3)
    });
    println!(
        "{:>5.1} s  frames {:>5}  objects {:>3}  end-to-end p50 {p50:>5.2} ms  p99 {p99:>5.2} ms  misses {}",
        elapsed.as_secs_f64(),
        outputs.outputs.load(Ordering::Relaxed),
        outputs.objects.load(Ordering::Relaxed),
        counters.misses(),
    );
}
