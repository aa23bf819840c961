use super::*;
use crate::*;

use super::sample::{HASH_B, empty_report, sample_comparison, sample_report};

const SECTIONS: [&str; 10] = [
    "verdict",
    "key-figures",
    "distribution",
    "stages",
    "over-time",
    "misses-timeline",
    "misses",
    "modules",
    "environment",
    "skipped",
];
const PLOTS: [&str; 4] = [
    "plot-distribution",
    "plot-stages",
    "plot-over-time",
    "plot-misses-timeline",
];

/// The `<svg>` element with this id.
fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg class=\"plot\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end + 6]
}

/// The `data-points` of an svg and the number of marks it holds.
fn points_and_marks(svg: &str) -> (usize, usize) {
    let at = svg.find("data-points=\"").unwrap() + 13;
    let points = svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap();
    (points, svg.matches("class=\"mark\"").count())
}

/// Checks that hold for every page.
fn assert_sound(html: &str) {
    for (open, close) in [
        ("<svg", "</svg>"),
        ("<table", "</table>"),
        ("<section", "</section>"),
        ("<tr", "</tr>"),
        ("<div", "</div>"),
    ] {
        assert_eq!(
            html.matches(open).count(),
            html.matches(close).count(),
            "{open} unbalanced"
        );
    }
    let lower = html.to_lowercase();
    for bad in [
        "http://", "https://", "src=", "url(", "@import", "<script", "nan", "inf ms", "inf s",
    ] {
        assert!(!lower.contains(bad), "the page contains {bad:?}");
    }
}

#[test]
fn a_report_has_every_section_and_plot_in_order() {
    for fail in [false, true] {
        let html = report_html(&sample_report(fail));
        assert_sound(&html);
        assert!(html.contains("<body data-kind=\"report\""));
        let mut last = 0;
        for id in SECTIONS {
            let at = html
                .find(&format!("<section id=\"{id}\""))
                .unwrap_or_else(|| panic!("no section {id}"));
            assert!(at > last, "section {id} out of order");
            last = at;
        }
        for id in PLOTS {
            let (points, marks) = points_and_marks(svg_of(&html, id));
            assert!(
                points > 0 || (!fail && id == "plot-misses-timeline"),
                "{id} has no data"
            );
            assert_eq!(points, marks, "{id}: data-points disagrees with its marks");
        }
        let verdict = if fail { "verdict fail" } else { "verdict pass" };
        assert!(html.contains(verdict));
    }
}

#[test]
fn the_distribution_has_a_log_percentile_axis_and_a_budget_line() {
    let html = report_html(&sample_report(false));
    let svg = svg_of(&html, "plot-distribution");
    for label in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"] {
        assert!(svg.contains(&format!(">{label}</text>")), "no tick {label}");
    }
    assert!(svg.contains("class=\"budget\""));
    assert!(svg.contains("budget 10.000 ms"));
    // Six stages, EndToEnd bold.
    assert_eq!(svg.matches("<polyline").count(), 6);
    assert!(svg.contains("stroke=\"#0969da\" stroke-width=\"2.5\""));
    // Decades are evenly spaced.
    let x: Vec<f64> = ["0%", "90%", "99%", "99.999%"]
        .iter()
        .map(|l| tick_x(svg, l))
        .collect();
    assert!(((x[1] - x[0]) - (x[2] - x[1])).abs() < 0.2);
    assert!(((x[3] - x[0]) - 5.0 * (x[1] - x[0])).abs() < 0.2);
}

/// The x of the tick label `label`.
fn tick_x(svg: &str, label: &str) -> f64 {
    let end = svg
        .find(&format!("text-anchor=\"middle\">{label}</text>"))
        .unwrap();
    let start = svg[..end].rfind("<text x=\"").unwrap() + 9;
    svg[start..start + svg[start..].find('"').unwrap()]
        .parse()
        .unwrap()
}

