"""Event sources and parsers for the web tests.

:class:`ScriptedStream` (and its async twin) has ``ss.Stream``'s shape and plays the real
core's events (:func:`idea_events`), with test controls a provider can't give on demand:
block until closed, raise at event ``i``, hold at a gate. The end-to-end tests
(``test_e2e.py``, ``test_browser.py``) run the same transport on the whole real stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from schemastream.core import StreamSession
from schemastream.events import StreamEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec
from tests.models import Idea
from tests.replay.base import ReplayServer, Script


def make_ideas(n: int, *, seed: int = 0) -> list[dict[str, str]]:
    words = ["sync", "tag", "focus", "share", "voice", "search", "offline", "daily", "ink", "mind"]
    out = []
    for i in range(n):
        w = words[(i + seed) % len(words)]
        out.append(
            {
                "title": f"Idea {i}: {w.title()} boost",
                "blurb": f"Make {w} effortless: a {w} feature that saves you time every day, #{i}.",
            }
        )
    return out


def idea_events(ideas: list[dict[str, str]], chunk: int = 4) -> list[StreamEvent]:
    """The events the real core (:class:`~schemastream.core.StreamSession`) produces while a
    model writes ``list[Idea]`` ``chunk`` characters at a time, its final event included."""
    spec = ResponseSpec.from_type(list[Idea])
    session = StreamSession(spec)
    doc: Any = {spec.wrapper_key: ideas} if spec.wrapper_key else ideas
    text = json.dumps(doc, separators=(",", ":"))
    events: list[StreamEvent] = []
    for i in range(0, len(text), chunk):
        events += session.feed(text[i : i + chunk])
    events.append(session.finish("stop"))
    return events


class ScriptedStream:
    """A sync stream: ``events()`` yields ``events``; blocks before ``block_at`` until closed
    (as a network read blocks until the connection is cut); ``raise_at`` raises ``error``."""

    def __init__(
        self,
        events: list[StreamEvent],
        *,
        block_at: int | None = None,
        raise_at: int | None = None,
        error: BaseException | None = None,
        delay: float = 0.0,
        gates: dict[int, threading.Event] | None = None,
    ) -> None:
        self._events = events
        self.block_at = block_at
        self.raise_at = raise_at
        self.error = error
        self.delay = delay
        self.gates = gates or {}
        self.closed = threading.Event()
        self.yielded = 0
        self.blocked = threading.Event()
        self.thread: threading.Thread | None = None

    def events(self) -> Iterator[StreamEvent]:
        self.thread = threading.current_thread()
        for i, ev in enumerate(self._events):
            if self.closed.is_set():
                return
            if i == self.raise_at:
                assert self.error is not None
                raise self.error
            if i == self.block_at:
                self.blocked.set()
                self.closed.wait(30)
                return
            gate = self.gates.get(i)
            if gate is not None:
                while not gate.wait(0.01):
                    if self.closed.is_set():
                        return
            if self.delay:
                time.sleep(self.delay)
            self.yielded += 1
            yield ev

    def close(self) -> None:
        self.closed.set()


class AsyncScriptedStream:
    """The async twin of :class:`ScriptedStream`."""

    def __init__(
        self,
        events: list[StreamEvent],
        *,
        block_at: int | None = None,
        raise_at: int | None = None,
        error: BaseException | None = None,
        delay: float = 0.0,
    ) -> None:
        self._events = events
        self.block_at = block_at
        self.raise_at = raise_at
        self.error = error
        self.delay = delay
        self.closed = threading.Event()
        self.blocked = threading.Event()
        self.yielded = 0

    async def _gen(self) -> AsyncIterator[StreamEvent]:
        for i, ev in enumerate(self._events):
            if self.closed.is_set():
                return
            if i == self.raise_at:
                assert self.error is not None
                raise self.error
            if i == self.block_at:
                self.blocked.set()
                while not self.closed.is_set():
                    await asyncio.sleep(0.01)
                return
            await asyncio.sleep(self.delay)
            self.yielded += 1
            yield ev

    def events(self) -> AsyncIterator[StreamEvent]:
        return self._gen()

    async def aclose(self) -> None:
        self.closed.set()


# -- SSE parsing (strict about framing) -------------------------------------------------------


@dataclass
class Frame:
    id: int | str | None  # str: resumable streams' "<stream id>:<n>"
    event: str
    data: Any


def parse_sse(raw: str, *, comments: list[str] | None = None) -> list[Frame]:
    """Parse an SSE body written by schemastream.web, asserting its framing."""
    assert raw == "" or raw.endswith("\n\n"), f"body does not end with a blank line: {raw[-40:]!r}"
    frames: list[Frame] = []
    for block in raw.split("\n\n")[:-1]:
        assert block, "empty frame"
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            assert "\r" not in line
            if line.startswith(":"):
                if comments is not None:
                    comments.append(line)
                continue
            name, sep, value = line.partition(":")
            assert sep, f"line without colon: {line!r}"
            assert name in ("id", "event", "data"), name
            assert name not in fields, f"repeated field {name}"
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" not in fields:
            continue  # a comment-only frame (heartbeat)
        frames.append(
            Frame(
                _frame_id(fields["id"]) if "id" in fields else None,
                fields.get("event", "message"),
                json.loads(fields["data"]),
            )
        )
    return frames


def _frame_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def replay_frames(frames: list[Frame]) -> tuple[Any, list[int], str]:
    """What a client ends with: (state, completed item indexes, how it ended)."""
    state: Any = None
    items: list[int] = []
    end = "open"
    for f in frames:
        assert end == "open", f"{f.event} after {end}"
        if f.event == "patch":
            state = apply_patch(state, f.data["ops"])
        elif f.event == "item":
            items.append(f.data["index"])
            assert f.data["pointer"] == f"/{f.data['index']}"
        elif f.event == "final":
            state = apply_patch(state, f.data["ops"])
            end = "final"
        elif f.event == "error":
            end = "error"
        elif f.event == "restart":
            state, items = None, []
    return state, items, end


# -- a real HTTP server in a thread (for disconnects: TestClient buffers responses) ----------


class ServerThread:
    def __init__(self, app: Any) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio" if _has_ws_sansio() else "auto",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "server start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        with contextlib.suppress(OSError):
            self.sock.close()


def _has_ws_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except Exception:
        return False
    return True


def wait_for(cond: Callable[[], Any], timeout: float, what: str = "condition") -> None:
    """Poll ``cond`` until true; fail after ``timeout`` seconds (a deadline, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


ROOT = Path(__file__).resolve().parents[2]


def load_module(path: str | Path, name: str) -> Any:
    """Import a file of the repository (an example app, a script) as module ``name``.

    Registered in ``sys.modules`` so pydantic can resolve the module's string annotations."""
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- the example apps' backend: the real openai SDK against a replay server --------------------

Gate = tuple[int, str, float]  # (item index, field, fraction of the field written)


def gate_at(script: Script, pos: int) -> threading.Event:
    """Hold a 4-characters-per-frame Responses script once ``pos`` characters were sent."""
    head = 4  # frames before the first document piece (see tests/providers/test_openai_e2e.py)
    return script.gate(head + pos // 4 + 1)


class ReplayBackend:
    """The real openai SDK (async or sync) and a schemastream client over it, pointed at a
    replay ``server`` (the suite's ``server`` fixture) that speaks OpenAI's wire format."""

    def __init__(self, server: ReplayServer, use_async: bool = True) -> None:
        import openai
        import schemastream as ss

        self.name = "replay-async" if use_async else "replay-sync"
        self.server = server
        cls = openai.AsyncOpenAI if use_async else openai.OpenAI
        self.sdk = cls(base_url=self.server.url + "/v1", api_key="test", max_retries=0)
        self.client = ss.from_openai(self.sdk)

    def prepare(
        self, ideas: list[dict[str, str]], gates: list[Gate], *, fail: bool = False
    ) -> list[threading.Event]:
        from tests.replay import openai_server as oa

        doc = {"items": ideas}
        if fail:
            doc = {
                "items": [ideas[0], {"title": ideas[1]["title"], "blurb": "x" * 200}, *ideas[2:]]
            }
        text = json.dumps(doc, separators=(",", ":"))
        script = oa.responses_text_script(text, 4, delay=0.002)
        events = []
        for item, fld, frac in gates:
            start = text.index(json.dumps(ideas[item][fld]))
            events.append(gate_at(script, start + 1 + int(len(ideas[item][fld]) * frac)))
        self.server.add(script)
        return events

    def upstream_cut(self) -> bool:
        return bool(self.server.exchanges) and self.server.last.disconnected
