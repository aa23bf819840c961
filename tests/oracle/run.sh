#!/usr/bin/env bash
# Cross-checks fusion-msgs against independent Python implementations
# (rosbags, mcap-ros2-support), fusion-drive's MCAP drives against PyPI
# mcap, mcap-ros2-support and rosbags, fusion-node's .hlog interval logs
# against hdrhistogram-py, fusion-evaluate's tracking metrics against
# motmetrics, and a running node's TrackedObjects, received with the
# Python zenoh binding (eclipse-zenoh) and decoded with rosbags, in a
# virtualenv this script creates; and the numbers of `fusion-node report`
# against the same hdrhistogram-py.
#
#   tests/oracle/run.sh            check committed golden vectors + our encoder
#   tests/oracle/run.sh regenerate rewrite msgs/tests/golden/vectors.json
#
# ORACLE_VENV chooses where the venv lives (default: target/oracle-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${ORACLE_VENV:-${CARGO_TARGET_DIR:-target}/oracle-venv}"
req=tests/oracle/requirements.txt
tests/venv.sh "$venv" "$req"
py="$venv/bin/python"
golden=msgs/tests/golden/vectors.json

if [[ "${1:-}" == "regenerate" ]]; then
    "$py" tests/oracle/cdr_oracle.py golden "$golden"
    exit 0
fi

"$py" tests/oracle/cdr_oracle.py check-golden "$golden"
ours="$(mktemp -d)/ours.jsonl"
FUSION_ORACLE_OUT="$ours" cargo test --quiet -p fusion-msgs --lib dump_encodings_for_the_python_oracle >/dev/null
"$py" tests/oracle/cdr_oracle.py check-ours "$ours"

hlog_dir="$(mktemp -d)"
FUSION_HLOG_ORACLE_OUT="$hlog_dir" cargo test --quiet -p fusion-node --lib dump_hlog_for_the_python_oracle >/dev/null
"$py" tests/oracle/hlog_oracle.py "$hlog_dir"

eval_cases="$(mktemp -d)/eval_cases.json"
FUSION_EVAL_ORACLE_OUT="$eval_cases" cargo test --quiet -p fusion-evaluate --lib dump_cases_for_the_python_oracle >/dev/null
"$py" tests/oracle/eval_oracle.py "$eval_cases"

drive_dir="$(mktemp -d)"
FUSION_DRIVE_ORACLE_OUT="$drive_dir" cargo test --quiet -p fusion-drive --test oracle_dump >/dev/null
"$py" tests/oracle/mcap_oracle.py "$drive_dir"

# The binary the test build made (a plain `cargo build` resolves other
# features for wasmtime and zenoh and would build them all again).
cargo test --quiet --locked -p fusion-node --no-run 2>/dev/null
"$py" tests/oracle/node_oracle.py "${CARGO_TARGET_DIR:-target}/debug/fusion-node"

# `fusion-node report` on the logs of an offline replay of the sample drive,
# run with a 300 µs deadline so that many frames miss it (`late`).
report_dir="$(mktemp -d)"
node="${CARGO_TARGET_DIR:-target}/debug/fusion-node"
sed -e 's/^deadline = .*/deadline = "300us"/' -e 's/^max_wait = "5ms"/max_wait = "100us"/' \
    launch/default.toml > "$report_dir/launch.toml"
"$node" replay recordings/highway-20s.mcap --offline --duration 10s --launch "$report_dir/launch.toml" \
    -o "$report_dir/fused.mcap" --logs "$report_dir/logs" >/dev/null 2>&1
"$node" report --hlog "$report_dir/logs/latency.hlog" --misses "$report_dir/logs/misses.jsonl" \
    --fail-on 'frames<1' -o "$report_dir/report.json"
"$py" tests/oracle/report_oracle.py "$report_dir/logs/latency.hlog" \
    "$report_dir/logs/misses.jsonl" "$report_dir/report.json"
