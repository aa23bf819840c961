//! The fusion executor thread: owns the [`ModuleHost`], builds each frame
//! straight into the module's input buffer, runs the step, publishes the
//! output bytes as they are, and reports the frame to the sink.
//!
//! **No allocation per frame in steady state**: the slot list lives on the
//! stack, payloads are copied once, from zenoh's buffers into the module's
//! memory, and sets go back to the aligner for reuse. A payload that zenoh
//! received in several pieces is first gathered into a per-sensor scratch
//! buffer that is reused (it grows to the largest message once). What zenoh
//! does inside `put` is zenoh's: it copies the output into a `ZBytes`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrayvec::ArrayVec;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use fusion_abi::SensorKind;
use fusion_abi::frame::{SlotInput, frame_len, write_frame};
use zenoh::Wait;
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Publisher;

use super::clock::{Clock, span, wall_clock_ns};
use super::markers::MarkerFeed;
use super::report::{DroppedSet, FrameReport, FrameSink, Outcome, StageTimes};
use super::{ReadySet, Shared};
use crate::align::{AlignedSet, MAX_SENSORS};
use crate::host::{MissReason, ModuleHost};
use crate::sched;

/// How often an idle executor looks for dropped-set reports.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// Everything the executor thread owns.
pub(super) struct Executor {
    pub host: ModuleHost,
    /// The ABI kind of each sensor, by index.
    pub kinds: Vec<SensorKind>,
    /// Per sensor: where a fragmented payload is gathered.
    pub scratch: Vec<Vec<u8>>,
    pub sets: Receiver<ReadySet>,
    pub recycle: Sender<AlignedSet<ZBytes>>,
    pub dropped: Receiver<DroppedSet>,
    pub publisher: Publisher<'static>,
    pub markers: Option<MarkerFeed>,
    pub sink: Box<dyn FrameSink>,
    pub shared: Arc<Shared>,
    pub clock: Clock,
    pub sequence: u64,
    /// What a step usually takes, to leave late frames out.
    pub steps: StepEstimate,
}

impl Executor {
    /// Runs frames until the aligner hangs up and every queued set is done.
    pub fn run(mut self) {
        let realtime = sched::raise_priority(sched::EXECUTOR_PRIORITY);
        self.shared
            .executor_realtime
            .store(realtime, Ordering::Relaxed);
        if realtime {
            tracing::debug!(
                priority = sched::EXECUTOR_PRIORITY,
                "fusion executor runs SCHED_FIFO"
            );
        } else {
            tracing::info!(
                "fusion aligner and executor run at normal priority (no CAP_SYS_NICE): other work can delay frames"
            );
        }
        loop {
            match self.sets.recv_timeout(IDLE_WAIT) {
                Ok(ready) => {
                    self.report_dropped();
                    self.frame(ready);
                }
                Err(RecvTimeoutError::Timeout) => self.report_dropped(),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.report_dropped();
        self.sink.finish();
    }

    fn report_dropped(&mut self) {
        while let Ok(set) = self.dropped.try_recv() {
            self.sink.dropped(&set);
        }
    }

    /// One frame: build, step, publish, report, recycle.
    fn frame(&mut self, ReadySet { mut set, .. }: ReadySet) {
        let start_ns = self.clock.now_ns();
        let arrival_ns = set.trigger_arrival_ns();
        let header = super::frame_header(&set, self.sequence);
        let mut inputs: ArrayVec<SlotInput<'_>, MAX_SENSORS> = ArrayVec::new();
        for ((slot, scratch), kind) in set.slots().iter().zip(&mut self.scratch).zip(&self.kinds) {
            if let Some(message) = slot {
                inputs.push(SlotInput {
                    sensor_index: message.sensor,
                    kind: *kind,
                    stamp_ns: message.stamp_ns,
                    payload: contiguous(&message.payload, scratch),
                });
            }
        }
        let len = frame_len(inputs.iter().map(|s| s.payload.len()));
        let mut frame_build = Duration::ZERO;
        // The budget runs from the trigger's arrival, so the module gets
        // what the aligner and the queue left of it. A frame left with
        // less than a usual step is not run: it would miss anyway, and
        // preempting it would also cost the module its state (a trap
        // restarts it).
        let remaining = self
            .host
            .limits()
            .step_deadline
            .saturating_sub(span(arrival_ns, start_ns));
        let step_start = Instant::now();
        let result = if !self.steps.admit(remaining) {
            Err((MissReason::Deadline, false))
        } else {
            self.host
                .run_step_within(remaining, len, |dst| {
                    let t = Instant::now();
                    // `dst` is exactly `frame_len` of these slots, so this
                    // cannot fail; a frame over 4 GiB fails earlier, as
                    // InputInvalid.
                    let _ = write_frame(dst, &header, &inputs);
                    frame_build = t.elapsed();
                })
                .map_err(|miss| (miss.reason, miss.restarted))
        };
        let module_exec = step_start.elapsed().saturating_sub(frame_build);
        if result.is_ok() {
            self.steps.record(module_exec);
        }
        let mut publish = Duration::ZERO;
        let outcome = match result {
            Ok(stepped) => {
                let t = Instant::now();
                let put = self.publisher.put(stepped.output).wait();
                publish = t.elapsed();
                match put {
                    Ok(()) => {
                        if let Some(markers) = &self.markers {
                            markers.offer(stepped.output);
                        }
                        Outcome::Published {
                            output_len: stepped.output.len(),
                            stamp_age: wall_age(header.trigger_stamp_ns),
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "publishing the output failed");
                        Outcome::PublishFailed
                    }
                }
            }
            Err((reason, restarted)) => Outcome::ModuleMiss { reason, restarted },
        };
        let end_ns = self.clock.now_ns();
        drop(inputs);
        let report = FrameReport {
            sequence: self.sequence,
            trigger_stamp_ns: header.trigger_stamp_ns,
            trigger_arrival_ns: arrival_ns,
            missing_sensors: header.missing_sensors,
            stages: StageTimes {
                align_wait: span(arrival_ns, start_ns),
                frame_build,
                module_exec,
                publish,
                end_to_end: span(arrival_ns, end_ns),
            },
            outcome,
        };
        self.shared.count(&report);
        self.sink.frame(&report);
        self.sequence += 1;
        super::empty(&mut set);
        let _ = self.recycle.try_send(set);
    }
}

/// What a module step usually takes, and whether a frame with a given
/// part of its budget left is worth running.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct StepEstimate {
    /// A moving average of recent successful steps (zero before the first).
    typical: Duration,
}

impl StepEstimate {
    /// Records a successful step's time.
    pub(super) fn record(&mut self, step: Duration) {
        // Over about eight steps.
        self.typical = (self.typical * 7 + step) / 8;
    }

