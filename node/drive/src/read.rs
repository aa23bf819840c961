//! Reading a drive: messages in log-time order from a memory map, with
//! everything that had to be skipped counted in [`ReadIssues`].

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fusion_msgs::TypeInfo;
use mcap::records::{Record, op};

use crate::layout::{Block, BlockKind, ChannelDecl, Layout, RECORD_PREFIX, SchemaDecl};
use crate::splice::{IndexEntry, RawChunk, SourceChannel, SourceSchema};
use crate::{DriveError, MESSAGE_ENCODING, SCHEMA_ENCODING};

/// What a read had to skip or could not trust. A clean read has
/// [`ReadIssues::is_clean`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadIssues {
    /// The file has no footer: its writer was killed or it was cut. Every
    /// message before the cut was read.
    pub truncated: bool,
    /// No usable summary: the data section was scanned instead.
    pub scanned: bool,
    /// Chunks skipped whole (bad CRC, bad lengths, bad compression).
    pub corrupt_chunks: u64,
    /// Records outside chunks skipped (bad lengths or fields).
    pub corrupt_records: u64,
    /// Messages whose channel was never declared (skipped).
    pub unknown_channel_messages: u64,
    /// Messages on channels that are not `ros2msg` + `cdr` of a type
    /// fusion-msgs knows (yielded unless [`ReadFilter::skip_unknown_types`]).
    pub unknown_type_messages: u64,
    /// Topics of those channels, with their type names.
    pub unknown_type_topics: BTreeSet<String>,
    /// The first few warnings, each naming a byte offset or topic.
    pub warnings: Vec<String>,
}

impl ReadIssues {
    /// Nothing skipped, nothing unknown, summary used.
    pub fn is_clean(&self) -> bool {
        !self.truncated
            && !self.scanned
            && self.corrupt_chunks == 0
            && self.corrupt_records == 0
            && self.unknown_channel_messages == 0
            && self.unknown_type_messages == 0
    }

    /// Whether something was lost (truncation or corruption), as opposed to
    /// merely unknown.
    pub fn lost_data(&self) -> bool {
        self.truncated
            || self.corrupt_chunks > 0
            || self.corrupt_records > 0
            || self.unknown_channel_messages > 0
    }

    fn from_layout(layout: &Layout) -> Self {
        ReadIssues {
            truncated: layout.truncated,
            scanned: !layout.from_summary,
            corrupt_chunks: layout.corrupt_chunks,
            corrupt_records: layout.corrupt_records,
            warnings: layout.warnings.clone(),
            ..ReadIssues::default()
        }
    }

    fn warn(&mut self, warning: String) {
        const MAX_WARNINGS: usize = 32;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }
}

impl fmt::Display for ReadIssues {
    /// One `warning:` line per kind of issue; nothing when clean.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.truncated {
            writeln!(
                f,
                "warning: truncated file (no footer): read every message up to the cut"
            )?;
        } else if self.scanned {
            writeln!(f, "warning: no usable summary: scanned the data section")?;
        }
        if self.corrupt_chunks > 0 {
            writeln!(
                f,
                "warning: {} corrupt chunk(s) skipped",
                self.corrupt_chunks
            )?;
        }
        if self.corrupt_records > 0 {
            writeln!(
                f,
                "warning: {} corrupt record(s) skipped",
                self.corrupt_records
            )?;
        }
        if self.unknown_channel_messages > 0 {
            writeln!(
                f,
                "warning: {} message(s) on undeclared channels skipped",
                self.unknown_channel_messages
            )?;
        }
        if self.unknown_type_messages > 0 {
            let topics: Vec<&str> = self
                .unknown_type_topics
                .iter()
                .map(String::as_str)
                .collect();
            writeln!(
                f,
                "warning: {} message(s) of types fusion-msgs does not know: {}",
                self.unknown_type_messages,
                topics.join(", ")
            )?;
        }
        for w in self
            .warnings
            .iter()
            .skip(usize::from(self.truncated || self.scanned))
        {
            writeln!(f, "  {w}")?;
        }
        Ok(())
    }
}

