"""Bytes on the wire for a 1,000-item ``list[Idea]`` stream: snapshots vs schemastream patches.

    .venv/bin/python bench/bench_web_bytes.py [--items 1000] [--chunk 4] [--json FILE]

The model's output (the wrapped document ``{"items": [...]}``) is written ``--chunk``
characters at a time, as a provider streams tokens. The events come from schemastream's
core (``StreamSession``) when it is importable, else from a reference generator (snapshots
diffed with ``schemastream.patch.diff``: the same ops). Then, side by side:

* ``snapshot/event``  -- the seed's approach: ``data: <whole partial as JSON>`` per event.
* ``patch/event``     -- schemastream's SSE with every event sent on its own (no merging).
* ``patch, paced``    -- schemastream's SSE with ``coalesce`` windows, the model writing at
  a given speed (simulated clock: the same merge rule as ``sse_response``).
* ``sse_response``    -- the real Starlette response over ASGI, the model as fast as it goes.

Each line prints total bytes and the ratio to the final JSON's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from schemastream.core import StreamSession
from schemastream.events import FinalEvent, PartialEvent, StreamEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec
from schemastream.web.encoder import WireEncoder, format_sse, jsonable, to_json_bytes


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


WORDS = [
    "notes",
    "sync",
    "focus",
    "share",
    "voice",
    "search",
    "offline",
    "daily",
    "ink",
    "mind",
    "team",
    "quick",
    "smart",
    "clean",
    "secure",
    "capture",
    "habit",
    "journal",
    "reminder",
    "template",
    "calendar",
    "weekly",
    "project",
    "student",
    "writer",
    "research",
    "meeting",
    "summary",
    "highlight",
    "archive",
    "workspace",
    "markdown",
]


def make_ideas(n: int, seed: int = 7) -> list[dict[str, str]]:
    """Deterministic ideas: titles of 2-5 words, blurbs of 80-140 characters."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        title = " ".join(rnd.choice(WORDS).title() for _ in range(rnd.randint(2, 5)))
        target = rnd.randint(80, 140)
        words: list[str] = []
        while len(" ".join(words)) < target - 12:
            words.append(rnd.choice(WORDS))
        blurb = (" ".join(words).capitalize() + ".")[:140]
        out.append({"title": title, "blurb": blurb})
    return out


def chunks_of(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def core_events(ideas: list[dict[str, str]], chunk: int) -> list[StreamEvent]:
    """Events from the real core as a model writes the wrapped document ``chunk`` chars at a time."""
    session = StreamSession(ResponseSpec.from_type(list[Idea]))
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    events: list[StreamEvent] = []
    for piece in chunks_of(text, chunk):
        events.extend(session.feed(piece))
    events.append(session.finish())
    return events


def snapshot_bytes(events: list[StreamEvent]) -> int:
    total = 0
    for ev in events:
        if isinstance(ev, PartialEvent):
            total += len(b"data: " + to_json_bytes(jsonable(ev.partial)) + b"\n\n")
        elif isinstance(ev, FinalEvent):
            total += len(b"data: " + to_json_bytes(jsonable(ev.value)) + b"\n\n")
    return total


def per_event_bytes(events: list[StreamEvent]) -> tuple[int, int, Any]:
    enc = WireEncoder()
    total = messages = 0
    for ev in events:
        for m in enc.encode([ev]):
            total += len(format_sse(m))
            messages += 1
    return total, messages, enc.sent_state


def paced_bytes(events: list[StreamEvent], *, rate: float, window: float) -> tuple[int, int, Any]:
    """Model emits one event per 1/rate s; a burst is flushed at most every ``window`` s."""
    enc = WireEncoder()
    total = messages = 0
    last_flush = 0.0
    i = 0
    while i < len(events):
        t_first = i / rate
        flush_at = max(t_first, last_flush + window)
        j = i + 1
        while j < len(events) and j / rate <= flush_at:
            j += 1
        for m in enc.encode(events[i:j]):
            total += len(format_sse(m))
            messages += 1
        last_flush = flush_at
        i = j
    return total, messages, enc.sent_state


async def response_bytes(events: list[StreamEvent]) -> tuple[int, int, Any]:
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    from schemastream.web import sse_response

    class Source:
        def events(self) -> Iterator[StreamEvent]:
            return iter(events)

        def close(self) -> None:
            pass

    async def endpoint(request: Any) -> Any:
        return sse_response(Source())

    app = Starlette(routes=[Route("/s", endpoint)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        r = await client.get("/s")
    body = r.content
    state: Any = None
    messages = 0
    for frame in body.decode().split("\n\n")[:-1]:
        fields = dict(line.split(":", 1) for line in frame.split("\n") if not line.startswith(":"))
        if "data" in fields:
            messages += 1
            data = json.loads(fields["data"])
            if fields.get("event") in ("patch", "final"):
                state = apply_patch(state, data["ops"])
    return len(body), messages, state


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=4, help="characters per model chunk (~1 token)")
    ap.add_argument(
        "--snapshot-limit", type=int, default=0, help="skip snapshot bytes above N items (0: never)"
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    args = ap.parse_args()

    ideas = make_ideas(args.items)
    final = to_json_bytes(ideas)
    events, source = core_events(ideas, args.chunk), "schemastream core (StreamSession)"
    n_partial = sum(isinstance(e, PartialEvent) for e in events)
    print(
        f"{args.items} ideas, final JSON {len(final):,} bytes; {len(events):,} events ({n_partial:,} partial) from {source}"
    )
    print(f"{'approach':<48}{'messages':>10}{'bytes':>16}{'x final':>10}")

    rows: list[dict[str, Any]] = []

    def row(name: str, nbytes: int, messages: int, state: Any = ...) -> None:
        rows.append({"approach": name, "messages": messages, "bytes": nbytes})
        ok = "" if state is ... else ("  ok" if state == ideas else "  STATE MISMATCH")
        print(f"{name:<48}{messages:>10,}{nbytes:>16,}{nbytes / len(final):>10.2f}{ok}")

    t = time.perf_counter()
    if not args.snapshot_limit or args.items <= args.snapshot_limit:
        row("snapshot per event (seed)", snapshot_bytes(events), n_partial + 1)
    b, m, s = per_event_bytes(events)
    row("schemastream patch per event (no merging)", b, m, s)
    for rate, window in ((100, 0.05), (100, 0.25), (1000, 0.05), (10000, 0.05)):
        b, m, s = paced_bytes(events, rate=rate, window=window)
        row(f"schemastream, {rate:g} chunks/s, coalesce={window:g}s", b, m, s)
    b, m, s = asyncio.run(response_bytes(events))
    row("schemastream sse_response, full speed (ASGI)", b, m, s)
    print(f"({time.perf_counter() - t:.1f}s)")
    if args.json:
        report = {"bench": "web_bytes", "items": args.items, "chunk": args.chunk}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report | {"final_bytes": len(final), "rows": rows}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
