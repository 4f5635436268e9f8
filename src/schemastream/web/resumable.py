"""Resumable Server-Sent Events (``sse_response(stream, resumable=True, store=...)``).

The generation runs detached from the HTTP connection: a task on the server's event loop
encodes the stream's events and appends every SSE frame to a :class:`~.stores.StreamStore`;
each HTTP response (the first one and every resume) only reads frames from the store.

Addressing: frame ids are ``<stream id>:<n>`` (``n`` = 1, 2, 3 ... across resumes); the
stream id is 128 random bits. A client resumes by repeating the same request (method, path,
query) to any replica with ``Last-Event-ID``: the endpoint builds a new stream object as
usual, which is closed unstarted (no second model request), and the response replays the
frames after that id, then the live tail (``<stream id>:0`` replays from the start: what
the browser client sends after a page reload, when it has the id but no state; every stream
response names it in ``x-schemastream-stream: <stream id>:0``, so a client cut off before its
first event can resume too). The same request with
``x-schemastream-cancel: 1`` (and ``Last-Event-ID``) cancels the generation wherever it runs.

Failures a resuming client can get, as ``error`` events without an id:
``{"type": "expired"}`` (unknown, expired or impossible id) and ``{"type": "interrupted"}``
(the generating process stopped renewing its liveness lease). A stored stream that was
cancelled ends with ``{"type": "cancelled"}``. A resume refused by the owner check or the
``authorize`` hook gets HTTP 403 with an empty body.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._pump import EventPump, Heartbeat, message_batches
from .encoder import WireEncoder, WireMessage, format_sse, to_json_bytes
from .sse import EventStreamResponse
from .stores import Entry, MemoryStore, StreamInfo, StreamStore

__all__ = [
    "RESUMABLE_HEADER",
    "STREAM_HEADER",
    "CANCEL_HEADER",
    "ResumableEventStreamResponse",
    "default_store",
    "new_stream_id",
    "parse_event_id",
]

logger = logging.getLogger("schemastream.web")

RESUMABLE_HEADER = "x-schemastream-resumable"
#: ``<stream id>:0`` on every stream response: a client cut off before its first event still
#: knows what to resume (from the start)
STREAM_HEADER = "x-schemastream-stream"
CANCEL_HEADER = "x-schemastream-cancel"

#: Seconds one liveness lease lasts (renewed every second: an overloaded event loop may
#: renew late by up to ``LEASE - 1`` s before readers take it for dead). Readers poll at
#: most every second, so a dead generator is reported within about ``LEASE + 1`` s.
LEASE = 5.0
_RENEW = 1.0
_POLL = 1.0
_STORE_TRIES = 4  # a store call gives up after 4 tries (~1.75 s of backoff)

_ID = re.compile(r"^([0-9a-f]{32}):(0|[1-9][0-9]{0,9})$")

Authorize = Callable[[Request, StreamInfo], "bool | Awaitable[bool]"]

_running: dict[str, asyncio.Task[None]] = {}  # detached generations in this process, by id
_default_store: MemoryStore | None = None
#: Frames of the generations running in this process, for this process's readers when the
#: store is shared (Redis): they wait on memory, not one blocked ``XREAD`` connection each.
#: Durable store first, then here, so no id is sent before another replica can resume it.
_mirror = MemoryStore()
_MIRROR_GRACE = 60.0  # seconds a finished generation's frames stay in the mirror


def default_store() -> MemoryStore:
    """The process-wide in-process store used when ``store`` is not given."""
    global _default_store
    if _default_store is None:
        _default_store = MemoryStore()
    return _default_store


def new_stream_id() -> str:
    """128 random bits as 32 hex digits (never derived from the request)."""
    return secrets.token_hex(16)


def parse_event_id(value: str) -> tuple[str, int] | None:
    """``"<stream id>:<n>"`` -> ``(stream id, n)``; ``None`` when malformed."""
    m = _ID.match(value.strip())
    return (m.group(1), int(m.group(2))) if m else None


def route_key(scope: Scope) -> str:
    """What a resume must repeat: method, path and query (hashed: keys carry no request text)."""
    raw = b"%s %s?%s" % (
        scope.get("method", "GET").encode(),
        scope.get("path", "").encode(),
        scope.get("query_string", b""),
    )
    return hashlib.sha256(raw).hexdigest()[:32]


def _error_frame(kind: str, message: str) -> bytes:
    # no id: a client's Last-Event-ID stays the last stored frame
    return b"event:error\ndata:" + to_json_bytes({"type": kind, "message": message}) + b"\n\n"


EXPIRED = _error_frame("expired", "this stream is no longer available")
INTERRUPTED = _error_frame("interrupted", "the server generating this stream stopped")
UNREACHABLE = _error_frame("interrupted", "the stream store cannot be reached")


async def _retrying(call: Callable[[], Awaitable[Any]], tries: int = _STORE_TRIES) -> Any:
    """A store call, retried with backoff (a shared store can hiccup under load)."""
    for attempt in range(tries):
        try:
            return await call()
        except Exception:
            if attempt == tries - 1:
                raise
            logger.warning("stream store call failed; retrying", exc_info=True)
            await asyncio.sleep(0.25 * 2**attempt)


async def _generate(
    stream: Any,
    store: StreamStore,
    stream_id: str,
    *,
    rfc6902: bool,
    coalesce: float,
    idle_ttl: float,
    total_ttl: float,
    lease: float,
) -> None:
    """Run ``stream`` to its end (or a cancel, or ``total_ttl``), storing every frame."""
    pump = EventPump(stream)
    encoder = WireEncoder(rfc6902=rfc6902)
    count = 0
    mirrored = not isinstance(store, MemoryStore)

    async def store_messages(messages: list[WireMessage]) -> None:
        nonlocal count
        entries = []
        for i, m in enumerate(messages, count + 1):
            frame = format_sse(WireMessage(f"{stream_id}:{i}", m.event, m.data))
            entries.append(Entry(i, frame, m.event in ("final", "error")))
        await _retrying(lambda: store.append(stream_id, entries, ttl=idle_ttl))
        count += len(entries)  # only once stored: numbers stay contiguous after a failure
        if mirrored:
            await _mirror.append(stream_id, entries, ttl=idle_ttl)

    async def produce() -> None:
        pump.start()
        async for batch in message_batches(pump, encoder, heartbeat=None, coalesce=coalesce):
            if not isinstance(batch, Heartbeat):
                await store_messages(batch)

    async def keep_lease() -> None:
        while True:
            await asyncio.sleep(min(_RENEW, lease / 3))
            with contextlib.suppress(Exception):  # a missed renewal is retried next round
                await store.renew(stream_id, lease=lease)

    async def watch_cancel() -> None:
        while True:
            try:
                await store.wait_cancelled(stream_id)
                return
            except Exception:  # the store failed: that is no cancel; listen again
                logger.warning("resumable stream %s: cancel watch failed", stream_id, exc_info=True)
                await asyncio.sleep(1.0)

    producer = asyncio.ensure_future(produce())
    cancelled = asyncio.ensure_future(watch_cancel())
    renewer = asyncio.ensure_future(keep_lease())
    try:
        done, _ = await asyncio.wait(
            {producer, cancelled}, timeout=total_ttl, return_when=asyncio.FIRST_COMPLETED
        )
        if producer not in done:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            await pump.stop()
            if not encoder.finished:
                why = "cancelled" if cancelled in done else "expired"
                text = "the stream was cancelled" if why == "cancelled" else "time limit reached"
                await store_messages([WireMessage(0, "error", {"type": why, "message": text})])
        elif producer.exception() is not None:
            logger.error("resumable stream %s failed", stream_id, exc_info=producer.exception())
            if not encoder.finished:
                await store_messages([encoder.encode_error(producer.exception())])  # type: ignore[arg-type]
    except Exception:
        logger.exception("resumable stream %s: store failed", stream_id)
    finally:
        for task in (producer, cancelled, renewer):
            task.cancel()
        await pump.stop()
        for task in (producer, cancelled, renewer):
            with contextlib.suppress(BaseException):
                await task
        if mirrored:
            asyncio.get_running_loop().call_later(_MIRROR_GRACE, _mirror.drop, stream_id)


def start_generation(stream: Any, store: StreamStore, stream_id: str, **options: Any) -> None:
    task = asyncio.ensure_future(_generate(stream, store, stream_id, **options))
    _running[stream_id] = task
    task.add_done_callback(lambda _: _running.pop(stream_id, None))


def _generating_here(stream_id: str) -> bool:
    """This process runs the generation (alive whatever the lease says: a busy event loop
    can renew late, and must not make its own readers report it dead)."""
    task = _running.get(stream_id)
    return task is not None and not task.done()


class ResumableEventStreamResponse(EventStreamResponse):
    """``text/event-stream`` response for a resumable stream; see the module docstring.

    Shares :class:`~.sse.PumpedResponse`'s headers and writing; the generation is pumped by the
    same :class:`~._pump.EventPump` and :func:`~._pump.message_batches`, but into the store,
    and every response (first or resume) reads the frames back from there.
    """

    def __init__(
        self,
        stream: Any,
        *,
        store: StreamStore | None = None,
        owner: str | None = None,
        authorize: Authorize | None = None,
        rfc6902: bool = False,
        heartbeat: float | None = 15.0,
        coalesce: float = 0.05,
        idle_ttl: float = 600.0,
        total_ttl: float = 3600.0,
        lease: float = LEASE,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 0 < lease <= 5:
            raise ValueError("lease must be more than 0 and at most 5 seconds")
        super().__init__(
            stream,
            rfc6902=rfc6902,
            heartbeat=heartbeat,
            coalesce=coalesce,
            status_code=status_code,
            headers={**(headers or {}), RESUMABLE_HEADER: "1"},
        )
        self.store = store if store is not None else default_store()
        self.owner = owner
        self.authorize = authorize
        self.options: dict[str, Any] = {
            "rfc6902": rfc6902,
            "coalesce": coalesce,
            "idle_ttl": idle_ttl,
            "total_ttl": total_ttl,
            "lease": lease,
        }
        self.stream_id: str | None = None  # set once the request is served

    async def _allowed(self, request: Request, info: StreamInfo) -> bool:
        if info.route != route_key(request.scope):
            return False
        if info.owner is not None and info.owner != self.owner:
            return False
        if self.authorize is not None:
            verdict = self.authorize(request, info)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            return bool(verdict)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        last_id = request.headers.get("last-event-id")
        cancel = request.headers.get(CANCEL_HEADER) == "1"
        if last_id is None and not cancel:
            stream_id = new_stream_id()
            info = StreamInfo(stream_id, route_key(scope), self.owner)
            await self.store.create(info, ttl=self.options["idle_ttl"], lease=self.options["lease"])
            if not isinstance(self.store, MemoryStore):
                await _mirror.create(
                    info, ttl=self.options["idle_ttl"], lease=self.options["lease"]
                )
            start_generation(self.stream, self.store, stream_id, **self.options)
            self.stream_id = stream_id
            self._name_stream(stream_id)
            await self._serve(stream_id, 0, receive, send)
            return
        # A resume (or a cancel): this request's stream must not call the model again.
        await EventPump(self.stream).stop()
        parsed = parse_event_id(last_id or "")
        status = await self.store.status(parsed[0]) if parsed else None
        if parsed is None or status is None or parsed[1] > status.length:
            await self._send_only(send, EXPIRED)
            return
        if not await self._allowed(request, status.info):
            await Response(status_code=403)(scope, receive, send)
            return
        self.stream_id = parsed[0]
        if cancel:
            await self.store.cancel(parsed[0])
            await Response(status_code=204, headers={RESUMABLE_HEADER: "1"})(scope, receive, send)
            return
        self._name_stream(parsed[0])
        await self._serve(parsed[0], parsed[1], receive, send)

    def _name_stream(self, stream_id: str) -> None:
        self.raw_headers.append((STREAM_HEADER.encode(), f"{stream_id}:0".encode()))

    async def _send_only(self, send: Send, frame: bytes) -> None:
        await self._write(send, frame)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _serve(self, stream_id: str, after: int, receive: Receive, send: Send) -> None:
        # the generation runs detached: a reader that goes away stops only its own frames
        await self._until_sent_or_gone(self._send_frames(stream_id, after, send), receive)

    async def _send_frames(self, stream_id: str, after: int, send: Send) -> None:
        await self._start(send)
        loop = asyncio.get_running_loop()
        beat = self.heartbeat if self.heartbeat and self.heartbeat > 0 else None
        poll = min(_POLL, beat) if beat else _POLL
        last_write = loop.time()
        # this process's own generations are read from memory (see _mirror)
        source = _mirror if await _mirror.status(stream_id) is not None else self.store
        while True:
            try:
                entries = await _retrying(
                    lambda src=source, n=after: src.read(stream_id, n, timeout=poll)  # type: ignore[misc]
                )
            except Exception:
                logger.error("resumable stream %s: store unreachable", stream_id, exc_info=True)
                await self._write(send, UNREACHABLE)
                break
            if entries:
                after = entries[-1].n
                await self._write(send, b"".join(e.frame for e in entries))
                last_write = loop.time()
                if entries[-1].last:
                    break
                continue
            try:
                status = await _retrying(lambda src=source: src.status(stream_id))  # type: ignore[misc]
            except Exception:
                logger.error("resumable stream %s: store unreachable", stream_id, exc_info=True)
                await self._write(send, UNREACHABLE)
                break
            if status is None and source is _mirror:
                source = self.store  # the mirror let go of it: the store has every frame
                continue
            if status is None:
                await self._write(send, EXPIRED)
                break
            if status.length > after:
                continue  # arrived after the read timed out
            if status.ended:
                break  # the client already has the terminal frame
            if not status.alive and not _generating_here(stream_id):
                await self._write(send, INTERRUPTED)
                break
            if beat and loop.time() - last_write >= beat:
                await self._write(send, self.render_heartbeat())
                last_write = loop.time()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def cancel_stream(store: StreamStore, event_id: str) -> bool:
    """Cancel the generation that ``event_id`` (any id it sent) belongs to, wherever it runs.

    For server code that has already checked the caller; returns ``False`` for an unknown id.
    """
    parsed = parse_event_id(event_id)
    if parsed is None or await store.status(parsed[0]) is None:
        return False
    await store.cancel(parsed[0])
    return True
