# shellcheck shell=bash
# The test network of real hosts (issue 10): hosts are Linux network namespaces on one bridge,
# each with its own address, HOME, config, state and node dirs; real OpenSSH runs in gw-host.
# Source it from a scenario (tests/net/scenarios/NN-name.sh), then call `net_up`. Everything is
# torn down when the scenario exits, fails or is interrupted. API: tests/net/README.md; design:
# docs/test-network.md. Needs root (ip netns), iproute2, openssh-server/-client, jq.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   net_up gw-host laptop
#   net_gateway_start gw gw-host
#   net_clawlet laptop health --url "ws://$NET_GW_ADDR:18789" --token "$(net_token gw-host)"

set -Eeuo pipefail

# ---------------------------------------------------------------------------------------------
# Fixed addresses (only ever used inside the namespaces this file creates).

NET_SUBNET=10.77.0.0/24
NET_GW_ADDR=10.77.0.1
NET_LAPTOP_ADDR=10.77.0.2
NET_PI_ADDR=10.77.0.3
# gw-host's "Tailscale" address (100.64.0.0/10), routed to gw-host from laptop and pi.
NET_GW_TAILNET=100.77.0.1

NET_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The binary under test (absolute path).
CLAWLET_BIN="${CLAWLET_BIN:-$NET_REPO/target/debug/clawlet}"
case "$CLAWLET_BIN" in /*) ;; *) CLAWLET_BIN="$PWD/$CLAWLET_BIN" ;; esac
export CLAWLET_BIN

# Per-run suffix: the scenario's PID, so parallel or leftover runs never collide. Not
# overridable: the stale-namespace cleanup of other runs deletes namespaces whose PID is gone.
NET_ID=$$
NET_PREFIX="clawlet-net-$NET_ID"
NET_NAME="$(basename "${0%.sh}")"
# Per-run dir: logs/, ssh/ and one dir per host (home, state, node, clawlet.json).
NET_DIR="${NET_DIR:-${TMPDIR:-/tmp}/$NET_PREFIX-$NET_NAME}"
# Default bound for foreground commands (net_run, net_clawlet), in seconds.
NET_CMD_TIMEOUT="${NET_CMD_TIMEOUT:-60}"

# sshd in gw-host and the client side of it (set up by net_sshd_start). The login is a
# dedicated unprivileged system user (created once if missing, and left in place: no password,
# no home, only the run's generated key lets it in), never root.
NET_SSH_USER=clawlet-net
NET_SSH_TARGET="$NET_SSH_USER@$NET_GW_ADDR"
NET_SSH_KEY="$NET_DIR/ssh/id_ed25519"
NET_KNOWN_HOSTS="$NET_DIR/ssh/known_hosts"
# Options every client uses: verify the generated host key, never prompt, only our key.
NET_SSH_OPTS=(
  -o BatchMode=yes
  -o StrictHostKeyChecking=yes
  -o "UserKnownHostsFile=$NET_KNOWN_HOSTS"
  -o GlobalKnownHostsFile=/dev/null
  -o IdentitiesOnly=yes
  -i "$NET_SSH_KEY"
  -o ConnectTimeout=5
  -o ServerAliveInterval=2
  -o ServerAliveCountMax=2
  -F /dev/null
)

NET_HOSTS=()              # hosts created by net_up
declare -A NET_PIDS=()    # process name -> PID (net_spawn)
declare -A NET_PID_HOST=() # process name -> host
NET_FAILED=0

# ---------------------------------------------------------------------------------------------
# Messages and failures.

# net_say MSG...: a progress line with the seconds since the scenario started.
net_say() { printf '[%s +%3ss] %s\n' "$NET_NAME" "$SECONDS" "$*"; }

# net_fail MSG...: print MSG and fail the scenario (logs are printed by the teardown).
net_fail() {
  printf '[%s +%3ss] FAIL: %s\n' "$NET_NAME" "$SECONDS" "$*" >&2
  NET_FAILED=1
  exit 1
}

# net_expect_contains TEXT NEEDLE WHAT: fail unless TEXT contains NEEDLE.
net_expect_contains() {
  [[ "$1" == *"$2"* ]] || net_fail "$3: expected '$2' in: $1"
}

# net_expect_not_contains TEXT NEEDLE WHAT: fail if TEXT contains NEEDLE.
net_expect_not_contains() {
  [[ "$1" != *"$2"* ]] || net_fail "$3: did not expect '$2' in: $1"
}

# ---------------------------------------------------------------------------------------------
# Hosts.

# net_ns HOST: the namespace name of HOST (gw-host, laptop, pi; "br" is the bridge's).
net_ns() { printf '%s-%s' "$NET_PREFIX" "$1"; }

# net_addr HOST: HOST's address on the bridge.
net_addr() {
  case "$1" in
    gw-host) echo "$NET_GW_ADDR" ;;
    laptop) echo "$NET_LAPTOP_ADDR" ;;
    pi) echo "$NET_PI_ADDR" ;;
    *) net_fail "unknown host '$1' (gw-host, laptop, pi)" ;;
  esac
}

# Per-host paths (the environment every command in HOST gets).
net_home() { echo "$NET_DIR/$1/home"; }
net_state_dir() { echo "$NET_DIR/$1/state"; }
net_node_dir() { echo "$NET_DIR/$1/node"; }
net_config() { echo "$NET_DIR/$1/clawlet.json"; }

# net_write_config HOST JSON: writes HOST's clawlet config file (CLAWLET_CONFIG).
net_write_config() { printf '%s\n' "$2" >"$(net_config "$1")"; }

# net_up [HOST...]: creates the bridge and the hosts (default: gw-host laptop pi), each with lo
# up, eth0 on the bridge with its address, and its own dirs. laptop and pi route gw-host's
# tailnet address via gw-host. Installs the teardown trap.
net_up() {
  local hosts=("$@")
  [ ${#hosts[@]} -gt 0 ] || hosts=(gw-host laptop pi)
  [ "$(id -u)" -eq 0 ] || net_fail "the test network needs root (ip netns)"
  [ -x "$CLAWLET_BIN" ] || net_fail "no clawlet binary at $CLAWLET_BIN (build it or set CLAWLET_BIN)"
  trap net__on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  net_cleanup_stale
  mkdir -p "$NET_DIR/logs" "$NET_DIR/ssh"
  local br
  br="$(net_ns br)"
  ip netns add "$br"
  ip -n "$br" link set lo up
  ip -n "$br" link add br0 type bridge
  ip -n "$br" link set br0 up
  local host ns addr
  for host in "${hosts[@]}"; do
    addr="$(net_addr "$host")"
    ns="$(net_ns "$host")"
    ip netns add "$ns"
    NET_HOSTS+=("$host")
    ip -n "$ns" link set lo up
    # Both ends are created inside the namespaces: the root namespace is never touched.
    ip -n "$br" link add "v-$host" type veth peer name eth0 netns "$ns"
    ip -n "$br" link set "v-$host" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    if [ "$host" = gw-host ]; then
      ip -n "$ns" addr add "$NET_GW_TAILNET/32" dev eth0
    else
      ip -n "$ns" route add "$NET_GW_TAILNET/32" via "$NET_GW_ADDR" dev eth0
    fi
    mkdir -p "$(net_home "$host")/.ssh" "$(net_state_dir "$host")" "$(net_node_dir "$host")"
    chmod 700 "$(net_home "$host")/.ssh"
  done
  net_say "hosts up: ${hosts[*]} (namespaces $NET_PREFIX-*, dir $NET_DIR)"
}

# net_run HOST [VAR=value...] CMD [ARG...]: runs CMD in HOST, in the foreground, bounded by
# NET_CMD_TIMEOUT seconds, with only HOST's environment: PATH, HOME, CLAWLET_CONFIG,
# CLAWLET_STATE_DIR, CLAWLET_NODE_DIR, RUST_LOG=info, NO_COLOR=1, plus the VAR=value given.
# Its exit status is CMD's (124 on timeout).
net_run() {
  local host="$1"
  shift
  # --foreground: stay in the scenario's process group, so a TERM to the group (run.sh's
  # timeout, Ctrl-C) reaches the command at once.
  timeout --foreground --kill-after=5 "$NET_CMD_TIMEOUT" \
    ip netns exec "$(net_ns "$host")" env -i \
    "PATH=$PATH" \
    "HOME=$(net_home "$host")" \
    "CLAWLET_CONFIG=$(net_config "$host")" \
    "CLAWLET_STATE_DIR=$(net_state_dir "$host")" \
    "CLAWLET_NODE_DIR=$(net_node_dir "$host")" \
    "RUST_LOG=${NET_RUST_LOG:-info}" \
    NO_COLOR=1 \
    "$@"
}

# net_clawlet HOST [VAR=value...] ARG...: `clawlet ARG...` in HOST (as net_run).
net_clawlet() {
  local host="$1"
  shift
  local envs=()
  while [ $# -gt 0 ] && [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
    envs+=("$1")
    shift
  done
  net_run "$host" "${envs[@]}" "$CLAWLET_BIN" "$@"
}

# net_clawlet_json HOST [VAR=value...] ARG...: like net_clawlet with --json appended; prints
# stdout and fails the scenario (showing stderr) unless the command succeeds with valid JSON.
net_clawlet_json() {
  local host="$1" out err rc=0
  err="$(mktemp "$NET_DIR/stderr.XXXXXX")"
  out="$(net_clawlet "$@" --json 2>"$err")" || rc=$?
  if [ "$rc" -ne 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    net_fail "clawlet ${*:2} --json on $host: exit $rc; stdout: $out; stderr: $(cat "$err")"
  fi
  rm -f "$err"
  printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------------------------
# Long-running processes.

# net_spawn NAME HOST [VAR=value...] CMD [ARG...]: starts CMD in HOST in the background (same
# environment as net_run, no timeout), stdout+stderr to $(net_log NAME); the PID is recorded
# and killed at teardown. NAME is unique per scenario.
net_spawn() {
  local name="$1" host="$2"
  shift 2
  [ -z "${NET_PIDS[$name]:-}" ] || ! net_alive "$name" || net_fail "process '$name' is already running"
  ip netns exec "$(net_ns "$host")" env -i \
    "PATH=$PATH" \
    "HOME=$(net_home "$host")" \
    "CLAWLET_CONFIG=$(net_config "$host")" \
    "CLAWLET_STATE_DIR=$(net_state_dir "$host")" \
    "CLAWLET_NODE_DIR=$(net_node_dir "$host")" \
    "RUST_LOG=${NET_RUST_LOG:-info}" \
    NO_COLOR=1 \
    "$@" </dev/null >>"$(net_log "$name")" 2>&1 &
  NET_PIDS[$name]=$!
  # No job: bash still reaps it, but prints no "Killed" notices into other logs.
  disown "$!"
  NET_PID_HOST[$name]=$host
}

# net_spawn_clawlet NAME HOST [VAR=value...] ARG...: `clawlet ARG...` as net_spawn.
net_spawn_clawlet() {
  local name="$1" host="$2"
  shift 2
  local envs=()
  while [ $# -gt 0 ] && [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
    envs+=("$1")
    shift
  done
  net_spawn "$name" "$host" "${envs[@]}" "$CLAWLET_BIN" "$@"
}

# net_log NAME: the log file of process NAME.
net_log() { echo "$NET_DIR/logs/$1.log"; }

# net_pid NAME: the PID of process NAME.
net_pid() { echo "${NET_PIDS[$1]:?no process named $1}"; }

# net_alive NAME: true while process NAME runs.
net_alive() {
  local pid="${NET_PIDS[$1]:-}"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ! net__zombie "$pid"
}

net__zombie() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# net_kill NAME [SIGNAL]: sends SIGNAL (default TERM) to process NAME and waits for it to exit
# (10 s, then KILL).
net_kill() {
  local name="$1" sig="${2:-TERM}" pid
  pid="${NET_PIDS[$name]:-}"
  [ -n "$pid" ] || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do
    net_alive "$name" || break
    sleep 0.1
  done
  if net_alive "$name"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      net_alive "$name" || break
      sleep 0.1
    done
  fi
}

# net_wait_gone NAME TIMEOUT: waits until process NAME has exited; fails after TIMEOUT seconds.
net_wait_gone() {
  local name="$1" deadline=$((SECONDS + $2))
  while net_alive "$name"; do
    [ "$SECONDS" -lt "$deadline" ] || net_fail "process '$name' still runs after $2 s"
    sleep 0.1
  done
}

# net_log_count NAME TEXT: how many lines of NAME's log contain TEXT (fixed string).
net_log_count() { grep -cF -- "$2" "$(net_log "$1")" 2>/dev/null || true; }

# net_wait_log NAME TEXT TIMEOUT [COUNT]: waits until NAME's log holds COUNT (default 1) lines
# containing TEXT; fails after TIMEOUT seconds, or at once if the process has exited.
net_wait_log() {
  local name="$1" text="$2" deadline=$((SECONDS + $3)) count="${4:-1}" n
  while :; do
    n="$(net_log_count "$name" "$text")"
    [ "${n:-0}" -lt "$count" ] || return 0
    if ! net_alive "$name"; then
      n="$(net_log_count "$name" "$text")"
      [ "${n:-0}" -lt "$count" ] || return 0
      net_fail "process '$name' exited before its log showed '$text' (x$count)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || net_fail "no '$text' (x$count) in $name's log after $3 s"
    sleep 0.1
  done
}

# net_wait_port FROM_HOST ADDR PORT TIMEOUT: waits until a TCP connect from FROM_HOST to
# ADDR:PORT succeeds; fails after TIMEOUT seconds.
net_wait_port() {
  local host="$1" addr="$2" port="$3" deadline=$((SECONDS + $4))
  until NET_CMD_TIMEOUT=2 net_run "$host" bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || net_fail "$addr:$port not reachable from $host after $4 s"
    sleep 0.2
  done
}

# net_retry TIMEOUT CMD [ARG...]: runs CMD (e.g. a shell function) in a subshell until it
# succeeds, every 0.5 s; fails the scenario after TIMEOUT seconds. A net_fail inside CMD only
# fails that attempt. CMD's output is printed once it succeeds; the last failed attempt's
# output is shown on failure.
net_retry() {
  local limit="$1" deadline=$((SECONDS + $1)) out
  shift
  out="$(mktemp "$NET_DIR/retry.XXXXXX")"
  until ("$@") >"$out" 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      net_fail "'$*' did not succeed within $limit s; last output: $(cat "$out")"
    fi
    sleep 0.5
  done
  cat "$out"
  rm -f "$out"
}

# ---------------------------------------------------------------------------------------------
# clawlet helpers.

# net_gateway_start NAME HOST [ARG...]: `clawlet gateway run ARG...` in HOST as process NAME;
# waits (30 s) for "gateway ready".
net_gateway_start() {
  local name="$1" host="$2"
  shift 2
  net_spawn_clawlet "$name" "$host" gateway run "$@"
  net_wait_log "$name" "gateway ready" 30
}

# net_token HOST: the token the gateway in HOST generated (its state dir's gateway-token).
net_token() {
  local file
  file="$(net_state_dir "$1")/gateway-token"
  [ -s "$file" ] || net_fail "no generated gateway token in $file"
  tr -d '\n' <"$file"
}

# net_new_token: a random gateway secret for a scenario's config ("net-" and 32 hex digits, so
# it never begins with '-').
net_new_token() { printf 'net-%s' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"; }

# net_pending_request devices|nodes: the id of the one pending device (or node) pairing request
# on gw-host (its local CLI, generated token); fails unless exactly one is pending (for net_retry).
net_pending_request() {
  local list
  if [ "$1" = devices ]; then
    list="$(net_clawlet_json gw-host devices list)"
  else
    list="$(net_clawlet_json gw-host nodes pending)"
  fi
  jq -er '.pending | if length == 1 then .[0].requestId else error("\(length) pending") end' <<<"$list"
}

# net_invoke_which NODE: `system.which sh` on NODE (id or display name), invoked from gw-host;
# prints the answer; fails unless it is ok and names /sh (for net_retry).
net_invoke_which() {
  local out
  out="$(net_clawlet_json gw-host nodes invoke --node "$1" --command system.which \
    --params '{"bins":["sh"]}')"
  [ "$(jq -r '.ok' <<<"$out")" = true ] || return 1
  jq -e '.payload | tostring | contains("/sh")' >/dev/null <<<"$out" || return 1
  echo "$out"
}

# net_pair_by_hand NAME NODE [CHECK [ARG...]]: pairs, by hand on gw-host, the node that process
# NAME runs (NODE: its display name) once it waits for pairing: approves its one pending device
# request (after `CHECK ARG... DEVICES`, if given, where DEVICES is gw-host's `devices list`
# JSON: CHECK fails the scenario on a request that must not be approved), waits until it
# connects, approves its command surface, and waits until net_invoke_which answers.
net_pair_by_hand() {
  local name="$1" node="$2" request
  shift 2
  net_wait_log "$name" "pairing required" 20
  request="$(net_retry 15 net_pending_request devices)"
  if [ $# -gt 0 ]; then
    "$@" "$(net_clawlet_json gw-host devices list)"
  fi
  net_clawlet gw-host devices approve "$request" >/dev/null
  net_wait_log "$name" "connected to the gateway" 30
  request="$(net_retry 15 net_pending_request nodes)"
  net_clawlet gw-host nodes approve "$request" >/dev/null
  net_retry 15 net_invoke_which "$node" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# OpenSSH: sshd in gw-host on $NET_GW_ADDR:22 and $NET_GW_TAILNET:22, login as the unprivileged
# $NET_SSH_USER with the generated client key only.

# net__ensure_ssh_user: creates the test login $NET_SSH_USER when missing: a system user with
# shell /bin/sh, no home and the password '*' (no password can match it; '!' would mark the
# account locked, and sshd with UsePAM no refuses even key logins to locked accounts). It stays
# after the run: it is harmless, and only a key in a run dir's authorized_keys lets anyone in.
net__ensure_ssh_user() {
  if ! id -u "$NET_SSH_USER" >/dev/null 2>&1; then
    command -v useradd >/dev/null ||
      net_fail "useradd is missing (Debian package passwd): cannot create the test login $NET_SSH_USER"
    # A parallel run may create it at the same moment: then it exists, which is all we need.
    useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh --password '*' \
      --comment "clawlet test network (tests/net)" "$NET_SSH_USER" 2>/dev/null ||
      id -u "$NET_SSH_USER" >/dev/null 2>&1 || net_fail "cannot create the test login $NET_SSH_USER (useradd)"
  fi
  case "$(getent shadow "$NET_SSH_USER" | cut -d: -f2)" in
    '!'*) net_fail "the test login $NET_SSH_USER is locked ('!' password): sshd (UsePAM no) refuses it; run: usermod -p '*' $NET_SSH_USER" ;;
  esac
}

# net_sshd_start: generates (once per run) the host key, the client key, authorized_keys and
# known_hosts, writes every host's ~/.ssh/known_hosts and id_ed25519, and a per-namespace
# /etc/ssh (via `ip netns exec`'s /etc/netns/NS) for laptop and pi whose ssh_config points the
# system `ssh` (which takes ~ from the passwd entry, not $HOME) at that host's HOME files; then
# starts sshd as process "sshd" and waits (10 s) until it accepts connections.
net_sshd_start() {
  local dir="$NET_DIR/ssh" host
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || net_fail "sshd is missing (apt-get install openssh-server)"
  net__ensure_ssh_user
  if [ ! -f "$dir/ssh_host_ed25519_key" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "clawlet-net gw-host" -f "$dir/ssh_host_ed25519_key"
    ssh-keygen -q -t ed25519 -N '' -C "clawlet-net client" -f "$NET_SSH_KEY"
    cp "$NET_SSH_KEY.pub" "$dir/authorized_keys"
    # sshd reads authorized_keys as the login user: it must reach it (the private keys next to
    # it stay 0600 root).
    chmod 711 "$NET_DIR" "$dir"
    chmod 644 "$dir/authorized_keys"
    local hostkey
    hostkey="$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")"
    printf '%s %s\n%s %s\n' "$NET_GW_ADDR" "$hostkey" "$NET_GW_TAILNET" "$hostkey" >"$NET_KNOWN_HOSTS"
    cat >"$dir/sshd_config" <<EOF
ListenAddress $NET_GW_ADDR:22
ListenAddress $NET_GW_TAILNET:22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin no
AllowUsers $NET_SSH_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
ClientAliveInterval 5
LogLevel VERBOSE
EOF
    for host in "${NET_HOSTS[@]}"; do
      local home
      home="$(net_home "$host")"
      cp "$NET_KNOWN_HOSTS" "$home/.ssh/known_hosts"
      cp "$NET_SSH_KEY" "$home/.ssh/id_ed25519"
      cp "$NET_SSH_KEY.pub" "$home/.ssh/id_ed25519.pub"
      chmod 600 "$home/.ssh/id_ed25519"
      [ "$host" != gw-host ] || continue
      local etc="/etc/netns/$(net_ns "$host")/ssh"
      mkdir -p "$etc"
      cp "$NET_KNOWN_HOSTS" "$etc/ssh_known_hosts"
      cat >"$etc/ssh_config" <<EOF
# clawlet test network: host $host (removed at teardown)
Host *
  UserKnownHostsFile $home/.ssh/known_hosts
  GlobalKnownHostsFile /etc/ssh/ssh_known_hosts
  IdentityFile $home/.ssh/id_ed25519
EOF
    done
  fi
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  net_spawn sshd gw-host "$(command -v sshd || echo /usr/sbin/sshd)" -D -e -f "$dir/sshd_config"
  net_wait_port gw-host "$NET_GW_ADDR" 22 10
}

# net_sshd_stop: stops sshd and every session it forked (they all live in gw-host).
net_sshd_stop() {
  net_kill sshd
  local pid
  for pid in $(ip netns pids "$(net_ns gw-host)" 2>/dev/null); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
      */sshd | */sshd-session) kill -KILL "$pid" 2>/dev/null || true ;;
    esac
  done
}

