"""Google Gemini provider for the ``google-genai`` SDK (``genai.Client`` / ``client.aio``).

What arrives incrementally
--------------------------
- :attr:`Mode.JSON` (default): ``response_mime_type="application/json"`` with
  ``response_json_schema`` (or ``response_schema``, see ``schema_field``). The JSON text streams
  in pieces, one :class:`Delta` per ``streamGenerateContent`` frame, so partial objects grow
  while Gemini writes.
- :attr:`Mode.MD_JSON`: the schema goes in the system instruction; the text streams the same
  way and the core parses it leniently.
- :attr:`Mode.TOOLS`: one function declaration (``parameters_json_schema``) with forced calling
  (``mode=ANY``). The Gemini API sends function-call ``args`` **whole**, in one frame, so the
  whole JSON document arrives as a single :class:`Delta`: you get the final object, no growing
  partials. Prefer JSON mode with Gemini when you want to watch partials.
- :attr:`Mode.PARALLEL_TOOLS`: one function declaration per member of ``list[A | B]``
  (:func:`~schemastream.schema.tools.parallel_tools`), ``mode=ANY`` with the tools as
  ``allowed_function_names`` (Gemini has no parallel-calls flag: several ``functionCall``
  parts are allowed as they are). Each call arrives whole: one :class:`Delta` with its whole
  ``args`` JSON, ``call`` its running index and ``tool`` its name.

In both tool modes the object is not incremental: the first stream of such a client emits one
:class:`~schemastream.errors.StreamingDegradedWarning`. Text parts beside the calls are
``Delta.prose``.

Reasoning: with the user's own ``config={"thinking_config": {"include_thoughts": True}}``
(passed through unchanged) Gemini sends thought summaries as parts with ``"thought": true``;
they are ``Delta.reasoning`` in every mode, never the object. Consecutive thought parts are
pieces of one text, except that a piece opening a new summary with its ``**heading**``, or
thoughts after answer text or a call, start a new part: a blank line is put before it
(unless the text already ends with one). ``thoughtSignature`` is opaque and is not text.

Usage: ``usageMetadata`` of every frame, as soon as it is reported (so a cancelled stream
keeps the prompt count): ``promptTokenCount`` -> ``input_tokens``,
``cachedContentTokenCount`` -> ``cached_input_tokens``, ``thoughtsTokenCount`` ->
``reasoning_tokens`` and ``candidatesTokenCount + thoughtsTokenCount`` -> ``output_tokens``
(Gemini counts the thoughts apart from the candidates; here, as for every provider, the
reasoning tokens are part of the output tokens).

Closing
-------
``google-genai``'s ``generate_content_stream`` hands back generators nested three deep; closing
the outer one does not close the HTTP response (seen with 3.6: ``aclose()`` on the async stream
left the response open until garbage collection). So this provider issues the very same request
through the SDK's own API client (``_build_request`` + ``_request(stream=True)``: same URL, auth,
headers, retries, ``http_options`` and error classes) and reads the SSE body itself; ``close()``
/ ``aclose()`` close that HTTP response at once. The body may be an httpx response, or an
aiohttp one (the SDK's async client uses aiohttp whenever it is installed); both are read and
closed here, and both are tested. If a future SDK lacks those internals, the public
``generate_content_stream`` is used instead (closing is then best effort).

Finish reasons: ``STOP`` -> ``"stop"``; ``MAX_TOKENS`` -> ``"length"``; ``SAFETY``,
``RECITATION``, ``PROHIBITED_CONTENT``, ``BLOCKLIST``, ``SPII``... and a blocked prompt
(``promptFeedback.blockReason``) -> ``"content_filter"`` with a refusal text. A hop that ends
with ``CONTINUATION`` and a ``continuationToken`` is continued with a new request (the SDK's
automatic continuation; turn it off with ``config={"automatic_continuation": False}``, and the
stream then finishes with ``"length"``). A body that ends without a finish reason is a
:class:`~schemastream.errors.ProviderError`.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import jiter

from ..errors import ConfigurationError, ProviderError, warn_streaming_degraded
from ..schema.tools import parallel_tools
from ._prose import ProseSplitter
from .base import (
    LENIENT,
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
    shape_error,
    text_of,
    unsupported_mode,
)
from .http import AsyncHTTPDeltaStream, ErrorMap, HTTPDeltaStream, asdk_objects, sdk_objects

if TYPE_CHECKING:
    from ..schema import ResponseSpec

__all__ = ["GenAIProvider", "client_from_env"]

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "CONTINUATION": "length",
}


def client_from_env(*, use_async: bool = False, **kwargs: Any) -> Any:
    """Build ``genai.Client`` from ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY`` (``.aio`` if async)."""
    genai = import_sdk("google.genai", "Gemini", "google-genai", "genai")
    api_key = (
        kwargs.pop("api_key", None)
        # the SDK's own precedence: GOOGLE_API_KEY wins when both are set
        or os.environ.get("GOOGLE_API_KEY")
        or os.environ.get("GEMINI_API_KEY")
    )
    if not api_key and not kwargs.get("vertexai"):
        raise ConfigurationError(
            "no Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), or pass api_key=..."
        )
    if api_key:
        kwargs["api_key"] = api_key
    client = genai.Client(**kwargs)
    return client.aio if use_async else client


# -- request shaping (sans-IO) -----------------------------------------------------------------


def _parts(content: Any) -> list[Any]:
    if content is None:
        return [{"text": ""}]
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[Any] = []
    for part in content:
        if isinstance(part, str):
            parts.append({"text": part})
        elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
            parts.append({"text": part.get("text", "")})
        else:  # already Gemini-shaped (inline_data, file_data ...): pass through
            parts.append(part)
    return parts


def _content(msg: Any) -> Any:
    """An OpenAI-style (non-system) message -> a Gemini Content (one as it is)."""
    if not isinstance(msg, dict) or "parts" in msg:  # already a Gemini Content
        return msg
    role = "model" if msg.get("role", "user") in ("assistant", "model") else "user"
    return {"role": role, "parts": _parts(msg.get("content"))}


def _offer(config: dict[str, Any], functions: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Offer ``functions`` (name, description, JSON schema) and force a call to one of them."""
    config["tools"] = [
        {
            "function_declarations": [
                {"name": name, "description": description, "parameters_json_schema": schema}
                for name, description, schema in functions
            ]
        }
    ]
    config["tool_config"] = {
        "function_calling_config": {
            "mode": "ANY",
            "allowed_function_names": [name for name, _, _ in functions],
        }
    }


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    dump = getattr(config, "model_dump", None)
    if dump is not None:
        return dict(dump(exclude_none=True))
    raise TypeError(f"genai: config must be a dict or GenerateContentConfig, not {type(config)}")


