//! Two runs side by side: `report --baseline a.hlog --candidate b.hlog`.
//!
//! A percentile of a stage regresses when the candidate is slower than the
//! baseline by more than the tolerance (a fraction) **and** by more than
//! `min_change_us`, so a 2 µs stage that became 3 µs is not flagged. The
//! maximum is shown but never flagged: it is one frame. The miss rate
//! regresses when it grew beyond the tolerance.

use crate::model::*;

/// A compared statistic: its name, how to read it, whether it can regress.
type Compared = (&'static str, fn(&StageStats) -> u64, bool);

/// The statistics compared.
const COMPARED: [Compared; 5] = [
    ("p50", |s| s.p50_us, true),
    ("p90", |s| s.p90_us, true),
    ("p99", |s| s.p99_us, true),
    ("p99.9", |s| s.p999_us, true),
    ("max", |s| s.max_us, false),
];

/// Compares two reports. The verdict fails on a regression or on a rule
/// the candidate failed.
pub fn compare(
    baseline: Report,
    candidate: Report,
    tolerance: f64,
    min_change_us: f64,
) -> Comparison {
    let mut rows = Vec::new();
    for base in &baseline.stages {
        let Some(cand) = candidate.stages.iter().find(|s| s.stage == base.stage) else {
            continue;
        };
        for (metric, value, flagged) in COMPARED {
            let (b, c) = (value(base) as f64, value(cand) as f64);
            rows.push(ComparisonRow {
                stage: base.stage.clone(),
                metric: metric.to_owned(),
                baseline: b,
                candidate: c,
                ratio: ratio(b, c),
                regression: flagged && c > b * (1.0 + tolerance) && c - b > min_change_us,
            });
        }
    }
    if let (Some(b), Some(c)) = (baseline.frames.miss_rate, candidate.frames.miss_rate) {
        rows.push(ComparisonRow {
            stage: "misses".into(),
            metric: "miss-rate".into(),
            baseline: b,
            candidate: c,
            ratio: ratio(b, c),
            regression: c > b * (1.0 + tolerance),
        });
    }
    let regressions: Vec<String> = rows
        .iter()
        .filter(|r| r.regression)
        .map(|r| format!("{} {}", r.stage, r.metric))
        .collect();
    let verdict = if regressions.is_empty() && candidate.verdict.pass {
        Verdict {
            pass: true,
            summary: format!(
                "PASS: no regression beyond {}% and {} µs; {}",
                tolerance * 100.0,
                min_change_us,
                candidate.verdict.summary
            ),
        }
    } else {
        let mut why = Vec::new();
        if !regressions.is_empty() {
            why.push(format!("regressions in {}", regressions.join(", ")));
        }
        if !candidate.verdict.pass {
            why.push(format!("candidate {}", candidate.verdict.summary));
        }
        Verdict {
            pass: false,
            summary: format!("FAIL: {}", why.join("; ")),
        }
    };
    Comparison {
        verdict,
        tolerance,
        min_change_us,
        baseline,
        candidate,
        rows,
    }
}

fn ratio(baseline: f64, candidate: f64) -> Option<f64> {
    (baseline > 0.0).then(|| candidate / baseline)
}
