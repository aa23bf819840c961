//! QA reports on fusion-node runs: the verdict of a release gate, from the
//! node's `.hlog` latency histograms, its miss log and (optionally) the
//! frames log of an offline replay.
//!
//! Inputs are read tolerantly: a line that cannot be parsed is listed in
//! [`Report::skipped`] and the rest of the file is used. The report is one
//! value ([`Report`], or [`Comparison`] for two runs) rendered as
//! self-contained HTML, markdown or JSON, so the forms cannot disagree.
//!
//! ```text
//! files ──Run::read──▶ Run ──Run::report(rules)──▶ Report ──▶ html / markdown / json
//!                                     compare(a, b) ──▶ Comparison ──▶ html / markdown / json
//! ```

mod analyze;
mod compare;
pub mod hlog;
mod html;
pub mod jsonl;
mod markdown;
mod model;
pub mod rules;

#[cfg(test)]
mod tests;

pub use analyze::{DEFAULT_BUDGET_US, Input, Run, RunInputs, default_rules};
pub use compare::compare;
pub use html::{comparison_html, report_html};
pub use markdown::{comparison_markdown, report_markdown};
pub use model::*;
pub use rules::{Rule, RuleError, parse_rules};
