"""The programs under test, each started the way a user starts it.

OpenClaw: `node openclaw.mjs gateway|node run|<cli>` from the npm install, one HOME per instance
(config in `$HOME/.openclaw/openclaw.json`). clawlet: the `clawlet` binary with its own HOME,
config, state and node dirs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import Fail, Proc, Run, Scenario, free_port

# Quiet, offline OpenClaw: no update checks, no heartbeat runs, no SSH verification, own log file.
OPENCLAW_BASE_CONFIG: dict[str, Any] = {
    "update": {"checkOnStart": False},
    "nodeHost": {"autoUpdate": {"enabled": False}},
    "agents": {"defaults": {"heartbeat": {"every": "0m"}}},
    "tools": {"exec": {"notifyOnExit": False}},
}

GATEWAY_READY = r"\[gateway\] ready\s*$"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def openclaw_home(sc: Scenario, name: str, config: dict[str, Any]) -> Path:
    home = sc.home(name)
    cfg = merge(OPENCLAW_BASE_CONFIG, config)
    cfg = merge(cfg, {"logging": {"file": str(home / "openclaw-file.log")}})
    (home / ".openclaw").mkdir(exist_ok=True)
    (home / ".openclaw" / "openclaw.json").write_text(json.dumps(cfg, indent=2))
    return home


def openclaw_env(sc: Scenario, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = sc.base_env(home)
    env["PATH"] = f"{sc.ctx.node_bin.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra or {})
    return env


def openclaw_argv(sc: Scenario, args: list[str]) -> list[str]:
    return [str(sc.ctx.node_bin), str(sc.ctx.openclaw_entry), *args]


class OpenClawGateway:
    """`openclaw gateway` on its own port and HOME; restartable with the same state."""

    def __init__(self, sc: Scenario, name: str, token: str, auto_approve_local: bool = True):
        self.sc = sc
        self.name = name
        self.token = sc.secret(token)
        self.port = free_port()
        pairing: dict[str, Any] = {"sshVerify": False}
        if not auto_approve_local:
            pairing["autoApproveLocal"] = False
        self.home = openclaw_home(sc, name, {"gateway": {"nodes": {"pairing": pairing}}})
        self.proc: Proc | None = None
        self.starts = 0

    def start(self, wait: bool = True) -> "OpenClawGateway":
        argv = openclaw_argv(
            self.sc,
            ["gateway", "--allow-unconfigured", "--port", str(self.port), "--bind", "loopback",
             "--auth", "token", "--token", self.token, "--verbose"],
        )
        self.proc = self.sc.spawn(f"{self.name}-{self.starts}", argv, openclaw_env(self.sc, self.home))
        self.starts += 1
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, limit: float = 150) -> None:
        assert self.proc is not None
        self.sc.wait_log(self.proc, GATEWAY_READY, limit)
        self.sc.note(f"{self.name} ready")

    def stop(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(grace=30)

    def log(self) -> str:
        return self.proc.log() if self.proc else ""


class OpenClawNode:
    """`openclaw node run` (the headless node host); the token comes from OPENCLAW_GATEWAY_TOKEN."""

    def __init__(self, sc: Scenario, name: str, port: int):
        self.sc = sc
        self.name = name
        self.port = port
        self.home = openclaw_home(sc, f"{name}-home", {})
        self.proc: Proc | None = None
        self.runs = 0

    def start(self, token: str | None) -> Proc:
        extra = {"OPENCLAW_GATEWAY_TOKEN": token} if token is not None else {}
        argv = openclaw_argv(
            self.sc, ["node", "run", "--host", "127.0.0.1", "--port", str(self.port), "--display-name", self.name]
        )
        self.proc = self.sc.spawn(f"{self.name}-run{self.runs}", argv, openclaw_env(self.sc, self.home, extra))
        self.runs += 1
        return self.proc

    def stop(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(grace=15)


class OpenClawCli:
    """The OpenClaw operator CLI with its own HOME; `gateway.port` points at `port` so that
    `gateway probe`'s local-loopback target is the gateway under test, not whatever holds 18789."""

    def __init__(self, sc: Scenario, name: str, port: int, token: str):
        self.sc = sc
        self.name = name
        self.port = port
        self.token = token
        self.url = f"ws://127.0.0.1:{port}"
        self.home = openclaw_home(sc, name, {"gateway": {"port": port}})

    def run(self, args: list[str], env: dict[str, str] | None = None, url: bool = True, limit: float = 90) -> Run:
        argv = openclaw_argv(self.sc, args + (["--url", self.url, "--token", self.token] if url else []))
        return self.sc.run(f"{self.name}: openclaw {' '.join(args[:3])}", argv, openclaw_env(self.sc, self.home, env), limit)

    def ok(self, args: list[str], **kw) -> Run:
        run = self.run(args, **kw)
        if run.rc != 0:
            raise Fail(f"`openclaw {' '.join(args)}` failed (rc={run.rc}):\n{run.out}\n{run.err}")
        return run

    def json(self, args: list[str], **kw) -> Any:
        return self.ok(args + ["--json"], **kw).json()


