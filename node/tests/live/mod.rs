//! Helpers of the live tests: zenoh sessions on explicit loopback
//! endpoints with multicast scouting off (nothing leaves 127.0.0.1),
//! launch files in a temporary directory, and bounded waits.

#![allow(dead_code)] // each test binary uses a different part

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use fusion_msgs::builtin_interfaces::Time;
use fusion_msgs::std_msgs::Header;
use fusion_node::launch::Launch;
use fusion_node::transport::{explicit_peer_config, key_expr, open_config};
use zenoh::pubsub::Publisher;
use zenoh::{Session, Wait};

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The endpoint `tcp/127.0.0.1:port`.
pub fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

/// A session listening on `port` (the node's side).
pub fn listening_session(port: u16) -> Session {
    open_config(explicit_peer_config(&[endpoint(port)], &[]).unwrap()).unwrap()
}

/// A session connected to `port` (the sensors' and the viewers' side).
pub fn connected_session(port: u16) -> Session {
    open_config(explicit_peer_config(&[], &[endpoint(port)]).unwrap()).unwrap()
}

/// Polls `done` every 5 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

/// A publisher on `topic`, once a subscriber for it is known (at most 10 s).
pub fn matched_publisher(session: &Session, topic: &str) -> Publisher<'static> {
    let publisher = session
        .declare_publisher(key_expr(topic).unwrap())
        .wait()
        .unwrap();
    let matched = wait_until(Duration::from_secs(10), || {
        publisher
            .matching_status()
            .wait()
            .is_ok_and(|s| s.matching())
    });
    assert!(matched, "no subscriber for {topic} within 10 s");
    publisher
}

/// A CDR `std_msgs/Header` stamped `stamp_ns`: enough of a sensor message
/// for the node, which reads only the stamp, and for the test modules.
pub fn header_message(stamp_ns: i64) -> Vec<u8> {
    let header = Header {
        stamp: Time {
            sec: (stamp_ns / 1_000_000_000) as i32,
            nanosec: (stamp_ns % 1_000_000_000) as u32,
        },
        frame_id: "test".into(),
    };
    fusion_msgs::encode(&header).unwrap()
}

/// A launch file in `dir` for the test module `modules/NAME.wat` with a
/// LiDAR (the trigger) on `/test/lidar` and, if `radar`, a radar on
/// `/test/radar`; outputs on `/test/objects` and `/test/markers`.
pub fn wat_launch(dir: &Path, module: &str, deadline: &str, max_wait: &str, radar: bool) -> Launch {
    let wat = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/modules/{module}.wat"));
    std::fs::write(dir.join("module.wasm"), wat::parse_file(wat).unwrap()).unwrap();
    let mut text = format!(
        r#"
name = "pipeline_test"
deadline = "{deadline}"

[align.trigger]
max_skew = "25ms"
max_wait = "{max_wait}"

[module]
path = "module.wasm"

[outputs]
tracked_objects = "/test/objects"
markers = "/test/markers"
diagnostics = "/test/diagnostics"

[[sensors]]
name = "lidar"
kind = "lidar"
topic = "/test/lidar"
frame_id = "lidar"
extrinsics = {{ translation = [0.0, 0.0, 2.0], rpy_deg = [0, 0, 0] }}
"#
    );
    if radar {
        text.push_str(
            r#"
[[sensors]]
name = "radar"
kind = "radar"
topic = "/test/radar"
frame_id = "radar"
extrinsics = { translation = [3.0, 0.0, 0.5], rpy_deg = [0, 0, 0] }
"#,
        );
    }
    let path = dir.join("launch.toml");
    std::fs::write(&path, &text).unwrap();
    Launch::load(&path).unwrap()
}

/// The header fields the `echo_header` test modules return:
/// (sequence, trigger stamp, missing sensors, flags).
pub fn echoed(output: &[u8]) -> Option<(u64, i64, u64, u32)> {
    let bytes: &[u8; 28] = output.try_into().ok()?;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    Some((
        u64_at(0),
        u64_at(8) as i64,
        u64_at(16),
        u32::from_le_bytes(bytes[24..28].try_into().unwrap()),
    ))
}

/// Collects every sample on `key` into a channel.
pub fn collect(session: &Session, key: &'static str) -> crossbeam_channel::Receiver<Vec<u8>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    session
        .declare_subscriber(key)
        .callback(move |sample| {
            let _ = tx.send(sample.payload().to_bytes().into_owned());
        })
        .background()
        .wait()
        .unwrap();
    rx
}
