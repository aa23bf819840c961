//! Where a drive's messages are: its chunks (and loose message runs), found
//! from the summary's chunk indexes when the file has a sound one, else by
//! hopping over the data section's records without decompressing them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mcap::records::{self, Record, op};

/// Opcode byte + u64 length.
pub(crate) const RECORD_PREFIX: usize = 9;

/// A schema as the file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaDecl {
    pub name: String,
    pub encoding: String,
    pub data: Arc<[u8]>,
}

/// A channel as the file declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChannelDecl {
    pub topic: String,
    pub schema_id: u16,
    pub message_encoding: String,
    pub metadata: BTreeMap<String, String>,
}

/// A unit of messages decoded at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// A chunk record: offset of its opcode, full record length.
    Chunk { offset: usize, len: usize },
    /// Message records outside chunks: offsets of their opcodes.
    Loose { offsets: Vec<usize> },
}

/// One block and the log-time range its messages claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub kind: BlockKind,
    pub log_start: u64,
    pub log_end: u64,
}

/// What is known about a file before any chunk is decompressed.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    pub blocks: Vec<Block>,
    pub schemas: HashMap<u16, SchemaDecl>,
    pub channels: HashMap<u16, ChannelDecl>,
    /// The summary's statistics, when the summary was used.
    pub statistics: Option<records::Statistics>,
    /// Compression of each chunk, from the index or the chunk headers.
    pub chunk_compressions: Vec<String>,
    pub from_summary: bool,
    pub truncated: bool,
    pub corrupt_chunks: u64,
    pub corrupt_records: u64,
    pub warnings: Vec<String>,
}

impl Layout {
    /// Reads the layout of `buf`, a whole file that starts with the magic.
    pub fn of(buf: &[u8]) -> Layout {
        let ends_with_magic = buf.len() >= 2 * mcap::MAGIC.len() && buf.ends_with(mcap::MAGIC);
        if ends_with_magic {
            match from_summary(buf) {
                Ok(layout) => return layout,
                Err(reason) => {
                    let mut layout = scan(buf, false);
                    layout.warnings.insert(
                        0,
                        format!("summary not used: {reason}; scanned the data section"),
                    );
                    return layout;
                }
            }
        }
        let mut layout = scan(buf, true);
        layout.warnings.insert(0, "no footer: the file is truncated (its writer did not finish); scanned the data section".to_owned());
        layout
    }

    pub fn warn(&mut self, warning: String) {
        const MAX_WARNINGS: usize = 32;
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }
}

fn from_summary(buf: &[u8]) -> Result<Layout, String> {
    check_summary_crc(buf)?;
    let summary = mcap::Summary::read(buf)
        .map_err(|e| e.to_string())?
        .ok_or("the file has no summary section")?;
    let stats = summary
        .stats
        .clone()
        .ok_or("the summary has no statistics")?;
    if stats.chunk_count as usize != summary.chunk_indexes.len() {
        return Err(format!(
            "{} chunks counted but {} indexed",
            stats.chunk_count,
            summary.chunk_indexes.len()
        ));
    }
    if stats.message_count > 0 && summary.chunk_indexes.is_empty() {
        return Err("messages outside chunks are not indexed".to_owned());
    }
    let mut layout = Layout {
        from_summary: true,
        ..Layout::default()
    };
    for index in &summary.chunk_indexes {
        let offset = usize::try_from(index.chunk_start_offset).ok();
        let len = usize::try_from(index.chunk_length).ok();
        let (Some(offset), Some(len)) = (offset, len) else {
            return Err("a chunk index points outside the file".to_owned());
        };
        let in_file = offset
            .checked_add(len)
            .is_some_and(|end| end <= buf.len() && len >= RECORD_PREFIX);
        if !in_file || buf[offset] != op::CHUNK {
            return Err("a chunk index does not point at a chunk".to_owned());
        }
        // The record's own length must agree: a chunk is copied whole into
        // spliced drives, and parsing alone ignores trailing bytes.
        let own = u64::from_le_bytes(
            buf[offset + 1..offset + RECORD_PREFIX]
                .try_into()
                .unwrap_or_default(),
        );
        if own.checked_add(RECORD_PREFIX as u64) != Some(len as u64) {
            return Err(format!(
                "the chunk index at byte {offset} says {len} bytes, the chunk {}",
                own.saturating_add(RECORD_PREFIX as u64)
            ));
        }
        layout.chunk_compressions.push(index.compression.clone());
        layout.blocks.push(Block {
            kind: BlockKind::Chunk { offset, len },
            log_start: index.message_start_time,
            log_end: index.message_end_time,
        });
    }
    for (id, schema) in &summary.schemas {
        layout.schemas.insert(
            *id,
            SchemaDecl {
                name: schema.name.clone(),
                encoding: schema.encoding.clone(),
                data: Arc::from(&schema.data[..]),
            },
        );
    }
    for (id, channel) in &summary.channels {
        layout.channels.insert(
            *id,
            ChannelDecl {
                topic: channel.topic.clone(),
                schema_id: channel.schema.as_ref().map_or(0, |s| s.id),
                message_encoding: channel.message_encoding.clone(),
                metadata: channel.metadata.clone(),
            },
        );
    }
    layout.statistics = Some(stats);
    Ok(layout)
}

