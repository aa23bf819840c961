#!/usr/bin/env python3
"""Independent reader of fusion-node's `.hlog` interval logs, on PyPI
`hdrhistogram` (hdrhistogram-py, HdrHistogram's own Python port).

  hlog_oracle.py DIR    DIR holds `latency.hlog` and `expected.json`, both
                        written by the Rust test
                        `metrics::tests::dump_hlog_for_the_python_oracle`.

Every interval line is decoded by hdrhistogram-py's HistogramLogReader and
compared with what the Rust histograms held before they were written: the
tag, the interval's timestamps, the total count and the count of every
bucket exactly, and min, max, mean and the percentiles.

The two libraries round a percentile's rank differently: Rust takes
ceil(p/100 * n), hdrhistogram-py int(p/100 * n + 0.5). In a sparse tail the
neighbouring ranks can be far apart (p99.9 of 3000 values: rank 2998 against
2997). So each percentile is checked at Rust's rank in the decoded
histogram, and against hdrhistogram-py's own get_value_at_percentile
whenever the two ranks agree. Values may differ by one bucket at most.
The intervals of each tag are then added up (by hdrhistogram-py) and
compared with the run's percentile summary.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

LOWEST_US, HIGHEST_US, SIGFIG = 1, 10_000_000, 3
# The summary's quantiles as Rust passes them (0.999, not 99.9 / 100).
SUMMARY_QUANTILES = {"p50_us": 0.5, "p90_us": 0.9, "p99_us": 0.99, "p999_us": 0.999}


def fail(msg: str) -> None:
    print(f"hlog oracle: {msg}", file=sys.stderr)
    sys.exit(1)


def near(hist: HdrHistogram, ours: int, theirs: int, what: str) -> None:
    """Equal, or one bucket apart."""
    bucket = hist.get_highest_equivalent_value(ours) - hist.get_lowest_equivalent_value(ours) + 1
    if abs(ours - theirs) > bucket:
        fail(f"{what}: ours {ours}, hdrhistogram-py {theirs} (bucket width {bucket})")


def rust_rank(hist: HdrHistogram, quantile: float) -> int:
    """The rank hdrhistogram (Rust) reads `value_at_quantile` at."""
    return max(1, math.ceil(quantile * hist.get_total_count()))


def value_at_rank(hist: HdrHistogram, rank: int) -> int:
    for item in hist.get_recorded_iterator():
        if item.total_count_to_this_value >= rank:
            return hist.get_highest_equivalent_value(item.value_iterated_to)
    return 0


def check_percentile(hist: HdrHistogram, quantile: float, ours: int, what: str) -> bool:
    """Returns whether hdrhistogram-py's own percentile was comparable."""
    rank = rust_rank(hist, quantile)
    near(hist, ours, value_at_rank(hist, rank), what)
    percentile = quantile * 100.0
    if hist.get_target_count_at_percentile(percentile) != rank:
        return False
    near(hist, ours, hist.get_value_at_percentile(percentile), what + " (get_value_at_percentile)")
    return True


def main(out_dir: Path) -> None:
    expected = json.loads((out_dir / "expected.json").read_text())
    text = (out_dir / "latency.hlog").read_text()
    base_time = None
    for line in text.splitlines():
        if line.startswith("#[BaseTime: "):
            base_time = float(line.split()[1])
    if base_time is None or '"StartTimestamp","Interval_Length"' not in text:
        fail("header lacks #[BaseTime] or the legend line")

    reader = HistogramLogReader(str(out_dir / "latency.hlog"),
                                HdrHistogram(LOWEST_US, HIGHEST_US, SIGFIG))
    totals: dict[str, HdrHistogram] = {}
    checked = own = ranked = 0
    for n, interval in enumerate(expected["intervals"]):
        for stage in interval["stages"]:
            hist = reader.get_next_interval_histogram()
            if hist is None:
                fail(f"log ends before interval {n} {stage['tag']}")
            where = f"interval {n} {stage['tag']}"
            if hist.get_tag() != stage["tag"]:
                fail(f"{where}: tag {hist.get_tag()!r}")
            start_ms = (base_time + interval["start_s"]) * 1000.0
            end_ms = start_ms + interval["length_s"] * 1000.0
            if abs(hist.get_start_time_stamp() - start_ms) > 1 or \
                    abs(hist.get_end_time_stamp() - end_ms) > 1:
                fail(f"{where}: time {hist.get_start_time_stamp()}..{hist.get_end_time_stamp()} ms")
            if hist.get_total_count() != stage["count"]:
                fail(f"{where}: count {hist.get_total_count()}, ours {stage['count']}")
            if stage["count"]:
                near(hist, stage["min"], hist.get_min_value(), f"{where} min")
                near(hist, stage["max"], hist.get_max_value(), f"{where} max")
                for p, ours in stage["percentiles"]:
                    own += check_percentile(hist, p / 100.0, ours, f"{where} p{p}")
                    ranked += 1
                theirs = [(hist.get_lowest_equivalent_value(i.value_iterated_to),
                           i.count_at_value_iterated_to)
                          for i in hist.get_recorded_iterator()]
                ours = [(hist.get_lowest_equivalent_value(v), c) for v, c in stage["buckets"]]
                if theirs != ours:
                    fail(f"{where}: bucket counts differ")
                if abs(hist.get_mean_value() - stage["mean"]) > stage["mean"] * 1e-3:
                    fail(f"{where}: mean {hist.get_mean_value()}, ours {stage['mean']}")
            total = totals.setdefault(stage["tag"], HdrHistogram(LOWEST_US, HIGHEST_US, SIGFIG))
            total.add(hist)
            checked += 1
    if reader.get_next_interval_histogram() is not None:
        fail("the log has more intervals than the Rust side wrote")

    for s in expected["summary"]["stages"]:
        total = totals[s["stage"]]
        where = f"summary {s['stage']}"
        if total.get_total_count() != s["count"]:
            fail(f"{where}: count {total.get_total_count()}, ours {s['count']}")
        near(total, s["max_us"], total.get_max_value(), f"{where} max")
        for key, q in SUMMARY_QUANTILES.items():
            own += check_percentile(total, q, s[key], f"{where} {key}")
            ranked += 1
    print(f"hlog oracle: {checked} interval histograms and {len(totals)} stage summaries "
          f"agree with hdrhistogram-py ({own} of {ranked} percentiles also by its own "
          "get_value_at_percentile, the rest differ only in rank rounding)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: hlog_oracle.py DIR")
    main(Path(sys.argv[1]))
