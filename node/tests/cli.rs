//! The binary as a user runs it: output, exit codes, one-line errors.

use std::process::{Command, Output};

fn fusion_node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion-node"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn version_and_help() {
    let out = fusion_node(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("fusion-node {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8(fusion_node(&["--help"]).stdout).unwrap();
    assert!(help.contains("msgs"), "{help}");
}

#[test]
fn msgs_list_names_every_type() {
    let out = fusion_node(&["msgs", "list"]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let known: Vec<String> = fusion_msgs::ALL_TYPES
        .iter()
        .map(|t| t.name.to_owned())
        .collect();
    assert_eq!(listed, known);
    assert!(
        listed
            .iter()
            .any(|t| t == "autoware_perception_msgs/msg/TrackedObjects")
    );
}

#[test]
fn msgs_show_prints_the_mcap_schema_byte_for_byte() {
    use fusion_msgs::Message;
    use fusion_msgs::autoware_perception_msgs::TrackedObjects;
    for name in [
        "autoware_perception_msgs/msg/TrackedObjects",
        "autoware_perception_msgs/TrackedObjects",
    ] {
        let out = fusion_node(&["msgs", "show", name]);
        assert!(out.status.success());
        assert_eq!(out.stdout, TrackedObjects::FULL_DEFINITION.as_bytes());
    }
    let own = fusion_node(&[
        "msgs",
        "show",
        "--no-deps",
        "autoware_perception_msgs/msg/TrackedObjects",
    ]);
    assert_eq!(own.stdout, TrackedObjects::DEFINITION.as_bytes());
}

#[test]
fn unknown_type_is_a_usage_error_with_a_hint() {
    let out = fusion_node(&["msgs", "show", "PointCloud2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("did you mean sensor_msgs/msg/PointCloud2?"),
        "{err}"
    );
}
