//! Writing a drive that copies another drive's chunks as they are.
//!
//! An offline replay writes its input messages back out next to the fused
//! objects. Decompressing is needed to run them; compressing them again is
//! not, and cost several times the replay itself. [`SpliceWriter`] copies a
//! source chunk's bytes verbatim ([`SpliceWriter::copy_chunk`], chunks that
//! [`crate::Messages::keep_chunks`] hands out) and writes only new messages
//! into chunks of its own. Channels and schemas keep their source ids; new
//! topics take ids counted down from `u16::MAX`, clear of any a recorder
//! hands out from 0 or 1.
//!
//! The mcap crate's writer cannot take a compressed chunk, so the records
//! are encoded here ([`crate::records`]); the files get the same summary
//! (schemas, channels, statistics, chunk indexes, summary offsets, CRCs)
//! and are read back in tests by the mcap crate, fusion-drive and the
//! Python readers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fusion_msgs::TypeInfo;
use mcap::records::op;

use crate::records::{self, ChunkHead, ChunkIndex, MessageHead, Statistics};
use crate::write::{OFFERED_QOS_PROFILES, compress, create_file};
use crate::{DriveError, LIBRARY, MESSAGE_ENCODING, PROFILE, SCHEMA_ENCODING, Topic, WriterConfig};

/// A schema of a source drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSchema {
    /// Its id in the source (0 is "no schema" in MCAP).
    pub id: u16,
    /// E.g. `sensor_msgs/msg/PointCloud2`.
    pub name: String,
    /// E.g. `ros2msg`.
    pub encoding: String,
    /// The definition text.
    pub data: Arc<[u8]>,
}

/// A channel of a source drive, as the source declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChannel {
    /// Its id in the source.
    pub id: u16,
    /// The topic.
    pub topic: String,
    /// E.g. `cdr`.
    pub message_encoding: String,
    /// Channel metadata (rosbag2 keeps the QoS profiles here).
    pub metadata: BTreeMap<String, String>,
    /// Its schema, if it has one.
    pub schema: Option<SourceSchema>,
}

/// A message record's place in its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// The message's channel (source id).
    pub channel_id: u16,
    /// Its log time (ns).
    pub log_time_ns: u64,
    /// The offset of its record in the chunk's uncompressed records.
    pub offset: u64,
}

/// A chunk of a source drive, as it is in the file, with what a copy
/// needs: its message index (rebuilt from its records, so a source without
/// message indexes copies too) and the channels its messages use.
#[derive(Debug, Clone)]
pub struct RawChunk<'a> {
    /// Where the chunk record starts in the source file.
    pub offset: u64,
    /// Its log-time range (ns).
    pub start_ns: u64,
    /// (End of the range, inclusive.)
    pub end_ns: u64,
    /// Its compression as MCAP names it (`zstd`, `lz4`, `""`).
    pub compression: String,
    /// Whether every message in it was handed out by the read (none was
    /// outside the filter's topics or times, or on a channel it could not
    /// resolve). Only a complete chunk copies as it is.
    pub complete: bool,
    /// Its messages, in record order.
    pub index: Vec<IndexEntry>,
    /// The channels they use.
    pub channels: Vec<SourceChannel>,
    pub(crate) record: Cow<'a, [u8]>,
    pub(crate) compressed_size: u64,
    pub(crate) uncompressed_size: u64,
}

impl RawChunk<'_> {
    /// A copy that owns its bytes (to send to a writer thread).
    pub fn into_owned(self) -> RawChunk<'static> {
        RawChunk {
            record: Cow::Owned(self.record.into_owned()),
            offset: self.offset,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            compression: self.compression,
            complete: self.complete,
            index: self.index,
            channels: self.channels,
            compressed_size: self.compressed_size,
            uncompressed_size: self.uncompressed_size,
        }
    }

    /// The chunk record's size in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.record.len() as u64
    }
}

