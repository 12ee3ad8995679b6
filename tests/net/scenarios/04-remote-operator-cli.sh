#!/usr/bin/env bash
# Scenario 4 of issue 10: a remote operator CLI that keeps its scopes. Off loopback a
# device-less operator gets no scopes, so clawlet's CLI signs with a device identity of its own
# (laptop's ~/.clawlet/identity) and is paired once: its first connect leaves a pending request
# that `clawlet devices approve` on gw-host approves (the CLI prints that command with the id),
# and every later command from laptop (nodes list/approve/invoke of a node on pi, devices
# list/approve, status --deep) works on the device token alone, over ws:// to the LAN
# address, over wss:// with a pin from a `--profile operator` setup code (`clawlet pair`), and
# through the managed SSH tunnel (a token kept under the tunnel's stable origin).
# The token only goes to the origin that issued it; a wrong pin sends nothing.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789
LAN="ws://$NET_GW_ADDR:$PORT"

net_up gw-host laptop pi

token="net-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
gw_config() {
  net_write_config gw-host "{\"gateway\":{\"auth\":{\"mode\":\"token\",\"token\":\"$token\"}${1:+,$1}}}"
}
gw_config
identity="$(net_home laptop)/.clawlet/identity"

# Captures stderr and the exit status of a command that must fail: prints stderr.
must_fail() {
  local err status=0
  err="$("$@" 2>&1 >/dev/null)" || status=$?
  [ "$status" -ne 0 ] || net_fail "expected a failure: $*"
  echo "$err"
}

# --- ws:// on the LAN: pending request, approved on gw-host -------------------------------------
net_gateway_start gw gw-host --bind lan --port "$PORT"
net_wait_port laptop "$NET_GW_ADDR" "$PORT" 10

err="$(must_fail net_clawlet laptop nodes list --url "$LAN" --token="$token")"
net_expect_contains "$err" "pairing required" "the unpaired CLI's error"
net_expect_contains "$err" "On the gateway host run:" "the unpaired CLI's error"
request="$(grep -oE 'clawlet devices approve [0-9a-f-]{36}' <<<"$err" | head -1 | awk '{print $4}')"
[ -n "$request" ] || net_fail "no request id in the CLI's hint: $err"
net_say "unpaired: the CLI printed 'clawlet devices approve $request' and exited non-zero"

pending="$(net_clawlet_json gw-host devices list)"
entry="$(jq -c --arg r "$request" '.pending[] | select(.requestId == $r)' <<<"$pending")"
[ -n "$entry" ] || net_fail "request $request is not pending on gw-host: $pending"
net_expect_contains "$entry" "\"$NET_LAPTOP_ADDR\"" "the pending request (laptop's address)"
[ "$(jq -r '.clientId + "/" + .role' <<<"$entry")" = cli/operator ] || net_fail "not the CLI's request: $entry"
for scope in operator.admin operator.pairing operator.read operator.write operator.approvals; do
  jq -e --arg s "$scope" '.scopes | index($s)' >/dev/null <<<"$entry" || net_fail "$scope not requested: $entry"
done
net_clawlet gw-host devices approve "$request" >/dev/null
net_say "gw-host approved the CLI's device (all five operator scopes in one request)"

# The shared token once more: hello-ok carries the device token, kept 0600 for this origin.
net_clawlet_json laptop nodes list --url "$LAN" --token="$token" >/dev/null
[ "$(stat -c %a "$identity")" = 700 ] || net_fail "identity dir is not 0700"
for f in identity.json device-tokens.json; do
  [ "$(stat -c %a "$identity/$f")" = 600 ] || net_fail "$f is not 0600"
done
jq -e --arg o "$LAN" '.tokens[] | select(.origin == $o and .role == "operator")' \
  "$identity/device-tokens.json" >/dev/null || net_fail "no operator token for $LAN"
net_expect_not_contains "$(cat "$(net_log gw)")" "$token" "the gateway log"

# From now on: the device token alone, from the config (remote mode, no secret anywhere).
net_write_config laptop "{\"gateway\":{\"mode\":\"remote\",\"remote\":{\"url\":\"$LAN\"}}}"
net_clawlet_json laptop nodes list >/dev/null
net_clawlet_json laptop devices list >/dev/null
status="$(net_clawlet_json laptop status --deep)"
jq -e '.nodes and .health and .presence' >/dev/null <<<"$status" || net_fail "status --deep: $status"
net_say "laptop: nodes list, devices list and status --deep work on its device token alone"

# nodes approve/invoke from laptop: a node on pi, paired and approved entirely from laptop.
net_spawn_clawlet node pi node run --url "$LAN" --token="$token" --display-name pi
net_wait_log node "pairing required" 20
pending_of() {
  local list
  list="$(net_clawlet_json laptop "$1" "$2")"
  jq -er '.pending | if length == 1 then .[0].requestId else error("\(length) pending") end' <<<"$list"
}
node_device="$(net_retry 15 pending_of devices list)"
net_clawlet laptop devices approve "$node_device" >/dev/null
net_wait_log node "connected to the gateway" 30
surface="$(net_retry 15 pending_of nodes pending)"
net_clawlet laptop nodes approve "$surface" >/dev/null
# invoke_which [NODE]: system.which on NODE (default pi) from laptop, as laptop's config says.
invoke_which() {
  local out
  out="$(net_clawlet_json laptop nodes invoke --node "${1:-pi}" --command system.which --params '{"bins":["sh"]}')"
  jq -e '.ok == true and (.payload | tostring | contains("/sh"))' >/dev/null <<<"$out" || return 1
}
net_retry 15 invoke_which
net_say "laptop approved pi's device and commands and invoked system.which on it"

