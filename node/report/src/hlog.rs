//! A tolerant reader of HdrHistogram interval logs (`.hlog`, format 1.3):
//! a line that does not parse is skipped and listed, never fatal.
//!
//! Besides the standard `#[StartTime: …]` and `#[BaseTime: …]` headers it
//! keeps every other `#[Key: value]` comment: the node writes its host,
//! CPU, build, launch file and module there (see `docs/logs.md`).

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;

use crate::model::{EnvEntry, Skipped};

/// One histogram line.
#[derive(Debug, Clone)]
pub struct Interval {
    /// `Tag=`, if the line has one.
    pub tag: Option<String>,
    /// Start, seconds since the base time.
    pub start_s: f64,
    /// Length, seconds.
    pub length_s: f64,
    /// The histogram (µs for fusion-node's logs).
    pub histogram: Histogram<u64>,
}

/// A `#[Key: value]` comment and the number of histogram lines before it,
/// so a comment written mid-run (a module swap) can be placed in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Key and value.
    pub entry: EnvEntry,
    /// Histogram lines read before it.
    pub after_intervals: usize,
}

/// What a log held.
#[derive(Debug, Clone, Default)]
pub struct Hlog {
    /// `#[StartTime: …]`, seconds since the Unix epoch.
    pub start_time_s: Option<f64>,
    /// `#[BaseTime: …]`, seconds since the Unix epoch.
    pub base_time_s: Option<f64>,
    /// Other `#[Key: value]` comments, in file order.
    pub comments: Vec<Comment>,
    /// Histogram lines, in file order.
    pub intervals: Vec<Interval>,
    /// Lines that could not be read.
    pub skipped: Vec<Skipped>,
}

impl Hlog {
    /// Reads a log's text; `file` names it in [`Skipped`] entries.
    pub fn parse(text: &str, file: &str) -> Hlog {
        let mut log = Hlog::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with("\"StartTimestamp\"") {
                continue;
            }
            let result = match line.strip_prefix('#') {
                Some(comment) => log.comment(comment),
                None => parse_interval(line).map(|interval| log.intervals.push(interval)),
            };
            if let Err(reason) = result {
                log.skipped.push(Skipped {
                    file: file.to_owned(),
                    line: i as u64 + 1,
                    reason,
                });
            }
        }
        log
    }

    fn comment(&mut self, comment: &str) -> Result<(), String> {
        // Free-form comments (`#[fusion-node latency histograms…]`) have no
        // `Key: `; only keyed ones are kept.
        let Some(body) = comment.strip_prefix('[').and_then(|c| c.strip_suffix(']')) else {
            return Ok(());
        };
        let Some((key, value)) = body.split_once(": ") else {
            return Ok(());
        };
        if key.is_empty() || key.contains(' ') {
            return Ok(());
        }
        let seconds = || {
            let number = value.split_whitespace().next().unwrap_or("");
            number
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite())
                .ok_or_else(|| format!("#[{key}] is not a time in seconds: {value:?}"))
        };
        match key {
            "StartTime" => self.start_time_s = Some(seconds()?),
            "BaseTime" => self.base_time_s = Some(seconds()?),
            _ => self.comments.push(Comment {
                entry: EnvEntry {
                    key: key.to_owned(),
                    value: value.to_owned(),
                },
                after_intervals: self.intervals.len(),
            }),
        }
        Ok(())
    }
}

/// `[Tag=NAME,]start,length,max,base64`.
fn parse_interval(line: &str) -> Result<Interval, String> {
    let (tag, rest) = match line.strip_prefix("Tag=") {
        Some(tagged) => {
            let (tag, rest) = tagged
                .split_once(',')
                .ok_or("a tag but no interval after it")?;
            (Some(tag.to_owned()), rest)
        }
        None => (None, line),
    };
    let fields: Vec<&str> = rest.split(',').collect();
    let [start, length, _max, encoded] = fields[..] else {
        return Err(format!(
            "expected start,length,max,histogram: {} fields",
            fields.len()
        ));
    };
    let number = |what: &str, s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{what} is not a non-negative number: {s:?}"))
    };
    let start_s = number("interval start", start)?;
    let length_s = number("interval length", length)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    let histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("histogram does not decode: {e:?}"))?;
    Ok(Interval {
        tag,
        start_s,
        length_s,
        histogram,
    })
}
