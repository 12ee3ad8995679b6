#!/usr/bin/env bash
# The test network (issue 10): clawlet across real hosts built from Linux network namespaces,
# with real OpenSSH. Needs root. Installs iproute2, openssh-server/-client, jq, systemd (systemd-analyze), nginx-light, openssl and python3 (scenario 07's WebSocket client) from Debian
# when missing, builds target/debug/clawlet (unless CLAWLET_BIN is set), then runs every
# scenario of tests/net/ (tests/net/README.md), bounded to 240 s in all.
#
#   scripts/test-net.sh           all scenarios
#   scripts/test-net.sh 01 03     scenarios whose file name starts with 01 or 03
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test-net: must run as root (it creates network namespaces with 'ip netns add')" >&2
  exit 1
fi

# Debian packages, installed only when a command is missing.
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v jq >/dev/null || missing+=(jq)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-net: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Can this machine create a namespace (a container without CAP_SYS_ADMIN cannot)?
probe="clawlet-probe-$$"
if ! ip netns add "$probe" 2>/tmp/test-net-probe.$$; then
  echo "test-net: cannot create network namespaces ('ip netns add' failed: $(cat /tmp/test-net-probe.$$))." >&2
  echo "  The test network needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN (e.g. docker run --privileged)." >&2
  rm -f /tmp/test-net-probe.$$
  exit 1
fi
rm -f /tmp/test-net-probe.$$
if ! ip -n "$probe" link add br0 type bridge 2>/dev/null ||
  ! ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null; then
  ip netns delete "$probe" || true
  echo "test-net: this kernel cannot create bridge or veth devices inside a namespace" >&2
  exit 1
fi
ip netns delete "$probe"

if [ -z "${CLAWLET_BIN:-}" ]; then
  cargo build -p clawlet-gateway --bin clawlet --locked
  export CLAWLET_BIN="$PWD/target/debug/clawlet"
fi

NET_RUN_TIMEOUT="${NET_RUN_TIMEOUT:-240}" bash tests/net/run.sh "$@"
