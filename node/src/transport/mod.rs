//! zenoh sessions, opened from the launch file's `[zenoh]` settings.
//!
//! By default the node is an embedded peer: it needs no router on one
//! host. `client` and `router` modes, explicit endpoints, or a standard
//! zenoh json5 file cover multi-host setups (see `launch/README.md`).
//!
//! **Key expressions follow the topic names**: the ROS topic
//! `/sensors/lidar_top/points` is the zenoh key `sensors/lidar_top/points`,
//! the leading `/` stripped and nothing else changed ([`key_expr`]). The
//! ROS 2 `rmw_zenoh` key format (domain, type name and hash in the key) is
//! a later issue.
//!
//! This module only opens sessions and maps names. Who subscribes and
//! publishes what is the pipeline's business.

mod query;
mod shm;
#[cfg(test)]
mod tests;

pub use query::query_json;
pub use shm::{DEFAULT_SHM_POOL_BYTES, SHM_MIN_PAYLOAD, SensorPublisher, ShmPool};

use std::path::PathBuf;

use thiserror::Error;
use zenoh::key_expr::KeyExpr;
use zenoh::qos::CongestionControl;
use zenoh::{Config, Session, Wait};

use crate::launch::{Zenoh, ZenohMode};

/// Why a session could not be configured or opened.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The json5 config file named by the launch file was refused.
    #[error("zenoh config {}: {message}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What zenoh said.
        message: String,
    },
    /// A setting (mode, endpoint) was refused by zenoh.
    #[error("zenoh setting `{key}` = {value}: {message}")]
    Setting {
        /// The config key, e.g. `connect/endpoints`.
        key: &'static str,
        /// The value as json5.
        value: String,
        /// What zenoh said.
        message: String,
    },
    /// `zenoh::open` failed (an endpoint that cannot be listened on, ...).
    #[error("cannot open the zenoh session: {0}")]
    Open(String),
    /// A topic is not a valid key expression.
    #[error("topic `{topic}` is not a valid zenoh key expression: {message}")]
    KeyExpr {
        /// The topic.
        topic: String,
        /// What zenoh said.
        message: String,
    },
    /// A shared-memory pool could not be created.
    #[error("zenoh shared memory: {0}")]
    Shm(String),
    /// Declaring a subscriber or publisher failed.
    #[error("cannot declare a {what} on `{key}`: {message}")]
    Declare {
        /// `subscriber` or `publisher`.
        what: &'static str,
        /// The key expression.
        key: String,
        /// What zenoh said.
        message: String,
    },
}

/// The zenoh key expression of a ROS topic: the topic without its leading
/// `/` (`/fusion/tracked_objects` -> `fusion/tracked_objects`).
pub fn key_expr(topic: &str) -> Result<KeyExpr<'static>, TransportError> {
    let key = topic.strip_prefix('/').unwrap_or(topic).to_owned();
    KeyExpr::try_from(key).map_err(|e| TransportError::KeyExpr {
        topic: topic.to_owned(),
        message: e.to_string(),
    })
}

/// The zenoh configuration the launch file's `[zenoh]` describes: the
/// json5 file as it is, or zenoh's defaults with the mode and endpoints
/// set. Zenoh's defaults include multicast scouting (UDP 224.0.0.224:7446),
/// which is how peers on one host find each other without endpoints.
pub fn config(zenoh: &Zenoh) -> Result<Config, TransportError> {
    match zenoh {
        Zenoh::ConfigFile(path) => {
            Config::from_file(path).map_err(|e| TransportError::ConfigFile {
                path: path.clone(),
                message: e.to_string(),
            })
        }
        Zenoh::Settings {
            mode,
            connect,
            listen,
        } => {
            let mut config = Config::default();
            let mode = match mode {
                ZenohMode::Peer => "peer",
                ZenohMode::Client => "client",
                ZenohMode::Router => "router",
            };
            set(&mut config, "mode", &json(&mode))?;
            if !connect.is_empty() {
                set(&mut config, "connect/endpoints", &json(connect))?;
            }
            if !listen.is_empty() {
                set(&mut config, "listen/endpoints", &json(listen))?;
            }
            Ok(config)
        }
    }
}

/// A peer that listens and connects only on the given endpoints, with
/// multicast scouting off: nothing leaves the addresses named. Tests use it
/// with `tcp/127.0.0.1:PORT` endpoints; `simulate-live --connect` too.
pub fn explicit_peer_config(
    listen: &[String],
    connect: &[String],
) -> Result<Config, TransportError> {
    let mut config = Config::default();
    set(&mut config, "mode", "\"peer\"")?;
    set(&mut config, "scouting/multicast/enabled", "false")?;
    set(&mut config, "listen/endpoints", &json(&listen))?;
    set(&mut config, "connect/endpoints", &json(&connect))?;
    Ok(config)
}

/// Opens a session with the launch file's settings.
pub fn open(zenoh: &Zenoh) -> Result<Session, TransportError> {
    open_config(config(zenoh)?)
}

/// Opens a session with `config` (blocking until zenoh has started).
pub fn open_config(config: Config) -> Result<Session, TransportError> {
    zenoh::open(config)
        .wait()
        .map_err(|e| TransportError::Open(e.to_string()))
}

/// Declares a publisher on `topic`'s key. `express` sends each message at
/// once rather than batching it with others: latency over throughput.
pub fn declare_publisher(
    session: &Session,
    topic: &str,
    express: bool,
) -> Result<zenoh::pubsub::Publisher<'static>, TransportError> {
    declare_publisher_with(session, topic, express, CongestionControl::DEFAULT)
}

/// [`declare_publisher`] with the given congestion control: what a put
/// does when zenoh's queue is full.
fn declare_publisher_with(
    session: &Session,
    topic: &str,
    express: bool,
    congestion: CongestionControl,
) -> Result<zenoh::pubsub::Publisher<'static>, TransportError> {
    let key = key_expr(topic)?;
    session
        .declare_publisher(key.clone())
        .express(express)
        .congestion_control(congestion)
        .wait()
        .map_err(|e| TransportError::Declare {
            what: "publisher",
            key: key.to_string(),
            message: e.to_string(),
        })
}

fn set(config: &mut Config, key: &'static str, value: &str) -> Result<(), TransportError> {
    config
        .insert_json5(key, value)
        .map_err(|e| TransportError::Setting {
            key,
            value: value.to_owned(),
            message: e.to_string(),
        })
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Strings and lists of strings always serialise.
    serde_json::to_string(value).unwrap_or_default()
}