/// Which messages to read. The default reads all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadFilter {
    /// Only these topics (all when `None`).
    pub topics: Option<BTreeSet<String>>,
    /// Only messages logged at or after this time (ns).
    pub start_ns: Option<u64>,
    /// Only messages logged before this time (ns).
    pub end_ns: Option<u64>,
    /// Do not yield messages of types fusion-msgs does not know (they are
    /// still counted in [`ReadIssues::unknown_type_messages`]).
    pub skip_unknown_types: bool,
}

impl ReadFilter {
    /// Messages logged in `[start_ns, start_ns + duration_ns)`.
    pub fn window(start_ns: u64, duration_ns: u64) -> Self {
        ReadFilter {
            start_ns: Some(start_ns),
            end_ns: Some(start_ns.saturating_add(duration_ns)),
            ..ReadFilter::default()
        }
    }

    /// Only `topics`.
    pub fn with_topics<I: IntoIterator<Item = S>, S: Into<String>>(mut self, topics: I) -> Self {
        self.topics = Some(topics.into_iter().map(Into::into).collect());
        self
    }

    fn wants_time(&self, t: u64) -> bool {
        self.start_ns.is_none_or(|s| t >= s) && self.end_ns.is_none_or(|e| t < e)
    }

    fn wants_block(&self, block: &Block) -> bool {
        self.start_ns.is_none_or(|s| block.log_end >= s)
            && self.end_ns.is_none_or(|e| block.log_start < e)
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveMessage {
    /// The topic, e.g. `/sensing/lidar/top/pointcloud`.
    pub topic: Arc<str>,
    /// The schema name, e.g. `sensor_msgs/msg/PointCloud2`.
    pub type_name: Arc<str>,
    /// The fusion-msgs type, when the channel is `ros2msg` + `cdr` of a
    /// type fusion-msgs knows.
    pub type_info: Option<&'static TypeInfo>,
    /// When it was received (ns).
    pub log_time_ns: u64,
    /// When it was published (ns).
    pub publish_time_ns: u64,
    /// Its per-topic sequence number.
    pub sequence: u32,
    /// Its serialized bytes (CDR for known types).
    pub data: Vec<u8>,
    /// Where the chunk it was read from starts in the file (`None` for a
    /// message outside chunks); see [`Messages::keep_chunks`].
    pub chunk: Option<u64>,
}

enum Bytes {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Map(map) => map,
            Bytes::Owned(vec) => vec,
        }
    }
}

/// An open drive. Messages are read from a memory map as they are asked
/// for; the file must not be changed while it is open.
pub struct DriveReader {
    bytes: Arc<Bytes>,
    path: PathBuf,
    layout: Layout,
}

impl DriveReader {
    /// Opens and maps `path`, and finds its chunks (from the summary, else
    /// by scanning). Fails only when the file cannot be read or is not
    /// MCAP; a truncated or corrupt file opens with its issues counted.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DriveError> {
        let path = path.as_ref().to_owned();
        let io = |source| DriveError::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let bytes = if len < mcap::MAGIC.len() as u64 {
            Bytes::Owned(std::fs::read(&path).map_err(io)?)
        } else {
            // SAFETY: the map is read-only and the file is documented as not
            // to be changed while open; a concurrent truncation is the
            // caller's breach, as with any mapped reader.
            Bytes::Map(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Self::with_bytes(bytes, path)
    }

    /// Reads a drive held in memory; `path` only names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, path: impl AsRef<Path>) -> Result<Self, DriveError> {
        Self::with_bytes(Bytes::Owned(bytes), path.as_ref().to_owned())
    }

