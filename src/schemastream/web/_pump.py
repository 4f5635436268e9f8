"""Runs a stream's events into an asyncio queue, off the event loop for sync streams.

A sync ``ss.Stream`` is iterated in a worker thread (never on the event loop); an
``ss.AsyncStream`` in a task. ``stop()`` closes the stream -- which closes the upstream
model request -- from outside the producer, so a worker blocked on a network read is
interrupted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from ..errors import IncompleteOutputError
from ..events import StreamEvent
from .encoder import WireEncoder, WireMessage

logger = logging.getLogger("schemastream.web")

Kind = Literal["event", "error", "end"]
Item = tuple[Kind, Any]

_CLOSE_WAIT = 2.0  # seconds to wait for a stream's close() before giving up on it


def _events_of(stream: Any) -> Any:
    events = getattr(stream, "events", None)
    if not callable(events):
        return stream
    # the wire carries patch ops only: no snapshots to build (flat cost per character)
    if "partials" in inspect.signature(events).parameters:
        return events(partials=False)
    return events()


def _is_async(stream: Any, source: Any) -> bool:
    return hasattr(source, "__anext__") or (
        hasattr(source, "__aiter__") and not hasattr(source, "__next__")
    )


class EventPump:
    """Producer side: events of ``stream`` (or any (async) iterable of events) -> a queue."""

    def __init__(self, stream: Any, *, maxsize: int = 256) -> None:
        self.stream = stream
        self.maxsize = maxsize
        self.queue: asyncio.Queue[Item] = asyncio.Queue()
        self._cancelled = threading.Event()
        self._slots = threading.Semaphore(maxsize)  # backpressure on the worker thread
        self._aslots: asyncio.Semaphore | None = None  # ... or on the producer task
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._ended = False
        self._is_async = False

    # -- producer --------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            source = _events_of(self.stream)
        except Exception as exc:  # reported as an error event, like a failure mid-stream
            self.queue.put_nowait(("error", exc))
            self.queue.put_nowait(("end", None))
            return
        self._is_async = _is_async(self.stream, source)
        if self._is_async:
            self._aslots = asyncio.Semaphore(self.maxsize)
            self._task = asyncio.ensure_future(self._run_async(source))
        else:
            self._thread = threading.Thread(
                target=self._run_sync, args=(source,), name="schemastream-web", daemon=True
            )
            self._thread.start()

    async def _run_async(self, source: Any) -> None:
        try:
            iterator: AsyncIterator[StreamEvent] = source.__aiter__()
            assert self._aslots is not None
            async for ev in iterator:
                await self._aslots.acquire()
                self.queue.put_nowait(("event", ev))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.queue.put_nowait(("error", exc))
        finally:
            self.queue.put_nowait(("end", None))

    def _post(self, item: Item) -> bool:
        loop = self._loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is gone
            return False
        return True

    def _run_sync(self, source: Any) -> None:
        try:
            iterator: Iterator[StreamEvent] = iter(source)
            for ev in iterator:
                while not self._slots.acquire(timeout=0.1):
                    if self._cancelled.is_set():
                        return
                if self._cancelled.is_set() or not self._post(("event", ev)):
                    return
        except BaseException as exc:
            if not self._cancelled.is_set():
                self._post(("error", exc))
        finally:
            self._post(("end", None))
            if self._cancelled.is_set():
                self._close_sync()

    # -- consumer --------------------------------------------------------------------------
    async def get(self, timeout: float | None) -> Item:
        """Next item; raises ``TimeoutError`` after ``timeout`` seconds of silence."""
        if timeout is None:
            item = await self.queue.get()
        else:
            item = await asyncio.wait_for(self.queue.get(), timeout)
        self._taken(item)
        return item

    def get_nowait(self) -> Item | None:
        try:
            item = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self._taken(item)
        return item

    def _taken(self, item: Item) -> None:
        if item[0] == "event":
            if self._aslots is not None:
                self._aslots.release()
            else:
                self._slots.release()
        elif item[0] == "end":
            self._ended = True

    # -- shutdown --------------------------------------------------------------------------
    def _close_sync(self) -> None:
        close = getattr(self.stream, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing must never raise into the server
                logger.debug("stream.close() failed", exc_info=True)

    async def stop(self) -> None:
        """Stop producing and close the stream (and so the upstream request). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._cancelled.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._task), _CLOSE_WAIT)
        aclose = getattr(self.stream, "aclose", None)
        never_started = self._task is None and self._thread is None
        if (self._is_async or never_started) and callable(aclose):
            try:
                result = aclose()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, _CLOSE_WAIT)
            except Exception:
                logger.debug("stream.aclose() failed", exc_info=True)
            return
        if callable(getattr(self.stream, "close", None)):
            # From a helper thread: a worker blocked on a network read is not interrupted by
            # a flag, but closing the HTTP response under it is.
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(None, self._close_sync)
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(fut), _CLOSE_WAIT)


class Heartbeat:
    """Marker: nothing arrived for ``heartbeat`` seconds."""


HEARTBEAT = Heartbeat()


async def next_batch(
    pump: EventPump, *, heartbeat: float | None, coalesce: float, last_flush: float
) -> list[Item] | Heartbeat:
    """Wait for the next item, then take every item already queued with it.

    With ``coalesce > 0`` the batch is held until ``coalesce`` seconds after the previous
    flush (``last_flush``, loop time), collecting what arrives meanwhile: at most one
    message burst per ``coalesce`` seconds, and never more than ``coalesce`` extra latency.
    """
    try:
        first = await pump.get(heartbeat if heartbeat and heartbeat > 0 else None)
    except (asyncio.TimeoutError, TimeoutError):
        return HEARTBEAT
    batch = [first]
    if first[0] != "end" and coalesce > 0:
        loop = asyncio.get_running_loop()
        wait = last_flush + coalesce - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
    while batch[-1][0] != "end":
        item = pump.get_nowait()
        if item is None:
            break
        batch.append(item)
    return batch


async def message_batches(
    pump: EventPump, encoder: WireEncoder, *, heartbeat: float | None, coalesce: float
) -> AsyncIterator[list[WireMessage] | Heartbeat]:
    """Wire messages for ``pump``'s events, a burst at a time, until final/error/end."""
    loop = asyncio.get_running_loop()
    last_flush = loop.time()
    while not encoder.finished:
        batch = await next_batch(
            pump, heartbeat=heartbeat, coalesce=coalesce, last_flush=last_flush
        )
        if isinstance(batch, Heartbeat):
            yield batch
            continue
        messages = encoder.encode(value for kind, value in batch if kind == "event")
        for kind, value in batch:
            if kind == "error" and not encoder.finished:
                messages.append(encoder.encode_error(value))
        if not encoder.finished and batch[-1][0] == "end":
            # The stream ended without a final value or an error.
            messages.append(encoder.encode_error(IncompleteOutputError("the stream ended early")))
        if messages:
            yield messages
            last_flush = loop.time()
