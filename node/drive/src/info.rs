//! A drive's summary, like `ros2 bag info`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use fusion_msgs::TypeInfo;

use crate::{DriveError, DriveReader, MESSAGE_ENCODING, ReadFilter, ReadIssues, SCHEMA_ENCODING};

/// One topic of a drive.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TopicSummary {
    /// The topic.
    pub topic: String,
    /// Its schema name.
    pub type_name: String,
    /// Whether fusion-msgs knows the type (and the channel is `ros2msg` + `cdr`).
    pub known_type: bool,
    /// Its messages.
    pub count: u64,
    /// Its mean rate over the whole drive (count / drive duration), Hz.
    pub rate_hz: f64,
}

/// What a drive holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DriveInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// First message's log time (ns), 0 when empty.
    pub start_ns: u64,
    /// Last message's log time (ns), 0 when empty.
    pub end_ns: u64,
    /// `end_ns - start_ns`.
    pub duration_ns: u64,
    /// All messages.
    pub message_count: u64,
    /// Chunks.
    pub chunk_count: u64,
    /// Chunk compressions with their chunk counts (`none` for uncompressed).
    pub compression: BTreeMap<String, u64>,
    /// Topics, by name.
    pub topics: Vec<TopicSummary>,
    /// Whether the figures come from the summary (else from reading every
    /// message).
    pub from_summary: bool,
    /// What reading had to skip (when scanned, these are complete).
    pub issues: ReadIssues,
}

impl DriveInfo {
    /// Summarises the drive at `path`: from its summary section when it has
    /// a sound one, else by reading every message.
    pub fn read(path: impl AsRef<Path>) -> Result<DriveInfo, DriveError> {
        Ok(Self::of(&DriveReader::open(path)?))
    }

    /// Summarises an open drive.
    pub fn of(reader: &DriveReader) -> DriveInfo {
        let layout = reader.layout();
        let mut compression = BTreeMap::new();
        for c in &layout.chunk_compressions {
            let name = if c.is_empty() { "none" } else { c.as_str() };
            *compression.entry(name.to_owned()).or_insert(0) += 1;
        }
        // (topic -> (type, known, count))
        let mut topics: BTreeMap<String, (String, bool, u64)> = BTreeMap::new();
        let (start_ns, end_ns, message_count, issues) = match &layout.statistics {
            Some(stats) => {
                for (id, channel) in &layout.channels {
                    let schema = layout.schemas.get(&channel.schema_id);
                    let type_name = schema.map_or(String::new(), |s| s.name.clone());
                    let known = schema.is_some_and(|s| {
                        s.encoding == SCHEMA_ENCODING
                            && channel.message_encoding == MESSAGE_ENCODING
                            && TypeInfo::find(&s.name).is_some()
                    });
                    let count = stats.channel_message_counts.get(id).copied().unwrap_or(0);
                    let entry = topics
                        .entry(channel.topic.clone())
                        .or_insert((type_name, known, 0));
                    entry.2 += count;
                }
                let (start, end) = if stats.message_count == 0 {
                    (0, 0)
                } else {
                    (stats.message_start_time, stats.message_end_time)
                };
                let mut issues = reader.issues();
                for (topic, (type_name, known, count)) in &topics {
                    if !known && *count > 0 {
                        issues.unknown_type_messages += count;
                        issues
                            .unknown_type_topics
                            .insert(format!("{topic} ({type_name})"));
                    }
                }
                (start, end, stats.message_count, issues)
            }
            None => {
                let mut messages = reader.messages(ReadFilter::default());
                let (mut start, mut end, mut count) = (u64::MAX, 0, 0u64);
                for m in messages.by_ref() {
                    start = start.min(m.log_time_ns);
                    end = end.max(m.log_time_ns);
                    count += 1;
                    let entry = topics.entry(m.topic.to_string()).or_insert((
                        m.type_name.to_string(),
                        m.type_info.is_some(),
                        0,
                    ));
                    entry.2 += 1;
                }
                if count == 0 {
                    start = 0;
                }
                (start, end, count, messages.into_issues())
            }
        };
        let duration_ns = end_ns.saturating_sub(start_ns);
        let topics = topics
            .into_iter()
            .map(|(topic, (type_name, known_type, count))| TopicSummary {
                rate_hz: if duration_ns > 0 {
                    count as f64 / (duration_ns as f64 * 1e-9)
                } else {
                    0.0
                },
                topic,
                type_name,
                known_type,
                count,
            })
            .collect();
        DriveInfo {
            path: reader.path().to_owned(),
            size_bytes: reader.size_bytes(),
            start_ns,
            end_ns,
            duration_ns,
            message_count,
            chunk_count: layout.chunk_compressions.len() as u64,
            compression,
            topics,
            from_summary: layout.from_summary,
            issues,
        }
    }
}

fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for DriveInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compression: Vec<String> = self
            .compression
            .iter()
            .map(|(name, n)| format!("{name} ({n} chunks)"))
            .collect();
        writeln!(f, "Files:        {}", self.path.display())?;
        writeln!(
            f,
            "Size:         {} ({} bytes)",
            human_bytes(self.size_bytes),
            self.size_bytes
        )?;
        writeln!(f, "Duration:     {} s", seconds(self.duration_ns))?;
        writeln!(f, "Start:        {} s", seconds(self.start_ns))?;
        writeln!(f, "End:          {} s", seconds(self.end_ns))?;
        writeln!(f, "Messages:     {}", self.message_count)?;
        writeln!(f, "Chunks:       {}", self.chunk_count)?;
        writeln!(
            f,
            "Compression:  {}",
            if compression.is_empty() {
                "-".to_owned()
            } else {
                compression.join(", ")
            }
        )?;
        writeln!(
            f,
            "Source:       {}",
            if self.from_summary {
                "summary section"
            } else {
                "scan of every message (no usable summary)"
            }
        )?;
        let topic_w = self
            .topics
            .iter()
            .map(|t| t.topic.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let type_w = self
            .topics
            .iter()
            .map(|t| t.type_name.len() + 2)
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(f, "Topics:       {}", self.topics.len())?;
        writeln!(
            f,
            "  {:<topic_w$}  {:<type_w$}  {:>9}  {:>9}",
            "topic", "type", "count", "rate Hz"
        )?;
        for t in &self.topics {
            let type_name = if t.known_type {
                t.type_name.clone()
            } else {
                format!("{} ?", t.type_name)
            };
            writeln!(
                f,
                "  {:<topic_w$}  {:<type_w$}  {:>9}  {:>9.2}",
                t.topic, type_name, t.count, t.rate_hz
            )?;
        }
        write!(f, "{}", self.issues)
    }
}
