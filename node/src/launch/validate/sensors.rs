//! Sensors: names, topics, extrinsics, camera intrinsics, the primary LiDAR.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::*;

impl Validator<'_> {
    pub(super) fn sensors(&self, raw: &Spanned<Vec<Spanned<RawSensor>>>) -> Result<Vec<Sensor>> {
        let list = raw.get_ref();
        if list.is_empty() || list.len() > MAX_SENSORS {
            return Err(self.err(
                raw.span(),
                format!(
                    "{} sensors: a launch file has 1 to {MAX_SENSORS}",
                    list.len()
                ),
            ));
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut topics: HashMap<&str, usize> = HashMap::new();
        let mut sensors = Vec::with_capacity(list.len());
        for (index, s) in list.iter().enumerate() {
            let s = s.get_ref();
            let sensor = self.sensor(index as u16, s)?;
            let line =
                |span: Range<usize>| error::Location::of_offset(self.site.text, span.start).line;
            if let Some(first) = names.insert(s.name.get_ref(), s.name.span().start) {
                return Err(self.err(
                    s.name.span(),
                    format!(
                        "duplicate sensor name `{}` (first on line {})",
                        s.name.get_ref(),
                        line(first..first)
                    ),
                ));
            }
            if let Some(first) = topics.insert(s.topic.get_ref(), s.topic.span().start) {
                return Err(self.err(
                    s.topic.span(),
                    format!(
                        "duplicate topic `{}` (first on line {})",
                        s.topic.get_ref(),
                        line(first..first)
                    ),
                ));
            }
            sensors.push(sensor);
        }
        self.choose_primary(list, &mut sensors)?;
        Ok(sensors)
    }

    pub(super) fn sensor(&self, index: u16, s: &RawSensor) -> Result<Sensor> {
        let kind = *s.kind.get_ref();
        let camera = match (&s.intrinsics, kind) {
            (Some(i), SensorKind::Camera) => Some(self.intrinsics(i)?),
            (None, SensorKind::Camera) => {
                return Err(self.err(
                    s.kind.span(),
                    format!(
                        "camera `{}` needs `intrinsics` (fx, fy, cx, cy, width, height)",
                        s.name.get_ref()
                    ),
                ));
            }
            (Some(i), _) => {
                return Err(self.err(
                    i.span(),
                    format!(
                        "`intrinsics` are for cameras; `{}` is a {}",
                        s.name.get_ref(),
                        kind.name()
                    ),
                ));
            }
            (None, _) => None,
        };
        Ok(Sensor {
            index,
            name: self.identifier(&s.name, "sensor name")?,
            kind,
            topic: self.topic(&s.topic)?,
            frame_id: self.frame_id(&s.frame_id)?,
            primary: false,
            extrinsics: self.extrinsics(&s.extrinsics)?,
            camera,
        })
    }

    /// Marks the trigger LiDAR: the one with `primary = true`, else the
    /// first LiDAR not marked `primary = false`.
    pub(super) fn choose_primary(
        &self,
        raw: &[Spanned<RawSensor>],
        sensors: &mut [Sensor],
    ) -> Result<()> {
        let mut chosen: Option<usize> = None;
        for (i, s) in raw.iter().enumerate() {
            let Some(primary) = &s.get_ref().primary else {
                continue;
            };
            if !*primary.get_ref() {
                continue;
            }
            if sensors[i].kind != SensorKind::Lidar {
                return Err(self.err(
                    primary.span(),
                    "only a LiDAR can be primary (trigger frames)",
                ));
            }
            if let Some(first) = chosen {
                return Err(self.err(
                    primary.span(),
                    format!(
                        "`{}` is already primary; mark one LiDAR only",
                        sensors[first].name
                    ),
                ));
            }
            chosen = Some(i);
        }
        let chosen = chosen.or_else(|| {
            raw.iter().zip(sensors.iter()).position(|(r, s)| {
                s.kind == SensorKind::Lidar
                    && r.get_ref().primary.as_ref().is_none_or(|p| *p.get_ref())
            })
        });
        if let Some(i) = chosen {
            sensors[i].primary = true;
        }
        Ok(())
    }

    pub(super) fn extrinsics(&self, e: &Spanned<RawExtrinsics>) -> Result<Extrinsics> {
        let raw = e.get_ref();
        let finite = |span: Range<usize>, values: &[f64]| {
            if values.iter().all(|v| v.is_finite()) {
                Ok(())
            } else {
                Err(self.err(span, "values must be finite numbers"))
            }
        };
        finite(raw.translation.span(), raw.translation.get_ref())?;
        let rotation_xyzw = match (&raw.quaternion, &raw.rpy_deg) {
            (Some(_), Some(rpy)) => {
                return Err(self.err(rpy.span(), "give `quaternion` or `rpy_deg`, not both"));
            }
            (None, None) => {
                return Err(self.err(
                    e.span(),
                    "extrinsics need a rotation: `quaternion = [x, y, z, w]` or `rpy_deg = [roll, pitch, yaw]`",
                ));
            }
            (Some(q), None) => {
                finite(q.span(), q.get_ref())?;
                normalised(*q.get_ref()).map_err(|norm| {
                    self.err(
                        q.span(),
                        format!("quaternion norm is {norm}, not 1 (order is x, y, z, w)"),
                    )
                })?
            }
            (None, Some(rpy)) => {
                finite(rpy.span(), rpy.get_ref())?;
                quaternion_from_rpy_deg(*rpy.get_ref())
            }
        };
        Ok(Extrinsics {
            translation: *raw.translation.get_ref(),
            rotation_xyzw,
        })
    }

    pub(super) fn intrinsics(&self, i: &Spanned<RawIntrinsics>) -> Result<Camera> {
        let raw = i.get_ref();
        for (name, v) in [("fx", &raw.fx), ("fy", &raw.fy)] {
            if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) {
                return Err(self.err(
                    v.span(),
                    format!("{name} must be a positive number of pixels"),
                ));
            }
        }
        for (name, v) in [("width", &raw.width), ("height", &raw.height)] {
            if *v.get_ref() == 0 {
                return Err(self.err(v.span(), format!("{name} must be at least 1 pixel")));
            }
        }
        for (name, v, size) in [("cx", &raw.cx, &raw.width), ("cy", &raw.cy, &raw.height)] {
            let limit = f64::from(*size.get_ref());
            if !(v.get_ref().is_finite() && (0.0..=limit).contains(v.get_ref())) {
                return Err(self.err(
                    v.span(),
                    format!("{name} must lie in the image, 0 to {limit}"),
                ));
            }
        }
        let distortion = match &raw.distortion {
            None => Vec::new(),
            Some(d) => {
                if !DISTORTION_LENGTHS.contains(&d.get_ref().len())
                    || d.get_ref().iter().any(|c| !c.is_finite())
                {
                    return Err(self.err(
                        d.span(),
                        format!(
                            "distortion has {} coefficients; expected 4, 5, 8, 12 or 14 finite numbers (OpenCV order)",
                            d.get_ref().len()
                        ),
                    ));
                }
                d.get_ref().clone()
            }
        };
        Ok(Camera {
            fx: *raw.fx.get_ref(),
            fy: *raw.fy.get_ref(),
            cx: *raw.cx.get_ref(),
            cy: *raw.cy.get_ref(),
            width: *raw.width.get_ref(),
            height: *raw.height.get_ref(),
            distortion,
        })
    }
}
