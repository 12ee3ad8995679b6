#!/usr/bin/env bash
# Interop with unmodified OpenClaw (issue 4): installs OpenClaw from npm the way a user does
# (cached in ~/.cache/clawlet/openclaw, downloaded once), builds `clawlet`, then runs every
# scenario of tests/interop/ in parallel, each on its own loopback ports and HOME.
#
#   scripts/interop.sh            all scenarios
#   scripts/interop.sh --only 6   one or more (comma-separated)
#
# Artifacts (process logs, CLI outputs, redacted frames) go to target/interop/<timestamp>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v python3 >/dev/null || { echo "interop: python3 is required" >&2; exit 1; }
openclaw_dir="$(bash tests/interop/install-openclaw.sh)"
# The clawlet binary, and libclawlet_node.so for scenario 11's SDK phones (Python bindings).
cargo build --locked -p clawlet-gateway --bin clawlet
cargo build --locked -p clawlet-node --lib
# The whole run is bounded: the scenarios have their own budgets; this is the backstop.
timeout --kill-after=30 600 python3 tests/interop/run.py \
  --clawlet target/debug/clawlet --openclaw-dir "$openclaw_dir" "$@"
