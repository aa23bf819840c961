//! The markdown form: the same numbers as the HTML, as GitHub-flavoured
//! tables, for a CI job summary or a pull request.

use std::fmt::Write as _;

use crate::model::*;

/// Miss-log rows listed; the rest are counted.
pub const MAX_MISS_ROWS: usize = 200;

/// The report as markdown.
pub fn report_markdown(r: &Report) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "# fusion-node run report\n");
    verdict(o, &r.verdict);
    rules(o, &r.rules);
    let _ = writeln!(o, "## Key figures\n");
    key_figures(o, &[("", r)]);
    let _ = writeln!(o, "## Latency by stage (µs)\n");
    let _ = writeln!(
        o,
        "| stage | count | min | mean | p50 | p90 | p99 | p99.9 | p99.99 | max |"
    );
    let _ = writeln!(o, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for s in &r.stages {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            cell(&s.stage),
            s.count,
            s.min_us,
            s.mean_us,
            s.p50_us,
            s.p90_us,
            s.p99_us,
            s.p999_us,
            s.p9999_us,
            s.max_us
        );
    }
    let _ = writeln!(o, "\n## End-to-end latency over time\n");
    if r.intervals.is_empty() {
        let _ = writeln!(o, "No intervals.");
    } else {
        let _ = writeln!(
            o,
            "| start (s) | length (s) | frames | p50 (µs) | p99 (µs) | max (µs) |"
        );
        let _ = writeln!(o, "|--:|--:|--:|--:|--:|--:|");
        for i in &r.intervals {
            let _ = writeln!(
                o,
                "| {:.3} | {:.3} | {} | {} | {} | {} |",
                i.start_s, i.length_s, i.count, i.p50_us, i.p99_us, i.max_us
            );
        }
    }
    misses(o, r);
    modules(o, &r.modules);
    let _ = writeln!(o, "\n## Environment\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| hlog | {} |", cell(&r.sources.hlog));
    for (name, file) in [
        ("miss log", &r.sources.misses),
        ("frames log", &r.sources.frames),
    ] {
        if let Some(file) = file {
            let _ = writeln!(o, "| {name} | {} |", cell(file));
        }
    }
    if let Some(start) = r.sources.start_time_s {
        let _ = writeln!(o, "| start (Unix s) | {start:.3} |");
    }
    for e in &r.environment {
        let _ = writeln!(o, "| {} | {} |", cell(&e.key), cell(&e.value));
    }
    skipped(o, &r.skipped);
    out
}

/// Two runs as markdown.
pub fn comparison_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "# fusion-node run comparison\n");
    verdict(o, &c.verdict);
    let _ = writeln!(
        o,
        "A regression: slower by more than {}% and more than {} µs (max is not flagged).\n",
        c.tolerance * 100.0,
        c.min_change_us
    );
    let _ = writeln!(o, "| stage | metric | baseline | candidate | ratio | |");
    let _ = writeln!(o, "|---|---|--:|--:|--:|---|");
    for row in &c.rows {
        let (b, cand) = if row.metric == "miss-rate" {
            (
                format!("{:.6}", row.baseline),
                format!("{:.6}", row.candidate),
            )
        } else {
            (
                format!("{} µs", row.baseline),
                format!("{} µs", row.candidate),
            )
        };
        let ratio = row.ratio.map_or("–".to_owned(), |r| format!("{r:.3}"));
        let flag = if row.regression { "**regression**" } else { "" };
        let _ = writeln!(
            o,
            "| {} | {} | {b} | {cand} | {ratio} | {flag} |",
            cell(&row.stage),
            row.metric
        );
    }
    let _ = writeln!(o, "\n## Key figures\n");
    key_figures(o, &[("baseline", &c.baseline), ("candidate", &c.candidate)]);
    rules(o, &c.candidate.rules);
    out
}

/// The summary, which starts with PASS or FAIL.
fn verdict(o: &mut String, v: &Verdict) {
    let _ = writeln!(o, "**{}**\n", cell(&v.summary));
}

fn rules(o: &mut String, rules: &[RuleOutcome]) {
    if rules.is_empty() {
        return;
    }
    let _ = writeln!(o, "| rule (fails when true) | actual | |\n|---|--:|---|");
    for r in rules {
        let result = if r.failed { "**failed**" } else { "held" };
        let _ = writeln!(o, "| `{}` | {} | {result} |", r.rule, r.actual);
    }
    let _ = writeln!(o);
}

