//! The launch file's signature policy applied to a swap request.

use super::signing::{PublicKey, SignatureError, verify};

/// Who may sign modules, from `[module.swap]`.
#[derive(Debug, Clone, Default)]
pub struct SignaturePolicy {
    /// `require_signed`: refuse modules without a good signature.
    pub required: bool,
    /// `trusted_keys`.
    pub trusted: Vec<PublicKey>,
}

/// Checks a module's signature against the policy: required, it must
/// verify with a trusted key; not required, a signature that came along
/// must still verify when keys are trusted (a bad one is never ignored).
pub fn check_signature(
    policy: &SignaturePolicy,
    module_sha256: &[u8; 32],
    signature: Option<&[u8]>,
) -> Result<(), SignatureError> {
    if !policy.required && (signature.is_none() || policy.trusted.is_empty()) {
        return Ok(());
    }
    verify(&policy.trusted, module_sha256, signature).map(|_| ())
}