#[test]
fn a_failed_run_shows_its_misses_hot_swap_and_skipped_lines() {
    let r = sample_report(true);
    let html = report_html(&r);
    assert!(html.contains("<div class=\"badge\">FAIL</div>"));
    assert!(html.contains("hot swap"));
    assert!(html.contains(&format!("title=\"{HASH_B}\">{}</span>", &HASH_B[..12])));
    assert!(html.contains("memory_out_of_bounds"));
    assert!(html.contains("lidar_front, radar_left"));
    assert!(html.contains("expected `,` or `}` at column 48"));
    assert!(html.contains("2025-06-15 15:06:40 UTC"));
    let table = &html[html.find("<section id=\"misses\"").unwrap()
        ..html.find("<section id=\"modules\"").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 1 + r.misses.len());
    for c in &r.miss_reasons {
        assert!(
            svg_of(&html, "plot-misses-timeline").contains(&format!("{} ({})", c.reason, c.count))
        );
    }
    let swap = format!("swap → {}</text>", &HASH_B[..12]);
    assert!(svg_of(&html, "plot-over-time").contains(&swap));
    assert!(svg_of(&html, "plot-misses-timeline").contains(&swap));
    assert!(html.contains("<span class=\"chip info\">hot swap</span> 2 module versions"));
    let pass = report_html(&sample_report(false));
    assert!(!pass.contains("chip info\">hot swap") && !pass.contains("swap-marker"));
    assert!(pass.contains("no misses"));
}

#[test]
fn text_from_the_inputs_is_escaped() {
    let mut r = sample_report(true);
    let evil = "<script>alert('x')</script>";
    r.environment.push(EnvEntry {
        key: "Launch<b>".into(),
        value: evil.into(),
    });
    r.skipped[0].reason = format!("bad line {evil} <img onerror=alert(1)>");
    r.misses[0].missing = vec!["\"><script>alert(1)</script>".into()];
    r.misses[0].module_sha256 = "\"><script>x</script>".into();
    r.misses[0].reason = "</title><script>1</script>".into();
    r.stages[0].stage = "<svg onload=alert(1)>".into();
    r.distributions[0].stage = r.stages[0].stage.clone();
    r.verdict.summary = "fail & <b>".into();
    r.rules[0].rule = "<i>p99</i>".into();
    r.sources.hlog = "a\"b'<c>.hlog".into();
    let html = report_html(&r);
    assert_sound(&html);
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&lt;img onerror=alert(1)&gt;"));
    assert!(!html.contains("<svg onload"));
    assert!(!html.contains("<b>") && !html.contains("<i>p99"));
    assert!(html.contains("fail &amp; &lt;b&gt;"));
    assert!(html.contains("a&quot;b&#39;&lt;c&gt;.hlog"));
}

#[test]
fn the_misses_table_is_capped() {
    let mut r = sample_report(true);
    let template = r.misses[0].clone();
    r.misses = (0..MAX_ROWS as u64 + 1500)
        .map(|k| MissRow {
            line: k + 1,
            time_s: k as f64 * 0.02,
            ..template.clone()
        })
        .collect();
    r.skipped = (0..MAX_ROWS as u64 + 5)
        .map(|k| Skipped {
            file: "f".into(),
            line: k,
            reason: "r".into(),
        })
        .collect();
    let html = report_html(&r);
    assert_sound(&html);
    let table = &html[html.find("<section id=\"misses\"").unwrap()
        ..html.find("<section id=\"modules\"").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 1 + MAX_ROWS);
    assert!(table.contains("1,500 more misses not shown"));
    assert!(html.contains("5 more not shown"));
    // The timeline bins 2,500 misses into fewer dots, and says how many.
    let (points, marks) = points_and_marks(svg_of(&html, "plot-misses-timeline"));
    assert_eq!(points, marks);
    assert!(marks > 10 && marks < 1000, "{marks} dots");
}

