#!/usr/bin/env bash
# Scenario 2 of issue 10, the managed SSH tunnel: the gateway stays on gw-host's loopback; on
# laptop `clawlet node run --ssh clawlet-net@gw-host --ssh-identity KEY` and the CLI (config
# gateway.mode remote, gateway.remote.transport ssh) run the system ssh themselves. The node
# comes back on its own after its ssh is killed and after sshd is down for 5 s; a restarted node
# finds its device token again (the tunnel's local port changes, its credential origin does
# not); an unknown or changed host key and a missing ssh are clear errors and nothing connects.
#
# Its own bound (run.sh): after the sshd outage two jittered backoffs follow each other, ssh's
# restart and then the node's reconnect, each up to the node core's 30 s cap; typically 20-40 s.
# net-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

net_up gw-host laptop
net_sshd_start

# The gateway: default bind (loopback only) and port, a generated token.
net_gateway_start gw gw-host
token="$(net_token gw-host)"
[ -n "$token" ] || net_fail "no token"
token_file="$(net_home laptop)/gw-token"
printf '%s\n' "$token" >"$token_file"
chmod 600 "$token_file"

# The CLI on laptop: remote mode through a managed tunnel (no URL anywhere).
net_write_config laptop "$(jq -n --arg key "$NET_SSH_KEY" --arg tok "$token" --arg target "$NET_SSH_TARGET" \
  '{gateway: {mode: "remote", remote: {transport: "ssh", sshTarget: $target, sshIdentity: $key, token: $tok}}}')"

# The node on laptop: --ssh with the key; the token only for the first pairing.
ssh_flags=(--ssh "$NET_SSH_TARGET" --ssh-identity "$NET_SSH_KEY")
net_spawn_clawlet node laptop node run "${ssh_flags[@]}" --token-file "$token_file" \
  --display-name laptop-node
net_wait_log node "SSH tunnel up: 127.0.0.1:" 20
net_wait_log node "connected to the gateway" 20
net_expect_contains "$(cat "$(net_log node)")" "url from the SSH tunnel to $NET_SSH_TARGET (--ssh)" \
  "the startup log names the tunnel"
devices="$(net_clawlet_json gw-host devices list)"
[ "$(jq '.paired | length' <<<"$devices")" = 1 ] || net_fail "one paired device expected: $devices"
net_say "the node opened its own tunnel and paired through it (approved silently: loopback)"

# Its surface is approved by the CLI on laptop, through the CLI's own tunnel.
pending_node_request() {
  local list
  list="$(net_clawlet_json laptop nodes pending)"
  jq -er '.pending[0].requestId' <<<"$list"
}
request="$(net_retry 20 pending_node_request)"
net_clawlet laptop nodes approve "$request" >/dev/null
health="$(net_clawlet_json laptop health)"
[ "$(jq -r '.ok' <<<"$health")" = true ] || net_fail "health not ok: $health"
invoke_which() {
  local out
  out="$(net_clawlet_json laptop nodes invoke --node laptop-node --command system.which \
    --params '{"bins":["sh"]}')"
  [ "$(jq -r '.ok' <<<"$out")" = true ] || return 1
  jq -e '.payload | tostring | contains("/sh")' >/dev/null <<<"$out" || return 1
  echo "$out"
}
net_retry 15 invoke_which >/dev/null
# The CLI closes its tunnel when the command ends: only the node's ssh is left on laptop.
ssh_count() {
  local pid n=0
  for pid in $(ip netns pids "$(net_ns laptop)"); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v ssh)")" ] && n=$((n + 1))
  done
  echo "$n"
}
[ "$(ssh_count)" = 1 ] || net_fail "expected only the node's ssh on laptop, found $(ssh_count)"
net_say "health, nodes approve and nodes invoke work from laptop through the CLI's tunnel"

