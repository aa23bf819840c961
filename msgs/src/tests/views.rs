//! The zero-copy views read exactly what serde decodes, in both byte
//! orders, and refuse every truncation with an error.

use alloc::vec::Vec;

use proptest::prelude::*;

use crate::cdr::{self, Endianness};
use crate::radar_msgs::{RadarReturn, RadarScan};
use crate::vision_msgs::Detection2DArray;
use crate::{Detection2DArrayView, RadarScanView};

proptest! {
    #[test]
    fn radar_view_reads_what_serde_decodes(scan in any::<RadarScan>(), big in any::<bool>()) {
        let order = if big { Endianness::Big } else { Endianness::Little };
        let bytes = cdr::to_vec_with(&scan, order).unwrap();
        let view = RadarScanView::from_cdr(&bytes).unwrap();
        prop_assert_eq!(&view.stamp, &scan.header.stamp);
        prop_assert_eq!(view.frame_id, scan.header.frame_id.as_str());
        prop_assert_eq!(view.len(), scan.returns.len());
        let returns: Vec<RadarReturn> = view.iter().collect();
        // Debug compares NaN bit for bit where PartialEq would not.
        prop_assert_eq!(alloc::format!("{returns:?}"), alloc::format!("{:?}", scan.returns));
        for cut in 0..bytes.len().saturating_sub(3) {
            prop_assert!(RadarScanView::from_cdr(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
    }

    #[test]
    fn detections_view_reads_what_serde_decodes(
        array in any::<Detection2DArray>(),
        big in any::<bool>(),
    ) {
        let order = if big { Endianness::Big } else { Endianness::Little };
        let bytes = cdr::to_vec_with(&array, order).unwrap();
        let view = Detection2DArrayView::from_cdr(&bytes).unwrap();
        prop_assert_eq!(&view.stamp, &array.header.stamp);
        prop_assert_eq!(view.frame_id, array.header.frame_id.as_str());
        prop_assert_eq!(view.len(), array.detections.len());
        for (seen, want) in view.iter().zip(&array.detections) {
            prop_assert_eq!(&seen.stamp, &want.header.stamp);
            prop_assert_eq!(seen.frame_id, want.header.frame_id.as_str());
            prop_assert_eq!(alloc::format!("{:?}", seen.bbox), alloc::format!("{:?}", want.bbox));
            prop_assert_eq!(seen.id, want.id.as_str());
            let hypotheses: Vec<_> = seen
                .hypotheses()
                .map(|h| (h.class_id, h.score.to_bits()))
                .collect();
            let expected: Vec<_> = want
                .results
                .iter()
                .map(|r| (r.hypothesis.class_id.as_str(), r.hypothesis.score.to_bits()))
                .collect();
            prop_assert_eq!(hypotheses, expected);
        }
        for cut in 0..bytes.len().saturating_sub(7) {
            prop_assert!(Detection2DArrayView::from_cdr(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
    }
}
