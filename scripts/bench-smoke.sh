#!/usr/bin/env bash
# `clawlet bench` smoke (issue 13): every scenario at a tiny size against a gateway the tool
# spawns itself, `--json` checked with jq for its structure and for zero failures (never for
# speed). Keeps the load tool from rotting; the real runs are scripts/bench.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v jq >/dev/null || { echo "bench-smoke: jq is required" >&2; exit 1; }
cargo build --locked -q -p clawlet-gateway --bin clawlet
bin=target/debug/clawlet

# check <scenario> <jq condition> <clawlet bench args...> ("fleet create" is one scenario: its
# report says "fleet-create")
check() {
  local scenario="$1" cond="$2"; shift 2
  local json words
  read -r -a words <<<"$scenario"
  json="$(timeout --kill-after=5 60 "$bin" bench "${words[@]}" "$@" --spawn --json --timeout 50)" || {
    echo "bench-smoke: clawlet bench $scenario $* failed" >&2; exit 1; }
  if ! jq -e --arg s "$scenario" \
      "(.scenario == (\$s | gsub(\" \"; \"-\"))) and .failures == 0 and (.setup.gateway_pid | type) == \"number\" and ($cond)" \
      >/dev/null <<<"$json"; then
    echo "bench-smoke: unexpected result of clawlet bench $scenario $*:" >&2
    echo "$json" >&2
    exit 1
  fi
  echo "bench-smoke: $scenario ok"
}

check idle '.results.nodes == 50 and .results.dropped == 0 and .results.online_at_end == 50 and (.results.per_conn_rss_kib | type) == "number"' \
  -n 50 --duration 1 --settle 0.5
check handshake '.results.fresh.ok == 30 and .results.known.ok == 30 and .results.known.latency.count == 30' \
  -n 30 -c 16
check invoke '.results.rtt_c1.latency.count == 200 and (.results.levels | length) == 1 and .results.levels[0].ok > 0 and .results.levels[0].errors == 0' \
  -k 4 --rtt-samples 200 --levels 32 --duration 1
check storm '.results.all_back and .results.back == 20 and .results.auth_failures == 0' \
  -n 20
check pairing '.results.online == 5 and .results.approved == 5' \
  -n 5
check coldstart '.results.start_to_hello_ok.count == 1' \
  -r 1
# The fleet path: enrolled once (resumable), then reused as known devices by idle and storm.
fleet_dir="$(mktemp -d)"
trap 'rm -rf "$fleet_dir"' EXIT
check "fleet create" '.results.enrolled == 20 and .results.enrolled_now == 20' \
  -n 20 --batch 12 --dir "$fleet_dir/f"
check idle '.results.known_devices and .results.online_at_end == 20 and .results.dials == 20 and .results.surfaces_approved == 0' \
  --fleet "$fleet_dir/f" -n 20 --duration 1 --settle 0.5
check storm '.results.all_back and .results.back == 20 and .results.auth_failures == 0 and .results.pairing_required == 0' \
  --fleet "$fleet_dir/f" -n 20
check node-idle '.results.rss_kib_end > 0 and (.results.wakeups_per_min | type) == "number"' \
  --duration 2 --settle 1
