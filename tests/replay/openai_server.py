"""OpenAI's wire formats for the replay server (:mod:`tests.replay.base`).

Builds :class:`~tests.replay.base.Script` objects that speak exactly what api.openai.com
sends (checked against the installed SDK's types in ``tests/openai/test_openai_server.py``):

Chat Completions (``POST /v1/chat/completions`` with ``stream: true``) -- ``data: {json}``
frames of ``chat.completion.chunk`` objects, then ``data: [DONE]``:

* the first chunk carries ``delta.role = "assistant"`` (and for tool calls
  ``tool_calls[0] = {index, id, type: "function", function: {name, arguments: ""}}``);
* then content pieces (``delta.content``) or argument pieces
  (``delta.tool_calls[0] = {index: 0, function: {arguments: piece}}``) or refusal pieces
  (``delta.refusal``);
* a chunk with an empty ``delta`` and ``finish_reason``;
* with ``stream_options.include_usage`` every chunk has ``"usage": null`` and a last chunk
  has ``"choices": []`` and the usage;
* ``data: [DONE]``.

Responses API (``POST /v1/responses`` with ``stream: true``) -- ``event: <type>`` +
``data: {json}`` frames: ``response.created``, ``response.in_progress``,
``response.output_item.added``, (``response.content_part.added``,
``response.output_text.delta``* / ``response.refusal.delta``*, ``...done``,
``response.content_part.done``) or ``response.function_call_arguments.delta``* +
``...done``, ``response.output_item.done``, then ``response.completed`` (with usage) or
``response.incomplete`` (``incomplete_details.reason``), every event with a growing
``sequence_number``.

Reasoning, prose, several tool calls, full usage (the composable builders at the end):
``chat_script(deltas)`` with ``chat_reasoning_deltas`` (``delta.reasoning_content`` or
``delta.reasoning``), ``chat_content_deltas`` (``md_json`` for prose + fenced JSON),
``chat_tool_call_deltas`` (several calls by ``index``, interleaved or not) and ``interleave``;
it sends the usage chunk only when the request asked for it, like the real API.
``responses_script([reasoning_item([...]), message_item(doc) | function_call_item(doc, name),
...], interleaved=...)`` for the Responses API. ``usage=Tokens(input, output, cached=,
reasoning=)`` everywhere. ``tests/replay/test_formats.py`` reads them with the openai SDK.

Errors: :func:`error_script` -- HTTP status + ``{"error": {message, type, param, code}}``.

All ``*_script`` helpers take the document as a JSON-able value or a string, split it into
``n``-character pieces, and pass ``**script_kw`` (delay, gates, truncate_after, drop_after)
to :class:`Script`. ``*_frames`` variants return the frame list to compose your own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import Script, Tokens, as_tokens, sse_frame

MODEL = "gpt-4o-mini-2024-07-18"
CREATED = 1_760_000_000


def as_text(doc: Any) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc, separators=(",", ":"))


def split(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)] or [""]


# -- chat.completion.chunk -----------------------------------------------------------------


def chat_chunk(
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    *,
    include_usage: bool = True,
    chunk_id: str = "chatcmpl-replay",
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_replay",
        "choices": [
            {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
        ],
    }
    if include_usage:
        chunk["usage"] = None
    return chunk


def chat_usage_chunk(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
) -> dict[str, Any]:
    """The last chunk with ``stream_options.include_usage``: ``choices: []`` and the usage
    (``completion_tokens`` includes the ``reasoning_tokens``, as OpenAI counts them)."""
    chunk = chat_chunk(None)
    chunk["choices"] = []
    chunk["usage"] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    return chunk


def _chat_tail(
    finish_reason: str | None, usage: tuple[int, int] | None, include_usage: bool, done: bool
) -> list[bytes]:
    frames: list[bytes] = []
    if finish_reason is not None:
        frames.append(sse_frame(chat_chunk({}, finish_reason, include_usage=include_usage)))
    if include_usage and usage is not None:
        frames.append(sse_frame(chat_usage_chunk(*usage)))
    if done:
        frames.append(sse_frame("[DONE]"))
    return frames


def chat_content_frames(
    doc: Any,
    n: int = 4,
    *,
    finish_reason: str | None = "stop",
    usage: tuple[int, int] | None = (11, 22),
    include_usage: bool = True,
    done: bool = True,
) -> list[bytes]:
    """Content deltas (JSON_SCHEMA / JSON / MD_JSON modes)."""
    iu = include_usage
    frames = [
        sse_frame(
            chat_chunk({"role": "assistant", "content": "", "refusal": None}, include_usage=iu)
        )
    ]
    frames += [
        sse_frame(chat_chunk({"content": piece}, include_usage=iu))
        for piece in split(as_text(doc), n)
    ]
    return frames + _chat_tail(finish_reason, usage, iu, done)


def chat_tool_frames(
    doc: Any,
    n: int = 4,
    *,
    name: str = "Response",
    call_id: str = "call_replay1",
    finish_reason: str | None = "tool_calls",
    usage: tuple[int, int] | None = (11, 22),
    include_usage: bool = True,
    done: bool = True,
) -> list[bytes]:
    """A forced tool call: name on the first chunk, argument pieces after."""
    iu = include_usage
    first = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ],
        "refusal": None,
    }
    frames = [sse_frame(chat_chunk(first, include_usage=iu))]
    frames += [
        sse_frame(
            chat_chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, include_usage=iu
            )
        )
        for piece in split(as_text(doc), n)
    ]
    return frames + _chat_tail(finish_reason, usage, iu, done)


def chat_refusal_frames(
    text: str = "I'm sorry, I can't help with that.", n: int = 8, *, include_usage: bool = True
) -> list[bytes]:
    iu = include_usage
    frames = [
        sse_frame(
            chat_chunk({"role": "assistant", "content": None, "refusal": ""}, include_usage=iu)
        )
    ]
    frames += [
        sse_frame(chat_chunk({"refusal": piece}, include_usage=iu)) for piece in split(text, n)
    ]
    return frames + _chat_tail("stop", (11, 9), iu, True)


def _chat_builder(frames: Any, doc: Any, n: int, frame_kw: dict[str, Any], kw: Any) -> Script:
    """``include_usage="request"``: decide when the request arrives, like the real API."""
    if frame_kw.get("include_usage") != "request":
        return Script(chunks=frames(doc, n, **frame_kw), **kw)
    del frame_kw["include_usage"]
    return Script(
        build=lambda req: frames(doc, n, include_usage=requested_usage(req), **frame_kw), **kw
    )


def chat_content_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    """``chat_content_frames`` as a Script; ``include_usage="request"`` sends the usage only
    when the request asked for it (``stream_options.include_usage``)."""
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _CHAT_FRAME_KW}
    return _chat_builder(chat_content_frames, doc, n, frame_kw, kw)


def chat_tool_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    """``chat_tool_frames`` as a Script; ``include_usage="request"`` as in
    ``chat_content_script``."""
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _CHAT_FRAME_KW | {"name", "call_id"}}
    return _chat_builder(chat_tool_frames, doc, n, frame_kw, kw)


def chat_refusal_script(text: str = "I'm sorry, I can't help with that.", **kw: Any) -> Script:
    return Script(chunks=chat_refusal_frames(text), **kw)


_CHAT_FRAME_KW = {"finish_reason", "usage", "include_usage", "done"}


# -- Responses API -------------------------------------------------------------------------


def response_object(
    status: str,
    output: list[dict[str, Any]],
    *,
    usage: tuple[int, ...] | Tokens | None = None,
    incomplete_reason: str | None = None,
    response_id: str = "resp_replay1",
    reasoning: dict[str, Any] | None = None,
) -> dict[str, Any]:
    tokens = None if usage is None else as_tokens(usage)
    return {
        "id": response_id,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": MODEL,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": reasoning or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None
        if tokens is None
        else {
            "input_tokens": tokens.input,
            "input_tokens_details": {
                "cached_tokens": tokens.cached,
                "cache_write_tokens": tokens.cache_write,
            },
            "output_tokens": tokens.output,
            "output_tokens_details": {"reasoning_tokens": tokens.reasoning},
            "total_tokens": tokens.input + tokens.output,
        },
        "user": None,
        "metadata": {},
    }


class _Seq:
    def __init__(self) -> None:
        self.n = 0

    def frame(self, event: dict[str, Any]) -> bytes:
        event["sequence_number"] = self.n
        self.n += 1
        return sse_frame(event, event=event["type"])


def _responses_head(seq: _Seq) -> list[bytes]:
    return [
        seq.frame({"type": "response.created", "response": response_object("in_progress", [])}),
        seq.frame({"type": "response.in_progress", "response": response_object("in_progress", [])}),
    ]


def _responses_tail(
    seq: _Seq,
    items: list[dict[str, Any]],
    usage: tuple[int, int],
    incomplete_reason: str | None,
) -> bytes:
    if incomplete_reason:
        return seq.frame(
            {
                "type": "response.incomplete",
                "response": response_object(
                    "incomplete", items, usage=usage, incomplete_reason=incomplete_reason
                ),
            }
        )
    return seq.frame(
        {"type": "response.completed", "response": response_object("completed", items, usage=usage)}
    )


def responses_text_frames(
    doc: Any,
    n: int = 4,
    *,
    usage: tuple[int, int] = (11, 22),
    incomplete_reason: str | None = None,
    item_id: str = "msg_replay1",
) -> list[bytes]:
    """``text.format`` json_schema output: ``response.output_text.delta`` events."""
    text = as_text(doc)
    seq = _Seq()
    frames = _responses_head(seq)
    status = "incomplete" if incomplete_reason else "completed"
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    loc = {"item_id": item_id, "output_index": 0, "content_index": 0}
    frames.append(
        seq.frame(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                },
            }
        )
    )
    frames.append(seq.frame({"type": "response.content_part.added", **loc, "part": dict(part)}))
    for piece in split(text, n):
        frames.append(
            seq.frame(
                {
                    "type": "response.output_text.delta",
                    **loc,
                    "delta": piece,
                    "logprobs": [],
                    "obfuscation": "x" * (8 - len(piece) % 8),
                }
            )
        )
    done_part = dict(part, text=text)
    item = {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": [done_part],
        "role": "assistant",
    }
    if not incomplete_reason:
        frames.append(
            seq.frame({"type": "response.output_text.done", **loc, "text": text, "logprobs": []})
        )
        frames.append(seq.frame({"type": "response.content_part.done", **loc, "part": done_part}))
    frames.append(seq.frame({"type": "response.output_item.done", "output_index": 0, "item": item}))
    frames.append(_responses_tail(seq, [item], usage, incomplete_reason))
    return frames


def responses_tool_frames(
    doc: Any,
    n: int = 4,
    *,
    name: str = "Response",
    usage: tuple[int, int] = (11, 22),
    incomplete_reason: str | None = None,
    item_id: str = "fc_replay1",
    call_id: str = "call_replay1",
) -> list[bytes]:
    """A function tool call: ``response.function_call_arguments.delta`` events."""
    text = as_text(doc)
    seq = _Seq()
    frames = _responses_head(seq)
    added = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": name,
    }
    frames.append(
        seq.frame({"type": "response.output_item.added", "output_index": 0, "item": added})
    )
    for piece in split(text, n):
        frames.append(
            seq.frame(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "delta": piece,
                    "obfuscation": "x" * (8 - len(piece) % 8),
                }
            )
        )
    item = dict(added, arguments=text, status="incomplete" if incomplete_reason else "completed")
    if not incomplete_reason:
        frames.append(
            seq.frame(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item_id,
                    "output_index": 0,
                    "arguments": text,
                }
            )
        )
    frames.append(seq.frame({"type": "response.output_item.done", "output_index": 0, "item": item}))
    frames.append(_responses_tail(seq, [item], usage, incomplete_reason))
    return frames


def responses_refusal_frames(
    text: str = "I'm sorry, I can't help with that.", n: int = 8, *, item_id: str = "msg_replay1"
) -> list[bytes]:
    seq = _Seq()
    frames = _responses_head(seq)
    loc = {"item_id": item_id, "output_index": 0, "content_index": 0}
    frames.append(
        seq.frame(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "status": "in_progress",
                    "content": [],
                    "role": "assistant",
                },
            }
        )
    )
    frames.append(
        seq.frame(
            {
                "type": "response.content_part.added",
                **loc,
                "part": {"type": "refusal", "refusal": ""},
            }
        )
    )
    for piece in split(text, n):
        frames.append(seq.frame({"type": "response.refusal.delta", **loc, "delta": piece}))
    part = {"type": "refusal", "refusal": text}
    frames.append(seq.frame({"type": "response.refusal.done", **loc, "refusal": text}))
    frames.append(seq.frame({"type": "response.content_part.done", **loc, "part": part}))
    item = {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "content": [part],
        "role": "assistant",
    }
    frames.append(seq.frame({"type": "response.output_item.done", "output_index": 0, "item": item}))
    frames.append(_responses_tail(seq, [item], (11, 9), None))
    return frames


def responses_failed_frames(message: str = "The server had an error.") -> list[bytes]:
    seq = _Seq()
    frames = _responses_head(seq)
    resp = response_object("failed", [])
    resp["error"] = {"code": "server_error", "message": message}
    frames.append(seq.frame({"type": "response.failed", "response": resp}))
    return frames


_RESP_FRAME_KW = {"usage", "incomplete_reason", "item_id", "name", "call_id"}


def responses_text_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _RESP_FRAME_KW}
    return Script(chunks=responses_text_frames(doc, n, **frame_kw), **kw)


def responses_tool_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _RESP_FRAME_KW}
    return Script(chunks=responses_tool_frames(doc, n, **frame_kw), **kw)


def responses_refusal_script(text: str = "I'm sorry, I can't help with that.", **kw: Any) -> Script:
    return Script(chunks=responses_refusal_frames(text), **kw)


# -- errors --------------------------------------------------------------------------------

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}


def error_body(
    message: str, type: str = "server_error", code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_script(status: int, message: str = "replay error", code: str | None = None) -> Script:
    """An HTTP error exactly as OpenAI sends it (status + JSON ``{"error": {...}}``)."""
    headers = {"x-request-id": "req_replay"}
    if status == 429:
        headers["retry-after"] = "0"
    return Script.json(
        error_body(message, _ERROR_TYPES.get(status, "server_error"), code),
        status=status,
        headers=headers,
    )


def stream_error_frame(message: str = "stream failed") -> bytes:
    """A chat stream's mid-stream error event (``data: {"error": {...}}``)."""
    return sse_frame(error_body(message))


