"""Scenario 7: the OpenClaw CLI against the clawlet gateway prints what it prints against
OpenClaw's own gateway.

Both gateways get the same setup (manual pairing, one `openclaw node run` paired and approved
through the OpenClaw CLI), then the same commands run against each. The JSON outputs are compared
as sets of key paths and the human outputs as sets of labelled lines; what may be missing on the
clawlet side is listed in ALLOWED_ABSENT (subsystems clawlet does not have), with the reason.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from harness import Fail, Run, Scenario, find_frames
from peers import ClawletGateway, OpenClawCli, OpenClawGateway, OpenClawNode

# command -> (path regex, why it may be absent on clawlet). Paths look like `a.b[].c`.
ALLOWED_ABSENT: dict[str, list[tuple[str, str]]] = {
    "health": [
        (r"^eventLoop(\.|$)", "Node.js event-loop metrics; clawlet is not a Node process"),
        (r"^plugins\.loaded\[\]$", "no plugins"),
        (r"^(agents|sessions|heartbeatSeconds|defaultAgentId)(\.|\[|$)", "no agents or sessions"),
        (r"^modelRuntime(\.|$)", "no models"),
        (r"^configReload(\.|$)", "no config hot reload"),
    ],
    "status": [
        (r"(^|\.)buildId$", "clawlet has no OpenClaw build id"),
    ],
    "probe": [
        (r"(^|\.)buildId$", "clawlet has no OpenClaw build id"),
    ],
    "health-text": [
        (r"^Gateway event loop$", "Node.js event-loop metrics"),
    ],
}

# Lines whose label must be there on both sides (human output).
LABEL = re.compile(r"^\s*([A-Z][A-Za-z0-9 ()/._-]{1,40}):(\s|$)")


def key_paths(obj: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            paths.add(p)
            paths |= key_paths(v, p)
    elif isinstance(obj, list):
        p = f"{prefix}[]"
        for v in obj:
            paths.add(p)
            paths |= key_paths(v, p)
    return paths


def labels(text: str) -> set[str]:
    return {m.group(1).strip() for line in text.splitlines() if (m := LABEL.match(line))}


def allowed(command: str, path: str) -> bool:
    return any(re.search(rx, path) for rx, _ in ALLOWED_ABSENT.get(command, []))


def prepare(sc: Scenario, kind: str, tok: str, out: dict[str, Any]) -> None:
    """One side: gateway, a paired + approved OpenClaw node, then every CLI command."""
    if kind == "openclaw":
        gw: Any = OpenClawGateway(sc, f"{kind}-gw", tok, auto_approve_local=False).start()
    else:
        gw = ClawletGateway(sc, f"{kind}-gw", tok, auto_approve_local=False).start()
    px = sc.proxy(kind, gw.port)
    cli = OpenClawCli(sc, f"op-{kind}", px.listen_port, tok)
    node = OpenClawNode(sc, f"node-{kind}", px.listen_port)
    proc = node.start(tok)
    sc.wait_log(proc, r"pairing required", 90)
    refusal = [
        r for r in find_frames(sc.frames(px), "s2c", "res")
        if (r["json"].get("error") or {}).get("details", {}).get("code") == "PAIRING_REQUIRED"
    ]
    if not refusal:
        raise Fail(f"{kind}: no PAIRING_REQUIRED for the node", sc.frames(px))
    details = refusal[0]["json"]["error"]["details"]
    device_id, request_id = details.get("deviceId"), details.get("requestId")
    runs: dict[str, Run] = {}
    runs["devices list --json (pending)"] = cli.run(["devices", "list", "--json"])
    runs["devices list (pending)"] = cli.run(["devices", "list"])
    runs["devices approve"] = cli.run(["devices", "approve", request_id])
    node.stop()
    proc = node.start(tok)
    sc.wait_log(proc, r"node host gateway connected", 60)

    def surface_request() -> str | None:
        pending = cli.json(["nodes", "pending"])
        for entry in pending if isinstance(pending, list) else pending.get("pending", []):
            if entry.get("nodeId") == device_id:
                return entry.get("requestId")
        return None

    node_request = sc.eventually(f"{kind}: the surface request", 30, surface_request, every=1)
    runs["nodes approve"] = cli.run(["nodes", "approve", node_request])
    which = ["nodes", "invoke", "--node", device_id, "--command", "system.which", "--params", '{"bins":["sh"]}']
    commands = {
        "gateway call health --json": ["gateway", "call", "health", "--json"],
        "gateway call health": ["gateway", "call", "health"],
        "gateway status --json": ["gateway", "status", "--json"],
        "gateway status": ["gateway", "status"],
        "gateway probe --json": ["gateway", "probe", "--json"],
        "gateway probe": ["gateway", "probe"],
        "nodes list --json": ["nodes", "list", "--json"],
        "nodes list": ["nodes", "list"],
        "nodes invoke --json": which + ["--json"],
        "nodes invoke": which,
        "devices list --json": ["devices", "list", "--json"],
        "devices list": ["devices", "list"],
    }
    for name, args in commands.items():
        runs[name] = cli.run(args)
    env = {"OPENCLAW_GATEWAY_URL": cli.url, "OPENCLAW_GATEWAY_TOKEN": tok}
    runs["health --json (env)"] = cli.run(["health", "--json"], env=env, url=False)
    runs["health (env)"] = cli.run(["health"], env=env, url=False)
    out.update({"runs": runs, "device_id": device_id, "port": px.listen_port, "gw_port": gw.port})


def normalise(text: str, side: dict[str, Any]) -> str:
    text = text.replace(str(side["port"]), "<port>").replace(str(side["gw_port"]), "<port>")
    return text.replace(side["device_id"], "<device>")


def compare_scenario_7(sc: Scenario, tok: str) -> None:
    sides: dict[str, dict[str, Any]] = {"openclaw": {}, "clawlet": {}}
    errors: dict[str, Exception] = {}

    def side(kind: str) -> None:
        try:
            prepare(sc, kind, tok, sides[kind])
        except Exception as e:  # noqa: BLE001 - reported below
            errors[kind] = e

    threads = [threading.Thread(target=side, args=(k,)) for k in sides]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind, err in errors.items():
        raise Fail(f"{kind} side: {err}", getattr(err, "frames", None))

    ref_runs, got_runs = sides["openclaw"]["runs"], sides["clawlet"]["runs"]
    problems: list[str] = []
    absent_report: list[str] = []
    for name, ref in ref_runs.items():
        got = got_runs[name]
        if ref.rc != 0:
            problems.append(f"`openclaw {name}` failed against OpenClaw's own gateway (rc={ref.rc}): {ref.err.strip()[:300]}")
            continue
        if got.rc != 0:
            problems.append(f"`openclaw {name}` failed against clawlet (rc={got.rc}):\n{got.out.strip()[:800]}\n{got.err.strip()[:800]}")
            continue
        base = name.split(" ")[1] if name.startswith("gateway ") else name.split(" ")[0]
        if "--json" in name:
            try:
                ref_paths = key_paths(ref.json())
                got_paths = key_paths(got.json())
            except Fail as e:
                problems.append(f"`openclaw {name}`: {e}")
                continue
            missing = sorted(p for p in ref_paths - got_paths)
            unexplained = [p for p in missing if not allowed(base, p)]
            if unexplained:
                problems.append(f"`openclaw {name}`: fields missing against clawlet: {unexplained}")
            if missing:
                absent_report.append(f"{name}: absent on clawlet (allowed): {[p for p in missing if allowed(base, p)]}")
        else:
            ref_labels = labels(normalise(ref.out, sides["openclaw"]))
            got_labels = labels(normalise(got.out, sides["clawlet"]))
            missing = sorted(ref_labels - got_labels)
            unexplained = [p for p in missing if not allowed(f"{base}-text", p)]
            if unexplained:
                problems.append(
                    f"`openclaw {name}`: lines missing against clawlet: {unexplained}\n"
                    f"-- against OpenClaw:\n{normalise(ref.out, sides['openclaw'])}\n"
                    f"-- against clawlet:\n{normalise(got.out, sides['clawlet'])}"
                )
            extra = sorted(got_labels - ref_labels)
            if extra:
                absent_report.append(f"{name}: extra lines on clawlet: {extra}")
    for line in absent_report:
        sc.note(line)
    if problems:
        raise Fail("\n".join(problems))
