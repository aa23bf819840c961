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
//! On SIGHUP the launch file is parsed again. A changed module (file,
//! contents or parameters) is swapped in with the new configuration; other
//! changes need a restart and are only reported. A launch file that no
//! longer parses is reported and changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::signing::signature_path;
use super::status::Trigger;
use super::swapper::SwapHandle;
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

/// A file's size and modification time.
type Stamp = Option<(u64, SystemTime)>;

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
        if settled && now.is_some() && now != watched.taken {
            watched.taken = now;
            let path = watched.path.clone();
            tracing::info!(module = %path.display(), "module file changed: swapping");
            self.submit(&path, Trigger::FileChanged);
        }
    }

    /// Sends the module at `path` (and its `.sig`, if there is one).
    fn submit(&self, path: &Path, trigger: Trigger) {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(module = %path.display(), error = %e, "cannot read the module");
                return;
            }
        };
        let signature = std::fs::read(signature_path(path)).ok();
        self.swapper
            .request(bytes, signature, trigger, path.display().to_string(), None);
    }

    /// SIGHUP: the launch file again.
    fn reload(&mut self) {
        let file = self.launch.file.clone();
        let new = match Launch::load(&file) {
            Ok(new) => new,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the launch file does not load; nothing changed");
                return;
            }
        };
        let mut rest_old = self.launch.clone();
        let mut rest_new = new.clone();
        rest_old.module = new.module.clone();
        rest_new.module = new.module.clone();
        if rest_old != rest_new {
            tracing::warn!(
                "SIGHUP: {} changed outside [module]; only the module is reloaded, the rest needs a restart",
                file.display()
            );
        }
        let module_changed = new.module != self.launch.module;
        self.launch.module = new.module.clone();
        match crate::node::module_config_bytes(&new) {
            Ok(config) => self.swapper.set_module_config(config),
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the module configuration does not encode");
                return;
            }
        }
        self.watch_module();
        let bytes = match new.module.source.read() {
            Ok(bytes) => bytes.into_owned(),
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: cannot read the module");
                return;
            }
        };
        let signature = match &new.module.source {
            ModuleSource::File(path) => std::fs::read(signature_path(path)).ok(),
            ModuleSource::BuiltinReference => None,
        };
        tracing::info!(module_changed, "SIGHUP: reloading the module");
        self.swapper.request(
            bytes,
            signature,
            Trigger::Reload,
            new.module.source.path().display().to_string(),
            None,
        );
    }
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}
