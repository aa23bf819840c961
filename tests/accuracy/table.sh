#!/usr/bin/env bash
# Regenerates ACCURACY.md's table: for every scenario, one simulated drive
# replayed offline through launch/default.toml (fusion) and
# launch/lidar-only.toml (the same module on the LiDAR alone), each scored
# against the drive's ground truth within RANGE metres.
#
#   tests/accuracy/table.sh [SECONDS] [LIDAR] [RANGE]    (defaults: 20s vlp128 80)
#
# Prints a markdown table on stdout. The drives (about 1.6 GB at the
# defaults) go to a temporary directory that is removed at the end, unless
# KEEP=1 (its path is printed on stderr).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20s}"
lidar="${2:-vlp128}"
range="${3:-80}"
cargo build --quiet --release -p fusion-node
node="${CARGO_TARGET_DIR:-target}/release/fusion-node"
dir="$(mktemp -d)"
echo "accuracy: working in $dir" >&2
if [[ "${KEEP:-0}" != 1 ]]; then
    trap 'rm -rf "$dir"' EXIT
fi

echo "| scenario | configuration | MOTA | MOTP (m) | IDF1 | ID switches | precision | recall | FP | FN | objects |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for scenario in highway urban-intersection sensor-dropout; do
    "$node" simulate --scenario "$scenario" --duration "$seconds" --seed 1 --lidar "$lidar" \
        -o "$dir/$scenario.mcap" >&2
    for config in default lidar-only; do
        "$node" replay "$dir/$scenario.mcap" --offline --launch "launch/$config.toml" \
            -o "$dir/$scenario-$config.mcap" --logs "$dir/logs-$scenario-$config" >&2
        "$node" evaluate "$dir/$scenario-$config.mcap" --max-range "$range" --json \
            > "$dir/$scenario-$config.json"
        python3 - "$dir/$scenario-$config.json" "$scenario" "$config" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["overall"]
f = lambda x, d=3: "-" if x is None else f"{x:.{d}f}"
name = "fusion (default.toml)" if sys.argv[3] == "default" else "LiDAR only (lidar-only.toml)"
print(f"| {sys.argv[2]} | {name} | {f(r['mota'])} | {f(r['motp'], 2)} | {f(r['idf1'])} | "
      f"{r['num_switches']} | {f(r['precision'])} | {f(r['recall'])} | "
      f"{r['num_false_positives']} | {r['num_misses']} | {r['num_objects']} |")
PY
    done
done
