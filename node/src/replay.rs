//! Offline replay: a recorded drive through the same [`Aligner`] and the
//! same module host as a live node, with no zenoh and no wall clock.
//!
//! Time is the recording's: each message arrives at its log time, and the
//! aligner's waits run out at the log times they would have run out at
//! live, so the frames, their contents and the module's outputs depend on
//! the recording alone. Only the module's own execution (and what the
//! host does around it) is timed for real, so the latency histograms and
//! the miss log say what the module costs on this machine. A frame whose
//! recorded wait used up its whole budget is not run (a `deadline` miss,
//! as live). A step that runs past the budget is not preempted, as it
//! would be live, but logged as a `late` miss with its output kept: a
//! machine busier than usual must not change what a replay computes. Only
//! a runaway step, past [`RUNAWAY_LIMIT`], is stopped.
//!
//! Every fused output goes into a SHA-256 digest (sequence, trigger stamp,
//! length and bytes of each), which is the same from run to run and for
//! the native and Wasm builds of a module.

use std::io::Write;
use std::time::{Duration, Instant};

use fusion_abi::SensorKind;
use fusion_abi::frame::{SlotInput, frame_len, write_frame};
use sha2::{Digest, Sha256};

use crate::align::{Admission, AlignConfigError, AlignedSet, Aligner, MAX_SENSORS, Stamped};
use crate::host::{MissReason, ModuleHost};
use crate::launch::Launch;
use crate::pipeline::{FrameReport, FrameSink, Outcome, StageTimes, header_stamp_ns, span};

/// Offline, a step is preempted only after this long (or the budget, if
/// longer): it has run away.
pub const RUNAWAY_LIMIT: Duration = Duration::from_secs(1);

/// Something that runs frames: the module host, or a module's native build.
pub trait FrameRunner {
    /// Runs the frame of `len` bytes that `write` fills, preempted after
    /// `deadline`; returns the output bytes, or why there are none and
    /// whether the module was restarted.
    fn run(
        &mut self,
        deadline: Duration,
        len: usize,
        write: &mut dyn FnMut(&mut [u8]),
    ) -> Result<&[u8], (MissReason, bool)>;
}

impl FrameRunner for ModuleHost {
    fn run(
        &mut self,
        deadline: Duration,
        len: usize,
        write: &mut dyn FnMut(&mut [u8]),
    ) -> Result<&[u8], (MissReason, bool)> {
        self.run_step_within(deadline, len, write)
            .map(|stepped| stepped.output)
            .map_err(|miss| (miss.reason, miss.restarted))
    }
}

/// A module's native build (`fusion_abi::guest::NativeModule`) as a
/// runner: no preemption, its error is a `module` miss.
pub struct NativeRunner<M: fusion_abi::guest::FusionModule> {
    module: fusion_abi::guest::NativeModule<M>,
    frame: Vec<u8>,
}

impl<M: fusion_abi::guest::FusionModule> NativeRunner<M> {
    /// Initialises the module with `launch`'s module configuration.
    pub fn new(launch: &Launch) -> Result<Self, String> {
        let config = fusion_msgs::encode(&launch.module_config()).map_err(|e| e.to_string())?;
        let module = fusion_abi::guest::NativeModule::init(&config).map_err(|e| e.to_string())?;
        Ok(NativeRunner {
            module,
            frame: Vec::new(),
        })
    }
}

impl<M: fusion_abi::guest::FusionModule> FrameRunner for NativeRunner<M> {
    fn run(
        &mut self,
        _deadline: Duration,
        len: usize,
        write: &mut dyn FnMut(&mut [u8]),
    ) -> Result<&[u8], (MissReason, bool)> {
        self.frame.resize(len, 0);
        write(&mut self.frame);
        self.module
            .step(&self.frame)
            .map_err(|e| (MissReason::ModuleError(e.code), false))
    }
}

/// A fused output of the replay.
#[derive(Debug, Clone, Copy)]
pub struct Fused<'a> {
    /// The frame's sequence number.
    pub sequence: u64,
    /// Its trigger stamp (ns).
    pub trigger_stamp_ns: i64,
    /// When it would have been published: the recording's time at which
    /// the aligner released its frame (ns).
    pub log_time_ns: i64,
    /// The output CDR (`TrackedObjects`).
    pub bytes: &'a [u8],
}

