"""Where resumable streams keep their events: the store interface and the in-process store.

A store holds, per stream id: the :class:`StreamInfo` (who may resume it, for which route),
the SSE frames in order (``Entry.n`` = 1, 2, 3 ...), whether the last one was stored, a
liveness lease the generating process renews, and a cancel signal any process can raise.
:class:`MemoryStore` serves one process; :class:`~schemastream.web.redis_store.RedisStore`
serves every replica that shares a Redis.
"""

from __future__ import annotations

import abc
import asyncio
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Entry", "MemoryStore", "StreamInfo", "StreamStatus", "StreamStore"]


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a store knows about a stream besides its events (never prompt text).

    ``route`` is a hash of the request's method, path and query; ``owner`` is what the
    endpoint passed as ``sse_response(..., owner=...)`` (e.g. the session's user id).
    """

    id: str
    route: str
    owner: str | None = None
    created: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> StreamInfo:
        data: dict[str, Any] = json.loads(text)
        return cls(
            id=str(data["id"]),
            route=str(data["route"]),
            owner=data.get("owner"),
            created=float(data.get("created", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored SSE frame; ``last`` marks the terminal one (``final`` or ``error``)."""

    n: int
    frame: bytes
    last: bool = False


@dataclass(frozen=True, slots=True)
class StreamStatus:
    info: StreamInfo
    length: int  # frames stored (the last one is number ``length``)
    ended: bool  # the terminal frame is stored
    alive: bool  # the generating process renewed its lease in time


class StreamStore(abc.ABC):
    """Storage for resumable streams. Every method is a coroutine; see the module docstring."""

    @abc.abstractmethod
    async def create(self, info: StreamInfo, *, ttl: float, lease: float) -> None:
        """Register a new stream (its lease starts now)."""

    @abc.abstractmethod
    async def status(self, stream_id: str) -> StreamStatus | None:
        """``None`` for an unknown or expired stream."""

    @abc.abstractmethod
    async def append(self, stream_id: str, entries: Sequence[Entry], *, ttl: float) -> None:
        """Store frames (numbered on from the last); the stream now expires ``ttl`` s later."""

    @abc.abstractmethod
    async def read(self, stream_id: str, after: int, *, timeout: float) -> list[Entry]:
        """Frames numbered above ``after``; waits up to ``timeout`` s for one (``[]`` if none)."""

    @abc.abstractmethod
    async def renew(self, stream_id: str, *, lease: float) -> None:
        """The generating process is alive for ``lease`` more seconds."""

    @abc.abstractmethod
    async def cancel(self, stream_id: str) -> None:
        """Ask the generating process (wherever it runs) to stop."""

    @abc.abstractmethod
    async def wait_cancelled(self, stream_id: str) -> None:
        """Return once :meth:`cancel` was called for ``stream_id`` (from any process)."""

    async def aclose(self) -> None:  # noqa: B027 - optional: in-process stores hold nothing
        """Release connections (a no-op for in-process stores)."""


class _Waiter:
    """Wakes coroutines on any event loop from any thread (stores are shared across loops).
    Callers hold the store's lock around ``add`` / ``discard`` / ``wake``."""

    def __init__(self) -> None:
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def add(self) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiting.append((loop, fut))
        return fut

    def discard(self, fut: asyncio.Future[None]) -> None:
        self._waiting = [(loop, f) for loop, f in self._waiting if f is not fut]

    def wake(self) -> None:
        waiting, self._waiting = self._waiting, []
        for loop, fut in waiting:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:  # that loop is closed
                pass


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _MemStream:
    def __init__(self, info: StreamInfo, expires: float, lease_until: float) -> None:
        self.info = info
        self.entries: list[Entry] = []
        self.ended = False
        self.expires = expires
        self.lease_until = lease_until
        self.cancelled = False
        self.new_entries = _Waiter()
        self.cancel_waiters = _Waiter()


class MemoryStore(StreamStore):
    """The embedded store: one process, no set-up. Expired streams are dropped lazily."""

    def __init__(self, *, clock: Any = time.monotonic) -> None:
        self._streams: dict[str, _MemStream] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _get(self, stream_id: str) -> _MemStream | None:
        now = self._clock()
        with self._lock:
            s = self._streams.get(stream_id)
            if s is not None and s.expires <= now:
                del self._streams[stream_id]
                s.new_entries.wake()
                return None
            if len(self._streams) > 1024:  # drop other expired streams now and then
                for key in [k for k, v in self._streams.items() if v.expires <= now]:
                    del self._streams[key]
            return s

    def drop(self, stream_id: str) -> None:
        """Forget a stream now (its waiting readers wake and find it gone)."""
        with self._lock:
            s = self._streams.pop(stream_id, None)
            if s is not None:
                s.new_entries.wake()

    async def create(self, info: StreamInfo, *, ttl: float, lease: float) -> None:
        now = self._clock()
        with self._lock:
            self._streams[info.id] = _MemStream(info, now + ttl, now + lease)

    async def status(self, stream_id: str) -> StreamStatus | None:
        s = self._get(stream_id)
        if s is None:
            return None
        alive = s.lease_until > self._clock()
        return StreamStatus(s.info, len(s.entries), s.ended, alive)

    async def append(self, stream_id: str, entries: Sequence[Entry], *, ttl: float) -> None:
        s = self._get(stream_id)
        if s is None:
            return
        with self._lock:
            for e in entries:
                if e.n != len(s.entries) + 1:
                    raise ValueError(f"entry {e.n} out of order (have {len(s.entries)})")
                s.entries.append(e)
                s.ended = s.ended or e.last
            s.expires = self._clock() + ttl
            s.new_entries.wake()

    async def read(self, stream_id: str, after: int, *, timeout: float) -> list[Entry]:
        s = self._get(stream_id)
        if s is None:
            return []
        with self._lock:
            if len(s.entries) > after or timeout <= 0:
                return s.entries[after:]
            fut = s.new_entries.add()
        try:
            await asyncio.wait_for(fut, timeout)
        except (asyncio.TimeoutError, TimeoutError):
            with self._lock:
                s.new_entries.discard(fut)
            return []
        s = self._get(stream_id)
        return s.entries[after:] if s is not None else []

    async def renew(self, stream_id: str, *, lease: float) -> None:
        s = self._get(stream_id)
        if s is not None:
            s.lease_until = self._clock() + lease

    async def cancel(self, stream_id: str) -> None:
        s = self._get(stream_id)
        if s is not None:
            with self._lock:
                s.cancelled = True
                s.cancel_waiters.wake()

    async def wait_cancelled(self, stream_id: str) -> None:
        s = self._get(stream_id)
        if s is None:
            return
        with self._lock:
            if s.cancelled:
                return
            fut = s.cancel_waiters.add()
        await fut