# -- composable streams: reasoning, prose, several tool calls, usage (issue 18) -------------
#
# Chat Completions: a stream is a list of ``delta`` dicts, one chunk each, built with
# ``chat_reasoning_deltas`` / ``chat_content_deltas`` / ``chat_tool_call_deltas`` and merged
# with ``interleave``; ``chat_frames`` wraps them in chunks (role first, then the deltas, the
# finish chunk, the usage chunk, ``[DONE]``) and ``chat_script`` does so when the request
# arrives, sending the usage only when ``stream_options.include_usage`` was asked for.


def interleave(*streams: Sequence[Any]) -> list[Any]:
    """Round-robin merge: the first element of each stream, then the second of each, ..."""
    out: list[Any] = []
    for i in range(max((len(s) for s in streams), default=0)):
        out += [s[i] for s in streams if i < len(s)]
    return out


def chat_reasoning_deltas(
    text: str, n: int = 4, *, key: str = "reasoning_content"
) -> list[dict[str, Any]]:
    """Reasoning pieces as OpenAI-compatible servers send them: ``delta.reasoning_content``
    (vLLM, DeepSeek, llama.cpp's server) or, with ``key="reasoning"``, ``delta.reasoning``
    (Ollama, OpenRouter). Not in the openai SDK's types: the SDK keeps them in
    ``delta.model_extra``."""
    return [{key: piece} for piece in split(text, n)]


