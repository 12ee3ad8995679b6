#!/usr/bin/env bash
# The UniFFI bindings and their packages (a step of scripts/test.sh): the checked-in
# Swift/Kotlin/Python code is what node-ffi generates now, the Swift FFI header compiles as C and
# matches the library, and the packages an app developer depends on drive a NodeClient against a
# real `clawlet gateway run`:
# - python: the wheel (bindings/python/build-wheel.sh) is pip-installed into a fresh venv under
#   target/ and the Python e2e runs against the installed package, not the source tree;
# - kotlin: the jar (classes + libclawlet_node under JNA's resource path) is published with a
#   sources jar and a pom to target/maven-repo (bindings/kotlin/publish-local.sh), resolved from
#   there, and the Kotlin e2e is compiled against it and loads the library out of it;
# - apple: package-release.sh zips a stand-in XCFramework (there is no Xcode here) and its
#   checksum and stamped Package.swift are checked;
# - versions: Cargo, pyproject, pom, Android, the installed wheel, its version() and the
#   published pom agree (bindings/check-versions.py), and a mismatch is shown to fail.
#
#   scripts/test-bindings.sh              everything
#   scripts/test-bindings.sh --only NAME  of: generate, python, kotlin, apple, versions (comma-separated)
#
# Installs what a fresh Debian machine lacks (as root, or with sudo), cached under
# ~/.cache/clawlet:
# - clang (Debian): checks ClawletFFI.h the way Swift's importer reads it;
# - kotlinc: npm package kotlin-compiler@$KOTLIN_VERSION (the full JVM compiler; its lib/ ships
#   kotlin-stdlib.jar and kotlinx-coroutines-core-jvm.jar, which the generated Kotlin needs for
#   its suspend functions), `npm install --prefix ~/.cache/clawlet/kotlin`, once;
# - JNA (Debian libjna-java: /usr/share/java/jna.jar, with its native part from libjna-jni);
# - Java 17 and Python 3 come with the machine (python3 -m venv: Debian python3-venv if missing);
# - setuptools (PyPI, by name) in a build venv under ~/.cache/clawlet/python-build, once.
# The Kotlin test is compiled once per content of its sources (jar cached by hash).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
cache="${CLAWLET_CACHE:-$HOME/.cache/clawlet}"
kotlin_home="$cache/kotlin/node_modules/kotlin-compiler"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

only=",generate,python,kotlin,apple,versions,"
case "${1:-}" in
  "") ;;
  --only) only=",${2:?--only needs a name},"; ;;
  *) echo "usage: scripts/test-bindings.sh [--only generate,python,kotlin,apple,versions]" >&2; exit 2 ;;
esac
wants() { [[ "$only" == *",$1,"* ]]; }

