#!/usr/bin/env bash
# Runs every cargo-fuzz target of the wire crate for a bounded time each.
#   usage: fuzz/run-all.sh [SECONDS_PER_TARGET]   (default 60)
# Needs `cargo install cargo-fuzz` (0.13 works on stable with
# RUSTC_BOOTSTRAP=1, which this script sets). New inputs libFuzzer finds go
# to corpus/<target>/ and are git-ignored; only seed-* files are kept.
# Exits non-zero on the first target that finds a crash (the reproducer is
# in artifacts/<target>/).
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
for target in $(cargo fuzz list); do
    echo "== fuzz ${target} for ${seconds}s"
    if ! cargo fuzz run "${target}" -- -max_total_time="${seconds}" >"${log}" 2>&1; then
        tail -n 60 "${log}" >&2
        echo "fuzz target ${target} failed; reproducer in fuzz/artifacts/${target}/" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+\s+DONE|Done )' "${log}" || tail -n 3 "${log}"
done