def chat_content_deltas(doc: Any, n: int = 4) -> list[dict[str, Any]]:
    """``delta.content`` pieces of ``doc`` (a JSON-able value or a string, e.g. ``md_json``)."""
    return [{"content": piece} for piece in split(as_text(doc), n)]


def md_json(doc: Any, prose: str = "Here is the result:", after: str = "") -> str:
    """A chat answer in MD_JSON style: prose, then the JSON in a fenced block, then ``after``."""
    return f"{prose}\n\n```json\n{as_text(doc)}\n```{after}"


def chat_tool_call_deltas(
    calls: Sequence[tuple[str, Any] | tuple[str, Any, str]],
    n: int = 4,
    *,
    interleaved: bool = True,
) -> list[dict[str, Any]]:
    """Several tool calls ``(name, args_doc[, call_id])`` as ``delta.tool_calls`` entries with
    their ``index``: each call's first delta carries ``id``, ``type`` and ``function.name``
    (arguments ``""``), later ones only ``index`` and an ``arguments`` piece. ``interleaved``
    round-robins the calls' deltas (one piece of call 0, one of call 1, ...); otherwise one
    call after the other, as OpenAI itself sends them. Call ids default to
    ``call_replay1``, ``call_replay2``, ..."""
    per_call = []
    for index, call in enumerate(calls):
        name, doc = call[0], call[1]
        call_id = call[2] if len(call) > 2 else f"call_replay{index + 1}"  # type: ignore[misc]
        first = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        deltas = [{"tool_calls": [first]}]
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in split(as_text(doc), n)
        ]
        per_call.append(deltas)
    return interleave(*per_call) if interleaved else [d for c in per_call for d in c]


