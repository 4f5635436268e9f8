"""OpenAI (and OpenAI-compatible servers) through the official ``openai`` SDK.

Chat Completions modes (``TOOLS``, ``JSON_SCHEMA``, ``JSON``, ``MD_JSON``) and Responses API
modes (``RESPONSES_JSON_SCHEMA``, ``RESPONSES_TOOLS``); the mode picks the endpoint.
``PARALLEL_TOOLS`` (one function per union member, parallel calls, a call required) runs on
Chat Completions when the call gives ``messages=`` and on the Responses API when it gives
``input=`` instead.

Beside the object: reasoning (Responses reasoning summaries and reasoning text; the
``reasoning_content`` / ``reasoning`` that OpenAI-compatible chat servers add to a chunk's
delta) is ``Delta.reasoning``; prose (a message's text beside function calls, ``content``
beside ``tool_calls``, text around the JSON in ``JSON`` / ``MD_JSON``) is ``Delta.prose``;
usage (cached input and reasoning tokens included) is passed on as soon as it arrives. The
caller's own ``reasoning=`` / ``reasoning_effort=`` go to the endpoint unchanged. Chat streams
ask for usage (``stream_options.include_usage``).

Fast path (default): the SDK's raw streaming response
(``...with_streaming_response.create(stream=True, ...)``) -- the SDK still builds the request,
retries, and raises its own ``APIStatusError`` subclasses on non-2xx -- and this module reads
the SSE bytes itself, decoding each event's data with :func:`jiter.from_json`; no SDK
pydantic object is built per token. Fallback (``OpenAIProvider(client, fast=False)``, or when
the endpoint has no ``with_streaming_response``): plain ``create(stream=True)`` iterating the
SDK's chunk / event objects. Both feed the same decoders through the one HTTP shell
(:mod:`.http`), so they yield the same deltas.

Wire errors: a mid-stream ``{"error": ...}`` event, ``error`` / ``response.failed`` events
raise :class:`openai.APIError`; a dropped connection raises :class:`openai.APIConnectionError`
(:class:`openai.APITimeoutError` on a read timeout; on both paths each is also a
:class:`~schemastream.errors.ProviderError`, like the other providers' lost connections); a
body that ends before the model finished, an event that is not JSON or not of the expected
shape raise :class:`~schemastream.errors.ProviderError`.
"""

from __future__ import annotations

import abc
import copy
import inspect
from dataclasses import replace
from functools import partial
from typing import Any

import jiter

from ..errors import ConfigurationError, ProviderError
from ..schema.tools import ParallelTool, parallel_tools
from ._prose import ProseSplitter
from .base import (
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
    format_errors,
    import_sdk,
)
from .http import (
    AsyncHTTPDeltaStream,
    ErrorMap,
    HTTPDeltaStream,
    asdk_objects,
    sdk_lost,
    sdk_objects,
)

__all__ = ["OpenAIProvider", "client_from_env", "to_openai_strict"]

CHAT_MODES = frozenset({Mode.TOOLS, Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON})
RESPONSES_MODES = frozenset({Mode.RESPONSES_JSON_SCHEMA, Mode.RESPONSES_TOOLS})

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "stop",
    "function_call": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "refusal": "refusal",
}
_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


# -- the strict-schema subset ---------------------------------------------------------------

# Keywords OpenAI's strict structured outputs reject; their meaning moves into the
# description so the model still sees the limit (we enforce it ourselves while streaming).
_STRICT_UNSUPPORTED = ("minLength", "maxLength", "default", "discriminator", "examples")