/// What the replay skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Sensor messages fed to the aligner.
    pub messages: u64,
    /// Frames run.
    pub frames: u64,
    /// Frames with an output.
    pub published: u64,
    /// Frames without one (a miss).
    pub misses: u64,
    /// Sensor messages whose header stamp could not be read.
    pub bad_stamps: u64,
    /// Sensor messages the aligner refused (late, duplicate, too far ahead).
    pub refused: u64,
}

/// The replay of one drive.
pub struct OfflineReplay<R: FrameRunner> {
    aligner: Aligner<Vec<u8>>,
    spare: AlignedSet<Vec<u8>>,
    runner: R,
    sink: Box<dyn FrameSink>,
    /// Per sensor index: kind and name.
    sensors: Vec<(SensorKind, String)>,
    budget: Duration,
    digest: Sha256,
    frames_log: Option<Box<dyn Write>>,
    counts: ReplayCounts,
    /// Last log time seen, so time never runs backwards for the aligner.
    now_ns: i64,
}

impl<R: FrameRunner> OfflineReplay<R> {
    /// A replay of `launch`'s sensors through `runner`, reporting every
    /// frame to `sink` (the same sink a live node uses) and, if given, one
    /// JSON line per frame to `frames_log`.
    pub fn new(
        launch: &Launch,
        runner: R,
        sink: Box<dyn FrameSink>,
        frames_log: Option<Box<dyn Write>>,
    ) -> Result<Self, AlignConfigError> {
        let aligner = Aligner::new(&launch.aligner_config())?;
        let spare = aligner.new_set();
        let sensors = launch
            .sensors
            .iter()
            .map(|s| {
                let kind = SensorKind::from_u8(s.kind.abi_kind()).unwrap_or(SensorKind::Lidar);
                (kind, s.name.clone())
            })
            .collect();
        Ok(OfflineReplay {
            aligner,
            spare,
            runner,
            sink,
            sensors,
            budget: launch.deadline,
            digest: Sha256::new(),
            frames_log,
            counts: ReplayCounts::default(),
            now_ns: i64::MIN,
        })
    }

