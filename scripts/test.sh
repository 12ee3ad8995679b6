#!/usr/bin/env bash
# The single test command: installs what a fresh Debian machine of this kind lacks, then runs
# every test: formatting, lints, the Rust test suites, the no_std and embedded proofs, a
# fuzz smoke run, a `clawlet bench` smoke run, the install proof (Pi binaries under qemu-user,
# the Debian package in a fresh root, cargo package), the generated bindings (Python and Kotlin/JVM against a real gateway), the iOS
# and Android builds of the SDK that Linux can check, and the
# interop run against unmodified OpenClaw from npm. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

started=$(date +%s)
step() { printf '\n==> %s (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "toolchain"
if [ ! -d ../shared/protocol ]; then
  echo "error: ../shared/protocol is missing: the transcripts and vectors must sit beside the checkout" >&2
  exit 1
fi
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
cargo --version
rustc --version

# Debian packages the Rust tests themselves use (the others install theirs in their own
# scripts): a real sshd for the SSH tunnel tests, systemd-analyze to verify the generated
# service units, iproute2 and jq for the test network.
apt_missing=()
[ -x /usr/sbin/sshd ] || apt_missing+=(openssh-server)
command -v ssh >/dev/null || apt_missing+=(openssh-client)
command -v systemd-analyze >/dev/null || apt_missing+=(systemd)
command -v ip >/dev/null || apt_missing+=(iproute2)
command -v jq >/dev/null || apt_missing+=(jq)
command -v nginx >/dev/null || apt_missing+=(nginx-light openssl) # test network 07: TLS proxy
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "installing ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "test network (namespaces, OpenSSH)"
bash scripts/test-net.sh

step "no_std host binary"
bash scripts/check-nostd.sh

step "embedded firmware under QEMU"
bash scripts/run-embedded-qemu.sh

step "networked embedded node (RISC-V on QEMU virt, wss:// to clawlet and OpenClaw gateways)"
bash scripts/run-embedded-net.sh

step "fuzz smoke"
bash scripts/fuzz-smoke.sh

step "clawlet bench smoke (every scenario, tiny sizes, --json checked)"
bash scripts/bench-smoke.sh

step "install: Pi binaries under qemu-user pair and serve, the .deb in a fresh root, cargo package"
# The binary `cargo test` built above is the native side of the Pi proof and goes in the .deb.
CLAWLET_NATIVE_BIN=target/debug/clawlet bash scripts/test-install.sh

step "bindings (generated code, C header, Python and Kotlin e2e)"
bash scripts/test-bindings.sh

step "mobile targets (iOS staticlib, 4 Android ABIs, Swift parse, Android example)"
bash bindings/check-mobile-targets.sh

step "interop with unmodified OpenClaw (npm)"
bash scripts/interop.sh

step "all tests passed"
