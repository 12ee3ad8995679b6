#!/usr/bin/env python3
"""A phone-shaped app built on the SDK (the generated Python bindings + libclawlet_node): what an
iOS or Android app does, minus the UI. The interop scenarios start it as a process.

    sdk_phone.py --platform android|ios --store FILE [--setup-code CODE] [--url URL] [--name NAME]
                 [--node-only]

It serves `device.info` (and answers with its own platform), keeps its identity and tokens in the
JSON file `--store` (the app's CredentialStore), prints one line per listener call, and runs until
SIGTERM. Env: CLAWLET_NODE_LIB (default target/debug/libclawlet_node.so), CLAWLET_PY_BINDINGS
(the generated `clawlet` package; default bindings/python/clawlet).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_LIB = Path(
    os.environ.get("CLAWLET_NODE_LIB", Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "libclawlet_node.so")
)

SHAPES = {
    "android": {"platform": "android", "device_family": "Android", "model": "Pixel 9"},
    "ios": {"platform": "ios", "device_family": "iPhone", "model": "iPhone17,1"},
}


def say(*parts: object) -> None:
    print("[sdk-phone]", *parts, flush=True)


def load_bindings():
    stage = Path(tempfile.mkdtemp(prefix="clawlet-sdk-phone-"))
    bindings = Path(os.environ.get("CLAWLET_PY_BINDINGS") or ROOT / "bindings" / "python" / "clawlet")
    shutil.copytree(bindings, stage / "clawlet")
    shutil.copy2(NODE_LIB, stage / "clawlet" / NODE_LIB.name)
    sys.path.insert(0, str(stage))
    import clawlet  # noqa: PLC0415

    return clawlet, stage


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform", choices=sorted(SHAPES), required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--setup-code")
    ap.add_argument("--url")
    ap.add_argument("--name", default=None)
    ap.add_argument("--node-only", action="store_true", help="a node-only companion (setup codes of the `node` profile)")
    args = ap.parse_args()
    clawlet, stage = load_bindings()
    try:
        return asyncio.run(run(clawlet, args))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


async def run(clawlet, args) -> int:
    shape = SHAPES[args.platform]
    store_path = Path(args.store)

    class Store(clawlet.CredentialStore):
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.data = json.loads(store_path.read_text()) if store_path.exists() else {}

        def _flush(self) -> None:
            tmp = store_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, sort_keys=True))
            os.replace(tmp, store_path)

        def load(self, key):
            with self.lock:
                value = self.data.get(key)
            return None if value is None else base64.b64decode(value)

        def save(self, key, value):
            with self.lock:
                self.data[key] = base64.b64encode(bytes(value)).decode()
                self._flush()
            say("stored", key)

        def delete(self, key):
            with self.lock:
                self.data.pop(key, None)
                self._flush()

    class Handler(clawlet.CommandHandler):
        async def handle(self, invoke):
            say("invoke", invoke.command)
            if invoke.command == "device.info":
                return json.dumps({"platform": shape["platform"], "model": shape["model"], "sdk": "clawlet"})
            raise clawlet.CommandError.InvalidParams(f"unknown command {invoke.command}")

    class Listener(clawlet.NodeListener):
        def on_status(self, status):
            say("status", type(status).__name__.rsplit(".", 1)[-1])

        def on_pairing_required(self, request_id, reason):
            say("pairing required", request_id, reason)

        def on_pairing_approved(self, request_id):
            say("pairing approved", request_id)

        def on_error(self, error):
            say("error", repr(error))

        async def confirm_pin(self, gateway_url, fingerprint):
            return False

    clawlet.uniffi_set_event_loop(asyncio.get_running_loop())
    config = clawlet.NodeClientConfig(
        gateway_url=args.url,
        setup_code=args.setup_code,
        token=None,
        password=None,
        display_name=args.name or f"sdk-{args.platform}",
        platform=shape["platform"],
        device_family=shape["device_family"],
        model_identifier=shape["model"],
        app_version="1.0.0",
        caps=["device"],
        commands=["device.info"],
        permissions={},
        pin_policy=clawlet.PinPolicy.SYSTEM_TRUST(),
        allow_insecure_private_ws=False,
        node_only=args.node_only,
    )
    client = clawlet.NodeClient(config, Store(), Handler(), Listener())
    say("device id", client.device_id())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client.connect()
    await stop.wait()
    client.disconnect()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
