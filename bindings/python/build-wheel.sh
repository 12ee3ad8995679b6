#!/usr/bin/env bash
# Builds the `clawlet` Python wheel: the checked-in package bindings/python/clawlet/ (the
# UniFFI-generated clawlet.py and __init__.py) with the built libclawlet_node beside it, tagged
# py3-none-<platform> (a native library, loaded with ctypes: any Python 3, one platform).
#
#   bindings/python/build-wheel.sh [--lib PATH] [--out DIR] [--strip]
#
#   --lib PATH   the cdylib to ship (default: $CARGO_TARGET_DIR/debug/libclawlet_node.so, .dylib
#                on macOS; for a release: cargo build --release -p clawlet-node and pass
#                target/release/libclawlet_node.so)
#   --out DIR    where the wheel goes (default: $CARGO_TARGET_DIR/wheels); prints its path last
#   --strip      strip debug info from the staged copy of the library (smaller wheel)
#
# The build runs setuptools (pip wheel, no build isolation) from a venv cached under
# ${CLAWLET_CACHE:-~/.cache/clawlet}/python-build (setuptools installed from PyPI by name, once).
# Nothing is written into the source tree: the package is staged under $CARGO_TARGET_DIR.
#
# Why not maturin: maturin's uniffi mode regenerates the bindings itself, so the wheel would not
# carry the checked-in clawlet.py (with generate.sh's call_soon_threadsafe fix) nor our
# __init__.py (which re-exports uniffi_set_event_loop). This wheel ships exactly the files that
# bindings/generate.sh --check verifies, and the library they were generated from.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
cache="${CLAWLET_CACHE:-$HOME/.cache/clawlet}"
case "$(uname -s)" in
  Darwin) lib="$target_dir/debug/libclawlet_node.dylib" ;;
  *) lib="$target_dir/debug/libclawlet_node.so" ;;
esac
out="$target_dir/wheels"
strip=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) lib="${2:?--lib needs a path}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --strip) strip=1; shift ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bindings/python/build-wheel.sh [--lib PATH] [--out DIR] [--strip]" >&2; exit 2 ;;
  esac
done
[ -f "$lib" ] || {
  echo "build-wheel.sh: $lib does not exist (cargo build -p clawlet-node first)" >&2
  exit 1
}

# The build venv: setuptools >= 77 (bdist_wheel built in, SPDX license expressions), installed once.
venv="$cache/python-build"
if ! "$venv/bin/python" -c 'import setuptools, sys; sys.exit(tuple(map(int, setuptools.__version__.split(".")[:2])) < (77, 0))' 2>/dev/null; then
  echo "build-wheel.sh: creating the build venv $venv (setuptools from PyPI)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'setuptools>=77'
fi

# Stage: the package's Python files (never a stray local library from bindings/python/clawlet) plus
# the library, the metadata and the license texts.
stage="$target_dir/python-wheel/stage"
rm -rf "$stage"
mkdir -p "$stage/clawlet" "$out"
src="$root/bindings/python"
cp "$src/pyproject.toml" "$src/setup.py" "$src/README.md" "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$stage/"
cp "$src"/clawlet/*.py "$stage/clawlet/"
cp "$lib" "$stage/clawlet/$(basename "$lib")"
if [ "$strip" = 1 ]; then
  strip --strip-debug "$stage/clawlet/$(basename "$lib")"
fi

version="$(sed -n '/^version = "/{s/^version = "\(.*\)"$/\1/p;q}' "$src/pyproject.toml")"
rm -f "$out"/clawlet-"$version"-*.whl
"$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-build-isolation \
  --no-deps --wheel-dir "$out" "$stage" >&2
rm -rf "$stage/build" "$stage"/*.egg-info
wheel="$(find "$out" -maxdepth 1 -name "clawlet-$version-py3-none-*.whl" -print -quit)"
[ -n "$wheel" ] || {
  echo "build-wheel.sh: pip wheel produced no clawlet-$version-py3-none-*.whl in $out" >&2
  exit 1
}
echo "$wheel"