class ClawletGateway:
    """`clawlet gateway run` on its own port, config and state dir."""

    def __init__(self, sc: Scenario, name: str, token: str, auto_approve_local: bool = True):
        self.sc = sc
        self.name = name
        self.token = sc.secret(token)
        self.port = free_port()
        self.home = sc.home(name)
        self.config = self.home / "clawlet.json"
        pairing = "true" if auto_approve_local else "false"
        self.config.write_text(f"{{ gateway: {{ nodes: {{ pairing: {{ autoApproveLocal: {pairing} }} }} }} }}\n")
        self.proc: Proc | None = None
        self.starts = 0

    def env(self) -> dict[str, str]:
        env = self.sc.base_env(self.home)
        env.update({
            "CLAWLET_CONFIG": str(self.config),
            "CLAWLET_STATE_DIR": str(self.home / "state"),
            "RUST_LOG": "info",
        })
        return env

    def start(self) -> "ClawletGateway":
        argv = [str(self.sc.ctx.clawlet), "gateway", "run", "--port", str(self.port), "--token", self.token, "-v"]
        self.proc = self.sc.spawn(f"{self.name}-{self.starts}", argv, self.env())
        self.starts += 1
        self.sc.wait_log(self.proc, r"gateway ready", 30)
        return self

    def stop(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(grace=15)


class ClawletNode:
    """`clawlet node run` with its own node dir."""

    def __init__(self, sc: Scenario, name: str, port: int):
        self.sc = sc
        self.name = name
        self.port = port
        self.home = sc.home(f"{name}-home")
        self.proc: Proc | None = None
        self.runs = 0

    def start(self, token: str | None, allow_exec: bool = False, setup_code: str | None = None) -> Proc:
        argv = [str(self.sc.ctx.clawlet), "node", "run", "--url", f"ws://127.0.0.1:{self.port}",
                "--display-name", self.name]
        if token is not None:
            argv += ["--token", token]
        if setup_code is not None:
            argv += ["--setup-code", setup_code]
        if allow_exec:
            argv.append("--allow-exec")
        env = self.sc.base_env(self.home)
        env.update({"CLAWLET_NODE_DIR": str(self.home / "node"), "RUST_LOG": "info"})
        self.proc = self.sc.spawn(f"{self.name}-run{self.runs}", argv, env)
        self.runs += 1
        return self.proc

    def node_id(self) -> str:
        assert self.proc is not None
        m = self.sc.wait_log(self.proc, r"node_id=([0-9a-f]{64})", 20)
        return m.group(1)

    def stop(self) -> int | None:
        assert self.proc is not None
        return self.proc.stop(grace=15)


class ClawletCli:
    """The clawlet operator CLI against a gateway given by --url/--token."""

    def __init__(self, sc: Scenario, name: str, port: int, token: str):
        self.sc = sc
        self.name = name
        self.url = f"ws://127.0.0.1:{port}"
        self.token = token
        self.home = sc.home(name)

    def run(self, args: list[str], limit: float = 60) -> Run:
        argv = [str(self.sc.ctx.clawlet), *args, "--url", self.url, "--token", self.token]
        env = self.sc.base_env(self.home)
        env.update({"CLAWLET_CONFIG": str(self.home / "clawlet.json"), "CLAWLET_STATE_DIR": str(self.home / "state")})
        return self.sc.run(f"{self.name}: clawlet {' '.join(args[:3])}", argv, env, limit)

    def ok(self, args: list[str]) -> Run:
        run = self.run(args)
        if run.rc != 0:
            raise Fail(f"`clawlet {' '.join(args)}` failed (rc={run.rc}):\n{run.out}\n{run.err}")
        return run

    def json(self, args: list[str]) -> Any:
        return self.ok(args + ["--json"]).json()
