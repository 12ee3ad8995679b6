#!/usr/bin/env bash
# Publishes the JVM artifact of the clawlet node SDK (coordinates in bindings/kotlin/pom.xml,
# dev.clawlet:clawlet-jvm) into a Maven repository directory, laid out as `mvn deploy` would:
#
#   <repo>/dev/clawlet/clawlet-jvm/<version>/clawlet-jvm-<version>.jar          classes + native lib
#   <repo>/dev/clawlet/clawlet-jvm/<version>/clawlet-jvm-<version>-sources.jar  clawlet.kt
#   <repo>/dev/clawlet/clawlet-jvm/<version>/clawlet-jvm-<version>.pom
#   (each with .sha1 and .md5) and <repo>/dev/clawlet/clawlet-jvm/maven-metadata.xml
#
#   bindings/kotlin/publish-local.sh [--repo DIR] [--lib PATH] [--strip]
#
#   --repo DIR   the repository (default: $CARGO_TARGET_DIR/maven-repo); use it from Gradle with
#                repositories { maven { url = uri("file:///…/target/maven-repo") } }
#   --lib PATH   the cdylib to ship (default: $CARGO_TARGET_DIR/debug/libclawlet_node.so); it goes
#                under JNA's resource path for this machine (linux-x86-64/, linux-aarch64/, …)
#   --strip      strip debug info from the shipped copy of the library
#
# The jar holds the Kotlin sources under bindings/kotlin/src/main/kotlin (the generated
# dev/clawlet/sdk/clawlet.kt and the hand-written helpers beside it) compiled by kotlinc for
# Java 17 (the classes are cached by the hash of their inputs under
# ${CLAWLET_CACHE:-~/.cache/clawlet}/kotlin/build), the library, the pom under META-INF/maven/ and
# the license texts. The pom is checked first: its version must be workspace.package.version of
# Cargo.toml and its dependency versions the ones compiled against here (kotlin-stdlib = kotlinc's,
# kotlinx-coroutines-core-jvm = the one kotlinc ships, jna = /usr/share/java/jna.jar's).
# Needs: kotlinc (KOTLIN_HOME, default the npm kotlin-compiler that scripts/test-bindings.sh
# installs), Debian's libjna-java, a JDK (jar), python3. Prints the jar's path last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
cache="${CLAWLET_CACHE:-$HOME/.cache/clawlet}"
kotlin_home="${KOTLIN_HOME:-$cache/kotlin/node_modules/kotlin-compiler}"
jna_jar="${JNA_JAR:-/usr/share/java/jna.jar}"
repo="$target_dir/maven-repo"
strip=0
case "$(uname -s)" in
  Darwin) lib="$target_dir/debug/libclawlet_node.dylib" ;;
  *) lib="$target_dir/debug/libclawlet_node.so" ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="${2:?--repo needs a directory}"; shift 2 ;;
    --lib) lib="${2:?--lib needs a path}"; shift 2 ;;
    --strip) strip=1; shift ;;
    -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bindings/kotlin/publish-local.sh [--repo DIR] [--lib PATH] [--strip]" >&2; exit 2 ;;
  esac
done
die() { echo "publish-local.sh: $*" >&2; exit 1; }
case "$repo" in /*) ;; *) repo="$(pwd)/$repo" ;; esac
[ -f "$lib" ] || die "$lib does not exist (cargo build -p clawlet-node first)"
[ -x "$kotlin_home/bin/kotlinc" ] || die "no kotlinc in $kotlin_home (scripts/test-bindings.sh --only kotlin installs it)"
[ -f "$jna_jar" ] || die "no $jna_jar (apt-get install libjna-java)"
coroutines_jar="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
pom="$root/bindings/kotlin/pom.xml"
# Every Kotlin source of the SDK: the generated clawlet.kt and the hand-written helpers beside it.
src_root="$root/bindings/kotlin/src/main/kotlin"
sources=()
while IFS= read -r f; do sources+=("$f"); done < <(cd "$src_root" && find . -name '*.kt' | sed 's|^\./||' | LC_ALL=C sort)
[ -f "$src_root/dev/clawlet/sdk/clawlet.kt" ] || die "$src_root/dev/clawlet/sdk/clawlet.kt is missing: run bindings/generate.sh"

# JNA's resource prefix for this machine (com.sun.jna.Platform.RESOURCE_PREFIX).
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) prefix=linux-x86-64 ;;
  Linux-aarch64) prefix=linux-aarch64 ;;
  Darwin-x86_64) prefix=darwin-x86-64 ;;
  Darwin-arm64) prefix=darwin-aarch64 ;;
  *) die "no JNA resource prefix known for $(uname -s) $(uname -m)" ;;
esac

# What the toolchain here is, to check the pom against.
kotlin_version="$(unzip -p "$kotlin_home/lib/kotlin-stdlib.jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Implementation-Version: //p')"
coroutines_version="$(unzip -p "$coroutines_jar" META-INF/kotlinx_coroutines_core.version | tr -d '\r\n')"
jna_version="$(unzip -p "$jna_jar" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Implementation-Version: \([^ ]*\).*/\1/p' | sed -n 1p)"
cargo_version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")"
read -r group artifact version < <(
  POM="$pom" CARGO="$cargo_version" KOTLIN="$kotlin_version" COROUTINES="$coroutines_version" JNA="$jna_version" python3 - <<'PY'
import os, sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
p = ET.parse(os.environ["POM"]).getroot()
get = lambda e, k: (e.findtext(f"m:{k}", namespaces=ns) or "").strip()
g, a, v = get(p, "groupId"), get(p, "artifactId"), get(p, "version")
errors = []
if v != os.environ["CARGO"]:
    errors.append(f"pom version {v} is not Cargo's workspace.package.version {os.environ['CARGO']}")
want = {
    ("org.jetbrains.kotlin", "kotlin-stdlib"): os.environ["KOTLIN"],
    ("org.jetbrains.kotlinx", "kotlinx-coroutines-core-jvm"): os.environ["COROUTINES"],
    ("net.java.dev.jna", "jna"): os.environ["JNA"],
}
have = {(get(d, "groupId"), get(d, "artifactId")): get(d, "version") for d in p.iterfind("m:dependencies/m:dependency", ns)}
for k, w in want.items():
    if have.get(k) != w:
        errors.append(f"pom dependency {k[0]}:{k[1]} is {have.get(k)}, compiled and tested here with {w}")
for k in have.keys() - want.keys():
    errors.append(f"pom dependency {k[0]}:{k[1]} is not on the classpath compiled and tested here")
if errors:
    sys.exit("publish-local.sh: bindings/kotlin/pom.xml: " + "; ".join(errors))
print(g, a, v)
PY
) || exit 1
[ -n "${version:-}" ] || die "could not read bindings/kotlin/pom.xml"

