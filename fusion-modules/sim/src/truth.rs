//! Ground truth: the scene as `autoware_perception_msgs/TrackedObjects`.

use fusion_msgs::autoware_perception_msgs::{
    ObjectClassification, Shape, TrackedObject, TrackedObjectKinematics, TrackedObjects,
};
use fusion_msgs::geometry_msgs::{
    Point, Pose, PoseWithCovariance, Twist, TwistWithCovariance, Vector3,
};
use fusion_msgs::unique_identifier_msgs::UUID;

use crate::actors::{Actor, Scene};
use crate::geom::yaw_quaternion;
use crate::{header, rig};

/// First eight bytes of every actor UUID (`"fsimactr"`); the last eight
/// hold the actor id, big-endian.
pub const UUID_PREFIX: [u8; 8] = *b"fsimactr";

/// The UUID ground truth gives actor `id`.
pub fn actor_uuid(id: u32) -> UUID {
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&UUID_PREFIX);
    uuid[8..].copy_from_slice(&u64::from(id).to_be_bytes());
    UUID { uuid }
}

/// The actor id of a ground-truth UUID, `None` for other UUIDs.
pub fn actor_id(uuid: &UUID) -> Option<u32> {
    if uuid.uuid[..8] != UUID_PREFIX {
        return None;
    }
    let id = u64::from_be_bytes(uuid.uuid[8..].try_into().ok()?);
    u32::try_from(id).ok()
}

impl Scene {
    /// Every actor as a tracked object in `base_link`: UUID from the id
    /// ([`actor_uuid`]), its class with probability 1, the box centre and
    /// heading (orientation AVAILABLE), the twist in the object frame
    /// (`linear.x` = speed, `linear.y` = lateral speed, `angular.z` = yaw
    /// rate), zero covariances and
    /// acceleration, and a BOUNDING_BOX shape (length, width, height).
    pub fn ground_truth(&self, stamp_ns: i64) -> TrackedObjects {
        TrackedObjects {
            header: header(stamp_ns, rig::BASE_LINK),
            objects: self.actors.iter().map(|a| self.tracked(a)).collect(),
        }
    }

    fn tracked(&self, a: &Actor) -> TrackedObject {
        let c = self.center(a);
        TrackedObject {
            object_id: actor_uuid(a.id),
            existence_probability: 1.0,
            classification: vec![ObjectClassification {
                label: a.label,
                probability: 1.0,
            }],
            kinematics: TrackedObjectKinematics {
                pose_with_covariance: PoseWithCovariance {
                    pose: Pose {
                        position: Point {
                            x: c.x,
                            y: c.y,
                            z: c.z,
                        },
                        orientation: yaw_quaternion(a.yaw),
                    },
                    covariance: [0.0; 36],
                },
                twist_with_covariance: TwistWithCovariance {
                    twist: Twist {
                        linear: Vector3 {
                            x: a.speed,
                            y: a.lateral_speed,
                            z: 0.0,
                        },
                        angular: Vector3 {
                            x: 0.0,
                            y: 0.0,
                            z: a.yaw_rate,
                        },
                    },
                    covariance: [0.0; 36],
                },
                acceleration_with_covariance: Default::default(),
                orientation_availability: TrackedObjectKinematics::AVAILABLE,
                is_stationary: a.speed == 0.0 && a.lateral_speed == 0.0 && a.yaw_rate == 0.0,
            },
            shape: Shape {
                r#type: Shape::BOUNDING_BOX,
                footprint: Default::default(),
                dimensions: Vector3 {
                    x: a.length,
                    y: a.width,
                    z: a.height,
                },
            },
        }
    }
}
