//! A camera object detector: actor boxes projected through a pinhole, with
//! pixel noise, misses and false positives.

use fusion_msgs::fusion_interfaces::SensorConfig;
use fusion_msgs::std_msgs::Header;
use fusion_msgs::vision_msgs::{
    BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesis, ObjectHypothesisWithPose,
    Point2D, Pose2D,
};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Poisson, StandardNormal};

use crate::actors::{Scene, class_name};
use crate::geom::{Isometry, Vec3};
use crate::{header, rig};

/// Points nearer than this in front of the camera do not project (m).
pub const MIN_DEPTH: f64 = 0.1;

/// Class names false positives are drawn from.
const FALSE_POSITIVE_CLASSES: [&str; 6] =
    ["car", "truck", "bus", "pedestrian", "bicycle", "motorcycle"];

/// The behaviour of the 2D detector running on a camera.
///
/// Each actor whose centre is within `max_range` and whose projected box
/// is at least `min_box_px` on both sides is detected unless missed (with
/// `miss_probability`), as the clipped image rectangle around its box with
/// Gaussian noise on each edge, one hypothesis of its class name and a
/// score uniform in [0.6, 0.95]. A Poisson number of false positives
/// (mean `false_positive_mean`) with random boxes and classes, scored
/// 0.6–0.8, is added. Occlusion is not modelled: an actor hidden behind
/// another is still detected. Detections carry no `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraModel {
    /// Standard deviation of each box edge's noise (px).
    pub pixel_sigma: f64,
    /// Probability that a visible actor is not detected.
    pub miss_probability: f64,
    /// Mean number of false positives per image.
    pub false_positive_mean: f64,
    /// Smallest box side that is detected (px).
    pub min_box_px: f64,
    /// Actors farther than this are not detected (m).
    pub max_range: f64,
}

impl Default for CameraModel {
    /// 2 px noise, 5 % misses, 0.1 false positives an image, 4 px, 150 m.
    fn default() -> Self {
        CameraModel {
            pixel_sigma: 2.0,
            miss_probability: 0.05,
            false_positive_mean: 0.1,
            min_box_px: 4.0,
            max_range: 150.0,
        }
    }
}

impl CameraModel {
    /// The same detector without noise, misses or false positives.
    pub fn ideal(self) -> Self {
        CameraModel {
            pixel_sigma: 0.0,
            miss_probability: 0.0,
            false_positive_mean: 0.0,
            ..self
        }
    }

    /// The detections of `sensor` (a camera) over `scene`; empty when the
    /// sensor has no valid intrinsics.
    pub fn detect<R: Rng + ?Sized>(
        &self,
        scene: &Scene,
        sensor: &SensorConfig,
        stamp_ns: i64,
        rng: &mut R,
    ) -> Detection2DArray {
        let header = header(stamp_ns, &sensor.frame_id);
        let camera = Pinhole::from_sensor(sensor);
        let (w, h) = (camera.width, camera.height);
        let mut detections = Vec::new();
        if w <= 0.0 || h <= 0.0 || camera.fx <= 0.0 || camera.fy <= 0.0 {
            // Not a calibrated camera (e.g. zero intrinsics): nothing to see.
            return Detection2DArray { header, detections };
        }
        for actor in &scene.actors {
            let center = scene.center(actor);
            if (center - camera.pose.translation).norm() > self.max_range {
                continue;
            }
            let Some(rect) = camera.project_box(&scene.corners(actor)) else {
                continue;
            };
            if rect[2] - rect[0] < self.min_box_px || rect[3] - rect[1] < self.min_box_px {
                continue;
            }
            if rng.random::<f64>() < self.miss_probability {
                continue;
            }
            let noisy = rect.map(|v| v + self.noise(rng));
            let score = rng.random_range(0.6..=0.95);
            let Some(rect) = clip(
                [
                    noisy[0].min(noisy[2]),
                    noisy[1].min(noisy[3]),
                    noisy[0].max(noisy[2]),
                    noisy[1].max(noisy[3]),
                ],
                w,
                h,
            ) else {
                continue;
            };
            detections.push(detection(&header, rect, class_name(actor.label), score));
        }
        if let Ok(poisson) = Poisson::new(self.false_positive_mean) {
            let count = poisson.sample(rng) as u64;
            for _ in 0..count {
                let (bw, bh) = (rng.random_range(20.0..300.0), rng.random_range(20.0..300.0));
                let (cx, cy) = (rng.random_range(0.0..w), rng.random_range(0.0..h));
                let class =
                    FALSE_POSITIVE_CLASSES[rng.random_range(0..FALSE_POSITIVE_CLASSES.len())];
                let score = rng.random_range(0.6..=0.8);
                let rect = [cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0];
                if let Some(rect) = clip(rect, w, h) {
                    detections.push(detection(&header, rect, class, score));
                }
            }
        }
        Detection2DArray { header, detections }
    }

