//! What both pages open with: the verdict banner, the rules and a run's
//! key figures.

use super::{esc, fmt_int, fmt_ms, fmt_pct};
use crate::{END_TO_END, Report, RuleOutcome, StageStats, Verdict};

/// The verdict banner: PASS/FAIL, the summary, `sub` (HTML) and the rules.
pub(super) fn verdict(out: &mut String, v: &Verdict, sub: &str, rules: &[RuleOutcome]) {
    let (class, word) = if v.pass {
        ("pass", "PASS")
    } else {
        ("fail", "FAIL")
    };
    w!(
        out,
        "<section id=\"verdict\" class=\"verdict {class}\"><div class=\"badge\">{word}</div><div><p class=\"summary\">{}</p><p class=\"sub\">{sub}</p></div>",
        esc(&v.summary)
    );
    rules_table(out, rules);
    out.push_str("</section>\n");
}

/// The gate's rules and what each gave (nothing when there are none).
pub(super) fn rules_table(out: &mut String, rules: &[RuleOutcome]) {
    if !rules.is_empty() {
        out.push_str("<table class=\"rules\"><thead><tr><th>Rule (fails when)</th><th class=\"num\">Actual</th><th>Result</th></tr></thead><tbody>");
        for rule in rules {
            w!(
                out,
                "<tr{}><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
                if rule.failed { " class=\"bad\"" } else { "" },
                esc(&rule.rule),
                esc(&rule.actual),
                chip(!rule.failed, "pass", "fail")
            );
        }
        out.push_str("</tbody></table>");
    }
}

/// A green or red label.
pub(super) fn chip(ok: bool, good: &str, bad: &str) -> String {
    if ok {
        format!("<span class=\"chip ok\">{good}</span>")
    } else {
        format!("<span class=\"chip bad\">{bad}</span>")
    }
}

fn figure(out: &mut String, label: &str, value: &str, class: &str, extra: &str) {
    w!(
        out,
        "<div class=\"figure\"><div class=\"label\">{label}</div><div class=\"value {class}\">{value}</div><div class=\"extra\">{extra}</div></div>"
    );
}

/// The key figures of a run as a grid of cards.
pub(super) fn key_figures(out: &mut String, r: &Report) {
    let f = &r.frames;
    let opt = |v: Option<u64>| v.map_or_else(|| "–".to_string(), fmt_int);
    let bad_if = |bad: bool| if bad { "bad" } else { "" };
    out.push_str("<div class=\"figures\">");
    figure(
        out,
        "Frames ran",
        &fmt_int(f.ran),
        "",
        &format!("{} aligned sets dropped", fmt_int(f.dropped_sets)),
    );
    let rate = f.miss_rate.map_or_else(|| "–".into(), fmt_pct);
    figure(
        out,
        "Miss rate",
        &rate,
        bad_if(f.missed.unwrap_or(0) > 0),
        &f.missed.map_or_else(
            || "no miss log".into(),
            |n| format!("{} frames missed", fmt_int(n)),
        ),
    );
    figure(
        out,
        "Failures",
        &opt(f.failures),
        bad_if(f.failures.unwrap_or(0) > 0),
        if f.failures.is_some() {
            "missed by the build's fault"
        } else {
            "no miss log"
        },
    );
    let share = if f.ran > 0 {
        format!("{} of frames", fmt_pct(f.over_budget as f64 / f.ran as f64))
    } else {
        "no frames".into()
    };
    figure(
        out,
        "Over budget",
        &fmt_int(f.over_budget),
        bad_if(f.over_budget > 0),
        &share,
    );
    let e2e = r.stages.iter().find(|s| s.stage == END_TO_END);
    let pick = |g: fn(&StageStats) -> u64| e2e.map_or_else(|| "–".into(), |s| fmt_ms(g(s) as f64));
    let over = |g: fn(&StageStats) -> u64| e2e.is_some_and(|s| g(s) as f64 > r.budget_us);
    type Figure = (&'static str, fn(&StageStats) -> u64);
    let percentiles: [Figure; 4] = [
        ("End-to-end p50", |s| s.p50_us),
        ("End-to-end p99", |s| s.p99_us),
        ("End-to-end p99.9", |s| s.p999_us),
        ("End-to-end max", |s| s.max_us),
    ];
    for (label, get) in percentiles {
        figure(out, label, &pick(get), bad_if(over(get)), "");
    }
    figure(
        out,
        "Budget",
        &fmt_ms(r.budget_us),
        "",
        &esc(&r.budget_source),
    );
    if f.dropped_inputs.is_some() {
        figure(
            out,
            "Inputs dropped",
            &opt(f.dropped_inputs),
            "",
            "sensor messages (full queues)",
        );
    }
    if f.frames_logged.is_some() {
        figure(
            out,
            "Frames logged",
            &opt(f.frames_logged),
            "",
            &format!("{} degraded", opt(f.frames_degraded)),
        );
    }
    out.push_str("</div>");
}
