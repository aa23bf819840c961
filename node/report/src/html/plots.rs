//! The report's plots as inline SVG, drawn here: no script runs at view
//! time. Every plot is an `<svg class="plot">` with a stable id and a
//! `data-points` attribute, the number of data marks (elements of class
//! `mark`) it holds, which the browser check counts; a plot without data
//! still renders, with a "no …" note in it.

use super::svg::*;
use super::{esc, fmt_ms, fmt_s};
use crate::{IntervalStats, StageStats};

/// One curve of the percentile plot.
pub(super) struct Curve {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: &'static str,
    /// Drawn thick and on top, with marked percentiles.
    pub strong: bool,
    /// (percentile 0..=100, latency µs), increasing percentile.
    pub points: Vec<(f64, f64)>,
}

/// Picks one latency of an interval.
type Pick = fn(&IntervalStats) -> u64;

/// Latency by percentile, HdrHistogram style: log-scaled percentile axis,
/// strong curves drawn last, a dashed budget line.
pub(super) fn distribution(curves: &[Curve], budget_ms: f64, title: &str) -> String {
    let f = Frame {
        h: 400.0,
        left: 70.0,
        right: 40.0,
        top: 36.0,
        bottom: 48.0,
    };
    let drawn: Vec<&Curve> = curves.iter().filter(|c| !c.points.is_empty()).collect();
    let data_max = drawn
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1 / 1000.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let mut out = String::new();
    open(&mut out, "plot-distribution", f.h, drawn.len(), title);
    let (top, on_scale) = latency_top(data_max, budget_ms);
    let y = y_axis(&mut out, &f, top, "Latency (ms)");
    let x = Scale::new(0.0, DECADES, f.left, f.x1());
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    let xt: Vec<(f64, String)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64, l.to_string()))
        .collect();
    x_axis(&mut out, &f, &x, &xt, "Percentile");
    if drawn.is_empty() {
        no_data(&mut out, &f, "no frames");
    }
    let mut ordered = drawn.clone();
    ordered.sort_by_key(|c| c.strong);
    for c in &ordered {
        let pts: Vec<String> = c
            .points
            .iter()
            .map(|&(p, us)| format!("{:.1},{:.1}", x.at(percentile_x(p)), y.at(us / 1000.0)))
            .collect();
        let (width, opacity) = if c.strong { (2.5, 1.0) } else { (1.4, 0.6) };
        w!(
            out,
            r#"<polyline class="mark" fill="none" stroke="{}" stroke-width="{width}" stroke-opacity="{opacity}" stroke-linejoin="round" points="{}"><title>{}</title></polyline>"#,
            c.color,
            pts.join(" "),
            esc(&c.label)
        );
        if c.strong {
            for (target, name) in [
                (50.0, "p50"),
                (90.0, "p90"),
                (99.0, "p99"),
                (99.9, "p99.9"),
                (100.0, "max"),
            ] {
                if let Some(&(p, us)) = c.points.iter().find(|pt| pt.0 >= target) {
                    w!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="white"><title>{} {name}: {} (at {p:.4}%)</title></circle>"#,
                        x.at(percentile_x(p)),
                        y.at(us / 1000.0),
                        c.color,
                        esc(&c.label),
                        esc(&fmt_ms(us))
                    );
                }
            }
        }
    }
    budget_h(&mut out, &f, &y, budget_ms, on_scale);
    let items: Vec<(String, &str, f64)> = drawn
        .iter()
        .map(|c| (c.label.clone(), c.color, if c.strong { 1.0 } else { 0.6 }))
        .collect();
    legend(&mut out, f.left, 22.0, &items);
    out.push_str("</svg>");
    out
}

/// Per-stage p50 (solid) and p99 (light) bars, with the budget line.
pub(super) fn stage_bars(stages: &[StageStats], budget_ms: f64) -> String {
    let row = 46.0;
    let f = Frame {
        h: 36.0 + 48.0 + row * stages.len().max(1) as f64,
        left: 110.0,
        right: 90.0,
        top: 36.0,
        bottom: 48.0,
    };
    let mut out = String::new();
    open(
        &mut out,
        "plot-stages",
        f.h,
        2 * stages.len(),
        "p50 and p99 latency per stage",
    );
    let data_max = stages
        .iter()
        .map(|s| s.p99_us as f64 / 1000.0)
        .fold(0.0, f64::max);
    let (top, on_scale) = latency_top(data_max, budget_ms);
    let (top, ts) = ticks(top, 8.0);
    let x = Scale::new(0.0, top, f.left, f.x1());
    let step = ts.get(1).copied().unwrap_or(1.0);
    let xt: Vec<(f64, String)> = ts.iter().map(|&t| (t, tick_label(t, step))).collect();
    x_axis(&mut out, &f, &x, &xt, "Latency (ms)");
    left_axis(&mut out, &f);
    if stages.is_empty() {
        no_data(&mut out, &f, "no frames");
    }
    for (i, s) in stages.iter().enumerate() {
        let y0 = f.top + row * i as f64;
        let color = stage_color(&s.stage);
        let name = esc(&s.stage);
        w!(
            out,
            r#"<text class="row-label" x="{}" y="{:.1}" text-anchor="end">{name}</text>"#,
            f.left - 10.0,
            y0 + row / 2.0 + 4.0
        );
        for (k, (metric, us, opacity)) in [("p50", s.p50_us, 1.0), ("p99", s.p99_us, 0.45)]
            .into_iter()
            .enumerate()
        {
            let ms = us as f64 / 1000.0;
            let by = y0 + 8.0 + 16.0 * k as f64;
            let bw = (x.at(ms) - f.left).max(0.0);
            let value = esc(&fmt_ms(us as f64));
            w!(
                out,
                r#"<rect class="mark" x="{}" y="{by:.1}" width="{bw:.1}" height="13" fill="{color}" fill-opacity="{opacity}"><title>{name} {metric}: {value}</title></rect>"#,
                f.left
            );
            w!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="11">{metric} {value}</text>"#,
                f.left + bw + 5.0,
                by + 10.5
            );
        }
    }
    if budget_ms.is_finite() && budget_ms > 0.0 && on_scale {
        let px = x.at(budget_ms);
        w!(
            out,
            r#"<line class="budget" x1="{px:.1}" x2="{px:.1}" y1="{}" y2="{}"/>"#,
            f.top - 4.0,
            f.y1()
        );
        w!(
            out,
            r#"<text class="budget-label" x="{px:.1}" y="{}" text-anchor="middle">budget {}</text>"#,
            f.top - 8.0,
            esc(&fmt_ms(budget_ms * 1000.0))
        );
    }
    legend(
        &mut out,
        f.left,
        22.0,
        &[
            ("p50".into(), "#57606a", 1.0),
            ("p99".into(), "#57606a", 0.45),
        ],
    );
    out.push_str("</svg>");
    out
}

