//! `fusion-node evaluate`: tracking accuracy of a fused drive against its
//! ground truth (CLEAR MOT, IDF1, precision and recall per class, RMSE).

use std::path::{Path, PathBuf};

use clap::Args;
use fusion_drive::{DriveReader, ReadFilter};
use fusion_evaluate::{EvalConfig, Frame, evaluate};
use fusion_msgs::autoware_perception_msgs::TrackedObjects;

use super::CliError;
use crate::simulate::GROUND_TRUTH_TOPIC;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The fused drive (what `replay --offline -o` or `record` wrote).
    #[arg(value_name = "FUSED")]
    fused: PathBuf,
    /// The drive holding the ground truth, when the fused drive does not.
    #[arg(long, value_name = "DRIVE")]
    ground_truth: Option<PathBuf>,
    /// The topic of the fused objects.
    #[arg(long, default_value = "/fusion/tracked_objects")]
    topic: String,
    /// The topic of the ground truth.
    #[arg(long, default_value = GROUND_TRUTH_TOPIC)]
    truth_topic: String,
    /// A fused object matches a true one within this distance (m).
    #[arg(long, default_value_t = fusion_evaluate::DEFAULT_MATCH_THRESHOLD_M)]
    threshold: f64,
    /// Score only objects (true and fused) within this distance of the
    /// vehicle (m, in the horizontal plane): the region the sensors cover.
    #[arg(long, value_name = "M")]
    max_range: Option<f64>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: EvaluateArgs) -> Result<(), CliError> {
    super::init_logging("warn");
    let mut hypotheses = frames(&args.fused, &args.topic)?;
    let mut truth = frames(
        args.ground_truth.as_deref().unwrap_or(&args.fused),
        &args.truth_topic,
    )?;
    if let Some(range) = args.max_range {
        for frame in hypotheses.iter_mut().chain(truth.iter_mut()) {
            frame.retain_within(range);
        }
    }
    if hypotheses.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no messages on {}",
            args.fused.display(),
            args.topic
        )));
    }
    if truth.is_empty() {
        return Err(CliError::usage(format!(
            "no ground truth on {}",
            args.truth_topic
        )));
    }
    let config = EvalConfig {
        match_threshold_m: args.threshold,
        ..EvalConfig::default()
    };
    let bar = super::progress::bar(1, "evaluating", "runs");
    let report =
        evaluate(truth, hypotheses, &config).map_err(|e| CliError::usage(e.to_string()))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Every `TrackedObjects` on `topic` of the drive at `path`; messages that
/// do not decode are skipped with a warning.
fn frames(path: &Path, topic: &str) -> Result<Vec<Frame>, CliError> {
    let reader =
        DriveReader::open(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let mut messages = reader.messages(ReadFilter::default().with_topics([topic]));
    let mut frames = Vec::new();
    let mut bad = 0u64;
    for message in messages.by_ref() {
        match fusion_msgs::decode::<TrackedObjects>(&message.data) {
            Ok(objects) => frames.push(Frame::from_msg(&objects)),
            Err(_) => bad += 1,
        }
    }
    let issues = messages.into_issues();
    if !issues.is_clean() {
        eprintln!("warning: {}: {issues}", path.display());
    }
    if bad > 0 {
        eprintln!(
            "warning: {}: {bad} messages on {topic} are not TrackedObjects; skipped",
            path.display()
        );
    }
    Ok(frames)
}
