"""A small, reusable replay HTTP server for provider tests (OpenAI, Anthropic, Gemini ...).

The real SDK talks to it over HTTP on 127.0.0.1; the server plays back *scripts* in order and
records what happened, so tests can assert causality (what the client saw before the server
finished, whether it hung up) without timing assertions.

API
---
``Script`` -- one scripted HTTP response::

    Script(chunks=[b"data: {...}\\n\\n", ...])        # 200 text/event-stream, one write per chunk
    Script.json(status=500, body={"error": {...}})     # any status + JSON body (errors, non-stream)
    Script.sse(frames)                                 # frames: str/bytes/dict -> "data: ...\\n\\n"
    Script(..., delay=0.01)                            # sleep between chunks
    Script(..., gates={5: ev})                         # before chunk 5, block until ``ev`` (a
                                                       # threading.Event) is set -- or the client
                                                       # disconnects, or ``gate_timeout`` passes
    Script(..., head_gate=ev)                          # hold the status line and headers back
                                                       # until ``ev`` is set (the client is
                                                       # still inside its request call)
    Script(..., truncate_after=3)                      # send 3 chunks, then end the body cleanly
    Script(..., drop_after=3)                          # send 3 chunks, then abort the connection
                                                       # (no terminating chunk: the client sees an
                                                       # incomplete body; the socket ends in FIN)
    Script(..., reset_after=3)                         # send 3 chunks, then reset the connection
                                                       # (SO_LINGER 0 + abort: the client gets RST)

``Script(..., build=fn)``: ``fn(request_json) -> list[bytes]`` makes the chunks when the
request arrives (a reply that depends on what was asked, e.g. OpenAI's usage chunk only when
``stream_options.include_usage`` was requested); ``chunks`` holds them from then on.

``Tokens(input, output, cached=0, reasoning=0, cache_write=0)`` -- token counts the provider
builders put on the wire, each in its provider's own fields (see each builder); a plain
``(input, output)`` tuple is accepted wherever a ``Tokens`` is.

``sse_frame(data, event=None)`` builds one SSE frame (``event: X\\ndata: ...\\n\\n``); a dict is
JSON-encoded compactly. ``rechunk(bytes, n)`` splits a byte string into n-byte network writes.

``ReplayServer`` -- ``with ReplayServer() as server:`` (or the ``replay_server`` pytest
fixture) runs uvicorn (h11, asyncio loop) in a daemon thread on a free port;
``ReplayServer(http2=True)`` runs hypercorn instead, which also speaks HTTP/2 (h2c with prior
knowledge, what ``httpx.Client(http1=False, http2=True)`` sends).

    server.url                     # "http://127.0.0.1:PORT"
    server.add(script, ...)        # queue scripts; each request takes the next one (FIFO);
                                   # with none left it calls ``fallback(path, json_body)``
                                   # (a constructor argument) or answers 500 {"error": ...}
    ReplayServer(record=False)     # keep no per-request records (benchmarks)
    server.exchanges               # list[Exchange], one per request, in arrival order
    server.requests                # list of the JSON request bodies (None when not JSON)
    server.last                    # the latest Exchange
    server.wait_requests(n, timeout=5.0)  # block until n requests arrived

``Exchange`` (what one request/response did; written by the server thread):

    method, path, headers (lower-case dict), body (bytes), json (parsed body or None)
    script                         # the Script served
    client                         # (host, port) of the client's TCP connection
    sent                           # list[bytes] of chunks actually written, in order
    chunks_sent, bytes_sent        # len(sent), sum of their lengths
    total_chunks                   # chunks the script would send without truncate/drop/hang-up
    disconnected                   # True when the client hung up before the response completed
    disconnected_at                # chunks_sent when the hang-up was noticed (None if never)
    completed                      # the body was ended normally (all chunks, or truncate_after)
    dropped                        # the server aborted the connection (drop_after, reset_after)
    reset                          # ... with a TCP RST (reset_after)
    log                            # ordered list of (what, chunk index): "chunk", "gate-wait",
                                   # "gate-open", "head-wait", "head-open", "disconnect",
                                   # "end", "drop", "reset"
    done                           # threading.Event set when the handler returned
    wait_sent(n, timeout=5.0)      # block until at least n chunks were written (or handler ended)

A hang-up is detected with a task that waits for ASGI ``http.disconnect`` once the request
body has been read (uvicorn's ``send`` silently ignores writes after a disconnect), and the
server checks for it before every chunk and while waiting at a gate, so ``chunks_sent`` is
what was written before the client went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import uvicorn

Frame = str | bytes | dict[str, Any]


def sse_frame(data: Frame, event: str | None = None) -> bytes:
    """One SSE frame. ``data`` may be a dict (JSON-encoded), str or bytes (sent as is)."""
    if isinstance(data, dict):
        payload = json.dumps(data, separators=(",", ":")).encode()
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = data
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


def rechunk(data: bytes, size: int) -> list[bytes]:
    """Split ``data`` into ``size``-byte pieces (to test frames split across network reads)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


