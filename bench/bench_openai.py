"""Client CPU of streaming a big ``list[Idea]`` through the real openai SDK: bare SDK loop vs
schemastream, side by side in one run.

The replay server (tests/replay) runs in a separate process, so ``time.process_time()`` in
this process counts only client work: HTTP reads, SSE/JSON decoding, and (for schemastream)
incremental parsing, partial objects and validation.

    .venv/bin/python bench/bench_openai.py                 # 1,000 items + 250/500/1000 growth
    .venv/bin/python bench/bench_openai.py --items 200 --sizes ""    # quick
    ... --json FILE       # also write the figures as JSON (``bench/plots.py`` draws them)

Variants (each reads the same document, in ``--chunk``-character deltas):

* ``sdk-chat``       bare loop: ``chat.completions.create(stream=True)``, concatenate
                     ``choices[0].delta.content``
* ``sdk-responses``  bare loop: ``responses.create(stream=True)``, concatenate
                     ``response.output_text.delta``
* ``ss-create_partial``  ``ss.from_openai(OpenAI()).chat.completions.create_partial(
                     response_model=list[Idea], mode=JSON_SCHEMA)``, every partial consumed
* ``ss-responses.stream`` the seed's ``client.responses.stream(...)``: every partial, then
                     ``get_final_response()``
* ``*-async``        the same over ``AsyncOpenAI`` (event loop in this process; a fresh
                     client per run, so each async run also pays one TCP connect)
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from pydantic import BaseModel, Field  # noqa: E402


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


WORDS = [
    "notes",
    "sync",
    "tags",
    "share",
    "voice",
    "search",
    "focus",
    "daily",
    "digest",
    "widget",
    "quick",
    "capture",
    "offline",
    "markdown",
    "team",
    "template",
    "reminder",
    "archive",
    "link",
    "graph",
    "calendar",
    "export",
    "secure",
    "draft",
]


def make_doc(n: int, seed: int = 7) -> dict[str, Any]:
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        title = " ".join(rnd.choice(WORDS).capitalize() for _ in range(rnd.randint(2, 4)))
        blurb = ""
        while len(blurb) < rnd.randint(70, 130):
            blurb += rnd.choice(WORDS) + " "
        items.append({"title": f"{title} {i}", "blurb": blurb.strip().capitalize() + "."})
    return {"items": items}


# -- server process ---------------------------------------------------------------------------


def _serve(port_q: Any, chunk: int) -> None:
    from tests.replay import openai_server as oa
    from tests.replay.base import ReplayServer, Script

    cache: dict[tuple[str, int], list[bytes]] = {}

    def fallback(path: str, body: Any) -> Script:
        n = int(body.get("metadata", {}).get("items", "10")) if body else 10
        kind = "responses" if path.endswith("/responses") else "chat"
        key = (kind, n)
        if key not in cache:
            doc = make_doc(n)
            cache[key] = (
                oa.responses_text_frames(doc, chunk)
                if kind == "responses"
                else oa.chat_content_frames(doc, chunk)
            )
        return Script(chunks=cache[key])

    server = ReplayServer(fallback=fallback, record=False).start()
    port_q.put(server.port)
    while True:
        time.sleep(3600)


# -- client variants ----------------------------------------------------------------------------

MSGS = [{"role": "user", "content": "Generate marketing ideas for a note-taking app"}]


def sdk_chat(client: Any, n: int) -> tuple[int, int]:
    text = ""
    chunks = 0
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MSGS,
        stream=True,
        stream_options={"include_usage": True},
        metadata={"items": str(n)},
    )
    for c in stream:
        chunks += 1
        if c.choices and c.choices[0].delta.content:
            text += c.choices[0].delta.content
    return chunks, len(text)


def sdk_responses(client: Any, n: int) -> tuple[int, int]:
    text = ""
    chunks = 0
    for event in client.responses.create(
        model="gpt-4o-mini", input=MSGS, stream=True, metadata={"items": str(n)}
    ):
        chunks += 1
        if event.type == "response.output_text.delta":
            text += event.delta
    return chunks, len(text)


def ss_create_partial(ss_client: Any, n: int) -> tuple[int, int]:
    import schemastream as ss

    partials = 0
    last: Any = None
    for partial in ss_client.chat.completions.create_partial(
        model="gpt-4o-mini",
        messages=MSGS,
        response_model=list[Idea],
        mode=ss.Mode.JSON_SCHEMA,
        metadata={"items": str(n)},
    ):
        partials += 1
        last = partial
    assert last is not None and len(last) == n, (n, None if last is None else len(last))
    return partials, n


def ss_responses_stream(ss_client: Any, n: int) -> tuple[int, int]:
    partials = 0
    stream = ss_client.responses.stream(
        model="gpt-4o-mini",
        messages=MSGS,
        response_model=list[Idea],
        metadata={"items": str(n)},
    )
    for _partial in stream:
        partials += 1
    ideas = stream.get_final_response()
    assert len(ideas) == n and isinstance(ideas[0], Idea)
    return partials, n


async def _sdk_chat_async(client: Any, n: int) -> tuple[int, int]:
    text = ""
    chunks = 0
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MSGS,
        stream=True,
        stream_options={"include_usage": True},
        metadata={"items": str(n)},
    )
    async for c in stream:
        chunks += 1
        if c.choices and c.choices[0].delta.content:
            text += c.choices[0].delta.content
    await client.close()
    return chunks, len(text)


async def _ss_responses_stream_async(ss_client: Any, n: int) -> tuple[int, int]:
    partials = 0
    async with ss_client.responses.stream(
        model="gpt-4o-mini", messages=MSGS, response_model=list[Idea], metadata={"items": str(n)}
    ) as stream:
        async for _partial in stream:
            partials += 1
        ideas = await stream.get_final_response()
    assert len(ideas) == n
    await ss_client.provider.client.close()
    return partials, n


def sdk_chat_async(client: Any, n: int) -> tuple[int, int]:
    import asyncio

    return asyncio.run(_sdk_chat_async(client(), n))


def ss_responses_stream_async(ss_client: Any, n: int) -> tuple[int, int]:
    import asyncio

    return asyncio.run(_ss_responses_stream_async(ss_client(), n))


# Instructor (optional, never installed into the project's venv): run in another interpreter,
#   python -m venv /tmp/instr-venv && /tmp/instr-venv/bin/pip install instructor==1.17.0
#   .venv/bin/python bench/bench_openai.py --instructor /tmp/instr-venv/bin/python
INSTRUCTOR_SNIPPET = r"""
import sys, time
import instructor, openai
from pydantic import BaseModel, Field