    fn with_bytes(bytes: Bytes, path: PathBuf) -> Result<Self, DriveError> {
        if bytes.is_empty() {
            return Err(DriveError::NotMcap {
                path,
                reason: "empty file",
            });
        }
        if !bytes.starts_with(mcap::MAGIC) {
            let reason = if bytes.len() < mcap::MAGIC.len() && mcap::MAGIC.starts_with(&bytes) {
                "cut inside the magic"
            } else {
                "no MCAP magic"
            };
            return Err(DriveError::NotMcap { path, reason });
        }
        let layout = Layout::of(&bytes);
        Ok(DriveReader {
            bytes: Arc::new(bytes),
            path,
            layout,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// What opening found wrong (truncation, no summary, corrupt records).
    /// Reading the messages can find more: see [`Messages::issues`].
    pub fn issues(&self) -> ReadIssues {
        ReadIssues::from_layout(&self.layout)
    }

    /// Streams the messages `filter` selects, in log-time order (ties in
    /// file order).
    pub fn messages(&self, filter: ReadFilter) -> Messages<'_> {
        let mut blocks: Vec<&Block> = self
            .layout
            .blocks
            .iter()
            .filter(|b| filter.wants_block(b))
            .collect();
        // Stable: equal start times stay in file order.
        blocks.sort_by_key(|b| b.log_start);
        Messages {
            source: &self.bytes,
            bytes: &self.bytes,
            ahead: None,
            blocks: blocks.into_iter().peekable(),
            pending: BinaryHeap::new(),
            loaded: 0,
            schemas: self.layout.schemas.clone(),
            channels: self.layout.channels.clone(),
            resolved: HashMap::new(),
            issues: ReadIssues::from_layout(&self.layout),
            filter,
            keep_chunks: false,
            chunks: Vec::new(),
        }
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }
}

struct Pending {
    order: u64,
    message: DriveMessage,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.message.log_time_ns, self.order).cmp(&(other.message.log_time_ns, other.order))
    }
}

struct Resolved {
    topic: Arc<str>,
    type_name: Arc<str>,
    type_info: Option<&'static TypeInfo>,
    wanted: bool,
}

/// The messages of a drive in log-time order. Chunks are decompressed one
/// at a time as the merge reaches their start time, so memory holds only
/// the chunks whose time ranges overlap.
pub struct Messages<'a> {
    source: &'a Arc<Bytes>,
    bytes: &'a [u8],
    ahead: Option<DecodeAhead>,
    blocks: std::iter::Peekable<std::vec::IntoIter<&'a Block>>,
    pending: BinaryHeap<Reverse<Pending>>,
    loaded: u64,
    schemas: HashMap<u16, SchemaDecl>,
    channels: HashMap<u16, ChannelDecl>,
    resolved: HashMap<u16, Option<Arc<Resolved>>>,
    issues: ReadIssues,
    filter: ReadFilter,
    keep_chunks: bool,
    chunks: Vec<RawChunk<'a>>,
}

impl<'a> Messages<'a> {
    /// Also hands out each chunk as it is in the file, once its messages
    /// are loaded ([`Messages::take_chunks`]), so that a writer can copy it
    /// rather than encode its messages again ([`crate::SpliceWriter`]).
    /// Each message says which chunk it came from
    /// ([`DriveMessage::chunk`]). Corrupt chunks are not handed out.
    pub fn keep_chunks(mut self) -> Self {
        self.keep_chunks = true;
        self
    }

    /// Decompresses up to `chunks` chunks ahead of the merge (one more
    /// waiting to be handed over) on a thread of its own, so that decompression runs beside the caller's work. The
    /// messages, their order and the issues are the same. Call it before
    /// the first message is read (later it does nothing).
    pub fn decode_ahead(mut self, chunks: usize) -> Self {
        if self.loaded > 0 || self.ahead.is_some() || chunks == 0 {
            return self;
        }
        let order: Vec<(usize, usize)> = self
            .blocks
            .clone()
            .filter_map(|b| match b.kind {
                BlockKind::Chunk { offset, len } => Some((offset, len)),
                BlockKind::Loose { .. } => None,
            })
            .collect();
        let bytes = Arc::clone(self.source);
        let (tx, decoded) = std::sync::mpsc::sync_channel(chunks);
        let spawned = std::thread::Builder::new()
            .name("drive-decode".to_owned())
            .spawn(move || {
                for (offset, len) in order {
                    let chunk = decode_chunk(&bytes[offset + RECORD_PREFIX..offset + len]);
                    if tx.send(chunk).is_err() {
                        break; // the read was dropped
                    }
                }
            });
        // Without a thread, chunks are decoded as the merge reaches them.
        if spawned.is_ok() {
            self.ahead = Some(DecodeAhead { decoded });
        }
        self
    }

