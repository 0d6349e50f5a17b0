#!/usr/bin/env bash
# Alternates reflector-baseline and switch runs N times, each in its own
# processes, and prints the medians. On a 2-core machine the reflector and
# clearwayd's worker both want the second core, so they never run at the
# same time here (clearway-perf --baseline would measure the reflector while
# an idle clearwayd still spins on that core).
#
#   perf/alternate.sh [N=3] [SECONDS=5] [extra clearway-perf args, e.g. --rate 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}; SECS=${2:-5}; shift $(( $# > 2 ? 2 : $# )) || true
TARGET=${CARGO_TARGET_DIR:-target}
PERF="$TARGET/release/clearway-perf"
DAEMON="$TARGET/release/clearwayd"
OUT=perf/results/alternate
mkdir -p "$OUT"
for i in $(seq "$N"); do
  "$PERF" --baseline-only --seconds "$SECS" --quiet --json "$OUT/baseline-$i.json" "$@" > "$OUT/baseline-$i.txt" 2>&1
  # A socket file left by a clearwayd that died makes the next one fail to bind.
  pgrep -x clearwayd > /dev/null || rm -f /tmp/clearway-memif.sock
  "$DAEMON" > "$OUT/clearwayd-$i.log" 2>&1 &
  daemon=$!
  for _ in $(seq 200); do [ -S /tmp/clearway-memif.sock ] && break; sleep 0.1; done
  "$PERF" --seconds "$SECS" --quiet --json "$OUT/switch-$i.json" "$@" > "$OUT/switch-$i.txt" 2>&1 || true
  kill -INT "$daemon"; wait "$daemon" || true
  echo "run $i done"
done
python3 - "$OUT" "$N" <<'PY'
import json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def load(kind):
    return [json.load(open(f"{out}/{kind}-{i}.json")) for i in range(1, n + 1)]
b, s = load("baseline"), load("switch")
med = lambda rs, k: statistics.median(r[k] for r in rs)
print(f"{n} alternating runs, medians ({len(open('/proc/cpuinfo').read().split('processor')) - 1} cores)")
for name, rs in (("reflector", b), ("switch", s)):
    print(f"  {name:9} tps {med(rs,'tps'):>10.0f}  msgs/s {med(rs,'msgs_per_s'):>10.0f}  "
          f"p50 {med(rs,'p50_us'):>8.1f} us  p99 {med(rs,'p99_us'):>9.1f} us  p99.9 {med(rs,'p999_us'):>9.1f} us  "
          f"lost {sum(r['lost'] for r in rs)}  timeouts {sum(r['timeouts'] for r in rs)}")
base = med(b, 'msgs_per_s')
print(f"  baseline_mpps {base/1e6:.3f}  switch/baseline msgs ratio {med(s,'msgs_per_s')/base:.2f}")
print("  per run msgs/s  reflector:", [round(r['msgs_per_s']) for r in b], " switch:", [round(r['msgs_per_s']) for r in s])
PY
