//! Launch-file errors: each names the file and, when it is about the
//! file's text, the line and column.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use thiserror::Error;

/// A 1-based line and column (in characters) in a launch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `text` (clamped to its end).
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a launch file was refused. Displays on one line as
/// `FILE:LINE:COLUMN: message` (or `FILE: message` when no position
/// applies, e.g. the file cannot be read).
#[derive(Debug, Error)]
#[error("{}{}: {kind}", file.display(), location.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LaunchError {
    /// The launch file, as given.
    pub file: PathBuf,
    /// Where in it, if the error is about its text.
    pub location: Option<Location>,
    /// What is wrong.
    #[source]
    pub kind: LaunchErrorKind,
}

/// What is wrong with a launch file.
#[derive(Debug, Error)]
pub enum LaunchErrorKind {
    /// The launch file itself cannot be read.
    #[error("cannot read the launch file: {0}")]
    Read(#[source] std::io::Error),
    /// Not TOML, or not the launch schema (unknown key, wrong type,
    /// missing key); the message is the parser's.
    #[error("{0}")]
    Syntax(String),
    /// A file the launch file names (module, zenoh config) cannot be read.
    #[error("cannot read {what} `{path}`: {source}")]
    Unreadable {
        /// "module" or "zenoh config".
        what: &'static str,
        /// The path as resolved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Well-formed, but the values do not make a valid launch (duplicate
    /// names, a camera without intrinsics, out-of-range values...).
    #[error("{0}")]
    Invalid(String),
}

/// Builds errors with positions for one file's text.
pub(super) struct ErrorSite<'a> {
    pub file: &'a std::path::Path,
    pub text: &'a str,
}

impl ErrorSite<'_> {
    pub(super) fn at(&self, span: Range<usize>, kind: LaunchErrorKind) -> LaunchError {
        LaunchError {
            file: self.file.to_path_buf(),
            location: Some(Location::of_offset(self.text, span.start)),
            kind,
        }
    }

    pub(super) fn invalid(&self, span: Range<usize>, message: impl Into<String>) -> LaunchError {
        self.at(span, LaunchErrorKind::Invalid(message.into()))
    }

    pub(super) fn syntax(&self, err: &toml::de::Error) -> LaunchError {
        // The parser's message may span lines; the CLI prints one.
        let message = err
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        LaunchError {
            file: self.file.to_path_buf(),
            location: err.span().map(|s| Location::of_offset(self.text, s.start)),
            kind: LaunchErrorKind::Syntax(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "a = 1\nb = \"é\" x\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // 'x' follows a two-byte character.
        let x = text.find('x').unwrap();
        assert_eq!(
            Location::of_offset(text, x),
            Location { line: 2, column: 9 }
        );
        assert_eq!(Location::of_offset(text, 999).line, 3);
    }
}
