//! `fusion-node demo`: the whole product in one process, on nothing but
//! this binary. The node runs on the default launch file (embedded in the
//! binary, like the reference module) exactly as `run` runs it, and the
//! live simulator feeds it the highway scene through a second zenoh
//! session: two embedded peers on loopback, multicast scouting off, no
//! router. Once a second a status line shows frames, tracked objects,
//! latency and misses; at the end come the node's summary and where its
//! logs are.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_sim::Scene;
use zenoh::Wait;

use super::CliError;
use super::run::Running;
use super::simulate_live::Lidar;
use crate::launch::{Launch, parse_duration};
use crate::metrics::Stage;
use crate::simulate::LiveSim;
use crate::transport::{self, explicit_peer_config, open_config};

/// The launch file the demo runs: `launch/default.toml` as shipped.
const DEFAULT_LAUNCH: &str = include_str!("../../../launch/default.toml");
const TICK: Duration = Duration::from_secs(1);
const SENSOR_RATE_HZ: f64 = 20.0;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the simulator publishes.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Where the miss log, the latency interval log and the summary go.
    #[arg(long, value_name = "DIR", default_value = "fusion-demo")]
    out: PathBuf,
    /// The simulated LiDAR.
    #[arg(long, value_enum, default_value = "vlp128")]
    lidar: Lidar,
    /// Seed of the scene and of all sensor noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
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

    println!(
        "fusion-node demo: {} on {} sensors, {} deadline, the highway scene at {SENSOR_RATE_HZ} Hz for {}",
        launch.module.source.path().display(),
        launch.sensors.len(),
        crate::launch::format_duration(launch.deadline),
        crate::launch::format_duration(args.duration),
    );
    let mut running = Running::start(&launch, node_session)?;
    let outputs = Arc::new(OutputCount::default());
    let counter = Arc::clone(&outputs);
    let key = transport::key_expr(&launch.outputs.tracked_objects).map_err(|e| failure(&e))?;
    let _subscriber = sensors
        .declare_subscriber(key)
        .callback(move |sample| counter.record(&sample.payload().to_bytes()))
        .wait()
        .map_err(|e| failure(&e))?;
    let mut sim = LiveSim::new(
        &sensors,
        &launch,
        Scene::highway(args.seed),
        args.lidar.model(),
        args.seed,
    )
    .map_err(|e| failure(&e))?;
    let matched = Instant::now();
    while !sim.all_matched() && matched.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }

    let halt = Arc::new(AtomicBool::new(false));
    let sim_halt = Arc::clone(&halt);
    let duration = args.duration;
    let simulator = std::thread::Builder::new()
        .name("demo-simulator".into())
        .spawn(move || sim.run(SENSOR_RATE_HZ, Some(duration), &sim_halt))
        .map_err(|e| failure(&e))?;
    let start = Instant::now();
    while !simulator.is_finished() {
        if stop.recv_timeout(TICK).is_ok() {
            halt.store(true, Ordering::Relaxed);
            break;
        }
        running.tick();
        status_line(start.elapsed(), &running, &outputs);
    }
    let ticks = simulator
        .join()
        .map_err(|_| CliError::failure("the simulator thread panicked"))?
        .map_err(|e| failure(&e))?;
    // Let the last frames through before intake closes.
    std::thread::sleep(Duration::from_millis(200));
    status_line(start.elapsed(), &running, &outputs);
    println!(
        "simulator: {ticks} ticks; node: {} outputs received by a subscriber",
        outputs.outputs.load(Ordering::Relaxed)
    );
    running.stop()?;
    let _ = sensors.close().wait();
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
    let mut launch = Launch::parse(DEFAULT_LAUNCH, &out.join("default.toml"))
        .map_err(|e| CliError::failure(format!("the built-in launch file: {e}")))?;
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

/// What a subscriber to the node's output saw.
#[derive(Debug, Default)]
struct OutputCount {
    outputs: AtomicU64,
    /// Objects in the latest output.
    objects: AtomicU64,
}

impl OutputCount {
    fn record(&self, bytes: &[u8]) {
        self.outputs.fetch_add(1, Ordering::Relaxed);
        if let Ok(objects) = fusion_msgs::decode::<TrackedObjects>(bytes) {
            self.objects
                .store(objects.objects.len() as u64, Ordering::Relaxed);
        }
    }
}

fn status_line(elapsed: Duration, running: &Running, outputs: &OutputCount) {
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
