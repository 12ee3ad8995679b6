#!/usr/bin/env bash
# Runs the test-network scenarios (tests/net/scenarios/NN-name.sh) one after the other, each
# bounded by NET_SCENARIO_TIMEOUT seconds (default 60) and the whole run by NET_RUN_TIMEOUT
# (default 240). Prints PASS/FAIL per scenario and ends with the line `N passed, N failed`;
# exits non-zero on any failure. Needs root; scripts/test-net.sh installs what is missing and
# builds the binary first.
#
#   tests/net/run.sh            every scenario
#   tests/net/run.sh 01 03      only the scenarios whose file name starts with 01 or 03
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The whole run under one deadline (re-exec once under `timeout`).
if [ -z "${NET_RUN_BOUNDED:-}" ]; then
  export NET_RUN_BOUNDED=1
  exec timeout --kill-after=15 "${NET_RUN_TIMEOUT:-240}" bash "${BASH_SOURCE[0]}" "$@"
fi

per="${NET_SCENARIO_TIMEOUT:-60}"
scenarios=()
for file in "$here"/scenarios/*.sh; do
  [ -f "$file" ] || continue
  name="$(basename "$file")"
  if [ $# -gt 0 ]; then
    keep=0
    for want in "$@"; do
      [[ "$name" == "$want"* ]] && keep=1
    done
    [ "$keep" -eq 1 ] || continue
  fi
  scenarios+=("$file")
done

passed=0
failed=0
failed_names=()
start=$SECONDS
for file in "${scenarios[@]}"; do
  name="$(basename "$file" .sh)"
  t0=$SECONDS
  echo "=== $name"
  # Its own process group under `timeout`: on overrun the scenario gets TERM (its trap tears
  # its hosts down), then KILL 10 s later.
  if timeout --kill-after=10 "$per" bash "$file"; then
    echo "PASS $name ($((SECONDS - t0)) s)"
    passed=$((passed + 1))
  else
    rc=$?
    [ "$rc" -ne 124 ] || echo "$name: timed out after $per s" >&2
    echo "FAIL $name ($((SECONDS - t0)) s, exit $rc)"
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
done

echo
[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "test network: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