# The pid of the node's current ssh, from its last "SSH tunnel up" line.
node_ssh_pid() { grep -F "SSH tunnel up" "$(net_log node)" | tail -n 1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p'; }

# Kill the node's ssh: the supervisor restarts it (backoff) and the node reconnects by itself.
pid="$(node_ssh_pid)"
[ -n "$pid" ] || net_fail "no ssh pid in the node log"
kill -KILL "$pid"
net_wait_log node "SSH tunnel to $NET_SSH_TARGET closed" 10
net_wait_log node "SSH tunnel up: 127.0.0.1:" 20 2
net_wait_log node "connected to the gateway" 40 2
net_retry 20 invoke_which >/dev/null
net_say "ssh killed (pid $pid): the tunnel was restarted and the node came back on its own"

# sshd down for 5 s: the tunnel drops, restarts fail (refused) and are retried with backoff.
net_sshd_stop
net_wait_log node "SSH tunnel to $NET_SSH_TARGET closed" 15 2
sleep 5
net_wait_log node "refused the connection" 15
if NET_CMD_TIMEOUT=20 net_clawlet laptop health >/dev/null 2>&1; then
  net_fail "health succeeded with sshd down"
fi
net_sshd_start
net_wait_log node "SSH tunnel up: 127.0.0.1:" 45 3
net_wait_log node "connected to the gateway" 45 3
net_retry 20 invoke_which >/dev/null
net_say "sshd down for 5 s then back: the node came back on its own"

# A restarted node finds its device token without any shared secret: it is stored under the
# tunnel's origin (ssh://clawlet-net@10.77.0.1:22/18789), not the local port, which changes.
net_kill node
net_spawn_clawlet node2 laptop node run "${ssh_flags[@]}" --display-name laptop-node
net_wait_log node2 "connected to the gateway" 30
net_expect_contains "$(cat "$(net_log node2)")" "no shared secret" "the restarted node sends no shared secret"
stored="$(cat "$(net_node_dir laptop)"/*.json 2>/dev/null || true)"
net_expect_contains "$stored" "ssh://$NET_SSH_TARGET:22/18789" "the device token's origin"
net_retry 20 invoke_which >/dev/null
devices="$(net_clawlet_json gw-host devices list)"
# (The CLI's own operator device, paired through its tunnel, is not counted: only nodes.)
[ "$(jq '[.paired[] | select(.roles | index("node"))] | length' <<<"$devices")" = 1 ] ||
  net_fail "still one paired node device expected: $devices"
net_kill node2
net_say "a restarted node reconnects on its stored device token"

# With no flags at all the node takes the same tunnel from the config (remote mode, transport ssh).
net_spawn_clawlet node3 laptop node run --display-name laptop-node
net_wait_log node3 "connected to the gateway" 30
net_expect_contains "$(cat "$(net_log node3)")" \
  "url from the SSH tunnel to $NET_SSH_TARGET (gateway.remote.sshTarget" "node run reads the tunnel from the config"
net_retry 20 invoke_which >/dev/null
net_kill node3
net_say "node run with no flags uses gateway.remote.transport ssh from the config"

# ssh missing: a clear error, nothing connects.
out="$(net_clawlet laptop CLAWLET_SSH_BIN=/nonexistent/ssh health 2>&1)" && net_fail "health without ssh succeeded"
net_expect_contains "$out" "install OpenSSH's client" "ssh missing (CLAWLET_SSH_BIN)"
out="$(net_clawlet laptop PATH=/nonexistent health 2>&1)" && net_fail "health without ssh on PATH succeeded"
net_expect_contains "$out" "the SSH client \`ssh\` was not found" "ssh missing from PATH"
out="$(NET_CMD_TIMEOUT=20 net_clawlet laptop PATH=/nonexistent node run "${ssh_flags[@]}" 2>&1)" &&
  net_fail "node run without ssh succeeded"
net_expect_contains "$out" "install OpenSSH's client" "node run with ssh missing"
net_say "ssh missing: a clear error naming the fix"

# A laptop that does not know gw-host's key: refused, with the known_hosts fix; nothing connects.
laptop_known_hosts="$(net_home laptop)/.ssh/known_hosts"
: >"$laptop_known_hosts"
: >"/etc/netns/$(net_ns laptop)/ssh/ssh_known_hosts"
out="$(net_clawlet laptop health 2>&1)" && net_fail "health with an unknown host key succeeded"
net_expect_contains "$out" "is not known" "unknown host key"
net_expect_contains "$out" "ssh-keyscan -p 22 $NET_GW_ADDR >> ~/.ssh/known_hosts" "the known_hosts fix"
net_expect_not_contains "$out" "Gateway healthy" "no connection"
out="$(NET_CMD_TIMEOUT=30 net_clawlet laptop node run "${ssh_flags[@]}" 2>&1)" &&
  net_fail "node run with an unknown host key succeeded"
net_expect_contains "$out" "known_hosts" "node run: unknown host key"
net_expect_not_contains "$out" "connected to the gateway" "node run: no connection"
net_say "unknown host key: refused with the known_hosts fix, nothing connected"

# A changed host key (another key recorded for gw-host): refused, with ssh-keygen -R.
ssh-keygen -q -t ed25519 -N '' -f "$NET_DIR/other_host_key"
printf '%s %s\n' "$NET_GW_ADDR" "$(cut -d' ' -f1,2 "$NET_DIR/other_host_key.pub")" >"$laptop_known_hosts"
out="$(net_clawlet laptop health 2>&1)" && net_fail "health with a changed host key succeeded"
net_expect_contains "$out" "has CHANGED" "changed host key"
net_expect_contains "$out" "ssh-keygen -R '$NET_GW_ADDR'" "the changed-key fix"
net_say "changed host key: refused with the ssh-keygen -R fix"

# The node with the changed host key: `node run --ssh` exits non-zero naming ssh-keygen -R, and
# nothing reaches the gateway (no new client in its log).
connected_before="$(net_log_count gw "client connected")"
out="$(NET_CMD_TIMEOUT=30 net_clawlet laptop node run "${ssh_flags[@]}" --display-name laptop-node 2>&1)" &&
  net_fail "node run with a changed host key succeeded"
net_expect_contains "$out" "has CHANGED" "node run: changed host key"
net_expect_contains "$out" "ssh-keygen -R '$NET_GW_ADDR'" "node run: the changed-key fix"
net_expect_not_contains "$out" "SSH tunnel up" "node run: no tunnel"
net_expect_not_contains "$out" "connected to the gateway" "node run: no connection"
[ "$(net_log_count gw "client connected")" = "$connected_before" ] ||
  net_fail "a client reached the gateway with a changed host key"
# Back to the right key for whatever follows.
cp "$NET_KNOWN_HOSTS" "$laptop_known_hosts"
cp "$NET_KNOWN_HOSTS" "/etc/netns/$(net_ns laptop)/ssh/ssh_known_hosts"
net_say "node run --ssh, changed host key: exits non-zero with the ssh-keygen -R fix, nothing connected"

# clawlet SIGKILLed: its ssh (run under `setpriv --pdeathsig TERM`) goes with it instead of
# living on with the forward.
net_spawn_clawlet node4 laptop node run "${ssh_flags[@]}" --display-name laptop-node
net_wait_log node4 "SSH tunnel up: 127.0.0.1:" 30
ssh_pid="$(grep -F "SSH tunnel up" "$(net_log node4)" | tail -n 1 | sed -n 's/.*pid=\([0-9]*\).*/\1/p')"
[ -n "$ssh_pid" ] || net_fail "no ssh pid in node4's log"
[ "$(readlink "/proc/$ssh_pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v ssh)")" ] ||
  net_fail "pid $ssh_pid is not ssh"
