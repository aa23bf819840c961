//! The run's environment, written into the `.hlog` header as
//! `#[Key: value]` comments: a report made from the log alone says where
//! and with what the run happened. HdrHistogram's readers skip comments.

use sha2::{Digest, Sha256};

use crate::launch::{Launch, ModuleSource};

/// `(key, value)` pairs, in the order they are written.
pub type Environment = Vec<(&'static str, String)>;

/// The environment of a run of `launch` with the module of this SHA-256;
/// `mode` says how it runs (`live`, `offline replay of drive.mcap`).
pub fn environment(launch: &Launch, module_sha256: &str, mode: &str) -> Environment {
    let module = match &launch.module.source {
        ModuleSource::BuiltinReference => "builtin:reference".to_owned(),
        ModuleSource::File(path) => path.display().to_string(),
    };
    let launch_file = match std::fs::read(&launch.file) {
        Ok(bytes) => format!(
            "{} (sha256 {})",
            launch.file.display(),
            &crate::host::hex(&Sha256::digest(&bytes))[..16]
        ),
        Err(_) => launch.file.display().to_string(),
    };
    vec![
        ("Node", launch.name.clone()),
        ("Mode", mode.to_owned()),
        ("Host", host_name()),
        ("CPU", cpu()),
        ("OS", os()),
        ("Build", build()),
        ("Launch", launch_file),
        ("Budget", format!("{} us", launch.deadline.as_micros())),
        ("Module", format!("{module_sha256} {module}")),
    ]
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The CPU model (`model name` on x86, the implementer and part on Arm,
/// where Linux names no model) and the cores this process may use.
fn cpu() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    };
    let model = field("model name").or_else(|| {
        let part = field("CPU part")?;
        let name = arm_core(&part).map_or(String::new(), |n| format!("{n}, "));
        Some(format!(
            "{name}implementer {} part {part}",
            field("CPU implementer").unwrap_or_default()
        ))
    });
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "{} ({} cores, {})",
        model.unwrap_or_else(|| "unknown".to_owned()),
        cores,
        std::env::consts::ARCH
    )
}

/// Arm cores of vehicle computers by their `CPU part`.
fn arm_core(part: &str) -> Option<&'static str> {
    Some(match part {
        "0xd08" => "Cortex-A72",
        "0xd0b" => "Cortex-A76",
        "0xd0c" => "Neoverse-N1",
        "0xd41" => "Cortex-A78",
        "0xd42" => "Cortex-A78AE",
        "0xd4b" => "Cortex-A78C",
        "0xd40" => "Neoverse-V1",
        "0xd4f" => "Neoverse-V2",
        _ => return None,
    })
}

fn os() -> String {
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{} {release}", std::env::consts::OS)
        .trim()
        .to_owned()
}

fn build() -> String {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "fusion-node {} ({profile}, {}-{}, wasmtime {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        crate::host::WASMTIME_VERSION
    )
}
