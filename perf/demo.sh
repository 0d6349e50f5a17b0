#!/usr/bin/env bash
# The one-minute tour (what `make demo` runs): clearwayd with its embedded
# default configuration (the switch on a memif port, journal and reserve
# accounts on, no hugepages, no NIC), ~10 s of clearway-perf traffic against
# it, then clearwayd's cutoff at stop with the window's settlement summary.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
SECONDS_OF_TRAFFIC=${DEMO_SECONDS:-10}
OUT=perf/results
mkdir -p "$OUT"
# A fresh demo state each time (the journal would otherwise carry on).
rm -rf /tmp/clearway-demo

"$TARGET/release/clearwayd" --run-seconds $((SECONDS_OF_TRAFFIC + 6)) > "$OUT/demo-clearwayd.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
# Wait until the switch runs (memif server socket up).
for _ in $(seq 100); do
  grep -q "clearwayd: switch on" "$OUT/demo-clearwayd.log" 2>/dev/null && break
  sleep 0.1
done
echo "== clearwayd is up =="
grep -v '^\[switch\]' "$OUT/demo-clearwayd.log" | grep -v 'mp action callback' || true

echo "== clearway-perf: ${SECONDS_OF_TRAFFIC} s against clearwayd over memif =="
"$TARGET/release/clearway-perf" --seconds "$SECONDS_OF_TRAFFIC" --json "$OUT/demo.json" --plot "$OUT/plots"

echo "== clearwayd: per-second figures, then the cutoff at stop =="
wait $daemon || true
trap - EXIT
grep -v 'mp action callback' "$OUT/demo-clearwayd.log" | sed -n '/switch on/,$p'
echo "report: $OUT/demo.json, plots: $OUT/plots, settlement files: /tmp/clearway-demo/settlement"
