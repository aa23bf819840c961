//! QA reports on fusion-node runs: the verdict of a release gate, from the
//! node's `.hlog` latency histograms, its miss log and (optionally) the
//! frames log of an offline replay.
//!
//! Inputs are read tolerantly: a line that cannot be parsed is listed in
//! [`Report::skipped`] and the rest of the file is used. The report is one
//! value ([`Report`], or [`Comparison`] for two runs) rendered as
//! self-contained HTML, markdown or JSON.

mod model;

pub use model::*;
mod html;
pub use html::{comparison_html, report_html};
