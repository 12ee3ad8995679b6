"""The interop scenarios of issue 4: clawlet against unmodified OpenClaw, in both directions.

Every peer connection goes through a logging proxy (`wsproxy.py`), so the checks look at the real
frames and a failure can show them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from compare import compare_scenario_7
from harness import Fail, Scenario, closes, find_frames, response_to
from peers import ClawletCli, ClawletGateway, ClawletNode, OpenClawCli, OpenClawGateway, OpenClawNode

WHICH_PARAMS = '{"bins":["sh"]}'
CLAWLET_CONNECTED = r"connected to the gateway"
OPENCLAW_NODE_CONNECTED = r"node host gateway connected"


@dataclass
class Spec:
    number: int
    title: str
    budget: float
    fn: Callable[[Scenario], None]


def token() -> str:
    return "interop-" + secrets.token_urlsafe(24)


def check(cond: Any, message: str, frames: list[dict[str, Any]] | None = None) -> None:
    if not cond:
        raise Fail(message, frames)


# ------------------------------------------------------------------------ shared steps


def paired_entry(listing: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    for entry in listing.get("paired", []) or listing.get("nodes", []) or []:
        if entry.get("nodeId") == node_id:
            return entry
    return None


def pending_for(listing: Any, key: str, value: str) -> str | None:
    entries = listing.get("pending", []) if isinstance(listing, dict) else listing
    for entry in entries or []:
        if entry.get(key) == value:
            return entry.get("requestId")
    return None


def approve_surface_openclaw(sc: Scenario, cli: OpenClawCli, node_id: str) -> str:
    """`openclaw nodes pending` then `openclaw nodes approve` for this node's command surface."""
    req = sc.eventually(
        "the node's command surface in `openclaw nodes pending`",
        60,
        lambda: pending_for(cli.json(["nodes", "pending"]), "nodeId", node_id),
        every=1,
    )
    cli.ok(["nodes", "approve", req])
    return req


def invoke_results(sc: Scenario, proxy, invoke_id: str) -> list[dict[str, Any]]:
    return [
        r for r in find_frames(sc.frames(proxy), "c2s", "req", method="node.invoke.result")
        if r["json"].get("params", {}).get("id") == invoke_id
    ]


def invoke_requests(sc: Scenario, proxy, command: str) -> list[dict[str, Any]]:
    return [
        r for r in find_frames(sc.frames(proxy), "s2c", "event", event="node.invoke.request")
        if r["json"].get("payload", {}).get("command") == command
    ]


def check_which_answer(sc: Scenario, answer: dict[str, Any], proxy, node_side: str) -> None:
    """The operator's answer is what the node put in its node.invoke.result."""
    payload = answer.get("payload", answer)
    sh = (payload.get("bins") or {}).get("sh") if isinstance(payload, dict) else None
    check(isinstance(sh, str) and sh.endswith("/sh"), f"system.which answer has no sh path: {answer}")
    requests = invoke_requests(sc, proxy, "system.which")
    check(requests, "no node.invoke.request for system.which reached the node", sc.frames(proxy))
    invoke_id = requests[-1]["json"]["payload"]["id"]
    results = invoke_results(sc, proxy, invoke_id)
    check(results, f"the {node_side} node sent no node.invoke.result for {invoke_id}", sc.frames(proxy))
    sent = results[-1]["json"]["params"]
    sent_payload = json.loads(sent["payloadJSON"]) if isinstance(sent.get("payloadJSON"), str) else sent.get("payload")
    check(sent.get("ok") is True and sent_payload == payload,
          f"operator got {payload}, the node sent {sent}", [requests[-1], results[-1]])


def connect_frames(sc: Scenario, proxy) -> list[dict[str, Any]]:
    return find_frames(sc.frames(proxy), "c2s", "req", method="connect")


def hello_of(sc: Scenario, proxy, connect_record) -> dict[str, Any] | None:
    res = response_to(sc.frames(proxy), connect_record)
    return res["json"] if res else None