_ROLE = {"role": "assistant", "content": "", "refusal": None}


def chat_frames(
    deltas: Sequence[dict[str, Any]],
    *,
    finish_reason: str | None = "auto",
    usage: tuple[int, ...] | Tokens | None = (11, 22),
    include_usage: bool = True,
    done: bool = True,
    role_delta: dict[str, Any] | None = _ROLE,
) -> list[bytes]:
    """A chat stream of ``deltas``, one ``chat.completion.chunk`` each: first ``role_delta``
    (``{"role": "assistant", "content": "", "refusal": None}``, as api.openai.com starts; None
    puts ``role`` into the first delta instead), then the deltas, a chunk with an empty delta
    and ``finish_reason`` (``"auto"``: ``"tool_calls"`` when a delta has tool calls, else
    ``"stop"``; None: no such chunk), with ``include_usage`` every chunk's ``"usage": null``
    and a last ``choices: []`` chunk with ``usage`` (``Tokens``: ``cached`` ->
    ``prompt_tokens_details.cached_tokens``, ``reasoning`` ->
    ``completion_tokens_details.reasoning_tokens``), then ``data: [DONE]`` unless ``done`` is
    False."""
    iu = include_usage
    if finish_reason == "auto":
        finish_reason = "tool_calls" if any("tool_calls" in d for d in deltas) else "stop"
    body = [dict(d) for d in deltas]
    if role_delta is not None:
        body.insert(0, dict(role_delta))
    elif body:
        body[0] = {"role": "assistant", **body[0]}
    frames = [sse_frame(chat_chunk(d, include_usage=iu)) for d in body]
    if finish_reason is not None:
        frames.append(sse_frame(chat_chunk({}, finish_reason, include_usage=iu)))
    if iu and usage is not None:
        t = as_tokens(usage)
        frames.append(
            sse_frame(
                chat_usage_chunk(
                    t.input, t.output, cached_tokens=t.cached, reasoning_tokens=t.reasoning
                )
            )
        )
    if done:
        frames.append(sse_frame("[DONE]"))
    return frames


