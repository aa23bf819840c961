//! Writing clouds point by point.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::PointFieldType;
use crate::sensor_msgs::{PointCloud2, PointField};
use crate::std_msgs::Header;

/// Writes an unordered (height 1), little-endian, packed cloud point by point.
#[derive(Debug, Clone)]
pub struct PointCloudBuilder {
    fields: Vec<(PointField, PointFieldType)>,
    point_step: usize,
    data: Vec<u8>,
    is_dense: bool,
}

impl PointCloudBuilder {
    /// A builder for points with the given fields, laid out in order, each at
    /// its natural alignment (so `x y z intensity` as f32 is 16 bytes).
    pub fn new(layout: &[(&str, PointFieldType)]) -> Self {
        let mut offset = 0usize;
        let mut max_align = 1;
        let mut fields = Vec::with_capacity(layout.len());
        for &(name, ty) in layout {
            offset = offset.next_multiple_of(ty.size());
            max_align = max_align.max(ty.size());
            let field = PointField {
                name: name.to_string(),
                offset: offset as u32,
                datatype: ty.datatype(),
                count: 1,
            };
            fields.push((field, ty));
            offset += ty.size();
        }
        PointCloudBuilder {
            fields,
            point_step: offset.next_multiple_of(max_align),
            data: Vec::new(),
            is_dense: true,
        }
    }

    /// Reserves room for `points` more points.
    pub fn reserve(&mut self, points: usize) {
        self.data.reserve(points * self.point_step);
    }

    /// Bytes per point.
    pub fn point_step(&self) -> usize {
        self.point_step
    }

    /// Appends one point; `values` holds one value per field, in layout order.
    ///
    /// # Panics
    /// If `values` does not have one value per field.
    pub fn push(&mut self, values: &[f64]) {
        assert_eq!(values.len(), self.fields.len(), "one value per point field");
        let start = self.data.len();
        self.data.resize(start + self.point_step, 0);
        let point = &mut self.data[start..];
        for ((field, ty), &v) in self.fields.iter().zip(values) {
            self.is_dense &= !v.is_nan();
            ty.write(v, &mut point[field.offset as usize..]);
        }
    }

    /// Number of points pushed.
    pub fn len(&self) -> usize {
        self.data.len() / self.point_step.max(1)
    }

    /// True when no point was pushed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Finishes the cloud.
    pub fn build(self, header: Header) -> PointCloud2 {
        let width = self.len() as u32;
        PointCloud2 {
            header,
            height: 1,
            width,
            fields: self.fields.into_iter().map(|(f, _)| f).collect(),
            is_bigendian: false,
            point_step: self.point_step as u32,
            row_step: width * self.point_step as u32,
            data: self.data,
            is_dense: self.is_dense,
        }
    }
}
