//! What the plots are drawn with: scales, axes, ticks, legends and
//! colours, as SVG text.

use super::{esc, fmt_ms, fmt_s};

/// Width of every plot (viewBox units; the page scales it down to fit).
pub(super) const W: f64 = 1152.0;
/// Decades of the percentile axis: 0% to 99.999%.
pub(super) const DECADES: f64 = 5.0;
/// Above this many misses the timeline bins them (a dot per reason and 3 px).
pub(super) const MAX_DOTS: usize = 2000;
/// Categorical colours for miss reasons, most frequent first.
pub(super) const REASON_COLORS: [&str; 10] = [
    "#e15759", "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#9c755f",
    "#ff9da7", "#7f7f7f",
];

/// The colour of a stage's curves and bars; EndToEnd is the strong one.
pub(super) fn stage_color(stage: &str) -> &'static str {
    match stage {
        "EndToEnd" => "#0969da",
        "AlignWait" => "#bf8700",
        "FrameBuild" => "#8250df",
        "ModuleExec" => "#1b7c83",
        "Publish" => "#bc4c00",
        "StampAge" => "#6e7781",
        _ => "#8c959f",
    }
}

/// The colour of the `index`th miss reason.
pub(super) fn reason_color(index: usize) -> &'static str {
    REASON_COLORS[index % REASON_COLORS.len()]
}

/// A linear map from data values to pixels, clamped to its range.
#[derive(Clone, Copy)]
pub(super) struct Scale {
    d0: f64,
    d1: f64,
    p0: f64,
    p1: f64,
}

impl Scale {
    pub(super) fn new(d0: f64, d1: f64, p0: f64, p1: f64) -> Self {
        let d0 = if d0.is_finite() { d0 } else { 0.0 };
        let d1 = if d1.is_finite() && d1 > d0 {
            d1
        } else {
            d0 + d0.abs().max(1.0)
        };
        Scale { d0, d1, p0, p1 }
    }

    pub(super) fn at(&self, v: f64) -> f64 {
        let t = if v.is_finite() {
            (v - self.d0) / (self.d1 - self.d0)
        } else {
            0.0
        };
        self.p0 + t.clamp(0.0, 1.0) * (self.p1 - self.p0)
    }
}

/// The plot area inside an SVG of width [`W`] and height `h`.
pub(super) struct Frame {
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub(super) fn x1(&self) -> f64 {
        W - self.right
    }
    pub(super) fn y1(&self) -> f64 {
        self.h - self.bottom
    }
}

/// Round steps (1, 2, 5 × 10ⁿ) covering `0..=hi`: the axis top and ticks.
pub(super) fn ticks(hi: f64, target: f64) -> (f64, Vec<f64>) {
    let hi = if hi.is_finite() && hi > 0.0 { hi } else { 1.0 };
    let raw = hi / target;
    let mag = 10f64.powf(raw.log10().floor());
    let step = mag
        * match raw / mag {
            n if n < 1.5 => 1.0,
            n if n < 3.0 => 2.0,
            n if n < 7.0 => 5.0,
            _ => 10.0,
        };
    let n = (hi / step - 1e-9).ceil().max(1.0) as usize;
    let top = step * n as f64;
    (top, (0..=n.min(60)).map(|i| step * i as f64).collect())
}

/// A tick label with as many decimals as the step needs.
pub(super) fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        ((-step.log10()).ceil() as usize).min(4)
    };
    format!("{v:.decimals$}")
}

/// The latency axis top (ms): the data's maximum, and the budget too
/// unless that would squash the data into the bottom quarter.
pub(super) fn latency_top(data_max_ms: f64, budget_ms: f64) -> (f64, bool) {
    let data = if data_max_ms.is_finite() {
        data_max_ms.max(0.0)
    } else {
        0.0
    };
    let budget_ok = budget_ms.is_finite() && budget_ms > 0.0;
    if budget_ok && (data == 0.0 || budget_ms <= 4.0 * data) {
        (data.max(budget_ms) * 1.05, true)
    } else {
        ((data * 1.05).max(1e-3), false)
    }
}

pub(super) fn open(out: &mut String, id: &str, h: f64, points: usize, label: &str) {
    w!(
        out,
        r#"<svg class="plot" id="{id}" data-points="{points}" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{}">"#,
        esc(label)
    );
}

/// Horizontal grid lines and labels of a latency (ms) y axis.
pub(super) fn y_axis(out: &mut String, f: &Frame, top_ms: f64, title: &str) -> Scale {
    let (top, ts) = ticks(top_ms, 5.0);
    let y = Scale::new(0.0, top, f.y1(), f.top);
    let step = ts.get(1).copied().unwrap_or(1.0);
    for t in &ts {
        let py = y.at(*t);
        w!(
            out,
            r#"<line class="grid" x1="{}" x2="{}" y1="{py:.1}" y2="{py:.1}"/>"#,
            f.left,
            f.x1()
        );
        w!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            f.left - 8.0,
            py + 4.0,
            tick_label(*t, step)
        );
    }
    let cy = (f.top + f.y1()) / 2.0;
    w!(
        out,
        r#"<text class="axis-title" transform="translate(16 {cy:.1}) rotate(-90)" text-anchor="middle">{title}</text>"#
    );
    left_axis(out, f);
    w!(
        out,
        r#"<line class="axis" x1="{}" x2="{}" y1="{2}" y2="{2}"/>"#,
        f.left,
        f.x1(),
        f.y1()
    );
    y
}

