"""A logging WebSocket proxy that sits between two interop peers.

It copies bytes through unchanged (the gateway still sees a plain loopback client) and decodes
the HTTP upgrade and every RFC 6455 frame on the side, so a scenario can assert on frames and a
failing one can print them. Secrets never reach the record: the configured shared secrets and the
values of token-like keys are replaced by stable markers (`<token#N>`), so reuse stays visible.

Records are dicts: t (epoch s), conn (c1, c2, ...), dir (c2s | s2c | -), kind (open | upgrade |
ws | close | upstream_failed), and for ws frames op (text | binary | ping | pong | close), json
or text, and code/reason for close frames.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
import zlib
from typing import Any

SECRET_KEYS = {"token", "devicetoken", "bootstraptoken", "password", "sharedtoken"}
OPS = {0x0: "cont", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}


class Redactor:
    """Replaces secrets by stable markers."""

    def __init__(self, secrets: list[str]):
        self.secrets = [s for s in secrets if s]
        self.ids: dict[str, int] = {}

    def marker(self, value: str) -> str:
        if value in self.secrets:
            return "<shared-secret>"
        n = self.ids.setdefault(value, len(self.ids) + 1)
        return f"<token#{n}>"

    def text(self, s: str) -> str:
        for secret in self.secrets:
            s = s.replace(secret, "<shared-secret>")
        return s

    def value(self, obj: Any, key: str | None = None) -> Any:
        if isinstance(obj, dict):
            return {k: self.value(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v, key) for v in obj]
        if isinstance(obj, str):
            if key is not None and key.lower() in SECRET_KEYS and obj:
                return self.marker(obj)
            return self.text(obj)
        return obj


class FrameParser:
    """Passive RFC 6455 parser for one direction of one connection."""

    def __init__(self, emit, masked: bool):
        self.emit = emit
        self.masked = masked
        self.buf = bytearray()
        self.in_http = True
        self.deflate = False
        self.inflater = None
        self.fragments: list[bytes] = []
        self.fragment_op = 0
        self.fragment_rsv1 = False

    def feed(self, data: bytes) -> None:
        self.buf += data
        if self.in_http:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            self.in_http = False
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            ext = headers.get("sec-websocket-extensions", "")
            self.emit({"kind": "upgrade", "line": lines[0], "extensions": ext})
        while self._frame():
            pass

    def set_deflate(self) -> None:
        self.deflate = True
        self.inflater = zlib.decompressobj(-15)

    def _frame(self) -> bool:
        b = self.buf
        if len(b) < 2:
            return False
        fin = bool(b[0] & 0x80)
        rsv1 = bool(b[0] & 0x40)
        op = b[0] & 0x0F
        masked = bool(b[1] & 0x80)
        length = b[1] & 0x7F
        pos = 2
        if length == 126:
            if len(b) < 4:
                return False
            length = struct.unpack(">H", b[2:4])[0]
            pos = 4
        elif length == 127:
            if len(b) < 10:
                return False
            length = struct.unpack(">Q", b[2:10])[0]
            pos = 10
        mask = b""
        if masked:
            if len(b) < pos + 4:
                return False
            mask = bytes(b[pos : pos + 4])
            pos += 4
        if len(b) < pos + length:
            return False
        payload = bytes(b[pos : pos + length])
        del b[: pos + length]
        if masked:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self._message(fin, rsv1, op, payload)
        return True

    def _message(self, fin: bool, rsv1: bool, op: int, payload: bytes) -> None:
        if op >= 0x8:
            rec: dict[str, Any] = {"kind": "ws", "op": OPS.get(op, hex(op)), "len": len(payload)}
            if op == 0x8:
                if len(payload) >= 2:
                    rec["code"] = struct.unpack(">H", payload[:2])[0]
                    rec["reason"] = payload[2:].decode("utf-8", "replace")
                else:
                    rec["code"] = None
                    rec["reason"] = ""
            self.emit(rec)
            return
        if op != 0x0:
            self.fragments = []
            self.fragment_op = op
            self.fragment_rsv1 = rsv1
        self.fragments.append(payload)
        if not fin:
            return
        data = b"".join(self.fragments)
        self.fragments = []
        if self.fragment_rsv1 and self.inflater is not None:
            try:
                data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
            except zlib.error:
                pass
        rec = {"kind": "ws", "op": OPS.get(self.fragment_op, hex(self.fragment_op)), "len": len(data)}
        if self.fragment_op == 0x1:
            text = data.decode("utf-8", "replace")
            try:
                rec["json"] = json.loads(text)
            except ValueError:
                rec["text"] = text
        self.emit(rec)


class WsProxy:
    """Listens on 127.0.0.1:listen_port and forwards every connection to 127.0.0.1:upstream_port."""

    def __init__(self, name: str, listen_port: int, upstream_port: int, secrets: list[str]):
        self.name = name
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.redactor = Redactor(secrets)
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.next_conn = 0
        self.server: asyncio.base_events.Server | None = None
        self.tasks: set[asyncio.Task] = set()

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self.redactor.secrets:
            self.redactor.secrets.append(secret)

    def record(self, conn: str, direction: str, rec: dict[str, Any]) -> None:
        rec = self.redactor.value(rec)
        rec.update({"t": time.time(), "conn": conn, "dir": direction})
        with self.lock:
            self.records.append(rec)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.records)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()

    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        self.next_conn += 1
        conn = f"c{self.next_conn}"
        self.record(conn, "-", {"kind": "open"})
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError as e:
            # Like a proxy in front of a stopped gateway: accept, then drop the client.
            self.record(conn, "-", {"kind": "upstream_failed", "error": str(e)})
            cwriter.close()
            return
        c2s = FrameParser(lambda r: self.record(conn, "c2s", r), masked=True)
        s2c = FrameParser(lambda r: self.record(conn, "s2c", r), masked=False)

        def on_s2c_upgrade(rec: dict[str, Any]) -> None:
            if rec.get("kind") == "upgrade" and "permessage-deflate" in rec.get("extensions", ""):
                c2s.set_deflate()
                s2c.set_deflate()
            self.record(conn, "s2c", rec)

        s2c.emit = on_s2c_upgrade
        first_eof: list[str] = []

        async def pump(reader, writer, parser, side):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    try:
                        parser.feed(data)
                    except Exception as e:  # the parser must never break the link
                        self.record(conn, "-", {"kind": "parse_error", "error": repr(e)})
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                if not first_eof:
                    first_eof.append(side)
                try:
                    writer.close()
                except OSError:
                    pass

        started = time.time()
        await asyncio.gather(
            pump(creader, uwriter, c2s, "client"),
            pump(ureader, cwriter, s2c, "gateway"),
        )
        self.record(
            conn,
            "-",
            {"kind": "close", "first_eof_from": first_eof[0] if first_eof else None,
             "duration_ms": int((time.time() - started) * 1000)},
        )
        if task is not None:
            self.tasks.discard(task)


class ProxyLoop:
    """One asyncio loop on a daemon thread that hosts every proxy of the run."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="wsproxy", daemon=True)
        self.thread.start()

    def start(self, proxy: WsProxy) -> WsProxy:
        asyncio.run_coroutine_threadsafe(proxy.start(), self.loop).result(10)
        return proxy

    def stop(self, proxy: WsProxy) -> None:
        try:
            asyncio.run_coroutine_threadsafe(proxy.stop(), self.loop).result(10)
        except Exception:
            pass


def short(obj: Any, limit: int = 400) -> str:
    """One-line rendering of a frame, cut to `limit` characters."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=False)
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit})"


def render(records: list[dict[str, Any]], limit: int = 400, t0: float | None = None) -> str:
    """The records as readable lines: time, connection, direction, frame."""
    if not records:
        return "  (no frames)"
    t0 = records[0]["t"] if t0 is None else t0
    lines = []
    for r in records:
        head = f"  {r['t'] - t0:8.3f}s {r['conn']:>4} {r['dir']:>3} "
        kind = r.get("kind")
        if kind == "ws":
            if "json" in r:
                body = short(r["json"], limit)
            elif r.get("op") == "close":
                body = f"CLOSE code={r.get('code')} reason={r.get('reason')!r}"
            elif "text" in r:
                body = "TEXT " + r["text"][:limit]
            else:
                body = r.get("op", "?").upper()
        else:
            extra = {k: v for k, v in r.items() if k not in ("t", "conn", "dir", "kind")}
            body = f"[{kind}] {short(extra, limit) if extra else ''}"
        lines.append(head + body)
    return "\n".join(lines)
