"""Streaming core vs the re-parse approach, side by side in one run.

Feeds a ``list[Idea]`` document (wrapped as ``{"items": [...]}``, ~130 bytes per item) in
4-character chunks through

- schemastream: ``StreamSession`` (push parser + incremental validation + typed snapshot
  after every chunk), and
- re-parse: on every chunk ``jiter.from_json(buf, partial_mode="trailing-strings")`` of the
  whole buffer, then pydantic validation of the partial list (what Instructor-style
  libraries do),

and prints CPU per KB at several sizes, the log-log growth exponent of total CPU, and the
ratio. Usage: ``python bench/bench_core.py [--sizes 10,50,200,1000] [--chunk 4] [--json F]``
(``--json``: also write the figures to F, which ``bench/plots.py`` draws).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from typing import Any, Optional

import jiter
import pydantic
from pydantic import BaseModel, Field, TypeAdapter, create_model

from schemastream.core import StreamSession
from schemastream.schema import ResponseSpec


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


WORDS = [
    "note",
    "sync",
    "offline",
    "team",
    "search",
    "tag",
    "share",
    "voice",
    "quick",
    "daily",
    "focus",
    "smart",
    "link",
    "draft",
]


def document(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    items = []
    for _ in range(n):
        title = " ".join(rnd.choice(WORDS) for _ in range(4)).title()
        blurb = " ".join(rnd.choice(WORDS) for _ in range(17))[:120]
        items.append({"title": title, "blurb": blurb})
    return json.dumps({"items": items})


def chunked(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def run_schemastream(chunks: list[str]) -> Any:
    session = StreamSession(ResponseSpec.from_type(list[Idea]))
    for chunk in chunks:
        session.feed(chunk)  # builds a typed snapshot whenever something visible changed
    return session.finish("stop").value


PartialIdea = create_model("PartialIdea", title=(Optional[str], None), blurb=(Optional[str], None))
PARTIAL_LIST = TypeAdapter(dict[str, list[PartialIdea]])  # type: ignore[valid-type]
FINAL = TypeAdapter(dict[str, list[Idea]])


def run_reparse(chunks: list[str]) -> Any:
    buf = ""
    for chunk in chunks:
        buf += chunk
        value = jiter.from_json(buf.encode(), partial_mode="trailing-strings")
        if isinstance(value, dict) and "items" in value:
            PARTIAL_LIST.validate_python(value)
    return FINAL.validate_python(json.loads(buf))["items"]


def cpu(fn: Any, arg: Any) -> tuple[float, Any]:
    start = time.process_time()
    out = fn(arg)
    return time.process_time() - start, out


def slope(xs: list[float], ys: list[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,50,200,1000")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"python {sys.version.split()[0]}, pydantic {pydantic.VERSION}, jiter {jiter.__version__}"
    )
    print(
        f"{'items':>6} {'KB':>8} {'chunks':>7} {'ss ms':>9} {'ss µs/KB':>9} {'reparse ms':>11} {'rp µs/KB':>9} {'ratio':>7}"
    )
    kbs, ss_t, rp_t = [], [], []
    rows: list[dict[str, Any]] = []
    for n in sizes:
        text = document(n)
        chunks = chunked(text, args.chunk)
        t_ss, out_ss = cpu(run_schemastream, chunks)
        t_rp, out_rp = cpu(run_reparse, chunks)
        assert out_ss == out_rp, "both approaches must agree"
        kb = len(text.encode()) / 1024
        kbs.append(kb)
        ss_t.append(t_ss)
        rp_t.append(t_rp)
        rows.append(
            {"items": n, "bytes": len(text.encode()), "chunks": len(chunks)}
            | {"schemastream_cpu_s": t_ss, "reparse_cpu_s": t_rp}
        )
        print(
            f"{n:>6} {kb:>8.1f} {len(chunks):>7} {t_ss * 1e3:>9.1f} {t_ss / kb * 1e6:>9.0f}"
            f" {t_rp * 1e3:>11.1f} {t_rp / kb * 1e6:>9.0f} {t_rp / t_ss:>6.1f}x"
        )
    if len(sizes) > 1:
        print(
            "growth exponent (log-log slope of total CPU vs size): "
            f"schemastream {slope(kbs, ss_t):.2f}, re-parse {slope(kbs, rp_t):.2f}"
        )
    print(f"re-parse / schemastream CPU at {sizes[-1]} items: {rp_t[-1] / ss_t[-1]:.1f}x")
    if args.json:
        versions = {"python": sys.version.split()[0], "pydantic": pydantic.VERSION}
        report = {
            "bench": "core",
            "chunk": args.chunk,
            "versions": versions | {"jiter": jiter.__version__},
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report | {"rows": rows}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