# The token belongs to its origin: the same gateway at another address gets nothing.
err="$(must_fail net_clawlet laptop nodes list --url "ws://$NET_GW_TAILNET:$PORT")"
net_expect_contains "$err" "explicit credentials" "another origin without a secret"
net_say "the device token is not offered to ws://$NET_GW_TAILNET:$PORT (another origin)"
net_kill node
net_kill gw

# --- wss:// with a setup code: clawlet pair (pin from the code), --save --------------------------
gw_config '"tls":{"enabled":true}'
NET_RUST_LOG="info,clawlet_gateway=debug" net_gateway_start gw2 gw-host --bind lan --tls --port "$PORT"
WSS="wss://$NET_GW_ADDR:$PORT"
fingerprint="$(net_clawlet gw-host gateway tls-fingerprint | tr -d '[:space:]')"
issued="$(net_clawlet_json gw-host devices setup-code --profile operator --public-url "$WSS")"
[ "$(jq -r .access <<<"$issued")" = operator ] || net_fail "setup code: $issued"
code="$(jq -r .setupCode <<<"$issued")"

# A wrong pin first: refused before any WebSocket, so nothing (no token) reached the gateway.
connected_before="$(net_log_count gw2 "client connected")"
err="$(must_fail net_clawlet laptop nodes list --url "$WSS" --token="$token" --tls-fingerprint "$(printf '%064d' 0)")"
net_expect_contains "$err" "fingerprint" "a wrong pin"
[ "$(net_log_count gw2 "client connected")" = "$connected_before" ] || net_fail "a wrong-pin CLI got a WebSocket"

paired="$(net_clawlet_json laptop pair --save "oc-pair://$code")"
[ "$(jq -r .tlsFingerprint <<<"$paired")" = "$fingerprint" ] || net_fail "pin not from the code: $paired"
jq -e '.scopes | index("operator.pairing")' >/dev/null <<<"$paired" || net_fail "pair: $paired"
config="$(cat "$(net_config laptop)")"
net_expect_contains "$config" "$WSS" "laptop's config after pair --save"
net_expect_contains "$config" "$fingerprint" "laptop's config after pair --save"
# No secret on laptop at all: the saved remote target, its pin, the device token.
net_clawlet_json laptop nodes list >/dev/null
net_clawlet_json laptop devices list >/dev/null
net_clawlet_json laptop status --deep >/dev/null
# nodes approve/invoke over wss:// too: a second node identity on pi (a node dir of its own),
# its device and its commands approved from laptop, then invoked.
net_spawn_clawlet node_wss pi CLAWLET_NODE_DIR="$(net_home pi)/node-wss" node run --url "$WSS" \
  --token="$token" --tls-fingerprint "$fingerprint" --display-name pi-wss
net_wait_log node_wss "pairing required" 20
node_device="$(net_retry 15 pending_of devices list)"
net_clawlet laptop devices approve "$node_device" >/dev/null
net_wait_log node_wss "connected to the gateway" 30
surface="$(net_retry 15 pending_of nodes pending)"
net_clawlet laptop nodes approve "$surface" >/dev/null
net_retry 15 invoke_which pi-wss
net_kill node_wss
err="$(must_fail net_clawlet laptop pair "$code")"
net_expect_contains "$err" "setup-code --profile operator" "a spent code"
net_say "wss://: clawlet pair --save took the pin from the code; commands (devices/nodes approve, nodes invoke) work with no secret; a wrong pin sent nothing"
net_kill gw2

# --- the managed SSH tunnel: the gateway on gw-host's loopback ----------------------------------
# Through the tunnel the gateway sees loopback, so the signed CLI is approved silently and keeps
# a device token under the tunnel's stable origin; after that it needs no secret there either.
gw_config
net_sshd_start
net_gateway_start gw3 gw-host --port "$PORT"
ssh_remote() {
  jq -n --arg key "$NET_SSH_KEY" --arg target "$NET_SSH_TARGET" --arg tok "$1" \
    '{gateway: {mode: "remote", remote: ({transport: "ssh", sshTarget: $target, sshIdentity: $key}
      + (if $tok == "" then {} else {token: $tok} end))}}'
}
net_write_config laptop "$(ssh_remote "$token")"
net_clawlet_json laptop nodes list >/dev/null
jq -e --arg o "ssh://$NET_SSH_TARGET:22/$PORT" '.tokens[] | select(.origin == $o and .role == "operator")' \
  "$identity/device-tokens.json" >/dev/null || net_fail "no device token for the tunnel's origin"
net_write_config laptop "$(ssh_remote "")"
net_clawlet_json laptop nodes list >/dev/null
net_clawlet_json laptop devices list >/dev/null
net_clawlet_json laptop status --deep >/dev/null
# nodes approve/invoke through the tunnel: a node on pi behind a managed tunnel of its own (a
# third identity; its device is approved silently, the gateway sees loopback), its commands
# approved from laptop through laptop's tunnel, then invoked.
net_spawn_clawlet node_ssh pi CLAWLET_NODE_DIR="$(net_home pi)/node-ssh" node run \
  --ssh "$NET_SSH_TARGET" --ssh-identity "$NET_SSH_KEY" --token="$token" --display-name pi-ssh
net_wait_log node_ssh "connected to the gateway" 30
surface="$(net_retry 15 pending_of nodes pending)"
net_clawlet laptop nodes approve "$surface" >/dev/null
net_retry 15 invoke_which pi-ssh
net_kill node_ssh
net_say "managed SSH tunnel: paired silently through it, then nodes/devices/status, nodes approve and invoke on the device token alone"
net_kill gw3
