//! Writing a drive: one MCAP file with the `ros2` profile.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use fusion_msgs::{Message, TypeInfo};
use mcap::records::MessageHeader;

use crate::{DriveError, LIBRARY, MESSAGE_ENCODING, PROFILE, SCHEMA_ENCODING};

/// How chunks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Zstandard (the default: smallest files, fast enough to record live).
    #[default]
    Zstd,
    /// LZ4 (faster, larger).
    Lz4,
    /// No compression.
    None,
}

impl Compression {
    /// The name MCAP writes in a chunk (`""` for none).
    pub fn mcap_name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::None => "",
        }
    }

    fn to_mcap(self) -> Option<mcap::Compression> {
        match self {
            Compression::Zstd => Some(mcap::Compression::Zstd),
            Compression::Lz4 => Some(mcap::Compression::Lz4),
            Compression::None => None,
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zstd" => Ok(Compression::Zstd),
            "lz4" => Ok(Compression::Lz4),
            "none" => Ok(Compression::None),
            other => Err(format!("unknown compression {other:?} (zstd, lz4 or none)")),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::None => "none",
        })
    }
}

/// Compresses a chunk's records as mcap's writer does (zstd at its
/// default level; an LZ4 frame without block checksums).
pub(crate) fn compress(compression: Compression, plain: &[u8]) -> std::io::Result<Cow<'_, [u8]>> {
    match compression {
        Compression::None => Ok(Cow::Borrowed(plain)),
        Compression::Zstd => zstd::bulk::compress(plain, 0).map(Cow::Owned),
        Compression::Lz4 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .level(0)
                .block_checksum(lz4::liblz4::BlockChecksum::NoBlockChecksum)
                .build(Vec::with_capacity(plain.len() / 2))?;
            encoder.write_all(plain)?;
            let (out, result) = encoder.finish();
            result.map(|()| Cow::Owned(out))
        }
    }
}

/// How a drive is written.
///
/// A chunk is written to the file when it holds `chunk_bytes` of
/// uncompressed records or spans `chunk_span_ns` of log time, whichever
/// comes first. A writer that is killed loses only its open chunk: the file
/// stays readable by [`crate::DriveReader`] (and `mcap recover`) up to the
/// last chunk it wrote, so these two bound what a crash can cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Chunk compression.
    pub compression: Compression,
    /// Uncompressed bytes after which a chunk is closed.
    pub chunk_bytes: u64,
    /// Log time (ns) after which a chunk is closed.
    pub chunk_span_ns: u64,
}

impl WriterConfig {
    /// 4 MiB: large enough to compress well, small enough to lose little.
    pub const DEFAULT_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
    /// 1 s of log time.
    pub const DEFAULT_CHUNK_SPAN_NS: u64 = 1_000_000_000;
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            compression: Compression::Zstd,
            chunk_bytes: Self::DEFAULT_CHUNK_BYTES,
            chunk_span_ns: Self::DEFAULT_CHUNK_SPAN_NS,
        }
    }
}

/// A topic registered in a [`DriveWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic(pub(crate) u16);

/// rosbag2's QoS profile for a reliable, volatile, keep-last-10 topic, in the
/// `offered_qos_profiles` form that rosbag2 reads from a channel whose file
/// carries no `rosbag2` metadata record (enum values as integers).
pub(crate) const OFFERED_QOS_PROFILES: &str = "- history: 1
  depth: 10
  reliability: 1
  durability: 2
  deadline:
    sec: 0
    nsec: 0
  lifespan:
    sec: 0
    nsec: 0
  liveliness: 1
  liveliness_lease_duration:
    sec: 0
    nsec: 0
  avoid_ros_namespace_conventions: false";

struct TopicState {
    name: String,
    type_info: &'static TypeInfo,
    channel_id: u16,
    next_sequence: u32,
    messages: u64,
}

/// What a finished drive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Messages per topic, in registration order: (topic, type, count).
    pub topics: Vec<(String, &'static str, u64)>,
    /// All messages.
    pub messages: u64,
    /// Chunks written.
    pub chunks: u64,
}

/// Writes a drive: a chunked, compressed, indexed MCAP file with the `ros2`
/// profile that Foxglove and `ros2 bag` open.
pub struct DriveWriter<W: Write + Seek = BufWriter<File>> {
    mcap: mcap::Writer<W>,
    path: PathBuf,
    config: WriterConfig,
    topics: Vec<TopicState>,
    open_chunk_bytes: u64,
    open_chunk_start_ns: Option<u64>,
    chunks: u64,
}

impl DriveWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>, config: WriterConfig) -> Result<Self, DriveError> {
        let path = path.as_ref();
        Self::new(create_file(path, 1 << 16)?, path, config)
    }
}

