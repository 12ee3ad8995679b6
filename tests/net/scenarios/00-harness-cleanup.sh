#!/usr/bin/env bash
# The harness itself: tests/net/run.sh cleans up after a scenario that never ran its own
# teardown. A fixture scenario builds two hosts, starts processes inside them that escaped its
# process group (setsid, as a daemonizing program would), writes a per-namespace /etc/netns dir
# and is then KILLed (as `timeout --kill-after` does to a scenario that ignores TERM): its EXIT
# trap never runs. After run.sh returns, nothing of that run is left: no process, no namespace,
# no /etc/netns dir.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

net_up gw-host
fixtures="$NET_DIR/scenarios"
marker="$NET_DIR/stuck-run"
mkdir -p "$fixtures"
cat >"$fixtures/50-stuck.sh" <<'FIXTURE'
source "$NET_REPO_LIB"
net_up gw-host laptop
net_spawn sleeper laptop setsid sleep 300
net_spawn escaper gw-host setsid sleep 300
mkdir -p "/etc/netns/$(net_ns laptop)/ssh"
printf '%s %s %s\n' "$NET_ID" "$(net_pid sleeper)" "$(net_pid escaper)" >"$STUCK_MARKER"
# No teardown: SIGKILL, as timeout's --kill-after delivers it.
kill -KILL $$
FIXTURE

out="$(NET_REPO_LIB="$NET_REPO/tests/net/lib.sh" STUCK_MARKER="$marker" NET_DIR="$NET_DIR/stuck" \
  NET_SCENARIO_DIR="$fixtures" NET_RUN_TIMEOUT=60 NET_SCENARIO_TIMEOUT=30 \
  bash "$NET_REPO/tests/net/run.sh" 2>&1)" && net_fail "run.sh passed a KILLed scenario: $out"
net_expect_contains "$out" "FAIL 50-stuck" "run.sh's verdict"
net_expect_contains "$out" "killed (no teardown of its own; cleaned up by run.sh)" "run.sh's note"
net_expect_contains "$out" "0 passed, 1 failed" "run.sh's summary"
[ -s "$marker" ] || net_fail "the fixture scenario did not get to record its run: $out"
read -r id sleeper escaper <"$marker"
net_say "fixture run $id was KILLed with processes $sleeper and $escaper in its namespaces"

left="$(ip netns list | awk '{print $1}' | grep "^clawlet-net-$id-" || true)"
[ -z "$left" ] || net_fail "namespaces of the KILLed run left: $left"
left="$(ls /etc/netns 2>/dev/null | grep "^clawlet-net-$id-" || true)"
[ -z "$left" ] || net_fail "/etc/netns dirs of the KILLed run left: $left"
for pid in "$sleeper" "$escaper"; do
  # Gone, or (only if the PID was reused at once) no longer that sleep in our namespaces.
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/cmdline" 2>/dev/null | tr '\0' ' ')" = "sleep 300 " ]; then
    net_fail "process $pid of the KILLed run still runs"
  fi
done
net_say "run.sh removed the KILLed run's processes, namespaces and /etc/netns dirs"
