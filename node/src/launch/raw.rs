//! The launch file as written: serde structs mirroring the TOML, with
//! spans on every value a later check can refuse. `validate.rs` turns it
//! into a [`Launch`](super::Launch).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::units::{ByteSize, HumanDuration};
use super::{SensorKind, ZenohMode};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLaunch {
    pub name: Spanned<String>,
    #[serde(default)]
    pub deadline: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub zenoh: Option<RawZenoh>,
    pub sensors: Spanned<Vec<Spanned<RawSensor>>>,
    #[serde(default)]
    pub align: Option<Spanned<RawAlign>>,
    pub module: RawModule,
    #[serde(default)]
    pub outputs: RawOutputs,
    #[serde(default)]
    pub logs: RawLogs,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZenoh {
    #[serde(default)]
    pub mode: Option<Spanned<ZenohMode>>,
    #[serde(default)]
    pub connect: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub listen: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub config: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSensor {
    pub name: Spanned<String>,
    pub kind: Spanned<SensorKind>,
    pub topic: Spanned<String>,
    pub frame_id: Spanned<String>,
    #[serde(default)]
    pub primary: Option<Spanned<bool>>,
    pub extrinsics: Spanned<RawExtrinsics>,
    #[serde(default)]
    pub intrinsics: Option<Spanned<RawIntrinsics>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtrinsics {
    pub translation: Spanned<[f64; 3]>,
    #[serde(default)]
    pub quaternion: Option<Spanned<[f64; 4]>>,
    #[serde(default)]
    pub rpy_deg: Option<Spanned<[f64; 3]>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIntrinsics {
    pub fx: Spanned<f64>,
    pub fy: Spanned<f64>,
    pub cx: Spanned<f64>,
    pub cy: Spanned<f64>,
    pub width: Spanned<u32>,
    pub height: Spanned<u32>,
    #[serde(default)]
    pub distortion: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawAlign {
    Trigger(RawTrigger),
    ApproximateTime(RawApproximateTime),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    #[serde(default)]
    pub max_skew: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub max_wait: Option<Spanned<HumanDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproximateTime {
    pub queue_size: Spanned<u32>,
    #[serde(default)]
    pub max_interval: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub age_penalty: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModule {
    pub path: Spanned<String>,
    #[serde(default)]
    pub memory: Option<Spanned<ByteSize>>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub swap: Option<RawSwap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSwap {
    #[serde(default)]
    pub watch: Option<Spanned<bool>>,
    #[serde(default)]
    pub poll_interval: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub warmup_frames: Option<Spanned<u32>>,
    #[serde(default)]
    pub watch_frames: Option<Spanned<u32>>,
    #[serde(default)]
    pub rollback_misses: Option<Spanned<u32>>,
    #[serde(default)]
    pub require_signed: Option<Spanned<bool>>,
    #[serde(default)]
    pub trusted_keys: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub min_version: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutputs {
    #[serde(default)]
    pub tracked_objects: Option<Spanned<String>>,
    #[serde(default)]
    pub markers: Option<Spanned<String>>,
    #[serde(default)]
    pub diagnostics: Option<Spanned<String>>,
    #[serde(default)]
    pub frame_id: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogs {
    #[serde(default)]
    pub miss_log: Option<Spanned<String>>,
    #[serde(default)]
    pub hlog: Option<Spanned<String>>,
    #[serde(default)]
    pub hlog_interval: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub summary: Option<Spanned<String>>,
}