# net_sshd_restart: stops and starts sshd (same keys).
net_sshd_restart() {
  net_sshd_stop
  net_sshd_start
}

# net_ssh HOST [SSH ARG...]: runs the system `ssh` in HOST with NET_SSH_OPTS (foreground,
# bounded), e.g. `net_ssh laptop "$NET_SSH_TARGET" true`.
net_ssh() {
  local host="$1"
  shift
  net_run "$host" ssh "${NET_SSH_OPTS[@]}" "$@"
}

# net_tunnel_start NAME HOST LOCAL_PORT REMOTE_PORT: `ssh -N -L LOCAL_PORT:127.0.0.1:REMOTE_PORT
# $NET_SSH_USER@gw-host` in HOST as process NAME (ExitOnForwardFailure=yes); waits (15 s) until the local
# end accepts connections.
net_tunnel_start() {
  local name="$1" host="$2" lport="$3" rport="$4"
  net_spawn "$name" "$host" ssh "${NET_SSH_OPTS[@]}" -o ExitOnForwardFailure=yes -N \
    -L "127.0.0.1:$lport:127.0.0.1:$rport" "$NET_SSH_TARGET"
  local deadline=$((SECONDS + 15))
  until NET_CMD_TIMEOUT=2 net_run "$host" bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport" 2>/dev/null; do
    net_alive "$name" || net_fail "ssh tunnel '$name' exited: $(tail -n 5 "$(net_log "$name")")"
    [ "$SECONDS" -lt "$deadline" ] || net_fail "ssh tunnel '$name' not listening after 15 s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# Teardown.

# net_down: kills every process started (recorded PIDs, then anything left in our namespaces),
# deletes the namespaces and the per-namespace /etc. Idempotent; called on exit.
net_down() {
  local name pid host ns
  for name in "${!NET_PIDS[@]}"; do
    pid="${NET_PIDS[$name]}"
    kill -TERM "$pid" 2>/dev/null || true
  done
  local i
  for ((i = 0; i < 50; i++)); do
    local any=0
    for name in "${!NET_PIDS[@]}"; do
      if net_alive "$name"; then any=1; fi
    done
    [ "$any" -eq 1 ] || break
    sleep 0.1
  done
  for name in "${!NET_PIDS[@]}"; do
    kill -KILL "${NET_PIDS[$name]}" 2>/dev/null || true
  done
  for host in br "${NET_HOSTS[@]}"; do
    net__delete_ns "$(net_ns "$host")"
  done
  NET_HOSTS=()
  wait 2>/dev/null || true
}

# Kills what runs in namespace NS (only processes in namespaces we created; again while a
# process forks, bounded), then deletes it and its /etc/netns dir.
net__delete_ns() {
  local ns="$1" pids i
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF -- "$ns"; then
    for ((i = 0; i < 20; i++)); do
      pids="$(ip netns pids "$ns" 2>/dev/null || true)"
      [ -n "$pids" ] || break
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.05
    done
    ip netns delete "$ns" 2>/dev/null || true
  fi
  rm -rf "/etc/netns/$ns"
  rmdir /etc/netns 2>/dev/null || true
}

# net_cleanup_run ID: removes everything of run ID (a scenario's PID) that can outlive it: the
# processes inside its namespaces (KILL), the namespaces clawlet-net-ID-*, their /etc/netns
# dirs. tests/net/run.sh calls it after every scenario, so a scenario KILLed by its timeout
# (its EXIT trap never runs) leaves nothing behind even if its PID is reused at once.
net_cleanup_run() {
  local id="$1" ns
  [[ "$id" =~ ^[0-9]+$ ]] || { echo "net_cleanup_run: not a run id: '$id'" >&2; return 1; }
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^clawlet-net-$id-" || true) \
    $(ls /etc/netns 2>/dev/null | grep "^clawlet-net-$id-" || true); do
    net__delete_ns "$ns"
  done
}

# net_cleanup_stale: deletes clawlet-net-<pid>-* namespaces (and their /etc/netns dirs) whose
# run (process <pid>) is gone: leftovers of runs killed with SIGKILL.
net_cleanup_stale() {
  local ns id
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^clawlet-net-' || true) \
    $(ls /etc/netns 2>/dev/null | grep '^clawlet-net-' || true); do
    id="${ns#clawlet-net-}"
    id="${id%%-*}"
    [ "$id" != "$NET_ID" ] || continue
    if ! kill -0 "$id" 2>/dev/null; then
      net__delete_ns "$ns"
    fi
  done
}

# On failure: the tail of every log. Then teardown; the run dir is removed on success unless
# NET_KEEP=1.
net__on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "$rc" -ne 0 ] || [ "$NET_FAILED" -ne 0 ]; then
    local log
    for log in "$NET_DIR"/logs/*.log; do
      [ -f "$log" ] || continue
      printf '\n----- %s (last 40 lines) -----\n' "$(basename "$log")" >&2
      tail -n 40 "$log" >&2
    done
    printf '\n[%s] failed (exit %s); run dir kept: %s\n' "$NET_NAME" "$rc" "$NET_DIR" >&2
  fi
  net_down
  if [ "$rc" -eq 0 ] && [ "$NET_FAILED" -eq 0 ] && [ "${NET_KEEP:-0}" != 1 ]; then
    rm -rf "$NET_DIR"
  fi
  exit "$rc"
}
