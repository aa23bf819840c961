//! Golden vectors from an independent implementation (PyPI `rosbags`, see
//! `tests/oracle/cdr_oracle.py`): we must decode its bytes to the same
//! values and encode those values to the same bytes, in both byte orders.

use std::collections::BTreeSet;

use fusion_msgs::Message;
use fusion_msgs::cdr::{self, Endianness};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    #[serde(rename = "type")]
    type_name: String,
    value: serde_json::Value,
    cdr_le: String,
    cdr_be: String,
}

#[derive(Deserialize)]
struct Golden {
    vectors: Vec<Vector>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check<M: Message + std::fmt::Debug>(v: &Vector) {
    let ctx = &v.type_name;
    let expected: M =
        serde_json::from_value(v.value.clone()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let (le, be) = (hex(&v.cdr_le), hex(&v.cdr_be));

    assert_eq!(
        fusion_msgs::encode(&expected).unwrap(),
        le,
        "{ctx}: little-endian bytes"
    );
    assert_eq!(
        cdr::to_vec_with(&expected, Endianness::Big).unwrap(),
        be,
        "{ctx}: big-endian bytes"
    );

    let from_le: M = fusion_msgs::decode(&le).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let from_be: M = fusion_msgs::decode(&be).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    // Debug, not PartialEq: -0.0 == 0.0 would hide a sign error.
    assert_eq!(
        format!("{from_le:?}"),
        format!("{expected:?}"),
        "{ctx}: decoded little-endian value"
    );
    assert_eq!(
        format!("{from_be:?}"),
        format!("{expected:?}"),
        "{ctx}: decoded big-endian value"
    );
}

macro_rules! dispatch {
    ($($ty:path),* $(,)?) => {
        fn check_vector(v: &Vector) -> bool {
            $(if v.type_name == <$ty as Message>::TYPE_NAME { check::<$ty>(v); return true; })*
            false
        }
    };
}
fusion_msgs::for_all_messages!(dispatch);

#[test]
fn rosbags_golden_vectors_round_trip_byte_exact() {
    let text = include_str!("golden/vectors.json");
    let golden: Golden = serde_json::from_str(text).unwrap();
    let mut covered = BTreeSet::new();
    for v in &golden.vectors {
        assert!(
            check_vector(v),
            "golden vector of unknown type {}",
            v.type_name
        );
        covered.insert(v.type_name.as_str());
    }
    let all: BTreeSet<&str> = fusion_msgs::ALL_TYPES.iter().map(|t| t.name).collect();
    assert_eq!(covered, all, "every shipped type has golden vectors");
}
