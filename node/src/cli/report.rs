//! `fusion-node report`: the QA report and release gate on a run's
//! `.hlog` and miss log, or two runs side by side (`fusion-report`).
//!
//! Exit codes: 0 the gate passed, 1 it failed (a rule held, or the
//! candidate regressed), 2 a usage error or an unreadable file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use fusion_report::{
    Comparison, Input, Report, Rule, Run, RunInputs, compare, comparison_html, comparison_markdown,
    default_rules, parse_rules, report_html, report_markdown,
};

use super::CliError;
use crate::launch::parse_duration;

#[derive(Debug, Args)]
#[command(after_help = "\
Rules (--fail-on, comma-separated; the run fails when any holds):
  p99.9>5ms  max>budget  module_exec.p99>2ms  miss-rate>0.001  miss-rate>0.1%
  misses>0  misses.deadline>0  failures>0  over-budget>0  dropped-inputs>100  frames<1000
Without --fail-on a run fails when no frame ran, a frame was over the budget,
or (with --misses) a frame failed: frames<1,over-budget>0,failures>0.

Examples:
  fusion-node report --hlog logs/latency.hlog --misses logs/misses.jsonl -o report.html
  fusion-node report --hlog run.hlog --misses misses.jsonl --fail-on 'miss-rate>0.001,p99.9>5ms'
  fusion-node report --baseline a.hlog --candidate b.hlog -o compare.html")]
pub struct ReportArgs {
    /// The run's `.hlog` interval log (`[logs] hlog` in the launch file).
    #[arg(long, value_name = "FILE", required_unless_present = "candidate")]
    hlog: Option<PathBuf>,
    /// The run's miss log (`[logs] miss_log`).
    #[arg(long, value_name = "FILE")]
    misses: Option<PathBuf>,
    /// The frames log of an offline replay (`replay --offline --frames-log`).
    #[arg(long, value_name = "FILE")]
    frames: Option<PathBuf>,
    /// The deadline budget to judge against [default: the miss log's,
    /// else 10ms].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    budget: Option<Duration>,
    /// Where to write the report [default: markdown on stdout].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The report's format [default: from the -o extension: .html, .json,
    /// .md; else html].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Release-gate rules: exit 1 when any holds (see below).
    #[arg(long, value_name = "RULES")]
    fail_on: Option<String>,
    /// Compare runs: the baseline's `.hlog`.
    #[arg(long, value_name = "FILE", requires = "candidate", conflicts_with_all = ["hlog", "misses", "frames"])]
    baseline: Option<PathBuf>,
    /// Compare runs: the candidate's `.hlog` (rules apply to it).
    #[arg(long, value_name = "FILE", requires = "baseline")]
    candidate: Option<PathBuf>,
    /// The baseline's miss log.
    #[arg(long, value_name = "FILE", requires = "baseline")]
    baseline_misses: Option<PathBuf>,
    /// The candidate's miss log.
    #[arg(long, value_name = "FILE", requires = "candidate")]
    candidate_misses: Option<PathBuf>,
    /// A candidate slower by more than this (10% or 0.1) has regressed...
    #[arg(long, value_name = "FRACTION", default_value = "10%", value_parser = parse_fraction)]
    tolerance: f64,
    /// ...if also slower by more than this.
    #[arg(long, value_name = "DURATION", default_value = "20us", value_parser = parse_duration)]
    min_change: Duration,
}

/// A report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Html,
    Json,
    Markdown,
}

