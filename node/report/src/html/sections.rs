//! The sections of a one-run report, in page order.

use super::plots::{self, Curve};
use super::summary::{key_figures, verdict};
use super::svg::{self, Swap};
use super::timeline;
use super::{MAX_ROWS, esc, fmt_int, fmt_ms, fmt_s, utc};
use crate::{END_TO_END, MissRow, Report, StageStats};

/// Every section of the report on one run.
pub(super) fn report_body(out: &mut String, r: &Report) {
    let failed = r.rules.iter().filter(|x| x.failed).count();
    let sub = format!(
        "Budget {} ({}) · {} rule{}, {failed} failed",
        esc(&fmt_ms(r.budget_us)),
        esc(&r.budget_source),
        r.rules.len(),
        if r.rules.len() == 1 { "" } else { "s" }
    );
    verdict(out, &r.verdict, &sub, &r.rules);
    out.push_str("<section id=\"key-figures\"><h2>Key figures</h2>");
    key_figures(out, r);
    out.push_str("</section>\n");

    out.push_str("<section id=\"distribution\"><h2>End-to-end latency by percentile</h2>");
    let curves: Vec<Curve> = r
        .distributions
        .iter()
        .map(|d| Curve {
            label: d.stage.clone(),
            color: svg::stage_color(&d.stage),
            strong: d.stage == END_TO_END,
            points: d
                .points
                .iter()
                .map(|p| (p.percentile, p.value_us as f64))
                .collect(),
        })
        .collect();
    out.push_str(&plots::distribution(
        &curves,
        r.budget_us / 1000.0,
        "Latency by percentile",
    ));
    out.push_str("<p class=\"note\">Percentile axis log-scaled as 1/(1 − p); EndToEnd bold, the other stages lighter; dashed: the budget. Hover the dots for values.</p></section>\n");

    out.push_str("<section id=\"stages\"><h2>Per-stage breakdown</h2>");
    out.push_str(&plots::stage_bars(&r.stages, r.budget_us / 1000.0));
    stage_table(out, &r.stages);
    out.push_str("</section>\n");

    let swaps: Vec<Swap> = r
        .modules
        .iter()
        .skip(1)
        .filter_map(|m| {
            m.first_seen_s.map(|t_s| Swap {
                t_s,
                sha256: m.sha256.clone(),
            })
        })
        .collect();
    out.push_str("<section id=\"over-time\"><h2>End-to-end latency over time</h2>");
    out.push_str(&plots::over_time(
        &r.intervals,
        r.budget_us / 1000.0,
        &swaps,
    ));
    out.push_str("<p class=\"note\">Per <code>.hlog</code> interval; gaps are intervals without frames; dotted: a module hot swap.</p></section>\n");

    let reasons = reasons(r);
    let t_end = r
        .intervals
        .iter()
        .map(|i| i.start_s + i.length_s)
        .fold(0.0, f64::max);
    out.push_str("<section id=\"misses-timeline\"><h2>Timeline of misses</h2>");
    out.push_str(&timeline::misses_timeline(
        &r.misses, &reasons, t_end, &swaps,
    ));
    if r.sources.misses.is_none() {
        out.push_str("<p class=\"note\">No miss log was given.</p>");
    }
    out.push_str("</section>\n");
    misses_table(out, &r.misses, &reasons);
    modules(out, r);
    environment(out, r);
    skipped(out, r);
}

fn stage_table(out: &mut String, stages: &[StageStats]) {
    out.push_str("<table class=\"stages\"><thead><tr><th>Stage</th><th class=\"num\">Count</th><th class=\"num\">Min</th><th class=\"num\">Mean</th><th class=\"num\">p50</th><th class=\"num\">p90</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th><th class=\"num\">p99.99</th><th class=\"num\">Max</th></tr></thead><tbody>");
    for s in stages {
        w!(
            out,
            "<tr><td><span class=\"dot\" style=\"background:{}\"></span>{}</td><td class=\"num\">{}</td>",
            svg::stage_color(&s.stage),
            esc(&s.stage),
            fmt_int(s.count)
        );
        for us in [
            s.min_us as f64,
            s.mean_us,
            s.p50_us as f64,
            s.p90_us as f64,
            s.p99_us as f64,
            s.p999_us as f64,
            s.p9999_us as f64,
            s.max_us as f64,
        ] {
            w!(out, "<td class=\"num\">{}</td>", fmt_ms(us));
        }
        out.push_str("</tr>");
    }
    if stages.is_empty() {
        out.push_str("<tr><td colspan=\"10\">No stage recorded a value.</td></tr>");
    }
    out.push_str("</tbody></table>");
}

/// Reasons in the order of `miss_reasons` (most frequent first), then any
/// the counts leave out.
fn reasons(r: &Report) -> Vec<String> {
    let mut reasons: Vec<String> = r.miss_reasons.iter().map(|c| c.reason.clone()).collect();
    for m in &r.misses {
        if !reasons.contains(&m.reason) {
            reasons.push(m.reason.clone());
        }
    }
    reasons
}

fn short_hash(h: &str) -> String {
    let short: String = h.chars().take(12).collect();
    format!(
        "<span class=\"hash\" title=\"{}\">{}</span>",
        esc(h),
        esc(&short)
    )
}

