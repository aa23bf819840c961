//! Signed deploys: an ed25519 signature over a module's SHA-256 digest,
//! checked against the launch file's `[module.swap] trusted_keys`.
//!
//! Keys and signatures are hex text so they fit in a launch file or a
//! secrets store:
//!
//! - a secret key file is the 32-byte seed as 64 hex characters and a
//!   newline (`fusion-node module keygen` writes it with mode 0600);
//! - a public key is 64 hex characters (the `.pub` file holds one line);
//! - a signature file (`MODULE.sig`, see [`signature_path`]) is a release
//!   statement (what `fusion-node module sign --release-version N`
//!   writes):
//!
//!   ```text
//!   fusion-module-signature 1
//!   sha256 <the module's SHA-256, 64 hex characters>
//!   version <the release version, a decimal u64>
//!   ed25519 <the signature, 128 hex characters>
//!   ```
//!
//!   The signature covers the first three lines (each ended by `\n`), so
//!   it binds the module's bytes to a release version, and a node can
//!   refuse a module older than the one it runs (a replayed, validly
//!   signed old release: `[module.swap] min_version` and the running
//!   version, see [`super::verify`]).
//! - An unversioned signature (from before release statements) is 128 hex
//!   characters and a newline, or the raw 64 bytes, over the 32-byte
//!   SHA-256 itself; it counts as version 0.
//!
//! Verification uses `verify_strict`, which refuses weak keys and
//! malleable signatures.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why a module's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// Signatures are required and the module has none.
    #[error(
        "the launch file requires signed modules (require_signed) and none came with a signature"
    )]
    Unsigned,
    /// The signature is not 64 bytes, or not valid hex.
    #[error("the module's signature is malformed: {why}")]
    Malformed {
        /// What is wrong with it.
        why: String,
    },
    /// No trusted key verifies the signature.
    #[error(
        "the signature does not verify with any of the {keys} trusted keys: wrong key, or the module changed after signing"
    )]
    Untrusted {
        /// How many keys were tried.
        keys: usize,
    },
    /// The release statement names another module.
    #[error("the signature is for another module (SHA-256 {named}), not this one")]
    OtherModule {
        /// The SHA-256 it names.
        named: String,
    },
    /// The release is older than the node accepts.
    #[error(
        "release version {version} is below {floor} (the running module's version or [module.swap] min_version): an old release is not taken back"
    )]
    Downgrade {
        /// The module's version.
        version: u64,
        /// The lowest version accepted.
        floor: u64,
    },
    /// There is no key to verify with.
    #[error(
        "no trusted keys to verify the signature with: add ed25519 public keys to [module.swap] trusted_keys"
    )]
    NoTrustedKeys,
}

/// Why a key could not be parsed or made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{why}")]
pub struct KeyError {
    /// What is wrong, in a sentence.
    pub why: String,
}

impl KeyError {
    fn new(why: impl Into<String>) -> Self {
        KeyError { why: why.into() }
    }
}

/// An ed25519 public key: one of the launch file's `trusted_keys`.
/// Parsed from, and displayed as, 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// 64 hex characters (surrounding whitespace, e.g. a `.pub` file's
    /// newline, is ignored).
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = hex_array(text.trim(), "an ed25519 public key")?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError::new("not an ed25519 public key: not a point on the curve"))?;
        // verify_strict would refuse every signature under it anyway.
        if key.is_weak() {
            return Err(KeyError::new(
                "a weak ed25519 public key (small order): it cannot be trusted",
            ));
        }
        Ok(PublicKey(key))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.to_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// An ed25519 secret key (its 32-byte seed), as read from a key file.
/// Its bytes are wiped on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from 32 bytes of the operating system's randomness.
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| KeyError::new(format!("cannot get random bytes for a key: {e}")))?;
        let key = SecretKey(SigningKey::from_bytes(&seed));
        seed.fill(0);
        Ok(key)
    }

    /// The public key to trust for what this key signs.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key file's text: the seed as 64 hex characters and a newline.
    pub fn to_key_file(&self) -> String {
        format!("{}\n", hex(self.0.as_bytes()))
    }
}

impl FromStr for SecretKey {
    type Err = KeyError;

    /// A key file's text: 64 hex characters (surrounding whitespace is
    /// ignored).
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let mut seed: [u8; 32] = hex_array(text.trim(), "an ed25519 secret key file")?;
        let key = SecretKey(SigningKey::from_bytes(&seed));
        seed.fill(0);
        Ok(key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public_key())
    }
}

