//! Camera association: project each 3D box into each camera and match the
//! camera's 2D detections by IoU, to give boxes a class.

use crate::geometry::MinMax;
use alloc::vec::Vec;

use fusion_msgs::autoware_perception_msgs::ObjectClassification as Class;
use fusion_msgs::{Detection2DArrayView, Detection2DView};
use nalgebra::Vector3;

use crate::assignment::Assignment;
use crate::detection::{Detection, source};
use crate::geometry::{Camera, Rect};
use crate::params::Params;

/// Maps a detector's class name to an Autoware label.
pub fn label_of(class_id: &str) -> u8 {
    match class_id {
        "car" | "vehicle" => Class::CAR,
        "truck" => Class::TRUCK,
        "bus" => Class::BUS,
        "trailer" => Class::TRAILER,
        "motorcycle" | "motorbike" => Class::MOTORCYCLE,
        "bicycle" | "cyclist" | "bike" => Class::BICYCLE,
        "pedestrian" | "person" => Class::PEDESTRIAN,
        "animal" => Class::ANIMAL,
        _ => Class::UNKNOWN,
    }
}

/// Typical (length, width, height) of a class, to complete boxes the
/// sensor sees only part of.
pub fn prior_dimensions(label: u8) -> Option<(f64, f64, f64)> {
    match label {
        Class::CAR => Some((4.5, 1.9, 1.6)),
        Class::TRUCK => Some((8.0, 2.5, 3.2)),
        Class::BUS => Some((12.0, 2.6, 3.2)),
        Class::TRAILER => Some((10.0, 2.5, 3.5)),
        Class::MOTORCYCLE | Class::BICYCLE => Some((1.8, 0.7, 1.7)),
        Class::PEDESTRIAN => Some((0.6, 0.6, 1.7)),
        _ => None,
    }
}

/// The camera matcher with its reusable buffers.
pub struct CameraMatcher {
    min_iou: f64,
    min_score: f64,
    assignment: Assignment,
    cost: Vec<f64>,
    projected: Vec<Option<Rect>>,
    /// This camera's detections: box and best usable hypothesis.
    seen: Vec<(Rect, Option<(u8, f32)>)>,
    pairs: Vec<Option<u16>>,
}

impl CameraMatcher {
    /// A matcher with the configured thresholds.
    pub fn new(p: &Params) -> Self {
        CameraMatcher {
            min_iou: p.camera_min_iou,
            min_score: p.camera_min_score,
            assignment: Assignment::new(),
            cost: Vec::new(),
            projected: Vec::new(),
            seen: Vec::new(),
            pairs: Vec::new(),
        }
    }

    /// Labels `detections` from one camera's 2D detections.
    pub fn apply(
        &mut self,
        camera: &Camera,
        frame: &Detection2DArrayView<'_>,
        detections: &mut [Detection],
    ) {
        let image = Rect {
            x0: 0.0,
            y0: 0.0,
            x1: camera.width,
            y1: camera.height,
        };
        self.projected.clear();
        self.projected
            .extend(detections.iter().map(|d| project_box(camera, d, &image)));
        // Each 2D detection is read once: its box and best hypothesis.
        let min_score = self.min_score;
        self.seen.clear();
        self.seen.extend(
            frame
                .iter()
                .map(|d| (rect_of(&d), best_hypothesis(&d, min_score))),
        );
        let (rows, cols) = (detections.len(), self.seen.len());
        if rows == 0 || cols == 0 {
            return;
        }
        self.cost.clear();
        for projected in &self.projected {
            for (rect2d, best) in &self.seen {
                let cost = match (projected, best) {
                    (Some(rect), Some(_)) => {
                        let iou = rect.iou(rect2d);
                        if iou >= self.min_iou {
                            1.0 - iou
                        } else {
                            f64::INFINITY
                        }
                    }
                    _ => f64::INFINITY,
                };
                self.cost.push(cost);
            }
        }
        self.pairs.clear();
        self.pairs.resize(rows, None);
        self.assignment
            .solve(rows, cols, &self.cost, &mut self.pairs);
        for (det, pair) in detections.iter_mut().zip(&self.pairs) {
            let Some(col) = pair else { continue };
            if let (_, Some((label, score))) = self.seen[usize::from(*col)] {
                // The most confident camera wins when several see the box.
                if score > det.label_probability {
                    det.label = label;
                    det.label_probability = score;
                }
                det.sources |= source::CAMERA;
            }
        }
    }
}

/// The highest-scoring hypothesis above `min_score` with a known class.
fn best_hypothesis(det: &Detection2DView<'_>, min_score: f64) -> Option<(u8, f32)> {
    let mut best: Option<(u8, f64)> = None;
    for h in det.hypotheses() {
        let (label, score) = (label_of(h.class_id), h.score);
        if label != Class::UNKNOWN
            && score.is_finite()
            && score >= min_score
            && best.is_none_or(|(_, s)| score > s)
        {
            best = Some((label, score));
        }
    }
    best.map(|(l, s)| (l, s.min1(1.0) as f32))
}