/// End-to-end p50, p99 and max per interval against time, with gaps where
/// an interval had no frames.
pub(super) fn over_time(intervals: &[IntervalStats], budget_ms: f64, swaps: &[Swap]) -> String {
    let f = Frame {
        h: 340.0,
        left: 70.0,
        right: 24.0,
        top: 36.0,
        bottom: 48.0,
    };
    let live: Vec<&IntervalStats> = intervals.iter().filter(|i| i.count > 0).collect();
    let series: [(&str, &str, Pick); 3] = [
        ("max", "#8250df", |i| i.max_us),
        ("p99", "#bc4c00", |i| i.p99_us),
        ("p50", "#0969da", |i| i.p50_us),
    ];
    let mut out = String::new();
    open(
        &mut out,
        "plot-over-time",
        f.h,
        if live.is_empty() { 0 } else { series.len() },
        "End-to-end latency over time",
    );
    let data_max = live
        .iter()
        .map(|i| i.max_us as f64 / 1000.0)
        .fold(0.0, f64::max);
    let (top, on_scale) = latency_top(data_max, budget_ms);
    let y = y_axis(&mut out, &f, top, "Latency (ms)");
    let t0 = intervals
        .iter()
        .map(|i| i.start_s)
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let t0 = if t0.is_finite() { t0.min(0.0) } else { 0.0 };
    let t1 = intervals
        .iter()
        .map(|i| i.start_s + i.length_s)
        .filter(|v| v.is_finite())
        .fold(t0, f64::max);
    let (t1, tt) = ticks(t1 - t0, 10.0);
    let x = Scale::new(t0, t0 + t1, f.left, f.x1());
    let step = tt.get(1).copied().unwrap_or(1.0);
    let xt: Vec<(f64, String)> = tt
        .iter()
        .map(|&t| (t0 + t, tick_label(t0 + t, step)))
        .collect();
    x_axis(&mut out, &f, &x, &xt, "Time since start (s)");
    if live.is_empty() {
        no_data(&mut out, &f, "no frames");
    }
    let mid = |i: &IntervalStats| i.start_s + i.length_s / 2.0;
    if intervals.len() <= 3000 {
        for i in intervals {
            let (a, b) = (x.at(i.start_s), x.at(i.start_s + i.length_s));
            w!(
                out,
                r#"<rect class="hover" x="{a:.1}" y="{}" width="{:.1}" height="{}"><title>{}–{}: {} frames, p50 {}, p99 {}, max {}</title></rect>"#,
                f.top,
                (b - a).max(1.0),
                f.y1() - f.top,
                fmt_s(i.start_s),
                fmt_s(i.start_s + i.length_s),
                i.count,
                fmt_ms(i.p50_us as f64),
                fmt_ms(i.p99_us as f64),
                fmt_ms(i.max_us as f64)
            );
        }
    }
    if !live.is_empty() {
        for (name, color, value) in series {
            let mut d = String::new();
            let mut dots = String::new();
            for (k, i) in intervals.iter().enumerate() {
                if i.count == 0 {
                    continue;
                }
                let (px, py) = (x.at(mid(i)), y.at(value(i) as f64 / 1000.0));
                let joined = k > 0 && intervals[k - 1].count > 0;
                w!(d, "{}{px:.1},{py:.1} ", if joined { "L" } else { "M" });
                let alone = !joined && intervals.get(k + 1).is_none_or(|n| n.count == 0);
                if alone || live.len() <= 60 {
                    w!(
                        dots,
                        r#"<circle cx="{px:.1}" cy="{py:.1}" r="2.5" fill="{color}"/>"#
                    );
                }
            }
            w!(
                out,
                r#"<path class="mark" fill="none" stroke="{color}" stroke-width="{}" stroke-linejoin="round" d="{}"><title>{name}</title></path>{dots}"#,
                if name == "max" { 1.2 } else { 2.0 },
                d.trim_end()
            );
        }
    }
    swap_lines(&mut out, &f, &x, swaps, f.top + 14.0);
    budget_h(&mut out, &f, &y, budget_ms, on_scale);
    let items: Vec<(String, &str, f64)> = series
        .iter()
        .rev()
        .map(|s| (s.0.to_string(), s.1, 1.0))
        .collect();
    legend(&mut out, f.left, 22.0, &items);
    out.push_str("</svg>");
    out
}
