#!/usr/bin/env bash
# Runs the test-network scenarios (tests/net/scenarios/NN-name.sh) one after the other, each
# bounded by NET_SCENARIO_TIMEOUT seconds (default 60; TERM, then KILL NET_SCENARIO_KILL_AFTER
# = 10 s later; a scenario whose worst case is longer declares its own bound in a line
# `# net-timeout: SECONDS`) and the whole run by NET_RUN_TIMEOUT (default 240). Prints PASS/FAIL per
# scenario and ends with the line `N passed, N failed`; exits non-zero on any failure. Needs
# root; scripts/test-net.sh installs what is missing and builds the binary first.
#
#   tests/net/run.sh            every scenario
#   tests/net/run.sh 01 03      only the scenarios whose file name starts with 01 or 03
#
# After every scenario, however it ended (passed, failed, TERMed or KILLed by its timeout, whose
# KILL leaves the scenario's own teardown trap no chance to run), this script removes what that
# run may have left: every process inside its namespaces, the namespaces, their /etc/netns dirs.
#
# No `set -e` on purpose: a failing scenario is a result to count and report, not a reason to
# stop the run (every command whose status matters is checked explicitly).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The scenarios to choose from (the harness's own self-test points it elsewhere).
scenario_dir="${NET_SCENARIO_DIR:-$here/scenarios}"

# The whole run under one deadline (re-exec once under `timeout`).
if [ -z "${NET_RUN_BOUNDED:-}" ]; then
  export NET_RUN_BOUNDED=1
  exec timeout --kill-after=15 "${NET_RUN_TIMEOUT:-240}" bash "${BASH_SOURCE[0]}" "$@"
fi

per="${NET_SCENARIO_TIMEOUT:-60}"
kill_after="${NET_SCENARIO_KILL_AFTER:-10}"
scenarios=()
for file in "$scenario_dir"/*.sh; do
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

ids="$(mktemp "${TMPDIR:-/tmp}/clawlet-net-run.XXXXXX")"
child=""     # the running scenario's `timeout` process
run_id=""    # its run id (the scenario's PID: namespaces clawlet-net-<id>-*)

# cleanup_run ID: kills every process left in run ID's namespaces, deletes the namespaces and
# their /etc/netns dirs (lib.sh's net_cleanup_run; sourcing lib.sh only defines functions).
cleanup_run() {
  [ -n "$1" ] || return 0
  bash -c 'source "$1/lib.sh" && net_cleanup_run "$2"' _ "$here" "$1" ||
    echo "run.sh: cleanup of run $1 failed" >&2
}

# On TERM/INT (the run's own deadline, Ctrl-C): stop the running scenario (its timeout forwards
# the signal to the scenario's process group), KILL it if it lingers, clean up, exit.
on_signal() {
  trap - TERM INT
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$child" 2>/dev/null
    [ -n "$run_id" ] || run_id="$(head -n 1 "$ids" 2>/dev/null)"
    cleanup_run "$run_id"
  fi
  rm -f "$ids"
  echo "run.sh: interrupted" >&2
  exit 143
}
trap on_signal TERM INT

passed=0
failed=0
failed_names=()
start=$SECONDS
for file in "${scenarios[@]}"; do
  name="$(basename "$file" .sh)"
  t0=$SECONDS
  bound="$(sed -n 's/^# net-timeout: *\([0-9][0-9]*\) *$/\1/p' "$file" | head -n 1)"
  bound="${bound:-$per}"
  echo "=== $name"
  : >"$ids"
  run_id=""
  # The scenario runs as `bash FILE` with the PID the wrapper wrote first (exec keeps it), so its
  # run id is known here even if it never gets to clean up. `timeout` gives it a process group of
  # its own: on overrun the scenario gets TERM (its trap tears its hosts down), then KILL.
  # In the background + `wait`, so that a TERM to this script is handled at once (on_signal).
  timeout --kill-after="$kill_after" "$bound" \
    bash -c 'echo "$$" >"$1" && exec bash "$2"' _ "$ids" "$file" &
  child=$!
  wait "$child"
  rc=$?
  child=""
  run_id="$(head -n 1 "$ids")"
  cleanup_run "$run_id"
  if [ "$rc" -eq 0 ]; then
    echo "PASS $name ($((SECONDS - t0)) s)"
    passed=$((passed + 1))
  else
    [ "$rc" -ne 124 ] || echo "$name: timed out after $bound s" >&2
    [ "$rc" -ne 137 ] || echo "$name: killed (no teardown of its own; cleaned up by run.sh)" >&2
    echo "FAIL $name ($((SECONDS - t0)) s, exit $rc)"
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
done
rm -f "$ids"

echo
[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "test network: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
