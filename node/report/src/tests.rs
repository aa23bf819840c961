//! Reports built from logs written with the hdrhistogram crate, as the
//! node writes them, checked against the histograms themselves.

use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::rules::{Metric, Stat, Threshold};
use crate::*;

/// An interval of a log under construction.
struct Line<'a> {
    tag: &'a str,
    start_s: f64,
    values: Vec<u64>,
}

/// A `.hlog` as the node writes one: `comments` go in the header, then
/// each line (a `None` tag writes `extra` text verbatim instead).
fn hlog(comments: &[&str], lines: &[Line<'_>]) -> String {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let mut builder = IntervalLogWriterBuilder::new();
    for c in comments {
        builder.add_comment(c);
    }
    let mut log = builder
        .with_start_time(start)
        .with_base_time(start)
        .begin_log_with(&mut out, &mut serializer)
        .unwrap();
    for line in lines {
        let h = histogram(&line.values);
        log.write_histogram(
            &h,
            Duration::from_secs_f64(line.start_s),
            Duration::from_secs(1),
            Some(Tag::new(line.tag).unwrap()),
        )
        .unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn histogram(values: &[u64]) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    for &v in values {
        h.record(v).unwrap();
    }
    h
}

/// Deterministic, spread-out latencies (µs) with a long tail.
fn latencies(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            // 1 ms median, tail to ~40 ms.
            (1_000.0 / (1.0 - u).powf(0.6)).min(9_000_000.0) as u64
        })
        .collect()
}

fn run(hlog_text: &str, misses: Option<&str>, budget_us: Option<f64>) -> Run {
    Run::read(
        RunInputs {
            hlog: Input {
                name: "run.hlog",
                text: hlog_text,
            },
            misses: misses.map(|text| Input {
                name: "misses.jsonl",
                text,
            }),
            frames: None,
        },
        budget_us,
    )
}

fn miss_line(reason: &str, sequence: u64, arrival_ns: i64, sha: &str) -> String {
    format!(
        r#"{{"reason":"{reason}","sequence":{sequence},"trigger_stamp_ns":5,"arrival_ns":{arrival_ns},"budget_us":10000.0,"stages_us":{{"align_wait":1.0,"frame_build":2.0,"module_exec":3.0,"publish":null,"end_to_end":12000.5}},"trap":null,"module_status":null,"module_sha256":"{sha}","missing":["cam_front"],"sensor":null,"dropped":null}}"#
    )
}

#[test]
fn stage_percentiles_equal_the_histogram_of_all_values() {
    let parts: Vec<Vec<u64>> = (0..4).map(|i| latencies(2_500, i)).collect();
    let lines: Vec<Line> = parts
        .iter()
        .enumerate()
        .flat_map(|(i, values)| {
            [
                Line {
                    tag: "ModuleExec",
                    start_s: i as f64,
                    values: values.iter().map(|v| v / 2).collect(),
                },
                Line {
                    tag: "EndToEnd",
                    start_s: i as f64,
                    values: values.clone(),
                },
            ]
        })
        .collect();
    let report = run(&hlog(&[], &lines), None, None).report(&[]).unwrap();
    let all: Vec<u64> = parts.concat();
    let whole = histogram(&all);
    let e2e = report
        .stages
        .iter()
        .find(|s| s.stage == "EndToEnd")
        .unwrap();
    assert_eq!(e2e.count, 10_000);
    for (ours, q) in [
        (e2e.p50_us, 0.5),
        (e2e.p90_us, 0.9),
        (e2e.p99_us, 0.99),
        (e2e.p999_us, 0.999),
        (e2e.p9999_us, 0.9999),
    ] {
        assert_eq!(ours, whole.value_at_quantile(q), "quantile {q}");
    }
    assert_eq!(e2e.max_us, whole.max());
    assert_eq!(e2e.min_us, whole.min());
    assert!((e2e.mean_us - whole.mean()).abs() < 1e-6 * whole.mean());
    // Stages in frame-path order, whatever the log's order.
    let names: Vec<&str> = report.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(names, ["ModuleExec", "EndToEnd"]);
    // One interval row per EndToEnd line, with that line's own numbers.
    assert_eq!(report.intervals.len(), 4);
    let third = histogram(&parts[2]);
    assert_eq!(report.intervals[2].p99_us, third.value_at_quantile(0.99));
    assert_eq!(report.intervals[2].max_us, third.max());
    assert_eq!(report.intervals[2].count, 2_500);
    // The distribution rises to the max at 100 %.
    let dist = &report.distributions[1];
    assert_eq!(dist.stage, "EndToEnd");
    assert!(
        dist.points
            .windows(2)
            .all(|w| w[0].percentile < w[1].percentile && w[0].value_us <= w[1].value_us)
    );
    let last = dist.points.last().unwrap();
    assert_eq!((last.percentile, last.value_us), (100.0, whole.max()));
    // A percentile rule reads the same histogram.
    let p = "p99.9>1us".parse::<Rule>().unwrap();
    let r = run(&hlog(&[], &lines), None, None).report(&[p]).unwrap();
    assert_eq!(
        r.rules[0].actual,
        format!("{}us", whole.value_at_quantile(0.999))
    );
}

