#!/usr/bin/env bash
# Runs every cargo-fuzz target of the given fuzz crates for a bounded time each.
#   usage: dataplane/wire/fuzz/run-all.sh [SECONDS_PER_TARGET] [FUZZ_DIR...]
# SECONDS defaults to 60; FUZZ_DIRs default to this crate's (wire). `make fuzz`
# passes all of Clearway's: dataplane/wire/fuzz dataplane/clearwayd/fuzz
# controlplane/control/fuzz. A target's dictionary (<dir>/<target>.dict) is
# used when present. Needs `cargo install cargo-fuzz` (0.13 works on stable
# with RUSTC_BOOTSTRAP=1, which this script sets). New inputs libFuzzer finds
# go to corpus/<target>/ and are git-ignored; only seed-* files are kept.
# Exits non-zero on the first target that finds a crash (the reproducer is in
# <dir>/artifacts/<target>/). See docs/fuzzing.md.
set -euo pipefail
seconds="${1:-60}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("${here}")
export RUSTC_BOOTSTRAP=1
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
for dir in "${dirs[@]}"; do
    dir="$(cd "${dir}" && pwd)"
    for target in $(cd "${dir}" && cargo fuzz list); do
        dict=()
        [ -f "${dir}/${target}.dict" ] && dict=("-dict=${dir}/${target}.dict")
        echo "== fuzz ${target} (${dir#"$PWD"/}) for ${seconds}s"
        if ! (cd "${dir}" && cargo fuzz run -O "${target}" -- -max_total_time="${seconds}" -print_final_stats=1 "${dict[@]}") >"${log}" 2>&1; then
            tail -n 60 "${log}" >&2
            echo "fuzz target ${target} failed; reproducer in ${dir}/artifacts/${target}/" >&2
            exit 1
        fi
        grep -E '^(#[0-9]+\s+DONE|Done |stat::number_of_executed_units)' "${log}" || tail -n 3 "${log}"
    done
done