fn rect_of(det: &Detection2DView<'_>) -> Rect {
    let b = &det.bbox;
    let (cx, cy) = (b.center.position.x, b.center.position.y);
    Rect {
        x0: cx - b.size_x / 2.0,
        y0: cy - b.size_y / 2.0,
        x1: cx + b.size_x / 2.0,
        y1: cy + b.size_y / 2.0,
    }
}

/// The image rectangle around a box's projected corners, clipped to the
/// image; `None` when no corner is in front or the box is off-image.
fn project_box(camera: &Camera, d: &Detection, image: &Rect) -> Option<Rect> {
    let (sin, cos) = crate::geometry::sin_cos(d.yaw);
    let corners = CORNERS.map(|(sl, sw, sh)| {
        let (l, w) = (sl * d.length / 2.0, sw * d.width / 2.0);
        let corner = Vector3::new(
            d.x + l * cos - w * sin,
            d.y + l * sin + w * cos,
            d.z + sh * d.height / 2.0,
        );
        camera.extrinsics.invert(corner)
    });
    let mut rect = Rect {
        x0: f64::MAX,
        y0: f64::MAX,
        x1: f64::MIN,
        y1: f64::MIN,
    };
    let mut any = false;
    let mut extend = |p: Vector3<f64>| {
        if let Some((u, v)) = camera.project_optical(p) {
            any = true;
            rect = Rect {
                x0: rect.x0.min1(u),
                y0: rect.y0.min1(v),
                x1: rect.x1.max1(u),
                y1: rect.y1.max1(v),
            };
        }
    };
    corners.iter().for_each(|&c| extend(c));
    // A box reaching behind the camera (a car alongside) fills the image up
    // to where its edges cross the near plane, not just to its front corners.
    for (a, b) in EDGES {
        if let Some(p) = Camera::near_plane_crossing(corners[a], corners[b]) {
            extend(p);
        }
    }
    let clipped = Rect {
        x0: rect.x0.max1(image.x0),
        y0: rect.y0.max1(image.y0),
        x1: rect.x1.min1(image.x1),
        y1: rect.y1.min1(image.y1),
    };
    (any && clipped.area() > 0.0).then_some(clipped)
}

/// The 12 edges of a box, as pairs of indices into [`CORNERS`] (corners
/// that differ in exactly one sign).
const EDGES: [(usize, usize); 12] = [
    (0, 1),
    (2, 3),
    (4, 5),
    (6, 7),
    (0, 2),
    (1, 3),
    (4, 6),
    (5, 7),
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 7),
];

const CORNERS: [(f64, f64, f64); 8] = [
    (1.0, 1.0, 1.0),
    (1.0, -1.0, 1.0),
    (-1.0, 1.0, 1.0),
    (-1.0, -1.0, 1.0),
    (1.0, 1.0, -1.0),
    (1.0, -1.0, -1.0),
    (-1.0, 1.0, -1.0),
    (-1.0, -1.0, -1.0),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Extrinsics;
    use nalgebra::Matrix3;

    /// A camera at the origin looking along +x (optical z = vehicle x,
    /// optical x = -vehicle y, optical y = -vehicle z).
    fn forward_camera() -> Camera {
        let rotation = Matrix3::new(0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 0.0, -1.0, 0.0);
        Camera {
            extrinsics: Extrinsics {
                rotation,
                translation: Vector3::zeros(),
            },
            fx: 1000.0,
            fy: 1000.0,
            cx: 960.0,
            cy: 540.0,
            width: 1920.0,
            height: 1080.0,
        }
    }

    fn image() -> Rect {
        Rect {
            x0: 0.0,
            y0: 0.0,
            x1: 1920.0,
            y1: 1080.0,
        }
    }

    #[test]
    fn a_box_ahead_projects_around_the_principal_point() {
        let d = Detection {
            x: 20.0,
            length: 4.0,
            width: 2.0,
            height: 2.0,
            ..Detection::default()
        };
        let r = project_box(&forward_camera(), &d, &image()).unwrap();
        // Nearest face at 18 m: +-1 m -> +-55.6 px around the centre.
        assert!((r.x0 - (960.0 - 1000.0 / 18.0)).abs() < 1e-6, "{r:?}");
        assert!((r.x1 - (960.0 + 1000.0 / 18.0)).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn a_box_alongside_reaches_the_image_border() {
        // From 3 m behind to 5 m ahead of the camera, 0.5 to 2.5 m to the
        // left: its front corners alone span only u in [460, 860].
        let d = Detection {
            x: 1.0,
            y: 1.5,
            length: 8.0,
            width: 2.0,
            height: 1.5,
            ..Detection::default()
        };
        let r = project_box(&forward_camera(), &d, &image()).unwrap();
        assert_eq!(r.x0, 0.0, "the box fills the left of the image: {r:?}");
        assert!(project_box(&forward_camera(), &Detection { x: -10.0, ..d }, &image()).is_none());
    }
}
