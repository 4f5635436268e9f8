"""Anthropic Messages API provider (``anthropic.Anthropic`` / ``anthropic.AsyncAnthropic``).

Modes
-----
- :attr:`Mode.TOOLS` (default): one tool named ``spec.name`` whose ``input_schema`` is the
  response schema, forced with ``tool_choice={"type": "tool", "name": ...}``. The tool input
  arrives incrementally as ``input_json_delta.partial_json`` pieces, each one a :class:`Delta`.
- :attr:`Mode.JSON_SCHEMA`: Anthropic structured outputs (``output_config.format`` with a
  ``json_schema``, transformed by the SDK's ``transform_schema``); the answer arrives
  incrementally as ``text_delta`` pieces.
- :attr:`Mode.JSON` / :attr:`Mode.MD_JSON`: the schema goes in the system prompt; the answer
  arrives incrementally as ``text_delta`` pieces (it may come wrapped in prose or a fence; the
  core parses those modes leniently).

The stream is read as raw server-sent events (``messages.with_streaming_response.create``),
decoded here with :mod:`jiter`, so no SDK model is built per event. HTTP errors are the SDK's own
exceptions (raised when the response opens); an ``event: error`` in the stream becomes the SDK's
``APIStatusError`` exactly as the SDK's own stream raises it; a stream that ends without
``message_stop`` is a :class:`~schemastream.errors.ProviderError`. ``close()`` / ``aclose()``
close the HTTP response at once.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import jiter

from ..errors import ConfigurationError, ProviderError
from .base import (
    LENIENT,
    STRICT,
    AsyncDeltaStream,
    Call,
    Capabilities,
    Delta,
    DeltaStream,
    FinishReason,
    Mode,
    Provider,
    Request,
    Shape,
    SSEJsonDecoder,
    Usage,
    WireError,
    import_sdk,
    reask_feedback,
    text_of,
    unsupported_mode,
)
from .http import AsyncHTTPDeltaStream, ErrorMap, HTTPDeltaStream, sdk_lost

if TYPE_CHECKING:
    from ..schema import ResponseSpec

__all__ = ["AnthropicProvider", "client_from_env"]

DEFAULT_MAX_TOKENS = 4096

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "tool_use": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "refusal",
}


def client_from_env(*, use_async: bool = False, **kwargs: Any) -> Any:
    """Build ``anthropic.Anthropic`` (or ``AsyncAnthropic``) from ``ANTHROPIC_API_KEY``."""
    anthropic = import_sdk("anthropic", "Anthropic", "anthropic", "anthropic")
    api_key = kwargs.pop("api_key", None) or os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        raise ConfigurationError(
            "no Anthropic API key: set the ANTHROPIC_API_KEY environment variable "
            "(or pass api_key=...)"
        )
    cls = anthropic.AsyncAnthropic if use_async else anthropic.Anthropic
    return cls(api_key=api_key, **kwargs)


# -- request shaping (sans-IO) -----------------------------------------------------------------


def _convert_content(content: Any) -> Any:
    """OpenAI-style content -> Anthropic content (string, or a list of blocks)."""
    if content is None or isinstance(content, str):
        return content or ""
    blocks: list[Any] = []
    for part in content:
        if isinstance(part, str):
            blocks.append({"type": "text", "text": part})
        elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
            blocks.append({"type": "text", "text": part.get("text", "")})
        else:  # already Anthropic-shaped (image, document, tool_result ...): pass through
            blocks.append(part)
    return blocks


def _message(msg: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style (non-system) message -> an Anthropic message."""
    role = msg.get("role", "user")
    content = msg.get("content")
    if role == "assistant":
        return {"role": "assistant", "content": _convert_content(content)}
    if role == "tool":
        return {"role": "user", "content": text_of(content)}
    return {"role": "user", "content": _convert_content(content)}


