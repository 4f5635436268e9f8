"""Server-Sent Events delivery of a stream as a Starlette / FastAPI response."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._pump import EventPump, Heartbeat, message_batches
from .encoder import WireEncoder, WireMessage, format_sse

if TYPE_CHECKING:
    from .resumable import Authorize
    from .stores import StreamStore

__all__ = ["AbortResponse", "EventStreamResponse", "PumpedResponse", "sse_response"]


class AbortResponse(Exception):
    """Raised by :meth:`PumpedResponse.render_batch` to end the response without finishing its body
    (the connection is cut, so the client's read fails instead of seeing a clean end).
    ``body``: bytes of the batch to write before the cut."""

    def __init__(self, body: bytes = b"") -> None:
        super().__init__()
        self.body = body


class PumpedResponse(Response):
    """A streaming response fed by a stream's events: the stream runs off the event loop when
    it is sync, its events are encoded into wire messages (:class:`~.encoder.WireEncoder`,
    coalesced by :func:`~._pump.message_batches`), and the stream (so the upstream model
    request) is closed as soon as the client disconnects or the response ends for any reason.

    Subclasses say how a batch of wire messages is written (:meth:`render_batch`); this is how SSE,
    AG-UI and the Vercel AI SDK protocols share one delivery path.
    """

    media_type = "text/event-stream"
    content_type = "text/event-stream; charset=utf-8"
    base_headers: Mapping[str, str] = {
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "connection": "keep-alive",
    }
    #: send the status line at once (SSE) or only with the first body bytes (so a failure
    #: before anything was written can still become an HTTP error status)
    eager_start = True

    def __init__(
        self,
        stream: Any,
        *,
        rfc6902: bool = False,
        heartbeat: float | None = 15.0,
        coalesce: float = 0.05,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.stream = stream
        self.rfc6902 = rfc6902
        self.heartbeat = heartbeat
        self.coalesce = coalesce
        self.status_code = status_code
        self.background = background
        merged = dict(self.base_headers)
        merged.update({k.lower(): v for k, v in (headers or {}).items()})
        self.init_headers(merged)
        self.body = b""
        self.bytes_sent = 0
        self.disconnected = False
        self.aborted = False
        self._started = False

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers(headers)
        ctype = self.content_type.encode()
        self.raw_headers = [
            (k, ctype if k == b"content-type" else v)
            for k, v in self.raw_headers
            if k.lower() != b"content-length"
        ]
        if not any(k == b"content-type" for k, _ in self.raw_headers):
            self.raw_headers.append((b"content-type", ctype))

    # -- what subclasses write ---------------------------------------------------------------
    def render_batch(self, batch: list[WireMessage], encoder: WireEncoder) -> bytes:
        """Body bytes for a batch of wire messages (``encoder.sent_state`` is the state after
        it). Raise :class:`AbortResponse` to cut the connection instead."""
        return b"".join(format_sse(m) for m in batch)

    def render_heartbeat(self) -> bytes:
        return b": ping\n\n"

    def render_end(self) -> bytes:
        """Bytes after the last batch (the body then ends cleanly)."""
        return b""

    def early_error(self, batch: list[WireMessage]) -> Response | None:
        """With ``eager_start = False``: a plain response for a stream that failed before any
        body bytes were written (``None`` to write the batch as usual)."""
        return None

    # -- delivery ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pump = EventPump(self.stream)
        await self._until_sent_or_gone(
            self._send_events(pump, scope, receive, send), receive, pump.stop
        )
        if self.background is not None and not self.disconnected and not self.aborted:
            await self.background()

    async def _until_sent_or_gone(
        self,
        sending: Coroutine[Any, Any, None],
        receive: Receive,
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Run ``sending`` until it ends or the client disconnects, whichever comes first;
        then ``stop`` (closes the stream, so the model call) and re-raise what ``sending``
        raised (a dropped connection's ``OSError`` aside)."""
        sender = asyncio.ensure_future(sending)
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            if stop is not None:
                await stop()
            for task in (sender, watcher):
                with contextlib.suppress(BaseException):
                    await task
        if sender.done() and not sender.cancelled():
            exc = sender.exception()
            if exc is not None and not isinstance(exc, OSError):
                raise exc

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return

    async def _start(self, send: Send) -> None:
        if not self._started:
            self._started = True
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )

    async def _send_events(
        self, pump: EventPump, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if self.eager_start:
            await self._start(send)
        pump.start()
        encoder = WireEncoder(rfc6902=self.rfc6902)
        batches = message_batches(pump, encoder, heartbeat=self.heartbeat, coalesce=self.coalesce)
        async for batch in batches:
            if isinstance(batch, Heartbeat):
                ping = self.render_heartbeat()
                if ping and self._started:
                    await self._write(send, ping)
                continue
            if not self._started:
                early = self.early_error(batch)
                if early is not None:
                    self._started = True
                    await early(scope, receive, send)
                    return
            try:
                body = self.render_batch(batch, encoder)
            except AbortResponse as abort:
                # Returning without the final body message makes the server cut the
                # connection: the client's read fails (no clean end to mistake for a result).
                self.aborted = True
                if abort.body:
                    await self._write(send, abort.body)
                await self._start(send)
                return
            if body:
                await self._write(send, body)
        await self._start(send)
        tail = self.render_end()
        if tail:
            await self._write(send, tail)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, body: bytes) -> None:
        await self._start(send)
        self.bytes_sent += len(body)
        await send({"type": "http.response.body", "body": body, "more_body": True})


