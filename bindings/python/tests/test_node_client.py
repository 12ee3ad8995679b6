"""End-to-end test of the generated Python bindings against a real `clawlet gateway run`.

Standard library only (unittest + asyncio). The test loads the checked-in `bindings/python/clawlet`
package with the freshly built `libclawlet_node` beside it, starts gateways on free loopback
ports in a temp dir, and drives a `NodeClient` whose CredentialStore, CommandHandler and
NodeListener are written here in Python:

- pairing: `on_pairing_required` gives the request id; `clawlet devices approve <id>` and
  `clawlet nodes approve` let it in; `clawlet nodes invoke` reaches the Python handler;
- identity: a second client over the same JSON file store has the same device id and reconnects
  with the stored device token, no shared token and no new approval;
- lifecycle: suspend -> Suspended -> resume -> Connected; wake(lease) from Suspended gets online,
  serves an invoke, returns True and is Suspended again;
- typed errors: a wrong token is NodeError.Auth(kind=TOKEN_MISMATCH); a wrong pin against a TLS
  gateway is NodeError.PinMismatch (and the right pin connects).

Run: python3 bindings/python/tests/test_node_client.py   (scripts/test-bindings.sh does it)
Env: CLAWLET_BIN (default target/debug/clawlet), CLAWLET_NODE_LIB (default
target/debug/libclawlet_node.so), CLAWLET_TEST_KEEP=1 keeps the temp dir.
"""

import asyncio
import atexit
import base64
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
CLAWLET_BIN = Path(os.environ.get("CLAWLET_BIN", TARGET / "debug" / "clawlet"))
NODE_LIB = Path(os.environ.get("CLAWLET_NODE_LIB", TARGET / "debug" / "libclawlet_node.so"))
WAIT = 30.0  # every wait is bounded by this many seconds
LEASE_MS = 5000  # the wake lease: long enough to connect and serve one CLI invoke

ECHO = "test.echo"
FAIL = "test.fail"
SLOW = "test.slow"

# CLAWLET_PY_INSTALLED=1 (scripts/test-bindings.sh): test the `clawlet` wheel installed in this
# interpreter's environment, never the source tree. Otherwise the generated module loads
# lib<cdylib>.so from its own directory: stage the checked-in package with the built library.
_INSTALLED = os.environ.get("CLAWLET_PY_INSTALLED") == "1"
if not _INSTALLED:
    _STAGE = Path(tempfile.mkdtemp(prefix="clawlet-py-"))
    atexit.register(shutil.rmtree, _STAGE, True)
    shutil.copytree(ROOT / "bindings" / "python" / "clawlet", _STAGE / "clawlet")
    shutil.copy2(NODE_LIB, _STAGE / "clawlet" / NODE_LIB.name)
    sys.path.insert(0, str(_STAGE))

import clawlet  # noqa: E402  (the generated bindings)

if _INSTALLED:
    _FROM = Path(clawlet.__file__).resolve()
    if (ROOT / "bindings") in _FROM.parents or not any(p.name == "site-packages" for p in _FROM.parents):
        sys.exit(f"CLAWLET_PY_INSTALLED=1 but clawlet was imported from {_FROM}, not an installed wheel")
    print(f"testing the installed package {_FROM.parent}", flush=True)

from clawlet import (  # noqa: E402
    AuthProblemKind,
    CommandError,
    CommandHandler,
    CredentialStore,
    LogLevel,
    LogSink,
    NodeClient,
    NodeClientConfig,
    NodeError,
    NodeListener,
    NodeStatus,
    PinPolicy,
    StoreError,
)


def _die_with_parent():
    """preexec_fn: the gateway gets SIGKILL if this test process dies (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - best effort; the finally blocks stop it too
        pass


def free_port() -> int:
    """A loopback port below the kernel's ephemeral range: a bind(0) port is released before
    the gateway binds it, and meanwhile an outgoing connection may take it as its source port."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(10000):
        port = random.randrange(10000, max(low, 12000))
        if port in _PORTS_TAKEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_TAKEN.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


_PORTS_TAKEN: set = set()


