//! The `ros2msg` schema text, built the way rosbag2 builds it.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::Message;
use crate::geometry_msgs::{Point, Pose, PoseWithCovariance, Quaternion};

fn section(name: &str, text: &str) -> String {
    format!("\n{}\nMSG: {name}\n{text}", "=".repeat(80))
}

#[test]
fn dependencies_follow_depth_first_in_sorted_order() {
    let expected = format!(
        "{}{}{}{}",
        PoseWithCovariance::DEFINITION,
        section("geometry_msgs/Pose", Pose::DEFINITION),
        section("geometry_msgs/Point", Point::DEFINITION),
        section("geometry_msgs/Quaternion", Quaternion::DEFINITION),
    );
    assert_eq!(PoseWithCovariance::FULL_DEFINITION, expected);
}

#[test]
fn a_type_without_dependencies_is_its_own_text() {
    assert_eq!(Point::FULL_DEFINITION, Point::DEFINITION);
    assert!(Point::DEFINITION.contains("float64 x"));
}

#[test]
fn every_dependency_appears_once_and_before_its_use_is_closed() {
    for info in crate::ALL_TYPES {
        let headers: Vec<&str> = info
            .full_definition
            .lines()
            .filter(|l| l.starts_with("MSG: "))
            .collect();
        let mut sorted = headers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            headers.len(),
            "{}: a dependency is repeated",
            info.name
        );
        // Every type referenced by any section has a section (or is the root).
        for line in info.full_definition.lines() {
            let Some(ty) = line.split_whitespace().next().filter(|t| t.contains('/')) else {
                continue;
            };
            let ty = ty.split('[').next().unwrap();
            let root_short = info.name.replace("/msg/", "/");
            assert!(
                ty == root_short || headers.contains(&format!("MSG: {ty}").as_str()),
                "{}: {ty} is used but not defined",
                info.name
            );
        }
    }
}

#[test]
fn registry_finds_long_and_short_names() {
    let long = crate::TypeInfo::find("sensor_msgs/msg/PointCloud2").unwrap();
    let short = crate::TypeInfo::find("sensor_msgs/PointCloud2").unwrap();
    assert_eq!(long, short);
    assert!(crate::TypeInfo::find("sensor_msgs/msg/Nope").is_none());
    assert!(crate::TypeInfo::find("PointCloud2").is_none());
    let names: Vec<&str> = crate::ALL_TYPES.iter().map(|t| t.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}
