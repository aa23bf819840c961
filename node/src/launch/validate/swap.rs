//! `[module.swap]`: how the module is hot-swapped, and the keys a signed
//! module is checked against.

use super::*;
use crate::swap::signing::PublicKey;

/// A watcher polling faster than this would spin on the file system.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// Shadow frames cost a second module run each: keep the warm-up short.
const MAX_WARMUP_FRAMES: u32 = 64;
const MAX_WATCH_FRAMES: u32 = 10_000;

impl Validator<'_> {
    pub(super) fn swap(
        &self,
        raw: Option<&raw::RawSwap>,
        source: &ModuleSource,
    ) -> Result<SwapPolicy> {
        let defaults = SwapPolicy::default();
        let Some(raw) = raw else {
            return Ok(defaults);
        };
        let watch = raw.watch.as_ref().is_some_and(|w| *w.get_ref());
        if let Some(w) = &raw.watch
            && watch
            && *source == ModuleSource::BuiltinReference
        {
            return Err(self.err(
                w.span(),
                format!("`watch = true` needs a module file: `{BUILTIN_REFERENCE}` is embedded in the binary, so there is no file to watch"),
            ));
        }
        let poll_interval = match &raw.poll_interval {
            Some(d) if d.get_ref().0 < MIN_POLL_INTERVAL => {
                return Err(self.err(
                    d.span(),
                    format!(
                        "poll_interval {} is too short: at least {}",
                        format_duration(d.get_ref().0),
                        format_duration(MIN_POLL_INTERVAL)
                    ),
                ));
            }
            Some(d) => d.get_ref().0,
            None => defaults.poll_interval,
        };
        let warmup_frames = self.count(
            &raw.warmup_frames,
            "warmup_frames",
            MAX_WARMUP_FRAMES,
            defaults.warmup_frames,
        )?;
        let watch_frames = self.count(
            &raw.watch_frames,
            "watch_frames",
            MAX_WATCH_FRAMES,
            defaults.watch_frames,
        )?;
        // More misses than watched frames could never roll back; the
        // default shrinks to a short watch.
        let rollback_misses = self.count(
            &raw.rollback_misses,
            "rollback_misses",
            watch_frames,
            defaults.rollback_misses.min(watch_frames),
        )?;
        let trusted_keys = self.trusted_keys(raw)?;
        let require_signed = raw.require_signed.as_ref().is_some_and(|r| *r.get_ref());
        if require_signed && trusted_keys.is_empty() {
            let span = match (&raw.trusted_keys, &raw.require_signed) {
                (Some(keys), _) => keys.span(),
                (None, Some(r)) => r.span(),
                (None, None) => 0..0,
            };
            return Err(self.err(
                span,
                "require_signed = true needs at least one key in trusted_keys (`fusion-node module keygen` makes one)",
            ));
        }
        let min_version = match &raw.min_version {
            // Unsigned modules carry no version: a floor needs signatures.
            Some(v) if *v.get_ref() > 0 && !require_signed => {
                return Err(self.err(
                    v.span(),
                    "min_version needs require_signed = true: an unsigned module has no release version to check",
                ));
            }
            Some(v) => *v.get_ref(),
            None => 0,
        };
        Ok(SwapPolicy {
            watch,
            poll_interval,
            warmup_frames,
            watch_frames,
            rollback_misses,
            require_signed,
            trusted_keys,
            min_version,
        })
    }

    /// A count of frames or misses, from 1 to `max`.
    fn count(&self, raw: &Option<Spanned<u32>>, what: &str, max: u32, default: u32) -> Result<u32> {
        let Some(n) = raw else {
            return Ok(default);
        };
        let value = *n.get_ref();
        if !(1..=max).contains(&value) {
            let bound = match what {
                "rollback_misses" => " (watch_frames)",
                _ => "",
            };
            return Err(self.err(
                n.span(),
                format!("{what} {value} is out of range: 1 to {max}{bound}"),
            ));
        }
        Ok(value)
    }

    /// `trusted_keys`: each an ed25519 public key in hex.
    fn trusted_keys(&self, raw: &raw::RawSwap) -> Result<Vec<PublicKey>> {
        let Some(keys) = &raw.trusted_keys else {
            return Ok(Vec::new());
        };
        keys.get_ref()
            .iter()
            .enumerate()
            .map(|(i, key)| {
                key.get_ref()
                    .parse()
                    .map_err(|e| self.err(key.span(), format!("trusted_keys[{i}]: {e}")))
            })
            .collect()
    }
}
