#!/usr/bin/env bash
# Short, bounded fuzzing of every target in fuzz/ (cargo-fuzz + libFuzzer) on the *stable*
# toolchain. Exits non-zero if a target crashes (panic, broken invariant, timeout, OOM) and
# prints one summary line per target.
#
#   bash scripts/fuzz-smoke.sh                 # every target, FUZZ_SECONDS (20) each
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh session
#
# Why this works on stable: cargo-fuzz only passes unstable flags for what `--sanitizer none`
# turns off. With it, the build is `cargo build --release --config profile.release.debug=true`
# with RUSTFLAGS `-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-* --cfg fuzzing
# -Clink-dead-code -Cdebug-assertions -Ccodegen-units=1`, all stable options (checked with
# cargo-fuzz 0.13.2 and rustc 1.95.0: no RUSTC_BOOTSTRAP needed). `-Zsanitizer=...`,
# `-Zbuild-std` and careful mode are the only nightly-only parts, and they are not used here.
# The targets are safe Rust (`#![forbid(unsafe_code)]` in node-core), so AddressSanitizer
# would add little; the point is panics, overflows (debug assertions are on) and the session
# invariants. libfuzzer-sys compiles libFuzzer itself, which needs a C++ compiler (g++).
#
# Caches: cargo-fuzz is installed once per machine into ~/.cache/clawlet/tools (skipped when present); builds go to
# target/fuzz; each target's working corpus grows in target/fuzz/corpus/<target> across runs,
# seeded read-only from the committed fuzz/corpus/<target> (which this script never writes).
# Crashes land in fuzz/artifacts/<target>/ (git-ignored); reproduce one with
#   PATH="$PWD/target/tools/bin:$PATH" CARGO_TARGET_DIR=target/fuzz \
#     cargo fuzz run <target> --sanitizer none fuzz/artifacts/<target>/<file>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
# A second bound, in case a machine is much faster than expected.
MAX_RUNS="${FUZZ_RUNS:-20000000}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(parse_frame session admission ws_client)
fi

TOOLS="${CLAWLET_TOOLS_DIR:-$HOME/.cache/clawlet/tools}"
if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
    echo "fuzz-smoke: installing cargo-fuzz into $TOOLS (once per machine)"
    cargo install cargo-fuzz --locked --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"
export CARGO_TARGET_DIR="$ROOT/target/fuzz"

start_all=$(date +%s)
mkdir -p "$CARGO_TARGET_DIR"
if ! cargo fuzz build --sanitizer none >"$CARGO_TARGET_DIR/smoke-build.log" 2>&1; then
    tail -n 40 "$CARGO_TARGET_DIR/smoke-build.log" >&2
    echo "fuzz-smoke: build failed" >&2
    exit 1
fi
build_s=$(($(date +%s) - start_all))

failed=0
summary=()
for target in "${TARGETS[@]}"; do
    work="$CARGO_TARGET_DIR/corpus/$target"
    seeds="$ROOT/fuzz/corpus/$target"
    log="$CARGO_TARGET_DIR/smoke-$target.log"
    mkdir -p "$work"
    corpora=("$work")
    if [ -d "$seeds" ]; then
        corpora+=("$seeds")
    fi
    t0=$(date +%s)
    set +e
    cargo fuzz run "$target" --sanitizer none "${corpora[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -runs="$MAX_RUNS" -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    secs=$(($(date +%s) - t0))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -n 1 || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | awk '{print $2}' || true)
    if [ "$rc" -eq 0 ]; then
        summary+=("fuzz-smoke: $target ok: ${execs:-?} execs in ${secs}s, coverage ${cov:-?} edges")
    else
        failed=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/Test unit written to //' || true)
        summary+=("fuzz-smoke: $target FAILED (exit $rc) after ${execs:-?} execs in ${secs}s; artifact: ${artifact:-none}; log: $log")
        # The panic message and the input that caused it.
        grep -E -m 5 "panicked at|invariant broken|ERROR: libFuzzer" "$log" >&2 || tail -n 30 "$log" >&2
    fi
done

echo "fuzz-smoke: build ${build_s}s, total $(($(date +%s) - start_all))s"
printf '%s\n' "${summary[@]}"
exit "$failed"
