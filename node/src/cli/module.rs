//! `fusion-node module`: tools for deploying fusion modules. `keygen` and
//! `sign` make the keys and signatures that a launch file with
//! `[module.swap] require_signed = true` asks for.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CliError;
use crate::swap::signing::{self, SecretKey};

#[derive(Debug, Subcommand)]
pub enum ModuleCommand {
    /// Make an ed25519 signing key: the secret key goes to FILE (mode
    /// 0600), the public key to FILE.pub and stdout, for the launch file's
    /// `[module.swap] trusted_keys`. Refuses to overwrite either file
    /// without --force.
    ///
    /// Example: fusion-node module keygen -o deploy.key
    Keygen(KeygenArgs),
    /// Sign a module for a launch file with `require_signed`: an ed25519
    /// signature over the module's SHA-256 and its release version,
    /// written to MODULE.sig (where the node looks for it). A node refuses
    /// a release older than the one it runs or its `min_version`.
    ///
    /// Example: fusion-node module sign fusion.wasm --key deploy.key --release-version 7
    Sign(SignArgs),
    /// A running node's module: current and previous, since when, swaps,
    /// rollbacks, refusals and the last request's outcome, over zenoh.
    /// Exit code 2 when no node answers.
    ///
    /// Example: fusion-node module status --node fusion_node
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The node's name (the launch file's `name`).
    #[arg(long, value_name = "NAME")]
    node: String,
    /// A zenoh endpoint to connect to, e.g. `tcp/127.0.0.1:7447`
    /// (repeatable); without it, peers are found by multicast scouting.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Vec<String>,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = crate::launch::parse_duration)]
    timeout: std::time::Duration,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; the public key goes to FILE.pub.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Overwrite FILE and FILE.pub if they exist.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The module file (`.wasm` or `.cwasm`), exactly as it is deployed.
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    /// The secret key file, from `fusion-node module keygen`.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Where to write the signature [default: MODULE.sig].
    #[arg(short, long, value_name = "SIG")]
    output: Option<PathBuf>,
    /// The release version the signature binds the module to (a number
    /// that grows with each release). Without it the signature is
    /// unversioned and counts as release 0.
    #[arg(long, value_name = "N")]
    release_version: Option<u64>,
}

pub fn run(cmd: ModuleCommand) -> Result<(), CliError> {
    match cmd {
        ModuleCommand::Keygen(args) => keygen(args),
        ModuleCommand::Sign(args) => sign(args),
        ModuleCommand::Status(args) => status(args),
    }
}

fn status(args: StatusArgs) -> Result<(), CliError> {
    super::init_logging("warn");
    let key = crate::swap::admin::admin_key(&args.node, "module")
        .map_err(|e| CliError::usage(e.to_string()))?;
    let status = super::ask_node(&args.node, key, &args.connect, None, None, args.timeout)?;
    if args.json {
        println!("{status:#}");
        return Ok(());
    }
    let entry = |e: &serde_json::Value| {
        let since = e["since_unix_ns"].as_i64().unwrap_or(0);
        let ago = crate::pipeline::wall_clock_ns().saturating_sub(since) as f64 / 1e9;
        format!(
            "{} ({}), for {ago:.1} s",
            e["sha256"].as_str().unwrap_or("?"),
            e["detail"].as_str().unwrap_or("?")
        )
    };
    println!("current:  {}", entry(&status["current"]));
    if !status["previous"].is_null() {
        println!("previous: {}", entry(&status["previous"]));
    }
    println!(
        "swaps: {}, rolled back: {}, refused: {}",
        status["swaps"], status["rollbacks"], status["refused"]
    );
    if let Some(floor) = status["release_floor"].as_u64().filter(|f| *f > 0) {
        println!("release floor: {floor} (an older signed release is refused)");
    }
    if let Some(last) = status["last"].as_object() {
        let reason = last.get("reason").and_then(|r| r.as_str()).unwrap_or("");
        println!(
            "last request: {} ({}) {}",
            last.get("outcome").and_then(|o| o.as_str()).unwrap_or("?"),
            last.get("trigger").and_then(|t| t.as_str()).unwrap_or("?"),
            reason
        );
    }
    Ok(())
}

fn keygen(args: KeygenArgs) -> Result<(), CliError> {
    let secret_path = args.output;
    let mut public_path = secret_path.clone().into_os_string();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    // Check both first, so a refusal leaves neither file half-made.
    if !args.force
        && let Some(existing) = [&secret_path, &public_path]
            .into_iter()
            .find(|p| p.symlink_metadata().is_ok())
    {
        return Err(exists(existing));
    }
    let key = SecretKey::generate().map_err(|e| CliError::failure(e.to_string()))?;
    let public = key.public_key();
    create(&secret_path, args.force, 0o600, &key.to_key_file())?;
    create(&public_path, args.force, 0o644, &format!("{public}\n"))?;
    println!("{public}");
    println!(
        "wrote the secret key to {} (mode 0600: keep it secret) and the public key to {}",
        secret_path.display(),
        public_path.display()
    );
    println!("to accept modules it signs, add to the launch file's [module.swap]:");
    println!("trusted_keys = [\"{public}\"]");
    Ok(())
}

/// Writes a new file with `mode`, or replaces one with `force`.
fn create(path: &Path, force: bool, mode: u32, text: &str) -> Result<(), CliError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let written = options.open(path).and_then(|mut file| {
        // A replaced file keeps its old mode unless set.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => CliError::failure(format!("cannot write {}: {e}", path.display())),
    })
}

fn exists(path: &Path) -> CliError {
    CliError::usage(format!(
        "{} exists: not overwriting a key (pass --force to replace it)",
        path.display()
    ))
}

fn sign(args: SignArgs) -> Result<(), CliError> {
    let key_text = std::fs::read_to_string(&args.key).map_err(|e| {
        CliError::usage(format!("cannot read key file {}: {e}", args.key.display()))
    })?;
    let key: SecretKey = key_text
        .parse()
        .map_err(|e| CliError::usage(format!("{}: {e}", args.key.display())))?;
    let module = std::fs::read(&args.module).map_err(|e| {
        CliError::usage(format!("cannot read module {}: {e}", args.module.display()))
    })?;
    let digest = signing::module_sha256(&module);
    let file = match args.release_version {
        Some(version) => signing::sign_release(&key, &digest, version),
        None => signing::sign(&key, &digest).to_file(),
    };
    let output = args
        .output
        .unwrap_or_else(|| signing::signature_path(&args.module));
    std::fs::write(&output, file)
        .map_err(|e| CliError::failure(format!("cannot write {}: {e}", output.display())))?;
    println!(
        "sha256    {}  {}",
        signing::hex(&digest),
        args.module.display()
    );
    println!("signature {} (key {})", output.display(), key.public_key());
    match args.release_version {
        Some(version) => println!("release   {version}"),
        None => println!(
            "release   none: counts as release 0, which a node with min_version > 0 or running a newer release refuses"
        ),
    }
    Ok(())
}