def _structured_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema in the subset Anthropic's structured outputs accept.

    Uses the SDK's own ``transform_schema`` (it moves unsupported constraints such as
    ``maxLength`` into descriptions; schemastream still enforces them while streaming).
    """
    try:
        from anthropic.lib._parse._transform import transform_schema
    except ImportError:  # pragma: no cover - older / newer SDK layout
        return schema
    return transform_schema(schema)


# -- stream decoding (sans-IO) -----------------------------------------------------------------


# What the decoder reads of each event, and the JSON kind it expects (see ``Shape``).
_EVENT = Shape({"type": str})
_USAGE = {"input_tokens": int, "output_tokens": int}
_SHAPES: dict[str, Shape] = {
    "content_block_delta": Shape(
        {"index": int, "delta": {"type": str, "partial_json": str, "text": str}}
    ),
    "content_block_start": Shape(
        {"index": int, "content_block": {"type": str, "name": str, "text": str}}
    ),
    "message_start": Shape({"message": {"usage": _USAGE}}),
    "message_delta": Shape(
        {
            "delta": {"stop_reason": str, "stop_details": {"explanation": str, "category": str}},
            "usage": _USAGE,
        }
    ),
}


class _MessageDecoder(SSEJsonDecoder):
    """Anthropic stream events -> :class:`Delta` values."""

    def __init__(self, mode: Mode, tool_name: str | None) -> None:
        super().__init__()
        self.mode = mode
        self.tool_name = tool_name
        self.block: int | None = None  # index of the content block that carries the document
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.stop_reason: str | None = None
        self.stop_details: Any = None

    def end(self) -> list[Delta]:
        if not self.stopped:
            raise ProviderError(
                "anthropic: the stream ended before message_stop "
                f"(stop_reason={self.stop_reason!r}); the response is incomplete"
            )
        return []

    def event(self, name: str | None, data: bytes) -> list[Delta]:
        if name == "ping" or not data or self.stopped:
            return []
        try:
            payload = jiter.from_json(data)
        except ValueError as exc:
            if name == "error":
                raise _error_event(data.decode("utf-8", "replace")) from exc
            raise ProviderError(f"anthropic: bad event data for {name!r}: {exc}") from exc
        _EVENT.check(payload, "anthropic", name or "stream")
        kind = name or payload.get("type")
        if kind == "error" or payload.get("type") == "error":
            raise _error_event(payload)
        shape = _SHAPES.get(kind)  # type: ignore[arg-type]
        if shape is not None:
            shape.check(payload, "anthropic", kind)  # type: ignore[arg-type]
        delta = self._event(kind, payload)
        return [] if delta is None else [delta]

    def _event(self, kind: Any, p: dict[str, Any]) -> Delta | None:
        if kind == "content_block_delta":
            if p.get("index") != self.block:
                return None
            d = p.get("delta") or {}
            dtype = d.get("type")
            if dtype == "input_json_delta" and self.mode == Mode.TOOLS:
                text = d.get("partial_json") or ""
            elif dtype == "text_delta" and self.mode != Mode.TOOLS:
                text = d.get("text") or ""
            else:
                return None
            return Delta(text=text) if text else None
        if kind == "content_block_start":
            block = p.get("content_block") or {}
            btype = block.get("type")
            if self.block is not None:
                return None
            if self.mode == Mode.TOOLS:
                if btype == "tool_use" and (
                    self.tool_name is None or block.get("name") == self.tool_name
                ):
                    self.block = p.get("index")
                    # a non-empty ``input`` at start is not used by the API when streaming
            elif btype == "text":
                self.block = p.get("index")
                text = block.get("text") or ""
                if text:
                    return Delta(text=text)
            return None
        if kind == "message_start":
            usage = (p.get("message") or {}).get("usage") or {}
            if usage.get("input_tokens") is not None:
                self.input_tokens = usage["input_tokens"]
            if usage.get("output_tokens") is not None:
                self.output_tokens = usage["output_tokens"]
            return None
        if kind == "message_delta":
            d = p.get("delta") or {}
            if d.get("stop_reason") is not None:
                self.stop_reason = d["stop_reason"]
                self.stop_details = d.get("stop_details")
            usage = p.get("usage") or {}
            if usage.get("output_tokens") is not None:
                self.output_tokens = usage["output_tokens"]
            if usage.get("input_tokens") is not None:
                self.input_tokens = usage["input_tokens"]
            return None
        if kind == "message_stop":
            self.stopped = True
            return self._final()
        return None  # content_block_stop, unknown future events

    def _final(self) -> Delta:
        usage = Usage(input_tokens=self.input_tokens, output_tokens=self.output_tokens)
        reason = _STOP_REASONS.get(self.stop_reason or "", "other")
        if self.stop_reason is None:
            reason = "stop"
        refusal = None
        if reason == "refusal":
            details = self.stop_details if isinstance(self.stop_details, dict) else {}
            refusal = (
                details.get("explanation")
                or details.get("category")
                or "the model refused (stop_reason=refusal)"
            )
        return Delta(finish_reason=reason, refusal=refusal, usage=usage)


def _error_event(body: Any) -> WireError:
    return WireError(f"anthropic: error event in the stream: {body}", body)


def _status_error(client: Any) -> Callable[[WireError, Any], BaseException]:
    """An ``event: error`` -> the SDK's own ``APIStatusError`` (as its stream raises it)."""

    def wire(err: WireError, response: Any) -> BaseException:
        make = getattr(client, "_make_status_error", None)
        http = getattr(response, "http_response", None)
        if make is not None and http is not None:
            try:
                exc = make(f"{err.body}", body=err.body, response=http)
            except Exception:  # pragma: no cover - SDK internals changed
                exc = None
            if isinstance(exc, BaseException):
                return exc
        return err

    return wire


def _errors(client: Any) -> ErrorMap:
    try:
        import anthropic
    except ImportError:  # pragma: no cover - the client came from somewhere
        return ErrorMap("anthropic", wire=_status_error(client))
    lost = sdk_lost(
        "anthropic",
        anthropic.APIConnectionError,
        anthropic.APITimeoutError,
        lambda response: response.http_response.request,
    )
    return ErrorMap("anthropic", lost=lost, wire=_status_error(client))


