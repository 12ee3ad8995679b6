#!/usr/bin/env bash
# Scenario 5 of issue 10: `clawlet node run` with no flags is configured like the CLI, from its
# host's config file and environment, with the node-host rule. On laptop (local mode, through an
# SSH tunnel) it never sends gateway.remote.* secrets and takes OPENCLAW_GATEWAY_TOKEN; on pi
# (remote mode) it uses gateway.remote.url, token and tlsFingerprint over wss://; with
# OPENCLAW_GATEWAY_URL it sends no config secret and gets in on its stored device token. Each
# startup log names where the URL and the credential came from, never the secret.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PORT=18789

net_up gw-host laptop pi
net_sshd_start

# A fixed token that begins with '-' (hex after the prefix): read from config and env only here.
token="-net5-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
net_write_config gw-host "{\"gateway\":{\"auth\":{\"mode\":\"token\",\"token\":\"$token\"}}}"

# $1 = log name: fails if the secret appears in it.
no_secret_in() {
  net_expect_not_contains "$(cat "$(net_log "$1")")" "$token" "$1's log (the shared token)"
}

# --- laptop, local mode through the guide's SSH tunnel ------------------------------------------
net_gateway_start gw gw-host --bind lan
net_tunnel_start tunnel laptop "$PORT" "$PORT"
# Local mode with only client-side secrets for a remote gateway (the right token, even): the node
# host must not use them for the local target.
net_write_config laptop "{\"gateway\":{\"remote\":{\"url\":\"ws://$NET_GW_ADDR:$PORT\",\"token\":\"$token\",\"password\":\"remote-pw\"}}}"
net_spawn_clawlet local laptop node run --display-name laptop-local
net_wait_log local "requires a token" 20
net_wait_gone local 10
log="$(cat "$(net_log local)")"
net_expect_contains "$log" "url from the local gateway (port from the default port)" "laptop's startup log"
net_expect_contains "$log" "authenticating with no shared secret" "laptop's startup log"
net_expect_not_contains "$log" "remote-pw" "laptop's log"
no_secret_in local
net_say "laptop, local mode: gateway.remote.* ignored, the tunnel's gateway asked for a token"

# The environment supplies it; the loopback connection through the tunnel is approved silently.
net_spawn_clawlet local-env laptop "OPENCLAW_GATEWAY_TOKEN=$token" node run --display-name laptop-env
net_wait_log local-env "connected to the gateway" 30
net_expect_contains "$(cat "$(net_log local-env)")" \
  "url from the local gateway (port from the default port); authenticating with token from OPENCLAW_GATEWAY_TOKEN" \
  "laptop's startup log"
no_secret_in local-env
net_kill local-env
net_kill tunnel
net_say "laptop, local mode: OPENCLAW_GATEWAY_TOKEN through the tunnel connects"

# --- pi, remote mode over wss:// with the configured pin ---------------------------------------
net_kill gw
# gateway.tls.enabled (not --tls): gw-host's own CLI then speaks wss:// to it too.
net_write_config gw-host "{\"gateway\":{\"tls\":{\"enabled\":true},\"auth\":{\"mode\":\"token\",\"token\":\"$token\"}}}"
net_gateway_start gw2 gw-host --bind lan
fingerprint="$(net_clawlet gw-host gateway tls-fingerprint | tr -d '[:space:]')"
[ -n "$fingerprint" ] || net_fail "no TLS fingerprint"
net_wait_port pi "$NET_GW_ADDR" "$PORT" 10
net_write_config pi "{\"gateway\":{\"mode\":\"remote\",\"auth\":{\"token\":\"wrong-local-token\"},\"remote\":{\"url\":\"wss://$NET_GW_ADDR:$PORT\",\"token\":\"$token\",\"tlsFingerprint\":\"$fingerprint\"}}}"
net_spawn_clawlet remote pi node run --display-name pi-remote
net_wait_log remote "pairing required" 30
net_expect_contains "$(cat "$(net_log remote)")" \
  "url from gateway.remote.url (config $(net_config pi)); authenticating with token from gateway.remote.token (config $(net_config pi))" \
  "pi's startup log"

pending_device() {
  jq -er '.pending | if length == 1 then .[0].requestId else error("\(length) pending") end' \
    <<<"$(net_clawlet_json gw-host devices list)"
}
request="$(net_retry 15 pending_device)"
net_clawlet gw-host devices approve "$request" >/dev/null
net_wait_log remote "connected to the gateway" 30
no_secret_in remote
net_say "pi, remote mode: gateway.remote.url/token/tlsFingerprint over wss://, paired on gw-host"
net_kill remote

# --- pi, OPENCLAW_GATEWAY_URL: no config secret follows it; the stored device token does -------
net_spawn_clawlet env-url pi "OPENCLAW_GATEWAY_URL=wss://$NET_GW_ADDR:$PORT" node run --display-name pi-remote
net_wait_log env-url "connected to the gateway" 30
log="$(cat "$(net_log env-url)")"
net_expect_contains "$log" "url from OPENCLAW_GATEWAY_URL; authenticating with no shared secret" "pi's startup log"
net_expect_contains "$log" "config secrets are not sent to OPENCLAW_GATEWAY_URL" "pi's startup log"
no_secret_in env-url
net_kill env-url
net_say "pi, OPENCLAW_GATEWAY_URL: no config secret sent; the stored device token and pin got it in"
