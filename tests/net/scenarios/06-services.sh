#!/usr/bin/env bash
# Scenario 6 of issue 10: always on. `clawlet gateway install` on gw-host and `clawlet node
# install` on pi write systemd user units (no user manager answers in a namespace: exit 3, the
# unit is written and the output says how to start it; a fake systemctl stands in so the real
# host's manager is never touched); the units pass `systemd-analyze verify`; their ExecStart
# lines, run as written (with their Environment= and EnvironmentFile=), start a gateway on
# gw-host's LAN address and a node on pi that is approved on gw-host and answers an invoke; no
# secret is in either unit. `clawlet doctor` is clean on both hosts, names the node's token
# origin, and sees gw-host's sshd from pi (and reports it once sshd is gone).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789
URL="ws://$NET_GW_ADDR:$PORT"

net_up gw-host pi

# No user manager in a namespace; make that deterministic and keep the real one out of reach.
fake_bin="$NET_DIR/fake-bin"
mkdir -p "$fake_bin"
printf '#!/bin/sh\necho "Failed to connect to bus: No medium found" >&2\nexit 1\n' >"$fake_bin/systemctl"
printf '#!/bin/sh\necho Linger=no\n' >"$fake_bin/loginctl"
chmod 755 "$fake_bin/systemctl" "$fake_bin/loginctl"
FAKE_PATH="PATH=$fake_bin:$PATH"

token="net-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
GW_CONFIG="{\"gateway\":{\"bind\":\"custom\",\"customBindHost\":\"$NET_GW_ADDR\",\"auth\":{\"mode\":\"token\",\"token\":\"$token\"}}}"
net_write_config gw-host "$GW_CONFIG"

# unit_file HOST KIND: the unit install wrote.
unit_file() { echo "$(net_home "$1")/.config/systemd/user/clawlet-$2.service"; }

# install HOST ARG...: `clawlet ARG...` with the fake tools; expects exit 3 (written, not started).
install() {
  local host="$1" rc=0 out
  shift
  out="$(net_clawlet "$host" "$FAKE_PATH" "$@" 2>&1)" || rc=$?
  [ "$rc" -eq 3 ] || net_fail "clawlet $* on $host: exit $rc (3 expected): $out"
  net_expect_contains "$out" "not reachable (Failed to connect to bus" "install output"
  net_expect_contains "$out" "systemctl --user enable --now clawlet-" "install output"
  net_expect_contains "$out" "sudo loginctl enable-linger" "install output (linger hint)"
  printf '%s\n' "$out"
}

# verify FILE: systemd-analyze verify, no complaint at all.
verify() {
  if ! command -v systemd-analyze >/dev/null; then
    # A skipped check is not a pass: only with NET_ALLOW_SKIP=1 (scripts/test-net.sh installs it).
    [ "${NET_ALLOW_SKIP:-0}" = 1 ] ||
      net_fail "systemd-analyze is not installed (Debian package systemd; scripts/test-net.sh installs it), set NET_ALLOW_SKIP=1 to skip the unit check"
    net_say "SKIP systemd-analyze verify (NET_ALLOW_SKIP=1): systemd-analyze is not installed (Debian package systemd)"
    return 0
  fi
  local rt out
  rt="$(mktemp -d "$NET_DIR/xdg-runtime.XXXXXX")"
  out="$(XDG_RUNTIME_DIR="$rt" systemd-analyze --user verify --man=no "$1" 2>&1)" ||
    net_fail "systemd-analyze verify $1: $out"
  [ -z "$out" ] || net_fail "systemd-analyze verify $1 complained: $out"
}

