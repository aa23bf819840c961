use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use super::*;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Deterministic, heavy-tailed latencies: mostly 100-1100 µs, one in
/// fifty up to 20 ms (xorshift, so no dependency and no seed drift).
fn latencies(n: usize, mut state: u64) -> impl Iterator<Item = Duration> {
    (0..n).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let base = 100 + state % 1_000;
        let micros = if state.is_multiple_of(50) {
            base * 20
        } else {
            base
        };
        Duration::from_nanos(micros * 1_000 + state % 1_000)
    })
}

#[test]
fn percentiles_of_a_known_uniform_input() {
    let mut h = StageHistograms::new();
    for v in 1..=10_000 {
        h.record(Stage::ModuleExec, us(v));
    }
    let s = Summary::of(&h);
    let m = s.get(Stage::ModuleExec).unwrap();
    assert_eq!(m.count, 10_000);
    // Each percentile is the top of its bucket: at or just above the
    // exact value, by at most 0.1 %.
    for (got, exact) in [
        (m.p50_us, 5_000),
        (m.p90_us, 9_000),
        (m.p99_us, 9_900),
        (m.p999_us, 9_990),
        (m.max_us, 10_000),
    ] {
        assert!(
            got >= exact && got <= exact + exact / 1_000,
            "{got} vs {exact}"
        );
    }
    assert!((m.mean_us - 5_000.5).abs() < 5.0, "{}", m.mean_us);
    assert_eq!(s.get(Stage::Publish).unwrap().count, 0);
    assert_eq!(s.get(Stage::Publish).unwrap().max_us, 0);
}

#[test]
fn durations_round_up_to_microseconds_and_clamp_into_range() {
    let mut h = StageHistograms::new();
    h.record(Stage::FrameBuild, Duration::from_nanos(1));
    h.record(Stage::FrameBuild, Duration::from_nanos(1_500));
    h.record(Stage::FrameBuild, Duration::from_micros(7));
    assert_eq!(h.clamped(Stage::FrameBuild), 0);
    let fb = h.cumulative(Stage::FrameBuild);
    assert_eq!((fb.min(), fb.max(), fb.len()), (1, 7, 3));
    assert_eq!(fb.count_at(2), 1, "1.5 µs rounds up to 2 µs");

    h.record(Stage::StampAge, Duration::ZERO);
    h.record(Stage::StampAge, Duration::from_secs(11));
    h.record(Stage::StampAge, Duration::MAX);
    let age = h.cumulative(Stage::StampAge);
    assert_eq!(h.clamped(Stage::StampAge), 3);
    assert_eq!(age.len(), 3);
    assert_eq!(age.min(), LOWEST_US);
    assert_eq!(
        age.lowest_equivalent(age.max()),
        age.lowest_equivalent(HIGHEST_US)
    );
    assert_eq!(
        h.clamped(Stage::FrameBuild),
        0,
        "clamps are counted per stage"
    );
}

#[test]
fn interval_histograms_reset_and_cumulative_ones_do_not() {
    let mut h = StageHistograms::new();
    h.record(Stage::EndToEnd, us(300));
    h.record(Stage::EndToEnd, us(400));
    h.reset_interval();
    h.record(Stage::EndToEnd, us(500));
    assert_eq!(h.interval(Stage::EndToEnd).len(), 1);
    assert_eq!(h.interval(Stage::EndToEnd).max(), 500);
    assert_eq!(h.cumulative(Stage::EndToEnd).len(), 3);
    assert_eq!(h.cumulative(Stage::EndToEnd).min(), 300);
}

#[test]
fn a_frame_report_records_the_stages_it_has() {
    use crate::host::MissReason;
    use crate::pipeline::{FrameReport, Outcome, StageTimes};
    let stages = StageTimes {
        align_wait: us(100),
        frame_build: us(20),
        module_exec: us(3_000),
        publish: us(40),
        end_to_end: us(3_200),
    };
    let published = FrameReport {
        sequence: 1,
        trigger_stamp_ns: 0,
        trigger_arrival_ns: 0,
        missing_sensors: 0,
        stages,
        outcome: Outcome::Published {
            output_len: 64,
            stamp_age: us(9_000),
        },
    };
    let missed = FrameReport {
        outcome: Outcome::ModuleMiss {
            reason: MissReason::Deadline,
            restarted: false,
        },
        stages: StageTimes {
            module_exec: us(10_200),
            publish: Duration::ZERO,
            end_to_end: us(10_400),
            ..stages
        },
        ..published
    };
    let mut h = StageHistograms::new();
    h.record_frame(&published);
    h.record_frame(&missed);
    let count = |s| h.cumulative(s).len();
    assert_eq!(count(Stage::AlignWait), 2);
    assert_eq!(count(Stage::ModuleExec), 2);
    assert_eq!(count(Stage::Publish), 1);
    assert_eq!(count(Stage::StampAge), 1);
    assert_eq!(count(Stage::EndToEnd), 2);
    let e2e = h.cumulative(Stage::EndToEnd);
    assert!(e2e.equivalent(e2e.max(), 10_400), "the miss is in the tail");
    let age = h.cumulative(Stage::StampAge);
    assert!(age.equivalent(age.max(), 9_000));
}

fn decode(encoded: &str) -> Histogram<u64> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    Deserializer::new().deserialize(&mut &bytes[..]).unwrap()
}

