"""The streams users iterate: :class:`Stream` (sync) and :class:`AsyncStream` (async).

Both are thin IO shells around :class:`~schemastream.core.StreamDriver`: they open the
provider stream, hand each delta to the driver, yield its events, close the upstream
response the moment the driver has decided (fail fast, budget reached, user closed), and
re-open it when the driver asks for a retry. All decisions live in the driver.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

from .contract import AsyncDeltaStream, DeltaStream
from .core import RETRYABLE, StreamDriver
from .errors import StreamClosed as StreamClosed
from .events import FinalEvent, ItemEvent, PartialEvent, StreamEvent
from .jsonstream.events import Path
from .patch import split_path as _path
from .policies import FieldState
from .telemetry import Telemetry, aobserve, observe
from .usage import CallUsage

T = TypeVar("T")


class _StreamState(Generic[T]):
    """Read-only state shared by both shells."""

    _driver: StreamDriver

    @property
    def partial(self) -> Any:
        """The latest partial snapshot (the final value once complete)."""
        return self._driver.final if self._driver.done else self._driver.partial

    @property
    def completed_items(self) -> list[Any]:
        """List items completed and validated so far (list response models)."""
        return list(self._driver.session.completed_items)

    @property
    def raw_text(self) -> str:
        """The model's text so far, in the current attempt."""
        return self._driver.raw_text

    @property
    def reasoning_text(self) -> str:
        """The model's reasoning so far (the :class:`~schemastream.events.ReasoningEvent`
        texts), in the current attempt."""
        return self._driver.reasoning_text

    @property
    def prose_text(self) -> str:
        """Text the model wrote beside the object so far (the
        :class:`~schemastream.events.TextEvent` texts), in the current attempt; never part of
        :attr:`raw_text`."""
        return self._driver.prose_text

    @property
    def usage(self) -> CallUsage | None:
        """Tokens and cost so far, summed over attempts (``.attempts`` has each); ``.partial``
        when an attempt was cut (closed, failed fast, ``max_items``) before the provider's
        final count. ``None`` while the provider has reported none."""
        return self._driver.usage

    @property
    def restarts(self) -> int:
        """How many times the stream restarted after a validation failure (retries)."""
        return self._driver.restarts

    @property
    def done(self) -> bool:
        return self._driver.done

    def is_complete(self, path: Path | str) -> bool:
        """Whether the value at ``path`` is final: ``(0, "title")``, ``"0.title"`` or ``"/0/title"``."""
        return self._driver.session.is_complete(_path(path))

    def field_state(self, path: Path | str) -> FieldState:
        """``"pending"``, ``"streaming"`` or ``"done"`` for the value at ``path`` (as for
        :meth:`is_complete`)."""
        return self._driver.session.field_state(_path(path))


