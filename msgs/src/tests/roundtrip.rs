//! Property tests: every type round-trips through our codec in both byte
//! orders, and the independent `cdr` crate agrees with our bytes.

extern crate std;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Debug;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::Message;
use crate::cdr::{self, Endianness};

fn roundtrip<M: Message + Debug>(value: &M) -> Result<(), TestCaseError> {
    for endianness in [Endianness::Little, Endianness::Big] {
        let bytes = cdr::to_vec_with(value, endianness).unwrap();
        let back: M = crate::decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        // Debug compares NaN and -0.0 bit for bit where PartialEq would not.
        prop_assert_eq!(format!("{back:?}"), format!("{value:?}"));
        prop_assert_eq!(cdr::to_vec_with(&back, endianness).unwrap(), bytes);
    }
    Ok(())
}

/// The `cdr` crate is an independent serde CDR implementation: it must
/// produce our exact little-endian bytes and decode them to the same value.
fn agrees_with_cdr_crate<M: Message + Debug>(value: &M) -> Result<(), TestCaseError> {
    let ours = crate::encode(value).unwrap();
    let theirs = ::cdr::serialize::<_, _, ::cdr::CdrLe>(value, ::cdr::Infinite).unwrap();
    prop_assert_eq!(&ours, &theirs);
    let decoded: M = ::cdr::deserialize(&ours).unwrap();
    prop_assert_eq!(format!("{decoded:?}"), format!("{value:?}"));
    Ok(())
}

/// Runs `property` on `cases` arbitrary values of `M`, naming the type on
/// failure.
fn check<M: Message + Arbitrary + Debug>(
    cases: u32,
    property: fn(&M) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner
        .run(&any::<M>(), |v| property(&v))
        .unwrap_or_else(|e| panic!("{}: {e}", M::TYPE_NAME));
}

macro_rules! property_tests {
    ($($ty:path),* $(,)?) => {
        #[test]
        fn every_type_roundtrips_in_both_byte_orders() {
            $(check::<$ty>(64, roundtrip);)*
        }

        #[test]
        fn every_type_agrees_with_the_cdr_crate() {
            $(check::<$ty>(32, agrees_with_cdr_crate);)*
        }

        /// With `FUSION_ORACLE_OUT=path`, writes seeded values of every type
        /// and our encoding of them as JSON lines for the Python oracle
        /// (`tests/oracle/cdr_oracle.py check-ours`) to decode.
        #[test]
        fn dump_encodings_for_the_python_oracle() {
            let Some(path) = std::env::var_os("FUSION_ORACLE_OUT") else { return };
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                TestRng::deterministic_rng(RngAlgorithm::ChaCha),
            );
            let mut lines = String::new();
            $(
                for _ in 0..16 {
                    let value = any::<$ty>().new_tree(&mut runner).unwrap().current();
                    lines.push_str(&oracle_line(&value));
                }
            )*
            std::fs::write(path, lines).unwrap();
        }
    };
}
for_all_messages!(property_tests);

fn oracle_line<M: Message>(value: &M) -> String {
    let hex: String = crate::encode(value)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let json = serde_json::json!({
        "type": M::TYPE_NAME,
        "schema": M::FULL_DEFINITION,
        "value": value,
        "cdr": hex,
    });
    format!("{json}\n")
}

#[test]
fn non_finite_floats_roundtrip_bit_exact() {
    use crate::geometry_msgs::{Point, Vector3};
    for v in [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN_POSITIVE / 2.0,
    ] {
        let p = Point { x: v, y: -v, z: v };
        let back: Point = crate::decode(&crate::encode(&p).unwrap()).unwrap();
        assert_eq!(
            [back.x.to_bits(), back.y.to_bits()],
            [p.x.to_bits(), p.y.to_bits()]
        );
    }
    let q = Vector3 {
        x: f64::NAN,
        ..Vector3::default()
    };
    assert!(
        crate::decode::<Vector3>(&crate::encode(&q).unwrap())
            .unwrap()
            .x
            .is_nan()
    );
}

#[test]
fn encode_into_reuses_the_buffer() {
    let header = crate::std_msgs::Header {
        frame_id: "base_link".into(),
        ..Default::default()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let ptr = buf.as_ptr();
    for _ in 0..3 {
        cdr::encode_into(&header, Endianness::Little, &mut buf).unwrap();
    }
    assert_eq!(buf, crate::encode(&header).unwrap());
    assert_eq!(
        buf.as_ptr(),
        ptr,
        "no reallocation once the buffer is large enough"
    );
}

#[test]
fn header_layout_matches_ros2_by_hand() {
    // stamp {sec: 1, nanosec: 2}, frame_id "ab": 00 01 00 00 | 01 00 00 00 |
    // 02 00 00 00 | 03 00 00 00 | 'a' 'b' 00
    let header = crate::std_msgs::Header {
        stamp: crate::builtin_interfaces::Time { sec: 1, nanosec: 2 },
        frame_id: "ab".into(),
    };
    assert_eq!(
        crate::encode(&header).unwrap(),
        [
            0, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, b'a', b'b', 0
        ]
    );
}

#[test]
fn constants_of_the_msg_files_are_consts() {
    use crate::autoware_perception_msgs::{ObjectClassification, Shape, TrackedObjectKinematics};
    use crate::diagnostic_msgs::DiagnosticStatus;
    use crate::sensor_msgs::PointField;
    use crate::visualization_msgs::Marker;
    assert_eq!((PointField::INT8, PointField::FLOAT64), (1, 8));
    assert_eq!(
        (ObjectClassification::CAR, ObjectClassification::PEDESTRIAN),
        (1, 7)
    );
    assert_eq!((Shape::BOUNDING_BOX, Shape::POLYGON), (0, 2));
    assert_eq!(TrackedObjectKinematics::AVAILABLE, 2);
    assert_eq!((DiagnosticStatus::OK, DiagnosticStatus::STALE), (0u8, 3u8));
    assert_eq!((Marker::CUBE, Marker::DELETEALL), (1i32, 3i32));
    // A field default from the .msg file: `float64 w 1`.
    assert_eq!(crate::geometry_msgs::Quaternion::default().w, 1.0);
}
