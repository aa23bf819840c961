//! `SensorPublisher` over zenoh loopback: large payloads reach a subscriber
//! on the same host as shared-memory buffers with the same bytes, small
//! ones as plain bytes, and a full pool falls back to plain bytes, counted,
//! without losing a message.

mod live;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use fusion_node::transport::{SHM_MIN_PAYLOAD, SensorPublisher, ShmPool};
use live::{connected_session, free_port, listening_session, wait_until};
use zenoh::Wait;
use zenoh::bytes::ZBytes;

/// A payload whose bytes depend on `seed` and their position.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Every sample's payload on `key`, kept alive (so shared-memory buffers
/// stay taken) until the receiver drops them.
fn subscribe(session: &zenoh::Session, key: String) -> Receiver<ZBytes> {
    let (tx, rx) = crossbeam_channel::unbounded();
    session
        .declare_subscriber(key)
        .callback(move |sample| {
            let _ = tx.send(sample.payload().clone());
        })
        .background()
        .wait()
        .unwrap();
    rx
}

/// A sensor publisher on `topic` with `pool`, once its subscriber is known.
fn matched(session: &zenoh::Session, topic: &str, pool: Arc<ShmPool>) -> SensorPublisher {
    let publisher = SensorPublisher::declare(session, topic, Some(pool)).unwrap();
    let matched = wait_until(Duration::from_secs(10), || publisher.matched());
    assert!(matched, "no subscriber for {topic}");
    publisher
}

/// A subscriber on `sensors/<name>` in one session and a sensor publisher
/// with a pool of `pool_bytes` in another, connected over loopback; the
/// sessions are returned to be kept open.
fn link(
    name: &str,
    pool_bytes: usize,
) -> (
    Receiver<ZBytes>,
    SensorPublisher,
    (zenoh::Session, zenoh::Session),
) {
    let port = free_port();
    let node = listening_session(port);
    let sensor = connected_session(port);
    let key = format!("sensors/{name}");
    let received = subscribe(&node, key.clone());
    let pool = Arc::new(ShmPool::new(pool_bytes).unwrap());
    let publisher = matched(&sensor, &format!("/{key}"), pool);
    (received, publisher, (node, sensor))
}

fn receive(rx: &Receiver<ZBytes>) -> ZBytes {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a message within 10 s")
}

#[test]
fn large_payloads_arrive_in_shared_memory_with_their_bytes() {
    let (received, publisher, _sessions) = link("shm", 8 << 20);

    let cloud = payload(2 << 20, 7);
    publisher.put(&cloud).unwrap();
    let got = receive(&received);
    assert!(
        got.as_shm().is_some(),
        "a 2 MB payload not in shared memory"
    );
    assert_eq!(got.to_bytes().as_ref(), cloud.as_slice());

    let small = payload(SHM_MIN_PAYLOAD - 1, 9);
    publisher.put(&small).unwrap();
    let got = receive(&received);
    assert!(
        got.as_shm().is_none(),
        "a small payload went to shared memory"
    );
    assert_eq!(got.to_bytes().as_ref(), small.as_slice());
    assert_eq!(publisher.pool_full_count(), 0);
}

#[test]
fn a_full_pool_falls_back_to_plain_bytes_and_counts_it() {
    // Room for one 3 MB payload; the subscriber holds on to what it gets.
    let (received, publisher, _sessions) = link("full", 4 << 20);
    let sent: Vec<Vec<u8>> = (0..3).map(|k| payload(3 << 20, k)).collect();
    let mut held = Vec::new();
    for bytes in &sent {
        publisher.put(bytes).unwrap();
        held.push(receive(&received));
    }
    for (got, bytes) in held.iter().zip(&sent) {
        assert_eq!(got.to_bytes().as_ref(), bytes.as_slice());
    }
    assert_eq!(publisher.pool_full_count(), 2, "{publisher:?}");
    // Once the subscriber lets go, the pool serves again.
    drop(held);
    let again = payload(3 << 20, 42);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let before = publisher.pool_full_count();
            publisher.put(&again).unwrap();
            let got = receive(&received);
            assert_eq!(got.to_bytes().as_ref(), again.as_slice());
            publisher.pool_full_count() == before
        }),
        "the pool never freed: {publisher:?}"
    );
}
