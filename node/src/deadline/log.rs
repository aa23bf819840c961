//! The miss log: JSON lines appended through a preallocated buffer.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::launch::Logs;

use super::DeadlineError;
use super::line::Line;

/// Buffer size: a line is about 500 bytes, so this holds well over the
/// lines buffered between flushes.
const BUFFER_BYTES: usize = 64 << 10;

/// Where miss lines go: a file opened for appending, any writer, or
/// nowhere (the lines are then only counted).
pub struct MissLog {
    out: Option<BufWriter<Box<dyn Write + Send>>>,
    pending: usize,
}

impl MissLog {
    /// Opens `path` for appending, creating it and its directory.
    pub fn open(path: &Path) -> Result<MissLog, DeadlineError> {
        let open = |source| DeadlineError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(open)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(open)?;
        Ok(MissLog::to_writer(file))
    }

    /// The launch file's `[logs] miss_log`, or no log if it names none.
    pub fn from_launch(logs: &Logs) -> Result<MissLog, DeadlineError> {
        logs.miss_log
            .as_deref()
            .map_or_else(|| Ok(MissLog::disabled()), MissLog::open)
    }

    /// Lines go to `writer` (tests, pipes).
    pub fn to_writer(writer: impl Write + Send + 'static) -> MissLog {
        MissLog {
            out: Some(BufWriter::with_capacity(BUFFER_BYTES, Box::new(writer))),
            pending: 0,
        }
    }

    /// No log: misses are only counted.
    pub fn disabled() -> MissLog {
        MissLog {
            out: None,
            pending: 0,
        }
    }

    /// Buffers one line and writes the buffer every `flush_every` lines.
    /// Returns whether there is a log.
    pub(super) fn append(&mut self, line: &Line<'_>, flush_every: usize) -> io::Result<bool> {
        let Some(out) = &mut self.out else {
            return Ok(false);
        };
        serde_json::to_writer(&mut *out, line)?;
        out.write_all(b"\n")?;
        self.pending += 1;
        if self.pending >= flush_every {
            self.flush()?;
        }
        Ok(true)
    }

    /// Writes buffered lines out.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.pending = 0;
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for MissLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MissLog")
            .field("enabled", &self.out.is_some())
            .field("pending", &self.pending)
            .finish()
    }
}