started=$(date +%s)
progress() { printf -- '--> bindings: %s (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
timed() { # timed <label> <command...>: runs it, prints how long it took
  local label="$1" t0
  shift
  t0=$(date +%s)
  "$@"
  progress "$label took $(( $(date +%s) - t0 ))s"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  echo "test-bindings: installing $* with apt-get" >&2
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

progress "tools"
command -v python3 >/dev/null || apt_install python3
if wants python; then
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
fi
if wants kotlin || wants apple; then
  command -v unzip >/dev/null || apt_install unzip
  command -v zip >/dev/null || apt_install zip
fi
if wants generate; then
  command -v clang >/dev/null || apt_install clang
fi
if wants kotlin; then
  command -v java >/dev/null || apt_install openjdk-17-jdk-headless
  [ -f /usr/share/java/jna.jar ] || apt_install libjna-java
  if [ ! -x "$kotlin_home/bin/kotlinc" ] ||
    ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json" 2>/dev/null; then
    command -v npm >/dev/null || apt_install npm
    echo "test-bindings: installing kotlin-compiler@$KOTLIN_VERSION from npm into $cache/kotlin" >&2
    mkdir -p "$cache/kotlin"
    [ -f "$cache/kotlin/package.json" ] ||
      echo '{"name":"clawlet-kotlinc","private":true}' >"$cache/kotlin/package.json"
    npm install --prefix "$cache/kotlin" --no-audit --no-fund --loglevel=error \
      "kotlin-compiler@$KOTLIN_VERSION" >&2
  fi
  for jar in kotlin-stdlib.jar kotlinx-coroutines-core-jvm.jar; do
    [ -f "$kotlin_home/lib/$jar" ] || {
      echo "test-bindings: $kotlin_home/lib/$jar is missing from the kotlin-compiler package" >&2
      exit 1
    }
  done
  progress "kotlinc $KOTLIN_VERSION, $(java -version 2>&1 | head -1), JNA $(readlink -f /usr/share/java/jna.jar | grep -oE '[0-9.]+[0-9]')"
fi

# Builds libclawlet_node, clawlet and uniffi-bindgen, regenerates, compares and
# runs the C check of the header. The e2e tests below use the same build.
if wants generate; then
  timed "generate.sh --check" bash bindings/generate.sh --check
else
  cargo build --locked --quiet -p clawlet-node -p clawlet-gateway
fi

export CLAWLET_BIN="$target_dir/debug/clawlet"
export CLAWLET_NODE_LIB="$target_dir/debug/libclawlet_node.so"

py_venv="$target_dir/python-e2e-venv"
maven_repo="$target_dir/maven-repo"
if wants python; then
  progress "python wheel"
  wheel="$(bash bindings/python/build-wheel.sh --lib "$CLAWLET_NODE_LIB" --strip | tail -1)"
  progress "built $wheel"
  # A fresh venv each run: only the wheel is in it, the source tree is not on its path.
  rm -rf "$py_venv"
  python3 -m venv "$py_venv"
  timed "pip install $(basename "$wheel")" "$py_venv/bin/python" -m pip install --quiet \
    --disable-pip-version-check --no-index --no-deps "$wheel"
  progress "python e2e ($("$py_venv/bin/python" --version), installed wheel)"
  # CLAWLET_PY_INSTALLED=1: the test imports the installed `clawlet` and fails if it came from
  # anywhere but the venv's site-packages.
  CLAWLET_PY_INSTALLED=1 PYTHONDONTWRITEBYTECODE=1 timed "python e2e" timeout --kill-after=10 300 \
    "$py_venv/bin/python" bindings/python/tests/test_node_client.py
fi

if wants kotlin; then
  # Publish the artifact: every .kt of bindings/kotlin/src/main/kotlin (the generated bindings
  # and the hand-written helpers), compiled once per content, plus the library.
  rm -rf "$maven_repo"
  timed "publish-local.sh" env KOTLIN_HOME="$kotlin_home" bash bindings/kotlin/publish-local.sh \
    --repo "$maven_repo" --lib "$CLAWLET_NODE_LIB" --strip >/dev/null
  # Resolve it from the repository as a Maven client would: coordinates from the pom, the
  # version listed in maven-metadata.xml, each file matching its .sha1.
  read -r group artifact version < <(python3 -c '
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
p = ET.parse(sys.argv[1]).getroot()
print(*(p.findtext("m:" + k, namespaces=ns).strip() for k in ("groupId", "artifactId", "version")))
' bindings/kotlin/pom.xml)
  artifact_dir="$maven_repo/${group//.//}/$artifact"
  sdk_jar="$artifact_dir/$version/$artifact-$version.jar"
  grep -qF "<version>$version</version>" "$artifact_dir/maven-metadata.xml" || {
    echo "test-bindings: $artifact_dir/maven-metadata.xml does not list $version" >&2
    exit 1
  }
  for f in "$sdk_jar" "${sdk_jar%.jar}-sources.jar" "${sdk_jar%.jar}.pom"; do
    [ "$(sha1sum "$f" | cut -d' ' -f1)" = "$(cat "$f.sha1")" ] || {
      echo "test-bindings: $f does not match its .sha1" >&2
      exit 1
    }
  done
  grep -qx 'dev/clawlet/sdk/clawlet.kt' <<<"$(unzip -Z1 "${sdk_jar%.jar}-sources.jar")" || {
    echo "test-bindings: the sources jar lacks dev/clawlet/sdk/clawlet.kt" >&2
    exit 1
  }
  progress "kotlin: resolved $group:$artifact:$version from $maven_repo"
  # The test alone, compiled against the published jar (no bindings source on the path).
  deps="/usr/share/java/jna.jar:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
  test_src=bindings/kotlin/tests/NodeClientTest.kt
  key="$(cat "$test_src" bindings/kotlin/src/main/kotlin/dev/clawlet/sdk/*.kt \
    <(echo "$KOTLIN_VERSION $deps $group:$artifact:$version") | sha256sum | cut -c1-16)"
  jar="$cache/kotlin/build/e2e-$key.jar"
  if [ -f "$jar" ]; then
    progress "kotlin e2e: compiled test cached ($jar)"
  else
    progress "kotlin e2e: compiling the test against $artifact-$version.jar with kotlinc"
    mkdir -p "$cache/kotlin/build"
    rm -f "$cache/kotlin/build"/e2e-*.jar # keep only the current one
    timed "kotlinc" "$kotlin_home/bin/kotlinc" -J-Xmx2g -nowarn -jvm-target 17 \
      -cp "$sdk_jar:$deps" -d "$jar.tmp.jar" "$test_src"
    mv "$jar.tmp.jar" "$jar"
  fi
  # No jna.library.path: JNA finds libclawlet_node.so as a resource of the published jar
  # (linux-x86-64/) and extracts it (Debian's JNA finds its own native part in
  # /usr/lib/<arch>/jni, on the JVM's default java.library.path). jna.debug_load logs where the
  # library came from; the check below insists on the jar.
  kotlin_log="$target_dir/kotlin-e2e.log"
  timed "kotlin e2e" timeout --kill-after=10 300 java \
    -Djna.debug_load=true -Djna.tmpdir="$target_dir/jna-tmp" -Dclawlet.bin="$CLAWLET_BIN" \
    -cp "$jar:$sdk_jar:$kotlin_home/lib/kotlin-stdlib.jar:$deps" dev.clawlet.e2e.NodeClientTestKt \
    2>&1 | tee "$kotlin_log"
  grep -qE "Found library resource at jar:file:.*/$artifact-$version\.jar!/[a-z0-9-]+/libclawlet_node\.so" "$kotlin_log" || {
    echo "test-bindings: JNA did not load libclawlet_node.so from $artifact-$version.jar (see $kotlin_log)" >&2
    exit 1
  }
  progress "kotlin: libclawlet_node.so was loaded from the published jar"
fi

if wants apple; then
  # No Xcode here: a stand-in XCFramework (Info.plist + the generated header) checks the zip,
  # the checksum and the stamped Package.swift; the real one comes from build-xcframework.sh.
  apple_work="$target_dir/apple-release-test"
  rm -rf "$apple_work"
  mkdir -p "$apple_work/ClawletFFI.xcframework/ios-arm64/Headers"
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict/></plist>\n' \
    >"$apple_work/ClawletFFI.xcframework/Info.plist"
  cp bindings/swift/Sources/ClawletFFI/ClawletFFI.h bindings/swift/Sources/ClawletFFI/module.modulemap \
    "$apple_work/ClawletFFI.xcframework/ios-arm64/Headers/"
  url_base="https://example.invalid/clawlet/releases/download/test"
  apple_zip="$(bash bindings/apple/package-release.sh --url-base "$url_base" \
    --xcframework "$apple_work/ClawletFFI.xcframework" --out "$apple_work/out" 2>/dev/null | tail -1)"
  sum="$(sha256sum "$apple_zip" | cut -d' ' -f1)"
  manifest="$apple_work/out/clawlet-swift/Package.swift"
  if [ "$(cat "$apple_zip.sha256")" = "$sum" ] &&
    grep -qx 'ClawletFFI.xcframework/ios-arm64/Headers/ClawletFFI.h' <<<"$(unzip -Z1 "$apple_zip")" &&
    grep -qF "let releaseURL: String? = \"$url_base/$(basename "$apple_zip")\"" "$manifest" &&
    grep -qF "let releaseChecksum = \"$sum\"" "$manifest" &&
    ! grep -q testTarget "$manifest" &&
    diff -r bindings/swift/Sources/Clawlet "$apple_work/out/clawlet-swift/Sources/Clawlet" >/dev/null; then
    progress "apple: $(basename "$apple_zip") sha256 $sum, the released Package.swift points at it"
  else
    echo "test-bindings: package-release.sh's zip, checksum or Package.swift is wrong (in $apple_work)" >&2
    exit 1
  fi
fi

if wants versions; then
  args=()
  [ -x "$py_venv/bin/python" ] && args+=(--python "$py_venv/bin/python")
  [ -d "$maven_repo" ] && args+=(--maven-repo "$maven_repo")
  python3 bindings/check-versions.py ${args[@]+"${args[@]}"}
  # The check must be able to fail: the same with a pyproject.toml of another version.
  bad_pyproject="$target_dir/check-versions-mismatch.toml"
  sed 's/^version = ".*"$/version = "0.0.0-mismatch"/' bindings/python/pyproject.toml >"$bad_pyproject"
  if python3 bindings/check-versions.py --pyproject "$bad_pyproject" >/dev/null 2>&1; then
    echo "test-bindings: check-versions.py accepted a pyproject.toml of version 0.0.0-mismatch" >&2
    exit 1
  fi
  progress "versions agree (and a mismatch is caught)"
fi

progress "all bindings checks passed"
