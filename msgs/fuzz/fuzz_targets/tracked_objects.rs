//! `fusion_msgs::decode::<TrackedObjects>` on arbitrary bytes; every value it
//! accepts must survive encode + decode unchanged.
#![no_main]

use fusion_msgs::autoware_perception_msgs::TrackedObjects;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fusion_msgs_fuzz::roundtrip::<TrackedObjects>(data);
});
