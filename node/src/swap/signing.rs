//! Signed deploys: an ed25519 signature over a module's SHA-256 digest,
//! checked against the launch file's `[module.swap] trusted_keys`.
//!
//! Keys and signatures are hex text so they fit in a launch file or a
//! secrets store:
//!
//! - a secret key file is the 32-byte seed as 64 hex characters and a
//!   newline (`fusion-node module keygen` writes it with mode 0600);
//! - a public key is 64 hex characters (the `.pub` file holds one line);
//! - a signature file (`MODULE.sig`, see [`signature_path`]) is 128 hex
//!   characters and a newline, or the raw 64 bytes.
//!
//! The signed message is the 32-byte SHA-256 of the module file's bytes,
//! so a signature covers exactly the file that is deployed. Verification
//! uses `verify_strict`, which refuses weak keys and malleable signatures.

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

/// Signs a module's SHA-256 digest.
pub fn sign(key: &SecretKey, module_sha256: &[u8; 32]) -> Signature {
    Signature(key.0.sign(module_sha256).to_bytes())
}

/// Checks `signature` over `module_sha256` against the trusted keys and
/// returns the index of the key that verified it.
///
/// `signature` is a signature file's bytes (hex text or raw, as
/// [`read_signature`] takes them) or the raw 64 bytes; `None` means the
/// module came without one.
pub fn verify(
    trusted: &[PublicKey],
    module_sha256: &[u8; 32],
    signature: Option<&[u8]>,
) -> Result<usize, SignatureError> {
    if trusted.is_empty() {
        return Err(SignatureError::NoTrustedKeys);
    }
    let bytes = read_signature(signature.ok_or(SignatureError::Unsigned)?)?;
    let signature =
        ed25519_dalek::Signature::from_slice(&bytes).map_err(|_| SignatureError::Malformed {
            why: format!("{} bytes, not 64", bytes.len()),
        })?;
    trusted
        .iter()
        .position(|key| key.0.verify_strict(module_sha256, &signature).is_ok())
        .ok_or(SignatureError::Untrusted {
            keys: trusted.len(),
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
        assert_eq!(verify(&trusted, &digest, Some(&sig.to_bytes())), Ok(0));
        // The file's hex form verifies the same.
        assert_eq!(
            verify(&trusted, &digest, Some(sig.to_file().as_bytes())),
            Ok(0)
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
        assert_eq!(verify(&trusted, &digest, Some(&sig.to_bytes())), Ok(1));
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
