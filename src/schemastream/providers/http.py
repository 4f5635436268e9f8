"""The one IO shell every HTTP provider uses: a response body fed to a :class:`Decoder`.

:class:`HTTPDeltaStream` (sync) and :class:`AsyncHTTPDeltaStream` (async) read a response
body chunk by chunk, feed each chunk to the provider's sans-IO decoder and yield its deltas;
an error raised while reading goes through the provider's :class:`ErrorMap` (one table, as
httpx maps transport errors once for both its clients). ``close()`` / ``aclose()`` cut the
upstream request at once (:func:`hang_up`), also when called from another thread while a
read is blocked. A decoder that sets ``resume`` in ``finish()`` continues the response with
another request (``reopen``; Gemini's continuation hops).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderError
from .base import (
    AsyncDeltaStream,
    Decoder,
    Delta,
    DeltaStream,
    WireError,
    connection_lost,
    connection_lost_type,
    is_timeout,
    is_transport_error,
    settle_close,
    shutdown_connection,
)

__all__ = [
    "AsyncHTTPDeltaStream",
    "ErrorMap",
    "HTTPDeltaStream",
    "aiter_body",
    "hang_up",
    "iter_body",
    "sdk_lost",
]


@dataclass(frozen=True)
class ErrorMap:
    """What an error raised while reading a body becomes (one table per provider).

    - a :class:`WireError` (an error event inside a 200 stream) -> ``wire(error, response)``
      (the SDK's own ``APIStatusError`` / ``APIError``), or the ``WireError`` itself;
    - any other :class:`ProviderError` (early end, malformed event) -> itself;
    - a transport error (connection lost, read timed out) or one of ``lost_types`` (the SDK's
      own wrapper of one) -> ``lost(error, response)`` (the SDK's connection / timeout error
      that is also a ``ProviderError``, see :func:`sdk_lost`), or a plain ``ProviderError``;
    - one of ``malformed_types`` (an SDK's own parser meeting an event that is no JSON) -> a
      ``ProviderError``;
    - anything else -> itself.
    """

    provider: str
    lost: Callable[[BaseException, Any], BaseException] | None = None
    wire: Callable[[WireError, Any], BaseException] | None = None
    lost_types: tuple[type[BaseException], ...] = ()
    malformed_types: tuple[type[BaseException], ...] = ()

    def __call__(self, exc: BaseException, response: Any) -> BaseException:
        if isinstance(exc, WireError):
            return self.wire(exc, response) if self.wire is not None else exc
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, self.lost_types) or is_transport_error(exc):
            if self.lost is not None:
                return self.lost(exc, response)
            return connection_lost(self.provider, exc)
        if isinstance(exc, self.malformed_types):
            return ProviderError(f"malformed stream event: {exc}")
        return exc


def sdk_lost(
    provider: str,
    connection_error: type[BaseException],
    timeout_error: type[BaseException],
    request_of: Callable[[Any], Any],
) -> Callable[[BaseException, Any], BaseException]:
    """An :attr:`ErrorMap.lost` that raises the SDK's ``connection_error`` (``timeout_error``
    for a read timeout), each also a :class:`ProviderError` (:func:`connection_lost_type`).
    ``request_of(response)`` is the ``httpx.Request`` the SDK error carries."""

    def lost(exc: BaseException, response: Any) -> BaseException:
        sdk_own = isinstance(exc, connection_error)  # the SDK already wrapped it
        request = getattr(exc, "request", None) if sdk_own else None
        if request is None:
            request = request_of(response)
        if is_timeout(exc) or isinstance(exc, timeout_error):
            return connection_lost_type(timeout_error)(request=request)
        cause = (exc.__cause__ or exc) if sdk_own else exc
        return connection_lost_type(connection_error)(
            message=f"{provider}: the connection was lost mid-stream: {cause}", request=request
        )

    return lost


def _http(response: Any) -> Any:
    """The HTTP library's response under an SDK wrapper (``APIResponse``, ``Stream``)."""
    for attr in ("http_response", "response"):
        inner = getattr(response, attr, None)
        if inner is not None:
            return inner
    return response


def hang_up(response: Any) -> None:
    """:func:`~.base.shutdown_connection` for a response that may still be being read.

    ``close()`` may come from another thread while the reader is blocked in ``recv()``; the
    shutdown wakes it. A fully read response is left alone: its connection went back to the
    pool and stays reusable (keep-alive: no new handshake for the next call).
    """
    http = _http(response)
    if http is None or getattr(http, "is_closed", False):
        return
    try:
        shutdown_connection(http)
    except Exception:  # best effort: close() still runs
        pass


def iter_body(response: Any) -> Iterator[bytes]:
    """The body's byte chunks: httpx (under an SDK wrapper or not) or requests."""
    http = _http(response)
    if hasattr(http, "iter_bytes"):
        return iter(http.iter_bytes())
    return iter(http.iter_content(chunk_size=None))


async def aiter_body(response: Any) -> AsyncIterator[bytes]:
    """The body's byte chunks: httpx (under an SDK wrapper or not) or aiohttp."""
    http = _http(response)
    if hasattr(http, "aiter_bytes"):
        async for chunk in http.aiter_bytes():
            yield chunk
    else:  # aiohttp
        async for chunk in http.content.iter_any():
            yield chunk


async def _aclose_body(response: Any) -> None:
    close = getattr(response, "aclose", None) or response.close
    result = close()  # aiohttp's close() is sync
    if inspect.isawaitable(result):
        await result


class _Shell:
    """State of an open stream (sync or async)."""

    def __init__(
        self,
        response: Any,
        decoder: Decoder,
        errors: ErrorMap,
        *,
        chunks: Callable[[Any], Any] | None = None,
        objects: bool = False,
        on_close: Callable[[], Any] | None = None,
        reopen: Callable[[Any], Any] | None = None,
    ) -> None:
        self._response = response
        self._decoder = decoder
        self._errors = errors
        self._chunks = chunks
        # ``objects``: ``chunks`` yields already-parsed events (an SDK's own stream objects)
        self._feed = decoder.feed_event if objects else decoder.feed
        self._on_close = on_close
        self._reopen = reopen
        self._closed = False


class HTTPDeltaStream(_Shell, DeltaStream):
    """A sync response body (``response``) decoded by ``decoder``.

    ``chunks(response)`` gives the body (default :func:`iter_body`); ``on_close`` runs after the
    response is closed (the SDK's context manager exit); ``reopen(resume)`` opens the next
    response when the decoder asks to resume.
    """

    def __iter__(self) -> Iterator[Delta]:
        decoder = self._decoder
        feed = self._feed
        chunks = self._chunks or iter_body
        try:
            while True:
                response = self._response
                try:
                    for chunk in chunks(response):
                        for delta in feed(chunk):
                            yield delta
                            if self._closed:
                                return
                        if decoder.stopped:
                            break
                    if self._closed:
                        return
                    last = decoder.finish()
                except Exception as exc:
                    if self._closed:
                        return
                    err = self._errors(exc, response)
                    if err is exc:
                        raise
                    raise err from exc
                reopen = None if decoder.resume is None else self._reopen
                if reopen is None:
                    self.close()  # the body is read: close before the last deltas go out
                yield from last
                if reopen is None or self._closed:
                    return
                self._close_response()
                self._response = reopen(decoder.resume)
        finally:
            self.close()

    def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            hang_up(response)
            response.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._close_response()
        finally:
            if self._on_close is not None:
                self._on_close()


class AsyncHTTPDeltaStream(_Shell, AsyncDeltaStream):
    """Async twin of :class:`HTTPDeltaStream` (``chunks`` default :func:`aiter_body`;
    ``on_close`` and ``reopen`` may be coroutine functions)."""

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self._run()

    async def _run(self) -> AsyncIterator[Delta]:
        decoder = self._decoder
        feed = self._feed
        chunks: Callable[[Any], AsyncIterable[Any]] = self._chunks or aiter_body
        try:
            while True:
                response = self._response
                try:
                    async for chunk in chunks(response):
                        for delta in feed(chunk):
                            yield delta
                            if self._closed:
                                return
                        if decoder.stopped:
                            break
                    if self._closed:
                        return
                    last = decoder.finish()
                except Exception as exc:
                    if self._closed:
                        return
                    err = self._errors(exc, response)
                    if err is exc:
                        raise
                    raise err from exc
                reopen = None if decoder.resume is None else self._reopen
                if reopen is None:
                    await self.aclose()  # the body is read: close before the last deltas go out
                for delta in last:
                    yield delta
                if reopen is None or self._closed:
                    return
                await self._close_response()
                self._response = await _maybe_await(reopen(decoder.resume))
        finally:
            await self.aclose()

    async def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            await _aclose_body(response)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._close_response()
        finally:
            if self._on_close is not None:
                await _maybe_await(self._on_close())
            await settle_close()


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def sdk_objects(stream: Iterable[Any], to_dict: Callable[[Any], Any]) -> Iterator[Any]:
    """An SDK's own stream of event objects as wire dicts (for ``objects=True``)."""
    for obj in stream:
        yield to_dict(obj)


async def asdk_objects(
    stream: AsyncIterable[Any], to_dict: Callable[[Any], Any]
) -> AsyncIterator[Any]:
    """Async twin of :func:`sdk_objects`."""
    async for obj in stream:
        yield to_dict(obj)
