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

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrayvec::ArrayVec;
use crossbeam_channel::{Receiver, Sender};
use fusion_abi::SensorKind;
use fusion_abi::frame::{FrameHeader, SlotInput, frame_len, write_frame};
use zenoh::Wait;
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Publisher;

use super::clock::{Clock, span, wall_clock_ns};
use super::markers::MarkerFeed;
use super::report::{DroppedSet, FrameReport, FrameSink, Outcome, StageTimes};
use super::swap::{
    CATCH_UP_ATTEMPTS, Candidate, Recent, RecentRequest, STATE_CALL_DEADLINE, ShadowFrame,
    ShadowSlot, StateCarry, SwapCommand, SwapEvent, SwapRecord, SwapState, Watch,
};
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
    /// Hot-swap requests from the swapper.
    pub swap_commands: Receiver<SwapCommand>,
    /// The last frames' sets, kept (with their zenoh buffers) for a new
    /// module's warm-up before they go back to the aligner.
    pub recent: VecDeque<(FrameHeader, AlignedSet<ZBytes>)>,
    /// How many frames `recent` keeps.
    pub recent_len: usize,
    pub swap: SwapState,
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
        // The swapper is answered as soon as it asks, between frames, so
        // a candidate that caught up is installed before the next frame.
        let mut commands = self.swap_commands.clone();
        loop {
            crossbeam_channel::select! {
                recv(self.sets) -> ready => match ready {
                    Ok(ready) => {
                        self.report_dropped();
                        self.frame(ready);
                    }
                    Err(_) => break,
                },
                recv(commands) -> command => match command {
                    Ok(command) => self.swap_command(command),
                    // The swapper stopped: stop listening to it.
                    Err(_) => commands = crossbeam_channel::never(),
                },
                default(IDLE_WAIT) => self.report_dropped(),
            }
        }
        self.report_dropped();
        self.sink.finish();
    }

    /// Answers the swapper.
    fn swap_command(&mut self, command: SwapCommand) {
        match command {
            SwapCommand::Recent(request) => {
                let recent = self.recent_frames(&request);
                let _ = request.reply.send(recent);
            }
            SwapCommand::Install(candidate) => self.install(candidate),
            SwapCommand::Log(mut record) => {
                record.at_ns = self.clock.now_ns();
                self.sink.swap(&record);
            }
        }
    }

    /// The kept frames after `request.after` (their payloads shared with
    /// zenoh's buffers) and, if asked, the running module's state.
    /// Allocates: it runs a few times per swap.
    fn recent_frames(&mut self, request: &RecentRequest) -> Recent {
        let after = |header: &FrameHeader| request.after.is_none_or(|a| header.sequence > a);
        let frames: Vec<ShadowFrame> = self
            .recent
            .iter()
            .filter(|(header, _)| after(header))
            .map(|(header, set)| ShadowFrame {
                header: *header,
                slots: set
                    .slots()
                    .iter()
                    .flatten()
                    .map(|m| ShadowSlot {
                        sensor_index: m.sensor,
                        kind: self.kinds[usize::from(m.sensor)],
                        stamp_ns: m.stamp_ns,
                        payload: m.payload.clone(),
                    })
                    .collect(),
            })
            .collect();
        let through = self.sequence.checked_sub(1);
        let first = frames.first().map(|f| f.header.sequence);
        // Every frame after `after` is here if the first one wanted is.
        let wanted = request.after.map_or(0, |a| a.saturating_add(1));
        let complete = through.is_none_or(|t| wanted > t || first == Some(wanted));
        let schema = self.swap.current_schema;
        let state = request.state_for.filter(|s| Some(*s) == schema).map(|_| {
            let mut state = Vec::new();
            self.host
                .snapshot_into(&mut state, STATE_CALL_DEADLINE)
                .map(|()| state)
                .map_err(|e| format!("the running module's snapshot failed: {e}"))
        });
        Recent {
            frames,
            complete,
            through,
            schema,
            state,
        }
    }

    /// The swap pause: hosts exchanged, watch started. A candidate whose
    /// state is behind goes back to catch up; one that cannot is refused
    /// (moving the state here would lengthen the pause). One swap at a
    /// time: a candidate sent while another is watched is refused.
    fn install(&mut self, mut candidate: Box<Candidate>) {
        let start = Instant::now();
        let id = candidate.id;
        let through = self.sequence.checked_sub(1);
        let carry = candidate
            .carry_schema
            .is_some_and(|s| Some(s) == self.swap.current_schema);
        let caught_up = candidate.synced == Some(through);
        let refusal = if self.swap.watch.is_some() {
            Some("another swap is still being watched".to_owned())
        } else if carry && !caught_up && candidate.attempts >= CATCH_UP_ATTEMPTS {
            Some(format!(
                "its tracker state could not catch up with the running module's in {CATCH_UP_ATTEMPTS} tries"
            ))
        } else {
            None
        };
        if let Some(why) = refusal {
            self.sink.swap(&SwapRecord {
                at_ns: self.clock.now_ns(),
                reason: "swap_refused",
                sequence: None,
                module: self.swap.current.clone(),
                other: candidate.module.clone(),
                detail: why.clone(),
                pause: None,
            });
            let _ = self.swap.events.send(SwapEvent::Aborted {
                id,
                why,
                host: candidate.host,
            });
            return;
        }
        if carry && !caught_up {
            candidate.attempts += 1;
            let _ = self.swap.events.send(SwapEvent::Behind {
                id,
                candidate,
                through,
            });
            return;
        }
        let Candidate {
            host: new,
            module,
            carry_schema,
            watch_frames,
            rollback_misses,
            ..
        } = *candidate;
        let state = if carry {
            StateCarry::CaughtUp
        } else {
            StateCarry::Fresh(match (self.swap.current_schema, carry_schema) {
                (None, _) => "the running module keeps no state across swaps".to_owned(),
                (_, None) => "the new module keeps no state across swaps".to_owned(),
                (Some(old), Some(new)) => format!("state schemas differ: {old} and {new}"),
            })
        };
        let previous = std::mem::replace(&mut self.host, new);
        let pause = start.elapsed();
        let previous_id = std::mem::replace(&mut self.swap.current, module);
        let previous_schema = std::mem::replace(&mut self.swap.current_schema, carry_schema);
        self.steps = StepEstimate::default();
        self.sink.swap(&SwapRecord {
            at_ns: self.clock.now_ns(),
            reason: "swap",
            sequence: Some(self.sequence),
            module: self.swap.current.clone(),
            other: previous_id.clone(),
            detail: format!("state {state}"),
            pause: Some(pause),
        });
        self.swap.watch = Some(Watch {
            id,
            restarts: self.host.restarts(),
            previous,
            previous_id,
            previous_schema,
            carried: state == StateCarry::CaughtUp,
            frames_left: watch_frames.max(1),
            frames: 0,
            misses: 0,
            rollback_misses: rollback_misses.max(1),
        });
        let _ = self.swap.events.send(SwapEvent::Installed {
            id,
            sequence: self.sequence,
            pause,
            state,
        });
    }

    /// Counts a watched frame; commits the swap when the watch is over,
    /// rolls it back on a trap or too many deadline misses.
    fn watch(&mut self, report: &FrameReport) {
        let Some(watch) = &mut self.swap.watch else {
            return;
        };
        watch.frames += 1;
        watch.frames_left -= 1;
        let budget = self.host.limits().step_deadline;
        let failure = match report.outcome {
            // Preempted at the deadline (a step the executor did not admit,
            // its budget eaten before it started, is not the module's).
            Outcome::ModuleMiss {
                reason: MissReason::Deadline,
                restarted,
            } => {
                watch.misses += u32::from(restarted);
                None
            }
            // A trap, an error status or a bad input or output: at once.
            Outcome::ModuleMiss { reason, .. } => {
                Some(format!("it failed in frame {}: {reason}", report.sequence))
            }
            Outcome::Published { .. } if report.stages.end_to_end > budget => {
                watch.misses += 1;
                None
            }
            _ => None,
        };
        let failure = failure.or_else(|| {
            (watch.misses >= watch.rollback_misses).then(|| {
                format!(
                    "{} deadline misses in its first {} frames",
                    watch.misses, watch.frames
                )
            })
        });
        if let Some(why) = failure {
            self.roll_back(why);
        } else if watch.frames_left == 0
            && let Some(watch) = self.swap.watch.take()
        {
            let _ = self.swap.events.send(SwapEvent::Committed {
                id: watch.id,
                frames: watch.frames,
                misses: watch.misses,
                previous: watch.previous,
            });
        }
    }

    fn roll_back(&mut self, why: String) {
        let Some(watch) = self.swap.watch.take() else {
            return;
        };
        let start = Instant::now();
        let mut previous = watch.previous;
        // The state crosses back only if the failed module still has the
        // one it was given, carried forward: not after a restart (a reset
        // state), and never bytes from a module that failed outright.
        let state_back = watch.carried
            && self.host.restarts() == watch.restarts
            && !why.starts_with("it failed")
            && self
                .host
                .snapshot_into(&mut self.swap.state_buf, STATE_CALL_DEADLINE)
                .and_then(|()| previous.restore(&self.swap.state_buf, STATE_CALL_DEADLINE))
                .is_ok();
        let failed = std::mem::replace(&mut self.host, previous);
        let pause = start.elapsed();
        self.steps = StepEstimate::default();
        let failed_id = std::mem::replace(&mut self.swap.current, watch.previous_id);
        self.swap.current_schema = watch.previous_schema;
        let resumed = if state_back {
            "with the state carried back"
        } else {
            "from its state at the swap"
        };
        self.sink.swap(&SwapRecord {
            at_ns: self.clock.now_ns(),
            reason: "rollback",
            sequence: Some(self.sequence),
            module: self.swap.current.clone(),
            other: failed_id,
            detail: format!("{why}; the previous module resumes {resumed}"),
            pause: Some(pause),
        });
        let _ = self.swap.events.send(SwapEvent::RolledBack {
            id: watch.id,
            why,
            sequence: self.sequence,
            pause,
            failed,
        });
    }

    fn report_dropped(&mut self) {
        while let Ok(set) = self.dropped.try_recv() {
            self.sink.dropped(&set);
        }
    }

    /// One frame: build, step, publish, report, recycle.
    fn frame(&mut self, ReadySet { set, .. }: ReadySet) {
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
        self.watch(&report);
        self.keep_recent(header, set);
    }

    /// Keeps the set among the recent frames; the oldest goes back to the
    /// aligner. The deque never grows past its first capacity.
    fn keep_recent(&mut self, header: FrameHeader, mut set: AlignedSet<ZBytes>) {
        if self.recent_len == 0 {
            super::empty(&mut set);
            let _ = self.recycle.try_send(set);
            return;
        }
        if self.recent.len() >= self.recent_len
            && let Some((_, mut oldest)) = self.recent.pop_front()
        {
            super::empty(&mut oldest);
            let _ = self.recycle.try_send(oldest);
        }
        self.recent.push_back((header, set));
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
