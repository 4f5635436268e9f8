"""Long strings and deep documents: CPU per character (or level) and its growth exponent.

- ``string``: ``{"title": ..., "body": <N chars>}`` in 4-character deltas through
  ``StreamSession``, every snapshot read (what a user iterating partials pays), and the same
  with ``partials=False`` (what the web transport pays: patch ops only).
- ``depth``: a recursive model nested N levels (``{"name": ..., "child": {...}}``), 16-character
  chunks, ``max_depth`` raised to fit, snapshots read / ops only.

Prints µs per character (per level), the log-log growth exponent of total CPU over the sizes
(1.0 = linear), and the number of PartialEvents. Run it against another tree with
``PYTHONPATH=<tree>/src`` to compare (an older schemastream has no ``partials=``: its
ops-only rows are skipped). Usage: ``python bench/bench_long.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import math
import statistics
import sys
import time
from typing import Any, Optional

import pydantic
from pydantic import BaseModel

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.events import PartialEvent
from schemastream.schema import ResponseSpec

HAS_PARTIALS = "partials" in inspect.signature(StreamSession).parameters


class Essay(BaseModel):
    title: str
    body: str


class Node(BaseModel):
    name: str
    child: Optional[Node] = None


def run(tp: Any, text: str, chunk: int, partials: bool, **kw: Any) -> tuple[float, int]:
    if HAS_PARTIALS:
        kw["partials"] = partials
    s = StreamSession(ResponseSpec.from_type(tp), **kw)
    chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    gc.collect()
    events = 0
    t = time.process_time()
    for c in chunks:
        for e in s.feed(c):
            if isinstance(e, PartialEvent):
                events += 1
                _ = e.partial  # read, as a user iterating partials does
    s.finish("stop")
    return time.process_time() - t, events


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def table(
    name: str, unit: str, sizes: list[int], make: Any, tp: Any, chunk: int, repeat: int, **kw: Any
) -> None:
    for partials in (True, False):
        if not partials and not HAS_PARTIALS:
            continue
        label = "snapshots read" if partials else "ops only"
        print(f"case {name}, {label}")
        print(f"{unit:>10} {'ms':>9} {'µs/' + unit:>10} {'events':>8}")
        totals = []
        for n in sizes:
            text = make(n)
            runs = [run(tp, text, chunk, partials, **kw) for _ in range(repeat)]
            sec = statistics.median(r[0] for r in runs)
            totals.append(sec)
            print(f"{n:>10} {sec * 1e3:>9.1f} {sec / n * 1e6:>10.2f} {runs[0][1]:>8}")
        if len(sizes) > 1:
            exponent = slope([float(s) for s in sizes], totals)
            print(f"growth exponent ({name}, {label}): {exponent:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--strings", default="50000,200000,1000000")
    ap.add_argument("--depths", default="250,1000,4000")
    args = ap.parse_args()
    print(
        f"python {sys.version.split()[0]}, pydantic {pydantic.VERSION}, "
        f"schemastream from {ss.__file__}, median of {args.repeat}"
    )
    strings = [int(x) for x in args.strings.split(",")]
    depths = [int(x) for x in args.depths.split(",")]
    table(
        "string",
        "char",
        strings,
        lambda n: json.dumps({"title": "T", "body": "abcd efgh " * (n // 10)}),
        Essay,
        4,
        args.repeat,
    )
    table(
        "depth",
        "level",
        depths,
        lambda d: '{"name": "n", "child": ' * d + '{"name": "leaf"}' + "}" * d,
        Node,
        16,
        args.repeat,
        max_depth=2 * max(depths) + 10,
    )


if __name__ == "__main__":
    main()