#[test]
fn frames_over_budget_are_counted_from_the_histogram() {
    let mut values = vec![5_000; 90];
    values.extend([10_000; 3]); // on the budget: not over
    values.extend([10_100; 4]);
    values.extend([45_000; 3]);
    let text = hlog(
        &[],
        &[Line {
            tag: "EndToEnd",
            start_s: 0.0,
            values,
        }],
    );
    let report = run(&text, None, None)
        .report(&default_rules(false))
        .unwrap();
    assert_eq!(report.frames.over_budget, 7);
    assert_eq!(report.budget_us, DEFAULT_BUDGET_US);
    assert!(!report.verdict.pass);
    assert!(report.verdict.summary.contains("over-budget>0 (actual 7)"));
    // A looser budget passes the same run.
    let report = run(&text, None, Some(50_000.0))
        .report(&default_rules(false))
        .unwrap();
    assert_eq!(report.frames.over_budget, 0);
    assert!(report.verdict.pass, "{}", report.verdict.summary);
    assert_eq!(report.budget_source, "--budget");
    // The node writes its budget into the header too.
    let with_header = text.replacen("#[StartTime", "#[Budget: 50000 us]\n#[StartTime", 1);
    let report = run(&with_header, None, None).report(&[]).unwrap();
    assert_eq!(report.budget_us, 50_000.0);
    assert_eq!(report.budget_source, "hlog header");
}

#[test]
fn misses_are_counted_by_reason_and_make_the_miss_rate() {
    let text = hlog(
        &[],
        &[Line {
            tag: "EndToEnd",
            start_s: 0.0,
            values: vec![2_000; 998],
        }],
    );
    let sha = "ab".repeat(32);
    let mut log = [
        miss_line("deadline", 10, 1_000_000_000, &sha),
        miss_line("late", 11, 2_000_000_000, &sha),
        miss_line("degraded", 12, 3_000_000_000, &sha),
        miss_line("degraded", 13, 3_100_000_000, &sha),
        r#"{"reason":"dropped_set","sequence":null,"arrival_ns":4000000000,"budget_us":10000.0,"module_sha256":"x","missing":[],"dropped":1}"#.into(),
        r#"{"reason":"dropped_set","sequence":null,"arrival_ns":4100000000,"budget_us":10000.0,"module_sha256":"x","missing":[],"dropped":1}"#.into(),
        r#"{"reason":"dropped_input","arrival_ns":5000000000,"budget_us":10000.0,"module_sha256":"x","sensor":"lidar","dropped":7}"#.into(),
    ]
    .join("\n");
    log.push('\n');
    let r = run(&text, Some(&log), None);
    let report = r.report(&default_rules(true)).unwrap();
    let f = &report.frames;
    assert_eq!(f.ran, 998);
    assert_eq!(f.dropped_sets, 2);
    assert_eq!(f.missed, Some(6));
    assert_eq!(f.failures, Some(3)); // deadline + two dropped sets
    assert_eq!(f.dropped_inputs, Some(7));
    assert_eq!(f.miss_rate, Some(6.0 / 1_000.0));
    assert_eq!(report.budget_source, "miss log");
    assert_eq!(report.misses.len(), 7);
    assert_eq!(report.misses[0].time_s, 1.0);
    assert_eq!(report.misses[0].missing, ["cam_front"]);
    assert_eq!(report.misses[0].end_to_end_us, Some(12_000.5));
    let reasons: Vec<(&str, u64)> = report
        .miss_reasons
        .iter()
        .map(|c| (c.reason.as_str(), c.count))
        .collect();
    assert_eq!(
        reasons,
        [
            ("degraded", 2),
            ("dropped_set", 2),
            ("deadline", 1),
            ("dropped_input", 1),
            ("late", 1)
        ]
    );
    assert!(!report.verdict.pass);
    let rule = |text: &str| {
        let rules = parse_rules(text).unwrap();
        r.report(&rules).unwrap().rules[0].clone()
    };
    assert!(rule("miss-rate>0.001").failed);
    assert_eq!(rule("miss-rate>0.001").actual, "0.006");
    assert!(!rule("miss-rate>1%").failed);
    assert_eq!(rule("miss-rate>1%").actual, "0.6%");
    assert!(rule("misses.deadline>0").failed);
    assert!(!rule("misses.trap>0").failed);
    assert!(rule("dropped-inputs>=7").failed);
    assert!(!rule("frames<998").failed);
}

