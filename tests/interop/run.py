#!/usr/bin/env python3
"""Runs the interop scenarios (clawlet against unmodified OpenClaw) in parallel and reports.

    python3 tests/interop/run.py --clawlet target/debug/clawlet --openclaw-dir <install dir> [--only 1,6]

Each scenario has its own directory under --out (HOMEs, state, process logs, commands.log with
every CLI call and its output, frames.jsonl with every frame the scenario's proxies saw, redacted).
A failing scenario prints why, the frames that show it and the tails of its process logs.
"""

from __future__ import annotations

import argparse
import atexit
import json
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Context, Fail, Scenario, kill_everything, render  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

NOISY_EVENTS = {"health", "presence", "node.hostStats"}


def frames_for_report(sc: Scenario, err: Exception) -> str:
    frames = getattr(err, "frames", None)
    if frames:
        return render(frames, limit=600)
    records = [
        r for r in sc.frames()
        if not (r.get("kind") == "ws" and isinstance(r.get("json"), dict) and r["json"].get("event") in NOISY_EVENTS)
    ]
    cut = ""
    if len(records) > 150:
        cut = f"  ... {len(records) - 150} earlier records in frames.jsonl\n"
        records = records[-150:]
    return cut + render(records, limit=300)


def log_tails(sc: Scenario, lines: int = 25) -> str:
    out = []
    for proc in sc.procs:
        tail = [line for line in proc.log().splitlines() if line.strip()][-lines:]
        out.append(f"  --- {proc.name} ({proc.log_path.name}) ---")
        out.extend("  " + sc.redact(line)[:300] for line in tail)
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clawlet", required=True)
    ap.add_argument("--openclaw-dir", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default="")
    # Four at a time: the longest scenario (6) runs throughout while the others take turns; all
    # eight at once overloads a 2-core machine (OpenClaw's gateway alone needs ~7 s of CPU to start).
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()

    # Whatever ends this run (timeout, Ctrl-C, a crash), the processes it started end with it.
    atexit.register(kill_everything)

    def on_signal(signum, _frame):
        kill_everything()
        print(f"interop: stopped by signal {signum}", file=sys.stderr, flush=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    out = Path(args.out or Path(__file__).resolve().parents[2] / "target" / "interop" / time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(Path(args.clawlet).resolve(), Path(args.openclaw_dir).resolve(), out)
    wanted = {int(x) for x in args.only.split(",") if x.strip()}
    chosen = [s for s in SCENARIOS if not wanted or s.number in wanted]
    # Longest first, so the ≥90 s one overlaps all the others.
    chosen.sort(key=lambda s: -s.budget)
    print(f"interop: {len(chosen)} scenario(s), artifacts in {out}", flush=True)

    slots = threading.Semaphore(max(1, args.jobs))
    results: dict[int, dict] = {}
    scenarios: dict[int, Scenario] = {}
    lock = threading.Lock()
    t0 = time.time()

    def worker(spec) -> None:
        with slots:
            sc = Scenario(spec.number, spec.title, out, spec.budget, ctx)
            with lock:
                scenarios[spec.number] = sc
            print(f"  [{time.time() - t0:6.1f}s] start {spec.number}: {spec.title}", flush=True)
            err: Exception | None = None
            try:
                spec.fn(sc)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                err = e
            report = ""
            if err is not None:
                kind = "FAIL" if isinstance(err, Fail) else "ERROR"
                trace = "" if isinstance(err, Fail) else "".join(traceback.format_exception(err))
                report = (
                    f"\n---- scenario {spec.number} {kind}: {spec.title}\n{sc.redact(str(err))}\n{trace}"
                    f"\n  frames (see {sc.dir}/frames.jsonl):\n{frames_for_report(sc, err)}"
                    f"\n\n  timeline:\n" + "\n".join("  " + n for n in sc.notes[-40:])
                    + f"\n\n  process logs (tails):\n{log_tails(sc)}\n"
                )
            sc.cleanup()
            sc.save_artifacts()
            secs = time.time() - sc.started
            with lock:
                results[spec.number] = {"ok": err is None, "secs": round(secs, 1), "title": spec.title}
                status = "PASS" if err is None else "FAIL"
                print(f"  [{time.time() - t0:6.1f}s] {status} {spec.number}: {spec.title} ({secs:.0f}s)", flush=True)
                if report:
                    print(report, flush=True)

    threads = [threading.Thread(target=worker, args=(s,), name=f"s{s.number}") for s in chosen]
    for t in threads:
        t.start()
        time.sleep(0.2)
    # Watchdog: a scenario past its budget gets its processes ended so its waits fail fast.
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        with lock:
            for sc in scenarios.values():
                if sc.remaining() < -30 and not sc.cancelled and sc.number not in results:
                    print(f"  scenario {sc.number} overran its budget; stopping its processes", flush=True)
                    sc.cancelled = True
                    for proc in sc.procs:
                        proc.signal(9)
    total = time.time() - t0
    passed = sorted(n for n, r in results.items() if r["ok"])
    failed = sorted(n for n, r in results.items() if not r["ok"])
    (out / "results.json").write_text(json.dumps({"total_secs": round(total, 1), "results": results}, indent=2))
    print(f"\ninterop: {len(passed)} passed {passed}, {len(failed)} failed {failed}, {total:.0f} s total")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
