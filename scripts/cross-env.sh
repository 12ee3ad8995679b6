# shellcheck shell=bash
# Sourced by scripts/release.sh and scripts/test-install.sh: the cross-build tools, installed
# on first use and cached, and one function that builds `clawlet` for a Linux target.
#
# Cross builds use cargo-zigbuild with zig as the C compiler and linker: the gateway's C code
# (ring, bundled SQLite, jemalloc) compiles for every target from one toolchain, with no
# per-target gcc or sysroot. Both come from PyPI (`cargo-zigbuild`, `ziglang`, pinned) into a
# venv under ~/.cache/clawlet, so nothing is compiled to get them.
#
# Targets:
#   x86_64-unknown-linux-musl, aarch64-unknown-linux-musl: static binaries, any distribution.
#   armv7 (Raspberry Pi OS 32-bit, Pi 2/3/4/Zero 2): armv7-unknown-linux-musleabihf when rustup
#     can install its standard library; where it cannot (here the dist server answers 404 for
#     rust-std-armv7-unknown-linux-musleabihf, and for every other 32-bit ARM musl target),
#     armv7-unknown-linux-gnueabihf linked by zig against glibc 2.28: a dynamic binary that runs
#     on every Raspberry Pi OS / Debian since buster (2019). CLAWLET_ARMV7_TARGET overrides.
#
# jemalloc (the gateway's allocator on Linux) is built with a 64 KiB page size for aarch64
# (JEMALLOC_SYS_WITH_LG_PAGE=16): jemalloc fixes the page size at build time and aborts on a
# kernel with larger pages, and aarch64 kernels use 4, 16 (Raspberry Pi 5's default) or 64 KiB
# pages. A larger jemalloc page works on smaller kernel pages, at some memory cost.

CLAWLET_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/clawlet"
ZIG_VENV="$CLAWLET_CACHE/zig-venv"
CARGO_ZIGBUILD_VERSION=0.24.1
ZIGLANG_VERSION=0.17.1
# Cross builds have their own target dir: the shared target/ stays free for native builds.
CROSS_TARGET_DIR="${CROSS_TARGET_DIR:-target/cross}"
# The oldest glibc the gnueabihf fallback links against.
ARMV7_GLIBC=2.28

# cargo-zigbuild and zig from PyPI into the cached venv; puts them on PATH.
ensure_zigbuild() {
  if [ ! -x "$ZIG_VENV/bin/cargo-zigbuild" ] ||
    ! "$ZIG_VENV/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $CARGO_ZIGBUILD_VERSION\$" ||
    ! "$ZIG_VENV/bin/python3" -m ziglang version 2>/dev/null | grep -qx "$ZIGLANG_VERSION"; then
    echo "installing cargo-zigbuild $CARGO_ZIGBUILD_VERSION and ziglang $ZIGLANG_VERSION (PyPI) into $ZIG_VENV"
    python3 -m venv "$ZIG_VENV"
    "$ZIG_VENV/bin/pip" install -q "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION"
  fi
  # cargo-zigbuild runs `python3 -m ziglang` when no `zig` is on PATH: the venv's python3.
  export PATH="$ZIG_VENV/bin:$PATH"
}

# Installs a rustup target; fails (quietly) when rustup cannot.
ensure_rust_target() {
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  rustup target add "$1" >/dev/null 2>&1
}

# The armv7 target to build (see the header): prints "<rust target> <zig glibc suffix or empty>".
armv7_target() {
  if [ -n "${CLAWLET_ARMV7_TARGET:-}" ]; then
    echo "$CLAWLET_ARMV7_TARGET"
  elif ensure_rust_target armv7-unknown-linux-musleabihf; then
    echo armv7-unknown-linux-musleabihf
  else
    ensure_rust_target armv7-unknown-linux-gnueabihf || {
      echo "error: rustup can install neither armv7-unknown-linux-musleabihf nor armv7-unknown-linux-gnueabihf" >&2
      return 1
    }
    echo armv7-unknown-linux-gnueabihf
  fi
}

# qemu-user for a target triple (the Pi proof): prints the emulator command.
qemu_for() {
  case "$1" in
    aarch64-*) echo qemu-aarch64-static ;;
    armv7-*) echo qemu-arm-static ;;
    x86_64-*) echo "" ;;
    *) echo "error: no qemu-user for $1" >&2; return 1 ;;
  esac
}

# Builds the clawlet binary for a Linux target with a cargo profile; prints the binary's path.
# usage: cross_build <rust target> <profile>
cross_build() {
  local target="$1" profile="$2" zig_target="$1"
  ensure_rust_target "$target" || { echo "error: rustup cannot install $target" >&2; return 1; }
  # A gnu target is linked against the oldest glibc it must run on (cargo-zigbuild's suffix).
  case "$target" in *-gnueabihf) zig_target="$target.$ARMV7_GLIBC" ;; esac
  local lg_page=""
  case "$target" in aarch64-*) lg_page=16 ;; esac
  # Unset, not empty, for the others: jemalloc's build script would pass an empty --with-lg-page.
  env ${lg_page:+JEMALLOC_SYS_WITH_LG_PAGE=$lg_page} cargo zigbuild --locked -q -p clawlet-gateway --bin clawlet \
    --profile "$profile" --target "$zig_target" --target-dir "$CROSS_TARGET_DIR" >&2
  local dir="$profile"
  [ "$profile" = dev ] && dir=debug
  echo "$CROSS_TARGET_DIR/$target/$dir/clawlet"
}
