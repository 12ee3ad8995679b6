#!/usr/bin/env bash
# Packages a built ClawletFFI.xcframework for release as a SwiftPM binary target: zips it, computes
# its SwiftPM checksum, and lays out the Swift package that points at the zip by URL + checksum.
#
#   bindings/apple/package-release.sh --url-base URL [--xcframework DIR] [--out DIR]
#
#   --url-base URL     where the zip will be downloadable from, without the file name, e.g.
#                      https://…/releases/download/v0.1.0 (the zip's URL is URL/<zip name>)
#   --xcframework DIR  default: bindings/apple/build/ClawletFFI.xcframework
#                      (bindings/apple/build-xcframework.sh on a Mac makes it)
#   --out DIR          default: $CARGO_TARGET_DIR/apple-release
#
# Writes into --out:
#   ClawletFFI-<version>.xcframework.zip         upload this to --url-base
#   ClawletFFI-<version>.xcframework.zip.sha256  its checksum (hex)
#   clawlet-swift/                                the package to tag and publish (SwiftPM wants
#     Package.swift                               Package.swift at a repository's root): this
#     Sources/Clawlet/*.swift                     directory's Package.swift with releaseURL and
#     LICENSE-MIT, LICENSE-APACHE                 releaseChecksum filled in, the Swift of
#                                                 bindings/swift/Sources/Clawlet, no tests
# <version> is workspace.package.version of Cargo.toml.
#
# The checksum: SwiftPM verifies a remote binary target by the SHA-256 of the downloaded zip;
# `swift package compute-checksum <zip>` prints exactly that hex digest. Where `swift` exists
# (a Mac), this script runs it and fails if it differs from the SHA-256 it computed itself; on
# Linux (no Swift toolchain) the SHA-256 is computed with sha256sum/shasum alone.
# The zip holds ClawletFFI.xcframework/ at its top level, symlinks kept (zip -y), no extra
# attributes (-X), as SwiftPM expects.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
xcf="$here/build/ClawletFFI.xcframework"
out="$target_dir/apple-release"
url_base=""
die() { echo "package-release.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --url-base) url_base="${2:?--url-base needs a URL}"; shift 2 ;;
    --xcframework) xcf="${2:?--xcframework needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$url_base" ] || die "--url-base is required (where the zip will be downloaded from)"
case "$url_base" in https://*) ;; *) die "--url-base must be an https:// URL (SwiftPM downloads binary targets over https)" ;; esac
[ -d "$xcf" ] || die "$xcf does not exist: run bindings/apple/build-xcframework.sh on a Mac first"
[ -f "$xcf/Info.plist" ] || die "$xcf has no Info.plist: not an XCFramework"
[ "$(basename "$xcf")" = ClawletFFI.xcframework ] || die "the XCFramework must be named ClawletFFI.xcframework (the binary target's name)"
swift_src="$root/bindings/swift/Sources/Clawlet/Clawlet.swift"
[ -f "$swift_src" ] || die "$swift_src is missing: run bindings/generate.sh"
command -v zip >/dev/null || die "zip not found"

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")"
[ -n "$version" ] || die "no workspace.package.version in Cargo.toml"
zip_name="ClawletFFI-$version.xcframework.zip"
case "$out" in /*) ;; *) out="$(pwd)/$out" ;; esac
mkdir -p "$out"
rm -f "$out/$zip_name" "$out/$zip_name.sha256"

# Zip with the XCFramework at the top level.
(cd "$(dirname "$xcf")" && zip -q -r -X -y "$out/$zip_name" ClawletFFI.xcframework)

if command -v sha256sum >/dev/null; then
  checksum="$(sha256sum "$out/$zip_name" | cut -d' ' -f1)"
else
  checksum="$(shasum -a 256 "$out/$zip_name" | cut -d' ' -f1)"
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "could not compute the SHA-256 of $zip_name"
if command -v swift >/dev/null 2>&1; then
  swiftpm="$(cd "$out" && swift package compute-checksum "$zip_name")"
  [ "$swiftpm" = "$checksum" ] || die "swift package compute-checksum says $swiftpm, sha256 says $checksum"
  echo "package-release.sh: swift package compute-checksum agrees" >&2
else
  echo "package-release.sh: no swift here; the checksum is the zip's SHA-256 (what compute-checksum prints)" >&2
fi
printf '%s\n' "$checksum" >"$out/$zip_name.sha256"
url="${url_base%/}/$zip_name"

# The package to publish: Package.swift with the constants filled in, sources, licenses.
pkg="$out/clawlet-swift"
rm -rf "$pkg"
mkdir -p "$pkg/Sources/Clawlet"
# The generated Clawlet.swift and the hand-written helpers shipped beside it (NodeStatusStream.swift, ...).
cp "$(dirname "$swift_src")"/*.swift "$pkg/Sources/Clawlet/"
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$pkg/"
# Exactly one line each must change, or this file and Package.swift have drifted apart.
manifest="$here/Package.swift"
[ "$(grep -c '^let releaseURL: String? = nil$' "$manifest")" = 1 ] &&
  [ "$(grep -c '^let releaseChecksum = ""$' "$manifest")" = 1 ] ||
  die "Package.swift no longer has the lines 'let releaseURL: String? = nil' and 'let releaseChecksum = \"\"' exactly once"
case "$url" in *'"'* | *'\'* | *'|'* | *'&'*) die "the URL must not contain \" \\ | or &" ;; esac
# The released package has no tests (they need a local gateway build); drop the test target.
sed -e "s|^let releaseURL: String? = nil\$|let releaseURL: String? = \"$url\"|" \
  -e "s|^let releaseChecksum = \"\"\$|let releaseChecksum = \"$checksum\"|" \
  "$manifest" | python3 -c '
import re, sys
s = sys.stdin.read()
test = re.compile(r"        \.testTarget\(\n(?:            .*\n)+?        \),\n")
if len(test.findall(s)) != 1:
    sys.exit("package-release.sh: expected one .testTarget block in Package.swift")
sys.stdout.write(test.sub("", s))
' >"$pkg/Package.swift"
grep -qF "let releaseURL: String? = \"$url\"" "$pkg/Package.swift" &&
  grep -qF "let releaseChecksum = \"$checksum\"" "$pkg/Package.swift" || die "stamping Package.swift failed"

cat >&2 <<MSG
package-release.sh: ClawletFFI $version
  zip:       $out/$zip_name  (upload to $url)
  checksum:  $checksum
  package:   $pkg  (publish as the root of a repository, tag $version)
  in Package.swift:
    .binaryTarget(name: "ClawletFFI", url: "$url", checksum: "$checksum")
MSG
echo "$out/$zip_name"
