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

Messages of several blocks (extended thinking, prose beside the object, several tool calls):
``message_script([thinking_block([...]), text_block([...]), tool_use_block([...], "A", "toolu_1"),
...], usage=Tokens(...))``; see ``message_chunks``. ``tests/replay/test_formats.py`` reads
them with the SDK's ``messages.stream`` into ``ThinkingBlock``/``ToolUseBlock`` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import ReplayServer, Script, Tokens, as_tokens, sse_frame

MODEL = "claude-test-1"


def frame(payload: dict[str, Any]) -> bytes:
    return sse_frame(payload, event=payload["type"])


def message_start(
    input_tokens: int = 11,
    model: str = MODEL,
    msg_id: str = "msg_01",
    *,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
) -> bytes:
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
                    "cache_creation_input_tokens": cache_creation_input_tokens,
                    "cache_read_input_tokens": cache_read_input_tokens,
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


def message_delta(
    stop_reason: str | None,
    output_tokens: int = 42,
    *,
    usage: dict[str, Any] | None = None,
    **delta: Any,
) -> bytes:
    """``message_delta``: the stop reason and the cumulative ``usage`` (``output_tokens``,
    plus whatever ``usage`` adds, e.g. ``output_tokens_details``)."""
    return frame(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None, **delta},
            "usage": {"output_tokens": output_tokens, **(usage or {})},
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


# -- several content blocks: thinking, text, tool_use (issue 18) --------------------------
#
# A message is a list of blocks, streamed one after the other at indexes 0, 1, ...: each
# block's ``content_block_start``, its deltas, its ``content_block_stop``, then the next.
# Anthropic's blocks never interleave (the Messages streaming docs: each block is a start,
# deltas, a stop), so several ``tool_use`` blocks follow each other; there is no interleaving
# option here on purpose.

SIGNATURE = "EqQBCkYIBxgCKkBreplaySignature"


@dataclass
class Block:
    """One content block to stream; build it with the functions below."""

    type: str  # "thinking" | "redacted_thinking" | "text" | "tool_use"
    pieces: list[str] = field(default_factory=list)
    name: str = ""
    tool_id: str = ""
    signature: str = ""
    data: str = ""


def thinking_block(pieces: Sequence[str], signature: str = SIGNATURE) -> Block:
    """A ``thinking`` block (extended thinking): ``content_block_start`` with
    ``{"type": "thinking", "thinking": "", "signature": ""}``, a ``thinking_delta`` per piece,
    one ``signature_delta`` just before ``content_block_stop``."""
    return Block("thinking", list(pieces), signature=signature)


def redacted_thinking_block(data: str = "EmwKAhgBEgy3va3pzix/LafPsn4a") -> Block:
    """A ``redacted_thinking`` block: whole in its ``content_block_start``, no deltas."""
    return Block("redacted_thinking", data=data)


def text_block(pieces: Sequence[str]) -> Block:
    """A ``text`` block: a ``text_delta`` per piece."""
    return Block("text", list(pieces))


def tool_use_block(
    pieces: Sequence[str], name: str = "Response", tool_id: str = "toolu_01"
) -> Block:
    """A ``tool_use`` block: the input JSON as ``input_json_delta`` pieces."""
    return Block("tool_use", list(pieces), name=name, tool_id=tool_id)


def thinking_delta(piece: str, index: int = 0) -> bytes:
    return frame(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "thinking_delta", "thinking": piece},
        }
    )


def signature_delta(signature: str, index: int = 0) -> bytes:
    return frame(
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "signature_delta", "signature": signature},
        }
    )


def _block_frames(block: Block, index: int) -> list[bytes]:
    """A block's start and deltas (its stop is added by the caller)."""
    if block.type == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [thinking_delta(p, index) for p in block.pieces]
        deltas.append(signature_delta(block.signature, index))
    elif block.type == "redacted_thinking":
        start, deltas = {"type": "redacted_thinking", "data": block.data}, []
    elif block.type == "text":
        start, deltas = {"type": "text", "text": ""}, [text_delta(p, index) for p in block.pieces]
    else:
        assert block.type == "tool_use", block.type
        start = {"type": "tool_use", "id": block.tool_id, "name": block.name, "input": {}}
        deltas = [json_delta(p, index) for p in block.pieces]
    head = frame({"type": "content_block_start", "index": index, "content_block": start})
    return [head, *deltas]


def message_chunks(
    blocks: Sequence[Block],
    *,
    stop_reason: str | None = "auto",
    usage: tuple[int, ...] | Tokens = (11, 42),
    end: bool = True,
) -> list[bytes]:
    """A message of ``blocks`` at indexes 0, 1, ...: ``message_start`` (usage ``input_tokens``
    = ``Tokens.input``, ``cache_read_input_tokens`` = ``cached``,
    ``cache_creation_input_tokens`` = ``cache_write``), a ``ping`` after the first block's
    start, the blocks one after the other, ``message_delta`` (``stop_reason``; ``"auto"``:
    ``"tool_use"`` when there is a tool_use block, else ``"end_turn"``; usage
    ``output_tokens`` = ``Tokens.output``, and ``output_tokens_details.thinking_tokens`` =
    ``reasoning`` when not 0) and ``message_stop``. ``end=False`` stops after the last
    block's deltas (a cut stream)."""
    t = as_tokens(usage)
    if stop_reason == "auto":
        stop_reason = "tool_use" if any(b.type == "tool_use" for b in blocks) else "end_turn"
    chunks = [
        message_start(
            t.input,
            cache_read_input_tokens=t.cached,
            cache_creation_input_tokens=t.cache_write,
        )
    ]
    for index, block in enumerate(blocks):
        chunks += _block_frames(block, index)
        if index == 0:
            chunks.insert(2, ping())
        if index < len(blocks) - 1 or end:
            chunks.append(block_stop(index))
    if end:
        extra = {"output_tokens_details": {"thinking_tokens": t.reasoning}} if t.reasoning else None
        chunks += [message_delta(stop_reason, t.output, usage=extra), message_stop()]
    return chunks


def message_script(blocks: Sequence[Block], **kw: Any) -> Script:
    """A :class:`Script` playing ``message_chunks(blocks, ...)``; other keywords go to
    :class:`Script`."""
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in {"stop_reason", "usage", "end"}}
    return Script(chunks=message_chunks(blocks, **frame_kw), **kw)


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
