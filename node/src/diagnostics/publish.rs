//! Publishing the diagnostics array on zenoh.

use std::time::{SystemTime, UNIX_EPOCH};

use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::diagnostic_msgs::DiagnosticArray;
use thiserror::Error;
use zenoh::pubsub::Publisher;
use zenoh::{Session, Wait};

use super::Diagnostics;
use crate::deadline::MissCounters;
use crate::launch::Launch;
use crate::pipeline::SensorStats;
use crate::transport::{self, TransportError};

/// Why one report was not published (the next one is tried anyway).
#[derive(Debug, Error)]
pub enum PublishError {
    /// The array could not be encoded as CDR.
    #[error("cannot encode the diagnostics: {0}")]
    Encode(String),
    /// zenoh refused the sample.
    #[error("cannot publish the diagnostics on `{key}`: {message}")]
    Put {
        /// The key expression.
        key: String,
        /// What zenoh said.
        message: String,
    },
}

/// [`Diagnostics`] and a publisher on the launch file's diagnostics topic
/// (the key is the topic without its leading `/`). The node's main thread
/// calls [`DiagnosticsPublisher::publish`] once a second; it never runs on
/// the executor.
#[derive(Debug)]
pub struct DiagnosticsPublisher {
    diagnostics: Diagnostics,
    publisher: Publisher<'static>,
}

impl DiagnosticsPublisher {
    /// Declares the publisher on `session` for the launch file's node.
    pub fn declare(session: &Session, launch: &Launch) -> Result<Self, TransportError> {
        let publisher = transport::declare_publisher(session, &launch.outputs.diagnostics, false)?;
        Ok(DiagnosticsPublisher {
            diagnostics: Diagnostics::new(launch.name.clone()),
            publisher,
        })
    }

    /// The module status the next array includes.
    pub fn set_module(&mut self, status: crate::swap::ModuleStatus) {
        self.diagnostics.set_module(status);
    }

    /// Builds the array for `now_ns` (pipeline clock) from the pipeline's
    /// sensor totals and the monitor's counters, stamps it with the wall
    /// clock and publishes it. Returns what was published.
    pub fn publish(
        &mut self,
        now_ns: i64,
        sensors: &[SensorStats],
        counters: &MissCounters,
    ) -> Result<DiagnosticArray, PublishError> {
        let array = self
            .diagnostics
            .build(now_ns, wall_clock(), sensors, counters);
        let bytes = fusion_msgs::encode(&array).map_err(|e| PublishError::Encode(e.to_string()))?;
        self.publisher
            .put(bytes)
            .wait()
            .map_err(|e| PublishError::Put {
                key: self.publisher.key_expr().to_string(),
                message: e.to_string(),
            })?;
        Ok(array)
    }
}

/// The wall clock as a ROS time.
fn wall_clock() -> Time {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Time {
        sec: i32::try_from(now.as_secs()).unwrap_or(i32::MAX),
        nanosec: now.subsec_nanos(),
    }
}