#[test]
fn rules_that_need_the_miss_log_say_so() {
    let text = hlog(&[], &[]);
    let rules = parse_rules("miss-rate>0").unwrap();
    let err = run(&text, None, None).report(&rules).unwrap_err();
    assert!(matches!(err, RuleError::NeedsInput { .. }));
    assert!(err.to_string().contains("--misses"), "{err}");
}

#[test]
fn rules_parse_every_form_and_reject_nonsense() {
    let r: Rule = "module_exec.p99.9>=800us".parse().unwrap();
    assert_eq!(
        r.metric,
        Metric::Latency {
            stage: "ModuleExec",
            stat: Stat::Percentile(99.9)
        }
    );
    assert_eq!(
        r.threshold,
        Threshold::Duration {
            us: 800.0,
            unit: "us"
        }
    );
    let r: Rule = " End-To-End.max < budget ".parse().unwrap();
    assert_eq!(r.text, "End-To-End.max < budget");
    assert_eq!(r.threshold, Threshold::Budget);
    let r: Rule = "p99.9>5ms".parse().unwrap();
    assert_eq!(
        r.metric,
        Metric::Latency {
            stage: "EndToEnd",
            stat: Stat::Percentile(99.9)
        }
    );
    assert_eq!(
        r.threshold,
        Threshold::Duration {
            us: 5_000.0,
            unit: "ms"
        }
    );
    assert_eq!(
        "miss-rate>0.1%".parse::<Rule>().unwrap().threshold,
        Threshold::Percent(0.001)
    );
    assert_eq!(parse_rules("p50>1ms, ,max>2s").unwrap().len(), 2);
    for bad in [
        "p99.9",         // no comparison
        "p99.9>5",       // latency without unit
        "p101>5ms",      // no such percentile
        "warp.p99>5ms",  // no such stage
        "speed>3",       // no such metric
        "misses>1.5",    // not a count
        "misses>5ms",    // a count is not a duration
        "miss-rate>5ms", // nor a rate
        "p99>-1ms",
        "p99>5parsecs",
    ] {
        let err = bad.parse::<Rule>().unwrap_err();
        assert!(matches!(err, RuleError::Syntax { .. }), "{bad}: {err}");
        assert!(err.to_string().contains(bad.trim()), "{err}");
    }
}

