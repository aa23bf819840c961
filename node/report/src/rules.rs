//! The release gate: `--fail-on "miss-rate>0.001,p99.9>5ms"`.
//!
//! A rule is `METRIC OP VALUE`, rules are separated by commas, and the run
//! **fails when any rule's condition holds**. `OP` is `>`, `>=`, `<` or
//! `<=`. Metrics:
//!
//! | metric | value |
//! |---|---|
//! | `p50`, `p99.9`, any `pN`; `max`, `min`, `mean` | end-to-end latency |
//! | `STAGE.p99`, `module_exec.max`, ... | that stage's latency (`align_wait`, `frame_build`, `module_exec`, `publish`, `end_to_end`, `stamp_age`) |
//! | `miss-rate` | missed frames / frames (a number, or a percentage: `0.1%`) |
//! | `misses`, `misses.REASON` | missed frames, all or of one reason (`misses.deadline`) |
//! | `failures` | missed frames but `late` and `degraded`: the module's or node's fault |
//! | `over-budget` | end-to-end values over the budget |
//! | `dropped-inputs` | sensor messages dropped by full queues |
//! | `frames` | frames that ran |
//!
//! Latencies need a unit (`ns`, `us`, `µs`, `ms`, `s`) or the word
//! `budget`. Miss metrics need the miss log.

use std::fmt;
use std::str::FromStr;

use crate::model::STAGES;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Op {
    fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => actual > threshold,
            Op::Ge => actual >= threshold,
            Op::Lt => actual < threshold,
            Op::Le => actual <= threshold,
        }
    }
}

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// The percentile (0 to 100).
    Percentile(f64),
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// Mean.
    Mean,
}

/// What a rule measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// A latency of a stage (its `.hlog` tag).
    Latency {
        /// The stage.
        stage: &'static str,
        /// The statistic.
        stat: Stat,
    },
    /// Missed frames over frames.
    MissRate,
    /// Missed frames, of one reason or all.
    Misses(Option<String>),
    /// Missed frames that failed.
    Failures,
    /// End-to-end values over the budget.
    OverBudget,
    /// Sensor messages dropped.
    DroppedInputs,
    /// Frames that ran.
    Frames,
}

/// A threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A duration, µs; `unit` is how it was written, to answer in kind.
    Duration {
        /// Microseconds.
        us: f64,
        /// `ns`, `us`, `ms` or `s`.
        unit: &'static str,
    },
    /// The report's budget.
    Budget,
    /// A plain number (a count or a fraction).
    Number(f64),
    /// A percentage, as a fraction.
    Percent(f64),
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// As written, trimmed.
    pub text: String,
    /// What it measures.
    pub metric: Metric,
    /// The comparison.
    pub op: Op,
    /// The threshold.
    pub threshold: Threshold,
}

/// Why a rule does not parse, or cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule text is wrong.
    #[error("rule {rule:?}: {why}")]
    Syntax {
        /// The rule.
        rule: String,
        /// What is wrong.
        why: String,
    },
    /// The rule needs an input the report was not given.
    #[error("rule {rule:?} needs {needs}")]
    NeedsInput {
        /// The rule.
        rule: String,
        /// The missing input.
        needs: &'static str,
    },
}

/// Parses comma-separated rules (empty parts are ignored).
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, RuleError> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::parse)
        .collect()
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        let syntax = |why: String| RuleError::Syntax {
            rule: text.to_owned(),
            why,
        };
        let at = text
            .find(['<', '>'])
            .ok_or_else(|| syntax("no comparison (>, >=, <, <=)".into()))?;
        let (metric, rest) = text.split_at(at);
        let (op, value) = match rest.as_bytes() {
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', ..] => (Op::Gt, &rest[1..]),
            _ => (Op::Lt, &rest[1..]),
        };
        let metric = parse_metric(metric.trim()).map_err(syntax)?;
        let threshold = parse_threshold(value.trim()).map_err(syntax)?;
        let fits = match (&metric, threshold) {
            (Metric::Latency { .. }, Threshold::Duration { .. } | Threshold::Budget) => true,
            (Metric::Latency { .. }, _) => false,
            (Metric::MissRate, Threshold::Number(_) | Threshold::Percent(_)) => true,
            (_, Threshold::Number(n)) => n >= 0.0 && n.fract() == 0.0,
            _ => false,
        };
        if !fits {
            let want = match metric {
                Metric::Latency { .. } => "a duration with a unit (5ms, 800us) or `budget`",
                Metric::MissRate => "a fraction (0.001) or a percentage (0.1%)",
                _ => "a whole number",
            };
            return Err(syntax(format!("the value {value:?} is not {want}")));
        }
        Ok(Rule {
            text: text.to_owned(),
            metric,
            op,
            threshold,
        })
    }
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    let lower = name.to_ascii_lowercase();
    let simple = match lower.as_str() {
        "miss-rate" | "miss_rate" => Some(Metric::MissRate),
        "misses" => Some(Metric::Misses(None)),
        "failures" => Some(Metric::Failures),
        "over-budget" | "over_budget" => Some(Metric::OverBudget),
        "dropped-inputs" | "dropped_inputs" => Some(Metric::DroppedInputs),
        "frames" => Some(Metric::Frames),
        _ => None,
    };
    if let Some(metric) = simple {
        return Ok(metric);
    }
    if let Some(reason) = lower.strip_prefix("misses.") {
        return Ok(Metric::Misses(Some(reason.to_owned())));
    }
    // `p99.9` has a dot of its own: a stage prefix is whatever comes before
    // the first dot, unless the name starts as a statistic does.
    let (stage, stat) = match parse_stat(&lower) {
        Some(stat) => ("EndToEnd", stat),
        None => {
            let (stage, stat) = lower
                .split_once('.')
                .ok_or_else(|| format!("unknown metric {name:?}"))?;
            let stage = stage_named(stage).ok_or_else(|| format!("unknown stage {stage:?}"))?;
            let stat = parse_stat(stat).ok_or_else(|| format!("unknown statistic {stat:?}"))?;
            (stage, stat)
        }
    };
    Ok(Metric::Latency { stage, stat })
}

