"""The contract between the streaming core and one provider.

A provider does two sans-IO things (shape the request for a mode; shape a re-ask after a
validation failure) and one IO thing (open the stream and turn wire events into
:class:`Delta` values). Everything else (parsing, validation, partials, retries, budgets)
lives once in the core and in :mod:`schemastream.stream`.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

# re-exported: the provider modules import the shared types from here
from ..contract import AsyncDeltaStream as AsyncDeltaStream
from ..contract import Delta as Delta
from ..contract import DeltaStream as DeltaStream
from ..contract import FinishReason as FinishReason
from ..contract import Mode as Mode
from ..contract import Request as Request
from ..contract import Usage as Usage
from ..errors import ConfigurationError, ProviderError, StreamValidationError
from ._sse import SSEDecoder
from .call import Call as Call
from .call import text_of as text_of

if TYPE_CHECKING:
    from ..schema import ResponseSpec


@dataclass(frozen=True)
class ModeCapabilities:
    """What one provider does in one mode (more facts per mode join here)."""

    #: the answer may come wrapped in prose or a ``json`` fence: the core parses it leniently
    lenient: bool = False
    #: the object arrives in pieces while the model writes (partials grow); False: in one piece
    incremental: bool = True
    #: the provider holds the model to the schema while it generates (strict / constrained)
    constrained: bool = False
    #: the stream reports token usage
    usage: bool = True
    #: the model's reasoning (thinking, a reasoning summary) is streamed as ``Delta.reasoning``
    reasoning: bool = False
    #: several tool calls in one response, one item each (``Mode.PARALLEL_TOOLS``)
    parallel: bool = False
    #: text the model writes beside the object is streamed as ``Delta.prose``
    prose: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What a provider supports, declared once on its class (``Provider.capabilities``)."""

    #: one provider object serves both ``Client`` and ``AsyncClient`` (else the SDK client's
    #: kind decides: ``Provider.is_async``)
    both_apis: bool = False
    #: ``build_request`` enforces ``max_items`` (the client then passes it through)
    max_items: bool = False
    #: the schema subset the provider's strict mode takes (``json_schema`` -> its subset)
    strict_schema: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: a constrained mode samples every token under a grammar compiled from the whole JSON
    #: schema (llguidance): every keyword holds while generating, not a provider's subset
    grammar: bool = False
    #: per supported mode; a mode not listed has the defaults of :class:`ModeCapabilities`
    modes: Mapping[Mode, ModeCapabilities] = field(default_factory=dict)

    def mode(self, mode: Mode) -> ModeCapabilities:
        return self.modes.get(Mode(mode), _DEFAULT_MODE)


_DEFAULT_MODE = ModeCapabilities()
#: JSON / MD_JSON: the schema is only in the prompt; the answer may come in prose or a fence
LENIENT = ModeCapabilities(lenient=True)
#: a strict / constrained mode: the provider holds the model to the schema
STRICT = ModeCapabilities(constrained=True)


class Provider(abc.ABC):
    """One provider (OpenAI, Anthropic, Gemini, local). Holds the user's SDK client."""

    name: str = "provider"
    default_mode: Mode = Mode.TOOLS
    #: Mode used by ``client.responses.stream`` when the caller gives none.
    default_responses_mode: Mode = Mode.TOOLS
    supported_modes: frozenset[Mode] = frozenset()
    #: True when the wrapped SDK client is async (``AsyncOpenAI`` ...).
    is_async: bool = False
    capabilities: ClassVar[Capabilities] = Capabilities()

    @property
    def supports_sync(self) -> bool:
        """``Client`` can use this provider."""
        return not self.is_async or self.capabilities.both_apis

    @property
    def supports_async(self) -> bool:
        """``AsyncClient`` can use this provider."""
        return self.is_async or self.capabilities.both_apis

    def build_request(
        self, spec: ResponseSpec, mode: Mode, kwargs: dict[str, Any] | Call
    ) -> Request:
        """Shape the user's call kwargs (``model``, ``messages``, ``max_tokens`` ...) for
        ``mode``: parsed once into a :class:`Call`, then mapped by :meth:`request_for`."""
        call = kwargs if isinstance(kwargs, Call) else Call.parse(kwargs)
        mode = Mode(mode)
        request = self.request_for(spec, mode, call)
        request.lenient = self.capabilities.mode(mode).lenient
        return request

    @abc.abstractmethod
    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        """Map the normalised ``call`` to this provider's wire format for ``mode``."""

    @abc.abstractmethod
    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        """A new request that shows the model its bad output and the errors."""

    def open_stream(self, request: Request) -> DeltaStream:
        raise TypeError(f"{self.name}: this client is async; use the async API")

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        raise TypeError(f"{self.name}: this client is sync; use the sync API")