# -- stream decoding (sans-IO) -----------------------------------------------------------------


# What the decoder reads of a frame, and the JSON kind it expects (see ``Shape``).
_FRAME = Shape(
    {
        "usageMetadata": {
            "promptTokenCount": int,
            "candidatesTokenCount": int,
            "thoughtsTokenCount": int,
            "cachedContentTokenCount": int,
        },
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"thought": bool, "text": str, "functionCall": {"name": str, "args": dict}}
                    ]
                },
                "continuationToken": str,
                "finishReason": str,
            }
        ],
        "promptFeedback": {"blockReason": str},
    }
)


class _GeminiDecoder(SSEJsonDecoder):
    """``streamGenerateContent?alt=sse`` frames (camelCase REST JSON) -> :class:`Delta` values.

    One decoder lives across continuation hops: :meth:`finish` sets ``resume`` (the token to
    continue from) and starts the next hop's state. Output and reasoning tokens of finished
    hops are added to the running totals; the prompt and cached counts are the latest hop's.
    """

    def __init__(self, mode: Mode, function_name: str | None, continue_enabled: bool) -> None:
        self.mode = mode
        self.function_name = function_name
        self.continue_enabled = continue_enabled
        self.input_tokens: int | None = None
        self.cached_tokens: int | None = None
        self._prev_output = 0  # usage of finished hops
        self._prev_reasoning = 0
        self._got_call = False
        self._calls = 0  # PARALLEL_TOOLS: the running index of the next call
        self._reasoning_tail = ""  # the last characters of the reasoning so far
        self._in_thoughts = False  # the latest part was a thought
        self._reported: Usage | None = None  # the usage last emitted
        # MD_JSON: prose around the fenced JSON is prose, not document (across hops)
        self._splitter = ProseSplitter() if mode == Mode.MD_JSON else None
        self._start_hop()

    def _start_hop(self) -> None:
        super().__init__()  # a fresh SSE decoder per hop (per response body)
        self.hop_finish: str | None = None
        self.continuation_token: str | None = None
        self.hop_output: int | None = None
        self.hop_reasoning: int | None = None

    def end(self) -> list[Delta]:
        """Flush the hop; ``resume`` is the token to continue from, or None."""
        self.resume = None
        if self.hop_output is not None:
            self._prev_output += self.hop_output
            self.hop_output = None
        if self.hop_reasoning is not None:
            self._prev_reasoning += self.hop_reasoning
            self.hop_reasoning = None
        if self.stopped:
            return []
        if self.hop_finish == "CONTINUATION":
            if self.continue_enabled and self.continuation_token:
                try:
                    self.resume = base64.b64decode(self.continuation_token)
                except ValueError:  # binascii.Error
                    raise shape_error(
                        "genai",
                        "GenerateContentResponse",
                        "candidates[0].continuationToken",
                        self.continuation_token,
                        "base64 text",
                    ) from None
                self._start_hop()
                return []
            return [self._final("length")]
        raise ProviderError(
            "genai: the stream ended without a finish reason; the response is incomplete"
        )

    def event(self, name: str | None, data: bytes) -> list[Delta]:
        if not data:
            return []
        try:
            payload = jiter.from_json(data)
        except ValueError as exc:
            raise ProviderError(f"genai: bad frame: {exc}") from exc
        return self.feed_event(payload)

    def feed_event(self, payload: Any) -> list[Delta]:
        if self.stopped:
            return []
        if type(payload) is dict and "error" in payload:
            raise WireError(f"genai: error in the stream: {payload}", payload)
        _FRAME.check(payload, "genai", "GenerateContentResponse")
        out: list[Delta] = []
        usage = payload.get("usageMetadata")
        if isinstance(usage, dict):
            self._read_usage(usage)
        candidates = payload.get("candidates") or []
        cand0 = candidates[0] if candidates else None
        if isinstance(cand0, dict):
            content = cand0.get("content") or {}
            for part in content.get("parts") or ():
                delta = self._part(part)
                if delta is not None:
                    out.append(delta)
            if cand0.get("continuationToken"):
                self.continuation_token = cand0["continuationToken"]
            reason = cand0.get("finishReason")
            if reason and reason != "FINISH_REASON_UNSPECIFIED":
                self.hop_finish = reason
                if reason != "CONTINUATION":
                    out.append(self._final(_FINISH.get(reason, "other"), reason))
        elif not candidates:
            feedback = payload.get("promptFeedback") or {}
            block = feedback.get("blockReason")
            if block:
                out.append(self._final("content_filter", block, prompt=True))
        if not self.stopped:  # (the final delta has the usage)
            current = self._usage()
            if current != self._reported:  # reported early, so a cancel keeps it
                self._reported = current
                if out:
                    out[0].usage = current
                else:
                    out.append(Delta(usage=current))
        return out

    def _read_usage(self, usage: dict[str, Any]) -> None:
        if usage.get("promptTokenCount") is not None:
            self.input_tokens = usage["promptTokenCount"]
        if usage.get("cachedContentTokenCount") is not None:
            self.cached_tokens = usage["cachedContentTokenCount"]
        cand = usage.get("candidatesTokenCount")
        thoughts = usage.get("thoughtsTokenCount")
        if cand is not None or thoughts is not None:
            # Gemini counts thoughts apart from the candidates; ours are part of the output
            self.hop_output = (cand or 0) + (thoughts or 0)
        if thoughts is not None:
            self.hop_reasoning = thoughts

    def _usage(self) -> Usage:
        """The running totals: finished hops plus this hop's latest counts."""
        output: int | None = None
        if self.hop_output is not None or self._prev_output:
            output = self._prev_output + (self.hop_output or 0)
        reasoning: int | None = None
        if self.hop_reasoning is not None or self._prev_reasoning:
            reasoning = self._prev_reasoning + (self.hop_reasoning or 0)
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=output,
            cached_input_tokens=self.cached_tokens,
            reasoning_tokens=reasoning,
        )

    def _part(self, part: Any) -> Delta | None:
        """One part -> its delta: a thought is reasoning, text beside tool calls is prose;
        ``thoughtSignature`` (opaque bytes) is never text."""
        if not isinstance(part, dict):
            return None
        text = part.get("text")
        if part.get("thought"):
            if not isinstance(text, str) or not text:
                return None
            return Delta(reasoning=self._thought(text))
        if part.get("text") or part.get("functionCall"):
            self._in_thoughts = False
        call = part.get("functionCall")
        if self.mode == Mode.PARALLEL_TOOLS:
            if isinstance(call, dict):
                index = self._calls
                self._calls += 1
                return Delta(text=_args_json(call), call=index, tool=call.get("name"))
            return Delta(prose=text) if isinstance(text, str) and text else None
        if self.mode == Mode.TOOLS:
            if isinstance(call, dict):
                if self._got_call:
                    return None
                if self.function_name and call.get("name") not in (None, self.function_name):
                    return None
                self._got_call = True
                return Delta(text=_args_json(call))
            return Delta(prose=text) if isinstance(text, str) and text else None
        if not isinstance(text, str) or not text:
            return None
        if self._splitter is not None:
            doc, prose = self._splitter.feed(text)
            return Delta(text=doc, prose=prose) if doc or prose else None
        return Delta(text=text)

    def _thought(self, text: str) -> str:
        """``text`` with the blank line that starts a later summary part, if it needs one.

        Consecutive thought parts are pieces of one text (joined as they are, as the SDK's
        own examples do), except where a piece opens a new summary with its ``**heading**``;
        thoughts after answer text or a call are a new part too."""
        tail = self._reasoning_tail
        new_part = bool(tail) and (not self._in_thoughts or text.startswith("**"))
        self._in_thoughts = True
        if new_part and not tail.endswith("\n\n"):
            text = ("\n" if tail.endswith("\n") else "\n\n") + text
        self._reasoning_tail = (tail + text)[-2:]
        return text

    def _final(self, reason: FinishReason, raw: str = "", prompt: bool = False) -> Delta:
        self.stopped = True
        refusal = None
        if reason == "content_filter":
            what = "the prompt was blocked" if prompt else "the response was blocked"
            refusal = f"{what} by Gemini (reason: {raw})"
        doc, prose = self._splitter.finish() if self._splitter is not None else ("", "")
        return Delta(doc, reason, refusal, self._usage(), prose=prose)


