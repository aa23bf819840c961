//! The page's stylesheet, inlined into every report: a system font stack,
//! no external fonts, images or URLs.

/// The CSS. The badge colours `--pass` (#1a7f37) and `--fail` (#cf222e) are
/// what `tests/report/browser_check.py` looks for in a screenshot.
pub(super) const CSS: &str = r#"
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --accent: #0969da;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
    "Noto Sans", "Liberation Sans", Arial, sans-serif;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
code, .mono, td.num, .hash {
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas,
    "Liberation Mono", "DejaVu Sans Mono", monospace;
  font-size: 12.5px;
}
header.top {
  background: #24292f; color: #fff; padding: 14px 28px;
  display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap;
}
header.top .brand { font-weight: 600; font-size: 16px; letter-spacing: .2px; }
header.top .meta { color: #c9d1d9; font-size: 13px; overflow-wrap: anywhere; }
nav.toc {
  border-bottom: 1px solid var(--line); background: var(--soft);
  padding: 6px 28px; font-size: 13px;
}
nav.toc a { color: var(--accent); text-decoration: none; margin-right: 16px; white-space: nowrap; }
main { max-width: 1200px; margin: 0 auto; padding: 8px 24px 40px; }
section { margin: 26px 0 0; break-inside: avoid-page; }
h2 {
  font-size: 17px; font-weight: 600; margin: 0 0 10px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line);
}
h3 { font-size: 14px; margin: 14px 0 6px; }
p.note { color: var(--muted); margin: 6px 0; font-size: 13px; }
.verdict {
  display: grid; grid-template-columns: auto 1fr; gap: 8px 22px; align-items: start;
  border: 1px solid; border-left-width: 8px; border-radius: 8px; padding: 18px 22px;
}
.verdict.pass { border-color: var(--pass); background: var(--pass-bg); }
.verdict.fail { border-color: var(--fail); background: var(--fail-bg); }
.badge {
  color: #fff; font-weight: 700; font-size: 26px; letter-spacing: 2px;
  padding: 12px 26px; border-radius: 6px; min-width: 140px; text-align: center;
}
.pass .badge { background: var(--pass); }
.fail .badge { background: var(--fail); }
.verdict .summary { font-size: 17px; font-weight: 600; margin: 2px 0 4px; }
.verdict .sub { color: var(--muted); margin: 0; }
.verdict table { grid-column: 1 / -1; background: #fff; }
table {
  border-collapse: collapse; width: 100%; font-size: 13px;
  border: 1px solid var(--line);
}
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
tr.bad td { background: var(--fail-bg) !important; }
td.wrap { overflow-wrap: anywhere; }
.chip {
  display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap;
}
.chip.ok { background: var(--pass); }
.chip.bad { background: var(--fail); }
.chip.info { background: #8c959f; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: var(--soft); }
.figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .value.bad { color: var(--fail); }
.figure .value.good { color: var(--pass); }
.figure .extra { color: var(--muted); font-size: 12px; }
.scroll { max-height: 640px; overflow: auto; border: 1px solid var(--line); }
.scroll table { border: 0; }
.scroll th { position: sticky; top: 0; z-index: 1; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 22px; }
.cols > div { min-width: 0; }
svg.plot + table, .figures + table { margin-top: 12px; }
td.reason { white-space: nowrap; }
svg.plot {
  display: block; max-width: 100%; height: auto; background: #fff;
  border: 1px solid var(--line); border-radius: 6px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif;
}
svg.plot text { fill: #424a53; font-size: 12px; }
svg.plot text.axis-title { fill: var(--muted); font-size: 12px; font-weight: 600; }
svg.plot text.nodata { fill: var(--muted); font-size: 16px; font-style: italic; }
svg.plot text.row-label { fill: var(--fg); font-size: 12.5px; }
svg.plot .grid { stroke: #e6eaef; stroke-width: 1; }
svg.plot .axis { stroke: #8c959f; stroke-width: 1; }
svg.plot .budget { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg.plot text.budget-label { fill: var(--fail); font-weight: 600; }
svg.plot text.budget-label, svg.plot text.swap-label {
  paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round;
}
svg.plot .swap { stroke: #57606a; stroke-width: 1.2; stroke-dasharray: 2 3; }
svg.plot text.swap-label { fill: #57606a; font-size: 11px; }
svg.plot .hover { fill: transparent; }
svg.plot .hover:hover { fill: rgba(9, 105, 218, .08); }
footer { color: var(--muted); font-size: 12px; margin-top: 36px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print {
  header.top { background: #fff; color: var(--fg); border-bottom: 2px solid var(--fg); }
  header.top .meta { color: var(--muted); }
  nav.toc { display: none; }
  main { max-width: none; padding: 0; }
  .scroll { max-height: none; overflow: visible; border: 0; }
  .scroll th { position: static; }
  svg.plot { break-inside: avoid; }
  tr { break-inside: avoid; }
}
"#;