    /// The chunks loaded since the last call (with
    /// [`Messages::keep_chunks`]): every chunk is loaded before the first
    /// of its messages comes out of the iterator.
    pub fn take_chunks(&mut self) -> std::vec::Drain<'_, RawChunk<'a>> {
        self.chunks.drain(..)
    }

    /// What was skipped so far; complete once the iterator has ended.
    pub fn issues(&self) -> &ReadIssues {
        &self.issues
    }

    /// Ends the read and hands over its issues.
    pub fn into_issues(self) -> ReadIssues {
        self.issues
    }

    fn load(&mut self, block: &Block) {
        match &block.kind {
            BlockKind::Chunk { offset, len } => self.load_chunk(*offset, *len),
            BlockKind::Loose { offsets } => {
                for &offset in offsets {
                    self.load_loose(offset);
                }
            }
        }
    }

    fn load_chunk(&mut self, offset: usize, len: usize) {
        let bytes: &'a [u8] = self.bytes;
        let record = &bytes[offset..offset + len];
        let decoded = match &self.ahead {
            Some(ahead) => ahead.decoded.recv().ok(),
            None => None,
        };
        if decoded.is_none() {
            // The decoding thread is gone (or was never started).
            self.ahead = None;
        }
        let decoded = decoded.unwrap_or_else(|| decode_chunk(&record[RECORD_PREFIX..]));
        let chunk = match decoded {
            Ok(chunk) => chunk,
            Err(e) => {
                self.issues.corrupt_chunks += 1;
                self.issues
                    .warn(format!("chunk at byte {offset} skipped: {e}"));
                return;
            }
        };
        let mut index = Vec::new();
        // Channels the chunk uses or declares: a copy declares them all.
        let mut channel_ids = BTreeSet::new();
        let mut complete = true;
        for (pos, record) in chunk.records {
            if self.keep_chunks {
                match &record {
                    Record::Message { header, .. } => {
                        index.push(IndexEntry {
                            channel_id: header.channel_id,
                            log_time_ns: header.log_time,
                            offset: pos as u64,
                        });
                        channel_ids.insert(header.channel_id);
                    }
                    Record::Channel(channel) => {
                        channel_ids.insert(channel.id);
                    }
                    _ => {}
                }
            }
            complete &= self.take(record, Some(offset as u64));
        }
        if self.keep_chunks {
            // The messages' own span, not the header's claim.
            let times = index.iter().map(|e| e.log_time_ns);
            let raw = RawChunk {
                offset: offset as u64,
                start_ns: times
                    .clone()
                    .min()
                    .unwrap_or(chunk.header.message_start_time),
                end_ns: times.max().unwrap_or(chunk.header.message_end_time),
                channels: self.source_channels(channel_ids),
                compression: chunk.header.compression,
                complete,
                index,
                record: std::borrow::Cow::Borrowed(record),
                compressed_size: chunk.header.compressed_size,
                uncompressed_size: chunk.header.uncompressed_size,
            };
            self.chunks.push(raw);
        }
    }

    /// The declarations of channels `ids` (those declared, with their
    /// schemas).
    fn source_channels(&self, ids: BTreeSet<u16>) -> Vec<SourceChannel> {
        ids.into_iter()
            .filter_map(|id| {
                let c = self.channels.get(&id)?;
                let schema = self.schemas.get(&c.schema_id);
                let schema = schema.filter(|_| c.schema_id != 0).map(|s| SourceSchema {
                    id: c.schema_id,
                    name: s.name.clone(),
                    encoding: s.encoding.clone(),
                    data: s.data.clone(),
                });
                Some(SourceChannel {
                    id,
                    topic: c.topic.clone(),
                    message_encoding: c.message_encoding.clone(),
                    metadata: c.metadata.clone(),
                    schema,
                })
            })
            .collect()
    }

    fn load_loose(&mut self, offset: usize) {
        let rest = &self.bytes[offset..];
        let len = u64::from_le_bytes(rest[1..RECORD_PREFIX].try_into().unwrap_or_default());
        // The layout scan checked that the record fits.
        let body = &rest[RECORD_PREFIX..RECORD_PREFIX + len as usize];
        match mcap::read::parse_record(op::MESSAGE, body) {
            Ok(record) => {
                self.take(record, None);
            }
            Err(e) => {
                self.issues.corrupt_records += 1;
                self.issues
                    .warn(format!("message at byte {offset} skipped: {e}"));
            }
        }
    }