#[test]
fn degenerate_reports_render() {
    let html = report_html(&empty_report());
    assert_sound(&html);
    for id in PLOTS {
        assert_eq!(points_and_marks(svg_of(&html, id)), (0, 0), "{id}");
    }
    assert!(svg_of(&html, "plot-distribution").contains("no frames"));
    assert!(svg_of(&html, "plot-misses-timeline").contains("no misses"));

    // One interval, every value equal, a single-point distribution.
    let mut r = sample_report(false);
    r.intervals.truncate(1);
    r.intervals[0].length_s = 0.0;
    for s in &mut r.stages {
        (
            s.min_us, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.p9999_us, s.max_us,
        ) = (0, 0, 0, 0, 0, 0, 0);
    }
    for d in &mut r.distributions {
        d.points = vec![PercentilePoint {
            percentile: 100.0,
            value_us: 0,
        }];
    }
    r.budget_us = 0.0;
    let html = report_html(&r);
    assert_sound(&html);
    for id in PLOTS[..3].iter() {
        let (points, marks) = points_and_marks(svg_of(&html, id));
        assert!(points > 0 && points == marks, "{id}");
    }

    // Not-a-numbers and infinities where floats come in.
    let mut r = sample_report(true);
    r.budget_us = f64::NAN;
    r.stages[0].mean_us = f64::INFINITY;
    r.frames.miss_rate = Some(f64::NAN);
    r.intervals[3].start_s = f64::NAN;
    r.intervals[4].length_s = f64::INFINITY;
    r.misses[0].time_s = f64::NEG_INFINITY;
    r.misses[1].end_to_end_us = Some(f64::NAN);
    r.modules[0].first_seen_s = Some(f64::NAN);
    r.sources.start_time_s = Some(f64::INFINITY);
    assert_sound(&report_html(&r));
    let mut c = sample_comparison();
    c.rows[0].ratio = Some(f64::INFINITY);
    c.rows[1].candidate = f64::NAN;
    c.tolerance = f64::NAN;
    assert_sound(&comparison_html(&c));
}

#[test]
fn a_comparison_overlays_both_runs_and_marks_regressions() {
    let c = sample_comparison();
    let html = comparison_html(&c);
    assert_sound(&html);
    assert!(html.contains("<body data-kind=\"comparison\""));
    let svg = svg_of(&html, "plot-distribution");
    assert_eq!(points_and_marks(svg), (2, 2));
    assert!(svg.contains("baseline: runs/main/run.hlog") && svg.contains("candidate: "));
    let regressions = c.rows.iter().filter(|r| r.regression).count();
    assert!(regressions > 0);
    assert_eq!(
        html.matches("<tr class=\"bad\">").count(),
        regressions + c.candidate.rules.iter().filter(|r| r.failed).count()
    );
    assert!(html.contains("<section id=\"rows\"") && html.contains("<section id=\"runs\""));
    assert_eq!(html.matches("<div class=\"figures\">").count(), 2);
}

#[test]
fn numbers_are_formatted() {
    assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(1_700_000_000.25), "2023-11-14 22:13:20 UTC");
    assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc(f64::NAN), "–");
    assert_eq!(fmt_int(0), "0");
    assert_eq!(fmt_int(1_234_567), "1,234,567");
    assert_eq!(fmt_ms(4_210.0), "4.210 ms");
    assert_eq!(fmt_ms(850.0), "0.850 ms");
    assert_eq!(fmt_ms(123_456.0), "123.456 ms");
    assert_eq!(fmt_pct(0.0123), "1.23 %");
    assert_eq!(fmt_pct(0.0), "0 %");
    assert_eq!(
        esc("<a href=\"x\">&'"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

/// Writes sample pages for `tests/report/run.sh`'s browser check when
/// `FUSION_REPORT_HTML_OUT` names a directory.
#[test]
fn dump_html_for_the_browser_check() {
    let Some(dir) = std::env::var_os("FUSION_REPORT_HTML_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pages = [
        ("report-pass.html", report_html(&sample_report(false))),
        ("report-fail.html", report_html(&sample_report(true))),
        ("report-empty.html", report_html(&empty_report())),
        ("comparison.html", comparison_html(&sample_comparison())),
    ];
    for (name, html) in pages {
        std::fs::write(dir.join(name), html).unwrap();
    }
}
