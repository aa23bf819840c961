//! From the input files to a [`Report`].
//!
//! Times of misses ([`MissRow::time_s`]) count from the run's start. In a
//! live run the miss log's `arrival_ns` already does (the node's
//! monotonic clock since start, the `.hlog` base time). An offline replay
//! writes the recording's log time instead, an absolute time: then the
//! origin is the `.hlog` base time (the replay's start on the same clock),
//! or without one the earliest arrival in the miss and frames logs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::hlog::Hlog;
use crate::jsonl::{FrameRecord, MissRecord, parse_lines};
use crate::model::*;
use crate::rules::{Measured, Metric, Rule, RuleError, Stat};

/// The budget when neither `--budget` nor the miss log gives one: the
/// node's default.
pub const DEFAULT_BUDGET_US: f64 = 10_000.0;

/// Arrival times above this (ns; about three years after 1970) are
/// absolute times, not time since the node's start.
const ABSOLUTE_NS: i64 = 100_000_000_000_000_000;

/// Miss-log lines that are not frames: dropped sensor messages, and the
/// hot-swap records (`swap`, `rollback`, `swap_refused`).
const NOT_FRAMES: [&str; 4] = ["dropped_input", "swap", "rollback", "swap_refused"];

/// Frame reasons that are not the build's fault: the frame ran to
/// completion.
const NOT_FAILURES: [&str; 2] = ["late", "degraded"];

/// One input file: a name for messages and its text.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The file's name, as given.
    pub name: &'a str,
    /// Its contents.
    pub text: &'a str,
}

/// The files of one run.
#[derive(Debug, Clone, Copy)]
pub struct RunInputs<'a> {
    /// The `.hlog` interval log.
    pub hlog: Input<'a>,
    /// The miss log.
    pub misses: Option<Input<'a>>,
    /// The frames log.
    pub frames: Option<Input<'a>>,
}

/// The default gate when `--fail-on` is not given: a run fails when no
/// frame ran, when a frame went over the budget, or (with a miss log) when
/// a frame failed.
pub fn default_rules(with_misses: bool) -> Vec<Rule> {
    let text = if with_misses {
        "frames<1,over-budget>0,failures>0"
    } else {
        "frames<1,over-budget>0"
    };
    crate::rules::parse_rules(text).expect("the default rules parse")
}

/// A run, read: the whole-run histograms and the logs' records.
#[derive(Debug)]
pub struct Run {
    hlog: Hlog,
    /// Whole-run histogram per tag.
    merged: BTreeMap<String, Histogram<u64>>,
    misses: Option<Vec<(u64, MissRecord)>>,
    frames: Option<Vec<(u64, FrameRecord)>>,
    skipped: Vec<Skipped>,
    budget_us: f64,
    budget_source: &'static str,
    sources: Sources,
}

impl Run {
    /// Reads the run's files. `budget_us` is `--budget`, if given.
    pub fn read(inputs: RunInputs<'_>, budget_us: Option<f64>) -> Run {
        let hlog = Hlog::parse(inputs.hlog.text, inputs.hlog.name);
        let mut skipped = hlog.skipped.clone();
        let misses = inputs
            .misses
            .map(|m| parse_lines::<MissRecord>(m.text, m.name, &mut skipped));
        let frames = inputs
            .frames
            .map(|f| parse_lines::<FrameRecord>(f.text, f.name, &mut skipped));
        let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
        for interval in &hlog.intervals {
            let tag = interval.tag.clone().unwrap_or_else(|| "(untagged)".into());
            let total = merged.entry(tag).or_insert_with(|| {
                Histogram::new(3).expect("3 significant digits is a valid histogram")
            });
            // An auto-resizing histogram takes any other's range.
            if let Err(e) = total.add(&interval.histogram) {
                skipped.push(Skipped {
                    file: inputs.hlog.name.to_owned(),
                    line: 0,
                    reason: format!("an interval could not be added up: {e:?}"),
                });
            }
        }
        let (budget_us, budget_source) = match budget_us {
            Some(b) => (b, "--budget"),
            None => match budget_from_log(misses.as_deref().unwrap_or_default()) {
                Some(b) => (b, "miss log"),
                None => budget_from_header(&hlog)
                    .map_or((DEFAULT_BUDGET_US, "default"), |b| (b, "hlog header")),
            },
        };
        let sources = Sources {
            hlog: inputs.hlog.name.to_owned(),
            misses: inputs.misses.map(|m| m.name.to_owned()),
            frames: inputs.frames.map(|f| f.name.to_owned()),
            start_time_s: hlog.start_time_s,
        };
        Run {
            hlog,
            merged,
            misses,
            frames,
            skipped,
            budget_us,
            budget_source,
            sources,
        }
    }