class EventStreamResponse(PumpedResponse):
    """``text/event-stream`` response that delivers a stream's events (see :mod:`.encoder`).

    Runs the stream off the event loop when it is sync, sends ``: ping`` comments while
    the model is silent, and closes the stream (so the upstream model request) as soon as
    the client disconnects or the response ends for any reason.
    """


def sse_response(
    stream: Any,
    *,
    rfc6902: bool = False,
    heartbeat: float | None = 15.0,
    coalesce: float = 0.05,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    resumable: bool = False,
    store: StreamStore | None = None,
    owner: str | None = None,
    authorize: Authorize | None = None,
    idle_ttl: float = 600.0,
    total_ttl: float = 3600.0,
) -> Response:
    """Deliver ``stream`` (``ss.Stream``, ``ss.AsyncStream`` or any (async) iterable of
    :data:`~schemastream.events.StreamEvent`) as Server-Sent Events.

    ``rfc6902=True`` sends strict RFC 6902 ops (``append`` rewritten as ``replace``).
    ``heartbeat``: seconds of silence before a ``: ping`` comment (``None`` disables).
    ``coalesce``: at most one burst of messages per this many seconds (``0`` sends each
    event as soon as it is ready; events already queued are always merged).

    ``resumable=True`` (see :mod:`schemastream.web.resumable`): the generation runs detached
    from the connection and stores every frame in ``store`` (the in-process store by
    default; :class:`~schemastream.web.RedisStore` for several replicas), so a client that
    repeats the request with ``Last-Event-ID`` gets the rest. ``owner`` binds the stream to
    a user (a resume whose endpoint passes another owner gets 403); ``authorize(request,
    info)`` may refuse a resume too. ``idle_ttl``: seconds the frames stay after the last
    one; ``total_ttl``: the generation is cancelled after this many seconds.
    """
    if resumable:
        from .resumable import ResumableEventStreamResponse

        return ResumableEventStreamResponse(
            stream,
            store=store,
            owner=owner,
            authorize=authorize,
            rfc6902=rfc6902,
            heartbeat=heartbeat,
            coalesce=coalesce,
            idle_ttl=idle_ttl,
            total_ttl=total_ttl,
            status_code=status_code,
            headers=headers,
        )
    return EventStreamResponse(
        stream,
        rfc6902=rfc6902,
        heartbeat=heartbeat,
        coalesce=coalesce,
        status_code=status_code,
        headers=headers,
    )