class Gateway:
    """A `clawlet gateway run` in its own dir (config, state, HOME) on a free loopback port."""

    def __init__(self, root: Path, name: str, config: dict):
        self.dir = root / name
        self.dir.mkdir(parents=True)
        (self.dir / "home").mkdir()
        self.port = free_port()
        self.config = self.dir / "clawlet.json"
        self.config.write_text(json.dumps(config))
        self.log_path = self.dir / "gateway.log"
        self.proc = None

    def env(self) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPENCLAW_", "CLAWLET_")) and k != "RUST_LOG"
        }
        env.update(
            HOME=str(self.dir / "home"),
            CLAWLET_CONFIG=str(self.config),
            CLAWLET_STATE_DIR=str(self.dir / "state"),
            OPENCLAW_GATEWAY_PORT=str(self.port),
            NO_COLOR="1",
            RUST_LOG="info",
        )
        return env

    def start(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(CLAWLET_BIN), "gateway", "run", "--port", str(self.port)],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + WAIT
        while "gateway ready" not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway not ready within {WAIT}s:\n{self.log()}")
            time.sleep(0.05)

    def terminate(self):
        """SIGTERM: the gateway tells its clients, settles invokes and exits (within ~5 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def token(self) -> str:
        return (self.dir / "state" / "gateway-token").read_text().strip()

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        """Runs the operator CLI against this gateway (it finds the port, token and pin itself)."""
        out = subprocess.run(
            [str(CLAWLET_BIN), *args],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=WAIT * 2,
        )
        if ok and out.returncode != 0:
            raise AssertionError(
                f"clawlet {' '.join(args)} failed ({out.returncode}):\n{out.stderr}\n{out.stdout}"
            )
        return out

    def cli_json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)


class JsonFileStore(CredentialStore):
    """The app's own CredentialStore: a dict persisted to a JSON file (values base64)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.saves = []
        self.data = json.loads(path.read_text()) if path.exists() else {}

    def _flush(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(tmp, self.path)

    def load(self, key):
        with self.lock:
            value = self.data.get(key)
        return None if value is None else base64.b64decode(value)

    def save(self, key, value):
        try:
            with self.lock:
                self.data[key] = base64.b64encode(bytes(value)).decode()
                self.saves.append(key)
                self._flush()
        except OSError as e:
            raise StoreError.Failed(f"cannot write {self.path}: {e}") from e

    def delete(self, key):
        with self.lock:
            self.data.pop(key, None)
            self._flush()


class Handler(CommandHandler):
    """The app's commands: test.echo answers with JSON made here; test.fail throws."""

    def __init__(self):
        self.invokes = []
        self.cancelled = []  # ids of invokes whose coroutine was cancelled

    async def handle(self, invoke):
        self.invokes.append(invoke)
        await asyncio.sleep(0)  # really async: runs on the test's event loop
        if invoke.command == SLOW:
            try:
                await asyncio.sleep(WAIT * 2)
            except asyncio.CancelledError:
                self.cancelled.append(invoke.id)
                raise
            return None
        if invoke.command == ECHO:
            params = json.loads(invoke.params_json) if invoke.params_json else None
            return json.dumps({"lang": "python", "command": invoke.command, "echo": params})
        if invoke.command == FAIL:
            raise CommandError.Unavailable("the python handler says no")
        raise CommandError.InvalidParams(f"unknown command {invoke.command}")


class Recorder(NodeListener):
    """Records every listener call (they come from a Rust thread) for bounded async waits."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []  # (kind, value)

    def _add(self, kind, value):
        with self.lock:
            self.events.append((kind, value))

    def on_status(self, status):
        self._add("status", status)

    def on_pairing_required(self, request_id, reason):
        self._add("pairing_required", (request_id, reason))

    def on_pairing_approved(self, request_id):
        self._add("pairing_approved", request_id)

    def on_error(self, error):
        self._add("error", error)

    async def confirm_pin(self, gateway_url, fingerprint):
        # Async: an app awaits its dialog here; no thread is blocked.
        self._add("confirm_pin", fingerprint)
        return False

    def mark(self) -> int:
        with self.lock:
            return len(self.events)

    def since(self, mark: int):
        with self.lock:
            return list(self.events[mark:])

    async def wait(self, what: str, predicate, mark: int = 0, timeout: float = WAIT):
        """The first event at or after `mark` that `predicate(kind, value)` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for kind, value in self.since(mark):
                if predicate(kind, value):
                    return value
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout}s; listener saw {self.since(0)}")
            await asyncio.sleep(0.02)

    async def wait_status(self, variant: str, mark: int = 0):
        return await self.wait(
            f"status {variant}",
            lambda k, v: k == "status" and getattr(v, f"is_{variant}")(),
            mark,
        )

    async def wait_error(self, error_type, mark: int = 0):
        return await self.wait(
            error_type.__name__, lambda k, v: k == "error" and isinstance(v, error_type), mark
        )


def status_name(status) -> str:
    """`CONNECTED` for NodeStatus.CONNECTED() (the generated classes are named `NodeStatus.X`)."""
    return type(status).__name__.rsplit(".", 1)[-1]