fn key_figures(o: &mut String, runs: &[(&str, &Report)]) {
    let header: String = runs.iter().map(|(name, _)| format!(" {name} |")).collect();
    let _ = writeln!(o, "| |{header}");
    let _ = writeln!(o, "|---|{}", "--:|".repeat(runs.len()));
    let e2e = |r: &Report| r.stages.iter().find(|s| s.stage == END_TO_END).cloned();
    let opt = |v: Option<u64>| v.map_or("–".to_owned(), |v| v.to_string());
    type Row<'a> = (&'a str, &'a dyn Fn(&Report) -> String);
    let rows: [Row; 11] = [
        ("budget", &|r| {
            format!("{} ms ({})", r.budget_us / 1000.0, r.budget_source)
        }),
        ("frames run", &|r| r.frames.ran.to_string()),
        ("missed frames", &|r| opt(r.frames.missed)),
        ("miss rate", &|r| {
            r.frames
                .miss_rate
                .map_or("–".to_owned(), |m| format!("{m:.6}"))
        }),
        ("failures", &|r| opt(r.frames.failures)),
        ("over budget", &|r| r.frames.over_budget.to_string()),
        ("dropped sets", &|r| r.frames.dropped_sets.to_string()),
        ("dropped inputs", &|r| opt(r.frames.dropped_inputs)),
        ("end-to-end p50 / p99 (µs)", &|r| {
            e2e(r).map_or("–".into(), |s| format!("{} / {}", s.p50_us, s.p99_us))
        }),
        ("end-to-end p99.9 / max (µs)", &|r| {
            e2e(r).map_or("–".into(), |s| format!("{} / {}", s.p999_us, s.max_us))
        }),
        ("module versions", &|r| r.modules.len().to_string()),
    ];
    for (name, value) in rows {
        let values: String = runs
            .iter()
            .map(|(_, r)| format!(" {} |", value(r)))
            .collect();
        let _ = writeln!(o, "| {name} |{values}");
    }
    let _ = writeln!(o);
}

fn misses(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Misses\n");
    if r.sources.misses.is_none() {
        let _ = writeln!(o, "No miss log given.");
        return;
    }
    if r.misses.is_empty() {
        let _ = writeln!(o, "No misses.");
        return;
    }
    let by_reason: Vec<String> = r
        .miss_reasons
        .iter()
        .map(|c| format!("{} {}", c.count, cell(&c.reason)))
        .collect();
    let _ = writeln!(o, "{}.\n", by_reason.join(", "));
    let _ = writeln!(
        o,
        "| line | sequence | time (s) | reason | end-to-end (µs) | module exec (µs) | missing | sensor (dropped) | module |"
    );
    let _ = writeln!(o, "|--:|--:|--:|---|--:|--:|---|---|---|");
    for m in r.misses.iter().take(MAX_MISS_ROWS) {
        let reason = match &m.trap {
            Some(trap) => format!("{} ({})", m.reason, trap),
            None => m.reason.clone(),
        };
        let us = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
        let sensor = match (&m.sensor, m.dropped) {
            (Some(s), Some(d)) => format!("{s} ({d})"),
            (Some(s), None) => s.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {:.3} | {} | {} | {} | {} | {} | `{}` |",
            m.line,
            m.sequence.map_or(String::new(), |s| s.to_string()),
            m.time_s,
            cell(&reason),
            us(m.end_to_end_us),
            us(m.module_exec_us),
            cell(&m.missing.join(", ")),
            cell(&sensor),
            short_hash(&m.module_sha256)
        );
    }
    if r.misses.len() > MAX_MISS_ROWS {
        let _ = writeln!(
            o,
            "\n{} more misses not listed (the JSON form has them all).",
            r.misses.len() - MAX_MISS_ROWS
        );
    }
}

fn modules(o: &mut String, modules: &[ModuleVersion]) {
    let _ = writeln!(o, "\n## Module versions\n");
    if modules.is_empty() {
        let _ = writeln!(o, "None named in the logs.");
        return;
    }
    if modules.len() > 1 {
        let _ = writeln!(
            o,
            "{} versions: the module was hot-swapped.\n",
            modules.len()
        );
    }
    let _ = writeln!(
        o,
        "| SHA-256 | detail | first seen (s) | misses |\n|---|---|--:|--:|"
    );
    for m in modules {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} |",
            cell(&m.sha256),
            cell(m.detail.as_deref().unwrap_or("")),
            m.first_seen_s.map_or(String::new(), |t| format!("{t:.3}")),
            m.misses
        );
    }
}

fn skipped(o: &mut String, skipped: &[Skipped]) {
    if skipped.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Skipped input lines ({})\n", skipped.len());
    let _ = writeln!(o, "| file | line | reason |\n|---|--:|---|");
    for s in skipped.iter().take(MAX_MISS_ROWS) {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&s.file),
            s.line,
            cell(&s.reason)
        );
    }
    if skipped.len() > MAX_MISS_ROWS {
        let _ = writeln!(o, "\n{} more not listed.", skipped.len() - MAX_MISS_ROWS);
    }
}

/// The first 12 hex digits, as `git log` abbreviates.
pub(crate) fn short_hash(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Text made safe for a table cell: no pipes, newlines or HTML tags.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        // No tags: a `<` alone cannot open one.
        .replace('<', "&lt;")
}
