//! The page comparing a baseline run with a candidate.

use super::plots::{self, Curve};
use super::summary::{chip, key_figures, rules_table, verdict};
use super::{esc, fmt_ms, fmt_pct};
use crate::{Comparison, ComparisonRow, END_TO_END, Report};

/// Every section of a comparison.
pub(super) fn comparison_body(out: &mut String, c: &Comparison) {
    let regressions = c.rows.iter().filter(|r| r.regression).count();
    let sub = format!(
        "A metric regresses when the candidate is worse by more than {} and by more than {} · {regressions} regression{} in {} metrics",
        fmt_pct(c.tolerance),
        esc(&fmt_ms(c.min_change_us)),
        if regressions == 1 { "" } else { "s" },
        c.rows.len()
    );
    verdict(out, &c.verdict, &sub, &[]);

    out.push_str("<section id=\"distribution\"><h2>End-to-end latency by percentile</h2>");
    let curve = |r: &Report, label: &str, color| Curve {
        label: format!("{label}: {}", r.sources.hlog),
        color,
        strong: true,
        points: r
            .distributions
            .iter()
            .find(|d| d.stage == END_TO_END)
            .map(|d| {
                d.points
                    .iter()
                    .map(|p| (p.percentile, p.value_us as f64))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let curves = [
        curve(&c.baseline, "baseline", "#6e7781"),
        curve(&c.candidate, "candidate", "#0969da"),
    ];
    let budget = c.candidate.budget_us;
    out.push_str(&plots::distribution(
        &curves,
        budget / 1000.0,
        "Baseline and candidate end-to-end latency by percentile",
    ));
    w!(
        out,
        "<p class=\"note\">Grey: baseline; blue: candidate; dashed: the candidate's budget ({}).",
        esc(&fmt_ms(budget))
    );
    if c.baseline.budget_us != budget {
        w!(
            out,
            " The baseline was judged against {}.",
            esc(&fmt_ms(c.baseline.budget_us))
        );
    }
    out.push_str("</p></section>\n");

    rows(out, &c.rows);

    out.push_str("<section id=\"runs\"><h2>The two runs</h2><div class=\"cols\">");
    for (name, r) in [("Baseline", &c.baseline), ("Candidate", &c.candidate)] {
        w!(
            out,
            "<div class=\"run\"><h3>{name} {}</h3><p class=\"note\"><code>{}</code> · {}</p>",
            chip(r.verdict.pass, "pass", "fail"),
            esc(&r.sources.hlog),
            esc(&r.verdict.summary)
        );
        key_figures(out, r);
        rules_table(out, &r.rules);
        out.push_str("</div>");
    }
    out.push_str("</div></section>\n");
}

fn value(row: &ComparisonRow, v: f64) -> String {
    if row.metric == "miss-rate" {
        fmt_pct(v)
    } else {
        fmt_ms(v)
    }
}

fn rows(out: &mut String, rows: &[ComparisonRow]) {
    out.push_str("<section id=\"rows\"><h2>Metric by metric</h2>");
    if rows.is_empty() {
        out.push_str("<p class=\"note\">No metric to compare.</p></section>\n");
        return;
    }
    out.push_str("<table class=\"comparison\"><thead><tr><th>Stage</th><th>Metric</th><th class=\"num\">Baseline</th><th class=\"num\">Candidate</th><th class=\"num\">Change</th><th class=\"num\">Ratio</th><th>Result</th></tr></thead><tbody>");
    for row in rows {
        let delta = row.candidate - row.baseline;
        let change = if row.metric == "miss-rate" {
            format!("{:+.3} pp", delta * 100.0)
        } else if delta.is_finite() {
            format!(
                "{}{}",
                if delta >= 0.0 { "+" } else { "−" },
                fmt_ms(delta.abs())
            )
        } else {
            "–".into()
        };
        let ratio = row
            .ratio
            .filter(|r| r.is_finite())
            .map_or_else(|| "–".into(), |r| format!("×{r:.3}"));
        w!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{change}</td><td class=\"num\">{ratio}</td><td>{}</td></tr>",
            if row.regression { " class=\"bad\"" } else { "" },
            esc(&row.stage),
            esc(&row.metric),
            value(row, row.baseline),
            value(row, row.candidate),
            chip(!row.regression, "ok", "regression")
        );
    }
    out.push_str("</tbody></table></section>\n");
}
