//! The timeline of misses: a row per reason, a dot per miss.

use super::svg::*;
use super::{esc, fmt_s};
use crate::MissRow;

/// Misses as dots at their time, one row per reason (in `reasons` order,
/// coloured by [`reason_color`]); binned above [`MAX_DOTS`] misses.
pub(super) fn misses_timeline(
    misses: &[MissRow],
    reasons: &[String],
    t_end_s: f64,
    swaps: &[Swap],
) -> String {
    let row = 28.0;
    let f = Frame {
        h: 34.0 + 48.0 + row * reasons.len().max(1) as f64,
        left: 170.0,
        right: 24.0,
        top: 34.0,
        bottom: 48.0,
    };
    let t_max = misses
        .iter()
        .map(|m| m.time_s)
        .filter(|t| t.is_finite())
        .fold(if t_end_s.is_finite() { t_end_s } else { 0.0 }, f64::max);
    let (t_top, tt) = ticks(t_max, 10.0);
    let x = Scale::new(0.0, t_top, f.left, f.x1());
    let step = tt.get(1).copied().unwrap_or(1.0);
    let xt: Vec<(f64, String)> = tt.iter().map(|&t| (t, tick_label(t, step))).collect();
    let row_of = |reason: &str| reasons.iter().position(|r| r == reason).unwrap_or(0);
    let mut marks = String::new();
    let mut count = 0;
    if misses.len() <= MAX_DOTS {
        for m in misses {
            let k = row_of(&m.reason);
            let seq = m.sequence.map_or_else(|| "–".into(), |s| s.to_string());
            w!(
                marks,
                r#"<circle class="mark" cx="{:.1}" cy="{:.1}" r="4.5" fill="{}" fill-opacity="0.8"><title>{}: line {}, sequence {seq}, {}</title></circle>"#,
                x.at(m.time_s),
                f.top + row * (k as f64 + 0.5),
                reason_color(k),
                esc(&m.reason),
                m.line,
                fmt_s(m.time_s)
            );
            count += 1;
        }
    } else {
        let mut bins: std::collections::BTreeMap<(usize, i64), (u64, f64, f64)> =
            Default::default();
        for m in misses {
            let key = (row_of(&m.reason), (x.at(m.time_s) / 3.0).round() as i64);
            let e = bins
                .entry(key)
                .or_insert((0, f64::INFINITY, f64::NEG_INFINITY));
            *e = (e.0 + 1, e.1.min(m.time_s), e.2.max(m.time_s));
        }
        for ((k, bin), (n, a, b)) in bins {
            w!(
                marks,
                r#"<circle class="mark" cx="{}" cy="{:.1}" r="{:.1}" fill="{}" fill-opacity="0.8"><title>{}: {n} misses, {}–{}</title></circle>"#,
                bin * 3,
                f.top + row * (k as f64 + 0.5),
                (3.0 + (n as f64).log10() * 1.5).min(7.0),
                reason_color(k),
                esc(reasons.get(k).map_or("", String::as_str)),
                fmt_s(a),
                fmt_s(b)
            );
            count += 1;
        }
    }
    let mut out = String::new();
    open(
        &mut out,
        "plot-misses-timeline",
        f.h,
        count,
        "Timeline of misses by reason",
    );
    x_axis(&mut out, &f, &x, &xt, "Time since start (s)");
    for (k, reason) in reasons.iter().enumerate() {
        let cy = f.top + row * (k as f64 + 0.5);
        let n = misses.iter().filter(|m| &m.reason == reason).count();
        w!(
            out,
            r#"<line class="grid" x1="{}" x2="{}" y1="{cy:.1}" y2="{cy:.1}"/>"#,
            f.left,
            f.x1()
        );
        w!(
            out,
            r#"<text class="row-label" x="{}" y="{:.1}" text-anchor="end">{} ({n})</text>"#,
            f.left - 10.0,
            cy + 4.0,
            esc(reason)
        );
    }
    w!(
        out,
        r#"<line class="axis" x1="{}" x2="{}" y1="{2}" y2="{2}"/>"#,
        f.left,
        f.x1(),
        f.y1()
    );
    if misses.is_empty() {
        no_data(&mut out, &f, "no misses");
    }
    swap_lines(&mut out, &f, &x, swaps, f.top - 10.0);
    out.push_str(&marks);
    out.push_str("</svg>");
    out
}
