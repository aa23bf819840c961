//! `PointCloudView::from_cdr` on arbitrary bytes. When it accepts a cloud,
//! every element of every field of every point is read through the field
//! readers (by iterator and by index), which must never panic and must agree;
//! the full `PointCloud2` decoder must accept the same bytes and agree too.
#![no_main]

use fusion_msgs::sensor_msgs::PointCloud2;
use fusion_msgs::{PointCloudView, PointFieldType, Scalar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(view) = PointCloudView::from_cdr(data) else {
        return;
    };
    let _ = format!("{view:?}");
    let len = view.len();
    assert_eq!(view.is_empty(), len == 0);

    // The owning decoder sees the same cloud.
    let full: PointCloud2 =
        fusion_msgs::decode(data).expect("from_cdr accepted a cloud that decode rejects");
    assert_eq!(view.stamp, full.header.stamp);
    assert_eq!(view.frame_id, full.header.frame_id);
    assert_eq!(
        (view.height, view.width, view.point_step, view.row_step),
        (full.height, full.width, full.point_step, full.row_step)
    );
    assert_eq!(
        (view.is_bigendian, view.is_dense),
        (full.is_bigendian, full.is_dense)
    );
    assert_eq!(view.data(), &full.data[..]);
    assert_eq!(view.fields().len(), full.fields.len());
    for (a, b) in view.fields().iter().zip(&full.fields) {
        assert_eq!(
            (a.name, a.offset, a.datatype, a.count),
            (b.name.as_str(), b.offset, b.datatype, b.count)
        );
    }

    // Whole points: the first, the last, and none past the end.
    if len > 0 {
        for i in [0, len / 2, len - 1] {
            let p = view.point_bytes(i).expect("index below len");
            assert_eq!(p.len(), view.point_step as usize);
        }
    }
    assert!(view.point_bytes(len).is_none());

    for field in view.fields() {
        let ty = PointFieldType::from_datatype(field.datatype)
            .expect("from_cdr checks every datatype");
        assert!(ty.size() > 0);
        // Readers find the first field of that name holding the element, so
        // with duplicate names this reads that field: still every element
        // of some field, and must not panic.
        // With points, `count x size <= point_step <= data.len()` bounds
        // this loop; without points (height or width 0) the data is not
        // checked and `count` may be ~2^32, so try the first and last only.
        let elements = field.count.max(1);
        let all: Vec<u32> = if len > 0 {
            (0..elements).collect()
        } else {
            vec![0, elements - 1]
        };
        for element in all {
            let reader = view
                .element_reader::<f64>(field.name, element)
                .expect("the field exists and holds this element");
            assert_eq!(reader.len(), len);
            assert!(reader.get(len).is_none());
            let by_index: Vec<u64> = (0..len)
                .map(|i| reader.get(i).expect("index below len").to_bits())
                .collect();
            // External iteration (`next`).
            let mut it = reader.iter();
            check_hint(&it, len);
            let mut by_next = Vec::with_capacity(len);
            while let Some(v) = it.next() {
                by_next.push(v.to_bits());
                check_hint(&it, len - by_next.len());
            }
            assert_eq!(by_next, by_index, "iter().next() differs from get()");
            // Internal iteration (`fold`, behind for_each / count / sum).
            let mut by_fold = Vec::with_capacity(len);
            reader.iter().for_each(|v| by_fold.push(v.to_bits()));
            assert_eq!(by_fold, by_index, "iter().for_each() differs from get()");
            // `fold` resumed part-way through a row.
            let skip = len / 3 + usize::from(len > 1);
            let mut it = reader.iter();
            for _ in 0..skip.min(len) {
                it.next();
            }
            let rest: Vec<u64> = it.fold(Vec::new(), |mut acc, v| {
                acc.push(v.to_bits());
                acc
            });
            assert_eq!(rest, by_index[skip.min(len)..], "fold after next differs");
        }
        // Element 0 through `reader` in every scalar type.
        read_all::<f32>(&view, field.name, len);
        read_all::<i8>(&view, field.name, len);
        read_all::<u8>(&view, field.name, len);
        read_all::<i16>(&view, field.name, len);
        read_all::<u16>(&view, field.name, len);
        read_all::<i32>(&view, field.name, len);
        read_all::<u32>(&view, field.name, len);
        read_all::<i64>(&view, field.name, len);
        read_all::<u64>(&view, field.name, len);
    }
    // A name no field has.
    if view.fields().iter().all(|f| f.name != "\u{1}no such field") {
        assert!(view.reader::<f32>("\u{1}no such field").is_err());
    }
});

fn read_all<T: Scalar>(view: &PointCloudView<'_>, name: &str, len: usize) {
    let reader = view.reader::<T>(name).expect("the field exists");
    assert_eq!(reader.iter().count(), len);
    if len > 0 {
        let _ = reader.get(len - 1).expect("index below len");
    }
}

/// The iterator's size hint brackets the items left (and so equals it when
/// the hint is exact, as an `ExactSizeIterator`'s must be).
fn check_hint<I: Iterator>(it: &I, left: usize) {
    let (lo, hi) = it.size_hint();
    assert!(
        lo <= left && hi.is_none_or(|hi| left <= hi),
        "size_hint {:?} but {left} items left",
        (lo, hi)
    );
}
