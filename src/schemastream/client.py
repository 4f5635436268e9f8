"""The user-facing clients: the seed's ``client.responses.stream(...)`` and Instructor's
``client.chat.completions.create*`` surface, the same on every provider.

Only this module maps a call onto a provider; the providers themselves only shape requests
and read their wire format (see :mod:`schemastream.providers.base`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar, get_origin

from .core import Granularity, StreamDriver
from .errors import ConfigurationError
from .events import ItemEvent
from .jsonstream import MAX_DEPTH
from .providers import registry
from .providers.base import Mode, Provider
from .schema import ResponseSpec
from .stream import AsyncStream, Stream
from .telemetry import Telemetry

T = TypeVar("T")

#: Per-call options that belong to schemastream, not to the provider's request.
_STREAM_OPTIONS = (
    "max_items",
    "max_retries",
    "debounce",
    "granularity",
    "max_depth",
    "max_size",
    "context",
    "validation_context",  # Instructor's name for it
)


class _Base:
    def __init__(
        self,
        provider: Provider,
        *,
        mode: Mode | None = None,
        model: str | None = None,
        instrument: bool = False,
    ) -> None:
        self.provider = provider
        self.mode = mode
        self.default_model = model
        self.telemetry = Telemetry(instrument=instrument)

    def on(self, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``fn`` on ``"request"`` (the provider request), ``"partial"`` (each snapshot),
        ``"item"`` (each validated item), ``"restart"``, ``"error"`` (the exception) or
        ``"final"`` (the value), for every call of this client. Returns ``fn``."""
        return self.telemetry.hooks.on(name, fn)

    def _driver(
        self, responses_api: bool, response_model: Any, kwargs: dict[str, Any]
    ) -> StreamDriver:
        if response_model is None:
            raise TypeError("response_model is required (a pydantic model, list[Model], ...)")
        mode = kwargs.pop("mode", None) or self.mode
        if mode is None:
            mode = (
                self.provider.default_responses_mode
                if responses_api
                else self.provider.default_mode
            )
        mode = Mode(mode)
        options = {k: kwargs.pop(k) for k in _STREAM_OPTIONS if k in kwargs}
        kwargs.pop("stream", None)
        if self.default_model and not kwargs.get("model"):
            kwargs["model"] = self.default_model
        if options.get("max_items") is not None and self.provider.capabilities.max_items:
            kwargs["max_items"] = options["max_items"]  # e.g. the local grammar can enforce it
        spec = ResponseSpec.from_type(response_model)
        request = self.provider.build_request(spec, mode, kwargs)
        granularity: Granularity = options.get("granularity", "change")
        return StreamDriver(
            self.provider,
            spec,
            request,
            max_retries=int(options.get("max_retries") or 0),
            max_items=options.get("max_items"),
            granularity=granularity,
            debounce=options.get("debounce"),
            max_depth=int(options.get("max_depth") or MAX_DEPTH),
            max_size=options.get("max_size"),
            context=options.get("context", options.get("validation_context")),
        )


# --- sync ---------------------------------------------------------------------------------
class _Responses:
    def __init__(self, client: Client) -> None:
        self._client = client

    def stream(self, *, response_model: Any, **kwargs: Any) -> Stream[Any]:
        """Stream partial objects of ``response_model``; ``get_final_response()`` for the whole."""
        return Stream(self._client._driver(True, response_model, kwargs), self._client.telemetry)

    def create(self, *, response_model: Any, **kwargs: Any) -> Any:
        """The validated ``response_model`` (streamed underneath, so fail-fast still applies)."""
        with self.stream(response_model=response_model, **kwargs) as stream:
            return stream.get_final_response()


