//! Oracles shared by the fuzz targets of `fusion-msgs`.

use std::fmt::Debug;

use fusion_msgs::Message;
use fusion_msgs::cdr::{self, Endianness};

/// Decodes `data` as `M`; when that succeeds, checks that the value survives
/// re-encoding in both byte orders and decoding again.
///
/// Values are compared by their `Debug` text, which tells NaN payloads and
/// `-0.0` apart where `PartialEq` would not.
pub fn roundtrip<M: Message + Debug>(data: &[u8]) {
    let Ok(first) = fusion_msgs::decode::<M>(data) else {
        return;
    };
    let name = M::TYPE_NAME;
    let first_text = format!("{first:?}");

    let bytes = fusion_msgs::encode(&first)
        .unwrap_or_else(|e| panic!("{name}: a decoded value does not encode: {e}"));
    let second = fusion_msgs::decode::<M>(&bytes)
        .unwrap_or_else(|e| panic!("{name}: our own encoding does not decode: {e}"));
    assert_eq!(
        first_text,
        format!("{second:?}"),
        "{name}: value changed across encode + decode (little-endian)"
    );
    // Encoding a decoded value again gives the same bytes: a fixed point.
    assert_eq!(
        fusion_msgs::encode(&second).expect("encoded once already"),
        bytes,
        "{name}: re-encoding is not stable"
    );

    let big = cdr::to_vec_with(&first, Endianness::Big)
        .unwrap_or_else(|e| panic!("{name}: a decoded value does not encode big-endian: {e}"));
    let third = fusion_msgs::decode::<M>(&big)
        .unwrap_or_else(|e| panic!("{name}: our own big-endian encoding does not decode: {e}"));
    assert_eq!(
        first_text,
        format!("{third:?}"),
        "{name}: value changed across encode + decode (big-endian)"
    );
}