/// Vertical grid lines and labels of an x axis at `ticks` (value, label).
pub(super) fn x_axis(out: &mut String, f: &Frame, x: &Scale, ticks: &[(f64, String)], title: &str) {
    for (v, label) in ticks {
        let px = x.at(*v);
        w!(
            out,
            r#"<line class="grid" x1="{px:.1}" x2="{px:.1}" y1="{}" y2="{}"/>"#,
            f.top,
            f.y1()
        );
        w!(
            out,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            f.y1() + 17.0
        );
    }
    w!(
        out,
        r#"<text class="axis-title" x="{:.1}" y="{}" text-anchor="middle">{title}</text>"#,
        (f.left + f.x1()) / 2.0,
        f.h - 8.0
    );
}

/// A legend across the top margin: (label, colour, opacity).
pub(super) fn legend(out: &mut String, x: f64, y: f64, items: &[(String, &str, f64)]) {
    let mut x = x;
    for (label, color, opacity) in items {
        w!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="14" height="4" rx="1" fill="{color}" fill-opacity="{opacity}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 6.0,
            x + 19.0,
            esc(label)
        );
        x += 32.0 + 7.0 * label.chars().count() as f64;
    }
}

pub(super) fn no_data(out: &mut String, f: &Frame, text: &str) {
    w!(
        out,
        r#"<text class="nodata" x="{:.1}" y="{:.1}" text-anchor="middle">{text}</text>"#,
        (f.left + f.x1()) / 2.0,
        (f.top + f.y1()) / 2.0 + 5.0
    );
}

pub(super) fn budget_h(out: &mut String, f: &Frame, y: &Scale, budget_ms: f64, on_scale: bool) {
    if !(budget_ms.is_finite() && budget_ms > 0.0) {
        return;
    }
    let label = esc(&fmt_ms(budget_ms * 1000.0));
    if on_scale {
        let py = y.at(budget_ms);
        w!(
            out,
            r#"<line class="budget" x1="{}" x2="{}" y1="{py:.1}" y2="{py:.1}"/>"#,
            f.left,
            f.x1()
        );
        w!(
            out,
            r#"<text class="budget-label" x="{}" y="{:.1}" text-anchor="end">budget {label}</text>"#,
            f.x1() - 6.0,
            py - 6.0
        );
    } else {
        w!(
            out,
            r#"<text class="budget-label" x="{}" y="{}" text-anchor="end">budget {label} (above the scale)</text>"#,
            f.x1() - 6.0,
            f.top + 14.0
        );
    }
}

/// Percentile to the log axis: log10(1 / (1 - p/100)), capped at [`DECADES`].
pub(super) fn percentile_x(p: f64) -> f64 {
    if !p.is_finite() || p <= 0.0 {
        0.0
    } else if p >= 100.0 {
        DECADES
    } else {
        (1.0 / (1.0 - p / 100.0)).log10().clamp(0.0, DECADES)
    }
}

/// A module version taking over during the run (a hot swap).
pub(super) struct Swap {
    /// Seconds since the run's start.
    pub t_s: f64,
    /// The new module's SHA-256.
    pub sha256: String,
}

/// Dotted vertical lines where a module version took over, labelled at
/// `label_y` with the new hash.
pub(super) fn swap_lines(out: &mut String, f: &Frame, x: &Scale, swaps: &[Swap], label_y: f64) {
    for s in swaps.iter().filter(|s| s.t_s.is_finite()) {
        let px = x.at(s.t_s);
        let short: String = s.sha256.chars().take(12).collect();
        let (lx, anchor) = if px + 140.0 > f.x1() {
            (px - 4.0, "end")
        } else {
            (px + 4.0, "start")
        };
        w!(
            out,
            r#"<g class="swap-marker"><title>hot swap at {}: {}</title><line class="swap" x1="{px:.1}" x2="{px:.1}" y1="{}" y2="{}"/><text class="swap-label" x="{lx:.1}" y="{label_y:.1}" text-anchor="{anchor}">swap → {}</text></g>"#,
            fmt_s(s.t_s),
            esc(&s.sha256),
            f.top,
            f.y1(),
            esc(&short)
        );
    }
}

/// The plot area's left edge, as an axis line.
pub(super) fn left_axis(out: &mut String, f: &Frame) {
    w!(
        out,
        r#"<line class="axis" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>"#,
        f.left,
        f.top,
        f.y1()
    );
}