class Decoder(abc.ABC):
    """A provider's wire format, sans-IO: body bytes in, :class:`Delta` values out.

    The HTTP shell (:mod:`.http`) feeds each chunk of the response body to :meth:`feed` and
    calls :meth:`finish` once at the end of the body. ``stopped`` set: the response is over
    (the shell stops reading). ``resume`` set by :meth:`finish`: the response continues with
    another request, opened from that value (Gemini's continuation). An error event inside the
    stream raises :class:`WireError`; an early end or a malformed event a
    :class:`ProviderError`.
    """

    stopped: bool = False
    resume: Any = None

    @abc.abstractmethod
    def feed(self, chunk: bytes) -> list[Delta]:
        """The deltas that ``chunk`` completes."""

    @abc.abstractmethod
    def finish(self) -> list[Delta]:
        """The end of the body: the last deltas (the one with ``finish_reason``)."""

    def feed_event(self, event: Any) -> list[Delta]:
        """One already-parsed wire event (an SDK's own stream objects, as dicts)."""
        raise TypeError(f"{type(self).__name__} decodes bytes only")


class SSEJsonDecoder(Decoder):
    """A :class:`Decoder` for a server-sent-events body: each event's ``data`` goes to
    :meth:`event`; :meth:`end` gives the last deltas. ``tail`` sees a last line that has no
    line ending (see :meth:`SSEDecoder.finish`)."""

    tail: Callable[[bytes], bytes | None] | None = None

    def __init__(self) -> None:
        self.sse = SSEDecoder()

    def feed(self, chunk: bytes) -> list[Delta]:
        out: list[Delta] = []
        event = self.event
        for name, data in self.sse.feed(chunk):
            out += event(name, data)
        return out

    def finish(self) -> list[Delta]:
        out: list[Delta] = []
        for name, data in self.sse.finish(self.tail):
            out += self.event(name, data)
        return out + self.end()

    @abc.abstractmethod
    def event(self, name: str | None, data: bytes) -> list[Delta]:
        """One SSE event (``name`` is its ``event:`` line, ``data`` its data)."""

    @abc.abstractmethod
    def end(self) -> list[Delta]:
        """The body ended: the last deltas, or a :class:`ProviderError` if it ended early."""


class WireError(ProviderError):
    """An error event inside a 200 stream; the provider's :class:`~.http.ErrorMap` turns it
    into the SDK's own exception (``body`` is the event's error object)."""

    def __init__(self, message: str, body: Any) -> None:
        super().__init__(message)
        self.message = message
        self.body = body


def shutdown_connection(response: Any) -> None:
    """Cut the TCP connection under an httpx response (or an SDK wrapper of one) at once.

    ``close()`` from another thread does not interrupt a read blocked in that socket (the
    kernel keeps the file open until the read returns), so the upstream server would keep
    generating. ``shutdown()`` wakes the read and sends FIN. Call it before ``close()``
    in a sync ``DeltaStream.close``; harmless when the connection is already closed.
    """
    http = getattr(response, "http_response", response)
    if getattr(http, "is_closed", False):
        return  # fully read: leave the pooled keep-alive connection alone
    extensions = getattr(http, "extensions", None) or {}
    if isinstance(extensions, dict) and extensions.get("http_version") not in (None, b"HTTP/1.1"):
        # HTTP/2: the socket carries other requests too; close() resets just this stream
        return
    stream = extensions.get("network_stream") if isinstance(extensions, dict) else None
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None:
        return
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


async def settle_close() -> None:
    """Yield to the event loop once after closing an async response.

    Over aiohttp (google-genai's async default when aiohttp is installed; the SDKs'
    ``DefaultAioHttpClient``) ``close()`` only schedules the socket's close for the loop's
    next iteration. Awaiting this in ``AsyncDeltaStream.aclose`` means the FIN has gone out
    when ``aclose()`` returns, even if the caller then blocks the loop.
    """
    await asyncio.sleep(0)


