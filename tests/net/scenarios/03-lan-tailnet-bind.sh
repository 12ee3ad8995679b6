#!/usr/bin/env bash
# Scenario 3 of issue 10: the gateway listens off loopback (--bind lan, custom, tailnet) with a
# token. A node on pi reaches it over plaintext ws:// to the private address (the default policy
# allows private IPv4 literals and 100.64.0.0/10: no OPENCLAW_ALLOW_INSECURE_PRIVATE_WS), is NOT
# approved silently, and is approved on gw-host; the same over wss:// with the gateway's
# generated certificate and --tls-fingerprint; a wrong pin sends nothing (the gateway sees only a
# failed TLS handshake); a setup code pairs a fresh node on pi with no approvals.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789
LAN="ws://$NET_GW_ADDR:$PORT"

net_up gw-host pi

# Off loopback the gateway wants an explicit secret (the generated one is for loopback only):
# gateway.auth.token in gw-host's config, which its local CLI reads too.
token="$(net_new_token)"
# gw_config [EXTRA_GATEWAY_KEYS]: writes gw-host's config with the token (and EXTRA).
gw_config() {
  net_write_config gw-host "{\"gateway\":{\"auth\":{\"mode\":\"token\",\"token\":\"$token\"}${1:+,$1}}}"
}
gw_config

# A fresh node identity per step: its own CLAWLET_NODE_DIR on pi.
node_dir() { echo "$(net_node_dir pi)-$1"; }

# request_from_pi NAME PAIRED DEVICES: before node NAME's request is approved, PAIRED devices
# are paired (DEVICES is the `devices list` JSON) and the request came from pi's address, not
# from loopback (so it was not approved silently).
request_from_pi() {
  [ "$(jq '.paired | length' <<<"$3")" = "$2" ] || net_fail "$2 paired devices expected before approval: $3"
  net_expect_contains "$(jq -c '.pending[0]' <<<"$3")" "\"$NET_PI_ADDR\"" "the pending request of $1"
}

# approve_by_hand NAME PAIRED: pairs node NAME (already started, waiting for pairing; display
# name NAME) by hand on gw-host, PAIRED devices being paired before; then an invoke answers.
approve_by_hand() { net_pair_by_hand "$1" "$1" request_from_pi "$1" "$2"; }

# --- --bind lan over ws:// ---------------------------------------------------------------------
net_gateway_start gw gw-host --bind lan
net_expect_contains "$(cat "$(net_log gw)")" "ws://0.0.0.0:$PORT" "--bind lan listens on every interface"
net_expect_contains "$(grep 'gateway ready' "$(net_log gw)")" "--url ws://$NET_GW_ADDR:$PORT" \
  "the ready banner suggests an address other hosts can dial, not 0.0.0.0"
net_wait_port pi "$NET_GW_ADDR" "$PORT" 10

net_spawn_clawlet lan pi "CLAWLET_NODE_DIR=$(node_dir lan)" \
  node run --url "$LAN" --token="$token" --display-name lan
approve_by_hand lan 0
nodes="$(net_clawlet_json gw-host nodes list)"
[ "$(jq -r '.nodes[] | select(.displayName == "lan") | .remoteIp' <<<"$nodes")" = "$NET_PI_ADDR" ] ||
  net_fail "nodes list: the node's address is not pi's: $nodes"
net_say "--bind lan: pi paired over $LAN after approvals on gw-host; invoke answers"

# --- --bind custom (gateway.customBindHost) -----------------------------------------------------
net_kill gw
gw_config "\"customBindHost\":\"$NET_GW_ADDR\""
net_gateway_start gw2 gw-host --bind custom
banner="$(cat "$(net_log gw2)")"
net_expect_contains "$banner" "ws://$NET_GW_ADDR:$PORT" "--bind custom listens on customBindHost"
net_expect_not_contains "$banner" "0.0.0.0" "--bind custom is not every interface"
if NET_CMD_TIMEOUT=3 net_run pi bash -c "exec 3<>/dev/tcp/$NET_GW_TAILNET/$PORT" 2>/dev/null; then
  net_fail "--bind custom also listens on $NET_GW_TAILNET"
fi
# The node reconnects by itself (its device token for this origin) and answers.
net_wait_log lan "connected to the gateway" 40 2
net_retry 15 net_invoke_which lan >/dev/null
net_say "--bind custom ($NET_GW_ADDR): the paired node came back by itself; invoke answers"
net_kill lan

# --- --bind tailnet -----------------------------------------------------------------------------
net_kill gw2
gw_config
net_gateway_start gw3 gw-host --bind tailnet
banner="$(cat "$(net_log gw3)")"
net_expect_contains "$banner" "ws://$NET_GW_TAILNET:$PORT" "--bind tailnet picks the 100.64.0.0/10 address"
if NET_CMD_TIMEOUT=3 net_run pi bash -c "exec 3<>/dev/tcp/$NET_GW_ADDR/$PORT" 2>/dev/null; then
  net_fail "--bind tailnet also listens on $NET_GW_ADDR"
