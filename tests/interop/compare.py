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
        (r"^Agents$|^Heartbeat interval$|^Session store", "no agents: the CLI falls back to its own config"),
        (r"^Gateway event loop$", "Node.js event-loop metrics"),
    ],
}

# Human-output lines that may appear only against clawlet, with the reason.
ALLOWED_EXTRA_LINES: list[tuple[str, str]] = [
    (r"^Warning: this OpenClaw command is version .*, but the running Gateway is version ",
     "clawlet reports its own version (0.1.0) in hello-ok.server.version"),
    (r"^Check `openclaw --version`, `which openclaw`", "second line of that warning"),
]

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
    text = text.replace(side["device_id"], "<device>")
    return re.sub(r"\b\d+ ?ms\b", "<n>ms", text)


# Which RPCs each command makes (for the frames a failure prints) and its comparison category.
CATEGORY = {
    "gateway call health": ("health", ["health"]),
    "health": ("health", ["health"]),
    "gateway status": ("status", ["status", "health"]),
    "gateway probe": ("probe", ["health", "status", "system-presence", "config.get"]),
    "nodes list": ("nodes", ["node.list", "node.pair.list"]),
    "nodes invoke": ("invoke", ["node.invoke"]),
    "devices list": ("devices", ["device.pair.list"]),
    "devices approve": ("devices", ["device.pair.approve"]),
    "nodes approve": ("nodes", ["node.pair.approve"]),
}
# Labelled human-output lines whose values must match too (after port/latency normalisation).
VALUE_LABELS = {"Reachable", "Capability", "Connectivity probe", "Connect", "Read probe"}


def command_of(name: str) -> str:
    words = [w for w in name.split(" ") if not w.startswith(("-", "("))]
    for n in (3, 2):
        if " ".join(words[:n]) in CATEGORY:
            return " ".join(words[:n])
    return " ".join(words[:2])