# -- helpers shared by the provider modules ---------------------------------------------------


def import_sdk(module: str, provider: str, sdk: str, extra: str) -> Any:
    """``import module``, or a :class:`ConfigurationError` that names the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError(
            f"the {provider} provider needs the {sdk} SDK: pip install 'schemastream[{extra}]'"
        ) from exc


def unsupported_mode(provider: str, mode: Mode, supported: frozenset[Mode]) -> ConfigurationError:
    return ConfigurationError(
        f"{provider}: mode {mode.value!r} is not supported; use one of "
        + ", ".join(sorted(m.value for m in supported))
    )


def format_errors(error: BaseException, *, duck_typed: bool = False) -> str:
    """``error``'s validation errors as ``- loc: msg (type=...)`` lines, for a re-ask.

    Only a :class:`StreamValidationError` is listed error by error (anything else is
    ``- {error}``); with ``duck_typed`` any ``errors()`` method counts (pydantic's
    ``ValidationError`` too), and an error that lists nothing falls back on ``- {error}``.
    """
    lines: list[str] = []
    errors_fn = getattr(error, "errors", None)
    if isinstance(error, StreamValidationError) or (duck_typed and callable(errors_fn)):
        try:
            for err in error.errors():  # type: ignore[attr-defined]
                loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
                lines.append(f"- {loc}: {err.get('msg', '')} (type={err.get('type')})")
        except Exception:
            if not duck_typed:
                raise
            lines = []
        if not duck_typed:
            return "\n".join(lines)
    return "\n".join(lines or [f"- {error}"])


def reask_feedback(what: str, error: BaseException) -> str:
    """The user turn of a re-ask: ``error``'s validation errors for the model's ``what``."""
    return (
        f"Your {what} above did not validate against the schema:\n"
        f"{format_errors(error)}\n"
        "Respond again with the complete, corrected output."
    )


#: Top-level modules of the HTTP stacks the SDKs read bodies with (Anthropic, Gemini).
TRANSPORT_MODULES = frozenset(
    {"httpx", "httpx2", "httpcore", "httpcore2", "h11", "anyio", "requests", "urllib3", "aiohttp"}
)


def is_timeout(exc: BaseException) -> bool:
    """A read that timed out: httpx's ``TimeoutException``, aiohttp's ``ServerTimeoutError``
    or a bare ``TimeoutError`` (aiohttp's total timeout; ``asyncio.TimeoutError`` on 3.10)."""
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return True
    return any(c.__name__ == "TimeoutException" for c in type(exc).__mro__)


def is_transport_error(exc: BaseException, modules: frozenset[str] = TRANSPORT_MODULES) -> bool:
    """A network-level failure while reading the body (connection dropped, incomplete chunk,
    read timeout): an exception from one of the HTTP stack's ``modules``, or a timeout (aiohttp
    raises a bare ``TimeoutError`` when its total timeout passes mid-body)."""
    return type(exc).__module__.split(".")[0] in modules or is_timeout(exc)


def connection_lost(provider: str, exc: BaseException) -> ProviderError:
    """A connection lost (or a read timed out) mid-stream, as a plain :class:`ProviderError`."""
    if is_timeout(exc):
        return ProviderError(f"{provider}: the read timed out mid-stream ({exc!r})")
    return ProviderError(f"{provider}: the connection was lost mid-stream: {exc}")


_LOST_TYPES: dict[type[BaseException], type[BaseException]] = {}


def connection_lost_type(sdk_error: type[BaseException]) -> Any:
    """The SDK's ``sdk_error`` (``APIConnectionError`` or ``APITimeoutError``: what the SDK's
    users catch) that is also a :class:`ProviderError` (what the other providers raise for a
    connection lost mid-stream), in one class (``StreamConnectionLost`` / ``StreamTimeout``);
    one class per SDK error class."""
    cls = _LOST_TYPES.get(sdk_error)
    if cls is None:
        name = "StreamTimeout" if "Timeout" in sdk_error.__name__ else "StreamConnectionLost"
        cls = type(name, (sdk_error, ProviderError), {})
        _LOST_TYPES[sdk_error] = cls
    return cls


# -- event shapes ----------------------------------------------------------------------------


class _Mismatch(Exception):
    """Internal: a value of the wrong JSON kind; ``path`` grows as it propagates outwards."""

    def __init__(self, expected: str, value: Any) -> None:
        self.expected = expected
        self.value = value
        self.path: list[str | int] = []


_KIND_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    type(None): "null",
}