class Tokens(NamedTuple):
    """Token counts for a scripted answer. Each provider builder writes them into its own
    fields: ``output`` is what the provider reports as output (OpenAI's counts include the
    reasoning tokens, Gemini's ``candidatesTokenCount`` does not), ``cached`` the prompt tokens
    read from a cache, ``cache_write`` those written to it (Anthropic, Responses)."""

    input: int
    output: int
    cached: int = 0
    reasoning: int = 0
    cache_write: int = 0


def as_tokens(usage: tuple[int, ...] | Tokens) -> Tokens:
    """A ``Tokens`` from a ``Tokens`` or a plain ``(input, output, ...)`` tuple."""
    return usage if isinstance(usage, Tokens) else Tokens(*usage)


@dataclass
class Script:
    """One scripted response. See the module docstring."""

    chunks: list[bytes] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(
        default_factory=lambda: {"content-type": "text/event-stream", "cache-control": "no-cache"}
    )
    delay: float = 0.0
    gates: dict[int, threading.Event] = field(default_factory=dict)
    gate_timeout: float = 10.0
    head_gate: threading.Event | None = None
    truncate_after: int | None = None
    drop_after: int | None = None
    reset_after: int | None = None
    build: Callable[[Any], list[bytes]] | None = None

    def __post_init__(self) -> None:
        self.chunks = [c.encode() if isinstance(c, str) else bytes(c) for c in self.chunks]

    @classmethod
    def json(cls, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Script:
        hdrs = {"content-type": "application/json"}
        hdrs.update(headers or {})
        return cls(chunks=[json.dumps(body).encode()], status=status, headers=hdrs)

    @classmethod
    def sse(cls, frames: Iterable[Frame], **kw: Any) -> Script:
        return cls(chunks=[f if isinstance(f, bytes) else sse_frame(f) for f in frames], **kw)

    def gate(self, index: int) -> threading.Event:
        """Add (or get) a gate before chunk ``index``; returns the Event that opens it."""
        return self.gates.setdefault(index, threading.Event())


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    script: Script
    client: tuple[str, int] | None = None
    sent: list[bytes] = field(default_factory=list)
    bytes_sent: int = 0
    disconnected: bool = False
    disconnected_at: int | None = None
    completed: bool = False
    dropped: bool = False
    reset: bool = False
    log: list[tuple[str, int]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    @property
    def chunks_sent(self) -> int:
        return len(self.sent)

    @property
    def total_chunks(self) -> int:
        return len(self.script.chunks)

    def wait_sent(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self.sent) >= n or self.done.is_set(), timeout=timeout
            )

    def _note(self, what: str, index: int) -> None:
        with self._cond:
            self.log.append((what, index))
            self._cond.notify_all()


class ReplayServer:
    """Plays queued :class:`Script` objects over HTTP on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        scripts: Iterable[Script] = (),
        fallback: Callable[[str, Any], Script] | None = None,
        *,
        record: bool = True,
        http2: bool = False,
    ) -> None:
        self.http2 = http2
        self._h2_stop = threading.Event()
        self._h2_started = threading.Event()
        self._queue: deque[Script] = deque(scripts)
        self.fallback = fallback
        self.record = record
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = 0

    # -- scripting -------------------------------------------------------------------------
    def add(self, *scripts: Script) -> ReplayServer:
        with self._lock:
            self._queue.extend(scripts)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Any]:
        return [e.json for e in self.exchanges]

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]

    def wait_requests(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` requests arrived (for tests that read in a thread)."""
        deadline = time.monotonic() + timeout
        while len(self.exchanges) < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ReplayServer:
        if self.http2:
            return self._start_hypercorn()
        # proto=IPPROTO_TCP: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
        # so, and accepted sockets inherit it. With Nagle on, a reused keep-alive connection
        # held each response's body ~40 ms behind its headers (waiting for a delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            http="h11",
            loop="asyncio",
            interface="asgi3",
            lifespan="off",
            log_level="critical",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="replay"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("replay server did not start")
            time.sleep(0.005)
        return self

    def _start_hypercorn(self) -> ReplayServer:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.accesslog = config.errorlog = None
        config.graceful_timeout = 1

        async def until_stopped() -> None:
            self._h2_started.set()
            while not self._h2_stop.is_set():
                await asyncio.sleep(0.01)

        async def main() -> None:
            await serve(self._app, config, shutdown_trigger=until_stopped)  # type: ignore[arg-type]

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while True:  # listening once a connection is accepted
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("replay server (hypercorn) did not start")
            if self._h2_started.is_set():
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
                ):
                    return self
            time.sleep(0.01)

    def stop(self) -> None:
        if self.http2:
            for ex in self.exchanges:
                for ev in ex.script.gates.values():
                    ev.set()
            self._h2_stop.set()
            if self._thread is not None:
                self._thread.join(timeout=5)
            return
        if self._server is not None:
            # open every gate so handlers finish
            for ex in self.exchanges:
                for ev in ex.script.gates.values():
                    ev.set()
                if ex.script.head_gate is not None:
                    ex.script.head_gate.set()
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the ASGI app ----------------------------------------------------------------------
    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        try:
            parsed = json.loads(bytes(body)) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            script = self._queue.popleft() if self._queue else None
        if script is None and self.fallback is not None:
            script = self.fallback(scope["path"], parsed)
        if script is None:
            script = Script.json(
                {"error": {"message": "replay: no script left", "type": "server_error"}},
                status=500,
            )
        if script.build is not None:  # a reply that depends on the request
            script.chunks = list(script.build(parsed))
        ex = Exchange(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=bytes(body),
            json=parsed,
            script=script,
            client=tuple(scope["client"]) if scope.get("client") else None,  # type: ignore[arg-type]
        )
        if self.record:
            self.exchanges.append(ex)
        watcher = asyncio.ensure_future(self._watch_disconnect(receive, ex))
        try:
            await self._play(send, ex)
        finally:
            watcher.cancel()
            ex._note("end", ex.chunks_sent)
            ex.done.set()

    async def _watch_disconnect(self, receive: Any, ex: Exchange) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                if not ex.completed:
                    ex.disconnected = True
                    ex.disconnected_at = ex.chunks_sent
                    ex._note("disconnect", ex.chunks_sent)
                return

    async def _play(self, send: Any, ex: Exchange) -> None:
        s = ex.script
        if s.head_gate is not None:  # hold the status line + headers back
            ex._note("head-wait", 0)
            deadline = time.monotonic() + s.gate_timeout
            while not s.head_gate.is_set() and not ex.disconnected and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            ex._note("head-open", 0)
            if ex.disconnected:
                return
        headers = [(k.encode(), v.encode()) for k, v in s.headers.items()]
        await send({"type": "http.response.start", "status": s.status, "headers": headers})
        limit = len(s.chunks)
        if s.truncate_after is not None:
            limit = min(limit, s.truncate_after)
        if s.drop_after is not None:
            limit = min(limit, s.drop_after)
        if s.reset_after is not None:
            limit = min(limit, s.reset_after)
        for i in range(limit):
            if i and s.delay:
                await asyncio.sleep(s.delay)
            gate = s.gates.get(i)
            if gate is not None and not gate.is_set():
                ex._note("gate-wait", i)
                deadline = time.monotonic() + s.gate_timeout
                while not gate.is_set() and not ex.disconnected and time.monotonic() < deadline:
                    await asyncio.sleep(0.002)
                ex._note("gate-open", i)
            await asyncio.sleep(0)  # let the disconnect watcher run
            if ex.disconnected:
                return
            chunk = s.chunks[i]
            # Count the chunk before handing it to the transport: a fast client can read it
            # before `send` returns here, and must never see more than `chunks_sent` says.
            if self.record:
                with ex._cond:
                    ex.sent.append(chunk)
                    ex.bytes_sent += len(chunk)
                    ex.log.append(("chunk", i))
                    ex._cond.notify_all()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if ex.disconnected:  # the write may have been dropped; don't count it
                if self.record:
                    with ex._cond:
                        ex.sent.pop()
                        ex.bytes_sent -= len(chunk)
                        ex.log.remove(("chunk", i))
                        if ex.disconnected_at is not None and ex.disconnected_at > len(ex.sent):
                            at = ex.log.index(("disconnect", ex.disconnected_at))
                            ex.disconnected_at = len(ex.sent)
                            ex.log[at] = ("disconnect", ex.disconnected_at)
                return
        if s.reset_after is not None and s.reset_after <= len(s.chunks) and self._reset(ex):
            return
        if s.drop_after is not None and s.drop_after <= len(s.chunks):
            ex.dropped = True
            ex._note("drop", ex.chunks_sent)
            return  # returning without ending the body makes uvicorn abort the connection
        ex.completed = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _reset(self, ex: Exchange) -> bool:
        """Abort ``ex``'s connection with a TCP RST (uvicorn only: its connection list)."""
        state = getattr(self._server, "server_state", None)
        for conn in list(getattr(state, "connections", ())):
            transport = getattr(conn, "transport", None)
            if transport is None or getattr(conn, "client", None) != ex.client:
                continue
            sock = transport.get_extra_info("socket")
            # linger on, timeout 0: close() discards unsent data and sends RST, not FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            ex.dropped = ex.reset = True
            ex._note("reset", ex.chunks_sent)
            return True
        return False


@contextlib.contextmanager
def replay_server(*scripts: Script) -> Iterator[ReplayServer]:
    """``with replay_server(script, ...) as server:`` -- start, yield, stop."""
    server = ReplayServer(scripts).start()
    try:
        yield server
    finally:
        server.stop()


try:  # a ready-made pytest fixture: ``from tests.replay.base import replay_server_fixture``
    import pytest

    @pytest.fixture
    def replay_server_fixture() -> Iterator[ReplayServer]:
        with replay_server() as server:
            yield server

except ImportError:  # pragma: no cover - used outside pytest (bench)
    pass
