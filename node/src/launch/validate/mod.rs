//! From the raw TOML to a [`Launch`]: every check that needs more than a
//! type, each error at the position of the value at fault. Sensors and the
//! module have their own files.

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

mod module;
mod sensors;
mod swap;

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
