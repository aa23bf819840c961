//! `fusion-node replay`: a recorded drive, published onto zenoh with its
//! recorded timing for a live node, or (`--offline`) run through the
//! node's aligner and module with no zenoh and no wall clock.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use fusion_drive::{
    DriveInfo, DriveReader, RawChunk, ReadFilter, SpliceWriter, Topic, WriterConfig,
};
use fusion_reference::ReferenceModule;
use zenoh::Wait;

use super::CliError;
use super::simulate::launch_or_default;
use crate::launch::{Launch, parse_duration};
use crate::monitor::{MonitorSink, RunMode};
use crate::pipeline::{FrameReport, FrameSink};
use crate::replay::{FrameRunner, Fused, NativeRunner, OfflineReplay};
use crate::transport::{DEFAULT_SHM_POOL_BYTES, SensorPublisher, ShmPool};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The drive (MCAP).
    #[arg(value_name = "DRIVE")]
    drive: PathBuf,
    /// Run the drive through the aligner and the module here, as fast as
    /// possible, with no zenoh and no wall clock; needs `-o`.
    #[arg(long)]
    offline: bool,
    /// The launch file (sensors, alignment, module, outputs); the built-in
    /// default when not given.
    #[arg(long, value_name = "FILE")]
    launch: Option<PathBuf>,
    /// Offline: the MCAP to write (fused objects, inputs and ground truth).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        requires = "offline"
    )]
    output: Option<PathBuf>,
    /// Offline: one JSON line per frame with the stamp of each sensor
    /// message that went into it.
    #[arg(long, value_name = "FILE", requires = "offline")]
    frames_log: Option<PathBuf>,
    /// Offline: write the miss log, latency interval log and summary into
    /// this directory (else where the launch file says).
    #[arg(long, value_name = "DIR", requires = "offline")]
    logs: Option<PathBuf>,
    /// Offline: chunk compression of what the replay writes into the fused
    /// drive: zstd, lz4 or none. The drive's own chunks are copied into it
    /// as they are, unless `--recompress`, or unless a chunk holds
    /// messages the replay leaves out (`--topics`, `--start`,
    /// `--duration`, unknown types) or declares the output topic.
    #[arg(long, value_name = "CODEC", default_value = "lz4")]
    compression: fusion_drive::Compression,
    /// Offline: write the drive's messages into new chunks with
    /// `--compression` instead of copying its chunks as they are (slower:
    /// every input is compressed again).
    #[arg(long, requires = "offline")]
    recompress: bool,
    /// Offline: run the reference module's native build instead of the
    /// launch file's module (the determinism oracle of the Wasm build).
    #[arg(long, requires = "offline")]
    native_reference: bool,
    /// Live: playback speed (2 is twice as fast).
    #[arg(long, default_value_t = 1.0, conflicts_with = "offline")]
    rate: f64,
    /// Live: start over at the end, until SIGINT or SIGTERM.
    #[arg(long = "loop", conflicts_with = "offline")]
    looped: bool,
    /// Live: move every header stamp so that the drive looks recorded now
    /// (the log times keep their spacing).
    #[arg(long, conflicts_with = "offline")]
    restamp: bool,
    /// Live: before publishing, wait up to this long (e.g. `10s`) until
    /// every sensor topic of the launch file has a subscriber, so that a
    /// node started just before or after the replay misses nothing; then
    /// publish anyway, with a warning.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "offline")]
    wait_for_subscribers: Option<Duration>,
    /// Skip this much of the drive's start, e.g. `5s`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    start: Option<Duration>,
    /// Replay only this much, e.g. `10s`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Only these topics (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "TOPICS")]
    topics: Vec<String>,
    /// Live: connect to this zenoh endpoint (repeatable), e.g.
    /// `tcp/127.0.0.1:7447`, with multicast scouting off; else the launch
    /// file's `[zenoh]`.
    #[arg(long, value_name = "ENDPOINT", conflicts_with = "offline")]
    connect: Vec<String>,
}

