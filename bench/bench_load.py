"""Load: N concurrent SSE clients on one uvicorn process, each stream paced at 100 deltas/s.

Three processes (plus ``redis-server`` for ``--resumable``):

* upstream  -- a paced OpenAI chat-completions server (the replay servers' wire format,
               ``tests/replay/openai_server.chat_chunk``): every stream writes ``--deltas``
               content deltas, one every 1/``--rate`` s; each delta is one complete list item
               ``{"t": <time.time() when written>}``, so a client can tell each delta's age.
* server    -- the process under test: uvicorn + ``sse_response(stream)`` (default
               ``coalesce=0.05``) over ``ss.from_openai(AsyncOpenAI)`` with
               ``response_model=list[Tick]``; ``--resumable`` adds ``resumable=True`` with
               ``RedisStore``.
* clients   -- this process: N aiohttp SSE readers started over ``--ramp`` s; for each
               delta, delay = receipt time of the SSE event carrying it - its ``t``.

Reported per N: p50 / p99 / max delay, deltas received, server CPU per delta (psutil,
user+sys of the server process over the run), server RSS per open stream (RSS with all N
streams open minus RSS before the run, / N), errors (streams not ending in ``final``).

    .venv/bin/python bench/bench_load.py                       # N = 25 50 100 200 500 1000
    .venv/bin/python bench/bench_load.py --clients 100 500 1000 --resumable
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "src")):
    if path not in sys.path:
        sys.path.insert(0, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- upstream ------------------------------------------------------------------------------


def upstream_app(deltas: int, rate: float) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route
    from tests.replay.base import sse_frame
    from tests.replay.openai_server import chat_chunk, chat_usage_chunk

    async def completions(request: Request) -> StreamingResponse:
        await request.body()

        async def body() -> Any:
            yield sse_frame(chat_chunk({"role": "assistant", "content": '{"items":['}))
            start = time.monotonic()
            for k in range(deltas):
                delay = start + k / rate - time.monotonic()  # paced, without drift
                if delay > 0:
                    await asyncio.sleep(delay)
                sep = "," if k else ""
                yield sse_frame(chat_chunk({"content": f'{sep}{{"t":{time.time():.6f}}}'}))
            yield sse_frame(chat_chunk({"content": "]}"}))
            yield sse_frame(chat_chunk({}, "stop"))
            yield sse_frame(chat_usage_chunk(10, deltas * 8))
            yield sse_frame("[DONE]")

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


# -- server under test ---------------------------------------------------------------------


def server_app(upstream: str, redis_url: str | None) -> Any:
    from pydantic import BaseModel
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    import openai
    import schemastream as ss
    from schemastream.web import RedisStore, sse_response

    class Tick(BaseModel):
        t: float

    sdk = openai.AsyncOpenAI(base_url=upstream + "/v1", api_key="bench", max_retries=0)
    client = ss.from_openai(sdk, mode=ss.Mode.JSON_SCHEMA)
    store = RedisStore(redis_url) if redis_url else None

    async def ticks(request: Request) -> Response:
        stream = client.chat.completions.create_with_stream(
            model="bench",
            messages=[{"role": "user", "content": "ticks"}],
            response_model=list[Tick],
        )
        if store is not None:
            return sse_response(stream, resumable=True, store=store)
        return sse_response(stream)

    return Starlette(routes=[Route("/ticks", ticks, methods=["POST"])])


def serve(app: Any, port: int) -> None:
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_level="error", lifespan="off", backlog=4096)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


# -- clients -------------------------------------------------------------------------------


def ticks_in(ops: list[dict[str, Any]]) -> list[float]:
    out: list[float] = []
    for op in ops:
        value = op.get("value")
        if op.get("path", "").endswith("/t") and isinstance(value, (int, float)):
            out.append(float(value))
            continue
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, dict) and isinstance(v.get("t"), (int, float)):
                out.append(float(v["t"]))
            elif isinstance(v, dict):
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
    return out


async def one_client(session: Any, url: str, start_at: float, delays: list[float]) -> str:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    try:
        async with session.post(url, json={}) as resp:
            if resp.status != 200:
                return f"http {resp.status}"
            buf = b""
            async for chunk in resp.content.iter_any():
                now = time.time()
                buf += chunk
                *frames, buf = buf.split(b"\n\n")
                for frame in frames:
                    event, data = "", b""
                    for line in frame.split(b"\n"):
                        if line.startswith(b"event:"):
                            event = line[6:].decode()
                        elif line.startswith(b"data:"):
                            data = line[5:]
                    if event in ("patch", "final"):
                        delays.extend(now - t for t in ticks_in(json.loads(data)["ops"]))
                    if event == "final":
                        return "ok"
                    if event == "error":
                        return "error event " + data.decode()[:80]
            return "ended early"
    except Exception as exc:  # counted, never fatal: the bench reports errors
        return type(exc).__name__


async def run_level(
    url: str, n: int, ramp: float, pid: int, settle: float, upstream_pid: int
) -> dict[str, Any]:
    import aiohttp
    import psutil

    proc, upstream = psutil.Process(pid), psutil.Process(upstream_pid)
    load = os.getloadavg()[0]
    rss0 = proc.memory_info().rss
    cpu0 = sum(proc.cpu_times()[:2])
    up0 = sum(upstream.cpu_times()[:2])
    me0 = time.process_time()
    wall0 = time.monotonic()
    delays: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = time.monotonic()
        tasks = [
            asyncio.ensure_future(one_client(session, url, t0 + ramp * i / n, delays))
            for i in range(n)
        ]
        await asyncio.sleep(ramp + settle)  # every stream open, mid-way
        rss_open = proc.memory_info().rss
        results = await asyncio.gather(*tasks)
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    up_cpu = sum(upstream.cpu_times()[:2]) - up0
    wall = time.monotonic() - wall0
    me_cpu = time.process_time() - me0
    errors = [r for r in results if r != "ok"]
    delays.sort()
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [float("nan")] * 99
    return {
        "clients": n,
        "deltas": len(delays),
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": delays[-1] * 1000 if delays else float("nan"),
        "cpu_s": cpu,
        "cpu_us_per_delta": cpu / max(1, len(delays)) * 1e6,
        "rss_kb_per_stream": (rss_open - rss0) / n / 1024,
        "server_cores": cpu / wall,
        "upstream_cores": up_cpu / wall,
        "client_cores": me_cpu / wall,
        "load": load,
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:3],
    }


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=["bench", "upstream", "server"], default="bench")
    parser.add_argument("--port", type=int)
    parser.add_argument("--upstream")
    parser.add_argument("--redis")
    parser.add_argument("--clients", type=int, nargs="+", default=[25, 50, 100, 200, 500, 1000])
    parser.add_argument("--deltas", type=int, default=300, help="deltas per stream")
    parser.add_argument("--rate", type=float, default=100.0, help="deltas per second per stream")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds to start all clients")
    parser.add_argument("--resumable", action="store_true", help="resumable=True on RedisStore")
    parser.add_argument("--profile", help="server: write cProfile stats here on exit")
    args = parser.parse_args()
    if args.role == "upstream":
        serve(upstream_app(args.deltas, args.rate), args.port)
        return
    if args.role == "server":
        app = server_app(args.upstream, args.redis)
        if not args.profile:
            serve(app, args.port)
            return
        import cProfile
        import signal

        # uvicorn re-raises SIGTERM after its shutdown: let it return here instead of dying
        signal.signal(signal.SIGTERM, lambda *_: None)
        with cProfile.Profile() as prof:
            serve(app, args.port)
        prof.dump_stats(args.profile)
        return

    import contextlib

    me = [sys.executable, os.path.abspath(__file__)]
    up_port, srv_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), ROOT]))
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        redis_url = None
        if args.resumable:
            from tests.web.redis_server import RedisServer

            redis_url = stack.enter_context(RedisServer()).url
        procs.append(
            subprocess.Popen(
                [
                    *me,
                    "--role",
                    "upstream",
                    "--port",
                    str(up_port),
                    "--deltas",
                    str(args.deltas),
                    "--rate",
                    str(args.rate),
                ],  # fmt: skip
                env=env,
            )
        )
        server_cmd = [*me, "--role", "server", "--port", str(srv_port),
                      "--upstream", f"http://127.0.0.1:{up_port}"]  # fmt: skip
        if redis_url:
            server_cmd += ["--redis", redis_url]
        if args.profile:
            server_cmd += ["--profile", args.profile]
        procs.append(subprocess.Popen(server_cmd, env=env))
        try:
            wait_port(up_port)
            wait_port(srv_port)
            url = f"http://127.0.0.1:{srv_port}/ticks"
            settle = args.deltas / args.rate / 2
            pids = (procs[1].pid, settle, procs[0].pid)
            asyncio.run(run_level(url, 5, 0.2, pids[0], pids[1], pids[2]))  # warm-up
            label = "resumable (RedisStore)" if args.resumable else "plain"
            print(f"# {label}; {args.deltas} deltas/stream at {args.rate:g}/s; ramp {args.ramp} s")
            print(
                "| clients | deltas received | p50 ms | p99 ms | max ms | server CPU s "
                "| CPU µs/delta | RSS KB/stream | errors | cores busy: server / upstream / clients "
                "| load avg before |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for n in args.clients:
                r = asyncio.run(run_level(url, n, args.ramp, pids[0], pids[1], pids[2]))
                print(
                    f"| {n} | {r['deltas']:,} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
                    f"| {r['max_ms']:.0f} | {r['cpu_s']:.2f} | {r['cpu_us_per_delta']:.1f} "
                    f"| {r['rss_kb_per_stream']:.1f} | {r['errors']} "
                    f"| {r['server_cores']:.2f} / {r['upstream_cores']:.2f} / "
                    f"{r['client_cores']:.2f} | {r['load']:.1f} |"
                    + (f" {r['error_kinds']}" if r["errors"] else ""),
                    flush=True,
                )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                with contextlib.suppress(Exception):
                    p.wait(10)


if __name__ == "__main__":
    main()
