//! Unit tests that need the crate's test-only `Arbitrary` derives.

mod bad_input;
mod definitions;
mod pointcloud;
mod roundtrip;
mod views;