/// An ed25519 signature over a module's SHA-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// The raw 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// The signature file's text: 128 hex characters and a newline.
    pub fn to_file(&self) -> String {
        format!("{self}\n")
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// The SHA-256 of a module file's bytes: the message that is signed.
pub fn module_sha256(module: &[u8]) -> [u8; 32] {
    Sha256::digest(module).into()
}

/// Signs a module's SHA-256 digest (an unversioned signature).
pub fn sign(key: &SecretKey, module_sha256: &[u8; 32]) -> Signature {
    Signature(key.0.sign(module_sha256).to_bytes())
}

/// The first line of a release statement.
const STATEMENT: &str = "fusion-module-signature 1";

/// The signed part of a release statement.
fn statement(module_sha256: &[u8; 32], version: u64) -> String {
    format!(
        "{STATEMENT}\nsha256 {}\nversion {version}\n",
        hex(module_sha256)
    )
}

/// Signs a release: the signature file's text, binding the module's
/// SHA-256 to `version`.
pub fn sign_release(key: &SecretKey, module_sha256: &[u8; 32], version: u64) -> String {
    let signed = statement(module_sha256, version);
    let signature = Signature(key.0.sign(signed.as_bytes()).to_bytes());
    format!("{signed}ed25519 {signature}\n")
}

/// What a good signature says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// The index of the trusted key that verified it.
    pub key: usize,
    /// The release version (`None`: an unversioned signature).
    pub version: Option<u64>,
}

/// A release statement's fields: (SHA-256, version, signature).
fn parse_statement(text: &str) -> Result<([u8; 32], u64, [u8; 64]), SignatureError> {
    let malformed = |why: &str| SignatureError::Malformed {
        why: format!("a release statement {why}"),
    };
    let mut lines = text.lines();
    let mut field = |name: &str| -> Result<&str, SignatureError> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| malformed(&format!("without its `{name}` line")))
    };
    field("fusion-module-signature")?
        .eq("1")
        .then_some(())
        .ok_or_else(|| malformed("of an unknown format version"))?;
    let sha256 = hex_array(field("sha256")?, "a SHA-256")
        .map_err(|e| malformed(&format!("with a bad sha256: {}", e.why)))?;
    let version = field("version")?
        .parse()
        .map_err(|_| malformed("whose version is not a decimal u64"))?;
    let signature = hex_array(field("ed25519")?, "a signature")
        .map_err(|e| malformed(&format!("with a bad ed25519 signature: {}", e.why)))?;
    if lines.any(|l| !l.trim().is_empty()) {
        return Err(malformed("with lines after the signature"));
    }
    Ok((sha256, version, signature))
}

/// What a signature file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureFile {
    /// For a release statement: the SHA-256 and version it names.
    pub release: Option<([u8; 32], u64)>,
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

/// Parses a signature file's bytes: a release statement (leading
/// whitespace or a byte-order mark ignored), or an unversioned signature
/// as [`read_signature`] takes it.
pub fn parse_signature(bytes: &[u8]) -> Result<SignatureFile, SignatureError> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .map(|t| t.trim_start_matches('\u{feff}').trim_start());
    if let Some(text) = text.filter(|t| t.starts_with(STATEMENT)) {
        let (sha256, version, signature) = parse_statement(text)?;
        return Ok(SignatureFile {
            release: Some((sha256, version)),
            signature,
        });
    }
    let raw = read_signature(bytes)?;
    let signature = raw
        .try_into()
        .map_err(|raw: Vec<u8>| SignatureError::Malformed {
            why: format!("{} bytes, not 64", raw.len()),
        })?;
    Ok(SignatureFile {
        release: None,
        signature,
    })
}

/// Checks `signature` (a signature file's bytes, see [`parse_signature`])
/// for the module whose SHA-256 is `module_sha256` against the trusted
/// keys; `None` means the module came without one.
pub fn verify(
    trusted: &[PublicKey],
    module_sha256: &[u8; 32],
    signature: Option<&[u8]>,
) -> Result<Signed, SignatureError> {
    if trusted.is_empty() {
        return Err(SignatureError::NoTrustedKeys);
    }
    let file = parse_signature(signature.ok_or(SignatureError::Unsigned)?)?;
    let message = match file.release {
        Some((named, version)) => {
            if named != *module_sha256 {
                return Err(SignatureError::OtherModule { named: hex(&named) });
            }
            // Rebuilt from the fields: the message is canonical whatever
            // the file's spacing.
            statement(&named, version).into_bytes()
        }
        None => module_sha256.to_vec(),
    };
    let signature = ed25519_dalek::Signature::from_bytes(&file.signature);
    let key = trusted
        .iter()
        .position(|key| key.0.verify_strict(&message, &signature).is_ok())
        .ok_or(SignatureError::Untrusted {
            keys: trusted.len(),
        })?;
    Ok(Signed {
        key,
        version: file.release.map(|(_, version)| version),
    })
}