def label_values(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        for part in line.split(" · "):
            m = LABEL.match(part)
            if m and m.group(1).strip() in VALUE_LABELS:
                out.setdefault(m.group(1).strip(), part[m.end():].strip())
    return out


def rpc_frames(sc: Scenario, side: str, methods: list[str]) -> list[dict[str, Any]]:
    """The requests for `methods` on one side and their answers (for a failure report)."""
    records = [r for r in sc.frames() if r["conn"].startswith(side + ":")]
    reqs = [r for r in find_frames(records, "c2s", "req") if r["json"].get("method") in methods]
    out = []
    for req in reqs[-2:]:
        out.append(req)
        for r in records:
            j = r.get("json")
            if r["conn"] == req["conn"] and isinstance(j, dict) and j.get("type") == "res" and j.get("id") == req["json"].get("id"):
                out.append(r)
    return out


def node_entry(listing: Any, device_id: str) -> dict[str, Any]:
    for key in ("paired", "nodes"):
        for entry in (listing or {}).get(key, []) if isinstance(listing, dict) else []:
            if entry.get("nodeId") == device_id or entry.get("deviceId") == device_id:
                return entry
    return {}


def compare_values(name: str, ref: Any, got: Any, sides: dict[str, dict[str, Any]]) -> list[str]:
    """The values that must match, beyond the shape."""
    problems = []
    ref_id, got_id = sides["openclaw"]["device_id"], sides["clawlet"]["device_id"]
    cmd = command_of(name)
    if cmd in ("nodes list", "devices list"):
        r, g = node_entry(ref, ref_id), node_entry(got, got_id)
        for key in ("commands", "caps", "connected", "approvalState", "paired", "roles", "scopes", "approvedVia"):
            if key in r and r.get(key) != g.get(key):
                problems.append(f"`openclaw {name}`: {key} is {g.get(key)!r} on clawlet, {r.get(key)!r} on OpenClaw")
        rs, gs = r.get("nodeSurface") or {}, g.get("nodeSurface") or {}
        if rs.get("commands") != gs.get("commands"):
            problems.append(f"`openclaw {name}`: nodeSurface.commands {gs.get('commands')!r} vs {rs.get('commands')!r}")
    elif cmd == "nodes invoke":
        for key in ("ok", "command", "payload", "payloadJSON"):
            if ref.get(key) != got.get(key):
                problems.append(f"`openclaw {name}`: {key} is {got.get(key)!r} on clawlet, {ref.get(key)!r} on OpenClaw")
    elif cmd in ("gateway status", "gateway probe"):
        for path in (("rpc", "ok"), ("ok",), ("capability",), ("primaryTargetId",)):
            rv, gv = ref, got
            for k in path:
                rv = rv.get(k) if isinstance(rv, dict) else None
                gv = gv.get(k) if isinstance(gv, dict) else None
            if rv != gv:
                problems.append(f"`openclaw {name}`: {'.'.join(path)} is {gv!r} on clawlet, {rv!r} on OpenClaw")
    elif cmd in ("gateway call health", "health"):
        if ref.get("ok") != got.get("ok"):
            problems.append(f"`openclaw {name}`: ok is {got.get('ok')!r} on clawlet")
    return problems


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
    failed_methods: list[str] = []
    for name, ref in ref_runs.items():
        got = got_runs[name]
        cmd = command_of(name)
        category, methods = CATEGORY.get(cmd, (cmd, []))
        before = len(problems)
        if ref.rc != 0:
            problems.append(f"`openclaw {name}` failed against OpenClaw's own gateway (rc={ref.rc}): {ref.err.strip()[:300]}")
        elif got.rc != 0:
            problems.append(f"`openclaw {name}` failed against clawlet (rc={got.rc}):\n{got.out.strip()[:800]}\n{got.err.strip()[:800]}")
        elif "--json" in name:
            try:
                ref_json, got_json = ref.json(), got.json()
            except Fail as e:
                problems.append(f"`openclaw {name}`: {e}")
                continue
            missing = sorted(key_paths(ref_json) - key_paths(got_json))
            unexplained = [p for p in missing if not allowed(category, p)]
            if unexplained:
                problems.append(f"`openclaw {name}`: fields missing against clawlet: {unexplained}")
            if missing and not unexplained:
                sc.note(f"{name}: absent on clawlet (allowed): {sorted({p.split('.')[0].split('[')[0] for p in missing})}")
            problems.extend(compare_values(name, ref_json, got_json, sides))
        else:
            ref_text = normalise(ref.out + "\n" + ref.err, sides["openclaw"])
            got_text = normalise(got.out + "\n" + got.err, sides["clawlet"])
            kept = []
            for line in got_text.splitlines():
                if any(re.search(rx, line) for rx, _ in ALLOWED_EXTRA_LINES) and line not in ref_text:
                    sc.note(f"{name}: line only against clawlet (allowed): {line[:100]}")
                else:
                    kept.append(line)
            got_text = "\n".join(kept)
            missing = sorted(labels(ref_text) - labels(got_text))
            unexplained = [p for p in missing if not allowed(f"{category}-text", p)]
            rv, gv = label_values(ref_text), label_values(got_text)
            differing = {k: (gv.get(k), v) for k, v in rv.items() if gv.get(k) != v}
            if unexplained or differing:
                problems.append(
                    f"`openclaw {name}`: lines missing against clawlet: {unexplained}; values differing: {differing}\n"
                    f"-- against OpenClaw:\n{ref_text}\n-- against clawlet:\n{got_text}"
                )
            extra = sorted(labels(got_text) - labels(ref_text))
            if extra:
                problems.append(f"`openclaw {name}`: lines only against clawlet: {extra}\n-- against clawlet:\n{got_text}")
        if len(problems) > before:
            failed_methods.extend(m for m in methods if m not in failed_methods)
    # Every close a client sends is echoed, at once, as OpenClaw's gateway does.
    for kind in ("openclaw", "clawlet"):
        records = [r for r in sc.frames() if r["conn"].startswith(kind + ":")]
        for r in records:
            if r.get("op") == "close" and r["dir"] == "c2s":
                echo = [e for e in records if e["conn"] == r["conn"] and e.get("op") == "close"
                        and e["dir"] == "s2c" and e["t"] >= r["t"] - 0.001]
                answered_first = any(e for e in records if e["conn"] == r["conn"] and e.get("op") == "close"
                                     and e["dir"] == "s2c" and e["t"] < r["t"])
                if not answered_first and (not echo or echo[0]["t"] - r["t"] > 1.0):
                    problems.append(f"{kind} gateway: the client's close on {r['conn']} was not echoed within 1 s")
                    failed_methods.append("connect")
                    break
    if problems:
        frames = []
        for kind in ("openclaw", "clawlet"):
            frames.extend(rpc_frames(sc, kind, failed_methods))
        raise Fail("\n".join(problems), frames or None)
