#!/usr/bin/env bash
# The bench suite (what `make bench` should call): every crate's benches,
# kept short, then one short clearway-perf run against clearwayd (or the
# reflector alone when clearwayd is not built), with a summary in
# perf/results/ (not committed).
#
#   perf/bench.sh                 # all of it
#   PERF_SECONDS=10 perf/bench.sh # longer clearway-perf runs
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=perf/results
SECONDS_PER_RUN=${PERF_SECONDS:-5}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
{
  echo "Clearway bench suite, $(date -u +%FT%TZ), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$summary"

# Criterion benches take the short settings; the custom ones ignore them.
for pkg in $($CARGO metadata --no-deps --format-version 1 |
             python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(p["name"] for p in d["packages"] if any(t["kind"]==["bench"] for t in p["targets"])))'); do
  echo "== cargo bench -p $pkg ==" | tee -a "$summary"
  $CARGO bench -p "$pkg" -- --warm-up-time 1 --measurement-time 3 2>&1 | tee "$OUT/bench-$pkg.txt" |
    grep -E '^[a-z_/0-9 ]+time:|time: |thrpt:|per |/s' | tee -a "$summary" || true
done

$CARGO build --release -p clearway-perf -p clearwayd
PERF="$TARGET/release/clearway-perf"
DAEMON="$TARGET/release/clearwayd"
echo "== clearway-perf, $SECONDS_PER_RUN s per run ==" | tee -a "$summary"
if [ -x "$DAEMON" ]; then
  # Reflector and switch in turn (they would share the second core otherwise).
  perf/alternate.sh 1 "$SECONDS_PER_RUN" | tee -a "$summary"
else
  "$PERF" --baseline-only --seconds "$SECONDS_PER_RUN" --quiet \
    --json "$OUT/clearway-perf.json" --plot "$OUT/plots" | tee -a "$summary"
fi
echo "summary: $summary"