def to_openai_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a JSON schema into OpenAI's strict subset.

    Every object gets ``additionalProperties: false`` and lists all its properties as
    required; a property that was optional becomes nullable through ``anyOf``; ``oneOf``
    becomes ``anyOf``; ``const`` becomes a one-value ``enum``; ``$ref`` loses siblings.
    """
    out = copy.deepcopy(schema)
    _strict_node(out)
    return out


def _strict_node(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _strict_node(item)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        ref = node["$ref"]
        node.clear()
        node["$ref"] = ref
        return
    notes = []
    for key in _STRICT_UNSUPPORTED:
        if key in node:
            value = node.pop(key)
            if key == "maxLength":
                notes.append(f"at most {value} characters")
            elif key == "minLength":
                notes.append(f"at least {value} characters")
    if notes:
        desc = node.get("description")
        node["description"] = (desc + " " if desc else "") + "(" + ", ".join(notes) + ")"
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("type") == "object" or "properties" in node:
        props: dict[str, Any] = node.setdefault("properties", {})
        required = set(node.get("required", []))
        for name, sub in list(props.items()):
            _strict_node(sub)
            if name not in required:
                props[name] = _nullable(sub)
        node["required"] = list(props)
        node["additionalProperties"] = False
        node.setdefault("type", "object")
    for key in ("items", "anyOf", "allOf", "prefixItems"):
        if key in node:
            _strict_node(node[key])
    for key in ("$defs", "definitions"):
        for sub in node.get(key, {}).values():
            _strict_node(sub)
    if isinstance(node.get("additionalProperties"), dict):
        # dict[str, T]: strict mode has no open maps; keep it as an object with no keys
        node["additionalProperties"] = False


def _nullable(sub: dict[str, Any]) -> dict[str, Any]:
    options = sub.get("anyOf")
    if isinstance(options, list):
        if not any(o.get("type") == "null" for o in options if isinstance(o, dict)):
            options.append({"type": "null"})
        return sub
    return {"anyOf": [sub, {"type": "null"}]}


def _import_openai() -> Any:
    return import_sdk("openai", "OpenAI", "openai", "openai")


def client_from_env(*, use_async: bool = False, **kw: Any) -> Any:
    """``openai.OpenAI(**kw)`` (``AsyncOpenAI`` with ``use_async=True``).

    The SDK reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` from the environment.
    """
    openai = _import_openai()
    cls = openai.AsyncOpenAI if use_async else openai.OpenAI
    try:
        return cls(**kw)
    except openai.OpenAIError as exc:
        if "api_key" in str(exc):
            raise ConfigurationError(
                "no OpenAI API key: set OPENAI_API_KEY (or pass api_key=...); "
                "for a local OpenAI-compatible server also set OPENAI_BASE_URL"
            ) from exc
        raise


# -- decoders (shared by the fast and the SDK-object paths) ---------------------------------


def _error_message(err: Any, default: str) -> str:
    if isinstance(err, dict):
        msg = err.get("message")
        if isinstance(msg, str) and msg:
            return msg
    return default


def _done_tail(line: bytes) -> bytes | None:
    """A body's last line without a line ending: ``data: [DONE]`` is whole; any other line is
    an event cut off mid-way, dropped (as the SSE spec says)."""
    return b"data: [DONE]" if line.strip() in (b"data: [DONE]", b"data:[DONE]") else None


# What the decoders read of each event, and the JSON kind they expect (see ``Shape``).
_USAGE_DETAILS = {"cached_tokens": int, "reasoning_tokens": int}
_CHAT_CHUNK = Shape(
    {
        "choices": [
            {
                "index": int,
                "finish_reason": str,
                "delta": {
                    "content": str,
                    "refusal": str,
                    # OpenAI-compatible servers' reasoning (vLLM, DeepSeek, Ollama, llama.cpp)
                    "reasoning_content": str,
                    "reasoning": str,
                    "tool_calls": [{"index": int, "function": {"name": str, "arguments": str}}],
                },
            }
        ],
        "usage": {
            "prompt_tokens": int,
            "completion_tokens": int,
            "prompt_tokens_details": _USAGE_DETAILS,
            "completion_tokens_details": _USAGE_DETAILS,
        },
    }
)
_RESPONSES_EVENT = Shape({"type": str})
_RESPONSES_DONE = Shape(
    {
        "response": {
            "usage": {
                "input_tokens": int,
                "output_tokens": int,
                "input_tokens_details": _USAGE_DETAILS,
                "output_tokens_details": _USAGE_DETAILS,
            },
            "incomplete_details": {"reason": str},
        }
    }
)
_REASONING_DELTA = Shape({"item_id": str, "delta": str, "summary_index": int, "content_index": int})
_RESPONSES_SHAPES: dict[str, Shape] = {
    "response.output_text.delta": Shape({"delta": str}),
    "response.function_call_arguments.delta": Shape(
        {"item_id": str, "output_index": int, "delta": str}
    ),
    "response.output_item.added": Shape(
        {"output_index": int, "item": {"type": str, "id": str, "name": str}}
    ),
    "response.reasoning_summary_text.delta": _REASONING_DELTA,
    "response.reasoning_text.delta": _REASONING_DELTA,
    "response.refusal.delta": Shape({"delta": str}),
    "response.refusal.done": Shape({"refusal": str}),
    "response.completed": _RESPONSES_DONE,
    "response.incomplete": _RESPONSES_DONE,
    "response.failed": Shape({"response": dict}),
}


def _usage(u: Any, inp: str, out: str) -> Usage:
    """A usage object (chat: ``prompt_tokens`` ...; Responses: ``input_tokens`` ...) with the
    cached input and reasoning output tokens from its ``*_details``."""
    cached = (u.get(inp + "_tokens_details") or {}).get("cached_tokens")
    reasoning = (u.get(out + "_tokens_details") or {}).get("reasoning_tokens")
    return Usage(u.get(inp + "_tokens"), u.get(out + "_tokens"), cached, reasoning)


class _OpenAIDecoder(SSEJsonDecoder):
    """SSE event data -> :func:`jiter.from_json` -> :meth:`deltas` (the dict the SDK object
    path feeds directly)."""

    tail = staticmethod(_done_tail)

    def event(self, name: str | None, data: bytes) -> list[Delta]:
        try:
            payload = jiter.from_json(data)
        except ValueError as exc:
            raise ProviderError(f"malformed stream event: {exc}") from None
        return self.deltas(payload)

    def feed_event(self, event: Any) -> list[Delta]:
        return self.deltas(event)

    def end(self) -> list[Delta]:
        return [*self.flush(), self.result()]

    def flush(self) -> list[Delta]:
        """Deltas held back until the body ended (prose that might have opened a fence)."""
        return []

    @abc.abstractmethod
    def deltas(self, d: Any) -> list[Delta]:
        """One decoded event's deltas."""

    @abc.abstractmethod
    def result(self) -> Delta:
        """The last delta once the body ended, or a ``ProviderError`` if it ended early."""


class _ChatDecoder(_OpenAIDecoder):
    """``chat.completion.chunk`` events -> deltas; done once ``[DONE]`` arrived.

    ``delta.content`` is the document (``JSON_SCHEMA``), split into prose and document
    (``JSON`` / ``MD_JSON``: :class:`ProseSplitter`) or prose beside the tool calls (the tool
    modes). ``delta.reasoning_content`` / ``delta.reasoning`` (OpenAI-compatible servers) are
    reasoning. A usage object is passed on as soon as it arrives."""

    def __init__(self, mode: Mode, expect_usage: bool = False) -> None:
        super().__init__()
        self.mode = mode
        self.tools = mode == Mode.TOOLS
        self.parallel = mode == Mode.PARALLEL_TOOLS
        self.splitter = ProseSplitter() if mode in (Mode.JSON, Mode.MD_JSON) else None
        self.expect_usage = expect_usage  # stream_options.include_usage: a usage chunk is due
        self.tool_index: int | None = None
        self.finish_reason: FinishReason | None = None
        self.usage: Usage | None = None
        self.refusal: list[str] = []
        self.done = False

    def event(self, name: str | None, data: bytes) -> list[Delta]:
        if data[:6] == b"[DONE]":
            # done; read on to the end of the body all the same (keeps the connection
            # reusable)
            self.done = True
            return []
        return super().event(name, data)

    def deltas(self, d: Any) -> list[Delta]:
        _CHAT_CHUNK.check(d, "openai", "chat.completion.chunk")
        out: list[Delta] = []
        usage = d.get("usage")
        if usage:
            self.usage = _usage(usage, "prompt", "completion")
            out.append(Delta(usage=self.usage))
        choices = d.get("choices")
        if not choices:
            if d.get("error"):
                err = d["error"]
                raise WireError(_error_message(err, "An error occurred during streaming"), err)
            return out
        c = choices[0]
        if c.get("index", 0) != 0:
            for c in choices:  # noqa: B007 - n>1: only choice 0 is the document
                if c.get("index", 0) == 0:
                    break
            else:
                return out
        fr = c.get("finish_reason")
        if fr:
            self.finish_reason = _FINISH.get(fr, "other")
        delta = c.get("delta")
        if not delta:
            return out
        r = delta.get("refusal")
        if r:
            self.refusal.append(r)
        # one of the two spellings (a server that sends both sends the same text twice)
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            out.append(Delta(reasoning=reasoning))
        content = delta.get("content")
        if content:
            if self.splitter is not None:
                text, prose = self.splitter.feed(content)
                if prose or text:
                    out.append(Delta(text, prose=prose))
            elif self.tools or self.parallel:
                out.append(Delta(prose=content))  # text beside the tool calls
            else:
                out.append(Delta(content))
        calls = delta.get("tool_calls")
        if calls:
            out += self.parallel_calls(calls) if self.parallel else self.tool_call(calls)
        return out

    def tool_call(self, calls: list[Any]) -> list[Delta]:
        """``Mode.TOOLS``: the arguments of the first call (the request forces one)."""
        parts = []
        for tc in calls:
            idx = tc.get("index", 0)
            if self.tool_index is None:
                self.tool_index = idx
            fn = tc.get("function")
            if idx == self.tool_index and fn:
                parts.append(fn.get("arguments") or "")
        text = "".join(parts)
        return [Delta(text)] if text else []

    @staticmethod
    def parallel_calls(calls: list[Any]) -> list[Delta]:
        """``Mode.PARALLEL_TOOLS``: each call's pieces by its ``index``; the name on its first."""
        out = []
        for tc in calls:
            fn = tc.get("function") or {}
            name = fn.get("name") or None
            args = fn.get("arguments") or ""
            if args or name:
                out.append(Delta(args, call=tc.get("index", 0), tool=name))
        return out

    def flush(self) -> list[Delta]:
        if self.splitter is None:
            return []
        text, prose = self.splitter.finish()
        return [Delta(text, prose=prose)] if text or prose else []

    def final(self) -> Delta:
        refusal = "".join(self.refusal) or None
        finish: FinishReason | None = "refusal" if refusal else self.finish_reason
        return Delta(finish_reason=finish or "stop", refusal=refusal, usage=self.usage)

    def result(self) -> Delta:
        """The last delta once the body ended.

        Done at ``[DONE]``. Without it (some OpenAI-compatible servers omit it) the body
        counts as complete only if a finish reason arrived and, when usage was requested,
        the usage chunk that follows it: anything less is a cut connection.
        """
        if not self.done and (
            self.finish_reason is None or (self.expect_usage and self.usage is None)
        ):
            raise _early("chat")
        return self.final()


class _ResponsesDecoder(_OpenAIDecoder):
    """Responses API events -> deltas; ``done`` once the response is over.

    Reasoning summary parts and raw reasoning text are reasoning (a blank line between
    parts); message text is the document (``RESPONSES_JSON_SCHEMA``) or prose beside the
    function call(s); function calls are the document (``RESPONSES_TOOLS``: the first call)
    or, in ``PARALLEL_TOOLS``, one call each, keyed by ``output_index``."""

    def __init__(self, mode: Mode) -> None:
        super().__init__()
        self.tools = mode == Mode.RESPONSES_TOOLS
        self.parallel = mode == Mode.PARALLEL_TOOLS
        self.item_id: str | None = None
        self.calls: dict[str, int] = {}  # PARALLEL_TOOLS: function_call item id -> its index
        self.reasoning_part: tuple[Any, ...] | None = None  # the part reasoning came from
        self.refusal: list[str] = []
        self.refusal_done: str | None = None
        self.done = False
        self.last: Delta | None = None

    def deltas(self, d: Any) -> list[Delta]:
        _RESPONSES_EVENT.check(d, "openai", "Responses")
        t = d.get("type")
        shape = _RESPONSES_SHAPES.get(t)  # type: ignore[arg-type]
        if shape is not None:
            shape.check(d, "openai", t)  # type: ignore[arg-type]
        if t == "response.output_text.delta":
            text = d.get("delta")
            if not text:
                return []
            return [Delta(prose=text)] if self.tools or self.parallel else [Delta(text)]
        if t == "response.function_call_arguments.delta":
            text = d.get("delta")
            item = d.get("item_id")
            if self.parallel:
                index = self.calls.get(item)  # type: ignore[arg-type]
                if index is None:
                    index = d.get("output_index", 0)
                return [Delta(text, call=index)] if text else []
            if not self.tools:
                return []
            if self.item_id is None:
                self.item_id = item
            elif item != self.item_id:
                return []
            return [Delta(text)] if text else []
        if t == "response.output_item.added":
            item = d.get("item") or {}
            if self.parallel and item.get("type") == "function_call":
                index = d.get("output_index", 0)
                if item.get("id"):
                    self.calls[item["id"]] = index
                return [Delta(call=index, tool=item.get("name") or None)]
            return []
        if t == "response.reasoning_summary_text.delta":
            return self.reasoning(d, ("summary", d.get("item_id"), d.get("summary_index")))
        if t == "response.reasoning_text.delta":
            return self.reasoning(d, ("text", d.get("item_id"), d.get("content_index")))
        if t == "response.refusal.delta":
            self.refusal.append(d.get("delta") or "")
        elif t == "response.refusal.done":
            self.refusal_done = d.get("refusal")
        elif t == "response.completed" or t == "response.incomplete":
            resp = d.get("response") or {}
            u = resp.get("usage")
            usage = _usage(u, "input", "output") if u else None
            finish: FinishReason = "stop"
            if t == "response.incomplete":
                reason = (resp.get("incomplete_details") or {}).get("reason")
                finish = _INCOMPLETE.get(reason or "", "other")
            refusal = self.refusal_done or "".join(self.refusal) or None
            if refusal and finish == "stop":
                finish = "refusal"
            self.done = True
            self.last = Delta(finish_reason=finish, refusal=refusal, usage=usage)
        elif t == "response.failed":
            err = (d.get("response") or {}).get("error")
            raise WireError(_error_message(err, "the response failed"), err)
        elif t == "error":
            raise WireError(_error_message(d, "An error occurred during streaming"), d)
        return []

    def reasoning(self, d: Any, part: tuple[Any, ...]) -> list[Delta]:
        """A reasoning piece; the first piece of each later part starts with a blank line."""
        text = d.get("delta")
        if not text:
            return []
        if part != self.reasoning_part:
            if self.reasoning_part is not None:
                text = "\n\n" + text
            self.reasoning_part = part
        return [Delta(reasoning=text)]

    def result(self) -> Delta:
        """The last delta once the body ended (done at ``response.completed`` / ``incomplete``)."""
        if self.last is None:
            raise _early("responses")
        return self.last


def _decoder(request: Request, *, sees_done: bool = True) -> _ChatDecoder | _ResponsesDecoder:
    """The decoder for ``request``'s endpoint. ``sees_done=False``: the SDK's Stream swallows
    ``[DONE]``, so a missing usage chunk cannot tell a cut body from a server that ignores
    ``stream_options`` there; only a missing finish reason counts as cut."""
    if request.kind != "chat":
        return _ResponsesDecoder(request.mode)
    options = request.kwargs.get("stream_options") or {}
    expect_usage = sees_done and bool(options.get("include_usage"))
    return _ChatDecoder(request.mode, expect_usage=expect_usage)


def _early(kind: str) -> ProviderError:
    what = "[DONE]" if kind == "chat" else "response.completed"
    return ProviderError(f"stream ended early: the connection closed before {what}")


def _wire_error(err: WireError, response: Any) -> BaseException:
    """An error event -> the SDK's ``APIError`` (as the SDK's own stream raises it)."""
    openai = _import_openai()
    return openai.APIError(err.message, request=_http_request(response), body=err.body)


def _http_request(response: Any) -> Any:
    """The ``httpx.Request`` of a raw response or of an SDK ``Stream``."""
    http = getattr(response, "http_response", None) or getattr(response, "response", None)
    return getattr(http, "request", None)


def _errors() -> ErrorMap:
    openai = _import_openai()
    lost = sdk_lost("openai", openai.APIConnectionError, openai.APITimeoutError, _http_request)
    # the SDK's own Stream (object path) wraps a transport error itself, and parses each
    # event with json.loads (ValueError): mapped as on the raw path
    return ErrorMap(
        "openai",
        lost=lost,
        wire=_wire_error,
        lost_types=(openai.APIConnectionError,),
        malformed_types=(ValueError,),
    )


def _to_dict(obj: Any) -> Any:
    """An SDK object back to its wire dict (object path); anything else as it is (the SDK
    builds no object from an event that is no JSON object: the decoder's shape check says so).
    """
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None:
        # no warnings: an event of the wrong shape is reported by the decoder's check
        return to_dict(warnings=False)
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump(by_alias=True, exclude_unset=True, warnings=False)
    return obj


# -- the provider ----------------------------------------------------------------------------


def _with_system(messages: list[Any], text: str) -> list[Any]:
    """Add ``text`` to the leading system message (or insert one)."""
    if (
        messages
        and isinstance(messages[0], dict)
        and messages[0].get("role") in ("system", "developer")
        and isinstance(messages[0].get("content"), str)
    ):
        first = dict(messages[0])
        first["content"] = first["content"] + "\n\n" + text
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def _function(tool: ParallelTool) -> dict[str, Any]:
    """One member's function definition (the same keys in both endpoints' tool entries)."""
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.strict_json_schema,
        "strict": True,
    }


def _parallel_choice(kw: dict[str, Any]) -> None:
    """``Mode.PARALLEL_TOOLS``: calls in parallel, at least one (a caller's own values stay)."""
    kw.setdefault("parallel_tool_calls", True)
    kw.setdefault("tool_choice", "required")


def _common(call: Call) -> dict[str, Any]:
    """The kwargs both endpoints pass on as given: ``model``, ``stop``, the rest."""
    kw = dict(call.extra)
    if call.model is not None:
        kw["model"] = call.model
    if call.stop is not None:
        kw["stop"] = call.stop
    return kw


class OpenAIProvider(Provider):
    """``OpenAIProvider(openai.OpenAI() | openai.AsyncOpenAI(), mode=None, fast=True)``."""

    name = "openai"
    default_mode = Mode.TOOLS
    default_responses_mode = Mode.RESPONSES_JSON_SCHEMA
    supported_modes = CHAT_MODES | RESPONSES_MODES | {Mode.PARALLEL_TOOLS}
    # reasoning: Responses reasoning summaries / reasoning text; on Chat Completions the
    # ``reasoning_content`` / ``reasoning`` that OpenAI-compatible servers send (OpenAI's own
    # chat endpoint streams none). prose: text beside the tool calls, or around the JSON.
    capabilities = Capabilities(
        strict_schema=to_openai_strict,
        modes={
            Mode.TOOLS: ModeCapabilities(constrained=True, reasoning=True, prose=True),
            Mode.JSON_SCHEMA: ModeCapabilities(constrained=True, reasoning=True),
            Mode.RESPONSES_TOOLS: ModeCapabilities(constrained=True, reasoning=True, prose=True),
            Mode.RESPONSES_JSON_SCHEMA: ModeCapabilities(constrained=True, reasoning=True),
            Mode.JSON: ModeCapabilities(lenient=True, reasoning=True, prose=True),
            Mode.MD_JSON: ModeCapabilities(lenient=True, reasoning=True, prose=True),
            # strict functions are sent, but OpenAI's function-calling guide says calls made
            # in parallel may not match the schemas (Structured Outputs does not cover them):
            # not counted as constrained; the core validates each call
            Mode.PARALLEL_TOOLS: ModeCapabilities(reasoning=True, prose=True, parallel=True),
        },
    )

    def __init__(self, client: Any, mode: Mode | str | None = None, *, fast: bool = True) -> None:
        self.client = client
        self.fast = fast
        self.is_async = _is_async_client(client)
        if mode is not None:
            mode = Mode(mode)
            if mode not in self.supported_modes:
                raise ConfigurationError(f"openai: unsupported mode {mode.value!r}")
            self.default_mode = mode
            self.default_responses_mode = mode
        self.mode = mode

    # -- sans-IO ---------------------------------------------------------------------------
    def request_for(self, spec: Any, mode: Mode, call: Call) -> Request:
        if mode is Mode.PARALLEL_TOOLS:
            # the endpoint follows the call's spelling: messages= is Chat Completions (also
            # OpenAI-compatible servers); input= without messages= is the Responses API
            if not call.has_messages and call.messages:
                return self._responses_request(spec, mode, call)
        elif mode in RESPONSES_MODES:
            return self._responses_request(spec, mode, call)
        elif mode not in CHAT_MODES:
            raise ConfigurationError(f"openai: unsupported mode {mode.value!r}")
        kw = _common(call)
        messages = list(call.messages)
        if call.system:
            messages.insert(0, {"role": "system", "content": "\n\n".join(call.system)})
        if call.max_tokens is not None:
            # max_completion_tokens as given (reasoning models reject max_tokens)
            key = (
                "max_completion_tokens"
                if call.max_tokens_key == "max_completion_tokens"
                else "max_tokens"
            )
            kw[key] = call.max_tokens
        if mode == Mode.TOOLS:
            fn: dict[str, Any] = {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.schema_in(to_openai_strict),
                "strict": True,
            }
            kw["tools"] = [{"type": "function", "function": fn}]
            # forced to one named function: one call. (No parallel_tool_calls=False: reasoning
            # models reject the parameter; a caller may still pass it.)
            kw["tool_choice"] = {"type": "function", "function": {"name": spec.name}}
        elif mode == Mode.PARALLEL_TOOLS:
            kw["tools"] = [
                {"type": "function", "function": _function(tool)}
                for tool in parallel_tools(spec.response_model)
            ]
            _parallel_choice(kw)
        elif mode == Mode.JSON_SCHEMA:
            kw["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": spec.name,
                    "description": spec.description,
                    "schema": spec.schema_in(to_openai_strict),
                    "strict": True,
                },
            }
        elif mode == Mode.JSON:
            kw["response_format"] = {"type": "json_object"}
            messages = _with_system(messages, spec.prompt())
        else:  # MD_JSON
            messages = _with_system(messages, spec.md_prompt())
        kw["messages"] = messages
        kw["stream"] = True
        opts = dict(kw.get("stream_options") or {})
        opts.setdefault("include_usage", True)
        kw["stream_options"] = opts
        return Request(kind="chat", kwargs=kw, mode=mode)

    def _responses_request(self, spec: Any, mode: Mode, call: Call) -> Request:
        kw = _common(call)
        if call.input_text is not None and not call.has_messages:
            kw["input"] = call.input_text  # one string: as given
        elif call.messages or call.has_messages:
            kw["input"] = list(call.messages)
        if call.system:
            kw["instructions"] = "\n\n".join(call.system)
        if call.max_tokens is not None:
            kw["max_output_tokens"] = call.max_tokens
        if mode == Mode.RESPONSES_JSON_SCHEMA:
            text = dict(kw.get("text") or {})
            text["format"] = {
                "type": "json_schema",
                "name": spec.name,
                "description": spec.description,
                "schema": spec.schema_in(to_openai_strict),
                "strict": True,
            }
            kw["text"] = text
        elif mode == Mode.PARALLEL_TOOLS:
            kw["tools"] = [
                {"type": "function", **_function(tool)}
                for tool in parallel_tools(spec.response_model)
            ]
            _parallel_choice(kw)
        else:
            kw["tools"] = [
                {
                    "type": "function",
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.schema_in(to_openai_strict),
                    "strict": True,
                }
            ]
            kw["tool_choice"] = {"type": "function", "name": spec.name}
        kw["stream"] = True
        return Request(kind="responses", kwargs=kw, mode=mode)

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        feedback = (
            "Your previous output was not valid:\n"
            + format_errors(error, duck_typed=True)
            + "\nReply again with the complete, corrected output that matches the schema"
            " (the whole document, not a diff)."
        )
        kw = dict(request.kwargs)
        turn = [
            {"role": "assistant", "content": raw_text or "(empty)"},
            {"role": "user", "content": feedback},
        ]
        if request.kind == "chat":
            kw["messages"] = [*kw.get("messages", []), *turn]
        else:
            inp = kw.get("input")
            items: list[Any] = []
            if isinstance(inp, str):
                items = [{"role": "user", "content": inp}]
            elif inp:
                items = list(inp)
            kw["input"] = [*items, *turn]
        return replace(request, kwargs=kw, extra=dict(request.extra))

    # -- IO --------------------------------------------------------------------------------
    def _endpoint(self, request: Request) -> Any:
        if request.kind == "chat":
            return self.client.chat.completions
        return self.client.responses

    def open_stream(self, request: Request) -> DeltaStream:
        if self.is_async:
            return super().open_stream(request)
        endpoint = self._endpoint(request)
        raw = getattr(endpoint, "with_streaming_response", None) if self.fast else None
        if raw is not None:
            cm = raw.create(**request.kwargs)
            resp = cm.__enter__()  # raises the SDK's APIStatusError subclasses on non-2xx
            exit_cm = partial(cm.__exit__, None, None, None)
            return HTTPDeltaStream(resp, _decoder(request), _errors(), on_close=exit_cm)
        stream = endpoint.create(**request.kwargs)
        return HTTPDeltaStream(
            stream,
            _decoder(request, sees_done=False),
            _errors(),
            chunks=partial(sdk_objects, to_dict=_to_dict),
            objects=True,
        )

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        if not self.is_async:
            return await super().aopen_stream(request)
        endpoint = self._endpoint(request)
        raw = getattr(endpoint, "with_streaming_response", None) if self.fast else None
        if raw is not None:
            cm = raw.create(**request.kwargs)
            resp = await cm.__aenter__()
            exit_cm = partial(cm.__aexit__, None, None, None)
            return AsyncHTTPDeltaStream(resp, _decoder(request), _errors(), on_close=exit_cm)
        stream = await endpoint.create(**request.kwargs)
        return AsyncHTTPDeltaStream(
            stream,
            _decoder(request, sees_done=False),
            _errors(),
            chunks=partial(asdk_objects, to_dict=_to_dict),
            objects=True,
        )


def _is_async_client(client: Any) -> bool:
    try:
        import openai

        if isinstance(client, openai.AsyncOpenAI):
            return True
        if isinstance(client, openai.OpenAI):
            return False
    except ImportError:  # pragma: no cover
        pass
    try:
        create = client.chat.completions.create
    except AttributeError:
        create = getattr(getattr(client, "responses", None), "create", None)
    return bool(create is not None and inspect.iscoroutinefunction(create))