#[test]
fn malformed_lines_are_skipped_and_listed() {
    let good = hlog(
        &[],
        &[Line {
            tag: "EndToEnd",
            start_s: 0.0,
            values: vec![1_000; 10],
        }],
    );
    let good_line = good.lines().last().unwrap();
    let text = format!(
        "{good}Tag=EndToEnd,1.0,1.0,5.0,!!!notbase64\nTag=EndToEnd,2.0,1.0,5.0,AAAAAAAA\nTag=EndToEnd,abc,1.0,5.0,{}\ngarbage\n#[BaseTime: soon]\nTag=EndToEnd\n{}\n",
        good_line.rsplit(',').next().unwrap(),
        good_line.replacen("0.000,", "3.000,", 1),
    );
    let misses = "not json\n{\"sequence\":3}\n{\"reason\":\"late\",\"arrival_ns\":\"later\"}\n\n"
        .to_owned()
        + &miss_line("late", 4, 9, "s");
    let report = run(&text, Some(&misses), None)
        .report(&default_rules(true))
        .unwrap();
    // The two good lines are used.
    assert_eq!(report.frames.ran, 20);
    assert_eq!(report.misses.len(), 1);
    let skipped: Vec<(&str, u64)> = report
        .skipped
        .iter()
        .map(|s| (s.file.as_str(), s.line))
        .collect();
    let first_bad = good.lines().count() as u64 + 1;
    assert_eq!(
        skipped,
        [
            ("run.hlog", first_bad),
            ("run.hlog", first_bad + 1),
            ("run.hlog", first_bad + 2),
            ("run.hlog", first_bad + 3),
            ("run.hlog", first_bad + 4),
            ("run.hlog", first_bad + 5),
            ("misses.jsonl", 1),
            ("misses.jsonl", 2),
            ("misses.jsonl", 3),
        ]
    );
    assert!(
        report.skipped[0].reason.contains("base64"),
        "{:?}",
        report.skipped[0]
    );
    assert!(
        report.skipped[7].reason.contains("reason"),
        "{:?}",
        report.skipped[7]
    );
}

#[test]
fn environment_and_module_swaps_come_from_the_log() {
    let sha1 = "1".repeat(64);
    let sha2 = "2".repeat(64);
    let mut text = hlog(
        &[
            "[fusion-node latency histograms]",
            "[Host: car-7]",
            "[CPU: Cortex-A78 x 8]",
            &format!("[Module: {sha1} modules/v1.cwasm]"),
        ],
        &[Line {
            tag: "EndToEnd",
            start_s: 0.0,
            values: vec![900; 5],
        }],
    );
    // A swap after the first interval, then a second interval at 5 s.
    text.push_str(&format!("#[Module: {sha2} modules/v2.cwasm]\n"));
    let second = hlog(
        &[],
        &[Line {
            tag: "EndToEnd",
            start_s: 5.0,
            values: vec![900; 5],
        }],
    );
    text.push_str(second.lines().last().unwrap());
    text.push('\n');
    let misses = miss_line("trap", 9, 6_000_000_000, &sha2);
    let report = run(&text, Some(&misses), None).report(&[]).unwrap();
    let env: Vec<(&str, &str)> = report
        .environment
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(env, [("Host", "car-7"), ("CPU", "Cortex-A78 x 8")]);
    assert_eq!(report.sources.start_time_s, Some(1_750_000_000.0));
    let modules: Vec<(&str, Option<&str>, Option<f64>, u64)> = report
        .modules
        .iter()
        .map(|m| {
            (
                &m.sha256[..1],
                m.detail.as_deref(),
                m.first_seen_s,
                m.misses,
            )
        })
        .collect();
    assert_eq!(
        modules,
        [
            ("1", Some("modules/v1.cwasm"), Some(0.0), 0),
            ("2", Some("modules/v2.cwasm"), Some(5.0), 1)
        ]
    );
}

#[test]
fn offline_replay_times_count_from_the_first_frame() {
    let t0 = 1_750_000_000_000_000_000_i64;
    let misses = [
        miss_line("late", 1, t0 + 2_500_000_000, "s"),
        miss_line("late", 2, t0 + 500_000_000, "s"),
    ]
    .join("\n");
    let frames = format!(
        "{{\"sequence\":0,\"trigger_log_time_ns\":{t0},\"degraded\":false}}\n{{\"sequence\":1,\"trigger_log_time_ns\":{},\"degraded\":true}}\n",
        t0 + 100
    );
    let text = hlog(&[], &[]);
    let r = Run::read(
        RunInputs {
            hlog: Input {
                name: "h",
                text: &text,
            },
            misses: Some(Input {
                name: "m",
                text: &misses,
            }),
            frames: Some(Input {
                name: "f",
                text: &frames,
            }),
        },
        None,
    );
    let report = r.report(&[]).unwrap();
    let times: Vec<f64> = report.misses.iter().map(|m| m.time_s).collect();
    assert_eq!(times, [2.5, 0.5]);
    assert_eq!(report.frames.frames_logged, Some(2));
    assert_eq!(report.frames.frames_degraded, Some(1));
}

