//! A whole node: the module loaded and initialised, a zenoh session, and
//! the pipeline between them, as `fusion-node run` starts it.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

use thiserror::Error;
use zenoh::{Session, Wait};

use crate::host::artifact::{self, ArtifactError};
use crate::host::cache::{CacheOutcome, CompileCache};
use crate::host::{HostEngine, HostError, Limits, ModuleHost};
use crate::launch::{Launch, ModuleSource};
use crate::pipeline::{FrameSink, Pipeline, PipelineConfig, PipelineError, Summary};
use crate::swap::{SwapHandle, SwapRules, Swapper, SwapperConfig};
use crate::transport::{self, TransportError};

/// Why a node could not start or stop cleanly.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The module file could not be read.
    #[error("cannot read module {}: {source}", path.display())]
    ReadModule {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `.cwasm` was refused (and no source was at hand to recompile).
    #[error("module {}: {source}", path.display())]
    Artifact {
        /// The artifact.
        path: PathBuf,
        /// Why.
        source: ArtifactError,
    },
    /// The host refused the module or could not start.
    #[error("module {}: {source}", path.display())]
    Host {
        /// The module.
        path: PathBuf,
        /// Why.
        source: HostError,
    },
    /// The module's configuration could not be encoded.
    #[error("cannot encode the module configuration: {0}")]
    Config(String),
    /// The module refused its configuration.
    #[error("module {} refused its configuration: {source}", path.display())]
    Init {
        /// The module.
        path: PathBuf,
        /// Why.
        source: HostError,
    },
    /// zenoh.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The pipeline.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// A running node. [`Node::stop`] drains and stops it.
#[derive(Debug)]
pub struct Node {
    pipeline: Pipeline,
    session: Session,
    swapper: Option<Swapper>,
}

impl Node {
    /// Loads and initialises the launch file's module, opens the zenoh
    /// session its `[zenoh]` describes and starts the pipeline.
    pub fn start(launch: &Launch, sink: Box<dyn FrameSink>) -> Result<Node, NodeError> {
        let module = load_module(launch)?;
        let session = transport::open(&launch.zenoh)?;
        Node::start_loaded(launch, session, module, sink)
    }

    /// Starts the pipeline on an open session with a loaded, initialised
    /// host, named by the launch file's module file (tests use it to pick
    /// their own endpoints and modules).
    pub fn start_with(
        launch: &Launch,
        session: Session,
        host: ModuleHost,
        sink: Box<dyn FrameSink>,
    ) -> Result<Node, NodeError> {
        let sha256 = module_sha256(launch)?;
        Node::start_loaded(launch, session, LoadedModule { host, sha256 }, sink)
    }

    /// Starts the pipeline on an open session with the module
    /// [`load_module`] loaded (what [`Node::start`] does after loading).
    pub fn start_loaded(
        launch: &Launch,
        session: Session,
        module: LoadedModule,
        sink: Box<dyn FrameSink>,
    ) -> Result<Node, NodeError> {
        let LoadedModule { host, sha256 } = module;
        let swapper_config = swapper_config(launch, &sha256)?;
        let mut config = PipelineConfig::from_launch(launch);
        config.module.sha256 = sha256;
        config.warmup_frames = launch.module.swap.warmup_frames as usize;
        let mut pipeline = Pipeline::start(&session, config, host, sink)?;
        let port = pipeline
            .take_swap_port()
            .expect("a new pipeline has its swap port");
        let swapper = Swapper::start(swapper_config, port, module_config_bytes(launch)?)
            .map_err(PipelineError::Spawn)?;
        Ok(Node {
            pipeline,
            session,
            swapper: Some(swapper),
        })
    }

    /// Where hot-swap requests go (see [`crate::swap`]).
    pub fn swapper(&self) -> SwapHandle {
        self.swapper
            .as_ref()
            .expect("the swapper runs until the node stops")
            .handle()
    }

    /// The pipeline (counters, clock).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The zenoh session, for further publishers (diagnostics).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Stops intake, drains the frames in flight, joins the threads and
    /// closes the session.
    pub fn stop(mut self) -> Result<Summary, NodeError> {
        // A swap in progress finishes (or gives up) first.
        if let Some(swapper) = self.swapper.take() {
            swapper.stop();
        }
        let summary = self.pipeline.shutdown();
        if let Err(e) = self.session.close().wait() {
            tracing::debug!(error = %e, "closing the zenoh session failed");
        }
        Ok(summary?)
    }
}

/// SHA-256 (hex) of the launch file's module file, as the miss log names
/// it (for a `.cwasm`, of the artifact).
pub fn module_sha256(launch: &Launch) -> Result<String, NodeError> {
    let bytes = launch
        .module
        .source
        .read()
        .map_err(|source| NodeError::ReadModule {
            path: launch.module.source.path(),
            source,
        })?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// What the swapper needs from the launch file; `sha256` names the
/// module it starts with.
fn swapper_config(launch: &Launch, sha256: &str) -> Result<SwapperConfig, NodeError> {
    let engine = crate::host::engine().map_err(|source| NodeError::Host {
        path: launch.module.source.path(),
        source,
    })?;
    Ok(SwapperConfig {
        engine,
        limits: limits(launch),
        rules: SwapRules::of(&launch.module.swap),
        running_version: start_release(launch, sha256),
    })
}

/// The release version of the module the node starts with, when a
/// trusted signature of it lies beside its file: a swap may not go below
/// it. (The start module itself is trusted as the launch file names it.)
fn start_release(launch: &Launch, sha256: &str) -> u64 {
    let crate::launch::ModuleSource::File(path) = &launch.module.source else {
        return 0;
    };
    let trusted = &launch.module.swap.trusted_keys;
    let (Some(digest), Ok(signature)) = (
        crate::swap::signing::sha256_from_hex(sha256),
        std::fs::read(crate::swap::signing::signature_path(path)),
    ) else {
        return 0;
    };
    match crate::swap::signing::verify(trusted, &digest, Some(&signature)) {
        Ok(signed) => signed.version.unwrap_or(0),
        Err(e) => {
            tracing::warn!(module = %path.display(), error = %e, "the start module's signature does not verify; its release version is not a floor");
            0
        }
    }
}

/// The module configuration `fusion_init` gets, encoded.
pub fn module_config_bytes(launch: &Launch) -> Result<Vec<u8>, NodeError> {
    fusion_msgs::encode(&launch.module_config()).map_err(|e| NodeError::Config(e.to_string()))
}

/// The host limits a launch file sets: its memory cap, and its deadline
/// as the step deadline.
pub fn limits(launch: &Launch) -> Limits {
    Limits {
        memory_bytes: usize::try_from(launch.module.memory_bytes).unwrap_or(usize::MAX),
        step_deadline: launch.deadline,
        ..Limits::default()
    }
}

/// Loads the launch file's module into a new host and initialises it with
/// [`Launch::module_config`]. A `.cwasm` is verified before loading (and
/// its source compiled instead when it is refused and the source is at
/// hand); a `.wasm` goes through the compile cache when there is a cache
/// directory, else it is compiled in memory.
pub fn load_host(launch: &Launch) -> Result<ModuleHost, NodeError> {
    load_module(launch).map(|m| m.host)
}

/// [`load_host`] for offline replay: steps are preempted only once they
/// run away ([`crate::replay::RUNAWAY_LIMIT`]), so that how busy the
/// machine is cannot change the outputs; late steps are logged instead.
pub fn load_host_for_replay(launch: &Launch) -> Result<ModuleHost, NodeError> {
    load_module_for_replay(launch).map(|m| m.host)
}

/// A loaded, initialised module and the SHA-256 (hex) of the very bytes
/// it was made from, which names it in the logs.
pub struct LoadedModule {
    /// The host, initialised.
    pub host: ModuleHost,
    /// SHA-256 (hex) of the `.wasm` compiled, or of the `.cwasm` loaded
    /// (of its source, when the artifact was refused and the source
    /// compiled instead).
    pub sha256: String,
}

/// [`load_host`], with the module's name.
pub fn load_module(launch: &Launch) -> Result<LoadedModule, NodeError> {
    load_host_with(launch, limits(launch))
}

/// [`load_host_for_replay`], with the module's name.
pub fn load_module_for_replay(launch: &Launch) -> Result<LoadedModule, NodeError> {
    let mut limits = limits(launch);
    limits.step_deadline = limits.step_deadline.max(crate::replay::RUNAWAY_LIMIT);
    load_host_with(launch, limits)
}

fn load_host_with(launch: &Launch, limits: Limits) -> Result<LoadedModule, NodeError> {
    let path = launch.module.source.path();
    let host_error = |source| NodeError::Host {
        path: path.clone(),
        source,
    };
    let engine = crate::host::engine().map_err(host_error)?;
    let (mut host, sha256) = if launch.module.source.is_precompiled() {
        let loaded =
            artifact::load(&engine, &path, None).map_err(|source| NodeError::Artifact {
                path: path.clone(),
                source,
            })?;
        let host = ModuleHost::from_module(&engine, &loaded.module, limits).map_err(host_error)?;
        (host, loaded.sha256)
    } else {
        let wasm = launch
            .module
            .source
            .read()
            .map_err(|source| NodeError::ReadModule {
                path: path.clone(),
                source,
            })?;
        let host = from_wasm(&engine, &launch.module.source, &wasm, limits).map_err(host_error)?;
        (host, format!("{:x}", Sha256::digest(&wasm)))
    };
    let config = module_config_bytes(launch)?;
    host.init(&config).map_err(|source| NodeError::Init {
        path: path.clone(),
        source,
    })?;
    Ok(LoadedModule { host, sha256 })
}

pub(crate) fn from_wasm(
    engine: &HostEngine,
    source: &ModuleSource,
    wasm: &[u8],
    limits: Limits,
) -> Result<ModuleHost, HostError> {
    if let Some(dir) = CompileCache::default_dir() {
        let cache = CompileCache::new(dir);
        match cache.load(engine, wasm) {
            Ok((module, outcome)) => {
                if outcome != CacheOutcome::Hit {
                    tracing::info!(cache = %cache.dir().display(), "module compiled and cached");
                }
                return ModuleHost::from_module(engine, &module, limits);
            }
            Err(e) => tracing::warn!(
                module = %source.path().display(),
                error = %e,
                "compile cache unusable; compiling in memory"
            ),
        }
    }
    ModuleHost::from_wasm(engine, wasm, limits)
}
