#!/usr/bin/env bash
# Scenario 1 of issue 10, the remote-access guide's main recipe: the gateway stays on gw-host's
# loopback; laptop opens `ssh -N -L 18789:127.0.0.1:18789 clawlet-net@gw-host` (real OpenSSH, host key
# verified), pairs a node through it, and health, status --deep and nodes invoke work through
# the tunnel. The tunnel is killed (the node notices) and reopened: the node reconnects by itself.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789
URL="ws://127.0.0.1:$PORT"

net_up gw-host laptop
net_sshd_start

# The gateway: default bind (loopback) and port, a generated token.
net_gateway_start gw gw-host
banner="$(cat "$(net_log gw)")"
net_expect_contains "$banner" "ws://127.0.0.1:$PORT" "the gateway listens on loopback"
net_expect_not_contains "$banner" "0.0.0.0" "the gateway listens on loopback only"
# Not reachable from laptop without the tunnel.
if NET_CMD_TIMEOUT=3 net_run laptop bash -c "exec 3<>/dev/tcp/$NET_GW_ADDR/$PORT" 2>/dev/null; then
  net_fail "the loopback gateway is reachable on $NET_GW_ADDR:$PORT from laptop"
fi
# The token, printed on gw-host and handed to laptop once, kept in a 0600 file there (out of
# argv: --token-file).
token_file="$(net_home laptop)/gateway-token"
net_clawlet gw-host gateway auth-token >"$token_file" 2>>"$(net_log auth-token)"
chmod 600 "$token_file"
[ "$(tr -d '\n' <"$token_file")" = "$(net_token gw-host)" ] || net_fail "auth-token printed another token"

# On laptop: the tunnel (the system ssh, options from its own ~/.ssh, as a user types it).
start_tunnel() {
  net_spawn tunnel laptop ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o ExitOnForwardFailure=yes -o ServerAliveInterval=2 -o ServerAliveCountMax=2 \
    -N -L "$PORT:127.0.0.1:$PORT" "$NET_SSH_TARGET"
  local deadline=$((SECONDS + 15))
  until NET_CMD_TIMEOUT=2 net_run laptop bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; do
    net_alive tunnel || net_fail "ssh exited: $(tail -n 5 "$(net_log tunnel)")"
    [ "$SECONDS" -lt "$deadline" ] || net_fail "tunnel not listening after 15 s"
    sleep 0.2
  done
}
start_tunnel
net_say "tunnel up: laptop 127.0.0.1:$PORT -> gw-host 127.0.0.1:$PORT"

# The node on laptop pairs through the tunnel: the gateway sees loopback, so the device is
# approved silently.
net_spawn_clawlet node laptop node run --url "$URL" --token-file "$token_file" --display-name laptop-node
net_wait_log node "connected to the gateway" 30
# Nobody approved the device: it is paired, nothing is pending (asked on gw-host itself).
devices="$(net_clawlet_json gw-host devices list)"
[ "$(jq '.paired | length' <<<"$devices")" = 1 ] || net_fail "one paired device expected: $devices"
[ "$(jq -r '.paired[0].roles[0]' <<<"$devices")" = node ] || net_fail "a node expected: $devices"
[ "$(jq '.pending | length' <<<"$devices")" = 0 ] || net_fail "nothing pending expected: $devices"
net_say "the node paired through the tunnel, approved silently (the gateway saw loopback)"

op=(--url "$URL" --token-file "$token_file")

# Its command surface is approved by an operator on laptop, through the tunnel.
pending_node_request() {
  local list
  list="$(net_clawlet_json laptop nodes pending "${op[@]}")"
  jq -er '.pending[0].requestId' <<<"$list"
}
request="$(net_retry 20 pending_node_request)"
net_clawlet laptop nodes approve "$request" "${op[@]}" >/dev/null
net_say "node surface approved (request $request)"

# health, status --deep, nodes invoke from laptop through the tunnel.
health="$(net_clawlet_json laptop health "${op[@]}")"
[ "$(jq -r '.ok' <<<"$health")" = true ] || net_fail "health not ok: $health"
status="$(net_clawlet_json laptop status --deep "${op[@]}")"
net_expect_contains "$status" "laptop-node" "status --deep lists the node"
invoke_which() {
  local out
  out="$(net_clawlet_json laptop nodes invoke --node laptop-node --command system.which \
    --params '{"bins":["sh"]}' "${op[@]}")"
  [ "$(jq -r '.ok' <<<"$out")" = true ] || return 1
  jq -e '.payload | tostring | contains("/sh")' >/dev/null <<<"$out" || return 1
  echo "$out"
}
net_retry 15 invoke_which >/dev/null
net_say "health, status --deep and nodes invoke work through the tunnel"

# Kill the tunnel: the node notices.
net_kill tunnel KILL
net_wait_log node "disconnected from the gateway" 20
net_say "tunnel killed; the node noticed"
# While it is down, the node keeps retrying (and the CLI cannot reach the gateway).
net_wait_log node "reconnecting in" 20
net_wait_log node "cannot reach the gateway" 20
if NET_CMD_TIMEOUT=10 net_clawlet laptop health "${op[@]}" >/dev/null 2>&1; then
  net_fail "health succeeded with the tunnel down"
fi

# Reopen it: the node reconnects by itself and answers again.
start_tunnel
net_wait_log node "connected to the gateway" 40 2
net_retry 15 invoke_which >/dev/null
net_say "tunnel reopened; the node reconnected by itself and answers invokes"