class _Completions:
    def __init__(self, client: Client) -> None:
        self._client = client

    def _stream(self, response_model: Any, kwargs: dict[str, Any]) -> Stream[Any]:
        return Stream(self._client._driver(False, response_model, kwargs), self._client.telemetry)

    def create(self, *, response_model: Any, stream: bool = False, **kwargs: Any) -> Any:
        """``T``; with ``stream=True``: each item of a ``list[T]`` once, else partials."""
        if stream:
            if get_origin(response_model) is list:
                return self._iter_items(self._stream(response_model, kwargs))
            return self._iter_partials(self._stream(response_model, kwargs))
        with self._stream(response_model, kwargs) as s:
            return s.get_final_response()

    def create_partial(self, *, response_model: Any, **kwargs: Any) -> Iterator[Any]:
        """Partial objects as the model writes, the validated value last."""
        return self._iter_partials(self._stream(response_model, kwargs))

    def create_iterable(self, *, response_model: Any, **kwargs: Any) -> Iterator[Any]:
        """Each completed ``response_model`` instance once (the model writes a list of them)."""
        return self._iter_items(self._stream(list[response_model], kwargs))  # type: ignore[valid-type]

    def create_with_stream(self, *, response_model: Any, **kwargs: Any) -> Stream[Any]:
        return self._stream(response_model, kwargs)

    @staticmethod
    def _iter_partials(stream: Stream[Any]) -> Iterator[Any]:
        with stream:
            yield from stream

    @staticmethod
    def _iter_items(stream: Stream[Any]) -> Iterator[Any]:
        with stream:
            for event in stream.events(partials=False):
                if isinstance(event, ItemEvent):
                    yield event.item


class _Chat:
    def __init__(self, completions: Any) -> None:
        self.completions = completions


class Client(_Base):
    """Sync client: ``client.responses.stream(...)``, ``client.chat.completions.create*``."""

    def __init__(
        self,
        provider: Provider,
        *,
        mode: Mode | None = None,
        model: str | None = None,
        instrument: bool = False,
    ) -> None:
        super().__init__(provider, mode=mode, model=model, instrument=instrument)
        if not provider.supports_sync:
            raise TypeError("this SDK client is async: use schemastream.AsyncClient")
        self.responses = _Responses(self)
        self.chat = _Chat(_Completions(self))

    def stream(self, *, response_model: Any, **kwargs: Any) -> Stream[Any]:
        return self.responses.stream(response_model=response_model, **kwargs)

    def create(self, *, response_model: Any, **kwargs: Any) -> Any:
        return self.chat.completions.create(response_model=response_model, **kwargs)


# --- async --------------------------------------------------------------------------------
class _AsyncResponses:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def stream(self, *, response_model: Any, **kwargs: Any) -> AsyncStream[Any]:
        return AsyncStream(
            self._client._driver(True, response_model, kwargs), self._client.telemetry
        )

    async def create(self, *, response_model: Any, **kwargs: Any) -> Any:
        async with self.stream(response_model=response_model, **kwargs) as stream:
            return await stream.get_final_response()


