//! The `.hlog` interval log, in the format of HdrHistogram's
//! `HistogramLogWriter`, so `HistogramLogProcessor`, hdrhistogram-py and
//! HdrHistogram.js read it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogWriterBuilder, IntervalLogWriterError, Tag,
};

use super::{MetricsError, Stage, StageHistograms};

/// The column legend HdrHistogram's writers put after the header.
const LEGEND: &str =
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";

/// Writes one line per [`Stage`] per interval, tagged with the stage name.
///
/// Interval timestamps are seconds since the `#[BaseTime]`, the wall-clock
/// time of the node's start. Values, including the `Interval_Max` column,
/// are microseconds. Each interval is flushed as soon as it is written, so
/// a killed node leaves only whole lines.
pub struct HlogWriter<W: Write> {
    out: W,
    serializer: V2DeflateSerializer,
    /// Where the next interval starts, since the base time.
    interval_start: Duration,
}

impl HlogWriter<BufWriter<File>> {
    /// Creates (truncating) the log at `path`, and its directory, and
    /// writes the header. `start` is the wall-clock time of the node's
    /// start: interval timestamps count from it. Each `environment` entry
    /// becomes a `#[Key: value]` header comment.
    pub fn create(
        path: &Path,
        start: SystemTime,
        environment: &[(&str, String)],
    ) -> Result<Self, MetricsError> {
        let io = |source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File::create(path).map_err(io)?;
        HlogWriter::new(BufWriter::new(file), start, environment)
    }
}

impl<W: Write> HlogWriter<W> {
    /// Writes the header to `out`; see [`HlogWriter::create`].
    pub fn new(
        mut out: W,
        start: SystemTime,
        environment: &[(&str, String)],
    ) -> Result<Self, MetricsError> {
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment("[fusion-node latency histograms: values in microseconds, one line per stage per interval, tagged with the stage]")
            .add_comment("[Histogram log format version 1.3]");
        for (key, value) in environment {
            // One line each, whatever the value holds.
            let value = value.replace(['\n', '\r'], " ");
            builder.add_comment(&format!("[{key}: {value}]"));
        }
        builder
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut serializer)?;
        out.write_all(LEGEND.as_bytes())?;
        out.flush()?;
        Ok(HlogWriter {
            out,
            serializer,
            interval_start: Duration::ZERO,
        })
    }

    /// Writes the interval histograms of every stage as the interval from
    /// the end of the previous one (or the start) to `end`, time since the
    /// start, then empties them and flushes.
    pub fn write_interval(
        &mut self,
        histograms: &mut StageHistograms,
        end: Duration,
    ) -> Result<(), MetricsError> {
        let start = self.interval_start;
        let length = end.saturating_sub(start);
        // A writer without headers writes nothing until asked to.
        let mut log =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        for stage in Stage::ALL {
            let tag = Tag::new(stage.name()).expect("stage names have no ',' or spaces");
            log.write_histogram(histograms.interval(stage), start, length, Some(tag))
                .map_err(|e| match e {
                    IntervalLogWriterError::IoError(e) => MetricsError::Write(e),
                    IntervalLogWriterError::SerializeError(e) => {
                        MetricsError::Encode(e.to_string())
                    }
                })?;
        }
        self.out.flush()?;
        histograms.reset_interval();
        self.interval_start = start.max(end);
        Ok(())
    }

    /// Writes a `#[key: value]` comment line between intervals (a module
    /// swap), flushed with the next interval. HdrHistogram's readers skip
    /// comment lines.
    pub fn comment(&mut self, key: &str, value: &str) -> Result<(), MetricsError> {
        let value = value.replace(['\n', '\r'], " ");
        Ok(writeln!(self.out, "#[{key}: {value}]")?)
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) -> Result<(), MetricsError> {
        Ok(self.out.flush()?)
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> std::fmt::Debug for HlogWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HlogWriter")
            .field("interval_start", &self.interval_start)
            .finish_non_exhaustive()
    }
}