/// Why [`SpliceWriter::copy_chunk`] declined a chunk (the caller writes its
/// messages one by one instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyRefused {
    /// Some of its messages were not read (filtered out or unresolved).
    #[error("not every message of the chunk was read")]
    Incomplete,
    /// A channel or schema id of the source is already used differently
    /// in this drive.
    #[error("{what} id {id} is already used differently in the output")]
    IdConflict {
        /// `channel` or `schema`.
        what: &'static str,
        /// The id.
        id: u16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SchemaRecord {
    name: String,
    encoding: String,
    data: Arc<[u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ChannelRecord {
    schema_id: u16,
    topic: String,
    message_encoding: String,
    metadata: BTreeMap<String, String>,
}

/// The chunk being filled with new messages.
#[derive(Default)]
struct OpenChunk {
    records: Vec<u8>,
    /// Per channel: (log time, offset).
    index: BTreeMap<u16, Vec<(u64, u64)>>,
    span: Option<(u64, u64)>,
}

/// Writes a drive from copied source chunks and new messages: an MCAP
/// file with the `ros2` profile, chunked, indexed and summarised like
/// [`crate::DriveWriter`]'s.
pub struct SpliceWriter<W: Write = BufWriter<File>> {
    out: W,
    /// Bytes written so far: the next record's offset.
    pos: u64,
    /// CRC of everything before the data-end record (`None` for a
    /// planner, which writes nothing).
    crc: Option<crc32fast::Hasher>,
    path: PathBuf,
    config: WriterConfig,
    schemas: BTreeMap<u16, SchemaRecord>,
    channels: BTreeMap<u16, ChannelRecord>,
    /// Channel ids of the topics added here, by handle.
    topics: Vec<u16>,
    next_new_id: u16,
    open: OpenChunk,
    chunk_indexes: Vec<ChunkIndex>,
    counts: BTreeMap<u16, u64>,
    span: Option<(u64, u64)>,
    copied: u64,
    buf: Vec<u8>,
}

/// What a finished spliced drive holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpliceSummary {
    /// All messages.
    pub messages: u64,
    /// Chunks copied from the source as they were.
    pub chunks_copied: u64,
    /// Chunks written here.
    pub chunks_written: u64,
}

impl SpliceWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>, config: WriterConfig) -> Result<Self, DriveError> {
        let path = path.as_ref();
        // Copied chunks are megabytes: large writes.
        Self::new(create_file(path, 1 << 20)?, path, config)
    }
}

impl SpliceWriter<std::io::Sink> {
    /// A writer that writes nothing and hashes nothing, for deciding on
    /// one thread what a writer on another will do: given the same calls,
    /// it takes the same copies and hands out the same topic handles.
    pub fn planner(config: WriterConfig) -> Result<Self, DriveError> {
        let mut planner = Self::new(std::io::sink(), "(planner)", config)?;
        planner.crc = None;
        Ok(planner)
    }
}

impl<W: Write> SpliceWriter<W> {
    /// Writes a drive to `out`; `path` only names it in errors.
    pub fn new(out: W, path: impl AsRef<Path>, config: WriterConfig) -> Result<Self, DriveError> {
        let mut writer = SpliceWriter {
            out,
            pos: 0,
            crc: Some(crc32fast::Hasher::new()),
            path: path.as_ref().to_owned(),
            config,
            schemas: BTreeMap::new(),
            channels: BTreeMap::new(),
            topics: Vec::new(),
            next_new_id: u16::MAX,
            open: OpenChunk::default(),
            chunk_indexes: Vec::new(),
            counts: BTreeMap::new(),
            span: None,
            copied: 0,
            buf: Vec::new(),
        };
        let mut head = mcap::MAGIC.to_vec();
        records::header(&mut head, PROFILE, LIBRARY);
        writer.emit(&head)?;
        Ok(writer)
    }

    /// Adds a topic of a ROS 2 type that fusion-msgs knows, for
    /// [`SpliceWriter::write`]. A channel already declared with the same
    /// topic and type (copied from the source) is reused.
    pub fn add_topic(&mut self, topic: &str, type_name: &str) -> Result<Topic, DriveError> {
        let type_info = TypeInfo::find(type_name).ok_or_else(|| DriveError::UnknownType {
            topic: topic.to_owned(),
            type_name: type_name.to_owned(),
        })?;
        let existing = self.channels.iter().find(|(_, c)| {
            c.topic == topic
                && c.message_encoding == MESSAGE_ENCODING
                && self.schemas.get(&c.schema_id).is_some_and(|s| {
                    TypeInfo::find(&s.name).is_some_and(|t| t.name == type_info.name)
                })
        });
        let channel_id = match existing {
            Some((&id, _)) => id,
            None => {
                let schema = SchemaRecord {
                    name: type_info.name.to_owned(),
                    encoding: SCHEMA_ENCODING.to_owned(),
                    data: Arc::from(type_info.full_definition.as_bytes()),
                };
                let schema_id = match self.schemas.iter().find(|(_, s)| **s == schema) {
                    Some((&id, _)) => id,
                    None => {
                        let id = self.new_id()?;
                        self.declare_schema(id, schema)?;
                        id
                    }
                };
                let id = self.new_id()?;
                let metadata = BTreeMap::from([(
                    "offered_qos_profiles".to_owned(),
                    OFFERED_QOS_PROFILES.to_owned(),
                )]);
                self.declare_channel(
                    id,
                    ChannelRecord {
                        schema_id,
                        topic: topic.to_owned(),
                        message_encoding: MESSAGE_ENCODING.to_owned(),
                        metadata,
                    },
                )?;
                id
            }
        };
        self.topics.push(channel_id);
        Ok(Topic(self.topics.len() as u16 - 1))
    }

