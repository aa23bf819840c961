#!/usr/bin/env bash
# Renders fusion-report's HTML pages in headless Chromium (Debian's
# chromium and chromium-driver, installed here when missing) and checks
# them with browser_check.py: no console errors or warnings, every plot
# present, sized and drawn, a full-page screenshot that is not blank.
#
#   tests/report/run.sh                 check sample pages the Rust tests write
#                                       (a passing, a failing and an empty
#                                       report, and a comparison), and the
#                                       report of an offline replay
#   tests/report/run.sh PAGE.html ...   check these pages
#
# REPORT_VENV chooses where the venv lives (default: target/report-venv);
# REPORT_SCREENSHOTS where the screenshots go (default: a new temp dir).
set -euo pipefail

pages=()
for page in "$@"; do
    pages+=("$(realpath "$page")")
done
cd "$(dirname "$0")/../.."

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "report: installing chromium and chromium-driver" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

venv="${REPORT_VENV:-${CARGO_TARGET_DIR:-target}/report-venv}"
req=tests/report/requirements.txt
tests/venv.sh "$venv" "$req"

if [[ ${#pages[@]} -eq 0 ]]; then
    out="$(mktemp -d)"
    FUSION_REPORT_HTML_OUT="$out" cargo test --quiet -p fusion-report --lib dump_html_for_the_browser_check >/dev/null
    pages=("$out/report-pass.html" "$out/report-fail.html" "$out/report-empty.html" "$out/comparison.html")
    # And what `fusion-node report` writes for a real run: an offline replay
    # of the sample drive with a 1 ms deadline (late frames, a failing
    # gate), alone and against a replay with the default 10 ms.
    cargo test --quiet --locked -p fusion-node --no-run 2>/dev/null
    node="${CARGO_TARGET_DIR:-target}/debug/fusion-node"
    sed -e 's/^deadline = .*/deadline = "1ms"/' -e 's/^max_wait = "5ms"/max_wait = "500us"/' \
        launch/default.toml > "$out/tight.toml"
    for run in default tight; do
        launch=launch/default.toml
        [[ $run == tight ]] && launch="$out/tight.toml"
        "$node" replay recordings/highway-20s.mcap --offline --launch "$launch" -o "$out/$run.mcap" \
            --logs "$out/$run" --frames-log "$out/$run/frames.jsonl" >/dev/null 2>&1
    done
    # Exit 1 is the gate failing, as it should on the tight run.
    "$node" report --hlog "$out/tight/latency.hlog" --misses "$out/tight/misses.jsonl" \
        --frames "$out/tight/frames.jsonl" -o "$out/replay.html" || [[ $? == 1 ]]
    "$node" report --baseline "$out/default/latency.hlog" --candidate "$out/tight/latency.hlog" \
        -o "$out/replay-comparison.html" || [[ $? == 1 ]]
    pages+=("$out/replay.html" "$out/replay-comparison.html")
fi

shots="${REPORT_SCREENSHOTS:-$(mktemp -d)}"
status=0
SE_OFFLINE=true "$venv/bin/python" tests/report/browser_check.py "${pages[@]}" --screenshots "$shots" || status=$?
echo "report: screenshots in $shots"
exit "$status"