class _AsyncCompletions:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _stream(self, response_model: Any, kwargs: dict[str, Any]) -> AsyncStream[Any]:
        return AsyncStream(
            self._client._driver(False, response_model, kwargs), self._client.telemetry
        )

    async def create(self, *, response_model: Any, stream: bool = False, **kwargs: Any) -> Any:
        if stream:
            if get_origin(response_model) is list:
                return self._iter_items(self._stream(response_model, kwargs))
            return self._iter_partials(self._stream(response_model, kwargs))
        async with self._stream(response_model, kwargs) as s:
            return await s.get_final_response()

    def create_partial(self, *, response_model: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return self._iter_partials(self._stream(response_model, kwargs))

    def create_iterable(self, *, response_model: Any, **kwargs: Any) -> AsyncIterator[Any]:
        return self._iter_items(self._stream(list[response_model], kwargs))  # type: ignore[valid-type]

    def create_with_stream(self, *, response_model: Any, **kwargs: Any) -> AsyncStream[Any]:
        return self._stream(response_model, kwargs)

    @staticmethod
    async def _iter_partials(stream: AsyncStream[Any]) -> AsyncIterator[Any]:
        async with stream:
            async for partial in stream:
                yield partial

    @staticmethod
    async def _iter_items(stream: AsyncStream[Any]) -> AsyncIterator[Any]:
        async with stream:
            async for event in stream.events(partials=False):
                if isinstance(event, ItemEvent):
                    yield event.item


class AsyncClient(_Base):
    """Async client: ``client.responses.stream(...)`` returns an :class:`AsyncStream`."""

    def __init__(
        self,
        provider: Provider,
        *,
        mode: Mode | None = None,
        model: str | None = None,
        instrument: bool = False,
    ) -> None:
        super().__init__(provider, mode=mode, model=model, instrument=instrument)
        if not provider.supports_async:
            raise TypeError("this SDK client is sync: use schemastream.Client")
        self.responses = _AsyncResponses(self)
        self.chat = _Chat(_AsyncCompletions(self))

    def stream(self, *, response_model: Any, **kwargs: Any) -> AsyncStream[Any]:
        return self.responses.stream(response_model=response_model, **kwargs)

    async def create(self, *, response_model: Any, **kwargs: Any) -> Any:
        return await self.chat.completions.create(response_model=response_model, **kwargs)


# --- constructors ---------------------------------------------------------------------------
def _wrap(
    provider: Provider, mode: Mode | None, model: str | None = None, instrument: bool = False
) -> Client | AsyncClient:
    cls = AsyncClient if provider.is_async else Client
    return cls(provider, mode=mode, model=model, instrument=instrument)


def from_openai(
    client: Any, *, mode: Mode | str | None = None, instrument: bool = False, **provider_kwargs: Any
) -> Any:
    """Wrap an ``openai.OpenAI`` (-> :class:`Client`) or ``AsyncOpenAI`` (-> :class:`AsyncClient`).

    ``instrument=True``: OpenTelemetry spans and metrics for this client's calls."""
    from .providers.openai import OpenAIProvider

    m = Mode(mode) if mode else None
    return _wrap(OpenAIProvider(client, mode=m, **provider_kwargs), m, instrument=instrument)


def from_anthropic(client: Any, *, mode: Mode | str | None = None, instrument: bool = False) -> Any:
    """Wrap an ``anthropic.Anthropic`` or ``AsyncAnthropic`` client."""
    from .providers.anthropic import AnthropicProvider

    m = Mode(mode) if mode else None
    return _wrap(AnthropicProvider(client, mode=m), m, instrument=instrument)


def from_genai(
    client: Any,
    *,
    mode: Mode | str | None = None,
    use_async: bool = False,
    instrument: bool = False,
) -> Any:
    """Wrap a ``google.genai.Client`` (or its ``.aio`` for async; or ``use_async=True``)."""
    from .providers.genai import GenAIProvider

    m = Mode(mode) if mode else None
    return _wrap(GenAIProvider(client, mode=m, use_async=use_async), m, instrument=instrument)


#: The provider names ``from_provider`` knows (see :mod:`schemastream.providers.registry`).
PROVIDERS = registry.PROVIDERS


def from_provider(
    name: str,
    *,
    async_client: bool = False,
    mode: Mode | str | None = None,
    instrument: bool = False,
    **kwargs: Any,
) -> Any:
    """Build a client from ``"provider/model"``: ``openai/gpt-4o-mini``, ``anthropic/claude-…``,
    ``google/gemini-…``, ``ollama/llama3.2``, ``vllm/…``, ``groq/…``, ``openrouter/…``, or ``local``
    (the embedded model; ``local/<path.gguf>`` for another GGUF file).
    ``instrument=True``: OpenTelemetry spans and metrics for this client's calls."""
    client = _from_provider(name, async_client=async_client, mode=mode, **kwargs)
    if instrument:
        client.telemetry = Telemetry(instrument=True)
    return client


def _from_provider(
    name: str, *, async_client: bool = False, mode: Mode | str | None = None, **kwargs: Any
) -> Any:
    """See :func:`from_provider`: the registry's entry builds the provider."""
    provider_name, _, model = name.partition("/")
    entry = registry.lookup(provider_name)
    if entry.needs_model and not model:
        raise ConfigurationError(f"name a model: {provider_name}/<model>, e.g. openai/gpt-4o-mini")
    m = Mode(mode) if mode else entry.default_mode
    provider = entry.build(model, async_client=async_client, mode=m, **kwargs)
    client = AsyncClient(provider, mode=m) if async_client else Client(provider, mode=m)
    return _named(client, model) if entry.names_model else client


def _named(client: Any, model: str) -> Any:
    client.default_model = model
    return client
