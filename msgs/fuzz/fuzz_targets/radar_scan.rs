//! `fusion_msgs::decode::<RadarScan>` on arbitrary bytes; every value it
//! accepts must survive encode + decode unchanged.
#![no_main]

use fusion_msgs::radar_msgs::RadarScan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fusion_msgs_fuzz::roundtrip::<RadarScan>(data);
});
