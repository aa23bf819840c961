#!/usr/bin/env python3
"""Independent check of `fusion-node report`'s numbers, on PyPI
`hdrhistogram` (hdrhistogram-py) and plain Python.

  report_oracle.py HLOG MISSES REPORT_JSON

The `.hlog` is read by hdrhistogram-py's HistogramLogReader and its
intervals are added up per tag; the report's per-stage count, min, max,
mean and percentiles must agree with that sum (percentiles at Rust's rank,
and by hdrhistogram-py's own get_value_at_percentile where the two round
the rank alike: see hlog_oracle.py), its end-to-end values over the budget
with the sum's buckets, its per-interval p50/p99/max with each interval,
and its miss counts, rate and reasons with the miss log counted here.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from hlog_oracle import HIGHEST_US, LOWEST_US, SIGFIG, check_percentile, fail, near

STAGE_QUANTILES = {"p50_us": 0.5, "p90_us": 0.9, "p99_us": 0.99, "p999_us": 0.999,
                   "p9999_us": 0.9999}
NOT_FRAMES = {"dropped_input", "swap", "rollback", "swap_refused"}
NOT_FAILURES = {"late", "degraded"} | NOT_FRAMES


def main(hlog: Path, misses: Path, report_path: Path) -> None:
    report = json.loads(report_path.read_text())
    reader = HistogramLogReader(str(hlog), HdrHistogram(LOWEST_US, HIGHEST_US, SIGFIG))
    totals: dict[str, HdrHistogram] = {}
    e2e_intervals = []
    while (hist := reader.get_next_interval_histogram()) is not None:
        tag = hist.get_tag()
        totals.setdefault(tag, HdrHistogram(LOWEST_US, HIGHEST_US, SIGFIG)).add(hist)
        if tag == "EndToEnd":
            e2e_intervals.append(hist)
    if not totals:
        fail(f"{hlog}: no intervals")

    ours = {s["stage"]: s for s in report["stages"]}
    if set(ours) != set(totals):
        fail(f"stages {sorted(ours)}, the log has {sorted(totals)}")
    own = ranked = 0
    for tag, total in totals.items():
        s = ours[tag]
        where = f"stage {tag}"
        if total.get_total_count() != s["count"]:
            fail(f"{where}: count {s['count']}, hdrhistogram-py {total.get_total_count()}")
        if not s["count"]:
            continue
        near(total, s["max_us"], total.get_max_value(), f"{where} max")
        near(total, s["min_us"], total.get_min_value(), f"{where} min")
        if abs(total.get_mean_value() - s["mean_us"]) > s["mean_us"] * 1e-3:
            fail(f"{where}: mean {s['mean_us']}, hdrhistogram-py {total.get_mean_value()}")
        for key, q in STAGE_QUANTILES.items():
            own += check_percentile(total, q, s[key], f"{where} {key}")
            ranked += 1

    budget = report["budget_us"]
    e2e = totals["EndToEnd"]
    over = sum(i.count_at_value_iterated_to for i in e2e.get_recorded_iterator()
               if e2e.get_lowest_equivalent_value(i.value_iterated_to) > budget)
    if over != report["frames"]["over_budget"]:
        fail(f"over budget: {report['frames']['over_budget']}, hdrhistogram-py {over}")

    if len(e2e_intervals) != len(report["intervals"]):
        fail(f"{len(report['intervals'])} intervals, the log has {len(e2e_intervals)}")
    for n, (hist, row) in enumerate(zip(e2e_intervals, report["intervals"])):
        if hist.get_total_count() != row["count"]:
            fail(f"interval {n}: count {row['count']}, hdrhistogram-py {hist.get_total_count()}")
        if row["count"]:
            near(hist, row["max_us"], hist.get_max_value(), f"interval {n} max")
            check_percentile(hist, 0.5, row["p50_us"], f"interval {n} p50")
            check_percentile(hist, 0.99, row["p99_us"], f"interval {n} p99")

    records = [json.loads(line) for line in misses.read_text().splitlines() if line.strip()]
    reasons = Counter(r["reason"] for r in records)
    theirs = {c["reason"]: c["count"] for c in report["miss_reasons"]}
    if theirs != dict(reasons):
        fail(f"miss reasons {theirs}, the log has {dict(reasons)}")
    missed = sum(n for reason, n in reasons.items() if reason not in NOT_FRAMES)
    failures = sum(n for reason, n in reasons.items() if reason not in NOT_FAILURES)
    frames = e2e.get_total_count() + reasons.get("dropped_set", 0)
    rate = missed / max(frames, missed) if max(frames, missed) else 0.0
    f = report["frames"]
    if (f["missed"], f["failures"], f["ran"]) != (missed, failures, e2e.get_total_count()):
        fail(f"frames {f}: missed {missed}, failures {failures}, ran {e2e.get_total_count()}")
    if abs(f["miss_rate"] - rate) > 1e-12:
        fail(f"miss rate {f['miss_rate']}, here {rate}")
    print(f"report oracle: {len(totals)} stages, {len(e2e_intervals)} intervals, "
          f"{len(records)} misses and the over-budget count agree with hdrhistogram-py "
          f"({own} of {ranked} percentiles also by its own get_value_at_percentile)")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: report_oracle.py HLOG MISSES REPORT_JSON")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