/// A signature file's raw signature: exactly 64 bytes are taken as they
/// are; anything else must be 128 hex characters (surrounding whitespace,
/// e.g. the final newline, is ignored).
pub fn read_signature(bytes: &[u8]) -> Result<Vec<u8>, SignatureError> {
    if bytes.len() == 64 {
        return Ok(bytes.to_vec());
    }
    let malformed = |why: String| SignatureError::Malformed { why };
    let text = std::str::from_utf8(bytes).map_err(|_| {
        malformed(format!(
            "{} bytes that are neither the raw 64 bytes nor hex text",
            bytes.len()
        ))
    })?;
    let sig: [u8; 64] = hex_array(text.trim(), "a signature").map_err(|e| malformed(e.why))?;
    Ok(sig.to_vec())
}

/// A SHA-256 from its 64 hex characters.
pub fn sha256_from_hex(text: &str) -> Option<[u8; 32]> {
    hex_array(text, "a SHA-256").ok()
}

/// Where a module's signature is looked for: the module's path with
/// `.sig` appended (`v2.wasm` -> `v2.wasm.sig`).
pub fn signature_path(module: &Path) -> PathBuf {
    let mut path = module.as_os_str().to_owned();
    path.push(".sig");
    PathBuf::from(path)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Exactly `N` bytes from `2 * N` hex digits (either case); `what` names
/// the thing in the error.
fn hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N], KeyError> {
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(KeyError::new(format!(
            "not {what}: `{}` is not a hex digit",
            bad.escape_debug()
        )));
    }
    // All ASCII from here: bytes are characters.
    if text.len() != 2 * N {
        return Err(KeyError::new(format!(
            "not {what}: expected {} hex characters, found {}",
            2 * N,
            text.len()
        )));
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let digit = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        *byte = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&[byte; 32]))
    }

    #[test]
    fn a_signature_verifies_with_its_key() {
        let secret = key(1);
        let digest = module_sha256(b"\0asm module v2");
        let sig = sign(&secret, &digest);
        let trusted = [secret.public_key()];
        let unversioned = Ok(Signed {
            key: 0,
            version: None,
        });
        assert_eq!(
            verify(&trusted, &digest, Some(&sig.to_bytes())),
            unversioned
        );
        // The file's hex form verifies the same.
        assert_eq!(
            verify(&trusted, &digest, Some(sig.to_file().as_bytes())),
            unversioned
        );
        assert_eq!(
            read_signature(sig.to_file().as_bytes()).unwrap(),
            sig.to_bytes()
        );
    }

    #[test]
    fn a_different_key_is_refused() {
        let digest = module_sha256(b"module");
        let sig = sign(&key(1), &digest);
        let err = verify(&[key(2).public_key()], &digest, Some(&sig.to_bytes())).unwrap_err();
        assert_eq!(err, SignatureError::Untrusted { keys: 1 });
        assert!(
            err.to_string().contains("any of the 1 trusted keys"),
            "{err}"
        );
    }

    #[test]
    fn a_module_changed_after_signing_is_refused() {
        let secret = key(1);
        let sig = sign(&secret, &module_sha256(b"module"));
        let changed = module_sha256(b"module, patched");
        assert_eq!(
            verify(&[secret.public_key()], &changed, Some(&sig.to_bytes())),
            Err(SignatureError::Untrusted { keys: 1 })
        );
    }

    #[test]
    fn a_missing_signature_is_refused() {
        let err = verify(&[key(1).public_key()], &[0; 32], None).unwrap_err();
        assert_eq!(err, SignatureError::Unsigned);
        assert!(err.to_string().contains("require_signed"), "{err}");
        assert_eq!(
            verify(&[], &[0; 32], None),
            Err(SignatureError::NoTrustedKeys)
        );
    }

    #[test]
    fn malformed_signatures_and_keys_are_refused() {
        let trusted = [key(1).public_key()];
        for bad in [&b"zz"[..], &[b'g'; 128], &[0xff; 65], &[b'0'; 126]] {
            let err = verify(&trusted, &[0; 32], Some(bad)).unwrap_err();
            assert!(matches!(err, SignatureError::Malformed { .. }), "{err}");
        }
        let err = read_signature(&[b'g'; 128]).unwrap_err().to_string();
        assert!(err.contains("`g` is not a hex digit"), "{err}");
        let err = "abc".parse::<PublicKey>().unwrap_err().to_string();
        assert!(err.contains("expected 64 hex characters, found 3"), "{err}");
        assert!("x".repeat(64).parse::<SecretKey>().is_err());
        // The identity point is a valid encoding but a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = hex(&identity).parse::<PublicKey>().unwrap_err().to_string();
        assert!(err.contains("weak"), "{err}");
    }

    #[test]
    fn the_second_trusted_key_verifies_with_its_index() {
        let digest = module_sha256(b"module");
        let sig = sign(&key(2), &digest);
        let trusted = [key(1).public_key(), key(2).public_key()];
        let signed = verify(&trusted, &digest, Some(&sig.to_bytes()));
        assert_eq!(signed.map(|s| s.key), Ok(1));
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        let secret = SecretKey::generate().unwrap();
        let again: SecretKey = secret.to_key_file().parse().unwrap();
        assert_eq!(again.public_key(), secret.public_key());
        let public = secret.public_key();
        assert_eq!(public.to_string().parse::<PublicKey>().unwrap(), public);
        assert_eq!(
            public
                .to_string()
                .to_uppercase()
                .parse::<PublicKey>()
                .unwrap(),
            public
        );
        assert!(!format!("{secret:?}").contains(secret.to_key_file().trim()));
    }

    #[test]
    fn a_release_statement_binds_the_module_to_its_version() {
        let secret = key(1);
        let trusted = [key(2).public_key(), secret.public_key()];
        let digest = module_sha256(b"module v7");
        let file = sign_release(&secret, &digest, 7);
        assert!(
            file.starts_with("fusion-module-signature 1\nsha256 "),
            "{file}"
        );
        assert_eq!(
            verify(&trusted, &digest, Some(file.as_bytes())),
            Ok(Signed {
                key: 1,
                version: Some(7)
            })
        );
        // Another version written in: the signature no longer verifies.
        let bumped = file.replace("version 7", "version 8");
        assert_eq!(
            verify(&trusted, &digest, Some(bumped.as_bytes())),
            Err(SignatureError::Untrusted { keys: 2 })
        );
        // For another module.
        let other = module_sha256(b"module v6");
        let err = verify(&trusted, &other, Some(file.as_bytes())).unwrap_err();
        assert_eq!(
            err,
            SignatureError::OtherModule {
                named: hex(&digest)
            }
        );
        // Leading whitespace or a byte-order mark is still a statement.
        for padded in [format!("\n{file}"), format!("\u{feff}{file}")] {
            let signed = verify(&trusted, &digest, Some(padded.as_bytes()));
            assert_eq!(signed.map(|s| s.version), Ok(Some(7)));
        }
        // A statement that lost or garbled a line is malformed, not
        // taken for an unversioned signature.
        let lines: Vec<&str> = file.lines().collect();
        for bad in [
            lines[..3].join("\n"),
            file.replace("version 7", "version seven"),
            file.replace("signature 1", "signature 2"),
            format!("{file}extra\n"),
        ] {
            let err = verify(&trusted, &digest, Some(bad.as_bytes())).unwrap_err();
            assert!(
                matches!(err, SignatureError::Malformed { .. }),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn signature_path_appends_sig() {
        assert_eq!(
            signature_path(Path::new("modules/v2.wasm")),
            Path::new("modules/v2.wasm.sig")
        );
    }

    /// RFC 8032 section 7.1, TEST 1: the key file's parsing feeds dalek the
    /// seed the RFC means.
    #[test]
    fn rfc8032_test_1() {
        let secret: SecretKey =
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n"
                .parse()
                .unwrap();
        let public: PublicKey = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
            .parse()
            .unwrap();
        assert_eq!(secret.public_key(), public);
        let want = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        let sig = secret.0.sign(b"");
        assert_eq!(hex(&sig.to_bytes()), want);
        assert!(public.0.verify_strict(b"", &sig).is_ok());
    }
}
