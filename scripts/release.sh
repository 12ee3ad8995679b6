#!/usr/bin/env bash
# Builds the release artefacts of `clawlet` into dist/ (or --out DIR):
#   clawlet-<version>-<target>.tar.gz   for x86_64-unknown-linux-musl, aarch64-unknown-linux-musl
#                                       and the armv7 target (Raspberry Pi OS 32-bit; see below),
#                                       each with the binary, README.md, LICENSE-MIT,
#                                       LICENSE-APACHE, completions/ (bash, zsh, fish) and man/
#   clawlet_<version>_<arch>.deb        amd64, arm64, armhf (scripts/build-deb.sh)
#   SHA256SUMS                          of all of them (`sha256sum -c SHA256SUMS --ignore-missing`)
#
# Release profile (opt-level "s", fat LTO, one codegen unit): about 15 minutes per target on 2
# cores, so the test command does not run this; it proves the same cross builds with a cheap
# profile under qemu-user (scripts/test-install.sh) and runs `release.sh --list`.
#
# Cross builds: cargo-zigbuild + zig from PyPI, cached (scripts/cross-env.sh, which also says
# why armv7 may be the glibc 2.28 gnueabihf target and why aarch64's jemalloc uses 64 KiB pages).
#
# macOS (x86_64-apple-darwin, aarch64-apple-darwin): built only on a Mac (`cargo build
# --release --target …` there, this script does it when run on macOS) or with an Apple SDK
# given in SDKROOT (cargo-zigbuild links against it). Linux hosts have no macOS SDK and Apple's
# licence does not allow shipping one, so on Linux without SDKROOT they are skipped, and the
# script says so; nothing is faked.
#
# usage: scripts/release.sh [--list] [--out DIR] [--targets "T1 T2 …"] [--profile P]
#   --list     print the artefacts this host can build (and what it cannot, and why); build nothing
#   --profile  a cargo profile other than release, to try the packaging quickly (e.g. cross-check);
#              never for artefacts you publish
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/cross-env.sh
source scripts/cross-env.sh

list=false
profile=release
out=dist
targets=""
while [ $# -gt 0 ]; do
  case "$1" in
    --list) list=true; shift ;;
    --out) out="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    *) echo "release.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "release.sh: no [workspace.package] version in Cargo.toml" >&2; exit 1; }

linux_targets() {
  echo x86_64-unknown-linux-musl
  echo aarch64-unknown-linux-musl
  armv7_target
}
deb_arch() {
  case "$1" in
    x86_64-*) echo amd64 ;;
    aarch64-*) echo arm64 ;;
    armv7-*) echo armhf ;;
  esac
}

macos_targets=(x86_64-apple-darwin aarch64-apple-darwin)
macos_reason=""
if [ "$(uname -s)" != Darwin ] && [ -z "${SDKROOT:-}" ]; then
  macos_reason="no macOS SDK on this host (build on a Mac, or set SDKROOT to an Apple SDK for cargo-zigbuild)"
fi

if [ -z "$targets" ]; then
  if [ "$(uname -s)" = Darwin ]; then
    targets="${macos_targets[*]}"
  else
    targets="$(linux_targets | tr '\n' ' ')"
    [ -n "$macos_reason" ] || targets="$targets ${macos_targets[*]}"
  fi
fi

if $list; then
  echo "clawlet $version release artefacts (into $out/):"
  for target in $targets; do
    echo "  clawlet-$version-$target.tar.gz"
  done
  for target in $targets; do
    case "$target" in *-linux-*) echo "  clawlet_${version}_$(deb_arch "$target").deb" ;; esac
  done
  echo "  SHA256SUMS"
  [ -z "$macos_reason" ] || echo "not built here: ${macos_targets[*]}: $macos_reason"
  exit 0
fi

if [ "$(uname -s)" != Darwin ]; then
  ensure_zigbuild
fi
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# CLAWLET_HOST_BIN: a clawlet this host runs, for the man pages and completions (else the first
# built target that runs here, x86_64-unknown-linux-musl on an x86_64 host).
host_binary="${CLAWLET_HOST_BIN:-}"
artefacts=()
for target in $targets; do
  echo "==> $target ($profile profile)"
  case "$target" in
    *-apple-darwin)
      if [ "$(uname -s)" = Darwin ]; then
        rustup target add "$target" >/dev/null
        cargo build --locked --profile "$profile" -p clawlet-gateway --bin clawlet --target "$target" --target-dir "$CROSS_TARGET_DIR"
        binary="$CROSS_TARGET_DIR/$target/$profile/clawlet"
      else
        binary=$(cross_build "$target" "$profile")
      fi
      ;;
    *) binary=$(cross_build "$target" "$profile") ;;
  esac
  # The man pages and completions come from a binary this host runs (the CLI is the same
  # everywhere): this target's if it runs here, else one built for the host.
  if [ -z "$host_binary" ] && "$binary" --version >/dev/null 2>&1; then
    host_binary="$binary"
  fi
  if [ -z "$host_binary" ]; then
    cargo build --locked --profile "$profile" -p clawlet-gateway --bin clawlet
    host_binary="target/$profile/clawlet"
    [ "$profile" != dev ] || host_binary=target/debug/clawlet
  fi
  dir="$stage/clawlet-$version-$target"
  mkdir -p "$dir/completions" "$dir/man"
  install -m 0755 "$binary" "$dir/clawlet"
  cp README.md LICENSE-MIT LICENSE-APACHE "$dir/"
  "$host_binary" completions bash >"$dir/completions/clawlet.bash"
  "$host_binary" completions zsh >"$dir/completions/_clawlet"
  "$host_binary" completions fish >"$dir/completions/clawlet.fish"
  "$host_binary" man "$dir/man" >/dev/null
  tar -C "$stage" --owner=0 --group=0 --sort=name -czf "$out/clawlet-$version-$target.tar.gz" "clawlet-$version-$target"
  artefacts+=("clawlet-$version-$target.tar.gz")
  case "$target" in
    *-linux-*)
      libc6=()
      case "$target" in *-gnu*) libc6=(--libc6 "$ARMV7_GLIBC") ;; esac
      deb=$(bash scripts/build-deb.sh --binary "$binary" --host-binary "$host_binary" --arch "$(deb_arch "$target")" --out "$out" "${libc6[@]}")
      artefacts+=("$(basename "$deb")")
      ;;
  esac
  echo "    $(stat -c %s "$binary" 2>/dev/null || stat -f %z "$binary") bytes: $binary"
done
(cd "$out" && sha256sum "${artefacts[@]}" >SHA256SUMS)
echo "==> $out/"
(cd "$out" && ls -l "${artefacts[@]}" SHA256SUMS)
[ -z "$macos_reason" ] || echo "not built: ${macos_targets[*]}: $macos_reason"