def _args_json(call: dict[str, Any]) -> str:
    return json.dumps(call.get("args") or {}, ensure_ascii=False, separators=(",", ":"))


# -- talking to the SDK ------------------------------------------------------------------------


class _Prepared:
    """The HTTP request the SDK would send for ``generate_content_stream``."""

    def __init__(self, api_client: Any, kwargs: dict[str, Any], token: bytes | None) -> None:
        from google.genai import _common, types
        from google.genai import models as gmodels

        config: Any = dict(kwargs.get("config") or {})
        config.pop("automatic_continuation", None)
        if token is not None:
            config["continuation_token"] = token
        params = types._GenerateContentParameters(
            model=kwargs["model"], contents=kwargs["contents"], config=config or None
        )
        if api_client.vertexai:
            request_dict = gmodels._GenerateContentParameters_to_vertex(
                api_client, params, None, params
            )
        else:
            request_dict = gmodels._GenerateContentParameters_to_mldev(
                api_client, params, None, params
            )
        url = request_dict.get("_url")
        path = "{model}:streamGenerateContent?alt=sse"
        path = path.format_map(url) if url else path
        query = request_dict.get("_query")
        if query:
            path = f"{path}&{urlencode(query)}"
        request_dict.pop("config", None)
        self.http_options = params.config.http_options if params.config is not None else None
        request_dict = _common.convert_to_dict(request_dict)
        request_dict = _common.encode_unserializable_types(request_dict)
        self.http_request = api_client._build_request("post", path, request_dict, self.http_options)


