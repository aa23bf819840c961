//! What evaluation reads from a `TrackedObjects` message.

use fusion_msgs::autoware_perception_msgs::{ObjectClassification, TrackedObject, TrackedObjects};
use fusion_msgs::geometry_msgs::{Quaternion, Vector3};
use serde::{Deserialize, Serialize};

/// One tracked object reduced to what the metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    /// The object's UUID (`object_id`).
    pub id: [u8; 16],
    /// The label of highest probability ([`top_label`]).
    pub label: u8,
    /// Centre (x, y) in the message's frame, metres.
    pub position: [f64; 2],
    /// Velocity (x, y) in the message's frame, m/s: the twist's linear
    /// part, given in the object frame, turned by the object's orientation.
    pub velocity: [f64; 2],
}

/// The objects of one message with its stamp and frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// `header.stamp` in nanoseconds.
    pub stamp_ns: i64,
    /// `header.frame_id`.
    pub frame_id: String,
    /// The objects, in message order (the order matters to motmetrics'
    /// rule for re-establishing previous matches).
    pub objects: Vec<ObjectState>,
}

impl Frame {
    /// Reads a `TrackedObjects` message.
    pub fn from_msg(msg: &TrackedObjects) -> Frame {
        let stamp = &msg.header.stamp;
        Frame {
            stamp_ns: i64::from(stamp.sec) * 1_000_000_000 + i64::from(stamp.nanosec),
            frame_id: msg.header.frame_id.clone(),
            objects: msg.objects.iter().map(ObjectState::from_msg).collect(),
        }
    }

    /// Keeps only the objects within `range_m` of the frame's origin in
    /// the horizontal plane (the region the sensors cover).
    pub fn retain_within(&mut self, range_m: f64) {
        self.objects
            .retain(|o| o.position[0].hypot(o.position[1]) <= range_m);
    }
}

impl ObjectState {
    /// Reads one `TrackedObject`.
    pub fn from_msg(object: &TrackedObject) -> ObjectState {
        let pose = &object.kinematics.pose_with_covariance.pose;
        let linear = &object.kinematics.twist_with_covariance.twist.linear;
        let [vx, vy, _] = rotate(&pose.orientation, linear);
        ObjectState {
            id: object.object_id.uuid,
            label: top_label(&object.classification),
            position: [pose.position.x, pose.position.y],
            velocity: [vx, vy],
        }
    }
}

/// The label of highest probability; the first of equals wins,
/// non-finite probabilities never do, and no classification is UNKNOWN.
pub fn top_label(classification: &[ObjectClassification]) -> u8 {
    let mut best: Option<&ObjectClassification> = None;
    for c in classification.iter().filter(|c| c.probability.is_finite()) {
        if best.is_none_or(|b| c.probability > b.probability) {
            best = Some(c);
        }
    }
    best.map_or(ObjectClassification::UNKNOWN, |c| c.label)
}

/// `v` turned by the (normalised) quaternion `q`; a quaternion of zero or
/// non-finite norm gives NaN, which keeps the pair out of the velocity error.
fn rotate(q: &Quaternion, v: &Vector3) -> [f64; 3] {
    let norm = (q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z).sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return [f64::NAN; 3];
    }
    let (w, x, y, z) = (q.w / norm, q.x / norm, q.y / norm, q.z / norm);
    // v' = v + 2w (q x v) + 2 q x (q x v)
    let t = [
        2.0 * (y * v.z - z * v.y),
        2.0 * (z * v.x - x * v.z),
        2.0 * (x * v.y - y * v.x),
    ];
    [
        v.x + w * t[0] + (y * t[2] - z * t[1]),
        v.y + w * t[1] + (z * t[0] - x * t[2]),
        v.z + w * t[2] + (x * t[1] - y * t[0]),
    ]
}

