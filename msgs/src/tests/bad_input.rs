//! Hostile bytes give typed errors, never a panic or a huge allocation.

use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use crate::cdr::CdrError;
use crate::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use crate::std_msgs::Header;
use crate::vision_msgs::Detection2DArray;

fn sample_status() -> DiagnosticArray {
    DiagnosticArray {
        header: Header {
            frame_id: "node".into(),
            ..Default::default()
        },
        status: vec![DiagnosticStatus {
            level: DiagnosticStatus::WARN,
            name: "lidar".into(),
            message: "late".into(),
            hardware_id: "hw".into(),
            values: vec![KeyValue {
                key: "age_ms".into(),
                value: "12".into(),
            }],
        }],
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = crate::encode(&sample_status()).unwrap();
    for cut in 0..bytes.len() {
        let err = crate::decode::<DiagnosticArray>(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(
                err,
                CdrError::Truncated { .. } | CdrError::LengthPastEnd { .. }
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn wrong_encapsulation_header_is_refused() {
    let mut bytes = crate::encode(&sample_status()).unwrap();
    bytes[1] = 0x07; // XCDR2, which ROS 2 Humble does not send
    assert_eq!(
        crate::decode::<DiagnosticArray>(&bytes),
        Err(CdrError::UnsupportedEncapsulation([0, 7]))
    );
    bytes[0] = 0x01;
    bytes[1] = 0x00;
    assert!(matches!(
        crate::decode::<DiagnosticArray>(&bytes),
        Err(CdrError::UnsupportedEncapsulation(_))
    ));
}

/// Overwrites the u32 at body offset `at` (after the 4-byte header).
fn poke_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[4 + at..4 + at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn sequence_length_of_two_to_the_31_is_refused_before_allocating() {
    let mut bytes = crate::encode(&sample_status()).unwrap();
    // Header: sec, nanosec, frame_id (4 + 5 bytes "node\0") -> status count at 20.
    poke_u32(&mut bytes, 20, 1 << 31);
    let err = crate::decode::<DiagnosticArray>(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            CdrError::LengthPastEnd {
                offset: 20,
                len: 0x8000_0000,
                ..
            }
        ),
        "{err:?}"
    );
    // A string length past the end as well.
    let mut bytes = crate::encode(&sample_status()).unwrap();
    poke_u32(&mut bytes, 8, u32::MAX);
    assert!(matches!(
        crate::decode::<DiagnosticArray>(&bytes),
        Err(CdrError::LengthPastEnd { offset: 8, .. })
    ));
}

#[test]
fn invalid_utf8_and_missing_nul_are_refused() {
    let good = crate::encode(&sample_status()).unwrap();
    let at = 4 + 12; // first byte of "node"
    let mut bad_utf8 = good.clone();
    bad_utf8[at] = 0xff;
    assert_eq!(
        crate::decode::<DiagnosticArray>(&bad_utf8),
        Err(CdrError::InvalidUtf8 { offset: 12 })
    );
    let mut no_nul = good.clone();
    no_nul[at + 4] = b'!';
    assert_eq!(
        crate::decode::<DiagnosticArray>(&no_nul),
        Err(CdrError::MissingNul { offset: 12 })
    );
}

#[test]
fn bool_other_than_zero_or_one_is_refused() {
    let cloud = crate::sensor_msgs::PointCloud2::default();
    let mut bytes = crate::encode(&cloud).unwrap();
    // stamp 8, frame_id 5 (len + NUL) -> 13, pad to 16, height, width, fields
    // count -> 28: is_bigendian.
    assert_eq!(bytes[4 + 28], 0);
    bytes[4 + 28] = 2;
    assert_eq!(
        crate::decode::<crate::sensor_msgs::PointCloud2>(&bytes),
        Err(CdrError::InvalidBool {
            offset: 28,
            value: 2
        })
    );
}

#[test]
fn trailing_padding_is_accepted_but_trailing_garbage_is_not() {
    let mut bytes = crate::encode(&sample_status()).unwrap();
    bytes.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        crate::decode::<DiagnosticArray>(&bytes).unwrap(),
        sample_status()
    );
    bytes.push(0);
    assert_eq!(
        crate::decode::<DiagnosticArray>(&bytes),
        Err(CdrError::TrailingBytes { count: 4 })
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random bytes behind a valid header: any outcome but a panic.
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes: Vec<u8> = vec![0, 1, 0, 0];
        bytes.extend_from_slice(&body);
        let _ = crate::decode::<Detection2DArray>(&bytes);
        let _ = crate::decode::<DiagnosticArray>(&bytes);
        let _ = crate::decode::<crate::autoware_perception_msgs::TrackedObjects>(&bytes);
        let _ = crate::PointCloudView::from_cdr(&bytes);
    }

    /// Single-byte corruptions of a valid message: any outcome but a panic.
    #[test]
    fn corrupted_messages_never_panic(at in 0usize..200, byte in any::<u8>()) {
        let mut bytes = crate::encode(&sample_status()).unwrap();
        let at = at % bytes.len();
        bytes[at] = byte;
        let _ = crate::decode::<DiagnosticArray>(&bytes);
    }
}
