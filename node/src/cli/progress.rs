//! Progress bars for long commands: drawn on a terminal, absent otherwise
//! (the command's summary lines are the plain output).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `total` steps of `unit` (e.g. `"s"` of drive time), labelled
/// `what`; hidden when stderr is not a terminal.
pub(super) fn bar(total: u64, what: &str, unit: &str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let template = format!("{{msg:12}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{eta}} left)");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(total)
        .with_style(style)
        .with_message(what.to_owned())
}
