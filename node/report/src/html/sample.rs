//! Realistic reports built by hand, for the tests and the browser check.

use crate::*;

/// A deterministic pseudo-random sequence in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub(super) const HASH_A: &str = "3f9a2c41d8e07b5566aa01c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c";
pub(super) const HASH_B: &str = "b71e09aa4c3d2e1f00112233445566778899aabbccddeeff0011223344556677";

/// Percentile points the way HdrHistogram's percentile iteration gives
/// them for about 6,000 values: halving steps towards 100, then 100 itself
/// (the slowest frame, a little above the rest).
fn distribution(stage: &str, base_us: f64, tail_us: f64) -> Distribution {
    let mut points: Vec<PercentilePoint> = (0..=12)
        .map(|k| 100.0 - 100.0 / 2f64.powi(k))
        .map(|p| PercentilePoint {
            percentile: p,
            value_us: (base_us + tail_us * (1.0 / (1.0 - p / 100.0)).log10().powf(1.6)) as u64,
        })
        .collect();
    points.push(PercentilePoint {
        percentile: 100.0,
        value_us: (base_us + tail_us * 12.0) as u64,
    });
    Distribution {
        stage: stage.into(),
        points,
    }
}

fn stats(stage: &str, d: &Distribution, count: u64) -> StageStats {
    let at = |p: f64| {
        d.points
            .iter()
            .find(|x| x.percentile >= p)
            .map_or(0, |x| x.value_us)
    };
    StageStats {
        stage: stage.into(),
        count,
        min_us: at(0.0),
        mean_us: at(50.0) as f64 * 1.07,
        p50_us: at(50.0),
        p90_us: at(90.0),
        p99_us: at(99.0),
        p999_us: at(99.9),
        p9999_us: at(99.99),
        max_us: at(100.0),
    }
}

fn miss(line: u64, reason: &str, t: f64, hash: &str) -> MissRow {
    MissRow {
        line,
        reason: reason.into(),
        sequence: (reason != "dropped_input").then_some(line * 7 + 100),
        time_s: t,
        trigger_stamp_ns: Some(1_750_000_000_000_000_000 + (t * 1e9) as i64),
        end_to_end_us: matches!(reason, "deadline" | "late")
            .then_some(11_800.0 + 90.0 * line as f64),
        module_exec_us: (reason == "deadline").then_some(9_400.0),
        missing: if reason == "degraded" {
            vec!["lidar_front".into(), "radar_left".into()]
        } else {
            vec![]
        },
        sensor: (reason == "dropped_input").then(|| "camera_rear".into()),
        dropped: (reason == "dropped_input").then_some(3),
        trap: (reason == "trap").then(|| "memory_out_of_bounds".into()),
        module_sha256: hash.into(),
    }
}

