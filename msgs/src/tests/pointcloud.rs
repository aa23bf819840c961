//! PointCloudView over clouds of any layout, and its refusals.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use crate::sensor_msgs::{PointCloud2, PointField};
use crate::std_msgs::Header;
use crate::{PointCloudBuilder, PointCloudError, PointCloudView, PointFieldType};

fn field(name: &str, offset: u32, datatype: u8) -> PointField {
    PointField {
        name: name.to_string(),
        offset,
        datatype,
        count: 1,
    }
}

#[test]
fn builder_and_view_agree_on_xyzi() {
    let mut b = PointCloudBuilder::new(&[
        ("x", PointFieldType::F32),
        ("y", PointFieldType::F32),
        ("z", PointFieldType::F32),
        ("intensity", PointFieldType::F32),
    ]);
    assert_eq!(b.point_step(), 16);
    for i in 0..100 {
        let f = f64::from(i);
        b.push(&[f, -f, f * 0.5, 255.0 - f]);
    }
    let header = Header {
        frame_id: "lidar_top".into(),
        ..Default::default()
    };
    let bytes = crate::encode(&b.build(header)).unwrap();
    let view = PointCloudView::from_cdr(&bytes).unwrap();
    assert_eq!(
        (view.len(), view.frame_id, view.point_step),
        (100, "lidar_top", 16)
    );
    let data_at = bytes.len() - 1 - view.data().len();
    assert_eq!(
        view.data().as_ptr(),
        bytes[data_at..].as_ptr(),
        "the view borrows the message bytes"
    );
    let y: Vec<f32> = view.reader::<f32>("y").unwrap().iter().collect();
    assert_eq!(y[7], -7.0);
    assert_eq!(
        view.reader::<f64>("intensity").unwrap().get(99),
        Some(156.0)
    );
    assert_eq!(view.reader::<f32>("x").unwrap().get(100), None);
    assert_eq!(
        view.reader::<f32>("ring").unwrap_err(),
        PointCloudError::NoSuchField("ring".into())
    );
}

#[test]
fn mixed_datatypes_big_endian_and_padded_rows() {
    // Two rows of two points; point: u16 ring @0, f64 t @8 (point_step 16);
    // row_step 40 leaves 8 bytes of padding after each row.
    let mut data = vec![0u8; 40 + 32];
    for (i, (ring, t)) in [(1u16, 0.5f64), (2, 1.5), (3, 2.5), (4, 3.5)]
        .into_iter()
        .enumerate()
    {
        let at = (i / 2) * 40 + (i % 2) * 16;
        data[at..at + 2].copy_from_slice(&ring.to_be_bytes());
        data[at + 8..at + 16].copy_from_slice(&t.to_be_bytes());
    }
    let cloud = PointCloud2 {
        height: 2,
        width: 2,
        fields: vec![
            field("ring", 0, PointField::UINT16),
            field("t", 8, PointField::FLOAT64),
        ],
        is_bigendian: true,
        point_step: 16,
        row_step: 40,
        data,
        ..Default::default()
    };
    let bytes = crate::encode(&cloud).unwrap();
    let view = PointCloudView::from_cdr(&bytes).unwrap();
    let rings: Vec<u32> = view.reader::<u32>("ring").unwrap().iter().collect();
    assert_eq!(rings, [1, 2, 3, 4]);
    let t = view.reader::<f64>("t").unwrap();
    assert_eq!((t.get(2), t.get(3)), (Some(2.5), Some(3.5)));
    // Mixed datatypes in one pass, across the row padding.
    let mut both = Vec::new();
    view.points::<f64, 2>(["t", "ring"])
        .unwrap()
        .for_each(|p| both.push(p));
    assert_eq!(both, [[0.5, 1.0], [1.5, 2.0], [2.5, 3.0], [3.5, 4.0]]);
    let reader = view.points::<f64, 2>(["t", "ring"]).unwrap();
    assert_eq!(reader.iter().len(), 4);
    assert_eq!(reader.iter().collect::<Vec<_>>(), both);
    // A cloud without fields has a zero point_step: nothing to read, no panic.
    let empty = PointCloud2 {
        height: 1,
        width: 5,
        ..Default::default()
    };
    let bytes = crate::encode(&empty).unwrap();
    let view = PointCloudView::from_cdr(&bytes).unwrap();
    assert_eq!(view.points::<f32, 0>([]).unwrap().iter().count(), 0);
}

fn cloud_with(fields: Vec<PointField>, point_step: u32, width: u32, data_len: usize) -> Vec<u8> {
    let cloud = PointCloud2 {
        height: 1,
        width,
        fields,
        point_step,
        row_step: point_step * width,
        data: vec![0; data_len],
        ..Default::default()
    };
    crate::encode(&cloud).unwrap()
}