fn misses_table(out: &mut String, misses: &[MissRow], reasons: &[String]) {
    out.push_str("<section id=\"misses\"><h2>Misses</h2>");
    if misses.is_empty() {
        out.push_str("<p class=\"note\">No misses.</p></section>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table class=\"misses\"><thead><tr><th class=\"num\">Line</th><th class=\"num\">Sequence</th><th class=\"num\">Time</th><th>Reason</th><th>Trap</th><th class=\"num\">End-to-end</th><th class=\"num\">Module exec</th><th>Missing sensors</th><th>Sensor / dropped</th><th>Module</th></tr></thead><tbody>");
    let opt_ms = |v: Option<f64>| v.map_or_else(|| "–".into(), fmt_ms);
    for m in misses.iter().take(MAX_ROWS) {
        let k = reasons.iter().position(|r| r == &m.reason).unwrap_or(0);
        let sensor = match (&m.sensor, m.dropped) {
            (Some(s), Some(n)) => format!("{} / {}", esc(s), fmt_int(n)),
            (Some(s), None) => esc(s),
            (None, Some(n)) => fmt_int(n),
            (None, None) => String::new(),
        };
        w!(
            out,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"reason\"><span class=\"dot\" style=\"background:{}\"></span>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{sensor}</td><td>{}</td></tr>",
            m.line,
            m.sequence.map_or_else(|| "–".into(), |s| s.to_string()),
            fmt_s(m.time_s),
            svg::reason_color(k),
            esc(&m.reason),
            esc(m.trap.as_deref().unwrap_or("")),
            opt_ms(m.end_to_end_us),
            opt_ms(m.module_exec_us),
            esc(&m.missing.join(", ")),
            short_hash(&m.module_sha256)
        );
    }
    out.push_str("</tbody></table></div>");
    if misses.len() > MAX_ROWS {
        w!(
            out,
            "<p class=\"note\">{} more misses not shown (the first {MAX_ROWS} of {} are); the JSON report has them all.</p>",
            fmt_int((misses.len() - MAX_ROWS) as u64),
            fmt_int(misses.len() as u64)
        );
    }
    out.push_str("</section>\n");
}

fn modules(out: &mut String, r: &Report) {
    out.push_str("<section id=\"modules\"><h2>Module versions</h2>");
    match r.modules.len() {
        0 => out.push_str("<p class=\"note\">No module version was logged.</p>"),
        1 => out.push_str("<p class=\"note\">One module version ran for the whole log.</p>"),
        n => w!(
            out,
            "<p class=\"note\"><span class=\"chip info\">hot swap</span> {n} module versions ran, in this order.</p>"
        ),
    }
    if !r.modules.is_empty() {
        out.push_str("<table class=\"modules\"><thead><tr><th>SHA-256</th><th>Detail</th><th class=\"num\">First seen</th><th class=\"num\">Misses</th></tr></thead><tbody>");
        for m in &r.modules {
            w!(
                out,
                "<tr><td class=\"wrap\"><code>{}</code></td><td class=\"wrap\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&m.sha256),
                esc(m.detail.as_deref().unwrap_or("")),
                m.first_seen_s.map_or_else(|| "–".into(), fmt_s),
                fmt_int(m.misses)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
}

fn environment(out: &mut String, r: &Report) {
    out.push_str("<section id=\"environment\"><h2>Environment</h2><table class=\"env\"><tbody>");
    let s = &r.sources;
    let none = || "<span class=\"note\">not given</span>".to_string();
    let rows = [
        ("Interval log", esc(&s.hlog)),
        ("Miss log", s.misses.as_deref().map_or_else(none, esc)),
        ("Frames log", s.frames.as_deref().map_or_else(none, esc)),
        ("Start time", s.start_time_s.map_or_else(none, utc)),
    ];
    for (k, v) in rows {
        w!(out, "<tr><th>{k}</th><td class=\"wrap mono\">{v}</td></tr>");
    }
    for e in &r.environment {
        w!(
            out,
            "<tr><th>{}</th><td class=\"wrap mono\">{}</td></tr>",
            esc(&e.key),
            esc(&e.value)
        );
    }
    out.push_str("</tbody></table>");
    if r.environment.is_empty() {
        out.push_str("<p class=\"note\">The interval log's header names no environment.</p>");
    }
    out.push_str("</section>\n");
}

fn skipped(out: &mut String, r: &Report) {
    out.push_str("<section id=\"skipped\"><h2>Skipped input lines</h2>");
    if r.skipped.is_empty() {
        out.push_str("<p class=\"note\">Every input line was read.</p></section>\n");
        return;
    }
    w!(
        out,
        "<p class=\"note\">{} line{} could not be read and {} left out.</p>",
        fmt_int(r.skipped.len() as u64),
        if r.skipped.len() == 1 { "" } else { "s" },
        if r.skipped.len() == 1 { "was" } else { "were" }
    );
    out.push_str("<div class=\"scroll\"><table class=\"skipped\"><thead><tr><th>File</th><th class=\"num\">Line</th><th>Reason</th></tr></thead><tbody>");
    for s in r.skipped.iter().take(MAX_ROWS) {
        w!(
            out,
            "<tr><td class=\"wrap\">{}</td><td class=\"num\">{}</td><td class=\"wrap\">{}</td></tr>",
            esc(&s.file),
            s.line,
            esc(&s.reason)
        );
    }
    out.push_str("</tbody></table></div>");
    if r.skipped.len() > MAX_ROWS {
        w!(
            out,
            "<p class=\"note\">{} more not shown.</p>",
            fmt_int((r.skipped.len() - MAX_ROWS) as u64)
        );
    }
    out.push_str("</section>\n");
}