def _has_internals(api_client: Any) -> bool:
    try:
        from google.genai import _common, types  # noqa: F401
        from google.genai import models as gmodels
    except ImportError:  # pragma: no cover
        return False
    return all(
        (
            hasattr(types, "_GenerateContentParameters"),
            hasattr(gmodels, "_GenerateContentParameters_to_mldev"),
            hasattr(gmodels, "_GenerateContentParameters_to_vertex"),
            hasattr(api_client, "_build_request"),
            hasattr(api_client, "_request"),
            hasattr(api_client, "_async_request"),
        )
    )


def _status_error(err: WireError, response: Any) -> BaseException:
    """An error frame -> the SDK's own ``APIError`` subclass for its code."""
    body = err.body
    code = (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) else None
    try:
        from google.genai import errors as gerrors
    except ImportError:  # pragma: no cover
        return err
    if not isinstance(code, int):
        return err
    try:
        gerrors.APIError.raise_error(code, body, response)
    except gerrors.APIError as exc:
        return exc
    return err  # pragma: no cover - raise_error always raises


_ERRORS = ErrorMap("genai", wire=_status_error)


def _dump_chunk(chunk: Any) -> Any:
    return chunk.model_dump(mode="json", by_alias=True, exclude_none=True)


class _SDKIterator:
    """The public ``generate_content_stream`` iterator, closed best effort (fallback)."""

    def __init__(self, it: Any) -> None:
        self.it = it

    def close(self) -> Any:
        close = getattr(self.it, "aclose", None) or getattr(self.it, "close", None)
        return close() if close is not None else None