# Its forward socket (`-L <private dir>/gw.sock:…`): the private dir outlives a SIGKILL; removed below.
sock_dir="$(tr '\0' '\n' <"/proc/$ssh_pid/cmdline" | grep -A1 -x -- -L | tail -n 1 | sed -n 's#^\(/.*/clawlet-ssh-[0-9a-f]*\)/gw\.sock:.*#\1#p')"
[ -n "$sock_dir" ] || net_fail "ssh $ssh_pid forwards no private socket"
[ "$(stat -c %a "$sock_dir")" = 700 ] || net_fail "$sock_dir is not 0700"
# ssh listens on no TCP port: the node's loopback port is the node's own listener.
if ip netns exec "$(net_ns laptop)" ss -Hltnp | grep -q "pid=$ssh_pid,"; then
  net_fail "ssh $ssh_pid listens on a TCP port"
fi
ip netns exec "$(net_ns laptop)" ss -Hltnp | grep -q "pid=$(net_pid node4)," ||
  net_fail "the node holds no loopback listener"
kill -KILL "$(net_pid node4)"
net_wait_gone node4 10
ssh_gone=""
for ((i = 0; i < 100; i++)); do
  if [ ! -e "/proc/$ssh_pid" ] || [ "$(awk '{print $3}' "/proc/$ssh_pid/stat" 2>/dev/null)" = Z ]; then
    ssh_gone=1
    break
  fi
  sleep 0.1
done
if [ -z "$ssh_gone" ]; then
  kill -KILL "$ssh_pid" 2>/dev/null || true
  net_fail "ssh $ssh_pid outlived its SIGKILLed clawlet"
fi
[ "$(ssh_count)" = 0 ] || net_fail "an ssh is left on laptop after the node was SIGKILLed"
rm -rf -- "$sock_dir"
net_say "clawlet node run SIGKILLed: its ssh ended with it"
