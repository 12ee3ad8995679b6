#!/usr/bin/env bash
# Builds the Debian package clawlet_<version>_<arch>.deb from a built `clawlet` binary:
# the binary, its man pages (`clawlet man`, clap_mangen), bash/zsh/fish completions
# (`clawlet completions`, clap_complete), the hardened system unit for the gateway and the user
# unit template for nodes (packaging/systemd/), /etc/default/clawlet-gateway, and the maintainer
# scripts that create and (on purge) delete the `clawlet` user and /var/lib/clawlet.
#
# dpkg-deb directly rather than cargo-deb: the package is a handful of files, and this needs no
# tool compiled first (cargo-deb would add minutes to a cold test run) and works for any binary,
# including cross-built ones whose man pages come from a host binary.
#
# usage: scripts/build-deb.sh --binary PATH --arch amd64|arm64|armhf --out DIR [--host-binary PATH] [--libc6 V] [--fast]
#   --libc6 V      the binary is linked against glibc V or later (a gnu target): Depends on libc6 (>= V);
#                  the musl binaries are static and depend on nothing
#   --fast         gzip -1 instead of xz (the test command's package: xz of a 30 MB binary takes
#                  minutes on a busy 2-core machine)
#   --host-binary  a `clawlet` this machine can run, for the man pages and completions
#                  (default: --binary itself; the CLI is the same on every target)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

binary="" arch="" out="" host_binary="" compression=(-Zxz) depends="passwd"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --host-binary) host_binary="$2"; shift 2 ;;
    --fast) compression=(-Zgzip -z1); shift ;;
    --libc6) depends="$depends, libc6 (>= $2)"; shift 2 ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ] || [ -z "$arch" ] || [ -z "$out" ]; then
  echo "usage: scripts/build-deb.sh --binary PATH --arch amd64|arm64|armhf --out DIR [--host-binary PATH]" >&2
  exit 2
fi
host_binary="${host_binary:-$binary}"
version=$("$host_binary" --version | awk '{print $2}')
[ -n "$version" ] || { echo "build-deb.sh: no version from $host_binary --version" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"

install -D -m 0755 "$binary" "$root/usr/bin/clawlet"
mkdir -p "$root/usr/share/man/man1"
"$host_binary" man "$stage/man" >/dev/null
for page in "$stage"/man/*.1; do
  gzip -9n -c "$page" >"$root/usr/share/man/man1/$(basename "$page").gz"
done
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d"
"$host_binary" completions bash >"$root/usr/share/bash-completion/completions/clawlet"
"$host_binary" completions zsh >"$root/usr/share/zsh/vendor-completions/_clawlet"
"$host_binary" completions fish >"$root/usr/share/fish/vendor_completions.d/clawlet.fish"
install -D -m 0644 packaging/systemd/clawlet-gateway.service "$root/usr/lib/systemd/system/clawlet-gateway.service"
install -D -m 0644 packaging/systemd/clawlet-node@.service "$root/usr/lib/systemd/user/clawlet-node@.service"
install -D -m 0644 packaging/deb/default-clawlet-gateway "$root/etc/default/clawlet-gateway"
install -D -m 0644 README.md "$root/usr/share/doc/clawlet/README.md"
install -D -m 0644 packaging/deb/copyright "$root/usr/share/doc/clawlet/copyright"

install -d "$root/DEBIAN"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
done
echo /etc/default/clawlet-gateway >"$root/DEBIAN/conffiles"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | awk '{print $1}')
homepage=$(sed -n 's/^homepage = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: clawlet
Version: $version
Architecture: $arch
Maintainer: the clawlet authors <clawlet@users.noreply.github.com>
Installed-Size: $installed_kb
Depends: $depends
Section: net
Priority: optional
Homepage: $homepage
Description: OpenClaw-compatible gateway, headless node and operator CLI
 clawlet runs an OpenClaw-compatible gateway (clawlet gateway run), a headless
 node that pairs with any OpenClaw or clawlet gateway (clawlet node run), and
 the operator commands that manage them. One static binary.
 .
 The package ships a hardened system unit for the gateway (clawlet-gateway,
 not enabled by default; it runs as the clawlet user with its state in
 /var/lib/clawlet) and a user unit template for nodes (clawlet-node@).
CONTROL

mkdir -p "$out"
deb="$out/clawlet_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
