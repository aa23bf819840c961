//! Two triggers on a thread of their own: the module file changing on disk
//! (`[module.swap] watch = true`) and SIGHUP (the launch file read again).
//!
//! The watcher polls the file's size and modification time
//! (`poll_interval`) rather than using inotify: it works the same on
//! every file system, including the overlay and network mounts of vehicle
//! images, and a copy in progress is not taken: a change is acted on only
//! once the file has stayed the same for one more poll. A `MODULE.sig`
//! next to the module is sent along as its signature.
//!
//! On SIGHUP the launch file is parsed again. `[module.swap]` applies at
//! once (watching, signature rules, the oldest release taken, the watch
//! after a swap), before a changed module (file, contents or parameters)
//! is swapped in with the new configuration. Other changes (sensors,
//! outputs, limits, `warmup_frames`) need a restart and are only
//! reported. A launch file that no longer parses is reported and changes
//! nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::signing::signature_path;
use super::status::Trigger;
use super::swapper::{SwapHandle, SwapRules};
use crate::launch::{Launch, ModuleSource};

/// How often the thread looks for SIGHUP when the file is not watched.
const SIGNAL_POLL: Duration = Duration::from_millis(200);

/// The trigger thread; it stops when dropped.
#[derive(Debug)]
pub struct Triggers {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Triggers {
    /// Starts watching `launch`'s module file (if its `[module.swap]` says
    /// so) and, when `sighup` is given, reloading on SIGHUP.
    pub fn start(
        launch: &Launch,
        swapper: SwapHandle,
        sighup: Option<Arc<AtomicBool>>,
    ) -> std::io::Result<Triggers> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut state = State {
            launch: launch.clone(),
            watched: None,
            swapper,
            sighup,
        };
        state.watch_module();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fusion-swap-triggers".into())
            .spawn(move || state.run(&flag))?;
        Ok(Triggers {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Triggers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The module's and its signature's size and modification time.
type Stamp = (FileStamp, FileStamp);
type FileStamp = Option<(u64, SystemTime)>;

struct Watched {
    path: PathBuf,
    /// What the last poll saw.
    seen: Stamp,
    /// What was last acted on (or found at start).
    taken: Stamp,
}

struct State {
    launch: Launch,
    watched: Option<Watched>,
    swapper: SwapHandle,
    sighup: Option<Arc<AtomicBool>>,
}

impl State {
    fn run(&mut self, stop: &AtomicBool) {
        let mut next_poll = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let interval = self.launch.module.swap.poll_interval;
            std::thread::sleep(interval.min(SIGNAL_POLL));
            if self
                .sighup
                .as_ref()
                .is_some_and(|flag| flag.swap(false, Ordering::Relaxed))
            {
                self.reload();
            }
            if Instant::now() >= next_poll {
                next_poll = Instant::now() + interval;
                self.poll();
            }
        }
    }

    /// Starts watching the launch file's module, if asked to.
    fn watch_module(&mut self) {
        self.watched = match (&self.launch.module.source, self.launch.module.swap.watch) {
            (ModuleSource::File(path), true) => Some(Watched {
                path: path.clone(),
                seen: stamp(path),
                taken: stamp(path),
            }),
            _ => None,
        };
    }

    fn poll(&mut self) {
        let Some(watched) = &mut self.watched else {
            return;
        };
        let now = stamp(&watched.path);
        let settled = now == watched.seen;
        watched.seen = now;
        if settled && now.0.is_some() && now != watched.taken {
            let path = watched.path.clone();
            tracing::info!(module = %path.display(), "module file changed: swapping");
            // A request the busy swapper refused is tried again next poll.
            if self.submit(&path, Trigger::FileChanged)
                && let Some(watched) = &mut self.watched
            {
                watched.taken = now;
            }
        }
    }

    /// Sends the module at `path` (and its `.sig`, if there is one);
    /// false if it could not be read or the swapper was busy.
    fn submit(&self, path: &Path, trigger: Trigger) -> bool {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(module = %path.display(), error = %e, "cannot read the module");
                return false;
            }
        };
        let signature = std::fs::read(signature_path(path)).ok();
        self.swapper
            .request(bytes, signature, trigger, path.display().to_string(), None)
    }

    /// SIGHUP: the launch file again. Only `[module]` is applied; the
    /// module's configuration is built from the running sensors and
    /// outputs, with the new module parameters. `[module.swap]` applies
    /// first, so the module reloaded is held to the new rules.
    fn reload(&mut self) {
        let file = self.launch.file.clone();
        let new = match Launch::load(&file) {
            Ok(new) => new,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the launch file does not load; nothing changed");
                return;
            }
        };
        let mut merged = self.launch.clone();
        merged.module.source = new.module.source.clone();
        merged.module.parameters = new.module.parameters.clone();
        // The executor keeps `warmup_frames` recent frames from its start.
        merged.module.swap = crate::launch::SwapPolicy {
            warmup_frames: self.launch.module.swap.warmup_frames,
            ..new.module.swap.clone()
        };
        // `merged` is the running launch with what applies taken from the
        // new one: anything else that differs was not applied.
        if new != merged {
            tracing::warn!(
                "SIGHUP: {} changed outside the module's path and parameters and \
                 [module.swap] (sensors, outputs, limits, memory or warmup_frames); those need \
                 a restart and were not applied",
                file.display()
            );
        }
        if merged.module.swap != self.launch.module.swap {
            let swap = &merged.module.swap;
            self.swapper.set_rules(SwapRules::of(swap));
            tracing::info!(
                watch = swap.watch,
                require_signed = swap.require_signed,
                trusted_keys = swap.trusted_keys.len(),
                min_version = swap.min_version,
                "SIGHUP: [module.swap] applied"
            );
            // Recorded now, whatever happens to the module below: the
            // next SIGHUP compares with the rules in force.
            self.launch.module.swap = merged.module.swap.clone();
            self.watch_module();
        }
        let config = match crate::node::module_config_bytes(&merged) {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the module configuration does not encode");
                return;
            }
        };
        let bytes = match merged.module.source.read() {
            Ok(bytes) => bytes.into_owned(),
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: cannot read the module");
                return;
            }
        };
        let signature = match &merged.module.source {
            ModuleSource::File(path) => std::fs::read(signature_path(path)).ok(),
            ModuleSource::BuiltinReference => None,
        };
        tracing::info!("SIGHUP: reloading the module");
        self.launch = merged;
        self.watch_module();
        self.swapper.request_configured(
            bytes,
            signature,
            Trigger::Reload,
            self.launch.module.source.path().display().to_string(),
            Some(config),
            None,
        );
    }
}

fn stamp(path: &Path) -> Stamp {
    let file = |p: &Path| {
        let meta = std::fs::metadata(p).ok()?;
        Some((meta.len(), meta.modified().ok()?))
    };
    (file(path), file(&signature_path(path)))
}
