#!/usr/bin/env python3
"""Regenerate the replayed frames from the captured transcripts (shared/protocol/transcripts).

Usage: regen.py [PATH/TO/shared/protocol/transcripts/examples]

Each frame is the captured gateway->node text frame, re-serialised compactly (the capture stores
it pretty-printed). Changes to the captures, all listed here:
- hello-ok: `auth.deviceToken` was redacted in the capture; a synthetic 43-char token stands in.
- hello-ok: `id` (the captured connect's request id) is replaced by the first request id the
  self-test's NodeSession generates (`<n>:<uuid-v4>` from its generator seeded with
  JITTER_SEED = 7), so the response matches without copying the 14 KB frame into RAM to patch it.
  selftest/src/lib.rs checks the session still produces this id and says so if not.
- node.invoke.request: `nodeId` is the captured node's device id; it is replaced by the device id
  of the self-test's key (the RFC 8032 test-vector-1 key of vectors/device-auth.json), since the
  frame is replayed to that node.
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SRC = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[4] / "shared/protocol/transcripts/examples"
SELFTEST_DEVICE_ID = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
HELLO_OK_RESPONSE_ID = "1:bb43d723-3453-4528-ba29-9b2ed359012b"
SYNTHETIC_DEVICE_TOKEN = "ZW1iZWRkZWQtc2VsZnRlc3QtZGV2aWNlLXRva2VuLTE"


def frame(name, pick=lambda d: d):
    d = pick(json.loads((SRC / name).read_text()))
    assert d["dir"] == "s2c" and d["kind"] == "ws" and d["op"] == "text", name
    return d["json"]


def write(name, obj):
    (HERE / name).write_text(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


write("connect-challenge.json", frame("01-connect.challenge.json"))

hello = frame("08-node-hello-ok.json")
assert len(SYNTHETIC_DEVICE_TOKEN) == 43
hello["id"] = HELLO_OK_RESPONSE_ID
hello["payload"]["auth"]["deviceToken"] = SYNTHETIC_DEVICE_TOKEN
write("hello-ok.json", hello)

invoke = frame("12-invoke-system.which-both-sockets.json",
               lambda l: next(d for d in l if d["json"].get("event") == "node.invoke.request"))
invoke["payload"]["nodeId"] = SELFTEST_DEVICE_ID
write("invoke-request.json", invoke)