pub fn run(args: ReportArgs) -> Result<(), CliError> {
    let format = match (args.format, &args.output) {
        (Some(format), _) => format,
        (None, Some(path)) => match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("md" | "markdown") => Format::Markdown,
            _ => Format::Html,
        },
        (None, None) => Format::Markdown,
    };
    let rules = match &args.fail_on {
        Some(text) => Some(parse_rules(text).map_err(|e| CliError::usage(e.to_string()))?),
        None => None,
    };
    let budget_us = args.budget.map(|b| b.as_secs_f64() * 1e6);
    let (text, pass, summary, skipped) = match (&args.baseline, &args.candidate) {
        (Some(baseline), Some(candidate)) => {
            let side = |hlog: &Path, misses: Option<&Path>, rules: &[Rule]| {
                report_of(hlog, misses, None, budget_us, rules)
            };
            let b = side(baseline, args.baseline_misses.as_deref(), &[])?;
            let candidate_rules = rules.unwrap_or_default();
            let c = side(
                candidate,
                args.candidate_misses.as_deref(),
                &candidate_rules,
            )?;
            let min_change_us = args.min_change.as_secs_f64() * 1e6;
            let comparison = compare(b, c, args.tolerance, min_change_us);
            let skipped = comparison.baseline.skipped.len() + comparison.candidate.skipped.len();
            (
                render_comparison(&comparison, format)?,
                comparison.verdict.pass,
                comparison.verdict.summary,
                skipped,
            )
        }
        _ => {
            let hlog = args.hlog.as_deref().ok_or_else(|| {
                CliError::usage("report needs --hlog FILE (or --baseline and --candidate)")
            })?;
            let rules = rules.unwrap_or_else(|| default_rules(args.misses.is_some()));
            let report = report_of(
                hlog,
                args.misses.as_deref(),
                args.frames.as_deref(),
                budget_us,
                &rules,
            )?;
            let skipped = report.skipped.len();
            (
                render(&report, format)?,
                report.verdict.pass,
                report.verdict.summary,
                skipped,
            )
        }
    };
    if skipped > 0 {
        eprintln!("warning: {skipped} unreadable input lines skipped (listed in the report)");
    }
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| CliError::failure(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("report: {}", path.display());
        }
        None => print!("{text}"),
    }
    if pass {
        eprintln!("{summary}");
        Ok(())
    } else {
        Err(CliError::failure(summary))
    }
}

fn report_of(
    hlog: &Path,
    misses: Option<&Path>,
    frames: Option<&Path>,
    budget_us: Option<f64>,
    rules: &[Rule],
) -> Result<Report, CliError> {
    let hlog_text = read(hlog)?;
    let misses_text = misses.map(read).transpose()?;
    let frames_text = frames.map(read).transpose()?;
    let names: Vec<String> = [Some(hlog), misses, frames]
        .iter()
        .map(|p| p.map_or_else(String::new, |p| p.display().to_string()))
        .collect();
    let run = Run::read(
        RunInputs {
            hlog: Input {
                name: &names[0],
                text: &hlog_text,
            },
            misses: input(&names[1], misses_text.as_deref()),
            frames: input(&names[2], frames_text.as_deref()),
        },
        budget_us,
    );
    run.report(rules)
        .map_err(|e| CliError::usage(e.to_string()))
}

fn input<'a>(name: &'a str, text: Option<&'a str>) -> Option<Input<'a>> {
    text.map(|text| Input { name, text })
}

/// A file's text; bytes that are not UTF-8 become U+FFFD, and the lines
/// holding them fail to parse and are listed as skipped.
fn read(path: &Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn render(report: &Report, format: Format) -> Result<String, CliError> {
    Ok(match format {
        Format::Html => report_html(report),
        Format::Markdown => report_markdown(report),
        Format::Json => json(report)?,
    })
}

fn render_comparison(c: &Comparison, format: Format) -> Result<String, CliError> {
    Ok(match format {
        Format::Html => comparison_html(c),
        Format::Markdown => comparison_markdown(c),
        Format::Json => json(c)?,
    })
}

fn json(value: &impl serde::Serialize) -> Result<String, CliError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failure(format!("cannot encode the report: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// `10%` or `0.1`.
fn parse_fraction(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (text, 1.0),
    };
    f64::from_str(number.trim())
        .ok()
        .map(|n| n * scale)
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or_else(|| format!("{text:?} is not a fraction (0.1) or a percentage (10%)"))
}
