//! The wasmtime engine configuration, in one place.
//!
//! Everything that changes the code Cranelift emits (wasmtime version,
//! target triple, CPU features, the settings below) is recorded in an
//! artifact's manifest and is part of the compile cache key, so an artifact
//! is never run by an engine that would have compiled it differently.

use std::fmt;
use std::hash::Hasher;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use target_lexicon::{Architecture, Triple};
use wasmtime::{Config, Engine, OptLevel};

use super::HostError;
use super::epoch::{Armed, EpochTicker};

/// The wasmtime release this binary links, as Cargo.lock resolved it.
pub const WASMTIME_VERSION: &str = env!("FUSION_WASMTIME_VERSION");

/// How often the epoch ticker advances the engine's epoch.
pub const EPOCH_TICK: Duration = Duration::from_micros(250);

/// The Wasm stack a module may use; deeper recursion traps as a stack
/// overflow instead of growing into the host's stack.
pub const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Engine settings that affect compiled code or how it may run. They are
/// the same for every engine the node builds; the manifest records them so
/// that a later change of any of them refuses old artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// Cranelift optimisation level.
    pub opt_level: String,
    /// Epoch checks in loops and function entries (preemption).
    pub epoch_interruption: bool,
    /// Largest Wasm stack, in bytes.
    pub max_wasm_stack: usize,
    /// The Wasm SIMD proposal (the reference module uses `simd128`).
    pub wasm_simd: bool,
    /// Unwind tables registered with the system unwinder. Off: wasmtime
    /// walks Wasm frames itself, and registering them made a warm load
    /// slower.
    pub native_unwind_info: bool,
}

impl EngineSettings {
    /// The settings every engine of this node uses.
    pub fn current() -> Self {
        EngineSettings {
            opt_level: "speed".into(),
            epoch_interruption: true,
            max_wasm_stack: MAX_WASM_STACK_BYTES,
            wasm_simd: true,
            native_unwind_info: false,
        }
    }
}

/// A named CPU and the Cranelift feature flags it enables.
#[derive(Debug, PartialEq, Eq)]
pub struct CpuModel {
    /// The name `--cpu` takes (LLVM's spelling).
    pub name: &'static str,
    /// Its architecture.
    pub arch: Architecture,
    /// (Cranelift flag, feature name as `std::arch` detects it).
    pub flags: &'static [(&'static str, &'static str)],
}

const AARCH64_V82: &[(&str, &str)] = &[
    ("has_lse", "lse"),
    ("has_fp16", "fp16"),
    ("has_dotprod", "dotprod"),
];
const X86_64_V2: &[(&str, &str)] = &[
    ("has_sse3", "sse3"),
    ("has_ssse3", "ssse3"),
    ("has_sse41", "sse4.1"),
    ("has_sse42", "sse4.2"),
    ("has_popcnt", "popcnt"),
];
const X86_64_V3: &[(&str, &str)] = &[
    ("has_sse3", "sse3"),
    ("has_ssse3", "ssse3"),
    ("has_sse41", "sse4.1"),
    ("has_sse42", "sse4.2"),
    ("has_popcnt", "popcnt"),
    ("has_avx", "avx"),
    ("has_avx2", "avx2"),
    ("has_fma", "fma"),
    ("has_bmi1", "bmi1"),
    ("has_bmi2", "bmi2"),
    ("has_lzcnt", "lzcnt"),
];

/// The CPUs `--cpu` knows. Cortex-A76/A78 and Neoverse N1 are Armv8.2-A
/// with LSE atomics, FP16 and dot product; PAuth (v8.3) and I8MM (v8.6)
/// are not theirs, so those Cranelift flags stay off.
pub const CPU_MODELS: &[CpuModel] = &[
    CpuModel {
        name: "generic",
        arch: Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64),
        flags: &[],
    },
    CpuModel {
        name: "cortex-a72",
        arch: Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64),
        flags: &[],
    },
    CpuModel {
        name: "cortex-a76",
        arch: Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64),
        flags: AARCH64_V82,
    },
    CpuModel {
        name: "cortex-a78",
        arch: Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64),
        flags: AARCH64_V82,
    },
    CpuModel {
        name: "neoverse-n1",
        arch: Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64),
        flags: AARCH64_V82,
    },
    CpuModel {
        name: "x86-64-v2",
        arch: Architecture::X86_64,
        flags: X86_64_V2,
    },
    CpuModel {
        name: "x86-64-v3",
        arch: Architecture::X86_64,
        flags: X86_64_V3,
    },
];

