//! A live sensor source for tests and demos: renders a `fusion_sim` scene
//! for the launch file's sensors and publishes each sensor's CDR message on
//! its topic, stamped from a monotonic clock, and the scene itself as
//! `TrackedObjects` on [`GROUND_TRUTH_TOPIC`].
//!
//! Every sensor is rendered at every tick, at one rate: enough to drive a
//! node. Per-sensor rates, latencies and recorded drives are the real
//! simulator's and replay's job (a later issue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use fusion_sim::{FrameGenerator, LidarModel, Scene, SensorMessage};
use std::sync::Arc;

use zenoh::Session;

use crate::launch::Launch;
use crate::transport::{DEFAULT_SHM_POOL_BYTES, SensorPublisher, ShmPool, TransportError};

/// Where the simulator publishes the scene's actors, as `TrackedObjects`
/// in `base_link` stamped like the tick's sensor messages.
pub const GROUND_TRUTH_TOPIC: &str = "/ground_truth/objects";

/// One tick's messages and the truth they show.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The stamp of every message of the tick, ns.
    pub stamp_ns: i64,
    /// (sensor index, kind, CDR bytes), in sensor order.
    pub messages: Vec<SensorMessage>,
    /// The scene at `stamp_ns`.
    pub truth: TrackedObjects,
}

/// Publishes simulated sensor messages for a launch file's sensors, the
/// large ones through a shared-memory pool, as a sensor driver on the
/// vehicle computer would.
pub struct LiveSim {
    generator: FrameGenerator,
    publishers: Vec<SensorPublisher>,
    truth: SensorPublisher,
    /// The wall clock (ns since the Unix epoch) at `origin`.
    origin_ns: i64,
    origin: Instant,
    ticks: u64,
}

impl LiveSim {
    /// A source for `launch`'s sensors (their poses and intrinsics from the
    /// launch file) watching `scene`, publishing on `session`.
    pub fn new(
        session: &Session,
        launch: &Launch,
        scene: Scene,
        lidar: LidarModel,
        seed: u64,
    ) -> Result<LiveSim, TransportError> {
        let rig = launch.module_config().sensors;
        let pool = match ShmPool::new(DEFAULT_SHM_POOL_BYTES) {
            Ok(pool) => Some(Arc::new(pool)),
            Err(e) => {
                tracing::warn!(error = %e, "publishing without shared memory");
                None
            }
        };
        let publishers = launch
            .sensors
            .iter()
            .map(|s| SensorPublisher::declare(session, &s.topic, pool.clone()))
            .collect::<Result<_, _>>()?;
        // Stamps are wall-clock time, as a driver's header stamps are, so
        // the node's stamp age means what it says.
        let origin_ns = crate::pipeline::wall_clock_ns();
        let truth = SensorPublisher::declare(session, GROUND_TRUTH_TOPIC, None)?;
        Ok(LiveSim {
            generator: FrameGenerator::new(scene, rig, lidar, seed).starting_at(origin_ns),
            publishers,
            truth,
            origin_ns,
            origin: Instant::now(),
            ticks: 0,
        })
    }

    /// Renders every sensor at `stamp_ns` (which must not go backwards),
    /// advancing the scene to it.
    pub fn render_at(&mut self, stamp_ns: i64) -> Rendered {
        let dt_ns = stamp_ns.saturating_sub(self.generator.stamp_ns()).max(0);
        self.generator.scene.advance(dt_ns as f64 * 1e-9);
        let generator = std::mem::replace(
            &mut self.generator,
            FrameGenerator::new(Scene::empty(), Vec::new(), LidarModel::small(), 0),
        );
        self.generator = generator.starting_at(stamp_ns);
        let messages = self.generator.messages(self.ticks);
        self.ticks += 1;
        Rendered {
            stamp_ns,
            messages,
            truth: self.generator.scene.ground_truth(stamp_ns),
        }
    }

    /// Renders every sensor now: the stamp is the wall clock at
    /// [`LiveSim::new`] plus the monotonic time since, so stamps never
    /// jump when the system clock is stepped.
    pub fn render_now(&mut self) -> Rendered {
        let elapsed = i64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(i64::MAX);
        self.render_at(self.origin_ns.saturating_add(elapsed))
    }

    /// Publishes `messages`, except those of the sensors in `skip` (bit
    /// `i`: sensor `i`); returns how many were published.
    pub fn publish(&self, messages: &[SensorMessage], skip: u64) -> Result<usize, TransportError> {
        let mut published = 0;
        for (index, _, bytes) in messages {
            let i = usize::from(*index);
            if i < 64 && skip & (1 << i) != 0 {
                continue;
            }
            let Some(publisher) = self.publishers.get(i) else {
                continue;
            };
            publisher.put(bytes)?;
            published += 1;
        }
        Ok(published)
    }

    /// Whether every sensor topic has a subscriber zenoh knows of (what
    /// is published before that is lost).
    pub fn all_matched(&self) -> bool {
        self.publishers.iter().all(SensorPublisher::matched)
    }

    /// Publishes `truth` on [`GROUND_TRUTH_TOPIC`].
    pub fn publish_truth(&self, truth: &TrackedObjects) -> Result<(), TransportError> {
        // Encoding a TrackedObjects cannot fail: every length fits.
        let bytes = fusion_msgs::encode(truth).unwrap_or_default();
        self.truth.put(&bytes)
    }

    /// Renders and publishes at `rate_hz` until `duration` has passed (if
    /// given) or `stop` is set; returns the number of ticks. A tick that
    /// renders late is not made up for ([`Pacer`]).
    pub fn run(
        &mut self,
        rate_hz: f64,
        duration: Option<Duration>,
        stop: &AtomicBool,
    ) -> Result<u64, TransportError> {
        let mut pacer = Pacer::new(Duration::from_secs_f64(1.0 / rate_hz.clamp(0.01, 10_000.0)));
        let start = Instant::now();
        let mut ticks = 0u64;
        while !stop.load(Ordering::Relaxed) && duration.is_none_or(|d| start.elapsed() < d) {
            let rendered = self.render_now();
            self.publish(&rendered.messages, 0)?;
            self.publish_truth(&rendered.truth)?;
            ticks += 1;
            pacer.wait();
        }
        Ok(ticks)
    }
}

/// Keeps a loop at a fixed period: [`Pacer::wait`] sleeps until the next
/// tick is due. A tick that runs late is not made up for: the schedule
/// restarts from now rather than bursting to catch up.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    period: Duration,
    next: Instant,
}

impl Pacer {
    /// A pacer whose first tick is due one `period` from now.
    pub fn new(period: Duration) -> Self {
        Pacer {
            period,
            next: Instant::now(),
        }
    }

    /// Sleeps until the next tick is due.
    pub fn wait(&mut self) {
        self.next += self.period;
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        } else {
            self.next = now;
        }
    }
}

impl std::fmt::Debug for LiveSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSim")
            .field("sensors", &self.publishers.len())
            .field("ticks", &self.ticks)
            .finish_non_exhaustive()
    }
}