fn parse_stat(s: &str) -> Option<Stat> {
    match s {
        "max" => Some(Stat::Max),
        "min" => Some(Stat::Min),
        "mean" => Some(Stat::Mean),
        _ => {
            let p: f64 = s.strip_prefix('p')?.parse().ok()?;
            (0.0..=100.0).contains(&p).then_some(Stat::Percentile(p))
        }
    }
}

/// The stage a rule names, in any case, with or without `_` or `-`.
fn stage_named(name: &str) -> Option<&'static str> {
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    let name = squash(name);
    STAGES.into_iter().find(|stage| squash(stage) == name)
}

fn parse_threshold(value: &str) -> Result<Threshold, String> {
    if value.eq_ignore_ascii_case("budget") {
        return Ok(Threshold::Budget);
    }
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let n: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("{value:?} is not a non-negative number"))?;
    let duration = |scale: f64, unit| Threshold::Duration {
        us: n * scale,
        unit,
    };
    Ok(match unit.trim() {
        "" => Threshold::Number(n),
        "%" => Threshold::Percent(n / 100.0),
        "ns" => duration(0.001, "ns"),
        "us" | "µs" => duration(1.0, "us"),
        "ms" => duration(1_000.0, "ms"),
        "s" => duration(1_000_000.0, "s"),
        other => return Err(format!("unknown unit {other:?} (ns, us, ms, s, %)")),
    })
}

/// What rules are evaluated against.
pub trait Measured {
    /// A stage's latency, µs; `None` if the log has no such stage.
    fn latency(&self, stage: &str, stat: Stat) -> Option<f64>;
    /// The budget, µs.
    fn budget_us(&self) -> f64;
    /// A count or rate; `None` when its input is missing.
    fn metric(&self, metric: &Metric) -> Option<f64>;
}

impl Rule {
    /// Evaluates the rule: its metric's value, and whether the run fails.
    pub fn evaluate(&self, run: &impl Measured) -> Result<(f64, bool), RuleError> {
        let actual = match &self.metric {
            Metric::Latency { stage, stat } => run.latency(stage, *stat).unwrap_or(0.0),
            other => run.metric(other).ok_or_else(|| RuleError::NeedsInput {
                rule: self.text.clone(),
                needs: "the miss log (--misses)",
            })?,
        };
        let threshold = match self.threshold {
            Threshold::Duration { us, .. } => us,
            Threshold::Budget => run.budget_us(),
            Threshold::Number(n) | Threshold::Percent(n) => n,
        };
        Ok((actual, self.op.holds(actual, threshold)))
    }

    /// `actual` in the unit the rule's threshold was written in.
    pub fn format_actual(&self, actual: f64) -> String {
        match self.threshold {
            Threshold::Duration { unit, .. } => {
                let scale = match unit {
                    "ns" => 0.001,
                    "us" => 1.0,
                    "ms" => 1_000.0,
                    _ => 1_000_000.0,
                };
                format!("{}{unit}", trim_float(actual / scale))
            }
            Threshold::Budget => format!("{}ms", trim_float(actual / 1_000.0)),
            Threshold::Percent(_) => format!("{}%", trim_float(actual * 100.0)),
            Threshold::Number(_) if self.metric == Metric::MissRate => trim_float(actual),
            Threshold::Number(_) => format!("{actual:.0}"),
        }
    }
}

/// Up to 4 significant decimals, without trailing zeros.
fn trim_float(x: f64) -> String {
    let s = if x != 0.0 && x.abs() < 0.001 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    };
    if s.contains('e') || !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
