//! From the raw TOML to a [`Launch`]: every check that needs more than a
//! type, each error at the position of the value at fault.

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{ErrorSite, LaunchError, LaunchErrorKind};
use super::raw::{RawAlign, RawExtrinsics, RawIntrinsics, RawLaunch, RawSensor, RawZenoh};
use super::rotation::{normalised, quaternion_from_rpy_deg};
use super::units::format_duration;
use super::*;
use crate::align::MAX_SENSORS;

const MAX_DEADLINE: Duration = Duration::from_secs(1);
const MAX_SKEW_LIMIT: Duration = Duration::from_secs(1);
const MAX_INTERVAL_LIMIT: Duration = Duration::from_secs(60);
const MAX_QUEUE_SIZE: u32 = 1_000;
const MAX_AGE_PENALTY: f64 = 100.0;
const MIN_MEMORY_BYTES: u64 = 1 << 20;
/// A wasm32 memory cannot exceed 4 GiB.
const MAX_MEMORY_BYTES: u64 = 4 << 30;
const MIN_HLOG_INTERVAL: Duration = Duration::from_millis(100);
const MAX_HLOG_INTERVAL: Duration = Duration::from_secs(3_600);
/// Distortion models by coefficient count: equidistant, plumb bob,
/// rational polynomial, and OpenCV's thin-prism and tilted variants.
const DISTORTION_LENGTHS: [usize; 5] = [4, 5, 8, 12, 14];

type Result<T> = std::result::Result<T, LaunchError>;

pub(super) fn launch(text: &str, file: &Path) -> Result<Launch> {
    let site = ErrorSite { file, text };
    let raw: RawLaunch = toml::from_str(text).map_err(|e| site.syntax(&e))?;
    let base = file.parent().unwrap_or(Path::new(""));
    let v = Validator { site, base };

    let name = v.identifier(&raw.name, "node name")?;
    let deadline = match &raw.deadline {
        Some(d) => v.duration_in(d, "deadline", Duration::from_nanos(1), MAX_DEADLINE)?,
        None => DEFAULT_DEADLINE,
    };
    let zenoh = match &raw.zenoh {
        Some(z) => v.zenoh(z)?,
        None => Zenoh::Settings {
            mode: ZenohMode::Peer,
            connect: Vec::new(),
            listen: Vec::new(),
        },
    };
    let sensors = v.sensors(&raw.sensors)?;
    let align = v.align(raw.align.as_ref(), &raw.sensors, &sensors, deadline)?;
    let module = v.module(&raw.module)?;
    let outputs = v.outputs(&raw.outputs, &raw.sensors)?;
    let logs = v.logs(&raw.logs)?;
    Ok(Launch {
        file: file.to_path_buf(),
        name,
        zenoh,
        sensors,
        align,
        deadline,
        module,
        outputs,
        logs,
    })
}