/// A readable name for an `ObjectClassification` label.
pub fn class_name(label: u8) -> &'static str {
    match label {
        ObjectClassification::UNKNOWN => "unknown",
        ObjectClassification::CAR => "car",
        ObjectClassification::TRUCK => "truck",
        ObjectClassification::BUS => "bus",
        ObjectClassification::TRAILER => "trailer",
        ObjectClassification::MOTORCYCLE => "motorcycle",
        ObjectClassification::BICYCLE => "bicycle",
        ObjectClassification::PEDESTRIAN => "pedestrian",
        ObjectClassification::ANIMAL => "animal",
        ObjectClassification::HAZARD => "hazard",
        ObjectClassification::OVER_DRIVABLE => "over_drivable",
        ObjectClassification::UNDER_DRIVABLE => "under_drivable",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(label: u8, probability: f32) -> ObjectClassification {
        ObjectClassification { label, probability }
    }

    #[test]
    fn the_most_probable_label_wins_and_ties_go_to_the_first() {
        use ObjectClassification as C;
        assert_eq!(top_label(&[]), C::UNKNOWN);
        assert_eq!(
            top_label(&[class(C::CAR, 0.3), class(C::TRUCK, 0.7)]),
            C::TRUCK
        );
        assert_eq!(top_label(&[class(C::BUS, 0.5), class(C::CAR, 0.5)]), C::BUS);
        assert_eq!(
            top_label(&[class(C::BUS, f32::NAN), class(C::CAR, 0.1)]),
            C::CAR
        );
    }

    #[test]
    fn the_object_frame_twist_is_turned_into_the_message_frame() {
        // Heading +90 degrees about z: forward speed 5 becomes +y.
        let half = core::f64::consts::FRAC_PI_4;
        let q = Quaternion {
            x: 0.0,
            y: 0.0,
            z: half.sin(),
            w: half.cos(),
        };
        let v = rotate(
            &q,
            &Vector3 {
                x: 5.0,
                y: 1.0,
                z: 0.0,
            },
        );
        assert!(
            (v[0] + 1.0).abs() < 1e-12 && (v[1] - 5.0).abs() < 1e-12,
            "{v:?}"
        );
        // An unnormalised quaternion turns the same way.
        let q2 = Quaternion {
            x: 0.0,
            y: 0.0,
            z: 3.0 * half.sin(),
            w: 3.0 * half.cos(),
        };
        assert!(
            (rotate(
                &q2,
                &Vector3 {
                    x: 5.0,
                    y: 1.0,
                    z: 0.0
                }
            )[1] - 5.0)
                .abs()
                < 1e-12
        );
        let zero = Quaternion {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 0.0,
        };
        assert!(
            rotate(
                &zero,
                &Vector3 {
                    x: 1.0,
                    y: 0.0,
                    z: 0.0
                }
            )[0]
            .is_nan()
        );
    }

    #[test]
    fn a_message_is_read_into_a_frame() {
        let mut msg = TrackedObjects::default();
        msg.header.stamp.sec = 2;
        msg.header.stamp.nanosec = 5;
        msg.header.frame_id = "base_link".into();
        let mut object = TrackedObject::default();
        object.object_id.uuid[15] = 7;
        object.classification = vec![class(ObjectClassification::PEDESTRIAN, 0.9)];
        let pose = &mut object.kinematics.pose_with_covariance.pose;
        pose.position.x = 3.0;
        pose.position.y = -4.0;
        pose.orientation = Quaternion {
            x: 0.0,
            y: 0.0,
            z: 1.0,
            w: 0.0,
        }; // heading 180 degrees
        object.kinematics.twist_with_covariance.twist.linear.x = 2.0;
        msg.objects.push(object);
        let frame = Frame::from_msg(&msg);
        assert_eq!(frame.stamp_ns, 2_000_000_005);
        assert_eq!(frame.frame_id, "base_link");
        let o = frame.objects[0];
        assert_eq!(
            (o.id[15], o.label, o.position),
            (7, ObjectClassification::PEDESTRIAN, [3.0, -4.0])
        );
        assert!((o.velocity[0] + 2.0).abs() < 1e-12 && o.velocity[1].abs() < 1e-12);
    }
}
