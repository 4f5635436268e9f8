"""Peak memory of the streaming core for a large answer, as a multiple of the answer's size.

Two answers, each fed in fixed-size chunks (like a provider's deltas) through the sans-IO
core (``StreamDriver.on_delta`` ... ``on_end``, the path every shell takes), with snapshots
on (``partials=True``, the default) and off (``partials=False``, the web transport):

- ``string``: ``{"title": ..., "body": <N characters>}`` into a two-field model;
- ``list``: ``{"items": [...]}`` of small objects (~60 bytes each) into ``list[Item]``.

For scale, ``--partials pydantic`` measures ``TypeAdapter(T).validate_json(answer)`` alone (no
streaming): what the validated value itself costs.

Each case runs in a fresh process; the figure is its peak RSS (``ru_maxrss``) minus its RSS
after the answer was built and before the first chunk, divided by the answer's size. The
answer itself (one ``str``) is not counted; the final value and the driver's raw text are.
Building the answer peaks higher than what is left of it, so the high-water mark is reset
(``/proc/self/clear_refs``, Linux) before the first chunk.

Usage: ``PYTHONPATH=<tree>/src python bench/bench_memory.py [--mb 50] [--chunk 16]
[--cases string,list] [--partials off,on,pydantic]``
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from typing import Any, cast

import pydantic
from pydantic import BaseModel, TypeAdapter

from schemastream.contract import Delta, Mode, Request
from schemastream.core import StreamDriver
from schemastream.providers.base import Provider
from schemastream.schema import ResponseSpec


class Doc(BaseModel):
    title: str
    body: str


class Item(BaseModel):
    id: int
    name: str
    done: bool


def answer(case: str, size: int) -> tuple[str, Any]:
    if case == "string":
        head = '{"title": "a long answer", "body": "'
        unit = "lorem ipsum dolor sit amet, "
        body = unit * ((size - len(head) - 2) // len(unit))
        return "".join([head, body, '"}']), Doc
    item = '{"id": 1234, "name": "item number one two three", "done": false}'
    count = max(1, (size - 11) // (len(item) + 2))
    return '{"items": [' + ", ".join([item] * count) + "]}", list[Item]


def rss_now() -> int:
    """Current RSS in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def child(case: str, size: int, chunk: int, mode: str) -> None:
    text, tp = answer(case, size)
    partials = mode == "on"
    if mode == "pydantic":
        wrapped = ResponseSpec.from_type(tp).wrapper_key is not None  # {"items": [...]}
        adapter: Any = TypeAdapter(dict[str, tp] if wrapped else tp)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = rss_now()
        start = time.process_time()
        value = adapter.validate_json(text)
        cpu = time.process_time() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        assert value is not None
        print(json.dumps({"bytes": len(text), "before": before, "peak": peak, "cpu_s": cpu}))
        return
    spec = ResponseSpec.from_type(tp)
    driver = StreamDriver(
        cast(Provider, None), spec, Request("bench", {}, Mode.TOOLS), max_depth=512
    )
    driver.set_partials(partials)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak: building the answer is not what is measured
    before = rss_now()
    start = time.process_time()
    reads = 0
    for i in range(0, len(text), chunk):
        for event in driver.on_delta(Delta(text=text[i : i + chunk])):
            if partials and getattr(event, "value", None) is not None:
                reads += 1
    driver.on_delta(Delta(finish_reason="stop"))
    (final,) = driver.on_end()
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert final.value is not None
    print(
        json.dumps(
            {
                "bytes": len(text),
                "before": before,
                "peak": peak,
                "cpu_s": round(cpu, 1),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--cases", default="string,list")
    ap.add_argument("--partials", default="off,on")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "PARTIALS", "SIZE"))
    args = ap.parse_args()
    if args.child:
        case, partials, size = args.child
        child(case, int(size), args.chunk, partials)
        return
    size = int(args.mb * 1_000_000)
    print(
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}, "
        f"{platform.machine()}, {args.mb:g} MB answers in {args.chunk}-character chunks"
    )
    print("case    partials  answer MB  RSS before MB  peak RSS MB  (peak-before)/answer  CPU s")
    for case in args.cases.split(","):
        for partials in args.partials.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--chunk", str(args.chunk)]
                + ["--child", case, partials, str(size)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            mb = r["bytes"] / 1e6
            print(
                f"{case:<7} {partials:<9} {mb:9.1f} {r['before'] / 1e6:14.1f} "
                f"{r['peak'] / 1e6:12.1f} {(r['peak'] - r['before']) / r['bytes']:20.2f}x "
                f"{r['cpu_s']:6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