    /// Feeds the message of sensor `sensor` received at `log_time_ns`,
    /// after finishing every frame whose wait ran out before it; `emit`
    /// gets each fused output, in order.
    pub fn feed(
        &mut self,
        sensor: u16,
        log_time_ns: i64,
        data: impl Into<Vec<u8>>,
        emit: &mut dyn FnMut(Fused<'_>),
    ) {
        self.advance_to(log_time_ns, emit);
        let data = data.into();
        let Ok(stamp_ns) = header_stamp_ns(&data, data.len()) else {
            self.counts.bad_stamps += 1;
            return;
        };
        self.counts.messages += 1;
        let admission = self.aligner.push(Stamped {
            sensor,
            stamp_ns,
            arrival_ns: self.now_ns,
            payload: data,
        });
        if !matches!(
            admission,
            Admission::Accepted | Admission::AcceptedAfterReset
        ) {
            self.counts.refused += 1;
        }
        self.release(self.now_ns, emit);
    }

    /// Runs the frames whose waits run out by `log_time_ns`, at the times
    /// they run out.
    pub fn advance_to(&mut self, log_time_ns: i64, emit: &mut dyn FnMut(Fused<'_>)) {
        while let Some(timeout) = self.aligner.next_timeout_ns()
            && timeout <= log_time_ns
        {
            let at = timeout.max(self.now_ns);
            self.now_ns = at;
            if !self.release(at, emit) {
                break;
            }
        }
        self.now_ns = self.now_ns.max(log_time_ns);
    }

    /// Finishes every frame still waiting and the sink; returns the
    /// counts and the digest (hex).
    pub fn finish(mut self, emit: &mut dyn FnMut(Fused<'_>)) -> (ReplayCounts, String) {
        self.advance_to(i64::MAX, emit);
        self.sink.finish();
        if let Some(log) = &mut self.frames_log {
            let _ = log.flush();
        }
        (self.counts, format!("{:x}", self.digest.finalize()))
    }

    /// Runs every set the aligner has ready at `now_ns`; whether any was.
    fn release(&mut self, now_ns: i64, emit: &mut dyn FnMut(Fused<'_>)) -> bool {
        let mut any = false;
        while self.aligner.poll(now_ns, &mut self.spare) {
            any = true;
            self.frame(now_ns, emit);
        }
        any
    }

    /// Builds, runs and reports the frame in `self.spare`.
    fn frame(&mut self, now_ns: i64, emit: &mut dyn FnMut(Fused<'_>)) {
        let set = &self.spare;
        let sequence = self.counts.frames;
        self.counts.frames += 1;
        let header = crate::pipeline::frame_header(set, sequence);
        let mut inputs: arrayvec::ArrayVec<SlotInput<'_>, MAX_SENSORS> = arrayvec::ArrayVec::new();
        for message in set.slots().iter().flatten() {
            let kind = self
                .sensors
                .get(usize::from(message.sensor))
                .map_or(SensorKind::Lidar, |s| s.0);
            inputs.push(SlotInput {
                sensor_index: message.sensor,
                kind,
                stamp_ns: message.stamp_ns,
                payload: &message.payload,
            });
        }
        let align_wait = span(set.trigger_arrival_ns(), now_ns);
        let remaining = self.budget.saturating_sub(align_wait);
        let len = frame_len(inputs.iter().map(|s| s.payload.len()));
        let mut frame_build = Duration::ZERO;
        let start = Instant::now();
        let result = if remaining.is_zero() {
            Err((MissReason::Deadline, false))
        } else {
            // How long a step takes varies from run to run (a cold first
            // step, a busy machine), and the outputs must not: a step over
            // budget is a `late` miss in the log, and only a runaway one
            // is preempted.
            self.runner
                .run(RUNAWAY_LIMIT.max(self.budget), len, &mut |dst| {
                    let t = Instant::now();
                    let _ = write_frame(dst, &header, &inputs);
                    frame_build = t.elapsed();
                })
        };
        let module_exec = start.elapsed().saturating_sub(frame_build);
        let publish_start = Instant::now();
        let outcome = match result {
            Ok(bytes) => {
                self.digest.update(sequence.to_le_bytes());
                self.digest.update(header.trigger_stamp_ns.to_le_bytes());
                self.digest.update((bytes.len() as u64).to_le_bytes());
                self.digest.update(bytes);
                emit(Fused {
                    sequence,
                    trigger_stamp_ns: header.trigger_stamp_ns,
                    log_time_ns: now_ns,
                    bytes,
                });
                self.counts.published += 1;
                Outcome::Published {
                    output_len: bytes.len(),
                    // The recording's age of the trigger at release.
                    stamp_age: span(header.trigger_stamp_ns, now_ns),
                }
            }
            Err((reason, restarted)) => {
                self.counts.misses += 1;
                Outcome::ModuleMiss { reason, restarted }
            }
        };
        let publish = publish_start.elapsed();
        let report = FrameReport {
            sequence,
            trigger_stamp_ns: header.trigger_stamp_ns,
            trigger_arrival_ns: set.trigger_arrival_ns(),
            missing_sensors: header.missing_sensors,
            stages: StageTimes {
                align_wait,
                frame_build,
                module_exec,
                publish,
                end_to_end: align_wait + frame_build + module_exec + publish,
            },
            outcome,
        };
        if let Some(log) = &mut self.frames_log {
            let line = frame_line(&report, set, &self.sensors, now_ns);
            let _ = writeln!(log, "{line}");
        }
        self.sink.frame(&report);
    }
}

/// One line of the frames log: the frame and the stamp of each sensor
/// message in it (`null` for a missing sensor).
fn frame_line(
    report: &FrameReport,
    set: &AlignedSet<Vec<u8>>,
    sensors: &[(SensorKind, String)],
    released_ns: i64,
) -> serde_json::Value {
    let stamps: serde_json::Map<String, serde_json::Value> = sensors
        .iter()
        .enumerate()
        .map(|(i, (_, name))| {
            let stamp = set.get(i).map(|m| m.stamp_ns);
            (name.clone(), stamp.into())
        })
        .collect();
    let missing: Vec<&str> = sensors
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && report.missing_sensors & (1 << i) != 0)
        .map(|(_, (_, name))| name.as_str())
        .collect();
    let outcome = match report.outcome {
        Outcome::Published { .. } => "published".to_owned(),
        Outcome::ModuleMiss { reason, .. } => format!("miss: {reason}"),
        Outcome::PublishFailed => "publish_failed".to_owned(),
    };
    serde_json::json!({
        "sequence": report.sequence,
        "trigger_stamp_ns": report.trigger_stamp_ns,
        "trigger_log_time_ns": report.trigger_arrival_ns,
        "released_log_time_ns": released_ns,
        "degraded": report.missing_sensors != 0,
        "missing": missing,
        "stamps_ns": stamps,
        "outcome": outcome,
    })
}
