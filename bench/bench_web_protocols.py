"""Bytes on the wire per web protocol for the same paced stream (real responses over ASGI).

    .venv/bin/python bench/bench_web_protocols.py [--items 10] [--chunk 4] [--rate 200]

The model writes ``{"items": [...]}`` ``--chunk`` characters at a time, ``--rate`` chunks per
second (an async source sleeping between the real core's events). Each helper of
``schemastream.web`` delivers it with its defaults: SSE with ``append`` ops, SSE in strict RFC
6902, AG-UI (strict RFC 6902 STATE_DELTA), the text stream (``useObject``) and the UI message
stream (``useChat``: the whole value resent per update, coalesced by time). Prints bytes,
messages-ish counts and the ratio to the final JSON's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_web_bytes import core_events, make_ideas  # noqa: E402

from schemastream.events import StreamEvent  # noqa: E402
from schemastream.web import (  # noqa: E402
    ag_ui_response,
    sse_response,
    text_stream_response,
    ui_message_stream_response,
)
from schemastream.web.encoder import to_json_bytes  # noqa: E402


class Paced:
    def __init__(self, events: list[StreamEvent], rate: float) -> None:
        self._events, self.rate = events, rate

    async def _gen(self) -> AsyncIterator[StreamEvent]:
        for ev in self._events:
            await asyncio.sleep(1 / self.rate)
            yield ev

    def events(self) -> AsyncIterator[StreamEvent]:
        return self._gen()

    async def aclose(self) -> None:
        pass


async def body_of(respond: Any, events: list[StreamEvent], rate: float) -> tuple[bytes, float]:
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def endpoint(request: Any) -> Any:
        return respond(Paced(events, rate))

    app = Starlette(routes=[Route("/s", endpoint, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        r = await client.post("/s")
    return r.content, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200.0, help="model chunks per second")
    args = ap.parse_args()
    ideas = make_ideas(args.items)
    final = len(to_json_bytes(ideas))
    events = core_events(ideas, args.chunk)
    print(
        f"{args.items} ideas, final JSON {final:,} bytes, {len(events)} events at {args.rate:g}/s"
    )
    cases = [
        ("sse_response (append ops)", lambda s: sse_response(s)),
        ("sse_response(rfc6902=True)", lambda s: sse_response(s, rfc6902=True)),
        ("ag_ui_response", lambda s: ag_ui_response(s, thread_id="t", run_id="r")),
        ("text_stream_response", lambda s: text_stream_response(s)),
        ("ui_message_stream_response (coalesce 0.1)", lambda s: ui_message_stream_response(s)),
        (
            "ui_message_stream_response (coalesce 0.5)",
            lambda s: ui_message_stream_response(s, coalesce=0.5),
        ),
    ]
    print("| helper | bytes | × final JSON | frames | seconds |")
    print("|---|---:|---:|---:|---:|")
    for name, respond in cases:
        body, secs = asyncio.run(body_of(respond, events, args.rate))
        if name.startswith("text_stream"):
            assert json.loads(body) == ideas
            frames = "-"
        else:
            frames = str(body.count(b"\n\n"))
        print(f"| {name} | {len(body):,} | {len(body) / final:.2f}× | {frames} | {secs:.1f} |")


if __name__ == "__main__":
    main()