/// Creates (or truncates) a drive file, buffered by `capacity` bytes.
pub(crate) fn create_file(path: &Path, capacity: usize) -> Result<BufWriter<File>, DriveError> {
    let file = File::create(path).map_err(|source| DriveError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(BufWriter::with_capacity(capacity, file))
}

impl<W: Write + Seek> DriveWriter<W> {
    /// Writes a drive to `out`; `path` only names it in errors.
    pub fn new(out: W, path: impl AsRef<Path>, config: WriterConfig) -> Result<Self, DriveError> {
        let path = path.as_ref().to_owned();
        let options = mcap::WriteOptions::new()
            .profile(PROFILE)
            .library(LIBRARY)
            .compression(config.compression.to_mcap())
            // Chunks are closed here (see `write`), so a crash loses a bounded amount.
            .chunk_size(None)
            // Compress on the calling thread: predictable CPU, deterministic output.
            .compression_threads(0);
        let mcap = options.create(out).map_err(|source| DriveError::Mcap {
            path: path.clone(),
            source,
        })?;
        Ok(DriveWriter {
            mcap,
            path,
            config,
            topics: Vec::new(),
            open_chunk_bytes: 0,
            open_chunk_start_ns: None,
            chunks: 0,
        })
    }

    /// Registers `topic` with a ROS 2 type (`sensor_msgs/msg/PointCloud2` or
    /// the short `sensor_msgs/PointCloud2`) that fusion-msgs knows. Adding
    /// the same topic again with the same type returns the same handle.
    pub fn add_topic(&mut self, topic: &str, type_name: &str) -> Result<Topic, DriveError> {
        let type_info = TypeInfo::find(type_name).ok_or_else(|| DriveError::UnknownType {
            topic: topic.to_owned(),
            type_name: type_name.to_owned(),
        })?;
        if let Some(index) = self.topics.iter().position(|t| t.name == topic) {
            let existing = self.topics[index].type_info.name;
            if existing != type_info.name {
                return Err(DriveError::TopicTypeConflict {
                    topic: topic.to_owned(),
                    existing,
                    requested: type_name.to_owned(),
                });
            }
            return Ok(Topic(index as u16));
        }
        let index = u16::try_from(self.topics.len())
            .map_err(|_| self.mcap_error(mcap::McapError::TooManyChannels))?;
        let schema_id = self
            .mcap
            .add_schema(
                type_info.name,
                SCHEMA_ENCODING,
                type_info.full_definition.as_bytes(),
            )
            .map_err(|e| self.mcap_error(e))?;
        let metadata = BTreeMap::from([(
            "offered_qos_profiles".to_owned(),
            OFFERED_QOS_PROFILES.to_owned(),
        )]);
        let channel_id = self
            .mcap
            .add_channel(schema_id, topic, MESSAGE_ENCODING, &metadata)
            .map_err(|e| self.mcap_error(e))?;
        self.topics.push(TopicState {
            name: topic.to_owned(),
            type_info,
            channel_id,
            next_sequence: 0,
            messages: 0,
        });
        Ok(Topic(index))
    }

    /// Writes one CDR-encoded message. `log_time_ns` is when it was
    /// received, `publish_time_ns` when it was sent. Sequence numbers count
    /// per topic from 0.
    pub fn write(
        &mut self,
        topic: Topic,
        log_time_ns: u64,
        publish_time_ns: u64,
        cdr: &[u8],
    ) -> Result<(), DriveError> {
        let state = self
            .topics
            .get_mut(usize::from(topic.0))
            .ok_or(DriveError::UnknownTopic(topic.0))?;
        let header = MessageHeader {
            channel_id: state.channel_id,
            sequence: state.next_sequence,
            log_time: log_time_ns,
            publish_time: publish_time_ns,
        };
        state.next_sequence = state.next_sequence.wrapping_add(1);
        state.messages += 1;
        self.mcap
            .write_to_known_channel(&header, cdr)
            .map_err(|e| self.mcap_error(e))?;
        // opcode + length + message header + data
        self.open_chunk_bytes += 1 + 8 + 22 + cdr.len() as u64;
        let start = *self.open_chunk_start_ns.get_or_insert(log_time_ns);
        if self.open_chunk_bytes >= self.config.chunk_bytes
            || log_time_ns.saturating_sub(start) >= self.config.chunk_span_ns
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Encodes `message` as CDR and writes it (see [`DriveWriter::write`]).
    pub fn write_message<M: Message>(
        &mut self,
        topic: Topic,
        log_time_ns: u64,
        publish_time_ns: u64,
        message: &M,
    ) -> Result<(), DriveError> {
        let cdr = fusion_msgs::encode(message).map_err(|source| DriveError::Encode {
            topic: self.topic_name(topic).to_owned(),
            source,
        })?;
        self.write(topic, log_time_ns, publish_time_ns, &cdr)
    }

    /// Closes the open chunk and pushes it to the file, so a crash after
    /// this loses nothing written before it.
    pub fn flush(&mut self) -> Result<(), DriveError> {
        if self.open_chunk_start_ns.is_none() {
            return Ok(());
        }
        self.mcap.flush().map_err(|e| self.mcap_error(e))?;
        self.open_chunk_bytes = 0;
        self.open_chunk_start_ns = None;
        self.chunks += 1;
        Ok(())
    }

    /// Messages written so far.
    pub fn messages_written(&self) -> u64 {
        self.topics.iter().map(|t| t.messages).sum()
    }

    /// Writes the last chunk, the summary (schemas, channels, statistics,
    /// chunk indexes) and the footer, and flushes the file.
    pub fn finish(mut self) -> Result<WriteSummary, DriveError> {
        if self.open_chunk_start_ns.is_some() {
            self.chunks += 1;
        }
        self.mcap.finish().map_err(|e| self.mcap_error(e))?;
        let summary = WriteSummary {
            topics: self
                .topics
                .iter()
                .map(|t| (t.name.clone(), t.type_info.name, t.messages))
                .collect(),
            messages: self.messages_written(),
            chunks: self.chunks,
        };
        let path = self.path.clone();
        self.mcap
            .into_inner()
            .flush()
            .map_err(|source| DriveError::Io { path, source })?;
        Ok(summary)
    }

    fn topic_name(&self, topic: Topic) -> &str {
        self.topics
            .get(usize::from(topic.0))
            .map_or("?", |t| t.name.as_str())
    }

    fn mcap_error(&self, source: mcap::McapError) -> DriveError {
        DriveError::Mcap {
            path: self.path.clone(),
            source,
        }
    }
}
