//! Orientation inputs: a quaternion, or roll/pitch/yaw in degrees.

/// The quaternion (x, y, z, w) of fixed-axis roll, pitch, yaw in degrees,
/// the ROS convention (tf2 `setRPY`): R = Rz(yaw) · Ry(pitch) · Rx(roll).
pub(super) fn quaternion_from_rpy_deg([roll, pitch, yaw]: [f64; 3]) -> [f64; 4] {
    let (sr, cr) = (roll.to_radians() / 2.0).sin_cos();
    let (sp, cp) = (pitch.to_radians() / 2.0).sin_cos();
    let (sy, cy) = (yaw.to_radians() / 2.0).sin_cos();
    [
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ]
}

/// How far a quaternion's norm may be from 1 before it is refused rather
/// than normalised: catches typos, tolerates rounded decimals.
pub(super) const QUATERNION_NORM_TOLERANCE: f64 = 1e-3;

/// `q` scaled to unit norm, or its norm if that is too far from 1.
pub(super) fn normalised(q: [f64; 4]) -> Result<[f64; 4], f64> {
    let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > QUATERNION_NORM_TOLERANCE || !norm.is_finite() {
        return Err(norm);
    }
    Ok(q.map(|c| c / norm))
}
