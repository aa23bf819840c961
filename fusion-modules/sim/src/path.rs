//! Paths that traffic follows: polylines in the world frame, walked by
//! arc length.

use core::f64::consts::PI;

use crate::geom::wrap_angle;

/// A polyline with its cumulative arc length; its first segment starts at
/// arc length 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    points: Vec<(f64, f64)>,
    cumulative: Vec<f64>,
}

/// A point of a path and the direction of travel there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPose {
    /// World x (m).
    pub x: f64,
    /// World y (m).
    pub y: f64,
    /// Direction of travel, counter-clockwise from +x (rad).
    pub heading: f64,
}

impl Path {
    /// A path through `points` (at least two, consecutive ones distinct).
    pub fn new(points: Vec<(f64, f64)>) -> Self {
        debug_assert!(points.len() >= 2);
        let mut cumulative = Vec::with_capacity(points.len());
        let mut total = 0.0;
        cumulative.push(0.0);
        for w in points.windows(2) {
            total += (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
            cumulative.push(total);
        }
        Path { points, cumulative }
    }

    /// A straight line from `from` along `heading` for `length` metres.
    pub fn straight(from: (f64, f64), heading: f64, length: f64) -> Self {
        let (s, c) = heading.sin_cos();
        Path::new(vec![from, (from.0 + length * c, from.1 + length * s)])
    }

    /// From `from` along `heading` until `turn_at` metres, then a circular
    /// turn of `radius` through `angle` (counter-clockwise positive), then
    /// straight on for `after` metres.
    pub fn turning(
        from: (f64, f64),
        heading: f64,
        turn_at: f64,
        radius: f64,
        angle: f64,
        after: f64,
    ) -> Self {
        let (s, c) = heading.sin_cos();
        let start = (from.0 + turn_at * c, from.1 + turn_at * s);
        let mut points = vec![from, start];
        // The turn's centre is `radius` to the side the path turns to.
        let side = angle.signum();
        let centre = (start.0 - side * radius * s, start.1 + side * radius * c);
        let steps = ((angle.abs() / (PI / 36.0)).ceil() as usize).max(1);
        let mut last = heading;
        for i in 1..=steps {
            let h = heading + angle * i as f64 / steps as f64;
            let (hs, hc) = h.sin_cos();
            points.push((centre.0 + side * radius * hs, centre.1 - side * radius * hc));
            last = h;
        }
        let end = *points.last().unwrap_or(&start);
        let (ls, lc) = last.sin_cos();
        points.push((end.0 + after * lc, end.1 + after * ls));
        Path::new(points)
    }

    /// From `from`, heading along `heading`, moving `shift` metres to the
    /// left over `length` metres with a smooth (cosine) profile, then
    /// straight on for `after` metres: a lane change.
    pub fn lane_change(
        from: (f64, f64),
        heading: f64,
        shift: f64,
        length: f64,
        after: f64,
    ) -> Self {
        let (s, c) = heading.sin_cos();
        let at =
            |along: f64, left: f64| (from.0 + along * c - left * s, from.1 + along * s + left * c);
        let steps = 16;
        let mut points: Vec<(f64, f64)> = (0..=steps)
            .map(|i| {
                let f = i as f64 / steps as f64;
                at(f * length, shift * 0.5 * (1.0 - (PI * f).cos()))
            })
            .collect();
        points.push(at(length + after, shift));
        Path::new(points)
    }

    /// Total arc length (m).
    pub fn length(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The point at arc length `s`, clamped to the path (beyond the end the
    /// path continues straight along its last segment).
    pub fn pose_at(&self, s: f64) -> PathPose {
        let last = self.points.len() - 1;
        // The segment holding `s`: the last one whose start is at or before it.
        let i = self
            .cumulative
            .partition_point(|&c| c <= s)
            .saturating_sub(1)
            .min(last - 1);
        let (a, b) = (self.points[i], self.points[i + 1]);
        let seg = self.cumulative[i + 1] - self.cumulative[i];
        let t = if seg > 0.0 {
            (s - self.cumulative[i]) / seg
        } else {
            0.0
        };
        PathPose {
            x: a.0 + t * (b.0 - a.0),
            y: a.1 + t * (b.1 - a.1),
            heading: wrap_angle((b.1 - a.1).atan2(b.0 - a.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::f64::consts::FRAC_PI_2;

    #[test]
    fn a_straight_path_is_walked_at_its_heading() {
        let p = Path::straight((1.0, 2.0), FRAC_PI_2, 10.0);
        let q = p.pose_at(4.0);
        assert!((q.x - 1.0).abs() < 1e-12 && (q.y - 6.0).abs() < 1e-12);
        assert!((q.heading - FRAC_PI_2).abs() < 1e-12);
        // Beyond the end it extrapolates.
        assert!((p.pose_at(12.0).y - 14.0).abs() < 1e-12);
    }

    #[test]
    fn a_right_turn_ends_heading_right_of_where_it_started() {
        let p = Path::turning((0.0, 0.0), 0.0, 10.0, 5.0, -FRAC_PI_2, 20.0);
        let end = p.pose_at(p.length());
        assert!((end.heading + FRAC_PI_2).abs() < 1e-9, "{end:?}");
        // The arc's end is radius forward and radius to the right of its start.
        let arc_end = p.pose_at(p.length() - 20.0);
        assert!(
            (arc_end.x - 15.0).abs() < 1e-6 && (arc_end.y + 5.0).abs() < 1e-6,
            "{arc_end:?}"
        );
    }

    #[test]
    fn a_lane_change_ends_in_the_target_lane() {
        let p = Path::lane_change((0.0, 0.0), 0.0, 3.5, 60.0, 100.0);
        let mid = p.pose_at(30.0);
        assert!((mid.y - 1.75).abs() < 0.05, "{mid:?}");
        let end = p.pose_at(120.0);
        assert!((end.y - 3.5).abs() < 1e-9 && end.heading.abs() < 1e-9);
    }
}