struct Validator<'a> {
    site: ErrorSite<'a>,
    base: &'a Path,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> LaunchError {
        self.site.invalid(span, message)
    }

    /// A ROS-style name: letters, digits and `_`, not starting with a digit.
    fn identifier(&self, s: &Spanned<String>, what: &str) -> Result<String> {
        let name = s.get_ref();
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(self.err(
                s.span(),
                format!(
                    "{what} `{name}` must be letters, digits and `_`, not starting with a digit"
                ),
            ));
        }
        Ok(name.clone())
    }

    /// An absolute topic name: `/` then `/`-separated ROS name segments.
    fn topic(&self, s: &Spanned<String>) -> Result<String> {
        let topic = s.get_ref();
        let ok = topic.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|seg| {
                !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        });
        if !ok {
            return Err(self.err(
                s.span(),
                format!("topic `{topic}` must be absolute, like `/sensors/lidar_top/points` (letters, digits, `_` between single slashes)"),
            ));
        }
        Ok(topic.clone())
    }

    fn frame_id(&self, s: &Spanned<String>) -> Result<String> {
        let id = s.get_ref();
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            return Err(self.err(
                s.span(),
                format!("frame_id `{id}` must be non-empty without spaces"),
            ));
        }
        Ok(id.clone())
    }

    fn duration_in(
        &self,
        d: &Spanned<units::HumanDuration>,
        what: &str,
        min: Duration,
        max: Duration,
    ) -> Result<Duration> {
        let value = d.get_ref().0;
        if value < min || value > max {
            return Err(self.err(
                d.span(),
                format!(
                    "{what} {} is out of range: {} to {}",
                    format_duration(value),
                    format_duration(min),
                    format_duration(max)
                ),
            ));
        }
        Ok(value)
    }

    /// A path relative to the launch file's directory.
    fn path(&self, s: &Spanned<String>) -> Result<PathBuf> {
        if s.get_ref().is_empty() {
            return Err(self.err(s.span(), "empty path"));
        }
        Ok(self.base.join(s.get_ref()))
    }

    /// Checks that `path` can be opened and read; returns its first bytes.
    fn readable(&self, span: Range<usize>, what: &'static str, path: &Path) -> Result<[u8; 4]> {
        let mut head = Vec::with_capacity(4);
        let read = std::fs::File::open(path).and_then(|f| f.take(4).read_to_end(&mut head));
        read.map_err(|source| {
            self.site.at(
                span,
                LaunchErrorKind::Unreadable {
                    what,
                    path: path.to_path_buf(),
                    source,
                },
            )
        })?;
        let mut magic = [0; 4];
        magic[..head.len()].copy_from_slice(&head);
        Ok(magic)
    }

    fn zenoh(&self, z: &RawZenoh) -> Result<Zenoh> {
        if let Some(config) = &z.config {
            // The config file sets mode and endpoints itself.
            let clash = [
                z.mode.as_ref().map(|m| ("mode", m.span())),
                z.connect.as_ref().map(|c| ("connect", c.span())),
                z.listen.as_ref().map(|l| ("listen", l.span())),
            ];
            if let Some((key, span)) = clash.into_iter().flatten().next() {
                return Err(self.err(
                    span,
                    format!(
                        "`{key}` cannot be combined with `config`: set it in the zenoh config file"
                    ),
                ));
            }
            let path = self.path(config)?;
            self.readable(config.span(), "zenoh config", &path)?;
            return Ok(Zenoh::ConfigFile(path));
        }
        let endpoints = |list: &Option<Spanned<Vec<Spanned<String>>>>| -> Result<Vec<String>> {
            let Some(list) = list else {
                return Ok(Vec::new());
            };
            list.get_ref().iter().map(|e| self.endpoint(e)).collect()
        };
        Ok(Zenoh::Settings {
            mode: z.mode.as_ref().map_or(ZenohMode::Peer, |m| *m.get_ref()),
            connect: endpoints(&z.connect)?,
            listen: endpoints(&z.listen)?,
        })
    }

    /// A zenoh endpoint: `protocol/address`, e.g. `tcp/127.0.0.1:7447`.
    fn endpoint(&self, e: &Spanned<String>) -> Result<String> {
        let ok = e.get_ref().split_once('/').is_some_and(|(proto, addr)| {
            !addr.is_empty()
                && proto.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && proto
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
        if !ok {
            return Err(self.err(
                e.span(),
                format!(
                    "zenoh endpoint `{}` must be `protocol/address`, like `tcp/192.168.1.2:7447`",
                    e.get_ref()
                ),
            ));
        }
        Ok(e.get_ref().clone())
    }

    fn sensors(&self, raw: &Spanned<Vec<Spanned<RawSensor>>>) -> Result<Vec<Sensor>> {
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

    fn sensor(&self, index: u16, s: &RawSensor) -> Result<Sensor> {
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
    fn choose_primary(&self, raw: &[Spanned<RawSensor>], sensors: &mut [Sensor]) -> Result<()> {
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

    fn extrinsics(&self, e: &Spanned<RawExtrinsics>) -> Result<Extrinsics> {
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

    fn intrinsics(&self, i: &Spanned<RawIntrinsics>) -> Result<Camera> {
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

    fn align(
        &self,
        raw: Option<&Spanned<RawAlign>>,
        raw_sensors: &Spanned<Vec<Spanned<RawSensor>>>,
        sensors: &[Sensor],
        deadline: Duration,
    ) -> Result<AlignPolicy> {
        let Some(raw) = raw else {
            // The default policy: blame the sensor list for lacking a LiDAR.
            return self
                .trigger_needs_lidar(raw_sensors.span(), sensors)
                .map(|()| AlignPolicy::Trigger {
                    max_skew: DEFAULT_MAX_SKEW,
                    max_wait: DEFAULT_MAX_WAIT,
                });
        };
        match raw.get_ref() {
            RawAlign::Trigger(t) => {
                self.trigger_needs_lidar(raw.span(), sensors)?;
                let max_skew = match &t.max_skew {
                    Some(d) => self.duration_in(d, "max_skew", Duration::ZERO, MAX_SKEW_LIMIT)?,
                    None => DEFAULT_MAX_SKEW,
                };
                let max_wait = match &t.max_wait {
                    Some(d) => {
                        let wait =
                            self.duration_in(d, "max_wait", Duration::ZERO, MAX_SKEW_LIMIT)?;
                        if wait >= deadline {
                            return Err(self.err(
                                d.span(),
                                format!(
                                    "max_wait {} must be shorter than the deadline {}: the wait counts against it",
                                    format_duration(wait),
                                    format_duration(deadline)
                                ),
                            ));
                        }
                        wait
                    }
                    None => DEFAULT_MAX_WAIT.min(deadline / 2),
                };
                Ok(AlignPolicy::Trigger { max_skew, max_wait })
            }
            RawAlign::ApproximateTime(a) => {
                let queue_size = *a.queue_size.get_ref();
                // message_filters warns that a queue of 1 drops many
                // messages; it can starve for good (a property test found
                // such a stream), so the launch file asks for 2 or more.
                if !(2..=MAX_QUEUE_SIZE).contains(&queue_size) {
                    return Err(self.err(
                        a.queue_size.span(),
                        format!("queue_size {queue_size} is out of range: 2 to {MAX_QUEUE_SIZE}"),
                    ));
                }
                let max_interval = match &a.max_interval {
                    Some(d) => Some(self.duration_in(
                        d,
                        "max_interval",
                        Duration::ZERO,
                        MAX_INTERVAL_LIMIT,
                    )?),
                    None => None,
                };
                let age_penalty = match &a.age_penalty {
                    Some(p) => {
                        let v = *p.get_ref();
                        if !(v.is_finite() && (0.0..=MAX_AGE_PENALTY).contains(&v)) {
                            return Err(self.err(
                                p.span(),
                                format!("age_penalty {v} is out of range: 0 to {MAX_AGE_PENALTY}"),
                            ));
                        }
                        v
                    }
                    None => crate::align::DEFAULT_AGE_PENALTY,
                };
                Ok(AlignPolicy::ApproximateTime {
                    queue_size,
                    max_interval,
                    age_penalty,
                })
            }
        }
    }

    fn trigger_needs_lidar(&self, span: Range<usize>, sensors: &[Sensor]) -> Result<()> {
        if sensors.iter().any(|s| s.primary) {
            return Ok(());
        }
        Err(self.err(
            span,
            "the trigger policy needs a LiDAR to trigger frames: add one, or use [align.approximate_time]",
        ))
    }

    fn module(&self, raw: &raw::RawModule) -> Result<Module> {
        let given = raw.path.get_ref();
        let source = if let Some(name) = given.strip_prefix("builtin:") {
            if given != BUILTIN_REFERENCE {
                return Err(self.err(
                    raw.path.span(),
                    format!("unknown built-in module `{name}`; the built-in module is `{BUILTIN_REFERENCE}`"),
                ));
            }
            ModuleSource::BuiltinReference
        } else {
            ModuleSource::File(self.path(&raw.path)?)
        };
        let path = source.path();
        let extension = path.extension().and_then(|e| e.to_str());
        let expected: &[u8; 4] = match extension {
            Some("wasm") => b"\0asm",
            // wasmtime's precompiled artifacts are ELF files.
            Some("cwasm") => b"\x7fELF",
            _ => {
                return Err(self.err(
                    raw.path.span(),
                    format!("module `{given}` must be a .wasm file or a .cwasm file from `fusion-node compile`"),
                ));
            }
        };
        let magic = self.readable(raw.path.span(), "module", &path)?;
        if &magic != expected {
            return Err(self.err(
                raw.path.span(),
                format!(
                    "module `{}` is not a {} file (wrong magic bytes)",
                    path.display(),
                    if expected == b"\0asm" {
                        "WebAssembly"
                    } else {
                        "precompiled .cwasm"
                    }
                ),
            ));
        }
        let memory_bytes = match &raw.memory {
            Some(m) => {
                let bytes = m.get_ref().0;
                if !(MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&bytes) {
                    return Err(self.err(m.span(), "memory is out of range: 1MiB to 4GiB"));
                }
                bytes
            }
            None => DEFAULT_MEMORY_BYTES,
        };
        let parameters = raw
            .parameters
            .iter()
            .map(|(name, value)| {
                let number = match value.get_ref() {
                    toml::Value::Integer(i) => *i as f64,
                    toml::Value::Float(f) if f.is_finite() => *f,
                    toml::Value::Boolean(b) => f64::from(u8::from(*b)),
                    other => {
                        return Err(self.err(
                            value.span(),
                            format!(
                                "parameter `{name}` is a {}; module parameters are numbers or booleans (ABI v1 passes float64)",
                                other.type_str()
                            ),
                        ));
                    }
                };
                Ok((name.clone(), number))
            })
            .collect::<Result<_>>()?;
        Ok(Module {
            source,
            memory_bytes,
            parameters,
        })
    }

    fn outputs(
        &self,
        raw: &raw::RawOutputs,
        sensors: &Spanned<Vec<Spanned<RawSensor>>>,
    ) -> Result<Outputs> {
        let topic = |t: &Option<Spanned<String>>, default: &str| -> Result<String> {
            let Some(t) = t else {
                return Ok(default.to_owned());
            };
            let topic = self.topic(t)?;
            if sensors
                .get_ref()
                .iter()
                .any(|s| *s.get_ref().topic.get_ref() == topic)
            {
                return Err(self.err(
                    t.span(),
                    format!("output topic `{topic}` is also a sensor topic"),
                ));
            }
            Ok(topic)
        };
        let outputs = Outputs {
            tracked_objects: topic(&raw.tracked_objects, DEFAULT_TRACKED_OBJECTS_TOPIC)?,
            markers: topic(&raw.markers, DEFAULT_MARKERS_TOPIC)?,
            diagnostics: topic(&raw.diagnostics, DEFAULT_DIAGNOSTICS_TOPIC)?,
            frame_id: match &raw.frame_id {
                Some(f) => self.frame_id(f)?,
                None => DEFAULT_OUTPUT_FRAME.to_owned(),
            },
        };
        let all = [
            &outputs.tracked_objects,
            &outputs.markers,
            &outputs.diagnostics,
        ];
        if all[0] == all[1] || all[0] == all[2] || all[1] == all[2] {
            let span = [&raw.tracked_objects, &raw.markers, &raw.diagnostics]
                .into_iter()
                .flatten()
                .map(Spanned::span)
                .next_back()
                .unwrap_or(0..0);
            return Err(self.err(span, "the three output topics must differ"));
        }
        Ok(outputs)
    }

    fn logs(&self, raw: &raw::RawLogs) -> Result<Logs> {
        let path = |p: &Option<Spanned<String>>| p.as_ref().map(|p| self.path(p)).transpose();
        Ok(Logs {
            miss_log: path(&raw.miss_log)?,
            hlog: path(&raw.hlog)?,
            hlog_interval: match &raw.hlog_interval {
                Some(d) => {
                    self.duration_in(d, "hlog_interval", MIN_HLOG_INTERVAL, MAX_HLOG_INTERVAL)?
                }
                None => DEFAULT_HLOG_INTERVAL,
            },
            summary: path(&raw.summary)?,
        })
    }
}