class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)

class Ideas(BaseModel):
    items: list[Idea]

port, n = sys.argv[1], sys.argv[2]
client = instructor.from_openai(
    openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0),
    mode=instructor.Mode.JSON,
)
c0, w0 = time.process_time(), time.perf_counter()
partials = 0
last = None
for last in client.chat.completions.create_partial(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "ideas"}],
    response_model=Ideas,
    metadata={"items": n},
):
    partials += 1
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
assert last is not None and len(last.items) == int(n), len(last.items)
print(f"{cpu:.3f} {wall:.3f} {partials} instructor {instructor.__version__} openai {openai.__version__}")
"""


def instructor_cpu(python: str, port: int, n: int) -> tuple[float, float, int, str]:
    import subprocess

    out = subprocess.run(
        [python, "-c", INSTRUCTOR_SNIPPET, str(port), str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]), " ".join(out[3:])


def measure(fn: Any, client: Any, n: int, repeat: int) -> tuple[float, float, int]:
    best_cpu = best_wall = math.inf
    out = 0
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out, _ = fn(client, n)
        c1, w1 = time.process_time(), time.perf_counter()
        best_cpu, best_wall = min(best_cpu, c1 - c0), min(best_wall, w1 - w0)
    return best_cpu, best_wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--sizes", default="250,500,1000", help="growth run sizes ('' to skip)")
    ap.add_argument("--chunk", type=int, default=4, help="characters per delta")
    ap.add_argument("--repeat", type=int, default=1, help="best of N")
    ap.add_argument("--fast", type=int, default=1, help="0: schemastream's SDK-object fallback")
    ap.add_argument("--async-variants", type=int, default=1, help="0: skip the AsyncOpenAI runs")
    ap.add_argument(
        "--instructor",
        metavar="PYTHON",
        help="also time Instructor's create_partial, run by this interpreter (its own venv)",
    )
    ap.add_argument(
        "--instructor-items",
        default="",
        help="items for the Instructor runs, comma-separated ('': --items)",
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    args = ap.parse_args()
    report: dict[str, Any] = {"bench": "openai", "items": args.items, "chunk": args.chunk}

    from tests.replay import openai_server as oa

    import openai
    import schemastream as ss

    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(port_q, args.chunk), daemon=True)
    proc.start()
    try:
        port = port_q.get(timeout=30)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        ss_client = ss.from_openai(client, fast=bool(args.fast))
        doc_chars = len(oa.as_text(make_doc(args.items)))
        n_chunks = math.ceil(doc_chars / args.chunk)
        print(
            f"# {args.items} items, {doc_chars} chars, {n_chunks} content chunks of "
            f"{args.chunk} chars; openai {openai.__version__}; python {sys.version.split()[0]}"
        )
        # warm-up (imports, connection, caches)
        sdk_chat(client, 20)
        ss_create_partial(ss_client, 20)
        ss_responses_stream(ss_client, 20)

        base_url = f"http://127.0.0.1:{port}/v1"

        def aclient() -> Any:  # a fresh one per asyncio.run (its pool is bound to the loop)
            return openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)

        def ss_aclient() -> Any:
            return ss.from_openai(aclient(), fast=bool(args.fast))

        variants = [
            ("sdk-chat", sdk_chat, client),
            ("sdk-responses", sdk_responses, client),
            ("ss-create_partial", ss_create_partial, ss_client),
            ("ss-responses.stream", ss_responses_stream, ss_client),
        ]
        if args.async_variants:
            variants += [
                ("sdk-chat-async", sdk_chat_async, aclient),
                ("ss-responses.stream-async", ss_responses_stream_async, ss_aclient),
            ]
        report["versions"] = {"python": sys.version.split()[0], "openai": openai.__version__}
        report["chars"] = doc_chars
        results: dict[str, float] = {}
        report["cpu_s"] = results
        print(f"{'variant':<26}{'CPU s':>8}{'wall s':>8}{'µs/chunk':>10}{'events':>8}")
        for name, fn, c in variants:
            cpu, wall, out = measure(fn, c, args.items, args.repeat)
            results[name] = cpu
            print(f"{name:<26}{cpu:>8.2f}{wall:>8.2f}{cpu / n_chunks * 1e6:>10.1f}{out:>8}")
        print(
            f"ratio ss-create_partial / sdk-chat           = "
            f"{results['ss-create_partial'] / results['sdk-chat']:.3f}"
        )
        print(
            f"ratio ss-responses.stream / sdk-responses    = "
            f"{results['ss-responses.stream'] / results['sdk-responses']:.3f}"
        )
        print(
            f"ratio ss-responses.stream / sdk-chat         = "
            f"{results['ss-responses.stream'] / results['sdk-chat']:.3f}"
        )
        if args.async_variants:
            print(
                f"ratio ss-responses.stream-async / sdk-chat-async = "
                f"{results['ss-responses.stream-async'] / results['sdk-chat-async']:.3f}"
            )

        if args.instructor:
            report["instructor"] = []
            for n_i in [int(x) for x in str(args.instructor_items or args.items).split(",")]:
                cpu, wall, partials, versions = instructor_cpu(args.instructor, port, n_i)
                per_chunk = cpu / math.ceil(len(oa.as_text(make_doc(n_i))) / args.chunk) * 1e6
                report["instructor"].append({"items": n_i, "cpu_s": cpu, "versions": versions})
                print(
                    f"{'instructor-create_partial':<26}{cpu:>8.2f}{wall:>8.2f}{per_chunk:>10.1f}"
                    f"{partials:>8}   ({n_i} items; {versions})"
                )

        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        if len(sizes) >= 2:
            print("\n# growth (CPU s)")
            print(f"{'items':>6}" + "".join(f"{name:>26}" for name, _, _ in variants))
            table: dict[str, list[float]] = {name: [] for name, _, _ in variants}
            report["growth"] = {"items": sizes, "cpu_s": table}
            for n in sizes:
                row = f"{n:>6}"
                for name, fn, c in variants:
                    if n == args.items:
                        cpu = results[name]
                    else:
                        cpu, _, _ = measure(fn, c, n, args.repeat)
                    table[name].append(cpu)
                    row += f"{cpu:>26.2f}"
                print(row)
            exps = "".join(
                f"{math.log(v[-1] / v[0]) / math.log(sizes[-1] / sizes[0]):>26.2f}"
                for v in table.values()
            )
            print(f"{'exp':>6}" + exps)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
    finally:
        proc.terminate()
        proc.join(5)


if __name__ == "__main__":
    main()
