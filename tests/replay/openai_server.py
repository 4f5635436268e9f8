"""OpenAI's wire formats for the replay server (:mod:`tests.replay.base`).

Builds :class:`~tests.replay.base.Script` objects that speak exactly what api.openai.com
sends (checked against the installed SDK's types in ``tests/providers/test_openai_server.py``):

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

Errors: :func:`error_script` -- HTTP status + ``{"error": {message, type, param, code}}``.

All ``*_script`` helpers take the document as a JSON-able value or a string, split it into
``n``-character pieces, and pass ``**script_kw`` (delay, gates, truncate_after, drop_after)
to :class:`Script`. ``*_frames`` variants return the frame list to compose your own.
"""

from __future__ import annotations

import json
from typing import Any

from .base import Script, sse_frame

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


def chat_usage_chunk(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    chunk = chat_chunk(None)
    chunk["choices"] = []
    chunk["usage"] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
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


def chat_content_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _CHAT_FRAME_KW}
    return Script(chunks=chat_content_frames(doc, n, **frame_kw), **kw)


def chat_tool_script(doc: Any, n: int = 4, **kw: Any) -> Script:
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in _CHAT_FRAME_KW | {"name", "call_id"}}
    return Script(chunks=chat_tool_frames(doc, n, **frame_kw), **kw)


def chat_refusal_script(text: str = "I'm sorry, I can't help with that.", **kw: Any) -> Script:
    return Script(chunks=chat_refusal_frames(text), **kw)


_CHAT_FRAME_KW = {"finish_reason", "usage", "include_usage", "done"}


# -- Responses API -------------------------------------------------------------------------


def response_object(
    status: str,
    output: list[dict[str, Any]],
    *,
    usage: tuple[int, int] | None = None,
    incomplete_reason: str | None = None,
    response_id: str = "resp_replay1",
) -> dict[str, Any]:
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
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None
        if usage is None
        else {
            "input_tokens": usage[0],
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage[1],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage[0] + usage[1],
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
