#!/usr/bin/env bash
# The install proof (issue 15), a step of scripts/test.sh:
#   1. the Raspberry Pi builds: `clawlet` cross-built for aarch64 and armv7 (cargo-zigbuild,
#      the cheap `cross-check` profile, cached under target/cross) runs under qemu-user:
#      `--version`; an emulated `clawlet node run` pairs with a native x86_64 `clawlet gateway
#      run` and answers `clawlet nodes invoke`; an emulated aarch64 gateway serves a native node.
#      Prints each binary's size and the emulated gateway's start time.
#   2. the Debian package (scripts/build-deb.sh, with this build's x86_64 binary) installed with
#      `dpkg -i` into a fresh Debian root (debootstrap minbase, cached as a tarball under
#      ~/.cache/clawlet): `clawlet` on the PATH, man pages and completions in place,
#      `systemd-analyze verify` of the installed units, the clawlet user and /var/lib/clawlet;
#      `dpkg -r` keeps the state, `dpkg -P` purges it.
#   3. `cargo package --no-verify` of clawlet-node-core, clawlet-android-trust, clawlet-node and
#      clawlet-gateway (the crates `cargo install clawlet-gateway` needs), and
#      `scripts/release.sh --list`.
# The release binaries themselves (release profile, fat LTO, three targets: ~15 min each on 2
# cores) are built by scripts/release.sh, not here.
#
# Sockets: loopback only. Processes: started here, stopped by PID. Waits: polled, bounded.
# Needs root (chroot, dpkg into the fresh root), as the test command has.
#
# usage: scripts/test-install.sh [--only pi|deb|crates]   (default: all three)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
only="${2:-}"
[ "${1:-}" = --only ] || [ $# -eq 0 ] || { echo "usage: scripts/test-install.sh [--only pi|deb|crates]" >&2; exit 2; }
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
# shellcheck source=scripts/cross-env.sh
source scripts/cross-env.sh

say() { printf '  [install] %s\n' "$*"; }
fail() { printf '  [install] FAIL: %s\n' "$*" >&2; exit 1; }

RUN=$(mktemp -d "${TMPDIR:-/tmp}/clawlet-install.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$RUN"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------------------
apt_missing=()
command -v qemu-aarch64-static >/dev/null || apt_missing+=(qemu-user-static)
command -v debootstrap >/dev/null || apt_missing+=(debootstrap)
command -v jq >/dev/null || apt_missing+=(jq)
command -v file >/dev/null || apt_missing+=(file)
command -v strip >/dev/null || apt_missing+=(binutils)
command -v python3 >/dev/null || apt_missing+=(python3 python3-venv)
# The armhf glibc for qemu-arm when armv7 is the gnueabihf fallback (see cross-env.sh).
[ -e /usr/arm-linux-gnueabihf/lib/ld-linux-armhf.so.3 ] || apt_missing+=(libc6-armhf-cross)
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing ${apt_missing[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi
ensure_zigbuild

# --- builds --------------------------------------------------------------------------------
# The native x86_64 binary (the test command's `cargo test` has built it already), or
# CLAWLET_NATIVE_BIN.
NATIVE="${CLAWLET_NATIVE_BIN:-target/debug/clawlet}"
[ -n "${CLAWLET_NATIVE_BIN:-}" ] || cargo build --locked -q -p clawlet-gateway --bin clawlet
version=$("$NATIVE" --version)
if want pi; then
read -r ARMV7 <<<"$(armv7_target)"
declare -A BIN
for target in aarch64-unknown-linux-musl "$ARMV7"; do
  started=$(date +%s)
  BIN[$target]=$(cross_build "$target" cross-check)
  say "built $target ($(( $(date +%s) - started )) s): ${BIN[$target]}"
done

# qemu-user command line for a target's binary (the armhf glibc prefix for a gnueabihf build).
emulated() {
  local target="$1"
  case "$target" in
    *-gnueabihf) echo "$(qemu_for "$target") -L /usr/arm-linux-gnueabihf ${BIN[$target]}" ;;
    *) echo "$(qemu_for "$target") ${BIN[$target]}" ;;
  esac
}

for target in aarch64-unknown-linux-musl "$ARMV7"; do
  # shellcheck disable=SC2046 # the emulator command line is words
  got=$($(emulated "$target") --version) || fail "$target: --version under qemu-user"
  [ "$got" = "$version" ] || fail "$target: --version says '$got', native says '$version'"
  file_kind=$(file -b "${BIN[$target]}" | cut -d, -f1-2)
  say "$target: $got under $(qemu_for "$target"); $(stat -c %s "${BIN[$target]}") bytes ($file_kind; cross-check profile)"
done
say "x86_64 (native, dev profile): $(stat -c %s "$NATIVE") bytes"

# --- pairing across architectures ----------------------------------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Polls a log for a line, at most $3 seconds; fails early if the process $4 died.
wait_for_line() {
  local log="$1" text="$2" secs="$3" pid="$4" i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q "$text" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "process $pid exited before '$text'"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "no '$text' in $log after $secs s"
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# pair_and_invoke <label> <gateway command> <node command>: a gateway, a node that pairs with
# it over loopback (devices on loopback are approved silently), its command surface approved by
# the native CLI, then `nodes invoke system.which` answered by that node.
GATEWAY_START_MS=0
pair_and_invoke() {
  local label="$1" gateway_cmd="$2" node_cmd="$3"
  local dir="$RUN/$label" port
  mkdir -p "$dir/home"
  port=$(free_port)
  local env_common=(env -u OPENCLAW_GATEWAY_URL -u OPENCLAW_GATEWAY_TOKEN -u OPENCLAW_GATEWAY_PASSWORD
    -u CLAWLET_NODE_DIR HOME="$dir/home" CLAWLET_STATE_DIR="$dir/state" CLAWLET_CONFIG="$dir/clawlet.json"
    CLAWLET_IDENTITY_DIR="$dir/identity" OPENCLAW_GATEWAY_PORT="$port")
  local t0 t1
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # command lines are words
  "${env_common[@]}" $gateway_cmd gateway run --port "$port" </dev/null >"$dir/gateway.log" 2>&1 &
  local gateway_pid=$!
  PIDS+=("$gateway_pid")
  wait_for_line "$dir/gateway.log" "gateway ready" 120 "$gateway_pid"
  t1=$(date +%s%N)
  GATEWAY_START_MS=$(( (t1 - t0) / 1000000 ))
  # shellcheck disable=SC2086
  "${env_common[@]}" CLAWLET_NODE_DIR="$dir/node" $node_cmd node run --url "ws://127.0.0.1:$port" \
    --token-file "$dir/state/gateway-token" --display-name "$label" </dev/null >"$dir/node.log" 2>&1 &
  local node_pid=$!
  PIDS+=("$node_pid")
  wait_for_line "$dir/node.log" "connected to the gateway" 120 "$node_pid"
  local request="" i
  for ((i = 0; i < 300; i++)); do
    request=$("${env_common[@]}" "$NATIVE" nodes pending --json | jq -r '.pending[0].requestId // empty')
    [ -n "$request" ] && break
    sleep 0.1
  done
  [ -n "$request" ] || fail "$label: no pending node surface after 30 s"
  "${env_common[@]}" "$NATIVE" nodes approve "$request" >/dev/null
  local answer
  answer=$("${env_common[@]}" "$NATIVE" nodes invoke --node "$label" --command system.which \
    --params '{"bins":["sh"]}' --json) || fail "$label: nodes invoke failed"
  jq -e '.ok == true and (.payload | tostring | contains("/sh"))' <<<"$answer" >/dev/null ||
    fail "$label: unexpected answer $answer"
  stop "$node_pid"
  stop "$gateway_pid"
}

for target in aarch64-unknown-linux-musl "$ARMV7"; do
  pair_and_invoke "node-${target%%-*}" "$NATIVE" "$(emulated "$target")"
  say "$target node (qemu-user) paired with the x86_64 gateway and answered nodes invoke system.which"
done
pair_and_invoke gateway-aarch64 "$(emulated aarch64-unknown-linux-musl)" "$NATIVE"
say "aarch64 gateway (qemu-user) served an x86_64 node; it started in ${GATEWAY_START_MS} ms (spawn to 'gateway ready', emulated)"

fi

# --- the Debian package in a fresh root ----------------------------------------------------
if want deb; then
# `clawlet completions` through a pipe its reader closes early ends with status 0 (pipefail).
"$NATIVE" completions bash | head -n 1 | grep -q '^_clawlet()' || fail "clawlet completions bash | head"
# This build's dev binary without its debuginfo (165 MB -> 29 MB), gzip -1: the package's
# contents and scripts are what is tested here, not its size.
strip -o "$RUN/clawlet" "$NATIVE"
host_glibc=$(ldd --version | head -n 1 | awk '{print $NF}')
deb=$(bash scripts/build-deb.sh --binary "$RUN/clawlet" --arch amd64 --out "$RUN/deb" --fast --libc6 "$host_glibc")
dpkg-deb --field "$deb" Depends | grep -qx "passwd, libc6 (>= $host_glibc)" || fail "the package's Depends"
say "built $(basename "$deb") ($(stat -c %s "$deb") bytes; this build's dev binary, stripped)"
dpkg-deb --info "$deb" >/dev/null
minbase="$CLAWLET_CACHE/debootstrap-bookworm-minbase-amd64.tar.gz"
if [ ! -s "$minbase" ]; then
  say "debootstrap --variant=minbase bookworm (once; cached as $minbase)"
  mkdir -p "$CLAWLET_CACHE" "$RUN/bootstrap"
  debootstrap --variant=minbase bookworm "$RUN/bootstrap" http://deb.debian.org/debian >"$RUN/debootstrap.log" 2>&1 ||
    { tail -n 20 "$RUN/debootstrap.log" >&2; fail "debootstrap"; }
  tar -C "$RUN/bootstrap" -czf "$minbase.partial" . && mv "$minbase.partial" "$minbase"
  rm -rf "$RUN/bootstrap"
fi
root="$RUN/root"
mkdir -p "$root"
tar -C "$root" -xzf "$minbase"
cp "$deb" "$root/tmp/"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root dpkg -i "/tmp/$(basename "$deb")" >"$RUN/dpkg-i.log" 2>&1 || { cat "$RUN/dpkg-i.log" >&2; fail "dpkg -i"; }
[ "$(in_root sh -c 'command -v clawlet')" = /usr/bin/clawlet ] || fail "clawlet is not on the PATH"
[ "$(in_root clawlet --version)" = "$version" ] || fail "installed clawlet --version"
for f in /usr/share/man/man1/clawlet.1.gz /usr/share/man/man1/clawlet-gateway-run.1.gz \
  /usr/share/bash-completion/completions/clawlet /usr/share/zsh/vendor-completions/_clawlet \
  /usr/share/fish/vendor_completions.d/clawlet.fish /usr/lib/systemd/system/clawlet-gateway.service \
  /usr/lib/systemd/user/clawlet-node@.service /etc/default/clawlet-gateway; do
  [ -s "$root$f" ] || fail "the package did not install $f"
done
in_root getent passwd clawlet | grep -q ':/var/lib/clawlet:/usr/sbin/nologin$' || fail "no clawlet system user"
[ "$(in_root stat -c '%U:%G %a' /var/lib/clawlet)" = "clawlet:clawlet 750" ] ||
  fail "/var/lib/clawlet is not clawlet:clawlet 0750"
say "dpkg -i into a fresh Debian bookworm minbase root: clawlet on the PATH, man pages, completions, units, user clawlet, /var/lib/clawlet"

# The installed units, verified by the host's systemd (the minbase root has no systemd of its
# own): the files exactly as dpkg installed them, with ExecStart's /usr/bin/clawlet pointed at
# the binary dpkg installed in the root. Any output (an unknown or misspelt setting, a bad
# value) fails: systemd-analyze only warns about those.
verify_unit() {
  local scope="$1" installed="$2" name="$3" out
  mkdir -p "$RUN/verify/run" "$RUN/verify/home"
  sed "s|/usr/bin/clawlet|$root/usr/bin/clawlet|g" "$root$installed" >"$RUN/verify/$name"
  out=$(XDG_RUNTIME_DIR="$RUN/verify/run" HOME="$RUN/verify/home" \
    systemd-analyze $scope verify --man=no "$RUN/verify/$name" 2>&1) ||
    { echo "$out" >&2; fail "systemd-analyze verify $installed"; }
  [ -z "$out" ] || { echo "$out" >&2; fail "systemd-analyze verify $installed warned"; }
}
verify_unit --system /usr/lib/systemd/system/clawlet-gateway.service clawlet-gateway.service
# A template is verified as an instance.
verify_unit --user /usr/lib/systemd/user/clawlet-node@.service clawlet-node@pi.service
for setting in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/clawlet ProtectHome=yes \
  PrivateTmp=yes User=clawlet StateDirectory=clawlet; do
  grep -qx "$setting" "$root/usr/lib/systemd/system/clawlet-gateway.service" || fail "gateway unit lacks $setting"
done
say "systemd-analyze verify: the installed clawlet-gateway.service (hardened, user clawlet) and clawlet-node@.service are clean"

# Remove keeps the state and the user; purge deletes them.
echo "paired devices" >"$root/var/lib/clawlet/state-marker"
in_root dpkg -r clawlet >"$RUN/dpkg-r.log" 2>&1 || { cat "$RUN/dpkg-r.log" >&2; fail "dpkg -r"; }
[ ! -e "$root/usr/bin/clawlet" ] || fail "dpkg -r left /usr/bin/clawlet"
[ -e "$root/var/lib/clawlet/state-marker" ] || fail "dpkg -r deleted the gateway state"
in_root getent passwd clawlet >/dev/null || fail "dpkg -r deleted the clawlet user"
[ -e "$root/etc/default/clawlet-gateway" ] || fail "dpkg -r deleted the conffile"
in_root dpkg -P clawlet >"$RUN/dpkg-p.log" 2>&1 || { cat "$RUN/dpkg-p.log" >&2; fail "dpkg -P"; }
[ ! -e "$root/var/lib/clawlet" ] || fail "dpkg -P left /var/lib/clawlet"
! in_root getent passwd clawlet >/dev/null || fail "dpkg -P left the clawlet user"
[ ! -e "$root/etc/default/clawlet-gateway" ] || fail "dpkg -P left /etc/default/clawlet-gateway"
say "dpkg -r kept /var/lib/clawlet, the user and the conffile; dpkg -P removed them"

fi

# --- crates and the release plan -----------------------------------------------------------
if want crates; then
# Several -p at once: cargo packages them in dependency order and resolves each against the
# ones packaged before it (none is on crates.io yet). --no-verify: verifying would compile all
# four again from the packaged sources.
cargo package --locked --no-verify --allow-dirty -q --target-dir "$RUN/package" \
  -p clawlet-node-core -p clawlet-android-trust -p clawlet-node -p clawlet-gateway 2>"$RUN/package.log" ||
  { cat "$RUN/package.log" >&2; fail "cargo package"; }
for crate in clawlet-node-core clawlet-android-trust clawlet-node clawlet-gateway; do
  file="$RUN/package/package/$crate-${version#clawlet }.crate"
  [ -s "$file" ] || fail "no $file"
  listing=$(tar -tzf "$file")
  for needed in LICENSE-MIT LICENSE-APACHE Cargo.toml src/lib.rs; do
    grep -q "^$crate-${version#clawlet }/$needed\$" <<<"$listing" || fail "$crate: $needed not in the package"
  done
done
say "cargo package: clawlet-node-core, clawlet-android-trust, clawlet-node, clawlet-gateway (with LICENSE-MIT, LICENSE-APACHE)"
bash scripts/release.sh --list >"$RUN/release-list.txt" || { cat "$RUN/release-list.txt" >&2; fail "release.sh --list"; }
grep -q "SHA256SUMS" "$RUN/release-list.txt" || fail "release.sh --list names no SHA256SUMS"
say "release.sh --list: $(grep -c '^  clawlet' "$RUN/release-list.txt") artefacts planned"
fi