/// The mcap crate does not check the summary CRC; a flipped channel or
/// schema id there would rename topics silently.
fn check_summary_crc(buf: &[u8]) -> Result<(), String> {
    const FOOTER_RECORD: usize = RECORD_PREFIX + 8 + 8 + 4;
    let footer = mcap::read::footer(buf).map_err(|e| e.to_string())?;
    if footer.summary_start == 0 || footer.summary_crc == 0 {
        return Ok(());
    }
    let footer_start = buf.len() - mcap::MAGIC.len() - FOOTER_RECORD;
    let start = usize::try_from(footer.summary_start)
        .ok()
        .filter(|s| *s <= footer_start)
        .ok_or("the footer points outside the file")?;
    // Through the footer's summary_offset_start field.
    let computed = crc32fast::hash(&buf[start..footer_start + RECORD_PREFIX + 16]);
    if computed != footer.summary_crc {
        return Err(format!(
            "summary CRC mismatch (stored {:08x}, computed {computed:08x})",
            footer.summary_crc
        ));
    }
    Ok(())
}

/// Hops over the data section's records. In a truncated file the first
/// record that does not fit or parse ends the scan (that is where the
/// writer stopped); in a finished one it is counted as corruption.
fn scan(buf: &[u8], truncated: bool) -> Layout {
    let mut layout = Layout {
        truncated,
        ..Layout::default()
    };
    let mut pos = mcap::MAGIC.len();
    loop {
        let rest = &buf[pos..];
        if rest.len() < RECORD_PREFIX {
            if !truncated {
                layout.corrupt_records += 1;
                layout.warn(format!("data section ends without a footer at byte {pos}"));
            }
            break;
        }
        let opcode = rest[0];
        let len = u64::from_le_bytes(rest[1..RECORD_PREFIX].try_into().unwrap_or_default());
        let Some(len) = usize::try_from(len)
            .ok()
            .filter(|len| *len <= rest.len() - RECORD_PREFIX)
        else {
            if !truncated {
                layout.corrupt_records += 1;
                layout.warn(format!(
                    "record at byte {pos} claims {len} bytes, more than the file holds; the rest is unreadable"
                ));
            }
            break;
        };
        let body = &rest[RECORD_PREFIX..RECORD_PREFIX + len];
        match opcode {
            op::DATA_END | op::FOOTER => break,
            op::MESSAGE
                if layout
                    .blocks
                    .iter()
                    .any(|b| matches!(b.kind, BlockKind::Chunk { .. })) =>
            {
                // Chunked writers never write loose messages: this is a hop
                // into garbage after a corrupt length.
                if !truncated {
                    layout.corrupt_records += 1;
                    layout.warn(format!(
                        "message record outside chunks at byte {pos} after chunks: the record before it is corrupt; the rest is unreadable"
                    ));
                }
                break;
            }
            op::CHUNK | op::MESSAGE | op::SCHEMA | op::CHANNEL => {
                if let Err(e) = take_record(&mut layout, pos, opcode, body) {
                    if truncated {
                        break;
                    }
                    if opcode == op::CHUNK {
                        layout.corrupt_chunks += 1;
                    } else {
                        layout.corrupt_records += 1;
                    }
                    layout.warn(format!("record at byte {pos} skipped: {e}"));
                }
            }
            _ => {}
        }
        pos += RECORD_PREFIX + len;
    }
    layout
}

/// A redeclaration must match: a record that renames an id is corrupt.
fn declare<T: PartialEq>(
    map: &mut HashMap<u16, T>,
    id: u16,
    decl: T,
    what: &'static str,
) -> Result<(), String> {
    match map.get(&id) {
        Some(existing) if *existing != decl => Err(format!("{what} {id} redeclared differently")),
        _ => {
            map.insert(id, decl);
            Ok(())
        }
    }
}

fn take_record(layout: &mut Layout, pos: usize, opcode: u8, body: &[u8]) -> Result<(), String> {
    let record = if opcode == op::MESSAGE {
        // The header only: the data stays in the map until it is read.
        let header_len = 22;
        if body.len() < header_len {
            return Err("message record shorter than its header".to_owned());
        }
        mcap::read::parse_record(opcode, &body[..header_len])
    } else {
        mcap::read::parse_record(opcode, body)
    }
    .map_err(|e| e.to_string())?;
    match record {
        Record::Chunk { header, .. } => {
            layout.chunk_compressions.push(header.compression.clone());
            layout.blocks.push(Block {
                kind: BlockKind::Chunk {
                    offset: pos,
                    len: RECORD_PREFIX + body.len(),
                },
                log_start: header.message_start_time,
                log_end: header.message_end_time,
            });
        }
        Record::Message { header, .. } => {
            let t = header.log_time;
            match layout.blocks.last_mut() {
                Some(Block {
                    kind: BlockKind::Loose { offsets },
                    log_start,
                    log_end,
                }) => {
                    offsets.push(pos);
                    *log_start = (*log_start).min(t);
                    *log_end = (*log_end).max(t);
                }
                _ => layout.blocks.push(Block {
                    kind: BlockKind::Loose { offsets: vec![pos] },
                    log_start: t,
                    log_end: t,
                }),
            }
        }
        // Id 0 means "no schema": a record claiming it is corrupt.
        Record::Schema { header, .. } if header.id == 0 => {
            return Err("schema record with id 0".to_owned());
        }
        Record::Schema { header, data } => {
            let schema = SchemaDecl {
                name: header.name,
                encoding: header.encoding,
                data: Arc::from(&data[..]),
            };
            declare(&mut layout.schemas, header.id, schema, "schema")?;
        }
        Record::Channel(channel) => {
            let decl = ChannelDecl {
                topic: channel.topic,
                schema_id: channel.schema_id,
                message_encoding: channel.message_encoding,
                metadata: channel.metadata,
            };
            declare(&mut layout.channels, channel.id, decl, "channel")?;
        }
        _ => {}
    }
    Ok(())
}
