//! Publishing sensor-sized payloads through zenoh's shared memory.
//!
//! Between processes on one host, zenoh hands a subscriber a reference to
//! a shared-memory buffer instead of streaming the bytes over TCP: a 2 MB
//! point cloud crosses in a fraction of a millisecond instead of several.
//! Both sessions need `transport/shared_memory/enabled` (zenoh's default),
//! and the publisher must place the payload in a shared-memory pool of its
//! own ([`ShmPool`]). Zenoh can also copy a plain payload into its internal
//! pool ("transport optimisation"), but that pool is small and is created
//! and torn down with the link, so the subscriber keeps faulting in fresh
//! pages; a pool owned by the publisher is mapped once and stays.
//!
//! Subscribers do not change: a shared-memory sample is a `ZBytes` like
//! any other, and a subscriber in another host receives the bytes over the
//! network as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zenoh::Wait;
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Publisher;
use zenoh::qos::CongestionControl;
use zenoh::shm::{GarbageCollect, PosixShmProviderBackend, ShmProvider, ShmProviderBuilder};

use super::TransportError;

/// Payloads below this size are put as they are: a copy into a socket is
/// cheaper than the shared-memory bookkeeping (zenoh's own threshold).
pub const SHM_MIN_PAYLOAD: usize = 3 * 1024;

/// The pool a [`SensorPublisher`] allocates from by default: room for
/// every buffer a subscriber may still hold (a few per sensor in its
/// queues) of a 2 MB point cloud at 20 Hz, with margin.
pub const DEFAULT_SHM_POOL_BYTES: usize = 64 << 20;

/// A shared-memory pool for outgoing payloads. Buffers return to it when
/// every subscriber has dropped them.
pub struct ShmPool {
    provider: ShmProvider<PosixShmProviderBackend>,
}

impl ShmPool {
    /// Creates a pool of `bytes` and touches all of it once, so publishing
    /// never waits on the kernel to supply a page.
    pub fn new(bytes: usize) -> Result<Self, TransportError> {
        let backend = PosixShmProviderBackend::builder(bytes)
            .wait()
            .map_err(|e| TransportError::Shm(format!("cannot create a {bytes}-byte pool: {e}")))?;
        let provider = ShmProviderBuilder::backend(backend).wait();
        if let Ok(mut whole) = provider.alloc(provider.available()).wait() {
            whole.fill(0);
        }
        Ok(ShmPool { provider })
    }

    /// A shared-memory copy of `bytes`, or `None` while the pool is full
    /// (subscribers still hold its buffers).
    pub fn copy(&self, bytes: &[u8]) -> Option<ZBytes> {
        let mut buffer = self
            .provider
            .alloc(bytes.len())
            .with_policy::<GarbageCollect>()
            .wait()
            .ok()?;
        buffer.copy_from_slice(bytes);
        Some(buffer.into())
    }
}

impl std::fmt::Debug for ShmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmPool")
            .field("available", &self.provider.available())
            .finish()
    }
}

/// A publisher that puts large payloads through a [`ShmPool`] and small
/// ones (or all of them, while the pool is full) as plain bytes.
pub struct SensorPublisher {
    publisher: Publisher<'static>,
    pool: Option<Arc<ShmPool>>,
    /// Large payloads put as plain bytes because the pool was full.
    pool_full: AtomicU64,
}

impl SensorPublisher {
    /// Publishes through `publisher`, large payloads from `pool` if given.
    pub fn new(publisher: Publisher<'static>, pool: Option<Arc<ShmPool>>) -> Self {
        SensorPublisher {
            publisher,
            pool,
            pool_full: AtomicU64::new(0),
        }
    }

    /// Declares a publisher for sensor data on `topic`, its large payloads
    /// from `pool` if given. It blocks rather than drops when zenoh's
    /// queue is full: a shared-memory sample is a small reference that
    /// never fills it, while a multi-megabyte plain one (no pool, or the
    /// pool full) does not fit the queue and would be dropped whole once
    /// zenoh's short wait (1 ms) ran out.
    pub fn declare(
        session: &zenoh::Session,
        topic: &str,
        pool: Option<Arc<ShmPool>>,
    ) -> Result<Self, TransportError> {
        let publisher =
            super::declare_publisher_with(session, topic, false, CongestionControl::Block)?;
        Ok(SensorPublisher::new(publisher, pool))
    }

    /// The zenoh publisher.
    pub fn publisher(&self) -> &Publisher<'static> {
        &self.publisher
    }

    /// Whether zenoh knows of a subscriber to the topic (what is published
    /// before there is one is lost).
    pub fn matched(&self) -> bool {
        self.publisher
            .matching_status()
            .wait()
            .is_ok_and(|s| s.matching())
    }

    /// Puts `bytes`.
    pub fn put(&self, bytes: &[u8]) -> Result<(), TransportError> {
        let shared = match &self.pool {
            Some(pool) if bytes.len() >= SHM_MIN_PAYLOAD => {
                let copy = pool.copy(bytes);
                if copy.is_none() {
                    self.pool_full.fetch_add(1, Ordering::Relaxed);
                }
                copy
            }
            _ => None,
        };
        let put = match shared {
            Some(payload) => self.publisher.put(payload).wait(),
            None => self.publisher.put(bytes).wait(),
        };
        put.map_err(|e| TransportError::Declare {
            what: "put",
            key: self.publisher.key_expr().to_string(),
            message: e.to_string(),
        })
    }

    /// Large payloads that went as plain bytes because the pool was full.
    pub fn pool_full_count(&self) -> u64 {
        self.pool_full.load(Ordering::Relaxed)
    }

    /// The key expression published on.
    pub fn key_expr(&self) -> &str {
        self.publisher.key_expr().as_str()
    }
}

impl std::fmt::Debug for SensorPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorPublisher")
            .field("key_expr", &self.key_expr())
            .field("shared_memory", &self.pool.is_some())
            .field("pool_full", &self.pool_full_count())
            .finish()
    }
}