#[test]
fn hlog_round_trips_through_the_crates_own_reader() {
    let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
    let mut h = StageHistograms::new();
    let mut log = HlogWriter::new(Vec::new(), start, &[]).unwrap();
    let mut expected = Vec::new();
    for (i, seed) in [7_u64, 99, 12_345].into_iter().enumerate() {
        for (stage, d) in Stage::ALL
            .iter()
            .cycle()
            .zip(latencies(3_000 + i * 100, seed))
        {
            h.record(*stage, d);
        }
        expected.push(Stage::ALL.map(|s| h.interval(s).clone()));
        log.write_interval(&mut h, Duration::from_millis(5_000 * (i as u64 + 1) + 3))
            .unwrap();
        assert!(Stage::ALL.iter().all(|&s| h.interval(s).is_empty()));
    }
    let text = String::from_utf8(log.into_inner()).unwrap();
    let legend =
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"";
    assert!(text.lines().any(|l| l == legend), "{text}");
    assert!(
        text.contains("#[StartTime: 1700000000.250 (seconds since epoch)]"),
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with("Tag=ModuleExec,"))
            .count()
            == 3
    );

    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(text.as_bytes()) {
        match entry.unwrap() {
            LogEntry::StartTime(t) | LogEntry::BaseTime(t) => {
                assert_eq!(t, Duration::from_millis(1_700_000_000_250));
            }
            LogEntry::Interval(i) => intervals.push((
                i.tag().unwrap().as_str().to_owned(),
                i.start_timestamp(),
                i.duration(),
                i.max(),
                decode(i.encoded_histogram()),
            )),
        }
    }
    assert_eq!(intervals.len(), 3 * Stage::ALL.len());
    for (n, (tag, begin, length, max, hist)) in intervals.iter().enumerate() {
        let (interval, stage) = (n / 6, Stage::ALL[n % 6]);
        assert_eq!(tag, stage.name());
        let begin_ms = if interval == 0 {
            0
        } else {
            5_000 * interval as u64 + 3
        };
        assert_eq!(*begin, Duration::from_millis(begin_ms));
        assert_eq!(
            *length,
            Duration::from_millis(5_000 * (interval as u64 + 1) + 3 - begin_ms)
        );
        let original = &expected[interval][stage.index()];
        assert_eq!(hist, original, "{tag} in interval {interval}");
        assert_eq!(*max, original.max() as f64, "Interval_Max is in µs");
    }
}

#[test]
fn summary_table_is_aligned_and_json_has_every_field() {
    let mut h = StageHistograms::new();
    for (stage, d) in Stage::ALL.iter().cycle().zip(latencies(6_000, 3)) {
        h.record(*stage, d);
    }
    let s = Summary::of(&h);
    let table = s.to_string();
    let widths: Vec<usize> = table.lines().map(|l| l.chars().count()).collect();
    assert_eq!(widths.len(), 7, "{table}");
    assert!(widths.iter().all(|w| *w == widths[0]), "{table}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/summary.json");
    s.write(&path).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let stages = json["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 6);
    assert_eq!(stages[2]["stage"], "ModuleExec");
    for key in [
        "count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us", "clamped",
    ] {
        assert!(stages[2][key].is_number(), "{key} in {json}");
    }
    assert_eq!(stages[2]["count"], 1_000);
    let text = dir.path().join("summary.txt");
    s.write(&text).unwrap();
    assert_eq!(std::fs::read_to_string(text).unwrap(), table);
}

/// Writes an `.hlog` and our own reading of it for `tests/oracle/run.sh`,
/// which decodes the log with hdrhistogram-py and compares.
#[test]
fn dump_hlog_for_the_python_oracle() {
    let Some(dir) = std::env::var_os("FUSION_HLOG_ORACLE_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let mut log = HlogWriter::create(&dir.join("latency.hlog"), start, &[]).unwrap();
    let mut h = StageHistograms::new();
    let mut intervals = Vec::new();
    for i in 0..4_u64 {
        // Stage k gets a different amount and scale of data; Publish
        // stays empty in the second interval.
        for (k, stage) in Stage::ALL.into_iter().enumerate() {
            if stage == Stage::Publish && i == 1 {
                continue;
            }
            for d in latencies(500 * (k + 1), 1 + i * 10 + k as u64) {
                h.record(stage, d * (k as u32 + 1));
            }
        }
        let stages: Vec<_> = Stage::ALL
            .iter()
            .map(|&s| stats(s.name(), h.interval(s)))
            .collect();
        intervals.push(serde_json::json!({ "start_s": 5 * i, "length_s": 5, "stages": stages }));
        log.write_interval(&mut h, Duration::from_secs(5 * (i + 1)))
            .unwrap();
    }
    let summary = Summary::of(&h);
    let expected = serde_json::json!({ "intervals": intervals, "summary": summary });
    std::fs::write(dir.join("expected.json"), expected.to_string()).unwrap();
}

fn stats(tag: &str, h: &Histogram<u64>) -> serde_json::Value {
    let percentiles = [50.0, 90.0, 99.0, 99.9, 100.0].map(|p| (p, h.value_at_percentile(p)));
    serde_json::json!({
        "tag": tag,
        "count": h.len(),
        "min": h.min(),
        "max": h.max(),
        "mean": h.mean(),
        "percentiles": percentiles,
        "buckets": h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect::<Vec<_>>(),
    })
}