def requested_usage(request: Any) -> bool:
    """Whether a chat request asked for the usage chunk (``stream_options.include_usage``)."""
    options = request.get("stream_options") if isinstance(request, dict) else None
    return bool(isinstance(options, dict) and options.get("include_usage"))


def chat_script(deltas: Sequence[dict[str, Any]], **kw: Any) -> Script:
    """A :class:`Script` playing ``chat_frames(deltas, ...)``; like the real API it sends the
    ``"usage": null`` fields and the usage chunk only when the request had
    ``stream_options: {"include_usage": true}``. Other keywords go to :class:`Script`."""
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _CHAT_FRAME_KW | {"role_delta"}}
    frame_kw.pop("include_usage", None)
    frozen = [dict(d) for d in deltas]
    return Script(
        build=lambda req: chat_frames(frozen, include_usage=requested_usage(req), **frame_kw),
        **kw,
    )


# Responses API: a stream is a list of output items -- ``reasoning_item``, ``message_item``,
# ``function_call_item`` -- each at its ``output_index``; ``responses_frames`` sends each
# item's events in order (``interleaved=True`` round-robins the function calls' argument
# deltas), then ``response.completed`` with every item and the usage.


@dataclass
class OutputItem:
    """One Responses API output item to stream; build it with the functions below."""

    type: str  # "reasoning" | "message" | "function_call"
    item_id: str
    text: str = ""  # the message text or the call's arguments
    name: str = ""
    call_id: str = ""
    summary: list[str] = field(default_factory=list)
    reasoning_text: str | None = None
    encrypted_content: str | None = None


