//! The aligner's configuration, built from the launch file's `[align]`.

use thiserror::Error;

/// The most sensors a set can hold: the frame's `missing_sensors` is a u64.
pub const MAX_SENSORS: usize = 64;
/// A sensor whose stamp goes back by more than this resets the aligner
/// (a replay that loops); smaller steps back are dropped as out of order.
pub const BACKWARD_JUMP_RESET_NS: i64 = 1_000_000_000;
/// Stamps more than this ahead of the newest stamp seen are dropped.
pub const FUTURE_LIMIT_NS: i64 = 3_600 * 1_000_000_000;
/// After this many future stamps in a row, time really jumped forward:
/// the aligner resets and adopts the new time.
pub const FUTURE_RESET_AFTER: u32 = 16;
/// Per-sensor buffer of the trigger policy, in messages.
pub const DEFAULT_BUFFER_LEN: usize = 16;
/// Triggers the trigger policy holds while waiting for late sensors.
pub const DEFAULT_MAX_PENDING: usize = 4;
/// message_filters' default age penalty.
pub const DEFAULT_AGE_PENALTY: f64 = 0.1;

/// Everything an [`Aligner`](super::Aligner) needs.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignerConfig {
    /// Number of sensors; messages carry indices `0..sensor_count`.
    pub sensor_count: usize,
    /// The alignment policy.
    pub policy: PolicyConfig,
    /// See [`BACKWARD_JUMP_RESET_NS`].
    pub backward_reset_ns: i64,
    /// See [`FUTURE_LIMIT_NS`].
    pub future_limit_ns: i64,
}

impl AlignerConfig {
    /// A configuration with the default robustness thresholds.
    pub fn new(sensor_count: usize, policy: PolicyConfig) -> Self {
        AlignerConfig {
            sensor_count,
            policy,
            backward_reset_ns: BACKWARD_JUMP_RESET_NS,
            future_limit_ns: FUTURE_LIMIT_NS,
        }
    }

    pub(super) fn validate(&self) -> Result<(), AlignConfigError> {
        let n = self.sensor_count;
        if n == 0 || n > MAX_SENSORS {
            return Err(AlignConfigError::SensorCount(n));
        }
        positive("backward_reset_ns", self.backward_reset_ns)?;
        positive("future_limit_ns", self.future_limit_ns)?;
        match &self.policy {
            PolicyConfig::Trigger(c) => {
                if usize::from(c.primary) >= n {
                    return Err(AlignConfigError::Primary {
                        primary: c.primary,
                        sensor_count: n,
                    });
                }
                if c.max_skew_ns < 0 {
                    return Err(AlignConfigError::Negative("max_skew_ns", c.max_skew_ns));
                }
                if c.max_wait_ns < 0 {
                    return Err(AlignConfigError::Negative("max_wait_ns", c.max_wait_ns));
                }
                if c.buffer_len == 0 || c.max_pending == 0 {
                    return Err(AlignConfigError::ZeroCapacity);
                }
            }
            PolicyConfig::ApproximateTime(c) => {
                if c.queue_size == 0 {
                    return Err(AlignConfigError::ZeroCapacity);
                }
                if let Some(m) = c.max_interval_ns
                    && m < 0
                {
                    return Err(AlignConfigError::Negative("max_interval_ns", m));
                }
                if !(c.age_penalty.is_finite() && c.age_penalty >= 0.0) {
                    return Err(AlignConfigError::AgePenalty(c.age_penalty));
                }
                if c.inter_message_lower_bound_ns.len() > n {
                    return Err(AlignConfigError::LowerBounds(
                        c.inter_message_lower_bound_ns.len(),
                    ));
                }
                if let Some(&b) = c.inter_message_lower_bound_ns.iter().find(|b| **b < 0) {
                    return Err(AlignConfigError::Negative(
                        "inter_message_lower_bound_ns",
                        b,
                    ));
                }
            }
        }
        Ok(())
    }
}

fn positive(name: &'static str, value: i64) -> Result<(), AlignConfigError> {
    if value > 0 {
        Ok(())
    } else {
        Err(AlignConfigError::NotPositive(name, value))
    }
}

/// The alignment policy and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyConfig {
    /// The primary LiDAR triggers frames.
    Trigger(TriggerConfig),
    /// message_filters' ApproximateTime.
    ApproximateTime(ApproximateTimeConfig),
}

/// Parameters of the `trigger` policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerConfig {
    /// Index of the sensor whose messages open frames.
    pub primary: u16,
    /// Largest |stamp - trigger stamp| of a message put in a frame.
    pub max_skew_ns: i64,
    /// How long after the trigger's arrival a frame waits for sensors that
    /// have no message within `max_skew` yet.
    pub max_wait_ns: i64,
    /// Messages buffered per sensor; the oldest is dropped beyond it.
    pub buffer_len: usize,
    /// Triggers waiting at once; a further trigger finishes the oldest.
    pub max_pending: usize,
}

impl TriggerConfig {
    /// The policy with default buffer sizes.
    pub fn new(primary: u16, max_skew_ns: i64, max_wait_ns: i64) -> Self {
        TriggerConfig {
            primary,
            max_skew_ns,
            max_wait_ns,
            buffer_len: DEFAULT_BUFFER_LEN,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

/// Parameters of the `approximate_time` policy, as in message_filters.
#[derive(Debug, Clone, PartialEq)]
pub struct ApproximateTimeConfig {
    /// Messages kept per sensor (message_filters' `queue_size`). 1 behaves
    /// as upstream, which can starve for good on some streams; launch files
    /// require at least 2.
    pub queue_size: usize,
    /// Widest set accepted (`max_interval_duration`); `None`: unbounded.
    pub max_interval_ns: Option<i64>,
    /// Preference for newer sets (`age_penalty`), at least 0.
    pub age_penalty: f64,
    /// Per sensor, the least time between two of its messages
    /// (`setInterMessageLowerBound`); missing entries are 0.
    pub inter_message_lower_bound_ns: Vec<i64>,
}

impl ApproximateTimeConfig {
    /// message_filters' defaults: no interval bound, age penalty 0.1.
    pub fn new(queue_size: usize) -> Self {
        ApproximateTimeConfig {
            queue_size,
            max_interval_ns: None,
            age_penalty: DEFAULT_AGE_PENALTY,
            inter_message_lower_bound_ns: Vec::new(),
        }
    }
}

/// Why an [`AlignerConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AlignConfigError {
    /// No sensors, or more than [`MAX_SENSORS`].
    #[error("{0} sensors: the aligner takes 1 to {MAX_SENSORS}")]
    SensorCount(usize),
    /// The trigger sensor is not one of the sensors.
    #[error("primary sensor {primary} is not one of the {sensor_count} sensors")]
    Primary {
        /// The configured primary index.
        primary: u16,
        /// The number of sensors.
        sensor_count: usize,
    },
    /// A duration that must not be negative is.
    #[error("{0} is {1}, must not be negative")]
    Negative(&'static str, i64),
    /// A duration that must be positive is not.
    #[error("{0} is {1}, must be positive")]
    NotPositive(&'static str, i64),
    /// A buffer of zero messages.
    #[error("buffer sizes must be at least 1")]
    ZeroCapacity,
    /// A negative or non-finite age penalty.
    #[error("age_penalty is {0}, must be a finite number >= 0")]
    AgePenalty(f64),
    /// More lower bounds than sensors.
    #[error("{0} inter-message lower bounds for fewer sensors")]
    LowerBounds(usize),
}
