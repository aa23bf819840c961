//! `fusion_msgs::decode::<Detection2DArray>` on arbitrary bytes; every value it
//! accepts must survive encode + decode unchanged.
#![no_main]

use fusion_msgs::vision_msgs::Detection2DArray;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fusion_msgs_fuzz::roundtrip::<Detection2DArray>(data);
});