def node_config(url: str, token, pin_policy=None) -> NodeClientConfig:
    # Only display_name, platform and app_version are required; the rest has defaults.
    return NodeClientConfig(
        display_name="python-e2e",
        platform="linux",
        app_version="0.1.0",
        gateway_url=url,
        token=token,
        device_family="Python",
        caps=["device"],
        commands=[ECHO, FAIL, SLOW],
        pin_policy=pin_policy,
    )


async def in_thread(fn, *args, **kwargs):
    """Blocking work (CLI calls) off the event loop, which must stay free for the handler."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class NodeClientE2E(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        for path in (CLAWLET_BIN, NODE_LIB):
            if not path.exists():
                raise unittest.SkipTest(f"{path} is missing: run cargo build first")
        cls.tmp = Path(tempfile.mkdtemp(prefix="clawlet-py-e2e-"))
        if not os.environ.get("CLAWLET_TEST_KEEP"):
            cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        policy = {"allow": [ECHO, FAIL, SLOW]}
        # Manual device approval, so pairing really goes through the operator.
        cls.gw = Gateway(
            cls.tmp,
            "plain",
            {"gateway": {"nodes": {"pairing": {"autoApproveLocal": False}, "commands": policy}}},
        )
        cls.tls = Gateway(
            cls.tmp, "tls", {"gateway": {"tls": {"enabled": True}, "nodes": {"commands": policy}}}
        )
        cls.addClassCleanup(cls.stop_gateways)
        cls.gw.start()
        cls.tls.start()

    @classmethod
    def stop_gateways(cls):
        # Both at once: each takes up to its shutdown grace.
        for gw in (cls.gw, cls.tls):
            gw.terminate()
        for gw in (cls.gw, cls.tls):
            gw.stop()

    async def asyncSetUp(self):
        # Rust calls the async handler from its own threads: tell UniFFI which loop runs it.
        clawlet.uniffi_set_event_loop(asyncio.get_running_loop())
        self.clients = []

    async def asyncTearDown(self):
        for client in self.clients:
            client.disconnect()

    def client(self, config, store, handler=None, listener=None):
        client = NodeClient(config, store, handler or Handler(), listener or Recorder())
        self.clients.append(client)
        return client

    async def invoke_echo(self, gw: Gateway, node: str, params: dict):
        answer = await in_thread(
            gw.cli_json,
            "nodes", "invoke", "--node", node, "--command", ECHO, "--params", json.dumps(params),
        )  # fmt: skip
        self.assertTrue(answer.get("ok"), answer)
        self.assertEqual(
            answer.get("payload"), {"lang": "python", "command": ECHO, "echo": params}, answer
        )
        return answer

    def test_free_functions(self):
        self.assertTrue(clawlet.version())
        pin = "AB:" * 31 + "AB"
        self.assertEqual(clawlet.normalize_pin(pin), "ab" * 32)
        with self.assertRaises(NodeError.InvalidConfig):
            clawlet.normalize_pin("not a pin")
        with self.assertRaises(NodeError.InvalidSetupCode):
            clawlet.parse_setup_code("definitely not a setup code")
        self.assertEqual(clawlet.device_id_for_seed(bytes(32)), clawlet.device_id_for_seed(bytes(32)))

    async def test_pair_invoke_restart_suspend_wake(self):
        gw = self.gw
        store_path = self.tmp / "py-node-store.json"
        store = JsonFileStore(store_path)
        listener = Recorder()
        handler = Handler()
        client = self.client(node_config(f"ws://127.0.0.1:{gw.port}", gw.token()), store, handler, listener)
        device_id = client.device_id()
        self.assertRegex(device_id, r"^[0-9a-f]{64}$")
        self.assertEqual(status_name(client.status()), "IDLE")

        # Pairing: the listener hears the request id; the operator approves exactly that one.
        client.connect()
        request_id, _reason = await listener.wait(
            "on_pairing_required with a request id",
            lambda k, v: k == "pairing_required" and v[0],
        )
        pending = await in_thread(gw.cli_json, "devices", "list")
        self.assertIn(request_id, [p["requestId"] for p in pending["pending"]], pending)
        await in_thread(gw.cli, "devices", "approve", request_id)
        await listener.wait("on_pairing_approved", lambda k, v: k == "pairing_approved")
        await listener.wait_status("CONNECTED")
        self.assertEqual(status_name(client.status()), "CONNECTED")
        self.assertIn("device", "".join(store.saves), f"device token not saved: {store.saves}")

        # The command surface: approved by the operator, then invoked through the CLI.
        async def node_request():
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                pending = await in_thread(gw.cli_json, "nodes", "pending")
                for p in pending.get("pending", []):
                    if p.get("nodeId") == device_id:
                        return p["requestId"]
                await asyncio.sleep(0.2)
            raise AssertionError(f"no pending node request for {device_id}")

        await in_thread(gw.cli, "nodes", "approve", await node_request())
        await self.invoke_echo(gw, device_id, {"n": 1, "s": "héllo"})
        self.assertEqual(handler.invokes[-1].command, ECHO)
        failed = await in_thread(
            gw.cli, "nodes", "invoke", "--node", device_id, "--command", FAIL, ok=False
        )
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("UNAVAILABLE", failed.stderr + failed.stdout)
        # An invoke the gateway times out: Rust drops the call and the coroutine is cancelled.
        timed_out = await in_thread(
            gw.cli, "nodes", "invoke", "--node", device_id, "--command", SLOW, "--timeout", "1000",
            ok=False,
        )  # fmt: skip
        self.assertIn("TIMEOUT", timed_out.stderr + timed_out.stdout)
        slow_id = [i.id for i in handler.invokes if i.command == SLOW][-1]
        await listener.wait("the slow handler's cancellation", lambda k, v: slow_id in handler.cancelled)

        # Restart: a new client over the same (reloaded) store, without the shared token.
        client.disconnect()
        await listener.wait_status("IDLE")
        self.clients.remove(client)
        del client
        store2 = JsonFileStore(store_path)
        listener2 = Recorder()
        client2 = self.client(
            node_config(f"ws://127.0.0.1:{gw.port}", None), store2, handler, listener2
        )
        self.assertEqual(client2.device_id(), device_id)
        client2.connect()
        await listener2.wait_status("CONNECTED")
        self.assertFalse(
            [e for e in listener2.since(0) if e[0] in ("pairing_required", "error")],
            listener2.since(0),
        )
        devices = await in_thread(gw.cli_json, "devices", "list")
        self.assertEqual([d["deviceId"] for d in devices["paired"]], [device_id], devices)
        self.assertEqual(devices["pending"], [], devices)
        await self.invoke_echo(gw, device_id, {"after": "restart"})

        # suspend -> Suspended -> resume -> Connected.
        mark = listener2.mark()
        client2.suspend()
        await listener2.wait_status("SUSPENDED", mark)
        self.assertEqual(status_name(client2.status()), "SUSPENDED")
        mark = listener2.mark()
        client2.resume()
        await listener2.wait_status("CONNECTED", mark)

        # wake(lease) from Suspended: online within the lease, serves an invoke, True, Suspended.
        mark = listener2.mark()
        client2.suspend()
        await listener2.wait_status("SUSPENDED", mark)
        mark = listener2.mark()
        started = time.monotonic()
        wake = asyncio.ensure_future(client2.wake(LEASE_MS))
        await listener2.wait_status("CONNECTED", mark)
        online_after = time.monotonic() - started
        await self.invoke_echo(gw, device_id, {"during": "wake"})
        woke = await asyncio.wait_for(wake, WAIT)
        self.assertIs(woke, True)
        self.assertLess(online_after, LEASE_MS / 1000)
        await listener2.wait_status("SUSPENDED", mark)
        self.assertEqual(status_name(client2.status()), "SUSPENDED")
        print(
            f"\n  paired {device_id[:12]}…, restart kept it, wake online after {online_after:.2f}s",
            file=sys.stderr,
        )

    async def test_wrong_token_is_a_typed_auth_error(self):
        gw = self.gw
        listener = Recorder()
        store = JsonFileStore(self.tmp / "py-wrong-token.json")
        client = self.client(
            node_config(f"ws://127.0.0.1:{gw.port}", "wrong-token-0123456789"), store, None, listener
        )
        try:
            client.connect()
            error = await listener.wait_error(NodeError.Auth)
        except NodeError.Auth as thrown:
            error = thrown
        self.assertEqual(error.kind, AuthProblemKind.TOKEN_MISMATCH, error)
        await listener.wait_status("STOPPED")

    async def test_log_sink_receives_the_runtime_log(self):
        class Lines(LogSink):
            def __init__(self):
                self.lock = threading.Lock()
                self.lines = []

            def log(self, level, target, message):
                # Called on an SDK thread: just record it (an app hands it to `logging`).
                with self.lock:
                    self.lines.append((level, target, message))

            def matching(self, text):
                with self.lock:
                    return [line for line in self.lines if text in line[2]]

        sink = Lines()
        clawlet.set_log_sink(sink, LogLevel.DEBUG)
        try:
            url = f"ws://127.0.0.1:{self.gw.port}"
            client = self.client(
                node_config(url, "wrong-token-0123456789"),
                JsonFileStore(self.tmp / "py-log-sink.json"),
            )
            client.connect()
            deadline = time.monotonic() + WAIT
            while not sink.matching(f"url={url}") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            lines = sink.matching(f"url={url}")
            self.assertTrue(lines, f"no connection record for {url}: {sink.lines[-20:]}")
            level, target, message = lines[0]
            self.assertEqual(level, LogLevel.DEBUG)
            self.assertTrue(target.startswith("clawlet_node::"), target)
            self.assertIn("connecting to gateway", message)
            self.assertFalse(sink.matching("wrong-token-0123456789"), "a token reached the log")
        finally:
            clawlet.set_log_sink(None, LogLevel.INFO)

    async def test_pin_mismatch_is_a_typed_error_and_the_right_pin_connects(self):
        tls = self.tls
        real = (await in_thread(tls.cli, "gateway", "tls-fingerprint")).stdout.strip()
        self.assertRegex(real, r"^[0-9a-fA-F:]{64,95}$")
        wrong = ":".join(["5A"] * 32)  # a well-formed SHA-256 pin, not the gateway's
        url = f"wss://127.0.0.1:{tls.port}"

        listener = Recorder()
        client = self.client(
            node_config(url, tls.token(), PinPolicy.PINNED(fingerprint=wrong)),
            JsonFileStore(self.tmp / "py-pin-wrong.json"),
            None,
            listener,
        )
        try:
            client.connect()
            error = await listener.wait_error(NodeError.PinMismatch)
        except NodeError.PinMismatch as thrown:
            error = thrown
        self.assertEqual(clawlet.normalize_pin(error.expected), clawlet.normalize_pin(wrong))
        self.assertEqual(clawlet.normalize_pin(error.presented), clawlet.normalize_pin(real))
        await listener.wait_status("STOPPED")

        # The same gateway with its real pin: connected (local devices are approved silently).
        listener = Recorder()
        client = self.client(
            node_config(url, tls.token(), PinPolicy.PINNED(fingerprint=real)),
            JsonFileStore(self.tmp / "py-pin-right.json"),
            None,
            listener,
        )
        client.connect()
        await listener.wait_status("CONNECTED")

    async def test_setup_code_pairs_over_pinned_tls_without_approvals(self):
        """The phone flow: a code from `clawlet devices setup-code` (URL, bootstrap token and TLS
        pin inside) is the whole config; no token, no operator approval, and after a restart
        the spent code is not needed any more."""
        tls = self.tls
        issued = await in_thread(tls.cli_json, "devices", "setup-code", "--profile", "node")
        link = issued["link"]
        info = clawlet.parse_setup_code(link)
        self.assertEqual(info.url, f"wss://127.0.0.1:{tls.port}")
        real = (await in_thread(tls.cli, "gateway", "tls-fingerprint")).stdout.strip()
        self.assertEqual(clawlet.normalize_pin(info.tls_fingerprint), clawlet.normalize_pin(real))

        def config():
            c = node_config("", None)
            c.gateway_url = None
            c.setup_code = link
            return c

        store = JsonFileStore(self.tmp / "py-setup-code.json")
        listener = Recorder()
        client = self.client(config(), store, None, listener)
        client.connect()
        await listener.wait_status("CONNECTED")
        self.assertFalse([v for k, v in listener.events if k == "pairing_required"], listener.events)
        await self.invoke_echo(tls, client.device_id(), {"via": "setup-code"})

        # App restart with the same (now spent) code: the stored device token carries it.
        client.disconnect()
        listener = Recorder()
        again = self.client(config(), JsonFileStore(self.tmp / "py-setup-code.json"), None, listener)
        self.assertEqual(again.device_id(), client.device_id())
        again.connect()
        await listener.wait_status("CONNECTED")

        # A new phone with the spent code: the gateway's typed refusal.
        listener = Recorder()
        other = self.client(config(), JsonFileStore(self.tmp / "py-setup-code-2.json"), None, listener)
        try:
            other.connect()
            error = await listener.wait_error(NodeError.Auth)
        except NodeError.Auth as thrown:
            error = thrown
        self.assertEqual(error.kind, AuthProblemKind.BOOTSTRAP_TOKEN_INVALID, error)


if __name__ == "__main__":
    unittest.main(verbosity=2)