def reasoning_item(
    summary: Sequence[str] = (),
    *,
    text: str | None = None,
    item_id: str = "rs_replay1",
    encrypted_content: str | None = None,
) -> OutputItem:
    """A reasoning item: each of ``summary`` is one summary part
    (``response.reasoning_summary_part.added``, ``..._summary_text.delta``*,
    ``..._summary_text.done``, ``..._summary_part.done``, with its ``summary_index``);
    ``text`` adds the raw reasoning content (``response.content_part.added`` with a
    ``reasoning_text`` part, ``response.reasoning_text.delta``*, ``...done``) as open-weight
    models served with the Responses API send it."""
    return OutputItem(
        "reasoning",
        item_id,
        summary=list(summary),
        reasoning_text=text,
        encrypted_content=encrypted_content,
    )


def message_item(doc: Any, *, item_id: str = "msg_replay1") -> OutputItem:
    """An assistant message with one ``output_text`` part (``response.output_text.delta``*)."""
    return OutputItem("message", item_id, text=as_text(doc))


def function_call_item(
    doc: Any, name: str = "Response", *, call_id: str = "call_replay1", item_id: str = "fc_replay1"
) -> OutputItem:
    """A function call (``response.function_call_arguments.delta``* with ``item_id`` and
    ``output_index``)."""
    return OutputItem("function_call", item_id, text=as_text(doc), name=name, call_id=call_id)


def _obfuscation(piece: str) -> str:
    return "x" * (8 - len(piece) % 8)