    fn noise<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if self.pixel_sigma > 0.0 {
            self.pixel_sigma * rng.sample::<f64, _>(StandardNormal)
        } else {
            0.0
        }
    }
}

fn detection(header: &Header, rect: [f64; 4], class: &str, score: f64) -> Detection2D {
    Detection2D {
        header: header.clone(),
        results: vec![ObjectHypothesisWithPose {
            hypothesis: ObjectHypothesis {
                class_id: class.to_string(),
                score,
            },
            ..Default::default()
        }],
        bbox: BoundingBox2D {
            center: Pose2D {
                position: Point2D {
                    x: (rect[0] + rect[2]) / 2.0,
                    y: (rect[1] + rect[3]) / 2.0,
                },
                theta: 0.0,
            },
            size_x: rect[2] - rect[0],
            size_y: rect[3] - rect[1],
        },
        id: String::new(),
    }
}

/// `[x0, y0, x1, y1]` clipped to a `w` x `h` image; `None` if nothing of
/// it is left.
fn clip(r: [f64; 4], w: f64, h: f64) -> Option<[f64; 4]> {
    let c = [r[0].max(0.0), r[1].max(0.0), r[2].min(w), r[3].min(h)];
    (c[2] > c[0] && c[3] > c[1]).then_some(c)
}

/// A calibrated pinhole camera: optical frame (x right, y down, z
/// forward) pose in `base_link` and intrinsics in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pinhole {
    /// Optical frame to `base_link`.
    pub pose: Isometry,
    /// Focal length along x (px).
    pub fx: f64,
    /// Focal length along y (px).
    pub fy: f64,
    /// Principal point x (px).
    pub cx: f64,
    /// Principal point y (px).
    pub cy: f64,
    /// Image width (px).
    pub width: f64,
    /// Image height (px).
    pub height: f64,
}

impl Pinhole {
    /// The camera of a `SensorConfig` (its pose and intrinsics).
    pub fn from_sensor(sensor: &SensorConfig) -> Self {
        let k = &sensor.intrinsics;
        Pinhole {
            pose: rig::extrinsics(sensor),
            fx: k.fx,
            fy: k.fy,
            cx: k.cx,
            cy: k.cy,
            width: f64::from(k.width),
            height: f64::from(k.height),
        }
    }

    /// Pixel coordinates (u right, v down) of a `base_link` point, if it
    /// is at least [`MIN_DEPTH`] in front of the camera. The pixel may lie
    /// outside the image.
    pub fn project(&self, p: Vec3) -> Option<(f64, f64)> {
        let c = self.pose.apply_inverse(p);
        (c.z > MIN_DEPTH).then(|| self.project_optical(c))
    }

    fn project_optical(&self, c: Vec3) -> (f64, f64) {
        (self.fx * c.x / c.z + self.cx, self.fy * c.y / c.z + self.cy)
    }

    /// The image rectangle `[x0, y0, x1, y1]` around a box given by its
    /// eight `base_link` corners ([`crate::Actor::corners`] order), clipped
    /// to the image. Edges that cross the near plane are cut there, so a
    /// box partly behind the camera gets the rectangle of its visible
    /// part. `None` when no part is in front or the rectangle is off-image.
    pub fn project_box(&self, corners: &[Vec3; 8]) -> Option<[f64; 4]> {
        const EDGES: [(usize, usize); 12] = [
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 0),
            (4, 5),
            (5, 6),
            (6, 7),
            (7, 4),
            (0, 4),
            (1, 5),
            (2, 6),
            (3, 7),
        ];
        let c = corners.map(|p| self.pose.apply_inverse(p));
        let mut rect = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut add = |p: Vec3| {
            let (u, v) = self.project_optical(p);
            rect = [
                rect[0].min(u),
                rect[1].min(v),
                rect[2].max(u),
                rect[3].max(v),
            ];
        };
        for &p in c.iter().filter(|p| p.z > MIN_DEPTH) {
            add(p);
        }
        for (a, b) in EDGES {
            let (pa, pb) = (c[a], c[b]);
            if (pa.z > MIN_DEPTH) != (pb.z > MIN_DEPTH) {
                let f = (MIN_DEPTH - pa.z) / (pb.z - pa.z);
                add(pa + (pb - pa) * f);
            }
        }
        if !rect[0].is_finite() {
            return None;
        }
        clip(rect, self.width, self.height)
    }
}
