//! The launch file's signature policy applied to a swap request.

use super::signing::{PublicKey, SignatureError, verify};

/// Who may sign modules, from `[module.swap]`.
#[derive(Debug, Clone, Default)]
pub struct SignaturePolicy {
    /// `require_signed`: refuse modules without a good signature.
    pub required: bool,
    /// `trusted_keys`.
    pub trusted: Vec<PublicKey>,
    /// `min_version`: the oldest release taken.
    pub min_version: u64,
}

/// Checks a module's signature against the policy: required, it must
/// verify with a trusted key; not required, a signature that came along
/// must still verify when keys are trusted (a bad one is never ignored).
/// A signed module's release version (0 if unversioned) must be at least
/// `min_version` and `running`, the version of the signed module running:
/// an old release, validly signed, is not taken back. Returns the version
/// of a signed module.
pub fn check_signature(
    policy: &SignaturePolicy,
    module_sha256: &[u8; 32],
    signature: Option<&[u8]>,
    running: u64,
) -> Result<Option<u64>, SignatureError> {
    if !policy.required && (signature.is_none() || policy.trusted.is_empty()) {
        return Ok(None);
    }
    let signed = verify(&policy.trusted, module_sha256, signature)?;
    let version = signed.version.unwrap_or(0);
    let floor = running.max(policy.min_version);
    if version < floor {
        return Err(SignatureError::Downgrade { version, floor });
    }
    Ok(Some(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::swap::signing::{SecretKey, module_sha256, sign, sign_release};

    fn policy(key: &SecretKey, min_version: u64) -> SignaturePolicy {
        SignaturePolicy {
            required: true,
            trusted: vec![key.public_key()],
            min_version,
        }
    }

    #[test]
    fn an_old_release_is_refused_however_well_signed() {
        let key: SecretKey = "11".repeat(32).parse().unwrap();
        let digest = module_sha256(b"module v3");
        let v3 = sign_release(&key, &digest, 3);
        let check = |min, running| {
            check_signature(&policy(&key, min), &digest, Some(v3.as_bytes()), running)
        };
        assert_eq!(check(0, 0), Ok(Some(3)));
        assert_eq!(check(3, 3), Ok(Some(3)), "the same release again");
        assert_eq!(
            check(0, 4),
            Err(SignatureError::Downgrade {
                version: 3,
                floor: 4
            }),
            "below the running release"
        );
        assert_eq!(
            check(5, 0),
            Err(SignatureError::Downgrade {
                version: 3,
                floor: 5
            }),
            "below min_version"
        );
        // An unversioned signature is release 0.
        let old = sign(&key, &digest).to_file();
        let unversioned = |min, running| {
            check_signature(&policy(&key, min), &digest, Some(old.as_bytes()), running)
        };
        assert_eq!(unversioned(0, 0), Ok(Some(0)));
        assert_eq!(
            unversioned(1, 0),
            Err(SignatureError::Downgrade {
                version: 0,
                floor: 1
            })
        );
        // Not required and unsigned: no version to check.
        let open = SignaturePolicy {
            required: false,
            ..policy(&key, 5)
        };
        assert_eq!(check_signature(&open, &digest, None, 9), Ok(None));
    }
}
