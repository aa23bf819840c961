//! `visualization_msgs/MarkerArray` for viewers: one CUBE per tracked
//! object, in the output's frame, with `ns`/`id` naming the track.
//!
//! Built on its own normal-priority thread, and only while someone
//! subscribes: the executor copies the output into a recycled buffer and
//! moves on. Decoding and encoding here allocate; the executor does not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};
use fusion_msgs::autoware_perception_msgs::{ObjectClassification as Class, TrackedObjects};
use fusion_msgs::builtin_interfaces::Duration as RosDuration;
use fusion_msgs::std_msgs::ColorRGBA;
use fusion_msgs::visualization_msgs::{Marker, MarkerArray};
use zenoh::Wait;
use zenoh::pubsub::Publisher;

/// Marker namespace of the tracked objects.
pub const MARKER_NS: &str = "tracked_objects";
/// How long a marker stays without an update: three 20 Hz frames, so a
/// lost track disappears without a DELETE.
pub const MARKER_LIFETIME_NS: u32 = 150_000_000;
/// Smallest edge drawn, metres (a shape with no size stays visible).
const MIN_SCALE_M: f64 = 0.1;
/// Output buffers in flight between the executor and the marker thread.
const BUFFERS: usize = 2;

/// The executor's end: hands outputs to the marker thread when wanted.
pub(super) struct MarkerFeed {
    wanted: Arc<AtomicBool>,
    full: Sender<Vec<u8>>,
    free: Receiver<Vec<u8>>,
    give_back: Sender<Vec<u8>>,
}

impl MarkerFeed {
    /// Copies `output` for the marker thread if someone subscribes and a
    /// buffer is free; otherwise does nothing. Never blocks.
    pub fn offer(&self, output: &[u8]) {
        if !self.wanted.load(Ordering::Relaxed) {
            return;
        }
        let Ok(mut buffer) = self.free.try_recv() else {
            return;
        };
        buffer.clear();
        buffer.extend_from_slice(output);
        if let Err(e) = self.full.try_send(buffer) {
            let _ = self.give_back.try_send(e.into_inner());
        }
    }
}

/// Starts the marker thread on `publisher`; it ends when the feed is
/// dropped.
pub(super) fn start(
    publisher: Publisher<'static>,
) -> Result<(MarkerFeed, std::thread::JoinHandle<()>), super::PipelineError> {
    let wanted = Arc::new(AtomicBool::new(false));
    let theirs = Arc::clone(&wanted);
    publisher
        .matching_listener()
        .callback(move |status| theirs.store(status.matching(), Ordering::Relaxed))
        .background()
        .wait()
        .map_err(|e| {
            super::PipelineError::Transport(crate::transport::TransportError::Declare {
                what: "matching listener",
                key: publisher.key_expr().to_string(),
                message: e.to_string(),
            })
        })?;
    let (full_tx, full_rx) = crossbeam_channel::bounded::<Vec<u8>>(1);
    let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        let _ = free_tx.try_send(Vec::new());
    }
    let give_back = free_tx.clone();
    let thread = std::thread::Builder::new()
        .name("fusion-markers".into())
        .spawn(move || run(&publisher, &full_rx, &free_tx))
        .map_err(super::PipelineError::Spawn)?;
    let feed = MarkerFeed {
        wanted,
        full: full_tx,
        free: free_rx,
        give_back,
    };
    Ok((feed, thread))
}

fn run(publisher: &Publisher<'static>, full: &Receiver<Vec<u8>>, free: &Sender<Vec<u8>>) {
    while let Ok(buffer) = full.recv() {
        match fusion_msgs::decode::<TrackedObjects>(&buffer) {
            Ok(objects) => match fusion_msgs::encode(&marker_array(&objects)) {
                Ok(bytes) => {
                    if let Err(e) = publisher.put(bytes).wait() {
                        tracing::debug!(error = %e, "publishing markers failed");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "encoding markers failed"),
            },
            Err(e) => tracing::debug!(error = %e, "the module's output is not TrackedObjects"),
        }
        let _ = free.try_send(buffer);
    }
}

/// One CUBE per object: its pose, its box (`shape.dimensions`), a colour
/// by class, `ns` [`MARKER_NS`] and an `id` derived from its UUID.
pub fn marker_array(objects: &TrackedObjects) -> MarkerArray {
    let markers = objects
        .objects
        .iter()
        .map(|object| {
            let d = &object.shape.dimensions;
            let mut scale = d.clone();
            scale.x = d.x.max(MIN_SCALE_M);
            scale.y = d.y.max(MIN_SCALE_M);
            scale.z = d.z.max(MIN_SCALE_M);
            let label = object
                .classification
                .iter()
                .max_by(|a, b| a.probability.total_cmp(&b.probability))
                .map_or(Class::UNKNOWN, |c| c.label);
            Marker {
                header: objects.header.clone(),
                ns: MARKER_NS.into(),
                id: marker_id(&object.object_id.uuid),
                r#type: Marker::CUBE,
                action: Marker::ADD,
                pose: object.kinematics.pose_with_covariance.pose.clone(),
                scale,
                color: color(label),
                lifetime: RosDuration {
                    sec: 0,
                    nanosec: MARKER_LIFETIME_NS,
                },
                ..Marker::default()
            }
        })
        .collect();
    MarkerArray { markers }
}

/// A stable, non-negative marker id for a 16-byte UUID (FNV-1a, 31 bits).
pub fn marker_id(uuid: &[u8; 16]) -> i32 {
    let hash = uuid.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (hash & 0x7fff_ffff) as i32
}

fn color(label: u8) -> ColorRGBA {
    let (r, g, b) = match label {
        Class::CAR => (0.2, 0.5, 1.0),
        Class::TRUCK | Class::BUS | Class::TRAILER => (1.0, 0.6, 0.1),
        Class::PEDESTRIAN => (1.0, 0.2, 0.2),
        Class::BICYCLE | Class::MOTORCYCLE => (0.2, 0.9, 0.3),
        _ => (0.7, 0.7, 0.7),
    };
    ColorRGBA { r, g, b, a: 0.6 }
}

#[cfg(test)]
mod tests {
    use fusion_sim::Scene;

    use super::*;

    #[test]
    fn one_cube_per_object_with_its_box_and_stable_id() {
        let truth = Scene::crossing().ground_truth(1_000);
        let array = marker_array(&truth);
        assert_eq!(array.markers.len(), truth.objects.len());
        for (marker, object) in array.markers.iter().zip(&truth.objects) {
            assert_eq!(marker.r#type, Marker::CUBE);
            assert_eq!(marker.header, truth.header);
            assert_eq!(marker.ns, MARKER_NS);
            assert_eq!(marker.id, marker_id(&object.object_id.uuid));
            assert!(marker.id >= 0);
            assert_eq!(marker.pose, object.kinematics.pose_with_covariance.pose);
            assert_eq!(marker.scale.x, object.shape.dimensions.x);
        }
        let bytes = fusion_msgs::encode(&array).unwrap();
        assert_eq!(fusion_msgs::decode::<MarkerArray>(&bytes).unwrap(), array);
    }
}
