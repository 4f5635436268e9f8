"""Resumable streams on Redis (``redis`` extra): any replica serves any resume.

Keys (``prefix`` = ``"ss:"`` by default; ``<id>`` is the random stream id, so no key carries
request or prompt text):

``<prefix><id>:e``  a Redis Stream: one entry per SSE frame, entry id ``<n>-0``, fields
                    ``f`` (the frame) and ``t`` (``1`` on the terminal frame); read with
                    ``XREAD`` from ``<last n>-0``
``<prefix><id>:m``  a hash: ``info`` (:class:`StreamInfo` as JSON), ``ended``
``<prefix><id>:l``  the liveness lease: set with ``PX`` by the generating process
``<prefix><id>:c``  set on cancel (for a generator that subscribes after the cancel)
channel ``<prefix>cancel``  ``PUBLISH``-ed stream ids: one subscription per process

Every key expires ``ttl`` seconds after the last frame (``EXPIRE`` on each append).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigurationError
from .stores import Entry, StreamInfo, StreamStatus, StreamStore

__all__ = ["RedisStore"]

logger = logging.getLogger("schemastream.web")


class RedisStore(StreamStore):
    """:class:`~schemastream.web.stores.StreamStore` on Redis Streams (redis-py's asyncio client).

    ``RedisStore("redis://localhost:6379/0")``; one per process, used from one event loop
    (the server's). Every reader waiting for the live tail holds a connection while blocked
    in ``XREAD`` (at most a second at a time), so the pool allows 10,000 connections
    unless ``max_connections`` says otherwise (redis-py's default is 100).
    """

    def __init__(self, url: str, *, prefix: str = "ss:", **client_kwargs: Any) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise ConfigurationError(
                "RedisStore needs redis-py: pip install 'schemastream[redis]'"
            ) from exc
        self.url = url
        self.prefix = prefix
        client_kwargs.setdefault("max_connections", 10_000)
        self.redis = aioredis.from_url(url, **client_kwargs)
        self._channel = f"{prefix}cancel"
        self._cancel_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed: asyncio.Event | None = None

    def _key(self, stream_id: str, kind: str) -> str:
        return f"{self.prefix}{stream_id}:{kind}"

    async def create(self, info: StreamInfo, *, ttl: float, lease: float) -> None:
        meta = self._key(info.id, "m")
        ms = max(1, int(ttl * 1000))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(meta, mapping={"info": info.to_json(), "ended": 0})
            pipe.pexpire(meta, ms)
            pipe.set(self._key(info.id, "l"), 1, px=max(1, int(lease * 1000)))
            await pipe.execute()

    async def status(self, stream_id: str) -> StreamStatus | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key(stream_id, "m"))
            pipe.xlen(self._key(stream_id, "e"))
            pipe.exists(self._key(stream_id, "l"))
            meta, length, alive = await pipe.execute()
        if not meta or b"info" not in meta:
            return None
        info = StreamInfo.from_json(meta[b"info"])
        return StreamStatus(info, int(length), meta.get(b"ended") == b"1", bool(alive))

    async def append(self, stream_id: str, entries: Sequence[Entry], *, ttl: float) -> None:
        events, meta = self._key(stream_id, "e"), self._key(stream_id, "m")
        ms = max(1, int(ttl * 1000))
        async with self.redis.pipeline(transaction=True) as pipe:
            for e in entries:
                pipe.xadd(events, {"f": e.frame, "t": 1 if e.last else 0}, id=f"{e.n}-0")
                if e.last:
                    pipe.hset(meta, "ended", 1)
            pipe.pexpire(events, ms)
            pipe.pexpire(meta, ms)
            await pipe.execute()

    async def read(self, stream_id: str, after: int, *, timeout: float) -> list[Entry]:
        key = self._key(stream_id, "e")
        block = int(timeout * 1000) if timeout > 0 else None
        if block == 0:
            block = None  # BLOCK 0 would wait forever
        reply: Any = await self.redis.xread({key: f"{after}-0"}, block=block)
        out: list[Entry] = []
        for _name, items in reply or ():
            for entry_id, fields in items:
                n = int(entry_id.split(b"-", 1)[0])
                out.append(Entry(n, fields[b"f"], fields.get(b"t") == b"1"))
        return out

    async def renew(self, stream_id: str, *, lease: float) -> None:
        await self.redis.set(self._key(stream_id, "l"), 1, px=max(1, int(lease * 1000)))

    async def cancel(self, stream_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key(stream_id, "c"), 1, ex=3600)
            pipe.publish(self._channel, stream_id)
            await pipe.execute()

    async def wait_cancelled(self, stream_id: str) -> None:
        await self._ensure_listener()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._cancel_waiters.setdefault(stream_id, []).append(fut)
        try:
            # a cancel published before the subscription took effect left its flag
            if await self.redis.exists(self._key(stream_id, "c")):
                return
            await fut
        finally:
            waiters = self._cancel_waiters.get(stream_id, [])
            if fut in waiters:
                waiters.remove(fut)
            if not waiters:
                self._cancel_waiters.pop(stream_id, None)

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._subscribed = asyncio.Event()
            self._listener = asyncio.ensure_future(self._listen(self._subscribed))
        assert self._subscribed is not None
        await self._subscribed.wait()

    async def _listen(self, subscribed: asyncio.Event) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        subscribed.set()
                    elif message["type"] == "message":
                        sid = message["data"].decode()
                        for fut in self._cancel_waiters.get(sid, []):
                            if not fut.done():
                                fut.set_result(None)
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: subscribe again
                logger.warning("redis cancel subscription failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        await self.redis.aclose()