# The classes, compiled once per content of their inputs.
classpath="$jna_jar:$coroutines_jar"
key="$(cd "$src_root" && { printf '%s\n' "${sources[@]}"; cat "${sources[@]}"; echo "$kotlin_version $coroutines_version $jna_version"; } | sha256sum | cut -c1-16)"
classes="$cache/kotlin/build/sdk-classes-$key.jar"
if [ ! -f "$classes" ]; then
  echo "publish-local.sh: compiling ${sources[*]} with kotlinc $kotlin_version (slow, once per content)" >&2
  mkdir -p "$cache/kotlin/build"
  rm -f "$cache/kotlin/build"/sdk-classes-*.jar # keep only the current one
  # -nowarn: the generated code has unchecked casts and unused parameters by design.
  "$kotlin_home/bin/kotlinc" -J-Xmx2g -nowarn -jvm-target 17 -cp "$classpath" \
    -d "$classes.tmp.jar" "${sources[@]/#/$src_root/}"
  mv "$classes.tmp.jar" "$classes"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
name="$artifact-$version"

# The jar: classes, the library under JNA's resource path, the pom, the licenses.
mkdir -p "$work/jar/$prefix" "$work/jar/META-INF/maven/$group/$artifact"
(cd "$work/jar" && unzip -q "$classes" -x 'META-INF/MANIFEST.MF')
cp "$lib" "$work/jar/$prefix/$(basename "$lib")"
[ "$strip" = 0 ] || strip --strip-debug "$work/jar/$prefix/$(basename "$lib")"
cp "$pom" "$work/jar/META-INF/maven/$group/$artifact/pom.xml"
printf 'groupId=%s\nartifactId=%s\nversion=%s\n' "$group" "$artifact" "$version" \
  >"$work/jar/META-INF/maven/$group/$artifact/pom.properties"
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$work/jar/META-INF/"
printf 'Implementation-Title: %s\nImplementation-Version: %s\nImplementation-Vendor: the clawlet authors\n' \
  "$artifact" "$version" >"$work/manifest"
jar --create --file "$work/$name.jar" --manifest "$work/manifest" -C "$work/jar" .

# The sources jar: the Kotlin sources at their package paths, and the licenses.
mkdir -p "$work/src/META-INF"
(cd "$src_root" && cp --parents "${sources[@]}" "$work/src/")
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$work/src/META-INF/"
jar --create --file "$work/$name-sources.jar" --no-manifest -C "$work/src" .
cp "$pom" "$work/$name.pom"

# Into the repository, checksums beside each file, then the artifact's maven-metadata.xml.
dir="$repo/${group//.//}/$artifact/$version"
mkdir -p "$dir"
for f in "$name.jar" "$name-sources.jar" "$name.pom"; do
  cp "$work/$f" "$dir/$f"
  sha1sum "$dir/$f" | cut -d' ' -f1 | tr -d '\n' >"$dir/$f.sha1"
  md5sum "$dir/$f" | cut -d' ' -f1 | tr -d '\n' >"$dir/$f.md5"
done
meta="$repo/${group//.//}/$artifact/maven-metadata.xml"
versions="$(cd "$repo/${group//.//}/$artifact" && for d in */; do [ -f "$d${artifact}-${d%/}.pom" ] && echo "${d%/}"; done | sort -V)"
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<metadata>'
  echo "  <groupId>$group</groupId>"
  echo "  <artifactId>$artifact</artifactId>"
  echo '  <versioning>'
  echo "    <latest>$(tail -1 <<<"$versions")</latest>"
  echo "    <release>$(tail -1 <<<"$versions")</release>"
  echo '    <versions>'
  while read -r v; do echo "      <version>$v</version>"; done <<<"$versions"
  echo '    </versions>'
  echo "    <lastUpdated>$(date -u +%Y%m%d%H%M%S)</lastUpdated>"
  echo '  </versioning>'
  echo '</metadata>'
} >"$meta"
sha1sum "$meta" | cut -d' ' -f1 | tr -d '\n' >"$meta.sha1"
md5sum "$meta" | cut -d' ' -f1 | tr -d '\n' >"$meta.md5"
echo "publish-local.sh: published $group:$artifact:$version ($prefix/$(basename "$lib")) to $repo" >&2
echo "$dir/$name.jar"
