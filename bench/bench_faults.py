"""The fault suite's figures, per provider wire: memory under load, growth over many streams,
and how long a stalled body takes to fail.

    .venv/bin/python bench/bench_faults.py                    # every figure, every wire
    .venv/bin/python bench/bench_faults.py --wires openai --stall-runs 3

For each wire of the cross-provider suite (``tests/providers/test_cross_provider.py``: OpenAI
chat, OpenAI Responses, Anthropic, Gemini; real SDKs over HTTP), each figure is measured in a
fresh child process (so its peak RSS is that run's own) against the replay server running in
another process (so the client's memory and CPU are all that is counted):

* ``concurrent``: 300 async streams at once, each a 3-item ``list[Idea]`` of its own; every
  result checked exact; peak RSS (``VmHWM``) and RSS before (after a 10-stream warm-up).
* ``sequential``: 1,000 sync streams one after another after a 100-stream warm-up; RSS growth
  over the 1,000.
* ``stall``: the body stops after 3 events for 30 s; ``timeout=2`` and the SDK's default
  retries; seconds from the call to the error, sync and async, ``--stall-runs`` times each.
  Then the same stall before the response headers (the SDKs retry that request).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import threading
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

WIRE_IDS = ["openai", "openai-responses", "anthropic", "genai"]
MESSAGES = [{"role": "user", "content": "Ideas?"}]


def _doc(i: int) -> list[dict[str, Any]]:
    return [{"title": f"Idea {i}-{j}", "score": i + j} for j in range(3)]


def _wires() -> dict[str, Any]:
    from tests.providers.test_cross_provider import WIRES

    return {str(p.id): p.values[0] for p in WIRES}


# -- server process --------------------------------------------------------------------------


def _serve(port_q: Any) -> None:
    from pydantic import BaseModel
    from tests.replay.base import ReplayServer, Script

    from schemastream.schema import ResponseSpec

    class Idea(BaseModel):
        title: str
        score: int = 0

    spec = ResponseSpec.from_type(list[Idea])
    wires = _wires()

    def fallback(path: str, body: Any) -> Script:
        wire = wires["genai"]
        if path.endswith("/chat/completions"):
            wire = wires["openai"]
        elif path.endswith("/responses"):
            wire = wires["openai-responses"]
        elif path.endswith("/messages"):
            wire = wires["anthropic"]
        ask = json.dumps(body)
        marker = ask[ask.index("doc:") + 4 :] if "doc:" in ask else "0"
        i = int(marker.split('"')[0].split("\\")[0]) if marker[0].isdigit() else 0
        script = wire.script(json.dumps({"items": _doc(i)}), spec, n=7)
        if "stall-head" in ask:
            script.head_gate = threading.Event()  # never set
            script.gate_timeout = 30.0
        elif "stall" in ask:
            script.gate(wire.first_piece + 3)  # never set
            script.gate_timeout = 30.0
        return script

    server = ReplayServer(fallback=fallback, record=False).start()
    port_q.put(server.port)
    while True:
        time.sleep(3600)


# -- client side (child processes) -----------------------------------------------------------


class _Url:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    """Peak RSS of this process: ``VmHWM`` (``ru_maxrss`` would carry the spawning process's
    peak over ``execve``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _ask(i: int | str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Ideas? doc:{i}"}]


def _concurrent(wire_id: str, port: int, n: int) -> dict[str, Any]:
    from pydantic import BaseModel

    class Idea(BaseModel):
        title: str
        score: int = 0

    wire = _wires()[wire_id]

    async def main() -> dict[str, Any]:
        client = wire.make_client(_Url(port), True)

        async def one(i: int) -> bool:
            stream = client.responses.stream(model="m", messages=_ask(i), response_model=list[Idea])
            final = await stream.get_final_response()
            return [x.model_dump() for x in final] == _doc(i)

        for i in range(10):  # warm-up
            await one(i)
        before = _rss()
        t0 = time.perf_counter()
        exact = await asyncio.gather(*[one(i) for i in range(n)])
        wall = time.perf_counter() - t0
        return {"exact": sum(exact), "n": n, "rss_before": before, "peak": _peak(), "wall": wall}

    return asyncio.run(main())


def _sequential(wire_id: str, port: int, n: int) -> dict[str, Any]:
    import gc

    from pydantic import BaseModel

    class Idea(BaseModel):
        title: str
        score: int = 0

    wire = _wires()[wire_id]
    client = wire.make_client(_Url(port), False)

    def run(count: int) -> int:
        exact = 0
        for i in range(count):
            stream = client.responses.stream(model="m", messages=_ask(i), response_model=list[Idea])
            exact += [x.model_dump() for x in stream.get_final_response()] == _doc(i)
        return exact

    run(100)
    gc.collect()
    before = _rss()
    t0 = time.perf_counter()
    exact = run(n)
    wall = time.perf_counter() - t0
    gc.collect()
    return {"exact": exact, "n": n, "rss_before": before, "rss_after": _rss(), "wall": wall}


def _stall(wire_id: str, port: int, runs: int, head: bool) -> dict[str, Any]:
    from pydantic import BaseModel

    class Idea(BaseModel):
        title: str
        score: int = 0

    wire = _wires()[wire_id]
    what = "stall-head" if head else "stall"
    out: dict[str, Any] = {}
    for use_async in (False, True):
        times: list[float] = []
        errors: set[str] = set()
        for _ in range(runs):
            # the SDK's default retries (2 for openai/anthropic; genai: as the wire sets them)
            client = wire.make_client(_Url(port), use_async, timeout=2.0, retries=2)
            stream = client.responses.stream(
                model="m", messages=_ask(what), response_model=list[Idea]
            )
            t0 = time.perf_counter()
            try:
                if use_async:
                    asyncio.run(stream.get_final_response())
                else:
                    stream.get_final_response()
            except Exception as exc:  # the figure is which error, and when
                errors.add(f"{type(exc).__module__}.{type(exc).__qualname__}")
            times.append(time.perf_counter() - t0)
        out["async" if use_async else "sync"] = {"times": times, "errors": sorted(errors)}
    return out


def _child(q: Any, fn: str, args: tuple[Any, ...]) -> None:
    q.put(globals()[fn](*args))


def _in_child(fn: str, *args: Any) -> Any:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(q, fn, args))
    proc.start()
    result = q.get(timeout=600)
    proc.join(30)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--wires", default=",".join(WIRE_IDS))
    ap.add_argument("--concurrent", type=int, default=300)
    ap.add_argument("--sequential", type=int, default=1000)
    ap.add_argument("--stall-runs", type=int, default=5)
    args = ap.parse_args()

    import anthropic
    import google.genai
    import pydantic

    import openai

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Linux {platform.release()}; Python {sys.version.split()[0]}, pydantic "
        f"{pydantic.VERSION}, openai {openai.__version__}, anthropic {anthropic.__version__}, "
        f"google-genai {google.genai.__version__}"
    )
    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_q,), daemon=True)
    server.start()
    mib = 2**20
    try:
        port = port_q.get(timeout=60)
        for wire_id in args.wires.split(","):
            c = _in_child("_concurrent", wire_id, port, args.concurrent)
            print(
                f"{wire_id}: {c['n']} concurrent async: {c['exact']}/{c['n']} exact, "
                f"RSS {c['rss_before'] / mib:.0f} MiB before, peak {c['peak'] / mib:.0f} MiB "
                f"(+{(c['peak'] - c['rss_before']) / mib:.0f}), {c['wall']:.1f} s",
                flush=True,
            )
            s = _in_child("_sequential", wire_id, port, args.sequential)
            print(
                f"{wire_id}: {s['n']} sequential sync: {s['exact']}/{s['n']} exact, RSS "
                f"{s['rss_before'] / mib:.1f} -> {s['rss_after'] / mib:.1f} MiB "
                f"({(s['rss_after'] - s['rss_before']) / mib:+.1f}), {s['wall']:.1f} s",
                flush=True,
            )
            for head in (False, True):
                r = _in_child("_stall", wire_id, port, args.stall_runs, head)
                for mode, m in r.items():
                    times = ", ".join(f"{t:.2f}" for t in m["times"])
                    where = "before the headers" if head else "mid-body"
                    print(
                        f"{wire_id}: stall {where}, timeout=2, {mode}: max "
                        f"{max(m['times']):.2f} s [{times}] {' '.join(m['errors'])}",
                        flush=True,
                    )
    finally:
        server.kill()


if __name__ == "__main__":
    main()