#[test]
fn an_empty_run_fails_the_default_gate() {
    let report = run("", Some(""), None)
        .report(&default_rules(true))
        .unwrap();
    assert_eq!(report.frames.ran, 0);
    assert_eq!(report.frames.miss_rate, Some(0.0));
    assert!(!report.verdict.pass);
    assert!(report.verdict.summary.contains("frames<1"));
    assert!(report.stages.is_empty() && report.intervals.is_empty());
}

#[test]
fn a_slower_candidate_is_a_regression() {
    let base = latencies(5_000, 1);
    let slower: Vec<u64> = base.iter().map(|v| v * 13 / 10).collect();
    let tiny: Vec<u64> = vec![3; 5_000];
    let tiny_slower: Vec<u64> = vec![5; 5_000];
    let report = |e2e: &[u64], publish: &[u64]| {
        let text = hlog(
            &[],
            &[
                Line {
                    tag: "Publish",
                    start_s: 0.0,
                    values: publish.to_vec(),
                },
                Line {
                    tag: "EndToEnd",
                    start_s: 0.0,
                    values: e2e.to_vec(),
                },
            ],
        );
        run(&text, None, Some(1e9)).report(&[]).unwrap()
    };
    let a = report(&base, &tiny);
    let same = compare(a.clone(), report(&base, &tiny), 0.10, 20.0);
    assert!(same.verdict.pass, "{}", same.verdict.summary);
    assert!(same.rows.iter().all(|r| !r.regression));
    let c = compare(a, report(&slower, &tiny_slower), 0.10, 20.0);
    assert!(!c.verdict.pass);
    let flagged: Vec<(&str, &str)> = c
        .rows
        .iter()
        .filter(|r| r.regression)
        .map(|r| (r.stage.as_str(), r.metric.as_str()))
        .collect();
    // Publish went from 3 to 5 µs: 67 % slower but only 2 µs. Max is never
    // flagged.
    assert_eq!(
        flagged,
        [
            ("EndToEnd", "p50"),
            ("EndToEnd", "p90"),
            ("EndToEnd", "p99"),
            ("EndToEnd", "p99.9")
        ]
    );
    let p99 = c
        .rows
        .iter()
        .find(|r| r.stage == "EndToEnd" && r.metric == "p99")
        .unwrap();
    assert!((p99.ratio.unwrap() - 1.3).abs() < 0.01, "{p99:?}");
}

#[test]
fn markdown_carries_the_reports_numbers() {
    let values = latencies(1_000, 7);
    let text = hlog(
        &["[Host: a|b<c>]"],
        &[Line {
            tag: "EndToEnd",
            start_s: 0.0,
            values: values.clone(),
        }],
    );
    let misses = miss_line("late", 4, 9, &"c".repeat(64));
    let report = run(&text, Some(&misses), None)
        .report(&parse_rules("p99>1ms").unwrap())
        .unwrap();
    let md = report_markdown(&report);
    let h = histogram(&values);
    let e2e_row = format!(
        "| EndToEnd | 1000 | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
        h.min(),
        h.mean(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.value_at_quantile(0.9999),
        h.max()
    );
    assert!(md.contains(&e2e_row), "{md}");
    assert!(md.contains("**FAIL: p99>1ms (actual "), "{md}");
    assert!(md.contains("| `p99>1ms` |"));
    assert!(md.contains("| Host | a\\|b&lt;c> |"), "{md}");
    assert!(md.contains("`cccccccccccc`"));
    // The JSON form is the same value.
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["stages"][0]["p99_us"], h.value_at_quantile(0.99));
    assert_eq!(json["verdict"]["pass"], false);
}
