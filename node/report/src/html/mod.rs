//! TEMPORARY stand-in until the HTML renderer lands.
use crate::model::*;
/// HTML.
pub fn report_html(r: &Report) -> String {
    format!("<pre>{}</pre>", crate::report_markdown(r))
}
/// HTML.
pub fn comparison_html(c: &Comparison) -> String {
    format!("<pre>{}</pre>", crate::comparison_markdown(c))
}
