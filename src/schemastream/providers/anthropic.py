"""Anthropic Messages API provider (``anthropic.Anthropic`` / ``anthropic.AsyncAnthropic``).

Modes
-----
- :attr:`Mode.TOOLS` (default): one tool named ``spec.name`` whose ``input_schema`` is the
  response schema, forced with ``tool_choice={"type": "tool", "name": ...}``. The tool input
  arrives incrementally as ``input_json_delta.partial_json`` pieces, each one a :class:`Delta`.
- :attr:`Mode.PARALLEL_TOOLS`: one tool per member of ``list[A | B]``
  (:func:`~schemastream.schema.tools.parallel_tools`), ``tool_choice={"type": "any"}`` with
  parallel tool use left on (``disable_parallel_tool_use`` unset). Each ``tool_use`` block is
  one call, keyed by its content-block index (``Delta.call``); blocks never interleave in
  Anthropic's format, so the calls arrive one after the other, each incrementally.
- :attr:`Mode.JSON_SCHEMA`: Anthropic structured outputs (``output_config.format`` with a
  ``json_schema``, transformed by the SDK's ``transform_schema``); the answer arrives
  incrementally as ``text_delta`` pieces.
- :attr:`Mode.JSON` / :attr:`Mode.MD_JSON`: the schema goes in the system prompt; the answer
  arrives incrementally as ``text_delta`` pieces; prose around the JSON (and a fence) is split
  off as ``Delta.prose`` (:class:`~._prose.ProseSplitter`), the JSON parsed leniently.

Beside the object
-----------------
- Extended thinking (the user's ``thinking=`` argument, passed through unchanged):
  ``thinking_delta`` pieces become ``Delta.reasoning``, in every mode; a later ``thinking``
  block starts with a blank line. ``redacted_thinking`` blocks carry no readable text and add
  nothing (no marker: the reasoning text is only what the model's thinking said);
  ``signature_delta`` is not reasoning text. With thinking on, Anthropic allows only
  ``tool_choice`` ``auto`` or ``none``, so the tool modes send ``{"type": "auto"}`` and a
  system line that asks for the call(s); a model that then ends its turn without calling a
  tool raises :class:`~schemastream.errors.StreamValidationError` (type ``tool_not_called``,
  so ``max_retries`` re-asks). Without ``max_tokens``, the default is raised above
  ``budget_tokens`` (the API requires ``max_tokens > budget_tokens``).
- Text blocks beside a tool call ("I'll record that idea.") are ``Delta.prose`` (in the text
  modes, text blocks after the answer's block are); several blocks join with a blank line.
- Usage: ``message_start``'s counts are emitted at once (a stream cut later keeps them),
  ``message_delta``'s as they come. ``input_tokens`` counts every prompt token: Anthropic's
  ``input_tokens`` plus ``cache_read_input_tokens`` plus ``cache_creation_input_tokens``
  (Anthropic's own field leaves both out; :class:`Usage` counts cached tokens as part of the
  input); ``cached_input_tokens`` is ``cache_read_input_tokens``; ``reasoning_tokens`` is
  ``output_tokens_details.thinking_tokens`` where sent.

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
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import jiter

from ..errors import ConfigurationError, ProviderError, StreamValidationError
from ..schema.tools import parallel_tools
from ._prose import ProseSplitter
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
    ModeCapabilities,
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


def _thinking_enabled(thinking: Any) -> bool:
    """Whether the user's ``thinking=`` argument turns extended thinking on (any config but
    ``{"type": "disabled"}``): then Anthropic refuses a forced ``tool_choice``."""
    if not thinking:
        return False
    if isinstance(thinking, dict):
        return thinking.get("type") != "disabled"
    return getattr(thinking, "type", None) != "disabled"


def _max_tokens(given: int | None, thinking: Any) -> int:
    """The user's limit, else :data:`DEFAULT_MAX_TOKENS` above the thinking budget (the API
    requires ``max_tokens`` > ``budget_tokens``)."""
    if given is not None:
        return given
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and _thinking_enabled(thinking):
        return budget + DEFAULT_MAX_TOKENS
    return DEFAULT_MAX_TOKENS


# -- stream decoding (sans-IO) -----------------------------------------------------------------


# What the decoder reads of each event, and the JSON kind it expects (see ``Shape``).
_EVENT = Shape({"type": str})
_INPUT_USAGE: dict[str, Any] = {
    "input_tokens": int,
    "cache_read_input_tokens": int,
    "cache_creation_input_tokens": int,
}
_USAGE = {
    **_INPUT_USAGE,
    "output_tokens": int,
    "output_tokens_details": {"thinking_tokens": int},
}
_SHAPES: dict[str, Shape] = {
    "content_block_delta": Shape(
        {
            "index": int,
            "delta": {"type": str, "partial_json": str, "text": str, "thinking": str},
        }
    ),
    "content_block_start": Shape(
        {
            "index": int,
            "content_block": {"type": str, "name": str, "text": str, "thinking": str},
        }
    ),
    "message_start": Shape({"message": {"usage": _USAGE}}),
    "message_delta": Shape(
        {
            "delta": {"stop_reason": str, "stop_details": {"explanation": str, "category": str}},
            "usage": _USAGE,
        }
    ),
}

# What a content block is to the decoder (by its index).
_DOCUMENT = "document"  # the JSON document (the tool input, or the answer's text)
_CALL = "call"  # one tool call in Mode.PARALLEL_TOOLS
_PROSE = "prose"  # text beside the object
_THINKING = "thinking"  # extended thinking: Delta.reasoning
_SKIP = "skip"  # redacted thinking, server tools ...: nothing to stream


class _MessageDecoder(SSEJsonDecoder):
    """Anthropic stream events -> :class:`Delta` values.

    Each content block is read by its role (``_DOCUMENT``, ``_CALL`` ...), decided at its
    ``content_block_start``. Blocks never interleave in Anthropic's format (a block's start,
    its deltas, its stop, then the next block), so a block's index is its key throughout.
    """

    def __init__(self, mode: Mode, tool_name: str | None, *, thinking: bool = False) -> None:
        super().__init__()
        self.mode = mode
        self.tool_name = tool_name
        self.thinking = thinking
        self.roles: dict[int, str] = {}
        self.block: int | None = None  # index of the content block that carries the document
        self.calls = 0  # tool_use blocks seen in Mode.PARALLEL_TOOLS
        # the last block that streamed reasoning / prose: a later one starts with a blank line
        self.last_thinking: int | None = None
        self.last_prose: int | None = None
        self.counts: dict[str, int] = {}  # the usage members as last reported
        self.stop_reason: str | None = None
        self.stop_details: Any = None
        # JSON / MD_JSON: the answer's text may hold prose around the JSON (prose, not document)
        self.splitter = ProseSplitter() if mode in (Mode.JSON, Mode.MD_JSON) else None

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
        out = [] if delta is None else [delta]
        if kind == "message_stop" and self.splitter is not None:
            text, prose = self.splitter.finish()  # what the splitter held back
            if text or prose:
                out.insert(0, Delta(text=text, prose=prose))
        return out

    def _event(self, kind: Any, p: dict[str, Any]) -> Delta | None:
        if kind == "content_block_delta":
            return self._block_delta(p.get("index"), p.get("delta") or {})
        if kind == "content_block_start":
            return self._block_start(p.get("index"), p.get("content_block") or {})
        if kind == "message_start":
            return self._report((p.get("message") or {}).get("usage"))
        if kind == "message_delta":
            d = p.get("delta") or {}
            if d.get("stop_reason") is not None:
                self.stop_reason = d["stop_reason"]
                self.stop_details = d.get("stop_details")
            return self._report(p.get("usage"))
        if kind == "message_stop":
            self.stopped = True
            return self._final()
        return None  # content_block_stop, unknown future events

    def _block_start(self, index: Any, block: dict[str, Any]) -> Delta | None:
        btype = block.get("type")
        if btype == "thinking":
            self.roles[index] = _THINKING
            return self._piece(index, _THINKING, block.get("thinking") or "")
        if btype == "text":
            if self.mode in _TOOL_MODES or self.block is not None:
                self.roles[index] = _PROSE
                return self._piece(index, _PROSE, block.get("text") or "")
            self.roles[index] = _DOCUMENT
            self.block = index
            return self._piece(index, _DOCUMENT, block.get("text") or "")
        if btype == "tool_use":
            # a non-empty ``input`` at start is not used by the API when streaming
            if self.mode == Mode.PARALLEL_TOOLS:
                self.roles[index] = _CALL
                self.calls += 1
                return Delta(call=index, tool=block.get("name"))
            if (
                self.mode == Mode.TOOLS
                and self.block is None
                and (self.tool_name is None or block.get("name") == self.tool_name)
            ):
                self.roles[index] = _DOCUMENT
                self.block = index
                return None
        # redacted_thinking (its data is encrypted: no text to show), server tool blocks ...
        self.roles[index] = _SKIP
        return None

    def _block_delta(self, index: Any, d: dict[str, Any]) -> Delta | None:
        role = self.roles.get(index)
        dtype = d.get("type")
        if dtype == "thinking_delta":
            if role == _THINKING:
                return self._piece(index, _THINKING, d.get("thinking") or "")
        elif dtype == "text_delta":
            if role == _PROSE or (role == _DOCUMENT and self.mode not in _TOOL_MODES):
                return self._piece(index, role, d.get("text") or "")
        elif dtype == "input_json_delta":
            text = d.get("partial_json") or ""
            if role == _CALL and text:
                return Delta(text=text, call=index)
            if role == _DOCUMENT and self.mode == Mode.TOOLS:
                return self._piece(index, _DOCUMENT, text)
        return None  # signature_delta (not reasoning text), citations, unknown future deltas

    def _piece(self, index: int, role: str, text: str) -> Delta | None:
        if not text:
            return None
        if role == _DOCUMENT:
            if self.splitter is not None:
                text, prose = self.splitter.feed(text)
                return Delta(text=text, prose=prose) if text or prose else None
            return Delta(text=text)
        if role == _THINKING:
            if self.last_thinking is not None and self.last_thinking != index:
                text = "\n\n" + text  # a later thinking block: parts join with a blank line
            self.last_thinking = index
            return Delta(reasoning=text)
        if self.last_prose is not None and self.last_prose != index:
            text = "\n\n" + text
        self.last_prose = index
        return Delta(prose=text)

    def _report(self, usage: Any) -> Delta | None:
        """Usage as reported so far (``message_start``, ``message_delta``): emitted at once, so
        a stream cut later still has it."""
        if not usage:
            return None
        for key in (*_INPUT_USAGE, "output_tokens"):
            if usage.get(key) is not None:
                self.counts[key] = usage[key]
        details = usage.get("output_tokens_details") or {}
        if details.get("thinking_tokens") is not None:
            self.counts["thinking_tokens"] = details["thinking_tokens"]
        return Delta(usage=self._usage())

    def _usage(self) -> Usage:
        c = self.counts
        parts = [c.get(k) for k in _INPUT_USAGE]
        known = [n for n in parts if n is not None]
        return Usage(
            # every prompt token: Anthropic's input_tokens leaves out cache reads and writes
            input_tokens=sum(known) if known else None,
            output_tokens=c.get("output_tokens"),
            cached_input_tokens=c.get("cache_read_input_tokens"),
            reasoning_tokens=c.get("thinking_tokens"),
        )

    def _final(self) -> Delta:
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
        return Delta(finish_reason=reason, refusal=refusal, usage=self._usage())

    def missing_call(self) -> StreamValidationError | None:
        """After a complete response: the error for a turn the model ended normally without
        the tool call the mode asks for (possible with thinking: ``tool_choice`` auto), else
        ``None``. The stream raises it once the body is read: it is the model's answer, not
        a fault of the wire format (the decoder itself raises only ``ProviderError``)."""
        if not self.stopped:
            return None
        if self.mode == Mode.TOOLS:
            missing = self.block is None
        elif self.mode == Mode.PARALLEL_TOOLS:
            missing = self.calls == 0
        else:
            return None
        # max_tokens, refusal ...: the core says why there is no object
        if not missing or (self.stop_reason is not None and self.stop_reason not in _NORMAL_STOPS):
            return None
        what = f"the tool {self.tool_name!r}" if self.mode == Mode.TOOLS else "any of the tools"
        why = (
            " (with extended thinking Anthropic allows only tool_choice auto or none, so the "
            "call could not be forced)"
            if self.thinking
            else ""
        )
        return StreamValidationError(
            [
                {
                    "type": "tool_not_called",
                    "loc": (),
                    "msg": f"the model answered in text instead of calling {what}{why}",
                    "input": self.stop_reason,
                    "ctx": {"mode": self.mode.value},
                }
            ],
            title="anthropic tool call",
        )


_TOOL_MODES = frozenset({Mode.TOOLS, Mode.PARALLEL_TOOLS})
_NORMAL_STOPS = frozenset({"end_turn", "stop_sequence", "tool_use"})


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
    supported_modes = frozenset(
        {Mode.TOOLS, Mode.PARALLEL_TOOLS, Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON}
    )
    # thinking blocks stream in every mode; text blocks beside a tool call are prose
    capabilities = Capabilities(
        modes={
            Mode.TOOLS: ModeCapabilities(reasoning=True, prose=True),
            Mode.PARALLEL_TOOLS: ModeCapabilities(reasoning=True, prose=True, parallel=True),
            Mode.JSON_SCHEMA: replace(STRICT, reasoning=True),
            Mode.JSON: replace(LENIENT, reasoning=True, prose=True),
            Mode.MD_JSON: replace(LENIENT, reasoning=True, prose=True),
        }
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
        thinking = _thinking_enabled(kw.get("thinking"))
        kw["max_tokens"] = _max_tokens(call.max_tokens, kw.get("thinking"))
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
            if thinking:  # a forced tool choice is refused with thinking: ask for the call
                kw["tool_choice"] = {"type": "auto"}
                system.append(
                    f"Answer by calling the tool {spec.name} exactly once, with the complete "
                    "answer as its input."
                )
            else:
                kw["tool_choice"] = {"type": "tool", "name": spec.name}
        elif mode == Mode.PARALLEL_TOOLS:
            tools = parallel_tools(spec.response_model)
            kw["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.json_schema}
                for t in tools
            ]
            # parallel tool use is on unless disable_parallel_tool_use: leave it unset
            kw["tool_choice"] = {"type": "auto" if thinking else "any"}
            names = ", ".join(t.name for t in tools)
            system.append(
                f"Answer with tool calls only ({names}): one call per item of your answer, "
                "all calls in this one response."
            )
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
        extra = {"tool_name": spec.name, "thinking": thinking}
        return Request(kind="messages", kwargs=kw, mode=mode, extra=extra)

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
        what = {Mode.TOOLS: "tool input", Mode.PARALLEL_TOOLS: "tool calls"}.get(
            Mode(request.mode), "JSON"
        )
        messages.append({"role": "user", "content": reask_feedback(what, error)})
        kw["messages"] = messages
        return replace(request, kwargs=kw, extra=dict(request.extra))

    def _decoder(self, request: Request) -> _MessageDecoder:
        return _MessageDecoder(
            Mode(request.mode),
            request.extra.get("tool_name"),
            thinking=bool(request.extra.get("thinking")),
        )

    # -- IO ------------------------------------------------------------------------------------
    def open_stream(self, request: Request) -> DeltaStream:
        if self.is_async:
            return super().open_stream(request)
        ctx = self.client.messages.with_streaming_response.create(stream=True, **request.kwargs)
        response = ctx.__enter__()  # HTTP errors raise the SDK's exceptions here
        return _MessageStream(response, self._decoder(request), _errors(self.client))

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        if not self.is_async:
            return await super().aopen_stream(request)
        ctx = self.client.messages.with_streaming_response.create(stream=True, **request.kwargs)
        response = await ctx.__aenter__()
        return _AsyncMessageStream(response, self._decoder(request), _errors(self.client))


class _MessageStream(HTTPDeltaStream):
    """The HTTP delta stream, then :meth:`_MessageDecoder.missing_call` once the body is read."""

    _decoder: _MessageDecoder

    def __iter__(self) -> Iterator[Delta]:
        yield from super().__iter__()
        error = self._decoder.missing_call()
        if error is not None:
            raise error


class _AsyncMessageStream(AsyncHTTPDeltaStream):
    """Async twin of :class:`_MessageStream`."""

    _decoder: _MessageDecoder

    async def _run(self) -> AsyncIterator[Delta]:
        async for delta in super()._run():
            yield delta
        error = self._decoder.missing_call()
        if error is not None:
            raise error