def _item_events(
    item: OutputItem, index: int, n: int, complete: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events of one output item (without sequence numbers) and its final form."""
    status = "completed" if complete else "incomplete"
    ev: list[dict[str, Any]] = []
    if item.type == "reasoning":
        added: dict[str, Any] = {"id": item.item_id, "type": "reasoning", "summary": []}
        if item.encrypted_content is not None:
            added["encrypted_content"] = item.encrypted_content
        final = dict(added, summary=[{"type": "summary_text", "text": t} for t in item.summary])
        if item.reasoning_text is not None:
            added["content"] = []
            final["content"] = [{"type": "reasoning_text", "text": item.reasoning_text}]
        ev.append({"type": "response.output_item.added", "output_index": index, "item": added})
        loc = {"item_id": item.item_id, "output_index": index}
        for s, text in enumerate(item.summary):
            part = {"type": "summary_text", "text": ""}
            ev.append(
                {
                    "type": "response.reasoning_summary_part.added",
                    **loc,
                    "summary_index": s,
                    "part": part,
                }
            )
            ev += [
                {
                    "type": "response.reasoning_summary_text.delta",
                    **loc,
                    "summary_index": s,
                    "delta": piece,
                    "obfuscation": _obfuscation(piece),
                }
                for piece in split(text, n)
            ]
            ev.append(
                {
                    "type": "response.reasoning_summary_text.done",
                    **loc,
                    "summary_index": s,
                    "text": text,
                }
            )
            ev.append(
                {
                    "type": "response.reasoning_summary_part.done",
                    **loc,
                    "summary_index": s,
                    "part": dict(part, text=text),
                }
            )
        if item.reasoning_text is not None:
            rloc = {**loc, "content_index": 0}
            part = {"type": "reasoning_text", "text": ""}
            ev.append({"type": "response.content_part.added", **rloc, "part": part})
            ev += [
                {
                    "type": "response.reasoning_text.delta",
                    **rloc,
                    "delta": piece,
                    "obfuscation": _obfuscation(piece),
                }
                for piece in split(item.reasoning_text, n)
            ]
            text = item.reasoning_text
            ev.append({"type": "response.reasoning_text.done", **rloc, "text": text})
            ev.append({"type": "response.content_part.done", **rloc, "part": dict(part, text=text)})
    elif item.type == "message":
        added = {
            "id": item.item_id,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        loc = {"item_id": item.item_id, "output_index": index, "content_index": 0}
        done_part = dict(part, text=item.text)
        final = dict(added, status=status, content=[done_part])
        ev.append({"type": "response.output_item.added", "output_index": index, "item": added})
        ev.append({"type": "response.content_part.added", **loc, "part": dict(part)})
        ev += [
            {
                "type": "response.output_text.delta",
                **loc,
                "delta": piece,
                "logprobs": [],
                "obfuscation": _obfuscation(piece),
            }
            for piece in split(item.text, n)
        ]
        if complete:
            ev.append(
                {"type": "response.output_text.done", **loc, "text": item.text, "logprobs": []}
            )
            ev.append({"type": "response.content_part.done", **loc, "part": done_part})
    else:
        assert item.type == "function_call", item.type
        added = {
            "id": item.item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": item.call_id,
            "name": item.name,
        }
        final = dict(added, arguments=item.text, status=status)
        loc = {"item_id": item.item_id, "output_index": index}
        ev.append({"type": "response.output_item.added", "output_index": index, "item": added})
        ev += [
            {
                "type": "response.function_call_arguments.delta",
                **loc,
                "delta": piece,
                "obfuscation": _obfuscation(piece),
            }
            for piece in split(item.text, n)
        ]
        if complete:
            ev.append(
                {"type": "response.function_call_arguments.done", **loc, "arguments": item.text}
            )
    ev.append({"type": "response.output_item.done", "output_index": index, "item": final})
    return ev, final


def responses_frames(
    items: Sequence[OutputItem],
    n: int = 4,
    *,
    usage: tuple[int, ...] | Tokens = (11, 22),
    incomplete_reason: str | None = None,
    interleaved: bool = False,
    end: bool = True,
) -> list[bytes]:
    """A Responses API stream of ``items`` at output indexes 0, 1, ...: ``response.created``,
    ``response.in_progress``, each item's events (``interleaved``: the function calls' events
    round-robin from where the first call is, each call's ``output_item.added`` before its
    first delta), then ``response.completed`` with all items and the usage (``Tokens``:
    ``cached`` -> ``input_tokens_details.cached_tokens``, ``cache_write`` ->
    ``...cache_write_tokens``, ``reasoning`` -> ``output_tokens_details.reasoning_tokens``)
    -- or, with ``incomplete_reason``, the last item cut (no inner ``.done`` events, status
    ``incomplete``) and ``response.incomplete``. ``end=False`` leaves out the final event
    (a stream cut before it)."""
    seq = _Seq()
    frames = _responses_head(seq)
    per_item = []
    finals = []
    for index, item in enumerate(items):
        complete = not (incomplete_reason and index == len(items) - 1)
        events, final = _item_events(item, index, n, complete)
        per_item.append(events)
        finals.append(final)
    calls = [i for i, item in enumerate(items) if item.type == "function_call"]
    order: list[dict[str, Any]] = []
    for i, events in enumerate(per_item):
        if interleaved and calls and i in calls:
            if i == calls[0]:
                order += interleave(*(per_item[c] for c in calls))
            continue
        order += events
    frames += [seq.frame(e) for e in order]
    if end:
        reasoning = (
            {"effort": "medium", "summary": "auto"}
            if any(item.type == "reasoning" for item in items)
            else None
        )
        status = "incomplete" if incomplete_reason else "completed"
        response = response_object(
            status,
            finals,
            usage=usage,
            incomplete_reason=incomplete_reason,
            reasoning=reasoning,
        )
        frames.append(seq.frame({"type": f"response.{status}", "response": response}))
    return frames


def responses_script(items: Sequence[OutputItem], n: int = 4, **kw: Any) -> Script:
    """A :class:`Script` playing ``responses_frames(items, n, ...)``; other keywords go to
    :class:`Script`."""
    frame_kw = {
        k: kw.pop(k) for k in list(kw) if k in {"usage", "incomplete_reason", "interleaved", "end"}
    }
    return Script(chunks=responses_frames(items, n, **frame_kw), **kw)