def sleeping_pids(marker: str) -> list[int]:
    """Processes whose command line is `sleep <marker>`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"sleep") and argv[1] == marker.encode():
            pids.append(int(entry))
    return pids


# ------------------------------------------------------------------------ 1


def s1_silent_local_pairing(sc: Scenario) -> None:
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok).start()
    px = sc.proxy("node", gw.port)
    node = ClawletNode(sc, "clawlet-s1", px.listen_port)
    node.start(tok)
    node_id = node.node_id()
    sc.wait_log(node.proc, CLAWLET_CONNECTED, 60)
    check("pairing required" not in node.proc.log(), "a loopback node was asked to pair with autoApproveLocal on")

    cli = OpenClawCli(sc, "op", px.listen_port, tok)
    listing = cli.json(["nodes", "list"])
    entry = paired_entry(listing, node_id)
    check(entry and entry.get("connected") is True, f"`openclaw nodes list` does not show {node_id} connected: {listing}")
    # Silent pairing approves the device; OpenClaw still holds the command surface for an operator.
    approve_surface_openclaw(sc, cli, node_id)
    sc.wait_log(node.proc, r"node commands approved", 30)
    listing = cli.json(["nodes", "list"])
    entry = paired_entry(listing, node_id)
    check(entry and entry.get("connected") is True
          and {"system.which", "system.notify"} <= set(entry.get("commands") or []),
          f"`openclaw nodes list` does not show {node_id} connected with its commands: {entry}")
    text = cli.ok(["nodes", "list"]).out
    check("clawlet-s1" in text, f"`openclaw nodes list` does not name the node:\n{text}")

    answer = cli.json(["nodes", "invoke", "--node", node_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "clawlet")


# ------------------------------------------------------------------------ 2


def s2_explicit_pairing(sc: Scenario) -> None:
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok, auto_approve_local=False).start()
    px = sc.proxy("node", gw.port)
    node = ClawletNode(sc, "clawlet-s2", px.listen_port)
    proc = node.start(tok)
    node_id = node.node_id()
    m = sc.wait_log(proc, r'pairing required.*request_id="?([0-9a-f-]{36})', 60)
    request_id = m.group(1)
    first = time.time()
    # The wire: NOT_PAIRED / PAIRING_REQUIRED with that request id, then close 1008.
    refusals = [
        r for r in find_frames(sc.frames(px), "s2c", "res")
        if (r["json"].get("error") or {}).get("details", {}).get("code") == "PAIRING_REQUIRED"
    ]
    check(refusals and refusals[0]["json"]["error"]["details"].get("requestId") == request_id,
          "the node's request id is not the one the gateway sent", sc.frames(px))

    # Waits without a tight loop: watch the connect attempts for a while.
    sc.sleep(15)
    attempts = [r["t"] for r in connect_frames(sc, px) if r["t"] >= first - 0.5]
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    sc.note(f"pairing re-checks in 15 s: {len(attempts)} connects, gaps {[round(g, 1) for g in gaps]}")
    check(len(attempts) <= 5 and all(g >= 2.0 for g in gaps),
          f"the node re-checks pairing too often: {len(attempts)} connects in 15 s, gaps {gaps}", sc.frames(px))

    cli = OpenClawCli(sc, "op", px.listen_port, tok)
    devices = cli.json(["devices", "list"])
    check(pending_for(devices, "deviceId", node_id) == request_id,
          f"`openclaw devices list` does not show request {request_id} for {node_id}: {devices}")
    cli.ok(["devices", "approve", request_id])
    # No restart: the same process gets in on its next re-check (at most the 30 s cap).
    sc.wait_log(proc, CLAWLET_CONNECTED, 45)
    check(proc.alive() and node.runs == 1, "the node had to be restarted")
    approve_surface_openclaw(sc, cli, node_id)
    sc.wait_log(proc, r"node commands approved", 30)
    answer = cli.json(["nodes", "invoke", "--node", node_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "clawlet")


# ------------------------------------------------------------------------ 3


def s3_invoke_timeout_cancel(sc: Scenario) -> None:
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok).start()
    px = sc.proxy("node", gw.port)
    node = ClawletNode(sc, "clawlet-s3", px.listen_port)
    proc = node.start(tok, allow_exec=True)
    node_id = node.node_id()
    sc.wait_log(proc, CLAWLET_CONNECTED, 60)
    cli = OpenClawCli(sc, "op", px.listen_port, tok)
    approve_surface_openclaw(sc, cli, node_id)
    sc.wait_log(proc, r"node commands approved", 30)

    marker = f"{50 + secrets.randbelow(40)}.{secrets.randbelow(1000):03d}"
    params = {
        "nodeId": node_id,
        "command": "system.run",
        "params": {"command": ["sleep", marker]},
        "idempotencyKey": f"interop-timeout-{uuid.uuid4()}",
        "timeoutMs": 4000,
    }
    seen_running: list[int] = []
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["run"] = cli.run(["gateway", "call", "node.invoke", "--params", json.dumps(params), "--json"])
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = e

    caller = threading.Thread(target=call)
    caller.start()
    while caller.is_alive():
        seen_running.extend(sleeping_pids(marker))
        time.sleep(0.1)
    caller.join()
    if "error" in result:
        raise result["error"]
    run = result["run"]
    check(run.rc != 0 and "TIMEOUT" in run.out + run.err,
          f"the operator did not get TIMEOUT (rc={run.rc}):\n{run.out}\n{run.err}")
    check(seen_running, f"`sleep {marker}` never ran on the node")

    requests = invoke_requests(sc, px, "system.run")
    check(requests, "no node.invoke.request for system.run", sc.frames(px))
    invoke_id = requests[-1]["json"]["payload"]["id"]
    cancels = [
        r for r in find_frames(sc.frames(px), "s2c", "event", event="node.invoke.cancel")
        if r["json"].get("payload", {}).get("invokeId") == invoke_id
    ]
    check(cancels, f"the gateway sent no node.invoke.cancel for {invoke_id}", sc.frames(px))
    sc.wait_log(proc, rf"invoke cancelled id={invoke_id} reason=Gateway", 10)
    sc.eventually(f"`sleep {marker}` to be gone", 10, lambda: not sleeping_pids(marker))
    late = [r for r in invoke_results(sc, px, invoke_id) if r["json"]["params"].get("ok") is True]
    check(not late, "the node reported success for a cancelled invoke", late)
    check(proc.alive(), "the node exited")


# ------------------------------------------------------------------------ 4

RECONNECT = re.compile(r"reconnecting in ([0-9.]+) s attempt=(\d+)")


def check_backoff(sc: Scenario, log: str) -> list[tuple[float, int]]:
    """Every logged delay lies within clawlet's documented bounds (README: 1 s doubling to 30 s,
    jittered, never below 250 ms; a gateway restart hint is capped at 30 s plus up to 1 s)."""
    delays = [(float(d), int(n)) for d, n in RECONNECT.findall(log)]
    for delay, attempt in delays:
        # Attempt 1 may be a restart-hint wait (up to 31 s); attempt n of the backoff is capped
        # at 1 s * 2^(n-1).
        ceiling = 31.0 if attempt <= 1 else min(30.0, 2.0 ** (attempt - 1))
        check(0.2 <= delay <= ceiling + 0.05, f"reconnect delay {delay} s for attempt {attempt} is outside 0.25..{ceiling} s")
    return delays


def check_device_token_connect(sc: Scenario, proxy, connect) -> None:
    auth = connect["json"]["params"].get("auth") or {}
    hello = hello_of(sc, proxy, connect)
    check("deviceToken" in auth and "token" not in auth and "password" not in auth,
          f"the reconnect did not authenticate with the device token alone: auth keys {sorted(auth)}", [connect])
    check(hello and hello.get("ok") and hello["payload"]["auth"].get("method") == "device-token",
          "the gateway did not accept the device token", [connect] + ([response_to(sc.frames(proxy), connect)] if hello else []))


def s4_gateway_restart(sc: Scenario) -> None:
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok).start()
    px = sc.proxy("node", gw.port)
    node = ClawletNode(sc, "clawlet-s4", px.listen_port)
    node.start(tok)
    node.node_id()
    sc.wait_log(node.proc, CLAWLET_CONNECTED, 60)
    sc.wait_log(node.proc, r"device token issued", 5)
    node.stop()
    # From now on the node has no shared secret: only the device token it stored.
    proc = node.start(None)
    sc.wait_log(proc, r'connected to the gateway.*auth="device-token"', 30)
    check_device_token_connect(sc, px, connect_frames(sc, px)[-1])

    # 1. In-process restart requested over RPC.
    cli = OpenClawCli(sc, "op", px.listen_port, tok)
    mark = len(proc.log())
    res = cli.json(["gateway", "call", "gateway.restart.request", "--params", '{"reason":"interop"}'])
    # OpenClaw defers a restart while it still has work in flight (on a loaded machine, e.g. its
    # startup sidecars) and restarts once that is done; both answers lead to the same restart.
    check(res.get("status") in ("scheduled", "deferred") and (res.get("restart") or {}).get("ok", True),
          f"gateway.restart.request: {res}")
    if res.get("status") == "deferred":
        sc.note(f"restart deferred by OpenClaw: {(res.get('preflight') or {}).get('summary')}")
    shutdown = sc.eventually(
        "the shutdown event", 90,
        lambda: find_frames(sc.frames(px), "s2c", "event", event="shutdown"))
    check(shutdown[-1]["json"]["payload"].get("restartExpectedMs"), "the restart's shutdown event has no restartExpectedMs", shutdown)
    sc.wait_log(proc, CLAWLET_CONNECTED, 60, after=mark)
    reconnect = connect_frames(sc, px)[-1]
    check_device_token_connect(sc, px, reconnect)
    took = reconnect["t"] - shutdown[-1]["t"]
    sc.note(f"reconnected {took:.1f} s after the restart's shutdown event")
    check_backoff(sc, proc.log()[mark:])

    # 2. Stop, stay down a while, start again with the same state.
    mark = len(proc.log())
    stopped_at = time.time()
    gw.stop()
    sc.sleep(4)
    gw.start(wait=False)
    gw.wait_ready()
    ready_at = time.time()
    sc.wait_log(proc, CLAWLET_CONNECTED, 45, after=mark)
    reconnect = connect_frames(sc, px)[-1]
    check_device_token_connect(sc, px, reconnect)
    delays = check_backoff(sc, proc.log()[mark:])
    sc.note(f"down {ready_at - stopped_at:.1f} s; reconnected {time.time() - ready_at:.1f} s after ready; delays {delays}")
    # The node gets in within one backoff ceiling of the gateway being back.
    ceiling = max([min(30.0, 2.0 ** max(0, n - 1)) for _, n in delays] or [1.0])
    check(reconnect["t"] - ready_at <= ceiling + 3.0,
          f"reconnect came {reconnect['t'] - ready_at:.1f} s after the gateway was ready (ceiling {ceiling} s)")
    check(proc.alive(), "the node exited")


# ------------------------------------------------------------------------ 5


def s5_clawlet_cli(sc: Scenario) -> None:
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok).start()
    px = sc.proxy("all", gw.port)
    node = ClawletNode(sc, "clawlet-s5", px.listen_port)
    proc = node.start(tok)
    node_id = node.node_id()
    sc.wait_log(proc, CLAWLET_CONNECTED, 60)
    cli = ClawletCli(sc, "op", px.listen_port, tok)

    health = cli.json(["health"])
    check(health.get("ok") is True, f"clawlet health --json: {health}")
    text = cli.ok(["health"]).out
    check("healthy" in text, f"clawlet health: {text}")

    # clawlet's CLI approves the command surface on OpenClaw's gateway.
    req = sc.eventually(
        "the node's command surface in `clawlet nodes pending`", 60,
        lambda: pending_for(cli.json(["nodes", "pending"]), "nodeId", node_id), every=1)
    cli.ok(["nodes", "approve", req])
    sc.wait_log(proc, r"node commands approved", 30)

    listing = cli.json(["nodes", "list"])
    entry = paired_entry(listing, node_id)
    check(entry and entry.get("connected") is True and "system.which" in (entry.get("commands") or []),
          f"clawlet nodes list --json does not show {node_id} connected with system.which: {listing}")
    text = cli.ok(["nodes", "list"]).out
    check("clawlet-s5" in text and "connected" in text, f"clawlet nodes list:\n{text}")

    answer = cli.json(["nodes", "invoke", "--node", node_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "clawlet")
    by_name = cli.ok(["nodes", "invoke", "--node", "clawlet-s5", "--command", "system.which", "--params", WHICH_PARAMS])
    check("/sh" in by_name.out, f"clawlet nodes invoke --node <name>:\n{by_name.out}")


# ------------------------------------------------------------------------ 6


def s6_openclaw_node_on_clawlet(sc: Scenario) -> None:
    tok = token()
    gw = ClawletGateway(sc, "clawlet-gw", tok, auto_approve_local=False).start()
    px = sc.proxy("all", gw.port)
    cli = ClawletCli(sc, "op", px.listen_port, tok)
    node = OpenClawNode(sc, "oc-node", px.listen_port)
    proc = node.start(tok)
    sc.wait_log(proc, r"pairing required", 90)
    refusal = [
        r for r in find_frames(sc.frames(px), "s2c", "res")
        if (r["json"].get("error") or {}).get("details", {}).get("code") == "PAIRING_REQUIRED"
    ]
    check(refusal, "no PAIRING_REQUIRED on the wire", sc.frames(px))
    device_id = refusal[0]["json"]["error"]["details"].get("deviceId")
    req = pending_for(cli.json(["devices", "list"]), "deviceId", device_id)
    check(req, f"`clawlet devices list` does not show {device_id} pending")
    cli.ok(["devices", "approve", req])
    # OpenClaw's node host pauses after PAIRING_REQUIRED until it is restarted (it does the same
    # against OpenClaw's own gateway; transcripts a/README). Restart it, as its operator would.
    node.stop()
    proc = node.start(tok)
    sc.wait_log(proc, OPENCLAW_NODE_CONNECTED, 90)
    nreq = sc.eventually(
        "the node's command surface in `clawlet nodes pending`", 30,
        lambda: pending_for(cli.json(["nodes", "pending"]), "nodeId", device_id), every=1)
    cli.ok(["nodes", "approve", nreq])

    # From here on it authenticates with the device token the clawlet gateway issued.
    node.stop()
    proc = node.start(None)
    sc.wait_log(proc, OPENCLAW_NODE_CONNECTED, 90)
    connect = connect_frames(sc, px)[-1]
    hello = hello_of(sc, px, connect)
    auth = connect["json"]["params"].get("auth") or {}
    check(hello and hello.get("ok") and hello["payload"]["auth"].get("method") == "device-token"
          and auth.get("deviceToken"),
          "OpenClaw's node did not connect with its device token", [connect])
    node_conn = connect["conn"]
    connected_at = connect["t"]

    answer = cli.json(["nodes", "invoke", "--node", device_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "OpenClaw")

    # At least 90 s on one socket, with ticks and pings.
    sc.sleep(max(0.0, connected_at + 92 - time.time()))
    recs = [r for r in sc.frames(px) if r["conn"] == node_conn]
    ticks = find_frames(recs, "s2c", "event", event="tick")
    pings = [r for r in recs if r.get("op") == "ping" and r["dir"] == "s2c"]
    pongs = [r for r in recs if r.get("op") == "pong" and r["dir"] == "c2s"]
    ended = [r for r in recs if r.get("kind") == "close" or r.get("op") == "close"]
    sc.note(f"node socket: {len(ticks)} ticks, {len(pings)} pings, {len(pongs)} pongs in {time.time() - connected_at:.0f} s")
    check(not ended, "the node's socket closed during the idle period", recs[-20:])
    check(len(ticks) >= 2 and len(pings) >= 3 and len(pongs) >= len(pings) - 1,
          f"expected ≥2 ticks and ≥3 answered pings in 90 s: {len(ticks)} ticks, {len(pings)} pings, {len(pongs)} pongs",
          ticks + pings + pongs)
    seqs = [t["json"].get("seq") for t in ticks]
    check(all(isinstance(s, int) for s in seqs) and seqs == sorted(seqs), f"tick seq values {seqs}")
    answer = cli.json(["nodes", "invoke", "--node", device_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "OpenClaw")

    # Restart the clawlet gateway: the node comes back by itself with its device token.
    before = len(connect_frames(sc, px))
    gw.stop()
    sc.sleep(2)
    gw.start()
    ready_at = time.time()
    sc.eventually("OpenClaw's node to reconnect", 45,
                  lambda: any(hello_of(sc, px, c) and hello_of(sc, px, c).get("ok") for c in connect_frames(sc, px)[before:]))
    connect = [c for c in connect_frames(sc, px)[before:] if (hello_of(sc, px, c) or {}).get("ok")][-1]
    sc.note(f"reconnected {connect['t'] - ready_at:.1f} s after the clawlet gateway was back")
    check((connect["json"]["params"].get("auth") or {}).get("deviceToken")
          and hello_of(sc, px, connect)["payload"]["auth"].get("method") == "device-token",
          "the reconnect did not use the device token", [connect])
    check(proc.alive(), "OpenClaw's node exited")
    answer = cli.json(["nodes", "invoke", "--node", device_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "OpenClaw")


# ------------------------------------------------------------------------ 7


def s7_openclaw_cli_on_clawlet(sc: Scenario) -> None:
    compare_scenario_7(sc, token())


# ------------------------------------------------------------------------ 8


def node_refusal(sc: Scenario, gw_port: int, label: str, tok: str | None) -> dict[str, Any]:
    """Runs a fresh `openclaw node run` with a bad or no token; returns what happened on the wire."""
    px = sc.proxy(label, gw_port)
    node = OpenClawNode(sc, label, px.listen_port)
    proc = node.start(tok)
    end = time.time() + sc.bound(90)
    while proc.alive() and time.time() < end:
        time.sleep(0.2)
    rc = proc.popen.poll()
    if rc is None:
        node.stop()
    frames = sc.frames(px)
    connects = connect_frames(sc, px)
    check(connects, f"{label}: the node never sent connect (rc={rc})", frames)
    res = response_to(frames, connects[0])
    check(res is not None, f"{label}: no answer to connect", frames)
    err = res["json"].get("error") or {}
    server_closes = closes(frames, conn=connects[0]["conn"], direction="s2c")
    return {
        "exit": rc,
        "error.code": err.get("code"),
        "error.message": err.get("message"),
        "details": err.get("details"),
        "close.code": server_closes[0].get("code") if server_closes else None,
        "close.reason": server_closes[0].get("reason") if server_closes else None,
        "frames": [connects[0], res] + server_closes[:1],
    }


def s8_error_parity(sc: Scenario) -> None:
    tok = token()
    # Deliberately wrong, so not a secret; key-based redaction still masks it in frame dumps.
    wrong = "interop-wrong-" + secrets.token_urlsafe(12)
    og = OpenClawGateway(sc, "oc-gw", tok)
    og.start(wait=False)
    cg = ClawletGateway(sc, "clawlet-gw", tok).start()
    og.wait_ready()
    cases = (("wrong-token", wrong), ("missing-token", None))
    outcomes: dict[tuple[str, str], Any] = {}

    def attempt(case: str, side: str, port: int, value: str | None) -> None:
        try:
            outcomes[(case, side)] = node_refusal(sc, port, f"{case}-{side}", value)
        except Exception as e:  # noqa: BLE001 - reported below
            outcomes[(case, side)] = e

    threads = [
        threading.Thread(target=attempt, args=(case, side, gw.port, value))
        for case, value in cases
        for side, gw in (("openclaw", og), ("clawlet", cg))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for outcome in outcomes.values():
        if isinstance(outcome, Exception):
            raise outcome
    problems = []
    for case, _ in cases:
        ref, got = outcomes[(case, "openclaw")], outcomes[(case, "clawlet")]
        sc.note(f"{case}: OpenClaw {ref['details']} close {ref['close.code']}; clawlet {got['details']} close {got['close.code']}")
        for key in ("error.code", "details", "close.code", "close.reason", "error.message", "exit"):
            if ref[key] != got[key]:
                problems.append((case, key, ref, got))
    if problems:
        lines = []
        frames = []
        for case, key, ref, got in problems:
            lines.append(f"{case}: {key} differs: OpenClaw {ref[key]!r} vs clawlet {got[key]!r}")
            frames.extend(ref["frames"] + got["frames"])
        raise Fail("\n".join(lines), frames)


# ------------------------------------------------------------------------ 9


def s9_setup_code_pairing(sc: Scenario) -> None:
    """A setup code issued by OpenClaw's gateway pairs a clawlet node (the path the SDK's phones
    take) with no operator approval, and the node keeps its device token afterwards."""
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok, auto_approve_local=False).start()
    px = sc.proxy("node", gw.port)
    cli = OpenClawCli(sc, "op", px.listen_port, tok)
    issued = cli.json(["gateway", "call", "device.pair.setupCode", "--params",
                       json.dumps({"bootstrapProfile": "node", "publicUrl": f"ws://127.0.0.1:{px.listen_port}"})])
    code = issued.get("setupCode") or (issued.get("payload") or {}).get("setupCode")
    check(isinstance(code, str) and code, f"OpenClaw issued no setup code: {issued}")

    node = ClawletNode(sc, "clawlet-s9", px.listen_port)
    proc = node.start(None, setup_code=code)
    node_id = node.node_id()
    sc.wait_log(proc, CLAWLET_CONNECTED, 60)
    check("pairing required" not in proc.log(), "a node with a setup code was asked to pair", sc.frames(px))
    def node_connects() -> list[dict[str, Any]]:
        return [r for r in connect_frames(sc, px)
                if isinstance(r.get("json"), dict) and r["json"]["params"]["client"].get("mode") == "node"]

    first = node_connects()
    check(first and "bootstrapToken" in (first[0]["json"]["params"].get("auth") or {}),
          "the node did not offer the setup code's bootstrap token", sc.frames(px))
    hello = hello_of(sc, px, first[0])
    check(hello and hello.get("ok") and hello["payload"]["auth"].get("method") == "bootstrap-token"
          and hello["payload"]["auth"].get("deviceToken"),
          "OpenClaw did not accept the bootstrap token with a device token", sc.frames(px))
    sc.note("bootstrap hello-ok auth keys: " + ", ".join(sorted(hello["payload"]["auth"])))

    answer = cli.json(["nodes", "invoke", "--node", node_id, "--command", "system.which", "--params", WHICH_PARAMS])
    check_which_answer(sc, answer, px, "clawlet")

    # Restart with the spent code: the device token carries it, the code is not offered again.
    node.stop()
    proc = node.start(None, setup_code=code)
    sc.wait_log(proc, CLAWLET_CONNECTED, 60)
    reconnect = node_connects()[-1]["json"]["params"].get("auth") or {}
    check("bootstrapToken" not in reconnect and reconnect.get("deviceToken"),
          f"the restarted node did not connect with its device token alone: {sorted(reconnect)}", sc.frames(px))


# ------------------------------------------------------------------------ 10


def s10_remote_cli_pairing(sc: Scenario) -> None:
    """clawlet's operator CLI paired with OpenClaw's gateway across hosts: OpenClaw in the test
    network's gw-host bound to the LAN, the CLI in laptop (so not loopback to it). The steps and
    checks are in remote-cli-netns.sh, on top of tests/net/lib.sh; it needs root."""
    if os.geteuid() != 0:
        raise Fail("scenario 10 builds network namespaces (tests/net/lib.sh) and must run as root")
    script = Path(__file__).resolve().parent / "remote-cli-netns.sh"
    env = sc.base_env(sc.home("netns"))
    env.update({
        "CLAWLET_BIN": str(Path(sc.ctx.clawlet).resolve()),
        "OPENCLAW_DIR": str(Path(sc.ctx.openclaw_dir).resolve()),
        "NET_KEEP": "0",
    })
    run = sc.run("remote-cli-netns.sh", ["timeout", "--kill-after=10", "200", "bash", str(script)], env, limit=220)
    (sc.dir / "remote-cli-netns.out").write_text(sc.redact(run.out + run.err))
    for line in run.out.splitlines() + run.err.splitlines():
        if line.startswith("[remote-cli-netns"):
            sc.note(line)
    if run.rc != 0:
        tail = "\n".join(sc.redact(line)[:300] for line in (run.out + run.err).splitlines()[-40:])
        raise Fail(f"remote-cli-netns.sh failed (exit {run.rc}):\n{tail}")


# ------------------------------------------------------------------------ 11


PHONE_LOGGED_IN = r"\[sdk-phone\] status CONNECTED"


class SdkPhone:
    """tests/interop/sdk_phone.py: an app on the SDK's Python bindings, shaped as an iOS or
    Android phone, with its CredentialStore in a JSON file that outlives its process."""

    def __init__(self, sc: Scenario, name: str, platform: str):
        self.sc = sc
        self.name = name
        self.platform = platform
        self.home = sc.home(name)
        self.store = self.home / "store.json"
        self.proc = None
        self.runs = 0

    def start(self, setup_code: str, node_only: bool = False) -> Any:
        lib = Path(os.environ.get("CLAWLET_NODE_LIB") or Path(self.sc.ctx.clawlet).resolve().parent / "libclawlet_node.so")
        env = self.sc.base_env(self.home)
        env["CLAWLET_NODE_LIB"] = str(lib)
        if os.environ.get("CLAWLET_PY_BINDINGS"):
            env["CLAWLET_PY_BINDINGS"] = os.environ["CLAWLET_PY_BINDINGS"]
        env["RUST_LOG"] = "info"
        argv = ["python3", str(Path(__file__).resolve().parent / "sdk_phone.py"), "--platform", self.platform,
                "--store", str(self.store), "--setup-code", setup_code, "--name", self.name]
        if node_only:
            argv.append("--node-only")
        self.proc = self.sc.spawn(f"{self.name}-run{self.runs}", argv, env)
        self.runs += 1
        return self.proc

    def device_id(self) -> str:
        assert self.proc is not None
        return self.sc.wait_log(self.proc, r"\[sdk-phone\] device id ([0-9a-f]{64})", 30).group(1)

    def stop(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(grace=15)


def issue_setup_code(sc: Scenario, cli: OpenClawCli, port: int, profile: str | None) -> str:
    params: dict[str, Any] = {"publicUrl": f"ws://127.0.0.1:{port}"}
    if profile:
        params["bootstrapProfile"] = profile
    issued = cli.json(["gateway", "call", "device.pair.setupCode", "--params", json.dumps(params)])
    code = issued.get("setupCode") or (issued.get("payload") or {}).get("setupCode")
    check(isinstance(code, str) and code, f"OpenClaw issued no setup code: {issued}")
    sc.note(f"setup code profile={profile or 'default'} access={issued.get('access')}")
    return code


def invoke_device_info(sc: Scenario, cli: OpenClawCli, phone: SdkPhone, node_id: str) -> None:
    answer = cli.json(["nodes", "invoke", "--node", node_id, "--command", "device.info", "--params", "{}"],
                      limit=60)
    payload = answer.get("payload") if isinstance(answer, dict) else None
    check(answer.get("ok") and isinstance(payload, dict) and payload.get("platform") == phone.platform
          and payload.get("sdk") == "clawlet",
          f"{phone.name}: `openclaw nodes invoke device.info` answered {answer}", sc.frames())


def s11_sdk_phones(sc: Scenario) -> None:
    """The SDK's phones against OpenClaw's gateway: iOS- and Android-shaped apps on the Python
    bindings pair from OpenClaw-issued setup codes with no approvals — the default profile as
    OpenClaw's phone apps (`openclaw-ios`/`openclaw-android`, which also get an operator token),
    the `node` profile as node-only companions (`node_only`: `node-host`, the only class OpenClaw
    pairs such a code for) — answer `openclaw nodes invoke`, come back after a gateway restart
    on their stored device tokens, and an app restart connects on the token, not the spent code.
    `autoApproveLocal: false`: on loopback that is the path a phone on the LAN takes."""
    tok = token()
    gw = OpenClawGateway(sc, "oc-gw", tok, auto_approve_local=False).start()
    px = sc.proxy("phones", gw.port)
    cli = OpenClawCli(sc, "op", px.listen_port, tok)

    def connects_of(node_id: str) -> list[dict[str, Any]]:
        return [r for r in connect_frames(sc, px)
                if ((r["json"].get("params") or {}).get("device") or {}).get("id") == node_id]

    phones: list[tuple[SdkPhone, str, str]] = []
    codes: dict[str, str] = {}
    for platform in ("android", "ios"):
        for profile in ("node", None):
            phone = SdkPhone(sc, f"{platform}-{profile or 'default'}", platform)
            codes[phone.name] = issue_setup_code(sc, cli, px.listen_port, profile)
            proc = phone.start(codes[phone.name], node_only=profile == "node")
            node_id = phone.device_id()
            sc.wait_log(proc, PHONE_LOGGED_IN, 60)
            check("pairing required" not in proc.log(), f"{phone.name} was asked to pair", sc.frames(px))
            first = connects_of(node_id)
            want = "node-host" if profile == "node" else f"openclaw-{platform}"
            check(len(first) == 1 and first[0]["json"]["params"]["client"]["id"] == want
                  and "bootstrapToken" in (first[0]["json"]["params"].get("auth") or {}),
                  f"{phone.name}: expected one bootstrap connect as {want}", first)
            auth = (hello_of(sc, px, first[0]) or {}).get("payload", {}).get("auth", {})
            operator_tokens = [t for t in auth.get("deviceTokens") or [] if t.get("role") == "operator"]
            check(auth.get("method") == "bootstrap-token" and auth.get("deviceToken"),
                  f"{phone.name}: no bootstrap hello-ok with a device token: {sorted(auth)}", first)
            check(bool(operator_tokens) == (profile is None),
                  f"{phone.name}: operator token in hello-ok: {bool(operator_tokens)}", first)
            if operator_tokens:
                sc.wait_log(proc, r"\[sdk-phone\] stored device-token:.*\|operator", 10)
            invoke_device_info(sc, cli, phone, node_id)
            sc.note(f"{phone.name}: paired as {want}, invoked")
            phones.append((phone, node_id, want))

    status = {n.get("nodeId"): n for n in cli.json(["nodes", "status"]).get("nodes", [])}
    for phone, node_id, want in phones:
        entry = status.get(node_id) or {}
        check(entry.get("approvalState") == "approved" and entry.get("clientId") == want
              and entry.get("commands") == ["device.info"],
              f"{phone.name} in `openclaw nodes status`: {json.dumps(entry)[:400]}")

    # Gateway restart (stop, start with the same state): every phone comes back on its token.
    marks = [len(p.proc.log()) for p, _, _ in phones]
    gw.stop()
    sc.sleep(2)
    gw.start(wait=False)
    gw.wait_ready()
    for (phone, node_id, _), mark in zip(phones, marks):
        sc.wait_log(phone.proc, PHONE_LOGGED_IN, 60, after=mark)
        check_device_token_connect(sc, px, connects_of(node_id)[-1])
        invoke_device_info(sc, cli, phone, node_id)

    # App restart with the spent code still in its config: the stored device token connects.
    for phone, node_id, _ in phones:
        phone.stop()
        proc = phone.start(codes[phone.name], node_only=phone.name.endswith("-node"))
        sc.wait_log(proc, PHONE_LOGGED_IN, 60)
        check_device_token_connect(sc, px, connects_of(node_id)[-1])
        invoke_device_info(sc, cli, phone, node_id)
        check(proc.alive(), f"{phone.name} exited")


SCENARIOS = [
    Spec(1, "clawlet node -> OpenClaw gateway: silent local pairing, nodes list, invoke", 240, s1_silent_local_pairing),
    Spec(2, "clawlet node -> OpenClaw gateway: explicit pairing without a node restart", 270, s2_explicit_pairing),
    Spec(3, "clawlet node -> OpenClaw gateway: invoke timeout sends node.invoke.cancel", 240, s3_invoke_timeout_cancel),
    Spec(4, "clawlet node -> OpenClaw gateway: restart (RPC and stop/start), device-token reconnect", 330, s4_gateway_restart),
    Spec(5, "clawlet CLI -> OpenClaw gateway: health, nodes list/approve, nodes invoke", 240, s5_clawlet_cli),
    Spec(6, "openclaw node run -> clawlet gateway: pairing, 90 s of ticks/pings, invoke, restart", 400, s6_openclaw_node_on_clawlet),
    Spec(7, "OpenClaw CLI -> clawlet gateway: same output as against OpenClaw's gateway", 360, s7_openclaw_cli_on_clawlet),
    Spec(8, "openclaw node run wrong/missing token: same error and close code on both gateways", 300, s8_error_parity),
    Spec(9, "clawlet node -> OpenClaw gateway: pairs from an OpenClaw-issued setup code, no approvals", 240, s9_setup_code_pairing),
    Spec(10, "clawlet CLI on another host -> OpenClaw gateway on a LAN bind: signed, approved once, device token", 240, s10_remote_cli_pairing),
    Spec(11, "SDK phones (iOS, Android) -> OpenClaw gateway: setup codes (node, default), invoke, restart", 420, s11_sdk_phones),
]
