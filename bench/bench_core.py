"""Streaming core vs the re-parse approach, side by side in one run.

Feeds a ``list[Idea]`` document (wrapped as ``{"items": [...]}``, ~130 bytes per item) in
4-character chunks through

- schemastream: ``StreamSession`` (push parser + incremental validation + typed snapshot
  after every chunk), and
- re-parse: on every chunk ``jiter.from_json(buf, partial_mode="trailing-strings")`` of the
  whole buffer, then pydantic validation of the partial list (what Instructor-style
  libraries do),

and prints CPU per KB at several sizes, the log-log growth exponent of total CPU, and the
ratio.

Three more cases measure schemastream alone (``--cases``), to show that display policies and
union narrowing (issue 11) keep the cost per KB and the linear growth:

- ``cards``: ``list[Card]`` with ``title: Annotated[str, ss.NotNull]`` and
  ``url: Annotated[str, ss.Done]`` (needs a schemastream with policies; skipped otherwise);
- ``plain-cards``: the same document as ``cards`` into a model without policies (what the
  policies themselves cost, and a case an older schemastream can run);
- ``union``: ``list[Note | Link]`` (no discriminator; a key only one member has decides).

``--repeat N`` runs every measurement N times and reports the median (shared machines).
Usage: ``python bench/bench_core.py [--sizes 10,50,200,1000] [--chunk 4] [--repeat 1]
[--cases ideas,plain-cards,cards,union] [--no-reparse]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from typing import Annotated, Any, Optional, Union

import jiter
import pydantic
from pydantic import BaseModel, Field, TypeAdapter, create_model

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.schema import ResponseSpec

HAS_POLICIES = hasattr(ss, "Done")


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


if HAS_POLICIES:

    class Card(BaseModel):
        title: Annotated[str, ss.NotNull]
        url: Annotated[str, ss.Done]
        blurb: str

    CARD_TYPE: Any = list[Card]
else:  # an older schemastream: the case is skipped
    CARD_TYPE = None


class PlainCard(BaseModel):
    title: str
    url: str
    blurb: str


class Note(BaseModel):
    title: str
    body: str


class Link(BaseModel):
    title: str
    url: str


UNION_TYPE: Any = list[Union[Note, Link]]


def cards_document(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    items = []
    for i in range(n):
        title = " ".join(rnd.choice(WORDS) for _ in range(4)).title()
        url = f"https://example.com/{'-'.join(rnd.choice(WORDS) for _ in range(5))}/{i}"
        blurb = " ".join(rnd.choice(WORDS) for _ in range(12))[:80]
        items.append({"title": title, "url": url, "blurb": blurb})
    return json.dumps({"items": items})


def union_document(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    items: list[dict[str, str]] = []
    for i in range(n):
        title = " ".join(rnd.choice(WORDS) for _ in range(4)).title()
        words = " ".join(rnd.choice(WORDS) for _ in range(17))[:100]
        if i % 2:  # the deciding key comes second: the slot is undecided while "title" streams
            items.append({"title": title, "url": f"https://example.com/{words[:40]}"})
        else:
            items.append({"title": title, "body": words})
    return json.dumps({"items": items})


def chunked(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def run_schemastream(chunks: list[str], tp: Any = list[Idea]) -> Any:
    session = StreamSession(ResponseSpec.from_type(tp))
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


def cpu(fn: Any, *args: Any, repeat: int = 1) -> tuple[float, Any]:
    """Median CPU seconds of ``repeat`` calls, and the last result."""
    times = []
    out: Any = None
    for _ in range(repeat):
        start = time.process_time()
        out = fn(*args)
        times.append(time.process_time() - start)
    return statistics.median(times), out


def slope(xs: list[float], ys: list[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    num = sum((a - mx) * (b - my) for a, b in zip(lx, ly))
    den = sum((a - mx) ** 2 for a in lx)
    return num / den


def ss_only(name: str, tp: Any, make: Any, sizes: list[int], chunk: int, repeat: int) -> None:
    """One schemastream-only case: CPU per KB at each size and the growth exponent."""
    print(f"case {name}: {tp}")
    print(f"{'items':>6} {'KB':>8} {'chunks':>7} {'ss ms':>9} {'ss µs/KB':>9}")
    kbs, ts = [], []
    for n in sizes:
        text = make(n)
        chunks = chunked(text, chunk)
        t, out = cpu(run_schemastream, chunks, tp, repeat=repeat)
        assert out == TypeAdapter(tp).validate_json(text.encode()[len('{"items": ') : -1])
        kb = len(text.encode()) / 1024
        kbs.append(kb)
        ts.append(t)
        print(f"{n:>6} {kb:>8.1f} {len(chunks):>7} {t * 1e3:>9.1f} {t / kb * 1e6:>9.0f}")
    if len(sizes) > 1:
        print(f"growth exponent ({name}): {slope(kbs, ts):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,50,200,1000")
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1, help="report the median of N runs")
    ap.add_argument("--cases", default="ideas,plain-cards,cards,union")
    ap.add_argument(
        "--no-reparse", action="store_true", help="ideas: schemastream only (faster repeats)"
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = args.cases.split(",")
    print(
        f"python {sys.version.split()[0]}, pydantic {pydantic.VERSION}, jiter {jiter.__version__},"
        f" schemastream from {ss.__file__}, median of {args.repeat}"
    )
    if "ideas" in cases:
        ideas_vs_reparse(sizes, args.chunk, args.repeat, reparse=not args.no_reparse)
    if "plain-cards" in cases:
        ss_only("plain-cards", list[PlainCard], cards_document, sizes, args.chunk, args.repeat)
    if "cards" in cases:
        if CARD_TYPE is None:
            print("case cards: skipped (this schemastream has no display policies)")
        else:
            ss_only("cards", CARD_TYPE, cards_document, sizes, args.chunk, args.repeat)
    if "union" in cases:
        ss_only("union", UNION_TYPE, union_document, sizes, args.chunk, args.repeat)


def ideas_vs_reparse(sizes: list[int], chunk: int, repeat: int, reparse: bool = True) -> None:
    if not reparse:
        ss_only("ideas", list[Idea], document, sizes, chunk, repeat)
        return
    print("case ideas: list[Idea], schemastream vs re-parse")
    print(
        f"{'items':>6} {'KB':>8} {'chunks':>7} {'ss ms':>9} {'ss µs/KB':>9} {'reparse ms':>11} {'rp µs/KB':>9} {'ratio':>7}"
    )
    kbs, ss_t, rp_t = [], [], []
    for n in sizes:
        text = document(n)
        chunks = chunked(text, chunk)
        t_ss, out_ss = cpu(run_schemastream, chunks, repeat=repeat)
        t_rp, out_rp = cpu(run_reparse, chunks, repeat=repeat)
        assert out_ss == out_rp, "both approaches must agree"
        kb = len(text.encode()) / 1024
        kbs.append(kb)
        ss_t.append(t_ss)
        rp_t.append(t_rp)
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


if __name__ == "__main__":
    main()
