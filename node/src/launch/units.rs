//! Human-readable quantities in launch files: durations ("20ms", "1.5s")
//! and memory sizes ("128MiB"). Both are strings with a unit, so a bare
//! number can never be misread in the wrong unit.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A duration written as a decimal number and a unit: `ns`, `us` (or
/// `µs`), `ms` or `s`, e.g. `"20ms"`, `"1.5s"`, `"250 us"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HumanDuration(pub Duration);

/// A memory size written as an integer and a binary unit: `B`, `KiB`,
/// `MiB` or `GiB`, e.g. `"128MiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByteSize(pub u64);

const DURATION_UNITS: [(&str, u128); 5] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
];
const SIZE_UNITS: [(&str, u128); 4] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// Parses a duration; the error says what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let hint = "a duration is a string like \"20ms\" (units: ns, us, ms, s)";
    let (number, unit) = split(text).ok_or_else(|| format!("`{text}` is not {hint}"))?;
    let scale = lookup(&DURATION_UNITS, unit)
        .ok_or_else(|| format!("unknown unit `{unit}` in `{text}`: {hint}"))?;
    let ns = decimal_times(number, scale)
        .ok_or_else(|| format!("`{text}` is not a whole number of nanoseconds in range"))?;
    u64::try_from(ns)
        .map(Duration::from_nanos)
        .map_err(|_| format!("`{text}` is too long"))
}

/// Parses a memory size; the error says what is wrong with `text`.
pub(super) fn parse_size(text: &str) -> Result<u64, String> {
    let hint = "a memory size is a string like \"128MiB\" (units: B, KiB, MiB, GiB)";
    let (number, unit) = split(text).ok_or_else(|| format!("`{text}` is not {hint}"))?;
    let scale = lookup(&SIZE_UNITS, unit)
        .ok_or_else(|| format!("unknown unit `{unit}` in `{text}`: {hint}"))?;
    decimal_times(number, scale)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| format!("`{text}` is not a whole number of bytes in range"))
}

/// Formats a duration in the largest unit that states it exactly.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let (name, scale) = [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)]
        .into_iter()
        .find(|(_, scale)| ns.is_multiple_of(*scale) && ns > 0)
        .unwrap_or(("ns", 1));
    format!("{}{name}", ns / scale)
}

/// Formats a size in the largest binary unit that states it exactly.
pub fn format_size(bytes: u64) -> String {
    let (name, scale) = SIZE_UNITS
        .iter()
        .rev()
        .find(|(_, scale)| u128::from(bytes).is_multiple_of(*scale) && bytes > 0)
        .copied()
        .unwrap_or(("B", 1));
    format!("{}{name}", u128::from(bytes) / scale)
}

/// "12.5 ms" -> ("12.5", "ms").
fn split(text: &str) -> Option<(&str, &str)> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    (!number.is_empty()).then_some((number, unit.trim_start()))
}

fn lookup(units: &[(&str, u128)], unit: &str) -> Option<u128> {
    units
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, s)| *s)
}

/// `number` (decimal digits with at most one point) times `scale`, if that
/// is a whole number that fits.
fn decimal_times(number: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 18 {
        return None;
    }
    let digits = |s: &str| -> Option<u128> {
        if s.is_empty() {
            Some(0)
        } else {
            s.parse().ok()
        }
    };
    let whole = digits(whole)?.checked_mul(scale)?;
    let denominator = 10u128.pow(frac.len() as u32);
    let frac = digits(frac)?.checked_mul(scale)?;
    (frac % denominator == 0).then_some(())?;
    whole.checked_add(frac / denominator)
}

struct StrVisitor<F>(&'static str, F);

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for StrVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Err(E::custom(format!("{v} has no unit: write {}", self.0)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Err(E::custom(format!("{v} has no unit: write {}", self.0)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!("{v} has no unit: write {}", self.0)))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor("a duration string like \"20ms\"", |s: &str| {
            parse_duration(s).map(HumanDuration)
        }))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor("a size string like \"128MiB\"", |s: &str| {
            parse_size(s).map(ByteSize)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("20ms"), Ok(ms(20)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration(" 250 us "), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("3µs"), Ok(Duration::from_micros(3)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
        for bad in [
            "",
            "ms",
            "20",
            "20 m",
            "1.5ns",
            "1..5s",
            "-3ms",
            "1e3ms",
            "99999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(ms(20)), "20ms");
        assert_eq!(format_duration(ms(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert_eq!(parse_size("4096B"), Ok(4096));
        for bad in ["128", "128MB", "0.3B", "MiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_size(128 << 20), "128MiB");
        assert_eq!(format_size(1536), "1536B");
    }
}