    /// The report, judged by `rules`.
    pub fn report(&self, rules: &[Rule]) -> Result<Report, RuleError> {
        let frames = self.frame_counts();
        let measures = Measures {
            run: self,
            counts: &frames,
        };
        let outcomes = rules
            .iter()
            .map(|rule| {
                let (actual, failed) = rule.evaluate(&measures)?;
                Ok(RuleOutcome {
                    rule: rule.text.clone(),
                    actual: rule.format_actual(actual),
                    failed,
                })
            })
            .collect::<Result<Vec<_>, RuleError>>()?;
        let misses = self.miss_rows();
        Ok(Report {
            verdict: verdict(&outcomes, &frames, self.budget_us),
            budget_us: self.budget_us,
            budget_source: self.budget_source.to_owned(),
            sources: self.sources.clone(),
            environment: self
                .hlog
                .comments
                .iter()
                .filter(|c| c.entry.key != "Module")
                .map(|c| c.entry.clone())
                .collect(),
            frames,
            stages: self.ordered().map(|(tag, h)| stage_stats(tag, h)).collect(),
            distributions: self
                .ordered()
                .map(|(tag, h)| Distribution {
                    stage: tag.to_owned(),
                    points: distribution(h),
                })
                .collect(),
            intervals: self.intervals(),
            miss_reasons: reason_counts(&misses),
            modules: self.modules(&misses),
            misses,
            rules: outcomes,
            skipped: self.skipped.clone(),
        })
    }

    /// The merged histograms, known stages first in frame-path order.
    fn ordered(&self) -> impl Iterator<Item = (&str, &Histogram<u64>)> {
        let known = STAGES
            .iter()
            .filter_map(|s| self.merged.get(*s).map(|h| (*s, h)));
        let unknown = self
            .merged
            .iter()
            .filter(|(tag, _)| !STAGES.contains(&tag.as_str()))
            .map(|(tag, h)| (tag.as_str(), h));
        known.chain(unknown)
    }

    fn end_to_end(&self) -> Option<&Histogram<u64>> {
        self.merged.get(END_TO_END)
    }

    fn records(&self) -> impl Iterator<Item = &MissRecord> {
        self.misses.iter().flatten().map(|(_, r)| r)
    }

    fn frame_counts(&self) -> FrameCounts {
        let ran = self.end_to_end().map_or(0, Histogram::len);
        let has_misses = self.misses.is_some();
        let count = |f: &dyn Fn(&MissRecord) -> bool| {
            has_misses.then(|| self.records().filter(|r| f(r)).count() as u64)
        };
        let dropped_sets = count(&|r| r.reason == "dropped_set").unwrap_or(0);
        let is_frame = |r: &MissRecord| !NOT_FRAMES.contains(&r.reason.as_str());
        let missed = count(&|r| is_frame(r));
        let failures = count(&|r| is_frame(r) && !NOT_FAILURES.contains(&r.reason.as_str()));
        let dropped_inputs = has_misses.then(|| {
            self.records()
                .filter(|r| r.reason == "dropped_input")
                .map(|r| r.dropped.unwrap_or(1))
                .sum()
        });
        let miss_rate = missed.map(|m| {
            let frames = (ran + dropped_sets).max(m);
            if frames == 0 {
                0.0
            } else {
                m as f64 / frames as f64
            }
        });
        FrameCounts {
            ran,
            dropped_sets,
            missed,
            miss_rate,
            failures,
            over_budget: self.end_to_end().map_or(0, |h| over(h, self.budget_us)),
            dropped_inputs,
            frames_logged: self.frames.as_ref().map(|f| f.len() as u64),
            frames_degraded: self
                .frames
                .as_ref()
                .map(|f| f.iter().filter(|(_, r)| r.degraded).count() as u64),
        }
    }