    /// Writes one message into the open chunk, which is written out when
    /// it holds [`WriterConfig::chunk_bytes`] or spans
    /// [`WriterConfig::chunk_span_ns`].
    pub fn write(
        &mut self,
        topic: Topic,
        sequence: u32,
        log_time_ns: u64,
        publish_time_ns: u64,
        data: &[u8],
    ) -> Result<(), DriveError> {
        let channel_id = *self
            .topics
            .get(usize::from(topic.0))
            .ok_or(DriveError::UnknownTopic(topic.0))?;
        let offset = self.open.records.len() as u64;
        let head = MessageHead {
            channel_id,
            sequence,
            log_time: log_time_ns,
            publish_time: publish_time_ns,
        };
        records::message(&mut self.open.records, head, data);
        self.open
            .index
            .entry(channel_id)
            .or_default()
            .push((log_time_ns, offset));
        let (start, end) = self.open.span.get_or_insert((log_time_ns, log_time_ns));
        *start = (*start).min(log_time_ns);
        *end = (*end).max(log_time_ns);
        let first = *start;
        if self.open.records.len() as u64 >= self.config.chunk_bytes
            || log_time_ns.saturating_sub(first) >= self.config.chunk_span_ns
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Copies a source chunk as it is, declaring the channels and schemas
    /// it uses with their source ids. A refusal leaves the drive as it
    /// was. `Err` is an I/O failure.
    pub fn copy_chunk(
        &mut self,
        chunk: &RawChunk<'_>,
    ) -> Result<Result<(), CopyRefused>, DriveError> {
        if !chunk.complete {
            return Ok(Err(CopyRefused::Incomplete));
        }
        if let Err(refused) = self.declare_sources(&chunk.channels)? {
            return Ok(Err(refused));
        }
        let mut index: BTreeMap<u16, Vec<(u64, u64)>> = BTreeMap::new();
        for e in &chunk.index {
            index
                .entry(e.channel_id)
                .or_default()
                .push((e.log_time_ns, e.offset));
        }
        let chunk_start_offset = self.pos;
        self.emit(&chunk.record)?;
        let (message_index_offsets, message_index_length) = self.write_message_indexes(&index)?;
        self.chunk_indexes.push(ChunkIndex {
            start: chunk.start_ns,
            end: chunk.end_ns,
            chunk_start_offset,
            chunk_length: chunk.record.len() as u64,
            message_index_offsets,
            message_index_length,
            compression: chunk.compression.clone(),
            compressed_size: chunk.compressed_size,
            uncompressed_size: chunk.uncompressed_size,
        });
        self.count(&index);
        self.copied += 1;
        Ok(Ok(()))
    }

    /// A handle for writing messages of a source channel whose chunk is
    /// not copied, declared with its source ids (so that its copied and
    /// written messages share one channel). `Err` when the ids are taken
    /// by other declarations (use [`SpliceWriter::add_topic`] then).
    pub fn add_source_channel(
        &mut self,
        channel: &SourceChannel,
    ) -> Result<Result<Topic, CopyRefused>, DriveError> {
        if let Err(refused) = self.declare_sources(std::slice::from_ref(channel))? {
            return Ok(Err(refused));
        }
        self.topics.push(channel.id);
        Ok(Ok(Topic(self.topics.len() as u16 - 1)))
    }

    /// Declares source channels and their schemas with their ids, unless
    /// one of the ids is taken by another declaration (then none is).
    fn declare_sources(
        &mut self,
        channels: &[SourceChannel],
    ) -> Result<Result<(), CopyRefused>, DriveError> {
        // Check every declaration before writing any.
        for c in channels {
            if let Some(s) = &c.schema
                && self
                    .schemas
                    .get(&s.id)
                    .is_some_and(|have| *have != source_schema(s))
            {
                return Ok(Err(CopyRefused::IdConflict {
                    what: "schema",
                    id: s.id,
                }));
            }
            if self
                .channels
                .get(&c.id)
                .is_some_and(|have| *have != source_channel(c))
            {
                return Ok(Err(CopyRefused::IdConflict {
                    what: "channel",
                    id: c.id,
                }));
            }
        }
        for c in channels {
            if let Some(s) = &c.schema
                && !self.schemas.contains_key(&s.id)
            {
                self.declare_schema(s.id, source_schema(s))?;
            }
            if !self.channels.contains_key(&c.id) {
                self.declare_channel(c.id, source_channel(c))?;
            }
        }
        Ok(Ok(()))
    }

    /// Writes the open chunk out, so a crash after this loses nothing
    /// written before it.
    pub fn flush(&mut self) -> Result<(), DriveError> {
        let Some(span) = self.open.span.take() else {
            return Ok(());
        };
        let open = std::mem::take(&mut self.open);
        let compression = self.config.compression;
        let compressed = compress(compression, &open.records).map_err(|source| self.io(source))?;
        let head = ChunkHead {
            start: span.0,
            end: span.1,
            uncompressed_size: open.records.len() as u64,
            uncompressed_crc: crc32fast::hash(&open.records),
            compression: compression.mcap_name(),
        };
        let mut record = std::mem::take(&mut self.buf);
        record.clear();
        records::chunk(&mut record, &head, &compressed);
        let chunk_start_offset = self.pos;
        self.emit(&record)?;
        let (message_index_offsets, message_index_length) =
            self.write_message_indexes(&open.index)?;
        self.chunk_indexes.push(ChunkIndex {
            start: span.0,
            end: span.1,
            chunk_start_offset,
            chunk_length: record.len() as u64,
            message_index_offsets,
            message_index_length,
            compression: compression.mcap_name().to_owned(),
            compressed_size: compressed.len() as u64,
            uncompressed_size: open.records.len() as u64,
        });
        self.count(&open.index);
        self.buf = record;
        // Keep the records buffer's capacity for the next chunk.
        self.open.records = open.records;
        self.open.records.clear();
        self.out.flush().map_err(|source| self.io(source))
    }

    /// Writes the last chunk, the summary and the footer, and flushes.
    pub fn finish(mut self) -> Result<SpliceSummary, DriveError> {
        self.flush()?;
        let mut tail = Vec::new();
        // 0: no CRC (a planner's).
        let data_crc = self.crc.clone().map_or(0, crc32fast::Hasher::finalize);
        records::data_end(&mut tail, data_crc);
        self.emit(&tail)?;

        let summary_start = self.pos;
        let mut summary = Vec::new();
        let mut groups = Vec::new();
        let mut group = |summary: &mut Vec<u8>, opcode: u8, write: &dyn Fn(&mut Vec<u8>)| {
            let start = summary.len();
            write(summary);
            if summary.len() > start {
                groups.push((
                    opcode,
                    summary_start + start as u64,
                    (summary.len() - start) as u64,
                ));
            }
        };
        group(&mut summary, op::SCHEMA, &|b| {
            for (&id, s) in &self.schemas {
                records::schema(b, id, &s.name, &s.encoding, &s.data);
            }
        });
        group(&mut summary, op::CHANNEL, &|b| {
            for (&id, c) in &self.channels {
                records::channel(
                    b,
                    id,
                    c.schema_id,
                    &c.topic,
                    &c.message_encoding,
                    &c.metadata,
                );
            }
        });
        let (start, end) = self.span.unwrap_or((0, 0));
        let stats = Statistics {
            message_count: self.counts.values().sum(),
            schema_count: self.schemas.len() as u16,
            channel_count: self.channels.len() as u32,
            chunk_count: self.chunk_indexes.len() as u32,
            start,
            end,
            channel_message_counts: self.counts.clone(),
        };
        group(&mut summary, op::STATISTICS, &|b| {
            records::statistics(b, &stats)
        });
        group(&mut summary, op::CHUNK_INDEX, &|b| {
            for index in &self.chunk_indexes {
                records::chunk_index(b, index);
            }
        });
        let summary_offset_start = summary_start + summary.len() as u64;
        for (opcode, start, length) in groups {
            records::summary_offset(&mut summary, opcode, start, length);
        }
        records::footer_head(&mut summary, summary_start, summary_offset_start);
        let summary_crc = crc32fast::hash(&summary);
        summary.extend_from_slice(&summary_crc.to_le_bytes());
        summary.extend_from_slice(mcap::MAGIC);
        self.out
            .write_all(&summary)
            .and_then(|()| self.out.flush())
            .map_err(|source| self.io(source))?;
        Ok(SpliceSummary {
            messages: stats.message_count,
            chunks_copied: self.copied,
            chunks_written: stats.chunk_count as u64 - self.copied,
        })
    }

    /// Messages written so far (copied and new).
    pub fn messages_written(&self) -> u64 {
        self.counts.values().sum::<u64>()
            + self
                .open
                .index
                .values()
                .map(|v| v.len() as u64)
                .sum::<u64>()
    }

    /// A free id (for a schema or a channel: each has its own id space,
    /// but one count keeps them apart), counted down from `u16::MAX`.
    fn new_id(&mut self) -> Result<u16, DriveError> {
        let mut id = self.next_new_id;
        while id > 0 && (self.schemas.contains_key(&id) || self.channels.contains_key(&id)) {
            id -= 1;
        }
        if id == 0 {
            return Err(DriveError::Mcap {
                path: self.path.clone(),
                source: mcap::McapError::TooManyChannels,
            });
        }
        self.next_new_id = id - 1;
        Ok(id)
    }

    /// Declares a schema in the data section (so a streaming reader knows
    /// it before any message) and, at the end, in the summary.
    fn declare_schema(&mut self, id: u16, schema: SchemaRecord) -> Result<(), DriveError> {
        let mut b = Vec::new();
        records::schema(&mut b, id, &schema.name, &schema.encoding, &schema.data);
        self.emit(&b)?;
        self.schemas.insert(id, schema);
        Ok(())
    }

    fn declare_channel(&mut self, id: u16, channel: ChannelRecord) -> Result<(), DriveError> {
        let mut b = Vec::new();
        records::channel(
            &mut b,
            id,
            channel.schema_id,
            &channel.topic,
            &channel.message_encoding,
            &channel.metadata,
        );
        self.emit(&b)?;
        self.channels.insert(id, channel);
        Ok(())
    }

    /// One message index record per channel after a chunk; returns where
    /// each is and their total length.
    fn write_message_indexes(
        &mut self,
        index: &BTreeMap<u16, Vec<(u64, u64)>>,
    ) -> Result<(BTreeMap<u16, u64>, u64), DriveError> {
        let start = self.pos;
        let mut b = Vec::new();
        let mut offsets = BTreeMap::new();
        for (&channel, entries) in index {
            offsets.insert(channel, start + b.len() as u64);
            records::message_index(&mut b, channel, entries);
        }
        self.emit(&b)?;
        Ok((offsets, b.len() as u64))
    }

    /// Adds a chunk's messages to the statistics (their span from the
    /// messages themselves: a chunk header may say 0 when it has none).
    fn count(&mut self, index: &BTreeMap<u16, Vec<(u64, u64)>>) {
        for (&channel, entries) in index {
            *self.counts.entry(channel).or_default() += entries.len() as u64;
            for &(t, _) in entries {
                let all = self.span.get_or_insert((t, t));
                all.0 = all.0.min(t);
                all.1 = all.1.max(t);
            }
        }
    }

    /// Writes bytes of the data section.
    fn emit(&mut self, bytes: &[u8]) -> Result<(), DriveError> {
        self.out
            .write_all(bytes)
            .map_err(|source| self.io(source))?;
        if let Some(crc) = &mut self.crc {
            crc.update(bytes);
        }
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> DriveError {
        DriveError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

fn source_schema(s: &SourceSchema) -> SchemaRecord {
    SchemaRecord {
        name: s.name.clone(),
        encoding: s.encoding.clone(),
        data: s.data.clone(),
    }
}

fn source_channel(c: &SourceChannel) -> ChannelRecord {
    ChannelRecord {
        schema_id: c.schema.as_ref().map_or(0, |s| s.id),
        topic: c.topic.clone(),
        message_encoding: c.message_encoding.clone(),
        metadata: c.metadata.clone(),
    }
}