# spawn_unit NAME HOST FILE: runs the unit's ExecStart in HOST as process NAME, with the unit's
# Environment= lines and its EnvironmentFile= (if present), as systemd would.
spawn_unit() {
  local name="$1" host="$2" file="$3" exec line envs=() argv=()
  exec="$(sed -n 's/^ExecStart=//p' "$file")"
  [ -n "$exec" ] || net_fail "no ExecStart in $file"
  # The words here need no systemd-only escapes ($$, %%); refuse rather than misread them.
  [[ "$exec" != *'$'* && "$exec" != *'%'* ]] || net_fail "unexpected escapes in ExecStart: $exec"
  eval "argv=($exec)"
  while IFS= read -r line; do
    eval "envs+=($line)"
  done < <(sed -n 's/^Environment=//p' "$file")
  local env_file
  env_file="$(sed -n 's/^EnvironmentFile=-//p' "$file")"
  if [ -f "$env_file" ]; then
    while IFS= read -r line; do
      [[ "$line" == \#* || -z "$line" ]] && continue
      eval "envs+=($line)"
    done <"$env_file"
  fi
  net_spawn "$name" "$host" "${envs[@]}" "${argv[@]}"
}

# --- gateway on gw-host ---------------------------------------------------------------------
out="$(net_clawlet gw-host gateway install --dry-run --port "$PORT")"
net_expect_contains "$out" "ExecStart=$CLAWLET_BIN gateway run --port $PORT" "dry run"
[ ! -e "$(unit_file gw-host gateway)" ] || net_fail "--dry-run wrote the unit"

install gw-host gateway install --port "$PORT" >/dev/null
gw_unit="$(unit_file gw-host gateway)"
verify "$gw_unit"
net_expect_not_contains "$(cat "$gw_unit")" "$token" "the gateway unit"
net_expect_contains "$(cat "$gw_unit")" "Environment=CLAWLET_CONFIG=$(net_config gw-host)" "the gateway unit"

spawn_unit gw gw-host "$gw_unit"
net_wait_log gw "gateway ready" 30
net_wait_port pi "$NET_GW_ADDR" "$PORT" 10
net_say "the gateway unit's ExecStart serves $URL"

status="$(net_clawlet gw-host gateway status)"
net_expect_contains "$status" "service: clawlet-gateway.service: installed" "gateway status"

# --- node on pi -----------------------------------------------------------------------------
token_file="$(net_home pi)/gateway-token"
mkdir -p "$(net_home pi)"
(umask 077 && printf '%s\n' "$token" >"$token_file")
rc=0
out="$(net_clawlet pi "$FAKE_PATH" node install --url "$URL" --token "$token" 2>&1)" || rc=$?
[ "$rc" -eq 2 ] || net_fail "node install --token: exit $rc (2 expected): $out"
net_expect_not_contains "$out" "$token" "the refusal"
install pi node install --url "$URL" --token-file "$token_file" --display-name pi-svc >/dev/null
node_unit="$(unit_file pi node)"
verify "$node_unit"
net_expect_not_contains "$(cat "$node_unit")" "$token" "the node unit"
net_expect_contains "$(cat "$node_unit")" "--token-file $token_file" "the node unit"

spawn_unit node pi "$node_unit"
net_wait_log node "pairing required" 30
pending() { jq -er '.pending | if length == 1 then .[0].requestId else error("\(length) pending") end' \
  <<<"$(net_clawlet_json gw-host "$1" "$2")"; }
request="$(net_retry 15 pending devices list)"
net_clawlet gw-host devices approve "$request" >/dev/null
net_wait_log node "connected to the gateway" 30
request="$(net_retry 15 pending nodes pending)"
net_clawlet gw-host nodes approve "$request" >/dev/null
invoke() {
  local out
  out="$(net_clawlet_json gw-host nodes invoke --node pi-svc --command system.which --params '{"bins":["sh"]}')"
  jq -e '.ok == true and (.payload | tostring | contains("/sh"))' >/dev/null <<<"$out" || return 1
}
net_retry 20 invoke >/dev/null
net_say "the node unit's ExecStart on pi paired and answers an invoke"

# --- doctor on both hosts -------------------------------------------------------------------
report="$(net_clawlet_json gw-host "$FAKE_PATH" doctor)"
jq -e '.ok == true' >/dev/null <<<"$report" || net_fail "doctor on gw-host: $report"
jq -e '.findings[] | select(.check == "service" and .level == "warn" and (.message | contains("clawlet-gateway.service is installed but the service manager does not answer")))' >/dev/null <<<"$report" ||
  net_fail "doctor on gw-host: service: $report"
jq -e '.findings[] | select(.check == "port" and (.message | contains("in use by a gateway that answers")))' >/dev/null <<<"$report" ||
  net_fail "doctor on gw-host did not see its gateway: $report"
jq -e ".findings[] | select(.check == \"bind\" and .level == \"ok\" and (.message | contains(\"$NET_GW_ADDR is on this host\")))" >/dev/null <<<"$report" ||
  net_fail "doctor on gw-host: bind: $report"

# The same config on pi: that address is not pi's.
net_write_config pi "$GW_CONFIG"
rc=0
report="$(net_clawlet pi doctor --json 2>/dev/null)" || rc=$?
[ "$rc" -eq 1 ] || net_fail "doctor on pi with gw-host's bind: exit $rc (1 expected): $report"
jq -e ".findings[] | select(.check == \"bind\" and .level == \"error\" and (.message | contains(\"$NET_GW_ADDR is not an address of this host\")) and (.fix | length > 0))" >/dev/null <<<"$report" ||
  net_fail "doctor on pi with gw-host's bind: $report"

net_write_config pi "{\"gateway\":{\"mode\":\"remote\",\"remote\":{\"url\":\"$URL\"}}}"
report="$(net_clawlet_json pi doctor)"
jq -e '.ok == true' >/dev/null <<<"$report" || net_fail "doctor on pi: $report"
jq -e ".findings[] | select(.check == \"clock\" and .level == \"ok\" and (.message | contains(\"of the gateway at $URL\")))" >/dev/null <<<"$report" ||
  net_fail "doctor on pi: clock: $report"
jq -e ".findings[] | select(.check == \"node\" and (.message | contains(\"device token(s) for $URL (node)\")))" >/dev/null <<<"$report" ||
  net_fail "doctor on pi: node token: $report"
net_expect_not_contains "$report" "$token" "doctor's report"

# SSH target of a managed tunnel: reachable while sshd runs on gw-host, an error once it is gone.
net_sshd_start
net_write_config pi "{\"gateway\":{\"mode\":\"remote\",\"remote\":{\"transport\":\"ssh\",\"sshTarget\":\"$NET_SSH_TARGET\"}}}"
report="$(net_clawlet_json pi doctor)"
jq -e ".findings[] | select(.check == \"ssh\" and .level == \"ok\" and (.message | contains(\"sshd answers at $NET_GW_ADDR:22\")))" >/dev/null <<<"$report" ||
  net_fail "doctor on pi: ssh: $report"
net_sshd_stop
rc=0
report="$(net_clawlet pi doctor --json 2>/dev/null)" || rc=$?
[ "$rc" -eq 1 ] || net_fail "doctor on pi with sshd gone: exit $rc (1 expected): $report"
jq -e '.findings[] | select(.check == "ssh" and .level == "error")' >/dev/null <<<"$report" ||
  net_fail "doctor on pi with sshd gone: $report"
net_say "doctor: clean on both hosts, the SSH target checked from pi"

# --- stop by PID, uninstall -----------------------------------------------------------------
net_kill node
net_kill gw
out="$(net_clawlet gw-host "$FAKE_PATH" gateway uninstall)"
net_expect_contains "$out" "removed $gw_unit" "gateway uninstall"
[ ! -e "$gw_unit" ] || net_fail "the gateway unit is still there"
net_clawlet pi "$FAKE_PATH" node uninstall >/dev/null
[ ! -e "$node_unit" ] || net_fail "the node unit is still there"
net_say "done"
