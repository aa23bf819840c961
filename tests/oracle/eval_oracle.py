#!/usr/bin/env python3
"""Independent check of fusion-evaluate's tracking metrics, on PyPI
`motmetrics` (py-motmetrics).

  eval_oracle.py CASES.json   written by the Rust test
                              `tests::oracle::dump_cases_for_the_python_oracle`
                              (FUSION_EVAL_ORACLE_OUT=CASES.json)

Each case holds generated frames (truth and hypothesis objects as
[id, label, x, y, vx, vy], in message order) and the report fusion-evaluate
made of them. The same frames go into a motmetrics.MOTAccumulator, once for
all objects and once per label with both sides filtered to that label; the
distance matrix is the Euclidean distance of the (x, y) centres, NaN beyond
the case's threshold. Every figure of the report must equal motmetrics'
within 1e-6: counts exactly, ratios that motmetrics gives as NaN or
infinity are null in the report. Position and velocity RMSE, which
motmetrics lacks, are recomputed from its MATCH and SWITCH events.
"""

from __future__ import annotations

import json
import math
import sys

import motmetrics as mm
import numpy as np

TOLERANCE = 1e-6
COUNTS = [
    "num_frames", "num_objects", "num_predictions", "num_unique_objects",
    "num_matches", "num_switches", "num_transfer", "num_ascend", "num_migrate",
    "num_false_positives", "num_misses", "num_detections", "num_fragmentations",
    "mostly_tracked", "partially_tracked", "mostly_lost", "idtp", "idfp", "idfn",
]
RATIOS = ["mota", "motp", "precision", "recall", "idp", "idr", "idf1"]
failures = 0


def fail(msg: str) -> None:
    global failures
    failures += 1
    print(f"eval oracle: {msg}", file=sys.stderr)


def accumulate(frames, threshold, label=None):
    """A MOTAccumulator fed the frames, and the velocities of each
    (frame, id) for the RMSE check."""
    acc = mm.MOTAccumulator()
    velocity = {}
    for frame_id, frame in enumerate(frames):
        truth = [o for o in frame["truth"] if label is None or o[1] == label]
        hyp = [h for h in frame["hyp"] if label is None or h[1] == label]
        dists = np.full((len(truth), len(hyp)), np.nan)
        for r, o in enumerate(truth):
            velocity[(frame_id, "o", o[0])] = (o[4], o[5])
            for c, h in enumerate(hyp):
                dx, dy = h[2] - o[2], h[3] - o[3]
                d = math.sqrt(dx * dx + dy * dy)
                if d <= threshold:
                    dists[r, c] = d
        for h in hyp:
            velocity[(frame_id, "h", h[0])] = (h[4], h[5])
        acc.update([o[0] for o in truth], [h[0] for h in hyp], dists, frameid=frame_id)
    return acc, velocity


def rmse(acc, velocity):
    ev = acc.mot_events
    pairs = ev[ev.Type.isin(["MATCH", "SWITCH"])]
    if len(pairs) == 0:
        return None, None
    position = math.sqrt(float((pairs.D ** 2).mean()))
    sq = []
    for (frame_id, _), row in pairs.iterrows():
        vo = velocity[(frame_id, "o", int(row.OId))]
        vh = velocity[(frame_id, "h", int(row.HId))]
        e2 = (vh[0] - vo[0]) ** 2 + (vh[1] - vo[1]) ** 2
        if math.isfinite(e2):
            sq.append(e2)
    return position, (math.sqrt(sum(sq) / len(sq)) if sq else None)


def compare(where, theirs, ours, rmses):
    for key in COUNTS:
        if int(theirs[key]) != ours[key] or float(theirs[key]) != int(theirs[key]):
            fail(f"{where} {key}: motmetrics {theirs[key]}, ours {ours[key]}")
    for key in RATIOS:
        t, o = float(theirs[key]), ours[key]
        if not math.isfinite(t):
            if o is not None:
                fail(f"{where} {key}: motmetrics {t}, ours {o}")
        elif o is None or abs(t - o) > TOLERANCE:
            fail(f"{where} {key}: motmetrics {t}, ours {o}")
    for key, t in zip(["position_rmse_m", "velocity_rmse_mps"], rmses):
        o = ours[key]
        if (t is None) != (o is None) or (t is not None and abs(t - o) > TOLERANCE):
            fail(f"{where} {key}: from motmetrics' pairs {t}, ours {o}")


def main(path: str) -> None:
    with open(path) as f:
        cases = json.load(f)
    host = mm.metrics.create()
    wanted = COUNTS + RATIOS
    checked = 0
    for case in cases:
        frames, report = case["frames"], case["report"]
        labels = sorted({o[1] for fr in frames for o in fr["truth"] + fr["hyp"]})
        ours_labels = [c["label"] for c in report["per_class"]]
        if labels != ours_labels:
            fail(f"{case['name']}: labels {labels}, ours {ours_labels}")
        scopes = [(None, report["overall"])]
        scopes += [(c["label"], c["metrics"]) for c in report["per_class"]]
        for label, ours in scopes:
            acc, velocity = accumulate(frames, case["threshold"], label)
            theirs = host.compute(acc, metrics=wanted, return_dataframe=False)
            where = f"{case['name']} {'all' if label is None else f'label {label}'}"
            compare(where, theirs, ours, rmse(acc, velocity))
            checked += 1
        o = report["overall"]
        print(f"eval oracle: {case['name']}: {len(frames)} frames, MOTA {o['mota']:.4f}, "
              f"IDF1 {o['idf1']:.4f}, {o['num_switches']} switches, {o['num_false_positives']} FP, "
              f"{o['num_misses']} FN")
    if failures:
        sys.exit(f"eval oracle: {failures} figures differ from motmetrics")
    print(f"eval oracle: {checked} reports ({len(cases)} cases, overall and per class) "
          f"agree with motmetrics {mm.__version__} within {TOLERANCE}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: eval_oracle.py CASES.json")
    main(sys.argv[1])