    /// Where miss times count from, ns (see the module docs).
    fn origin_ns(&self) -> i64 {
        let frames = self
            .frames
            .iter()
            .flatten()
            .filter_map(|(_, f)| f.trigger_log_time_ns);
        let earliest = self.records().map(|r| r.arrival_ns).chain(frames).min();
        let base = self.hlog.base_time_s.map(|s| (s * 1e9) as i64);
        match (earliest, base) {
            // A replay's `.hlog` counts from the recording's time too.
            (Some(t), Some(base)) if t > ABSOLUTE_NS && base <= t => base,
            (Some(t), _) if t > ABSOLUTE_NS => t,
            _ => 0,
        }
    }

    fn miss_rows(&self) -> Vec<MissRow> {
        let origin = self.origin_ns();
        self.misses
            .iter()
            .flatten()
            .map(|(line, r)| MissRow {
                line: *line,
                reason: r.reason.clone(),
                sequence: r.sequence,
                time_s: r.arrival_ns.saturating_sub(origin) as f64 / 1e9,
                trigger_stamp_ns: r.trigger_stamp_ns,
                end_to_end_us: r.stages_us.and_then(|s| s.end_to_end),
                module_exec_us: r.stages_us.and_then(|s| s.module_exec),
                missing: r.missing.clone(),
                sensor: r.sensor.clone(),
                dropped: r.dropped,
                trap: r.trap.clone(),
                module_sha256: r.module_sha256.clone(),
            })
            .collect()
    }

    fn intervals(&self) -> Vec<IntervalStats> {
        let mut intervals: Vec<IntervalStats> = self
            .hlog
            .intervals
            .iter()
            .filter(|i| i.tag.as_deref() == Some(END_TO_END))
            .map(|i| {
                let h = &i.histogram;
                let empty = h.is_empty();
                IntervalStats {
                    start_s: i.start_s,
                    length_s: i.length_s,
                    count: h.len(),
                    p50_us: if empty { 0 } else { h.value_at_quantile(0.5) },
                    p99_us: if empty { 0 } else { h.value_at_quantile(0.99) },
                    max_us: if empty { 0 } else { h.max() },
                }
            })
            .collect();
        intervals.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        intervals
    }

    /// Modules named by the `.hlog` (`#[Module: SHA256 detail]`, at the
    /// start or at a swap) and by the miss log, in order of appearance.
    fn modules(&self, misses: &[MissRow]) -> Vec<ModuleVersion> {
        let mut modules: Vec<ModuleVersion> = Vec::new();
        for comment in self
            .hlog
            .comments
            .iter()
            .filter(|c| c.entry.key == "Module")
        {
            let mut words = comment.entry.value.splitn(2, ' ');
            let sha256 = words.next().unwrap_or_default().to_owned();
            let detail = words.next().map(|d| d.trim().to_owned());
            let first_seen_s = match self.hlog.intervals.get(comment.after_intervals) {
                Some(next) => next.start_s,
                None => self
                    .hlog
                    .intervals
                    .last()
                    .map_or(0.0, |l| l.start_s + l.length_s),
            };
            if !modules.iter().any(|m| m.sha256 == sha256) {
                modules.push(ModuleVersion {
                    sha256,
                    detail,
                    first_seen_s: Some(first_seen_s),
                    misses: 0,
                });
            }
        }
        for miss in misses.iter().filter(|m| !m.module_sha256.is_empty()) {
            match modules.iter_mut().find(|m| m.sha256 == miss.module_sha256) {
                Some(module) => module.misses += 1,
                None => modules.push(ModuleVersion {
                    sha256: miss.module_sha256.clone(),
                    detail: None,
                    first_seen_s: Some(miss.time_s),
                    misses: 1,
                }),
            }
        }
        modules
    }
}

/// What rules read: the run, and its frame counts counted once.
struct Measures<'a> {
    run: &'a Run,
    counts: &'a FrameCounts,
}

