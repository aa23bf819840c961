//! Zero-copy views of the high-rate sensor messages a fusion module reads
//! every frame. Decoding these through serde builds vectors and strings for
//! every message; a view checks the message once and then reads fields in
//! place, so a module's step allocates nothing for them.
//!
//! `PointCloudView` (in `pointcloud`) is the third one.

mod detections;
mod radar;

pub use detections::{Detection2DArrayView, Detection2DView, Hypothesis};
pub use radar::RadarScanView;

use crate::builtin_interfaces::Time;
use crate::cdr::{Deserializer, Result};

/// Reads a `std_msgs/Header`: stamp and frame id.
fn read_header<'a>(de: &mut Deserializer<'a>) -> Result<(Time, &'a str)> {
    let sec = de.read_i32()?;
    let nanosec = de.read_u32()?;
    let frame_id = de.read_str()?;
    Ok((Time { sec, nanosec }, frame_id))
}
