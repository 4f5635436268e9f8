"""Mode.PARALLEL_TOOLS core vs one list, side by side in one run.

The same ``Idea`` items (~130 bytes each) go through

- ``list``: ``StreamSession`` on ``list[Idea]`` (``{"items": [...]}``), in 4-character chunks;
- ``calls``: ``CallsSession`` on ``list[Idea | Vote]``, each item one tool call, the calls
  interleaved round robin over ``--open`` calls at a time, in 4-character deltas (what a
  provider hands the core: ``Delta(call=i, tool=..., text=...)``).

Both build a typed snapshot after every chunk. Prints CPU per KB at several sizes and the
log-log growth exponent of total CPU (1.0: linear in the number of calls).
Usage: ``python bench/bench_parallel.py [--sizes 10,100,1000] [--chunk 4] [--open 3] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from typing import Union

from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.calls import CallsSession
from schemastream.core import StreamSession
from schemastream.schema import ResponseSpec


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


class Vote(BaseModel):
    option: str
    weight: int


WORDS = ["note", "sync", "offline", "team", "search", "tag", "share", "voice", "daily", "focus"]


def items(n: int, seed: int = 1) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    return [
        {
            "title": " ".join(rnd.choice(WORDS) for _ in range(4)).title(),
            "blurb": " ".join(rnd.choice(WORDS) for _ in range(17))[:120],
        }
        for _ in range(n)
    ]


def deltas(docs: list[dict[str, str]], chunk: int, open_calls: int) -> list[ss.Delta]:
    """Round robin over ``open_calls`` calls at a time; a call ends, the next one begins."""
    texts = [json.dumps(d) for d in docs]
    out: list[ss.Delta] = []
    pos = [0] * len(texts)
    active = list(range(min(open_calls, len(texts))))
    following = len(active)
    while active:
        for c in list(active):
            text = texts[c]
            out.append(
                ss.Delta(
                    call=c, tool="Idea" if pos[c] == 0 else None, text=text[pos[c] : pos[c] + chunk]
                )
            )
            pos[c] += chunk
            if pos[c] >= len(text):
                active.remove(c)
                if following < len(texts):
                    active.append(following)
                    following += 1
    return out


def run_list(docs: list[dict[str, str]], chunk: int) -> float:
    text = json.dumps({"items": docs})
    start = time.process_time()
    s = StreamSession(ResponseSpec.from_type(list[Idea]))
    for i in range(0, len(text), chunk):
        s.feed(text[i : i + chunk])
    value = s.finish("stop").value
    elapsed = time.process_time() - start
    assert len(value) == len(docs)
    return elapsed


def run_calls(docs: list[dict[str, str]], chunk: int, open_calls: int) -> float:
    ds = deltas(docs, chunk, open_calls)
    start = time.process_time()
    s = CallsSession(ResponseSpec.from_type(list[Union[Idea, Vote]]))
    for d in ds:
        s.feed_delta(d)
    value = s.finish("tool_calls").value
    elapsed = time.process_time() - start
    assert len(value) == len(docs)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--open", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"| items | KB | list ms | µs/KB | calls ms ({args.open} open) | µs/KB | calls / list |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    points = []
    for n in sizes:
        docs = items(n)
        kb = len(json.dumps(docs)) / 1024
        t_list = statistics.median(run_list(docs, args.chunk) for _ in range(args.repeat))
        t_calls = statistics.median(
            run_calls(docs, args.chunk, args.open) for _ in range(args.repeat)
        )
        points.append((n, t_calls))
        print(
            f"| {n} | {kb:.1f} | {t_list * 1e3:.1f} | {t_list * 1e6 / kb:.0f} | "
            f"{t_calls * 1e3:.1f} | {t_calls * 1e6 / kb:.0f} | {t_calls / t_list:.2f}× |"
        )
    (n0, t0), (n1, t1) = points[0], points[-1]
    print(f"growth exponent of calls CPU: {math.log(t1 / t0) / math.log(n1 / n0):.2f}")


if __name__ == "__main__":
    main()
