use std::path::PathBuf;

/// Why a drive cannot be written or opened.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The file cannot be created, opened, mapped or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file at fault.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file does not start with the MCAP magic.
    #[error("{}: not an MCAP file ({reason})", path.display())]
    NotMcap {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with its first bytes.
        reason: &'static str,
    },
    /// A topic names a type that fusion-msgs does not know.
    #[error("topic {topic}: unknown ROS 2 type {type_name} (see `fusion-node msgs list`)")]
    UnknownType {
        /// The topic being added.
        topic: String,
        /// The type asked for.
        type_name: String,
    },
    /// A topic was added twice with different types.
    #[error("topic {topic} is already recorded as {existing}, not {requested}")]
    TopicTypeConflict {
        /// The topic.
        topic: String,
        /// The type it was first added with.
        existing: &'static str,
        /// The type asked for now.
        requested: String,
    },
    /// A message named a topic handle from another writer.
    #[error("no topic with handle {0} in this drive")]
    UnknownTopic(u16),
    /// A message could not be CDR-encoded.
    #[error("topic {topic}: cannot encode message: {source}")]
    Encode {
        /// The topic.
        topic: String,
        /// The encoder's error.
        source: fusion_msgs::cdr::CdrError,
    },
    /// The MCAP writer failed (it also wraps write I/O errors).
    #[error("{}: MCAP write failed: {source}", path.display())]
    Mcap {
        /// The file being written.
        path: PathBuf,
        /// The mcap crate's error.
        source: mcap::McapError,
    },
}