def _is_async_client(client: Any) -> bool:
    try:
        from google.genai import client as gclient
    except ImportError:  # pragma: no cover
        return type(client).__name__.startswith("Async")
    return isinstance(client, gclient.AsyncClient)


class GenAIProvider(Provider):
    """Gemini through ``google-genai``. See the module docstring for what streams in each mode.

    ``client`` is a ``genai.Client`` (sync) or its ``client.aio`` (async); ``use_async=True``
    with a sync ``Client`` uses ``client.aio``. ``schema_field`` picks the config field that
    carries the JSON schema in JSON mode (``"response_json_schema"``, the default, takes JSON
    Schema as is; ``"response_schema"`` is the older OpenAPI-subset field).
    """

    name = "genai"
    default_mode = Mode.JSON
    default_responses_mode = Mode.JSON
    supported_modes = frozenset({Mode.JSON, Mode.MD_JSON, Mode.TOOLS, Mode.PARALLEL_TOOLS})
    capabilities = Capabilities(
        modes={
            # response_json_schema holds the model to the schema; parsed leniently as before
            Mode.JSON: ModeCapabilities(lenient=True, constrained=True, reasoning=True),
            Mode.MD_JSON: replace(LENIENT, reasoning=True, prose=True),
            # function-call args arrive whole, in one frame; text parts beside them are prose
            Mode.TOOLS: ModeCapabilities(incremental=False, reasoning=True, prose=True),
            Mode.PARALLEL_TOOLS: ModeCapabilities(
                incremental=False, reasoning=True, prose=True, parallel=True
            ),
        }
    )

    def __init__(
        self,
        client: Any,
        mode: Mode | str | None = None,
        use_async: bool = False,
        schema_field: Literal["response_json_schema", "response_schema"] = "response_json_schema",
    ) -> None:
        if use_async and not _is_async_client(client):
            client = client.aio
        self.client = client
        self.is_async = _is_async_client(client)
        self.schema_field = schema_field
        if mode is not None:
            mode = Mode(mode)
            self._check_mode(mode)
            self.default_mode = mode
            self.default_responses_mode = mode

    def _check_mode(self, mode: Mode) -> None:
        if mode not in self.supported_modes:
            raise unsupported_mode(self.name, mode, self.supported_modes)

    @property
    def _api_client(self) -> Any:
        return self.client._api_client

    @property
    def _async_api_client(self) -> Any:
        return self.client._api_client

    # -- sans-IO -------------------------------------------------------------------------------
    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        self._check_mode(mode)
        model = call.model
        if not model:
            raise ConfigurationError("genai: model=... is required (e.g. 'gemini-2.5-flash')")
        kw = dict(call.extra)
        system, messages = call.split()
        conv = [_content(m) for m in messages]
        config = _config_dict(kw.pop("config", None))
        sys_given = config.pop("system_instruction", None)
        if sys_given:  # after instructions=, before the system messages
            system.insert(len(call.system), text_of(sys_given))
        if call.max_tokens is not None:
            config["max_output_tokens"] = call.max_tokens
        if call.stop is not None:
            config["stop_sequences"] = call.stop
        config.update(kw)  # temperature, top_p, seed ... (GenerateContentConfig fields)
        if mode == Mode.JSON:
            config["response_mime_type"] = "application/json"
            config.pop("response_schema", None)
            config.pop("response_json_schema", None)
            config[self.schema_field] = spec.json_schema
        elif mode == Mode.MD_JSON:
            system.append(spec.md_prompt())
        elif mode == Mode.TOOLS:
            _offer(config, [(spec.name, spec.description, spec.json_schema)])
        else:  # PARALLEL_TOOLS: several functionCall parts are allowed without a flag
            tools = parallel_tools(spec.response_model)
            _offer(config, [(t.name, t.description, t.json_schema) for t in tools])
        if system:
            config["system_instruction"] = "\n\n".join(system)
        return Request(
            kind="generate_content_stream",
            kwargs={"model": model, "contents": conv, "config": config},
            mode=mode,
            extra={"function_name": spec.name},
        )

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        kw = dict(request.kwargs)
        contents = list(kw.get("contents") or [])
        contents.append({"role": "model", "parts": [{"text": raw_text or "(no output)"}]})
        what = {Mode.TOOLS: "function arguments", Mode.PARALLEL_TOOLS: "function calls"}.get(
            Mode(request.mode), "JSON"
        )
        contents.append({"role": "user", "parts": [{"text": reask_feedback(what, error)}]})
        kw["contents"] = contents
        return replace(request, kwargs=kw, extra=dict(request.extra))

    def _decoder(self, request: Request) -> _GeminiDecoder:
        config = request.kwargs.get("config") or {}
        return _GeminiDecoder(
            Mode(request.mode),
            request.extra.get("function_name"),
            continue_enabled=config.get("automatic_continuation") is not False,
        )

    def _warn_if_whole(self, request: Request) -> None:
        if not self.capabilities.mode(request.mode).incremental:
            warn_streaming_degraded(
                self,
                f"genai: Mode.{Mode(request.mode).name} gets each function call's arguments "
                "whole, in one frame (use Mode.JSON to watch partials grow)",
                stacklevel=3,
            )

    # -- IO ------------------------------------------------------------------------------------
    def open_stream(self, request: Request) -> DeltaStream:
        if self.is_async:
            return super().open_stream(request)
        self._warn_if_whole(request)
        decoder = self._decoder(request)
        api_client = self._api_client
        if not _has_internals(api_client):  # future SDKs (tests patch _has_internals)
            it = _SDKIterator(self.client.models.generate_content_stream(**request.kwargs))
            chunks = partial(sdk_objects, to_dict=_dump_chunk)
            return HTTPDeltaStream(
                it, decoder, _ERRORS, chunks=lambda s: chunks(s.it), objects=True
            )

        def reopen(token: bytes | None) -> Any:
            prepared = _Prepared(api_client, request.kwargs, token)
            response = api_client._request(
                prepared.http_request, prepared.http_options, stream=True
            )
            return response.response_stream

        # HTTP errors raise the SDK's exceptions here
        return HTTPDeltaStream(reopen(None), decoder, _ERRORS, reopen=reopen)

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        if not self.is_async:
            return await super().aopen_stream(request)
        self._warn_if_whole(request)
        decoder = self._decoder(request)
        api_client = self._async_api_client
        if not _has_internals(api_client):  # future SDKs (tests patch _has_internals)
            it = _SDKIterator(await self.client.models.generate_content_stream(**request.kwargs))
            achunks = partial(asdk_objects, to_dict=_dump_chunk)
            return AsyncHTTPDeltaStream(
                it, decoder, _ERRORS, chunks=lambda s: achunks(s.it), objects=True
            )

        async def reopen(token: bytes | None) -> Any:
            prepared = _Prepared(api_client, request.kwargs, token)
            response = await api_client._async_request(
                http_request=prepared.http_request,
                http_options=prepared.http_options,
                stream=True,
            )
            return response.response_stream

        return AsyncHTTPDeltaStream(await reopen(None), decoder, _ERRORS, reopen=reopen)