/// A realistic 60 s run; `fail` adds misses of several reasons, a hot swap
/// at 40 s and failed rules.
pub(super) fn sample_report(fail: bool) -> Report {
    let scale = if fail { 1.6 } else { 1.0 };
    let run = if fail { "pr-1187" } else { "main" };
    let shapes = [
        ("AlignWait", 600.0, 250.0),
        ("FrameBuild", 180.0, 40.0),
        ("ModuleExec", 2_400.0, 400.0),
        ("Publish", 90.0, 30.0),
        ("EndToEnd", 3_500.0, 500.0),
        ("StampAge", 5_200.0, 700.0),
    ];
    let distributions: Vec<Distribution> = shapes
        .iter()
        .map(|&(s, b, t)| distribution(s, b * scale, t * scale))
        .collect();
    let stages: Vec<StageStats> = shapes
        .iter()
        .zip(&distributions)
        .map(|(s, d)| stats(s.0, d, 5_940))
        .collect();
    let e2e_p999_ms = stages[4].p999_us as f64 / 1000.0;
    let mut rng = Lcg(7);
    let intervals = (0..60)
        .map(|i| {
            let count = if i == 30 { 0 } else { 99 };
            let spike = if i == 12 || i == 47 { 1.4 } else { 1.0 };
            let p50 = (3_450.0 + 150.0 * (i as f64 / 6.0).sin() + 100.0 * rng.next()) * scale;
            let p99 = p50 * (1.35 + 0.1 * rng.next()) * spike;
            let empty = |v: f64| if count == 0 { 0 } else { v as u64 };
            IntervalStats {
                start_s: i as f64,
                length_s: 1.0,
                count,
                p50_us: empty(p50),
                p99_us: empty(p99),
                max_us: empty(p99 * 1.3),
            }
        })
        .collect();
    let mut misses = Vec::new();
    if fail {
        let reasons = [
            "deadline",
            "deadline",
            "deadline",
            "late",
            "trap",
            "degraded",
            "dropped_input",
            "dropped_set",
        ];
        for k in 0..40 {
            let t = 0.5 + 59.0 * rng.next();
            misses.push(miss(
                k + 1,
                reasons[(rng.next() * reasons.len() as f64) as usize],
                t,
                if t < 40.0 { HASH_A } else { HASH_B },
            ));
        }
        misses.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
        for (k, m) in misses.iter_mut().enumerate() {
            m.line = k as u64 + 1;
            m.sequence = m.sequence.map(|_| (m.time_s * 99.0) as u64);
        }
    }
    let mut miss_reasons: Vec<ReasonCount> = Vec::new();
    for m in &misses {
        match miss_reasons.iter_mut().find(|c| c.reason == m.reason) {
            Some(c) => c.count += 1,
            None => miss_reasons.push(ReasonCount {
                reason: m.reason.clone(),
                count: 1,
            }),
        }
    }
    miss_reasons.sort_by_key(|c| std::cmp::Reverse(c.count));
    let module = |sha: &str, path: &str, t: f64| ModuleVersion {
        sha256: sha.into(),
        detail: Some(path.into()),
        first_seen_s: Some(t),
        misses: misses.iter().filter(|m| m.module_sha256 == sha).count() as u64,
    };
    let mut modules = vec![module(HASH_A, "fusion-modules/reference.wasm", 0.0)];
    if fail {
        modules.push(module(HASH_B, "fusion-modules/reference-v2.wasm", 40.0));
    }
    let missed = misses
        .iter()
        .filter(|m| m.reason != "dropped_input")
        .count() as u64;
    let failures = misses
        .iter()
        .filter(|m| !matches!(m.reason.as_str(), "late" | "degraded" | "dropped_input"))
        .count() as u64;
    let miss_pct = missed as f64 / 5_940.0 * 100.0;
    let rules = vec![
        RuleOutcome {
            rule: "p99.9>10ms".into(),
            actual: format!("{e2e_p999_ms:.2}ms"),
            failed: e2e_p999_ms > 10.0,
        },
        RuleOutcome {
            rule: "miss-rate>1%".into(),
            actual: format!("{miss_pct:.2}%"),
            failed: miss_pct > 1.0,
        },
        RuleOutcome {
            rule: "failures>0".into(),
            actual: failures.to_string(),
            failed: failures > 0,
        },
    ];
    let failed: Vec<&str> = rules
        .iter()
        .filter(|r| r.failed)
        .map(|r| r.rule.as_str())
        .collect();
    let env = [
        ("Host", "qa-bench-03"),
        ("CPU", "AMD EPYC 7B13 (2 cores)"),
        ("Build", "fusion-node 0.1.0 (release, rustc 1.95.0)"),
        ("Launch", "launch/highway.toml"),
    ];
    Report {
        verdict: Verdict {
            pass: failed.is_empty(),
            summary: if failed.is_empty() {
                format!("All {} rules held.", rules.len())
            } else {
                format!("Failed {}.", failed.join(" and "))
            },
        },
        budget_us: 10_000.0,
        budget_source: "--budget".into(),
        sources: Sources {
            hlog: format!("runs/{run}/run.hlog"),
            misses: Some(format!("runs/{run}/misses.jsonl")),
            frames: None,
            start_time_s: Some(1_750_000_000.25),
        },
        environment: env
            .iter()
            .map(|(k, v)| EnvEntry {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect(),
        frames: FrameCounts {
            ran: 5_940,
            dropped_sets: misses.iter().filter(|m| m.reason == "dropped_set").count() as u64,
            missed: Some(missed),
            miss_rate: Some(missed as f64 / 5_940.0),
            failures: Some(failures),
            over_budget: if fail { 31 } else { 0 },
            dropped_inputs: Some(
                misses
                    .iter()
                    .filter(|m| m.reason == "dropped_input")
                    .count() as u64
                    * 3,
            ),
            frames_logged: None,
            frames_degraded: None,
        },
        stages,
        distributions,
        intervals,
        miss_reasons,
        misses,
        modules,
        rules,
        skipped: if fail {
            vec![Skipped {
                file: format!("runs/{run}/misses.jsonl"),
                line: 17,
                reason: "expected `,` or `}` at column 48".into(),
            }]
        } else {
            vec![]
        },
    }
}

/// A run with no frames at all: nothing to plot.
pub(super) fn empty_report() -> Report {
    let mut r = sample_report(false);
    r.frames = FrameCounts {
        ran: 0,
        dropped_sets: 0,
        missed: None,
        miss_rate: None,
        failures: None,
        over_budget: 0,
        dropped_inputs: None,
        frames_logged: None,
        frames_degraded: None,
    };
    r.stages.clear();
    r.distributions.clear();
    r.intervals.clear();
    r.modules.clear();
    r.rules.clear();
    r.environment.clear();
    r.sources.misses = None;
    r.sources.start_time_s = None;
    r.verdict.summary = "No frames ran.".into();
    r
}

pub(super) fn sample_comparison() -> Comparison {
    let baseline = sample_report(false);
    let candidate = sample_report(true);
    let mut rows = Vec::new();
    for (b, c) in baseline.stages.iter().zip(&candidate.stages) {
        for (metric, bv, cv) in [
            ("p50", b.p50_us, c.p50_us),
            ("p99", b.p99_us, c.p99_us),
            ("max", b.max_us, c.max_us),
        ] {
            let ratio = (bv > 0).then(|| cv as f64 / bv as f64);
            rows.push(ComparisonRow {
                stage: b.stage.clone(),
                metric: metric.into(),
                baseline: bv as f64,
                candidate: cv as f64,
                ratio,
                regression: ratio.is_some_and(|r| r > 1.1) && cv - bv > 200,
            });
        }
    }
    rows.push(ComparisonRow {
        stage: "misses".into(),
        metric: "miss-rate".into(),
        baseline: 0.0,
        candidate: candidate.frames.miss_rate.unwrap_or(0.0),
        ratio: None,
        regression: true,
    });
    let regressions = rows.iter().filter(|r| r.regression).count();
    Comparison {
        verdict: Verdict {
            pass: false,
            summary: format!(
                "The candidate regressed in {regressions} metrics and failed its rules."
            ),
        },
        tolerance: 0.1,
        min_change_us: 200.0,
        baseline,
        candidate,
        rows,
    }
}