    /// Takes one record of a chunk (at `chunk`) or outside chunks; whether
    /// a message was kept (anything else counts as kept).
    fn take(&mut self, record: Record<'_>, chunk: Option<u64>) -> bool {
        match record {
            // Id 0 means "no schema".
            Record::Schema { header, .. } if header.id == 0 => {}
            Record::Schema { header, data } => {
                self.schemas.insert(
                    header.id,
                    SchemaDecl {
                        name: header.name,
                        encoding: header.encoding,
                        data: Arc::from(&data[..]),
                    },
                );
                self.resolved.clear();
            }
            Record::Channel(channel) => {
                self.channels.insert(
                    channel.id,
                    ChannelDecl {
                        topic: channel.topic,
                        schema_id: channel.schema_id,
                        message_encoding: channel.message_encoding,
                        metadata: channel.metadata,
                    },
                );
                self.resolved.remove(&channel.id);
            }
            Record::Message { header, data } => {
                if !self.filter.wants_time(header.log_time) {
                    return false;
                }
                let Some(channel) = self.resolve(header.channel_id) else {
                    self.issues.unknown_channel_messages += 1;
                    if self.issues.unknown_channel_messages == 1 {
                        self.issues.warn(format!(
                            "messages on undeclared channel {} skipped",
                            header.channel_id
                        ));
                    }
                    return false;
                };
                if !channel.wanted {
                    return false;
                }
                if channel.type_info.is_none() {
                    self.issues.unknown_type_messages += 1;
                    if self.filter.skip_unknown_types {
                        return false;
                    }
                }
                self.loaded += 1;
                self.pending.push(Reverse(Pending {
                    order: self.loaded,
                    message: DriveMessage {
                        topic: channel.topic.clone(),
                        type_name: channel.type_name.clone(),
                        type_info: channel.type_info,
                        log_time_ns: header.log_time,
                        publish_time_ns: header.publish_time,
                        sequence: header.sequence,
                        data: data.into_owned(),
                        chunk,
                    },
                }));
            }
            _ => {}
        }
        true
    }

    fn resolve(&mut self, channel_id: u16) -> Option<Arc<Resolved>> {
        if let Some(resolved) = self.resolved.get(&channel_id) {
            return resolved.clone();
        }
        let channel = self.channels.get(&channel_id)?;
        let schema = self.schemas.get(&channel.schema_id);
        let type_name = schema.map_or("", |s| s.name.as_str());
        let type_info = schema
            .filter(|s| {
                s.encoding == SCHEMA_ENCODING && channel.message_encoding == MESSAGE_ENCODING
            })
            .and_then(|s| TypeInfo::find(&s.name));
        let wanted = self
            .filter
            .topics
            .as_ref()
            .is_none_or(|topics| topics.contains(&channel.topic));
        if type_info.is_none() && wanted {
            self.issues.unknown_type_topics.insert(format!(
                "{} ({}, {})",
                channel.topic,
                if type_name.is_empty() {
                    "no schema"
                } else {
                    type_name
                },
                schema.map_or("-", |s| s.encoding.as_str())
            ));
        }
        let resolved = Arc::new(Resolved {
            topic: Arc::from(channel.topic.as_str()),
            type_name: Arc::from(type_name),
            type_info,
            wanted,
        });
        self.resolved.insert(channel_id, Some(resolved.clone()));
        Some(resolved)
    }
}

/// Why a chunk was skipped.
#[derive(Debug, thiserror::Error)]
enum ChunkError {
    #[error("bad chunk header: {0}")]
    Header(mcap::McapError),
    #[error("claims {0} uncompressed bytes, more than a chunk may hold")]
    TooLarge(u64),
    #[error("unknown compression {0:?}")]
    Compression(String),
    #[error("decompression failed: {0}")]
    Decompress(std::io::Error),
    #[error("decompressed to {got} bytes, header says {want}")]
    Size { got: u64, want: u64 },
    #[error("CRC mismatch (stored {stored:08x}, computed {computed:08x})")]
    Crc { stored: u32, computed: u32 },
    #[error("record at chunk byte {0} overruns the chunk")]
    Overrun(usize),
    #[error("record at chunk byte {0}: {1}")]
    Record(usize, mcap::McapError),
}

