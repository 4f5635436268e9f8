"""Anthropic Messages API wire format for the replay server (:mod:`tests.replay.base`).

Builds the exact server-sent events ``POST /v1/messages`` streams (``stream: true``)::

    event: message_start        {"type":"message_start","message":{... "usage":{"input_tokens":N,...}}}
    event: content_block_start  {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":..,"name":..,"input":{}}}
    event: ping                 {"type":"ping"}
    event: content_block_delta  {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"..."}}
    event: content_block_stop   {"type":"content_block_stop","index":0}
    event: message_delta        {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":N}}
    event: message_stop         {"type":"message_stop"}

(text blocks use ``{"type":"text","text":""}`` and ``text_delta`` deltas), mid-stream errors
as ``event: error`` ``{"type":"error","error":{"type":"overloaded_error","message":...}}`` and
HTTP errors as a status with ``{"type":"error","error":{...},"request_id":...}``. The shapes
follow the SDK's ``RawMessageStreamEvent`` types; ``test_anthropic.py`` checks that the SDK's
own stream parser accepts them.

Use: ``server.add(tool_script(["{\\"a\\":", "1}"]))`` and ``make_client(server)``.
"""

from __future__ import annotations

from typing import Any

from .base import ReplayServer, Script, sse_frame

MODEL = "claude-test-1"


def frame(payload: dict[str, Any]) -> bytes:
    return sse_frame(payload, event=payload["type"])


def message_start(input_tokens: int = 11, model: str = MODEL, msg_id: str = "msg_01") -> bytes:
    return frame(
        {
            "type": "message_start",
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": model,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 1,
                },
            },
        }
    )


def ping() -> bytes:
    return frame({"type": "ping"})


def tool_block_start(name: str, index: int = 0, tool_id: str = "toolu_01") -> bytes:
    return frame(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
        }
    )


def text_block_start(index: int = 0) -> bytes:
    return frame(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
    )


def json_delta(piece: str, index: int = 0) -> bytes:
    return frame(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": piece},
        }
    )


def text_delta(piece: str, index: int = 0) -> bytes:
    return frame(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": piece},
        }
    )


def block_stop(index: int = 0) -> bytes:
    return frame({"type": "content_block_stop", "index": index})


def message_delta(stop_reason: str | None, output_tokens: int = 42, **delta: Any) -> bytes:
    return frame(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None, **delta},
            "usage": {"output_tokens": output_tokens},
        }
    )


def message_stop() -> bytes:
    return frame({"type": "message_stop"})


def error_event(err_type: str = "overloaded_error", message: str = "Overloaded") -> bytes:
    return frame({"type": "error", "error": {"type": err_type, "message": message}})


def tool_chunks(
    pieces: list[str],
    *,
    name: str = "Response",
    stop_reason: str | None = "tool_use",
    input_tokens: int = 11,
    output_tokens: int = 42,
    end: bool = True,
) -> list[bytes]:
    """The frames of a forced tool-use answer whose input JSON arrives as ``pieces``."""
    chunks = [message_start(input_tokens), tool_block_start(name), ping()]
    chunks += [json_delta(p) for p in pieces]
    if end:
        chunks += [block_stop(), message_delta(stop_reason, output_tokens), message_stop()]
    return chunks


def text_chunks(
    pieces: list[str],
    *,
    stop_reason: str | None = "end_turn",
    input_tokens: int = 11,
    output_tokens: int = 42,
    end: bool = True,
) -> list[bytes]:
    """The frames of a text answer (JSON mode) arriving as ``pieces``."""
    chunks = [message_start(input_tokens), text_block_start(), ping()]
    chunks += [text_delta(p) for p in pieces]
    if end:
        chunks += [block_stop(), message_delta(stop_reason, output_tokens), message_stop()]
    return chunks


def tool_script(pieces: list[str], **kw: Any) -> Script:
    script_kw = {
        k: kw.pop(k) for k in ("delay", "gates", "truncate_after", "drop_after") if k in kw
    }
    return Script(chunks=tool_chunks(pieces, **kw), **script_kw)


def text_script(pieces: list[str], **kw: Any) -> Script:
    script_kw = {
        k: kw.pop(k) for k in ("delay", "gates", "truncate_after", "drop_after") if k in kw
    }
    return Script(chunks=text_chunks(pieces, **kw), **script_kw)


def http_error(
    status: int = 400,
    err_type: str = "invalid_request_error",
    message: str = "bad request",
) -> Script:
    return Script.json(
        {
            "type": "error",
            "error": {"type": err_type, "message": message},
            "request_id": "req_test",
        },
        status=status,
        headers={"request-id": "req_test"},
    )


def make_client(
    server: ReplayServer,
    *,
    use_async: bool = False,
    async_transport: str = "httpx",
    timeout: float | None = None,
    max_retries: int = 0,
) -> Any:
    """An ``anthropic.Anthropic`` / ``AsyncAnthropic`` pointed at the replay server (no retries
    unless ``max_retries``; the SDK's default timeout unless ``timeout``, in seconds).

    ``async_transport="aiohttp"``: the SDK's ``DefaultAioHttpClient`` (``anthropic[aiohttp]``).
    """
    import anthropic

    kw: dict[str, Any] = {"base_url": server.url, "api_key": "test", "max_retries": max_retries}
    if timeout is not None:
        kw["timeout"] = timeout
    if not use_async:
        return anthropic.Anthropic(**kw)
    http_client = anthropic.DefaultAioHttpClient() if async_transport == "aiohttp" else None
    return anthropic.AsyncAnthropic(http_client=http_client, **kw)