    /// Whether to run a frame with `remaining` of its budget: not when
    /// less than a usual step is left, since it would miss anyway and
    /// preempting it would cost the module its state. Each refusal lowers
    /// the estimate, so a module whose steps take about the whole budget
    /// is still run every few frames.
    pub(super) fn admit(&mut self, remaining: Duration) -> bool {
        if remaining.is_zero() || remaining < self.typical {
            self.typical = self.typical * 3 / 4;
            false
        } else {
            true
        }
    }
}

/// Wall-clock time since `stamp_ns` (ns since the Unix epoch), zero when
/// the stamp is in the future.
fn wall_age(stamp_ns: i64) -> Duration {
    span(stamp_ns, wall_clock_ns())
}

/// The payload as one slice: zenoh's own when it is contiguous (the usual
/// case), else gathered into `scratch`.
fn contiguous<'a>(payload: &'a ZBytes, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    let mut slices = payload.slices();
    match (slices.next(), slices.next()) {
        (None, _) => &[],
        (Some(only), None) => only,
        _ => {
            scratch.clear();
            for slice in payload.slices() {
                scratch.extend_from_slice(slice);
            }
            scratch
        }
    }
}

impl Shared {
    fn count(&self, report: &FrameReport) {
        let add = |counter: &std::sync::atomic::AtomicU64| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        add(&self.frames);
        if report.is_degraded() {
            add(&self.degraded);
        }
        match report.outcome {
            Outcome::Published { .. } => add(&self.published),
            Outcome::ModuleMiss { reason, .. } => {
                add(&self.module_misses);
                if reason == MissReason::Deadline {
                    add(&self.deadline_misses);
                }
            }
            Outcome::PublishFailed => add(&self.publish_failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_frame_with_less_than_a_usual_step_left_is_not_run() {
        let mut steps = StepEstimate::default();
        assert!(steps.admit(MS), "no estimate yet: any budget will do");
        assert!(!steps.admit(Duration::ZERO));
        for _ in 0..40 {
            steps.record(2 * MS);
        }
        assert!(steps.admit(3 * MS));
        assert!(!steps.admit(MS));
    }

    #[test]
    fn a_module_as_slow_as_its_budget_still_runs_every_few_frames() {
        let budget = 10 * MS;
        let mut steps = StepEstimate::default();
        for _ in 0..40 {
            steps.record(9 * MS);
        }
        // Every frame waited 2 ms: 8 ms left, under the usual 9 ms step.
        let mut ran = 0;
        for _ in 0..20 {
            if steps.admit(budget - 2 * MS) {
                ran += 1;
                steps.record(9 * MS);
            }
        }
        assert!((4..20).contains(&ran), "ran {ran} of 20");
    }
}