def _is_async_client(client: Any) -> bool:
    try:
        import anthropic
    except ImportError:  # pragma: no cover
        anthropic = None  # type: ignore[assignment]
    if anthropic is not None and isinstance(client, anthropic.AsyncAnthropic):
        return True
    if anthropic is not None and isinstance(client, anthropic.Anthropic):
        return False
    return type(client).__name__.startswith("Async")


class AnthropicProvider(Provider):
    """Anthropic Messages API. See the module docstring for what streams in each mode."""

    name = "anthropic"
    default_mode = Mode.TOOLS
    default_responses_mode = Mode.TOOLS
    supported_modes = frozenset({Mode.TOOLS, Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON})
    capabilities = Capabilities(
        modes={Mode.JSON_SCHEMA: STRICT, Mode.JSON: LENIENT, Mode.MD_JSON: LENIENT}
    )

    def __init__(self, client: Any, mode: Mode | str | None = None) -> None:
        self.client = client
        self.is_async = _is_async_client(client)
        self._params: frozenset[str] | None = None
        if mode is not None:
            mode = Mode(mode)
            if mode not in self.supported_modes:
                raise unsupported_mode(self.name, mode, self.supported_modes)
            self.default_mode = mode
            self.default_responses_mode = mode

    # -- sans-IO -------------------------------------------------------------------------------
    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        if mode not in self.supported_modes:
            raise unsupported_mode(self.name, mode, self.supported_modes)
        kw = dict(call.extra)
        if call.model is not None:
            kw["model"] = call.model
        system, messages = call.split()
        conv = [_message(m) for m in messages]
        kw["max_tokens"] = DEFAULT_MAX_TOKENS if call.max_tokens is None else call.max_tokens
        if call.stop is not None:
            kw["stop_sequences"] = call.stop
        self._move_unknown_to_extra_body(kw)
        if mode == Mode.TOOLS:
            kw["tools"] = [
                {
                    "name": spec.name,
                    "description": spec.description,
                    "input_schema": spec.json_schema,
                }
            ]
            kw["tool_choice"] = {"type": "tool", "name": spec.name}
        elif mode == Mode.JSON_SCHEMA:
            output_config = dict(kw.get("output_config") or {})
            output_config["format"] = {
                "type": "json_schema",
                "schema": _structured_output_schema(spec.json_schema),
            }
            kw["output_config"] = output_config
        else:
            system.append(spec.md_prompt() if mode == Mode.MD_JSON else spec.prompt())
        if system:
            kw["system"] = "\n\n".join(system)
        kw["messages"] = conv
        return Request(kind="messages", kwargs=kw, mode=mode, extra={"tool_name": spec.name})

    def _move_unknown_to_extra_body(self, kw: dict[str, Any]) -> None:
        """Parameters the SDK's ``messages.create`` does not take (``temperature`` in anthropic
        2.x ...) travel in ``extra_body``, so the same call works across SDK versions."""
        params = self._create_params()
        if params is None:
            return
        unknown = [k for k in kw if k not in params]
        if unknown:
            extra = dict(kw.get("extra_body") or {})
            for key in unknown:
                extra[key] = kw.pop(key)
            kw["extra_body"] = extra

    def _create_params(self) -> frozenset[str] | None:
        if self._params is None:
            try:
                sig = inspect.signature(self.client.messages.create)
            except (AttributeError, TypeError, ValueError):
                return None
            if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
                return None
            self._params = frozenset(sig.parameters)
        return self._params

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        kw = dict(request.kwargs)
        messages = list(kw.get("messages") or [])
        messages.append({"role": "assistant", "content": raw_text.rstrip() or "(no output)"})
        what = "tool input" if request.mode == Mode.TOOLS else "JSON"
        messages.append({"role": "user", "content": reask_feedback(what, error)})
        kw["messages"] = messages
        return replace(request, kwargs=kw, extra=dict(request.extra))

    def _decoder(self, request: Request) -> _MessageDecoder:
        return _MessageDecoder(Mode(request.mode), request.extra.get("tool_name"))

    # -- IO ------------------------------------------------------------------------------------
    def open_stream(self, request: Request) -> DeltaStream:
        if self.is_async:
            return super().open_stream(request)
        ctx = self.client.messages.with_streaming_response.create(stream=True, **request.kwargs)
        response = ctx.__enter__()  # HTTP errors raise the SDK's exceptions here
        return HTTPDeltaStream(response, self._decoder(request), _errors(self.client))

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        if not self.is_async:
            return await super().aopen_stream(request)
        ctx = self.client.messages.with_streaming_response.create(stream=True, **request.kwargs)
        response = await ctx.__aenter__()
        return AsyncHTTPDeltaStream(response, self._decoder(request), _errors(self.client))
