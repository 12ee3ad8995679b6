#!/usr/bin/env python3
"""Writes the fuzz seed corpus from the captured OpenClaw transcripts.

    python3 fuzz/seed_corpus.py [path/to/shared/protocol/transcripts]

corpus/parse_frame/: real gateway->node frames as sent (compact JSON text).
corpus/admission/:   scenario headers (gateway/src/server/admission/fuzzing.rs, `Scenario::from_bytes`)
                     followed by real client `connect` frames, the shared token and device token
                     swapped for the harness's constants.
corpus/session/:     scripts in the byte format of node-core/tests/session_model/mod.rs
                     (`decode`): a setup, then ops, each a tag byte and its fields. Captured
                     frames travel as CAPTURED ops, which re-address a `res` to the session's
                     pending connect id and swap the captured node id for ours. If the decoder
                     changes, these files are still valid inputs, only less pointed: re-run this.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "protocol", "transcripts")

# Op tags and constants of session_model::decode.
OPENED, CLOSED, CAPTURED, ADVANCE, RUN_TIMERS, COMPLETE_SEEN, SEND_EVENT, RESUME = 0, 1, 3, 6, 7, 8, 10, 11
CLOSE_CODES = [1000, 1005, 1006, 1008, 1009, 1011, 1012, 1013, 4000, 4001]
WORD_NODE_HOST_STATS, WORD_OBJECT = 4, 18


def frames(transcripts, name, conn=None):
    with open(os.path.join(transcripts, name)) as f:
        for line in f:
            r = json.loads(line)
            if r.get("dir") == "s2c" and r.get("op") == "text" and "json" in r:
                if conn is None or r["conn"] == conn:
                    yield r["json"]


def pick(transcripts, name, pred, conn=None):
    for j in frames(transcripts, name, conn):
        if pred(j):
            return json.dumps(j, separators=(",", ":"), ensure_ascii=False)
    raise SystemExit(f"no matching frame in {name}")


def event(name):
    return lambda j: j.get("type") == "event" and j.get("event") == name


def detail(code):
    return lambda j: j.get("type") == "res" and ((j.get("error") or {}).get("details") or {}).get("code") == code


def hello(j):
    return j.get("type") == "res" and j.get("ok") and (j.get("payload") or {}).get("type") == "hello-ok"


def setup(flags=0x41, seed=1, identity=1, max_invokes=2):
    # flags: bit0 shared token, bit3 stored device token, bit6 epoch start, bit7 wild policy.
    return bytes([flags, seed, identity, max_invokes])


def captured(text):
    data = text.encode()
    assert len(data) < 65536
    return bytes([CAPTURED]) + len(data).to_bytes(2, "big") + data


def raw_number(n):
    return bytes([3]) + n.to_bytes(8, "big")


def closed(code):
    return bytes([CLOSED, 1, 1, CLOSE_CODES.index(code), 1, 0])


# Constants of gateway/src/server/admission/fuzzing.rs.
ADMISSION_SECRET = "configured-shared-secret"
ADMISSION_DEVICE_TOKEN = "current-device-token"
# Header flag bits of `Scenario::from_bytes`: flags, facts, lockouts.
SIGN, REMOTE, ORIGIN_ALLOWED, ORIGIN_FOREIGN = 0x01, 0x02, 0x04, 0x08
AUTH_TOKEN, AUTH_PASSWORD, AUTH_PROXY, AUTO_APPROVE = 0x10, 0x20, 0x30, 0x40
PROXY_NO_IDENTITY, PROXY_USER, PROXY_REFUSED, PROXY_SCOPES = 0x04, 0x08, 0x0C, 0x10
PAIRED_OTHER_KEY, PAIRED_SAME = 0x20, 0x40
# The Tailscale identity of a proxied scenario: facts bits 0-1 and 7.
TAILSCALE_CLAIMED, TAILSCALE_VERIFIED, TAILSCALE_MISMATCH = 0x01, 0x02, 0x82
TOKEN_RECORD, TOKEN_REVOKED, BOOTSTRAP = 0x08, 0x10, 0x20


def client_connects(transcripts, name):
    with open(os.path.join(transcripts, name)) as f:
        for line in f:
            r = json.loads(line)
            j = r.get("json")
            if r.get("dir") == "c2s" and isinstance(j, dict) and j.get("method") == "connect":
                yield j


def with_credentials(frame, **auth):
    frame = json.loads(json.dumps(frame))
    a = frame["params"].setdefault("auth", {})
    for k in list(a):
        if a[k] == "<REDACTED:shared-token>":
            a[k] = ADMISSION_SECRET
    for k, v in auth.items():
        if v is None:
            a.pop(k, None)
        else:
            a[k] = v
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()


def admission_seeds(t):
    node = next(client_connects(t, "a-node-first-connect-pairing.jsonl"))
    cli = next(client_connects(t, "00-operator-cli-shared-token-devices-list.jsonl"))
    reconnect = list(client_connects(t, "a2-node-stop-then-reconnect-with-device-token.jsonl"))[-1]
    all_scopes, node_role, both_roles = 0x3F, 1, 2
    return {
        # A node's first connect from loopback with the shared token: silent pairing.
        "node-first-local": bytes([SIGN | AUTH_TOKEN | AUTO_APPROVE, 0, 0, 1]) + with_credentials(node),
        # The same from the LAN: pairing required.
        "node-first-remote": bytes([SIGN | REMOTE | AUTH_TOKEN, 0, 0, 1]) + with_credentials(node),
        # A paired node reconnecting with its device token and a wrong shared token.
        "node-device-token": bytes([SIGN | AUTH_TOKEN, PAIRED_SAME, TOKEN_RECORD, 2, node_role, 0, 0])
        + with_credentials(reconnect, token="wrong", deviceToken=ADMISSION_DEVICE_TOKEN),
        # A revoked device token.
        "node-revoked-token": bytes(
            [SIGN | AUTH_TOKEN, PAIRED_SAME, TOKEN_RECORD | TOKEN_REVOKED, 2, node_role, 0, 0]
        )
        + with_credentials(reconnect, token=None, deviceToken=ADMISSION_DEVICE_TOKEN),
        # A setup code (full profile) redeemed by a node.
        "node-setup-code": bytes([SIGN | REMOTE | AUTH_TOKEN, 0, BOOTSTRAP, 3, 0])
        + with_credentials(node, token=None, bootstrapToken="setup-token"),
        # The CLI device-less on loopback, from a foreign browser origin, under password auth.
        "cli-foreign-origin": bytes([ORIGIN_FOREIGN | AUTH_PASSWORD | AUTO_APPROVE, 0, 0])
        + with_credentials(cli, token=None, password="guess"),
        # The CLI with a device behind a trusted proxy that narrows its scopes.
        "cli-trusted-proxy": bytes(
            [SIGN | AUTH_PROXY, PROXY_USER | PROXY_SCOPES | PAIRED_SAME, 0, 4, 0x02, both_roles, all_scopes]
        )
        + with_credentials(cli, token=None),
        # Trusted-proxy mode, straight to the gateway: no proxy facts.
        "cli-around-the-proxy": bytes([AUTH_PROXY, 0, 0]) + with_credentials(cli, token=None),
        # A re-keyed device (same id, other key) and every bucket locked out.
        "cli-other-key-locked": bytes([SIGN | AUTH_TOKEN, PAIRED_OTHER_KEY, 0x07, 5]) + with_credentials(cli),
        # Device-less behind Tailscale Serve without the token: a login whois confirmed, ...
        "cli-tailscale-verified": bytes([REMOTE | AUTH_TOKEN, PROXY_NO_IDENTITY | TAILSCALE_VERIFIED, 0])
        + with_credentials(cli, token=None),
        # ... another login than whois names (a wrong shared secret), ...
        "cli-tailscale-mismatch": bytes([REMOTE | AUTH_TOKEN, PROXY_NO_IDENTITY | TAILSCALE_MISMATCH, 0])
        + with_credentials(cli, token=None),
        # ... and a claim while the shared-secret bucket is locked out (whois not run).
        "cli-tailscale-locked": bytes([REMOTE | AUTH_TOKEN, PROXY_NO_IDENTITY | TAILSCALE_CLAIMED, 0x01])
        + with_credentials(cli, token=None),
    }


def main():
    t = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    a = "a-node-first-connect-pairing.jsonl"
    f = {
        "challenge": pick(t, a, event("connect.challenge"), "c002"),
        "pairing-required": pick(t, a, detail("PAIRING_REQUIRED"), "c002"),
        "challenge-c008": pick(t, a, event("connect.challenge"), "c008"),
        "hello-ok": pick(t, a, hello, "c008"),
        "tick": pick(t, a, event("tick"), "c008"),
        "node-pair-resolved": pick(t, a, event("node.pair.resolved"), "c008"),
        "invoke-request": pick(t, "b-operator-invoke-node.jsonl", event("node.invoke.request"), "c008"),
        "invoke-cancel": pick(t, "b2-invoke-timeout.jsonl", event("node.invoke.cancel")),
        "invoke-request-b2": pick(t, "b2-invoke-timeout.jsonl", event("node.invoke.request")),
        "shutdown-stop": pick(t, "d1-gateway-stop-start-node-reconnect.jsonl", event("shutdown")),
        "shutdown-restart": pick(
            t,
            "d2-gateway-rpc-restart-node-reconnect.jsonl",
            lambda j: event("shutdown")(j) and "restartExpectedMs" in (j.get("payload") or {}),
        ),
        "token-mismatch": pick(t, "f-node-wrong-token.jsonl", detail("AUTH_TOKEN_MISMATCH")),
        "token-missing": pick(t, "f-node-no-token.jsonl", detail("AUTH_TOKEN_MISSING")),
        "protocol-mismatch": pick(t, "f-raw-protocol-mismatch.jsonl", detail("PROTOCOL_MISMATCH")),
        "node-event-result": pick(
            t, "a2-node-stop-then-reconnect-with-device-token.jsonl", lambda j: "handled" in (j.get("payload") or {})
        ),
    }

    out = os.path.join(HERE, "corpus", "parse_frame")
    os.makedirs(out, exist_ok=True)
    for name, text in f.items():
        with open(os.path.join(out, name + ".json"), "w") as fh:
            fh.write(text)

    connect = bytes([OPENED]) + captured(f["challenge-c008"]) + captured(f["hello-ok"])
    scripts = {
        # First connect → PAIRING_REQUIRED → slow re-check → approved → hello-ok.
        "pairing-then-approved": setup()
        + bytes([OPENED])
        + captured(f["challenge"])
        + captured(f["pairing-required"])
        + bytes([RUN_TIMERS])
        + raw_number(10_000)
        + connect
        + captured(f["node-pair-resolved"]),
        # Connected → invoke → result → node.event → tick → restart shutdown → 1012 → reconnect.
        "invoke-then-restart": setup()
        + connect
        + captured(f["invoke-request"])
        + bytes([COMPLETE_SEEN, 0, 1, 0])
        + bytes([SEND_EVENT, 1, WORD_NODE_HOST_STATS, 2, 1, WORD_OBJECT])
        + captured(f["tick"])
        + captured(f["shutdown-restart"])
        + closed(1012)
        + bytes([RUN_TIMERS])
        + raw_number(5_000)
        + connect,
        # An invoke the gateway cancels after its timeout, then answered late.
        "invoke-cancelled": setup()
        + connect
        + captured(f["invoke-request-b2"])
        + bytes([ADVANCE])
        + raw_number(1_000)
        + captured(f["invoke-cancel"])
        + bytes([COMPLETE_SEEN, 0, 1, 0]),
        # Shared token rejected with a device token stored, then a protocol mismatch after resume.
        "auth-failures": setup(flags=0x49)
        + bytes([OPENED])
        + captured(f["challenge"])
        + captured(f["token-mismatch"])
        + bytes([RUN_TIMERS])
        + raw_number(1_000)
        + bytes([OPENED])
        + captured(f["challenge"])
        + captured(f["protocol-mismatch"])
        + bytes([RESUME, OPENED])
        + captured(f["challenge"])
        + captured(f["token-missing"]),
        # Silence after hello-ok trips the tick watchdog; the gateway stops for good.
        "watchdog-and-stop": setup()
        + connect
        + bytes([ADVANCE])
        + raw_number(61_000)
        + bytes([RUN_TIMERS])
        + raw_number(2_000)
        + connect
        + captured(f["shutdown-stop"])
        + closed(1012)
        + bytes([RUN_TIMERS])
        + raw_number(60_000),
    }
    out = os.path.join(HERE, "corpus", "session")
    os.makedirs(out, exist_ok=True)
    for name, data in scripts.items():
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
    admission = admission_seeds(t)
    out = os.path.join(HERE, "corpus", "admission")
    os.makedirs(out, exist_ok=True)
    for name, data in admission.items():
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(data)
    print(
        f"wrote {len(f)} parse_frame seeds, {len(scripts)} session seeds "
        f"and {len(admission)} admission seeds"
    )


if __name__ == "__main__":
    main()