def json_kind(value: Any) -> str:
    """``value``'s JSON kind in words (``"a string"``, ``"an array"`` ...)."""
    return _KIND_NAMES.get(type(value), type(value).__name__)


_Check = Callable[[Any], None]


def _compile(spec: Any) -> _Check:
    if isinstance(spec, dict):
        leaves: list[tuple[str, tuple[type, ...], str]] = []
        nested: list[tuple[str, _Check]] = []
        for key, sub in spec.items():
            if isinstance(sub, (type, tuple)):
                types = sub if isinstance(sub, tuple) else (sub,)
                leaves.append((key, types, " or ".join(_KIND_NAMES[t] for t in types)))
            else:
                nested.append((key, _compile(sub)))
        leaf_items = tuple(leaves)
        nested_items = tuple(nested)

        def check_object(value: Any) -> None:
            if type(value) is not dict:
                raise _Mismatch("an object", value)
            get = value.get
            for key, types, expected in leaf_items:
                member = get(key)
                # exact types: a JSON true is no integer, and 1 is no string
                if member is not None and type(member) not in types:
                    mismatch = _Mismatch(expected, member)
                    mismatch.path.append(key)
                    raise mismatch
            for key, check in nested_items:
                member = get(key)
                if member is not None:
                    try:
                        check(member)
                    except _Mismatch as mismatch:
                        mismatch.path.insert(0, key)
                        raise

        return check_object
    if isinstance(spec, list):
        (item_spec,) = spec
        check_item = _compile(item_spec)

        def check_array(value: Any) -> None:
            if type(value) is not list:
                raise _Mismatch("an array", value)
            for i, item in enumerate(value):
                try:
                    check_item(item)  # an element is never "absent": null fails here
                except _Mismatch as mismatch:
                    mismatch.path.insert(0, i)
                    raise

        return check_array
    types = spec if isinstance(spec, tuple) else (spec,)
    expected = " or ".join(_KIND_NAMES[t] for t in types)

    def check_leaf(value: Any) -> None:
        if type(value) not in types:
            raise _Mismatch(expected, value)

    return check_leaf


def _field_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the event"


class Shape:
    """The JSON shape of one kind of wire event: each member a decoder reads, with its kind.

    ``spec`` is ``str``, ``int``, ``float``, ``bool``, ``dict`` (any object) or ``list`` (any
    array), a tuple of those (either), ``{"key": spec, ...}`` (an object; members not listed
    are not checked) or ``[spec]`` (an array of ``spec``). A listed member that is absent or
    ``null`` passes: the wire formats send ``null`` for "none", and the decoders read it so.
    The event itself and array elements must be present. Kinds are exact (``true`` is no
    integer, ``1`` no string).

    Decoders call :meth:`check` before reading an event, so a valid-JSON event of the wrong
    shape is a :class:`ProviderError` naming the event and the member, never an
    ``AttributeError`` or ``TypeError`` from deep inside the decoder; the stream that meets
    it closes the HTTP response, as for any other error.
    """

    __slots__ = ("_check",)

    def __init__(self, spec: Any) -> None:
        self._check = _compile(spec)

    def check(self, payload: Any, provider: str, event: str) -> None:
        """Raise :class:`ProviderError` if ``payload`` does not have this shape."""
        try:
            self._check(payload)
        except _Mismatch as mismatch:
            raise shape_error(
                provider, event, _field_path(mismatch.path), mismatch.value, mismatch.expected
            ) from None


def shape_error(provider: str, event: str, member: str, value: Any, expected: str) -> ProviderError:
    """The :class:`ProviderError` for an ``event`` whose ``member`` (a path such as
    ``choices[0].delta``) holds ``value``, of the wrong kind."""
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    err = ProviderError(
        f"{provider}: malformed {event} event: {member} is {json_kind(value)} ({shown}), "
        f"expected {expected}"
    )
    err.event = event
    err.field = member
    return err