#[test]
fn inconsistent_clouds_are_refused_with_a_reason() {
    let xyz = || vec![field("x", 0, 7), field("y", 4, 7), field("z", 8, 7)];
    let err = PointCloudView::from_cdr(&cloud_with(xyz(), 8, 4, 32)).unwrap_err();
    assert_eq!(
        err,
        PointCloudError::FieldOutsidePoint {
            field: "z".into(),
            end: 12,
            point_step: 8
        }
    );

    let err = PointCloudView::from_cdr(&cloud_with(xyz(), 12, 4, 47)).unwrap_err();
    assert_eq!(
        err,
        PointCloudError::DataTooShort {
            len: 47,
            needed: 48
        }
    );

    let err = PointCloudView::from_cdr(&cloud_with(vec![field("x", 0, 9)], 4, 1, 4)).unwrap_err();
    assert_eq!(
        err,
        PointCloudError::UnknownDatatype {
            field: "x".into(),
            datatype: 9
        }
    );

    let many = (0..40).map(|i| field("f", i, 2)).collect();
    assert_eq!(
        PointCloudView::from_cdr(&cloud_with(many, 40, 1, 40)).unwrap_err(),
        PointCloudError::TooManyFields
    );

    let mut short_rows = PointCloud2 {
        height: 2,
        width: 4,
        point_step: 4,
        row_step: 8,
        ..Default::default()
    };
    short_rows.data = vec![0; 64];
    let err = PointCloudView::from_cdr(&crate::encode(&short_rows).unwrap()).unwrap_err();
    assert_eq!(
        err,
        PointCloudError::RowTooShort {
            row_step: 8,
            needed: 16
        }
    );

    // width x point_step overflowing u32 arithmetic is caught, not wrapped.
    let huge = cloud_with(vec![field("x", 0, 7)], 4, 0, 0);
    let mut huge = huge;
    let width_at = 4 + 16 + 4; // header(8) + frame_id(len 4 + NUL, padded to 16), height
    huge[width_at..width_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        PointCloudView::from_cdr(&huge).unwrap_err(),
        PointCloudError::RowTooShort { .. }
    ));
}

proptest! {
    /// Any layout the builder makes reads back through the view.
    #[test]
    fn any_layout_reads_back(
        types in proptest::collection::vec(0u8..8, 1..6),
        points in proptest::collection::vec(proptest::collection::vec(-100i32..100, 6), 0..40),
    ) {
        let tys: Vec<PointFieldType> = types.iter().map(|&t| PointFieldType::from_datatype(t + 1).unwrap()).collect();
        let names: Vec<alloc::string::String> = (0..tys.len()).map(|i| alloc::format!("f{i}")).collect();
        let layout: Vec<(&str, PointFieldType)> = names.iter().map(|n| n.as_str()).zip(tys.iter().copied()).collect();
        let mut b = PointCloudBuilder::new(&layout);
        for p in &points {
            let values: Vec<f64> = p[..tys.len()].iter().map(|&v| f64::from(v.unsigned_abs() % 100)).collect();
            b.push(&values);
        }
        let bytes = crate::encode(&b.build(Header::default())).unwrap();
        let view = PointCloudView::from_cdr(&bytes).unwrap();
        prop_assert_eq!(view.len(), points.len());
        for (k, name) in names.iter().enumerate() {
            let got: Vec<f64> = view.reader::<f64>(name).unwrap().iter().collect();
            let want: Vec<f64> = points.iter().map(|p| f64::from(p[k].unsigned_abs() % 100)).collect();
            prop_assert_eq!(got, want);
        }
    }
}

proptest! {
    /// `next_block` yields exactly what the iterator yields, in blocks,
    /// for the strides it specialises (12, 16, 32), for x not at offset 0,
    /// for other datatypes, and across row padding.
    #[test]
    fn blocks_hold_the_points_the_iterator_yields(
        layout in 0usize..5,
        width in 0u32..40,
        height in 1u32..4,
        padding in prop_oneof![Just(0u32), 1u32..9],
    ) {
        // (point_step, offset of x, datatype)
        let (step, x_at, datatype) = [
            (12, 0, PointField::FLOAT32),
            (16, 0, PointField::FLOAT32),
            (32, 0, PointField::FLOAT32),
            (16, 4, PointField::FLOAT32),
            (24, 0, PointField::FLOAT64),
        ][layout];
        let size = if datatype == PointField::FLOAT64 { 8 } else { 4 };
        let row_step = width * step + padding;
        let mut data = vec![0xeeu8; (row_step * height) as usize];
        for row in 0..height {
            for col in 0..width {
                let at = (row * row_step + col * step + x_at) as usize;
                let i = f64::from(row * width + col);
                for (k, v) in [i, -i, 0.5 * i].into_iter().enumerate() {
                    let at = at + size as usize * k;
                    if datatype == PointField::FLOAT64 {
                        data[at..at + 8].copy_from_slice(&v.to_le_bytes());
                    } else {
                        data[at..at + 4].copy_from_slice(&(v as f32).to_le_bytes());
                    }
                }
            }
        }
        let fields = ["x", "y", "z"]
            .iter()
            .enumerate()
            .map(|(k, name)| field(name, x_at + size * k as u32, datatype))
            .collect();
        let cloud = PointCloud2 {
            height,
            width,
            fields,
            point_step: step,
            row_step,
            data,
            ..Default::default()
        };
        let bytes = crate::encode(&cloud).unwrap();
        let view = PointCloudView::from_cdr(&bytes).unwrap();
        let reader = view.points::<f32, 3>(["x", "y", "z"]).unwrap();
        let want: Vec<[f32; 3]> = reader.iter().collect();
        prop_assert_eq!(want.len() as u32, width * height);
        let mut got = Vec::new();
        let mut points = reader.iter();
        let mut block = [[f32::NAN; 8]; 3];
        loop {
            let n = points.next_block(&mut block);
            got.extend((0..n).map(|i| [block[0][i], block[1][i], block[2][i]]));
            if n < 8 {
                break;
            }
        }
        prop_assert_eq!(got, want);
    }
}