/// Why a `--target`/`--cpu` pair cannot be compiled for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The triple does not parse or Cranelift cannot compile for it.
    #[error("unknown target `{0}`: use a triple such as aarch64-unknown-linux-gnu")]
    UnknownTriple(String),
    /// The CPU name is not in the table.
    #[error("unknown CPU `{name}` for {arch}: known are {known}")]
    UnknownCpu {
        /// The name given.
        name: String,
        /// The target's architecture.
        arch: String,
        /// The names known for that architecture.
        known: String,
    },
    /// `--cpu native` for a target other than this host.
    #[error("`--cpu native` only applies to this host ({host}), not to {target}")]
    NativeForeign {
        /// The target asked for.
        target: String,
        /// This host.
        host: String,
    },
}

/// What code is compiled for: a triple and a CPU (`None`: this host's own
/// CPU, with its features detected by wasmtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileTarget {
    triple: Triple,
    cpu: Option<&'static CpuModel>,
}

impl CompileTarget {
    /// This host, with the CPU features it has.
    pub fn host() -> Self {
        CompileTarget {
            triple: Triple::host(),
            cpu: None,
        }
    }

    /// Parses `--target` and `--cpu`. A foreign target without a CPU gets
    /// the architecture's baseline (`generic` or `x86-64-v2`).
    pub fn parse(triple: Option<&str>, cpu: Option<&str>) -> Result<Self, TargetError> {
        let triple = match triple {
            None => Triple::host(),
            Some(t) => Triple::from_str(t).map_err(|_| TargetError::UnknownTriple(t.into()))?,
        };
        if !matches!(
            triple.architecture,
            Architecture::Aarch64(_) | Architecture::X86_64
        ) {
            return Err(TargetError::UnknownTriple(triple.to_string()));
        }
        let is_host = triple == Triple::host();
        let cpu = match cpu {
            None | Some("native") if is_host => None,
            Some("native") => {
                return Err(TargetError::NativeForeign {
                    target: triple.to_string(),
                    host: Triple::host().to_string(),
                });
            }
            None => Some(baseline(triple.architecture)),
            Some(name) => Some(
                CPU_MODELS
                    .iter()
                    .find(|m| m.name == name && m.arch == triple.architecture)
                    .ok_or_else(|| TargetError::UnknownCpu {
                        name: name.into(),
                        arch: triple.architecture.to_string(),
                        known: CPU_MODELS
                            .iter()
                            .filter(|m| m.arch == triple.architecture)
                            .map(|m| m.name)
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?,
            ),
        };
        Ok(CompileTarget { triple, cpu })
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// The CPU's name: a model from [`CPU_MODELS`] or `native`.
    pub fn cpu_name(&self) -> &'static str {
        self.cpu.map_or("native", |m| m.name)
    }

    /// The CPU features the compiled code may use, by `std::arch` names.
    /// For `native` these are the features of this host that the table
    /// knows; wasmtime may use more, and checks them itself at load.
    pub fn cpu_features(&self) -> Vec<String> {
        match self.cpu {
            Some(model) => model.flags.iter().map(|(_, f)| (*f).to_owned()).collect(),
            None => CPU_MODELS
                .iter()
                .filter(|m| m.arch == self.triple.architecture)
                .flat_map(|m| m.flags.iter())
                .map(|(_, f)| *f)
                .filter(|f| host_has_feature(f))
                .fold(Vec::<String>::new(), |mut v, f| {
                    if !v.iter().any(|x| x == f) {
                        v.push(f.to_owned());
                    }
                    v
                }),
        }
    }

    /// Whether this is the host's own architecture and OS.
    pub fn runs_here(&self) -> bool {
        let host = Triple::host();
        self.triple.architecture == host.architecture
            && self.triple.operating_system == host.operating_system
    }
}

fn baseline(arch: Architecture) -> &'static CpuModel {
    let name = if arch == Architecture::X86_64 {
        "x86-64-v2"
    } else {
        "generic"
    };
    CPU_MODELS
        .iter()
        .find(|m| m.name == name)
        .expect("the table has both baselines")
}

/// Whether this host's CPU has `feature` (a `std::arch` name). Features of
/// other architectures are never present.
pub fn host_has_feature(feature: &str) -> bool {
    #[cfg(target_arch = "aarch64")]
    {
        match feature {
            "lse" => std::arch::is_aarch64_feature_detected!("lse"),
            "fp16" => std::arch::is_aarch64_feature_detected!("fp16"),
            "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
            _ => false,
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "sse3" => std::arch::is_x86_feature_detected!("sse3"),
            "ssse3" => std::arch::is_x86_feature_detected!("ssse3"),
            "sse4.1" => std::arch::is_x86_feature_detected!("sse4.1"),
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "popcnt" => std::arch::is_x86_feature_detected!("popcnt"),
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            "bmi1" => std::arch::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::arch::is_x86_feature_detected!("bmi2"),
            "lzcnt" => std::arch::is_x86_feature_detected!("lzcnt"),
            _ => false,
        }
    }
    #[cfg(not(any(target_arch = "aarch64", target_arch = "x86_64")))]
    {
        let _ = feature;
        false
    }
}

/// Builds an engine that compiles for `target` with the node's settings.
/// Only an engine for [`CompileTarget::host`] can run what it compiles.
pub fn build_engine(target: &CompileTarget) -> Result<Engine, HostError> {
    let settings = EngineSettings::current();
    let mut config = Config::new();
    config
        .cranelift_opt_level(OptLevel::Speed)
        .epoch_interruption(settings.epoch_interruption)
        .max_wasm_stack(settings.max_wasm_stack)
        .wasm_simd(settings.wasm_simd)
        .native_unwind_info(settings.native_unwind_info);
    if target.cpu.is_some() || target.triple != Triple::host() {
        // An explicit target turns off wasmtime's detection of this host's
        // CPU features; only the named CPU's flags are enabled.
        config
            .target(&target.triple.to_string())
            .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        for (flag, _) in target.cpu.map_or(&[][..], |m| m.flags) {
            // SAFETY: the flags enable instructions the named CPU has; the
            // loader checks the host has them before running the code.
            unsafe {
                config.cranelift_flag_enable(flag);
            }
        }
    }
    Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:#}")))
}

/// SHA-256 of everything about `engine` that decides the code it emits:
/// wasmtime's own compatibility hash (version, target, Cranelift and ISA
/// flags, tunables, Wasm features) and this node's settings.
pub fn fingerprint(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0 // only `write` is used; the digest is read below
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.write(WASMTIME_VERSION.as_bytes());
    hasher.write(format!("{:?}", EngineSettings::current()).as_bytes());
    hex(&hasher.0.finalize())
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The engine modules run in: compiled for this host, with the epoch ticker
/// that makes deadlines work. Cloning shares the engine and the ticker; the
/// ticker stops when the last clone is dropped.
#[derive(Clone)]
pub struct HostEngine {
    engine: Engine,
    ticker: Arc<EpochTicker>,
    fingerprint: Arc<str>,
}

impl HostEngine {
    /// Builds the host engine and starts its epoch ticker.
    pub fn new() -> Result<Self, HostError> {
        let engine = build_engine(&CompileTarget::host())?;
        let ticker = EpochTicker::start(engine.clone(), EPOCH_TICK)
            .map_err(|e| HostError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(HostEngine {
            fingerprint: fingerprint(&engine).into(),
            engine,
            ticker: Arc::new(ticker),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the epoch ticker runs at a real-time priority (see
    /// [`EpochTicker::is_realtime`]).
    pub fn ticker_is_realtime(&self) -> bool {
        self.ticker.is_realtime()
    }

    /// The epoch tick.
    pub fn tick(&self) -> Duration {
        self.ticker.period()
    }

    /// Arms the epoch ticker for a call into guest code on `store` that
    /// must end within `deadline`, and sets the store's epoch deadline
    /// (see [`EpochTicker::arm`]). Keep the guard until the call returns.
    pub fn arm<T>(&self, store: &mut wasmtime::Store<T>, deadline: Duration) -> Armed {
        let armed = self.ticker.arm(deadline);
        store.set_epoch_deadline(armed.ticks());
        armed
    }

    /// See [`fingerprint`].
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

impl Deref for HostEngine {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl fmt::Debug for HostEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostEngine")
            .field("tick", &self.tick())
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// The host engine (see [`HostEngine::new`]).
pub fn engine() -> Result<HostEngine, HostError> {
    HostEngine::new()
}
