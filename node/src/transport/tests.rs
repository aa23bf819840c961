use std::path::PathBuf;

use super::*;

#[test]
fn topics_map_to_keys_without_the_leading_slash() {
    assert_eq!(
        key_expr("/sensors/lidar_top/points").unwrap().as_str(),
        "sensors/lidar_top/points"
    );
    assert_eq!(key_expr("diagnostics").unwrap().as_str(), "diagnostics");
    assert!(matches!(
        key_expr("/a//b"),
        Err(TransportError::KeyExpr { .. })
    ));
}

#[test]
fn settings_become_mode_and_endpoints() {
    let zenoh = Zenoh::Settings {
        mode: ZenohMode::Client,
        connect: vec!["tcp/127.0.0.1:7447".into()],
        listen: vec![],
    };
    let config = config(&zenoh).unwrap();
    assert_eq!(config.get_json("mode").unwrap(), "\"client\"");
    assert_eq!(
        config.get_json("connect/endpoints").unwrap(),
        "[\"tcp/127.0.0.1:7447\"]"
    );
}

#[test]
fn a_bad_endpoint_is_refused_with_its_key() {
    let zenoh = Zenoh::Settings {
        mode: ZenohMode::Peer,
        connect: vec!["not an endpoint".into()],
        listen: vec![],
    };
    let err = config(&zenoh).unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Setting {
                key: "connect/endpoints",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_config_file_is_read_or_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("zenoh.json5");
    std::fs::write(
        &good,
        "{ mode: \"peer\", scouting: { multicast: { enabled: false } } }",
    )
    .unwrap();
    let config = config(&Zenoh::ConfigFile(good)).unwrap();
    assert_eq!(
        config.get_json("scouting/multicast/enabled").unwrap(),
        "false"
    );

    let bad: PathBuf = dir.path().join("bad.json5");
    std::fs::write(&bad, "{ mode: 42 }").unwrap();
    let err = super::config(&Zenoh::ConfigFile(bad.clone())).unwrap_err();
    assert!(err.to_string().contains(&*bad.to_string_lossy()), "{err}");
}

#[test]
fn explicit_peers_turn_multicast_scouting_off() {
    let config = explicit_peer_config(&["tcp/127.0.0.1:0".into()], &[]).unwrap();
    assert_eq!(
        config.get_json("scouting/multicast/enabled").unwrap(),
        "false"
    );
    assert_eq!(
        config.get_json("listen/endpoints").unwrap(),
        "[\"tcp/127.0.0.1:0\"]"
    );
}