impl Measured for Measures<'_> {
    fn latency(&self, stage: &str, stat: Stat) -> Option<f64> {
        let h = self.run.merged.get(stage)?;
        if h.is_empty() {
            return Some(0.0);
        }
        Some(match stat {
            Stat::Percentile(p) => h.value_at_quantile(quantile(p)) as f64,
            Stat::Max => h.max() as f64,
            Stat::Min => h.min() as f64,
            Stat::Mean => h.mean(),
        })
    }

    fn budget_us(&self) -> f64 {
        self.run.budget_us
    }

    fn metric(&self, metric: &Metric) -> Option<f64> {
        let counts = self.counts;
        let count = |c: Option<u64>| c.map(|c| c as f64);
        match metric {
            Metric::Latency { stage, stat } => self.latency(stage, *stat),
            Metric::MissRate => counts.miss_rate,
            Metric::Misses(None) => count(counts.missed),
            Metric::Misses(Some(reason)) => {
                let n = self.run.records().filter(|r| &r.reason == reason).count();
                self.run.misses.is_some().then_some(n as f64)
            }
            Metric::Failures => count(counts.failures),
            Metric::OverBudget => Some(counts.over_budget as f64),
            Metric::DroppedInputs => count(counts.dropped_inputs),
            Metric::Frames => Some(counts.ran as f64),
        }
    }
}

/// `percentile / 100` as the nearest double to the decimal: `99.9 / 100.0`
/// is 0.9990000000000001, which ranks one value higher than 0.999 (the
/// summary's quantile) in some histograms.
fn quantile(percentile: f64) -> f64 {
    (percentile * 1e6).round() / 1e8
}

/// The budget the miss log's lines carry, if they all agree.
fn budget_from_log(records: &[(u64, MissRecord)]) -> Option<f64> {
    let mut budgets = records.iter().filter_map(|(_, r)| r.budget_us);
    let first = budgets.next()?;
    budgets.all(|b| b == first).then_some(first)
}

/// `#[Budget: 10000 us]`, as the node writes it.
fn budget_from_header(hlog: &Hlog) -> Option<f64> {
    let comment = hlog.comments.iter().find(|c| c.entry.key == "Budget")?;
    let us: f64 = comment
        .entry
        .value
        .strip_suffix(" us")?
        .trim()
        .parse()
        .ok()?;
    (us.is_finite() && us > 0.0).then_some(us)
}

/// Values whose whole bucket lies above `budget_us`.
fn over(h: &Histogram<u64>, budget_us: f64) -> u64 {
    h.iter_recorded()
        .filter(|v| h.lowest_equivalent(v.value_iterated_to()) as f64 > budget_us)
        .map(|v| v.count_at_value())
        .sum()
}

fn stage_stats(stage: &str, h: &Histogram<u64>) -> StageStats {
    let q = |q: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(q)
        }
    };
    StageStats {
        stage: stage.to_owned(),
        count: h.len(),
        min_us: if h.is_empty() { 0 } else { h.min() },
        mean_us: if h.is_empty() { 0.0 } else { h.mean() },
        p50_us: q(0.5),
        p90_us: q(0.9),
        p99_us: q(0.99),
        p999_us: q(0.999),
        p9999_us: q(0.9999),
        max_us: if h.is_empty() { 0 } else { h.max() },
    }
}

/// The percentile distribution as HdrHistogram's own percentile output
/// gives it: 5 steps per halving of the distance to 100 %.
fn distribution(h: &Histogram<u64>) -> Vec<PercentilePoint> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<PercentilePoint> = h
        .iter_quantiles(5)
        .map(|v| PercentilePoint {
            percentile: (v.quantile_iterated_to() * 100.0).min(100.0),
            value_us: h.highest_equivalent(v.value_iterated_to()),
        })
        .collect();
    points.dedup_by(|b, a| a.percentile == b.percentile);
    points
}

fn reason_counts(misses: &[MissRow]) -> Vec<ReasonCount> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for miss in misses {
        *counts.entry(&miss.reason).or_default() += 1;
    }
    let mut counts: Vec<ReasonCount> = counts
        .into_iter()
        .map(|(reason, count)| ReasonCount {
            reason: reason.to_owned(),
            count,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    counts
}

fn verdict(rules: &[RuleOutcome], frames: &FrameCounts, budget_us: f64) -> Verdict {
    let failed: Vec<String> = rules
        .iter()
        .filter(|r| r.failed)
        .map(|r| format!("{} (actual {})", r.rule, r.actual))
        .collect();
    if failed.is_empty() {
        let misses = match frames.missed {
            Some(m) => format!(", {m} missed"),
            None => String::new(),
        };
        Verdict {
            pass: true,
            summary: format!(
                "PASS: {} frames against a {} ms budget{misses}; {} rules held",
                frames.ran,
                budget_us / 1_000.0,
                rules.len()
            ),
        }
    } else {
        Verdict {
            pass: false,
            summary: format!("FAIL: {}", failed.join("; ")),
        }
    }
}