class Stream(_StreamState[T]):
    """A sync structured-output stream. Iterate it for partial objects."""

    def __init__(self, driver: StreamDriver, telemetry: Telemetry | None = None) -> None:
        self._driver = driver
        self._telemetry = telemetry
        self._gen: Iterator[StreamEvent] | None = None
        self._upstream: DeltaStream | None = None
        self._closed = threading.Event()

    def _run(self) -> Iterator[StreamEvent]:
        driver = self._driver
        while not self._closed.is_set():
            upstream = self._upstream = driver.provider.open_stream(driver.request)
            try:
                if self._closed.is_set():  # close() came while the request was in flight
                    return
                for delta in upstream:
                    if self._closed.is_set():
                        return
                    yield from driver.on_delta(delta)
                    if driver.stop_reading:
                        upstream.close()
                        break
                yield from driver.on_end()
                return
            except RETRYABLE as exc:
                upstream.close()
                if self._closed.is_set():
                    return
                restart = driver.on_failure(exc)
                if restart is None:
                    raise
                yield restart
            except Exception:
                if self._closed.is_set():
                    return  # the read failed because close() cut the connection
                raise
            finally:
                upstream.close()

    def events(self, partials: bool = True) -> Iterator[StreamEvent]:
        """All events (partials with patch ops, completed items, reasoning and prose beside
        the object, restarts, final). Plain iteration and :meth:`iter_items` skip reasoning
        and prose; iterate this to read both without callbacks.

        ``partials=False``: ``PartialEvent.partial`` is ``None`` (the ops are all there), for
        consumers of patch ops only: no snapshot is built, so the cost per character stays
        flat however long a string grows. Decided by the first call."""
        if self._gen is None:
            self._driver.set_partials(partials)
            # the one seam where hooks and OpenTelemetry see a call (schemastream.telemetry)
            obs = self._telemetry.observation(self._driver) if self._telemetry else None
            self._gen = observe(self._run(), obs) if obs is not None else self._run()
        return self._gen

    def __iter__(self) -> Iterator[Any]:
        last: Any = None
        for event in self.events():
            if isinstance(event, PartialEvent):
                last = event.partial
                yield last
            elif isinstance(event, FinalEvent) and event.value != last:
                yield event.value

    def iter_items(self) -> Iterator[Any]:
        """Each completed list item, once, as soon as it is validated."""
        for event in self.events(partials=False):
            if isinstance(event, ItemEvent):
                yield event.item

    def get_final_response(self) -> T:
        """Read to the end and return the validated final value."""
        for _ in self.events(partials=False):
            pass
        if not self._driver.done:
            raise StreamClosed("the stream was closed before the final value was complete")
        return self._driver.final  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop: closes the upstream HTTP response at once. Safe from another thread."""
        self._closed.set()
        if self._upstream is not None:
            self._upstream.close()
        if self._gen is not None:
            try:
                self._gen.close()  # type: ignore[attr-defined]
            except ValueError:
                pass  # running in another thread: it stops at its next step

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStream(_StreamState[T]):
    """The async twin of :class:`Stream`: ``async for``, ``await get_final_response()``."""

    def __init__(self, driver: StreamDriver, telemetry: Telemetry | None = None) -> None:
        self._driver = driver
        self._telemetry = telemetry
        self._gen: AsyncIterator[StreamEvent] | None = None
        self._upstream: AsyncDeltaStream | None = None
        self._closed = False

    async def _run(self) -> AsyncIterator[StreamEvent]:
        driver = self._driver
        while not self._closed:
            upstream = self._upstream = await driver.provider.aopen_stream(driver.request)
            try:
                if self._closed:  # aclose() came while the request was in flight
                    return
                async for delta in upstream:
                    if self._closed:
                        return
                    for event in driver.on_delta(delta):
                        yield event
                    if driver.stop_reading:
                        await upstream.aclose()
                        break
                for event in driver.on_end():
                    yield event
                return
            except RETRYABLE as exc:
                await upstream.aclose()
                if self._closed:
                    return
                restart = driver.on_failure(exc)
                if restart is None:
                    raise
                yield restart
            except Exception:
                if self._closed:
                    return
                raise
            finally:
                await upstream.aclose()

    def events(self, partials: bool = True) -> AsyncIterator[StreamEvent]:
        """As :meth:`Stream.events`."""
        if self._gen is None:
            self._driver.set_partials(partials)
            obs = self._telemetry.observation(self._driver) if self._telemetry else None
            self._gen = aobserve(self._run(), obs) if obs is not None else self._run()
        return self._gen

    async def __aiter__(self) -> AsyncIterator[Any]:
        last: Any = None
        async for event in self.events():
            if isinstance(event, PartialEvent):
                last = event.partial
                yield last
            elif isinstance(event, FinalEvent) and event.value != last:
                yield event.value

    async def iter_items(self) -> AsyncIterator[Any]:
        async for event in self.events(partials=False):
            if isinstance(event, ItemEvent):
                yield event.item

    async def get_final_response(self) -> T:
        async for _ in self.events(partials=False):
            pass
        if not self._driver.done:
            raise StreamClosed("the stream was closed before the final value was complete")
        return self._driver.final  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop: closes the upstream HTTP response at once."""
        self._closed = True
        if self._upstream is not None:
            await self._upstream.aclose()
        if self._gen is not None:
            try:
                await self._gen.aclose()  # type: ignore[attr-defined]
            except RuntimeError:
                pass  # running in another task: it stops at its next step

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