fi
net_spawn_clawlet tailnet pi "CLAWLET_NODE_DIR=$(node_dir tailnet)" \
  node run --url "ws://$NET_GW_TAILNET:$PORT" --token="$token" --display-name tailnet
approve_by_hand tailnet 1
net_say "--bind tailnet ($NET_GW_TAILNET): pi paired after approvals; invoke answers"
net_kill tailnet
net_kill gw3

# --- --bind lan --tls: wss:// with the pinned generated certificate ----------------------------
# The gateway logs TLS handshake failures at debug level. gateway.tls.enabled (same as --tls)
# tells gw-host's own CLI to use wss:// and the local certificate's pin.
gw_config '"tls":{"enabled":true}'
NET_RUST_LOG="info,clawlet_gateway=debug" net_gateway_start gw4 gw-host --bind lan --tls
net_expect_contains "$(cat "$(net_log gw4)")" "wss://0.0.0.0:$PORT" "--tls serves wss://"
fingerprint="$(net_clawlet gw-host gateway tls-fingerprint | tr -d '[:space:]')"
[ -n "$fingerprint" ] || net_fail "no TLS fingerprint"
WSS="wss://$NET_GW_ADDR:$PORT"

# A wrong pin: the node refuses the certificate and sends nothing.
wrong="$(printf '%064d' 0)"
[ "$wrong" != "$fingerprint" ] || net_fail "the zero pin matched"
connected_before="$(net_log_count gw4 "client connected")"
net_spawn_clawlet wrongpin pi "CLAWLET_NODE_DIR=$(node_dir wrongpin)" \
  node run --url "$WSS" --token="$token" --tls-fingerprint "$wrong" --display-name wrongpin
net_wait_log wrongpin "tls fingerprint mismatch" 20
# It retries (a pin error is logged each time); let it try twice before judging.
net_wait_log wrongpin "tls fingerprint mismatch" 20 2
net_wait_log gw4 "TLS handshake failed remote=$NET_PI_ADDR:" 10
net_kill wrongpin
gw4log="$(cat "$(net_log gw4)")"
# From the gateway's side: pi's every connection ended in the TLS handshake; no WebSocket,
# so no connect request and no token reached it.
from_pi="$(grep -F "$NET_PI_ADDR" <<<"$gw4log" || true)"
[ -n "$from_pi" ] || net_fail "the gateway logged nothing from pi"
if grep -vF "TLS handshake failed" <<<"$from_pi"; then
  net_fail "the gateway logged more than failed TLS handshakes from pi: $from_pi"
fi
[ "$(net_log_count gw4 "client connected")" = "$connected_before" ] ||
  net_fail "the wrong-pin node got a WebSocket connection: $gw4log"
net_expect_not_contains "$(cat "$(net_log wrongpin)")" "connected to the gateway" "the wrong-pin node"
net_say "wrong pin: the node refused the certificate (and retries); the gateway saw only a failed TLS handshake"

# The right pin: a fresh node pairs by hand over wss://.
net_spawn_clawlet tls pi "CLAWLET_NODE_DIR=$(node_dir tls)" \
  node run --url "$WSS" --token="$token" --tls-fingerprint "$fingerprint" --display-name tls
approve_by_hand tls 2
net_say "--tls: pi paired over $WSS with the pinned certificate; invoke answers"
net_kill tls
net_kill gw4
gw_config

# --- setup code: a fresh node on pi, no approvals -------------------------------------------------
net_gateway_start gw5 gw-host --bind lan
code="$(net_clawlet_json gw-host devices setup-code --public-url "$LAN" --profile node |
  jq -er '.setupCode')"
paired_before="$(net_clawlet_json gw-host devices list | jq '.paired | length')"
net_spawn_clawlet coded pi "CLAWLET_NODE_DIR=$(node_dir coded)" \
  node run --setup-code "$code" --display-name coded
net_wait_log coded "connected to the gateway" 30
net_retry 20 net_invoke_which coded >/dev/null
devices="$(net_clawlet_json gw-host devices list)"
[ "$(jq '.pending | length' <<<"$devices")" = 0 ] || net_fail "a setup code left a pending request: $devices"
[ "$(jq '.paired | length' <<<"$devices")" = "$((paired_before + 1))" ] || net_fail "the coded node is not paired: $devices"
net_expect_not_contains "$(cat "$(net_log coded)")" "pairing required" "the setup-code node"
net_say "setup code ($LAN, profile node): a fresh node on pi paired with no approvals; invoke answers"