pub fn run(args: ReplayArgs) -> Result<(), CliError> {
    super::init_logging("warn");
    let reader = DriveReader::open(&args.drive)
        .map_err(|e| CliError::usage(format!("{}: {e}", args.drive.display())))?;
    let info = DriveInfo::of(&reader);
    let mut filter = ReadFilter {
        skip_unknown_types: true,
        ..ReadFilter::default()
    };
    let start = info.start_ns + args.start.map_or(0, |d| d.as_nanos() as u64);
    filter.start_ns = Some(start);
    filter.end_ns = args
        .duration
        .map(|d| start.saturating_add(d.as_nanos() as u64));
    if !args.topics.is_empty() {
        filter = filter.with_topics(args.topics.iter().cloned());
    }
    let launch = launch_or_default(args.launch.as_ref())?;
    let drive = Drive {
        reader,
        info,
        filter,
    };
    if args.offline {
        offline(&args, launch, &drive)
    } else {
        live(&args, &launch, &drive)
    }
}

/// The drive being replayed: its reader, its summary (read once: without a
/// summary section it takes a scan of the whole file) and what to replay.
struct Drive {
    reader: DriveReader,
    info: DriveInfo,
    filter: ReadFilter,
}

fn offline(args: &ReplayArgs, mut launch: Launch, drive: &Drive) -> Result<(), CliError> {
    let output = args
        .output
        .as_ref()
        .ok_or_else(|| CliError::usage("replay --offline needs -o FILE for the fused drive"))?;
    if let Some(dir) = &args.logs {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
        launch.logs.miss_log = Some(dir.join("misses.jsonl"));
        launch.logs.hlog = Some(dir.join("latency.hlog"));
        launch.logs.summary = Some(dir.join("summary.txt"));
    }
    // Loaded first: the logs name the module by the bytes it was made from.
    let module = if args.native_reference {
        None
    } else {
        Some(
            crate::node::load_module_for_replay(&launch)
                .map_err(|e| CliError::usage(e.to_string()))?,
        )
    };
    let module_hash = module.as_ref().map_or_else(
        || "native:fusion-reference".to_owned(),
        |m| m.sha256.clone(),
    );
    let mode = RunMode::Replay {
        drive: args.drive.display().to_string(),
        start_ns: i64::try_from(drive.filter.start_ns.unwrap_or(drive.info.start_ns))
            .unwrap_or(i64::MAX),
    };
    let sink = MonitorSink::from_launch(&launch, &module_hash, &mode)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let exec = Arc::new(AtomicU64::new(0));
    let sink = Box::new(TimedSink {
        inner: sink,
        exec_ns: Arc::clone(&exec),
    });
    let frames_log = match &args.frames_log {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| CliError::failure(format!("cannot create {}: {e}", path.display())))?;
            Some(Box::new(BufWriter::new(file)) as Box<dyn std::io::Write>)
        }
        None => None,
    };
    match module {
        None => {
            let runner =
                NativeRunner::<ReferenceModule>::new(&launch).map_err(CliError::failure)?;
            replay_offline(
                args, output, &launch, drive, runner, sink, frames_log, &exec,
            )
        }
        Some(module) => replay_offline(
            args,
            output,
            &launch,
            drive,
            module.host,
            sink,
            frames_log,
            &exec,
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn replay_offline<R: FrameRunner>(
    args: &ReplayArgs,
    output: &Path,
    launch: &Launch,
    drive: &Drive,
    runner: R,
    sink: Box<dyn FrameSink>,
    frames_log: Option<Box<dyn std::io::Write>>,
    exec_ns: &AtomicU64,
) -> Result<(), CliError> {
    let failed =
        |e: fusion_drive::DriveError| CliError::failure(format!("{}: {e}", output.display()));
    let writer_config = WriterConfig {
        compression: args.compression,
        ..WriterConfig::default()
    };
    let writer = SpliceWriter::create(output, writer_config).map_err(failed)?;
    // The topics passed through: every topic of a known type the read
    // hands out, except the output topic (a fused drive replayed again).
    let passed: BTreeSet<(String, String)> = drive
        .info
        .topics
        .iter()
        .filter(|t| t.known_type && t.topic != launch.outputs.tracked_objects)
        .map(|t| (t.topic.clone(), t.type_name.clone()))
        .collect();
    // Their handles, added as the first message that is not copied needs
    // one: with the source channel's ids (as its chunks declare it), so
    // that copied and written messages share one channel.
    let mut topics: BTreeMap<(String, String), Topic> = BTreeMap::new();
    let mut sources: BTreeMap<(String, String), fusion_drive::SourceChannel> = BTreeMap::new();
    let sensors: BTreeMap<&str, (u16, &'static str)> = launch
        .sensors
        .iter()
        .map(|s| (s.topic.as_str(), (s.index, s.kind.message_type())))
        .collect();
    let mut replay = OfflineReplay::new(launch, runner, sink, frames_log)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let mut wrong_type = 0u64;
    let began = Instant::now();
    let mut messages = drive
        .reader
        .messages(drive.filter.clone())
        .keep_chunks()
        .decode_ahead(4);
    let (mut first, mut last) = (None, 0u64);
    let span = (drive.info.duration_ns / 1_000_000_000).max(1);
    let bar = super::progress::bar(span, "replaying", "s");
    // Offsets of the source chunks copied as they are: their messages are
    // not written again.
    let mut copied = std::collections::HashSet::new();
    let (counts, digest, written) = std::thread::scope(|scope| {
        let mut writer = WriterThread::spawn(scope, writer, writer_config)?;
        let fused_topic = writer
            .add_topic(
                &launch.outputs.tracked_objects,
                "autoware_perception_msgs/msg/TrackedObjects",
            )
            .map_err(failed)?;
        while let Some(message) = messages.next() {
            for chunk in messages.take_chunks() {
                for c in &chunk.channels {
                    if let Some(s) = &c.schema {
                        sources.insert((c.topic.clone(), s.name.clone()), c.clone());
                    }
                }
                let offset = chunk.offset;
                let passes = chunk.complete
                    && chunk.channels.iter().all(|c| {
                        c.schema
                            .as_ref()
                            .is_some_and(|s| passed.contains(&(c.topic.clone(), s.name.clone())))
                    });
                if !args.recompress && passes && writer.copy(chunk) {
                    copied.insert(Some(offset));
                }
            }
            let t = message.log_time_ns;
            let t0 = *first.get_or_insert(t);
            last = t;
            bar.set_position((t - t0) / 1_000_000_000);
            let log_time = i64::try_from(t).unwrap_or(i64::MAX);
            // Frames whose wait ran out before this message come out before it,
            // so the fused drive stays in log-time order.
            replay.advance_to(log_time, &mut |f: Fused<'_>| writer.fused(fused_topic, f));
            let key = (message.topic.to_string(), message.type_name.to_string());
            if passed.contains(&key) && !copied.contains(&message.chunk) {
                let topic = match topics.get(&key) {
                    Some(&topic) => topic,
                    None => {
                        let source = match sources.get(&key) {
                            Some(c) => writer.add_source_channel(c).map_err(failed)?,
                            None => None,
                        };
                        let topic = match source {
                            Some(topic) => topic,
                            None => writer.add_topic(&key.0, &key.1).map_err(failed)?,
                        };
                        *topics.entry(key).or_insert(topic)
                    }
                };
                writer.send(
                    topic,
                    message.sequence,
                    message.log_time_ns,
                    message.publish_time_ns,
                    message.data.clone(),
                );
            }
            if let Some(&(index, expected)) = sensors.get(&*message.topic) {
                if *message.type_name == *expected {
                    // The message moves into the aligner.
                    replay.feed(index, log_time, message.data, &mut |f: Fused<'_>| {
                        writer.fused(fused_topic, f)
                    });
                } else {
                    wrong_type += 1;
                    if wrong_type == 1 {
                        tracing::warn!(topic = %message.topic, found = %message.type_name, expected, "skipping messages of the wrong type");
                    }
                }
            }
            if writer.stopped() {
                break;
            }
        }
        let (counts, digest) = replay.finish(&mut |f: Fused<'_>| writer.fused(fused_topic, f));
        bar.finish_and_clear();
        Ok::<_, CliError>((counts, digest, writer.finish(output)))
    })?;
    let written = written.map_err(failed)?;
    let wall = began.elapsed();
    let drive = Duration::from_nanos(last.saturating_sub(first.unwrap_or(last)));
    let exec = Duration::from_nanos(exec_ns.load(Ordering::Relaxed));
    let issues = messages.into_issues();
    if !issues.is_clean() {
        eprintln!("warning: {}: {issues}", args.drive.display());
    }
    println!(
        "replay: {} frames, {} published, {} misses",
        counts.frames, counts.published, counts.misses
    );
    println!(
        "replay: {:.1} s of drive in {:.2} s ({:.1}x real time); the module ran {:.2} s (the rest is {:.0} % of that)",
        drive.as_secs_f64(),
        wall.as_secs_f64(),
        drive.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        exec.as_secs_f64(),
        100.0 * wall.saturating_sub(exec).as_secs_f64() / exec.as_secs_f64().max(1e-9),
    );
    if counts.bad_stamps + counts.refused + wrong_type > 0 {
        println!(
            "replay: skipped {} messages without a readable stamp, {} the aligner refused, {wrong_type} of the wrong type",
            counts.bad_stamps, counts.refused
        );
    }
    println!(
        "replay: wrote {} ({} messages; {} of the drive's chunks copied as they are, {} written)",
        output.display(),
        written.messages,
        written.chunks_copied,
        written.chunks_written
    );
    for (what, path) in [
        ("miss log", &launch.logs.miss_log),
        ("latency log", &launch.logs.hlog),
        ("summary", &launch.logs.summary),
    ] {
        if let Some(path) = path {
            println!("replay: {what} {}", path.display());
        }
    }
    println!("sha256 {digest}");
    Ok(())
}

/// What the writer thread is asked to do.
enum Command<'a> {
    /// Add a topic (the handle is the one the shadow writer gave).
    AddTopic(String, String),
    /// Add a source channel with its ids (likewise).
    AddSourceChannel(fusion_drive::SourceChannel),
    /// Write a message: topic, sequence, log time, publish time, CDR bytes.
    Write(Topic, u32, u64, u64, Vec<u8>),
    /// Copy a chunk of the drive as it is.
    Copy(RawChunk<'a>),
}

/// The writer thread refused what the shadow writer took: they disagree
/// (a bug), and the fused drive would lose messages.
fn disagree(what: String) -> fusion_drive::DriveError {
    fusion_drive::DriveError::Io {
        path: PathBuf::new(),
        source: std::io::Error::other(format!("the writer and its shadow disagree: {what}")),
    }
}

/// A drive writer on its own thread, so that compressing and writing the
/// fused drive runs beside the replay rather than in it. Scoped: copied
/// chunks are borrowed from the drive's memory map, not copied out.
///
/// Whether a chunk can be copied depends on what the writer has declared.
/// So that the replay never waits for the thread to answer, a shadow
/// writer (`SpliceWriter::planner`) takes the same topics and copies
/// here, and so decides as the real one will (and hands out the same
/// topic handles); it writes, hashes and compresses nothing.
struct WriterThread<'scope, 'a> {
    shadow: SpliceWriter<std::io::Sink>,
    commands: Option<crossbeam_channel::Sender<Command<'a>>>,
    thread: Option<
        std::thread::ScopedJoinHandle<'scope, Result<SpliceWriter, fusion_drive::DriveError>>,
    >,
}

impl<'scope, 'a: 'scope> WriterThread<'scope, 'a> {
    fn spawn<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        mut writer: SpliceWriter,
        config: WriterConfig,
    ) -> Result<Self, CliError> {
        let shadow = SpliceWriter::planner(config).map_err(|e| CliError::failure(e.to_string()))?;
        let (tx, rx) = crossbeam_channel::bounded::<Command<'a>>(64);
        let thread = scope.spawn(move || {
            for command in rx {
                match command {
                    Command::AddTopic(topic, type_name) => {
                        writer.add_topic(&topic, &type_name)?;
                    }
                    Command::AddSourceChannel(channel) => {
                        if let Err(refused) = writer.add_source_channel(&channel)? {
                            return Err(disagree(format!(
                                "channel {} not added: {refused}",
                                channel.topic
                            )));
                        }
                    }
                    Command::Write(topic, sequence, log_time, publish_time, data) => {
                        writer.write(topic, sequence, log_time, publish_time, &data)?;
                    }
                    Command::Copy(chunk) => {
                        if let Err(refused) = writer.copy_chunk(&chunk)? {
                            return Err(disagree(format!(
                                "chunk at byte {} of the drive not copied: {refused}",
                                chunk.offset
                            )));
                        }
                    }
                }
            }
            Ok(writer)
        });
        Ok(WriterThread {
            shadow,
            commands: Some(tx),
            thread: Some(thread),
        })
    }

    /// Adds a topic; its handle is good for [`WriterThread::send`].
    fn add_topic(
        &mut self,
        topic: &str,
        type_name: &str,
    ) -> Result<Topic, fusion_drive::DriveError> {
        let handle = self.shadow.add_topic(topic, type_name)?;
        self.command(Command::AddTopic(topic.to_owned(), type_name.to_owned()));
        Ok(handle)
    }

    /// Adds a source channel with its ids, if they are free.
    fn add_source_channel(
        &mut self,
        channel: &fusion_drive::SourceChannel,
    ) -> Result<Option<Topic>, fusion_drive::DriveError> {
        let handle = self.shadow.add_source_channel(channel)?.ok();
        if handle.is_some() {
            self.command(Command::AddSourceChannel(channel.clone()));
        }
        Ok(handle)
    }

    /// Copies a chunk of the drive, after what is queued, if it can be;
    /// else its messages are to be sent one by one.
    fn copy(&mut self, chunk: RawChunk<'a>) -> bool {
        let copied = matches!(self.shadow.copy_chunk(&chunk), Ok(Ok(())));
        if copied {
            self.command(Command::Copy(chunk));
        }
        copied
    }

    /// Queues a command; dropped if the writer has failed (`finish` says
    /// why).
    fn command(&self, command: Command<'a>) {
        if let Some(tx) = &self.commands {
            let _ = tx.send(command);
        }
    }

    /// Queues a message; dropped if the writer has failed (`finish` says
    /// why).
    fn send(
        &self,
        topic: Topic,
        sequence: u32,
        log_time_ns: u64,
        publish_time_ns: u64,
        data: Vec<u8>,
    ) {
        self.command(Command::Write(
            topic,
            sequence,
            log_time_ns,
            publish_time_ns,
            data,
        ));
    }

    /// Queues a fused output at the time it was released, with the frame's
    /// sequence number.
    fn fused(&self, topic: Topic, fused: Fused<'_>) {
        let at = u64::try_from(fused.log_time_ns).unwrap_or(0);
        self.send(topic, fused.sequence as u32, at, at, fused.bytes.to_vec());
    }

    /// Whether the writer has stopped (on an error).
    fn stopped(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Writes what is queued and finishes the file.
    fn finish(
        mut self,
        path: &Path,
    ) -> Result<fusion_drive::SpliceSummary, fusion_drive::DriveError> {
        drop(self.commands.take());
        match self.thread.take().map(std::thread::ScopedJoinHandle::join) {
            Some(Ok(Ok(writer))) => writer.finish(),
            Some(Ok(Err(e))) => Err(e),
            _ => Err(fusion_drive::DriveError::Io {
                path: path.to_owned(),
                source: std::io::Error::other("the writer thread panicked"),
            }),
        }
    }
}

/// Passes every report on and adds up the module's execution time.
struct TimedSink {
    inner: MonitorSink,
    exec_ns: Arc<AtomicU64>,
}

impl FrameSink for TimedSink {
    fn frame(&mut self, report: &FrameReport) {
        let ns = (report.stages.module_exec + report.stages.frame_build).as_nanos() as u64;
        self.exec_ns.fetch_add(ns, Ordering::Relaxed);
        self.inner.frame(report);
    }

    fn finish(&mut self) {
        self.inner.finish();
    }
}

/// Publishes the drive's messages with their recorded spacing (divided by
/// `--rate`), large ones through shared memory.
fn live(args: &ReplayArgs, launch: &Launch, drive: &Drive) -> Result<(), CliError> {
    super::positive_rate(args.rate)?;
    let session = super::open_session(&launch.zenoh, &args.connect)?;
    let stop = Arc::new(AtomicBool::new(false));
    let signal = super::stop_signal()?;
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if signal.recv().is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    let playback = Playback::declare(&session, &drive.info, &drive.filter)?;
    if let Some(limit) = args.wait_for_subscribers {
        let sensors = || launch.sensors.iter().map(|s| s.topic.as_str());
        let began = Instant::now();
        while !playback.matched(sensors())
            && began.elapsed() < limit
            && !stop.load(Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        if stop.load(Ordering::Relaxed) {
            // Stopped while waiting: nothing to say of subscribers.
        } else if playback.matched(sensors()) {
            eprintln!(
                "replay: every sensor topic has a subscriber (after {:.1} s)",
                began.elapsed().as_secs_f64()
            );
        } else {
            let missing: Vec<&str> = sensors()
                .filter(|t| !playback.matched(std::iter::once(*t)))
                .collect();
            tracing::warn!(topics = %missing.join(", "), "no subscriber after --wait-for-subscribers; publishing anyway");
        }
    }
    let mut published = 0u64;
    let mut passes = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = playback.play(&drive.reader, &drive.filter, args.rate, args.restamp, &stop)?;
        published += n;
        passes += 1;
        if !args.looped || n == 0 {
            break;
        }
    }
    let _ = session.close().wait();
    eprintln!(
        "replay: published {published} messages on {} topics ({passes} passes)",
        playback.publishers.len()
    );
    Ok(())
}

/// A drive's topics as zenoh publishers, large messages through shared
/// memory, as the sensors' drivers would publish them.
pub(super) struct Playback {
    publishers: BTreeMap<String, SensorPublisher>,
}

impl Playback {
    /// A publisher for every topic of the drive that `filter` keeps.
    pub(super) fn declare(
        session: &zenoh::Session,
        info: &DriveInfo,
        filter: &ReadFilter,
    ) -> Result<Playback, CliError> {
        let pool = ShmPool::new(DEFAULT_SHM_POOL_BYTES).ok().map(Arc::new);
        let mut publishers = BTreeMap::new();
        for topic in &info.topics {
            if filter
                .topics
                .as_ref()
                .is_some_and(|t| !t.contains(&topic.topic))
            {
                continue;
            }
            let publisher = SensorPublisher::declare(session, &topic.topic, pool.clone())
                .map_err(|e| CliError::failure(e.to_string()))?;
            publishers.insert(topic.topic.clone(), publisher);
        }
        Ok(Playback { publishers })
    }

    /// Whether each of `topics` that the drive has has a subscriber zenoh
    /// knows of (what is published before that is lost).
    pub(super) fn matched<'a>(&self, mut topics: impl Iterator<Item = &'a str>) -> bool {
        topics.all(|t| self.publishers.get(t).is_none_or(SensorPublisher::matched))
    }

    /// One pass through the drive at `rate` times its speed, until its end
    /// or `stop`; with `restamp`, every header stamp is moved so that the
    /// pass's first message is stamped now (the recording looks live, and
    /// a looping replay never goes back in time). Returns the messages
    /// published.
    pub(super) fn play(
        &self,
        reader: &DriveReader,
        filter: &ReadFilter,
        rate: f64,
        restamp: bool,
        stop: &AtomicBool,
    ) -> Result<u64, CliError> {
        // The pass's clock starts here, on both clocks at once.
        let (began, began_wall_ns) = (Instant::now(), crate::pipeline::wall_clock_ns());
        let mut first: Option<u64> = None;
        let mut delta_ns = 0;
        let mut published = 0;
        for mut message in reader.messages(filter.clone()) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let t0 = *first.get_or_insert_with(|| {
                delta_ns = began_wall_ns - message.log_time_ns as i64;
                message.log_time_ns
            });
            let due = Duration::from_secs_f64((message.log_time_ns - t0) as f64 * 1e-9 / rate);
            if let Some(wait) = due.checked_sub(began.elapsed()) {
                std::thread::sleep(wait);
            }
            let Some(publisher) = self.publishers.get(&*message.topic) else {
                continue;
            };
            if restamp {
                // A message without a readable stamp goes out as it is.
                let _ = crate::pipeline::shift_header_stamp(&mut message.data, delta_ns);
            }
            publisher
                .put(&message.data)
                .map_err(|e| CliError::failure(e.to_string()))?;
            published += 1;
        }
        Ok(published)
    }
}