/// Larger claims are corruption, not data.
const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// Chunks decoded ahead, in the order [`Messages`] loads them.
struct DecodeAhead {
    decoded: std::sync::mpsc::Receiver<Result<DecodedChunk, ChunkError>>,
}

/// A chunk's header and its records, each with its offset in the
/// uncompressed records.
struct DecodedChunk {
    header: mcap::records::ChunkHeader,
    records: Vec<(usize, Record<'static>)>,
}

/// Decompresses a chunk (output bounded by its header's size, so a corrupt
/// size cannot allocate) and checks its CRC; all of its records or none.
fn decode_chunk(body: &[u8]) -> Result<DecodedChunk, ChunkError> {
    use std::io::Read;
    let Record::Chunk { header, data } =
        mcap::read::parse_record(op::CHUNK, body).map_err(ChunkError::Header)?
    else {
        return Err(ChunkError::Header(mcap::McapError::BadIndex));
    };
    let want = header.uncompressed_size;
    if want > MAX_CHUNK_BYTES {
        return Err(ChunkError::TooLarge(want));
    }
    // The header's size, plus one byte to notice a chunk that is longer;
    // reserved once, so decompression never re-allocates. A claim the
    // allocator cannot meet is corruption, not a reason to abort.
    let limit = want + 1;
    let mut plain = Vec::new();
    plain
        .try_reserve_exact(limit as usize)
        .map_err(|_| ChunkError::TooLarge(want))?;
    let read = match header.compression.as_str() {
        "" => (&data[..]).take(limit).read_to_end(&mut plain).map(drop),
        // Writes into the reserved capacity, and fails past it.
        "zstd" => zstd::bulk::Decompressor::new()
            .and_then(|mut d| d.decompress_to_buffer(&data[..], &mut plain))
            .map(drop),
        "lz4" => lz4::Decoder::new(&data[..])
            .and_then(|d| d.take(limit).read_to_end(&mut plain))
            .map(drop),
        other => return Err(ChunkError::Compression(other.to_owned())),
    };
    read.map_err(ChunkError::Decompress)?;
    if plain.len() as u64 != want {
        return Err(ChunkError::Size {
            got: plain.len() as u64,
            want,
        });
    }
    if header.uncompressed_crc != 0 {
        let computed = crc32fast::hash(&plain);
        if computed != header.uncompressed_crc {
            return Err(ChunkError::Crc {
                stored: header.uncompressed_crc,
                computed,
            });
        }
    }
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < plain.len() {
        let rest = &plain[pos..];
        if rest.len() < RECORD_PREFIX {
            return Err(ChunkError::Overrun(pos));
        }
        let len = u64::from_le_bytes(rest[1..RECORD_PREFIX].try_into().unwrap_or_default());
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(RECORD_PREFIX))
            .filter(|end| *end <= rest.len())
            .ok_or(ChunkError::Overrun(pos))?;
        let record = mcap::read::parse_record(rest[0], &rest[RECORD_PREFIX..end])
            .map_err(|e| ChunkError::Record(pos, e))?;
        records.push((pos, record.into_owned()));
        pos += end;
    }
    Ok(DecodedChunk { header, records })
}

impl Iterator for Messages<'_> {
    type Item = DriveMessage;

    fn next(&mut self) -> Option<DriveMessage> {
        loop {
            let next_start = self.blocks.peek().map(|b| b.log_start);
            let head = self.pending.peek().map(|Reverse(p)| p.message.log_time_ns);
            match (next_start, head) {
                (Some(start), Some(head)) if start > head => break,
                (Some(_), _) => {
                    let block = self.blocks.next()?;
                    self.load(block);
                }
                (None, _) => break,
            }
        }
        self.pending.pop().map(|Reverse(p)| p.message)
    }
}
