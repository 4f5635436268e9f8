"""Vercel AI SDK delivery of a stream: a text stream for ``useObject`` and the UI message
stream for ``useChat`` (``@ai-sdk/react``), both read by the SDK's own hooks unchanged.

``text_stream_response`` -- the value's JSON text as ``text/plain``, growing as the model
writes (``useObject`` re-parses the accumulated text itself). What is written is only ever
extended: the open end of the value (a string still being written, the last list element,
the last member) stays unclosed until it is complete. At the end the validated value is
completed from there (members the validation changed or added are written again, and a JSON
parser keeps the last of two equal keys). A plain text stream has no error channel, so a
failure -- validation, the model stopping early, a retry that would need the text rewritten,
a validated value the written text cannot be completed into -- *aborts* the response: the
client's read fails instead of ending on a silently truncated object. A failure before any
text was written is an HTTP 502 with the UI-safe message as its body.

``ui_message_stream_response`` -- Server-Sent Events of UI message chunks
(``x-vercel-ai-ui-message-stream: v1``): ``start``, ``start-step``, then the value as a
``data-<name>`` part with a fixed ``id`` (``useChat`` replaces a data part's ``data`` in
place when type and id match), ``finish-step`` and ``finish``, or an ``error`` part with
``errorText``; then ``data: [DONE]``. The model's reasoning streams before it as
``reasoning-start`` / ``reasoning-delta`` / ``reasoning-end`` parts, and text it writes beside
the object as ``text-start`` / ``text-delta`` / ``text-end`` (each part ends when anything else
comes). Each update resends the whole value, so updates are
coalesced by time: at most one per ``coalesce`` seconds (default 0.1), i.e. the bytes sent
are about (streaming seconds / coalesce) x the value's size, and the last update is the
validated value.

Both close the stream (and so the model call) when the client goes away.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import PlainTextResponse, Response

from .encoder import WireEncoder, WireMessage, to_json_bytes
from .sse import AbortResponse, PumpedResponse

__all__ = [
    "TextStreamResponse",
    "UIMessageStreamResponse",
    "open_json",
    "json_completion",
    "text_stream_response",
    "ui_message_stream_response",
]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def open_json(value: Any) -> str:
    """The JSON text of ``value`` with its last path left open: a string without its closing
    quote, a list or object without its closing bracket (recursively into its last element or
    member). Numbers, booleans and null are complete once they appear in a partial value."""
    if isinstance(value, str):
        return _dumps(value)[:-1]
    if isinstance(value, list):
        if not value:
            return "["
        head = "".join(_dumps(v) + "," for v in value[:-1])
        return "[" + head + open_json(value[-1])
    if isinstance(value, dict):
        if not value:
            return "{"
        items = list(value.items())
        head = "".join(_dumps(k) + ":" + _dumps(v) + "," for k, v in items[:-1])
        key, last = items[-1]
        return "{" + head + _dumps(key) + ":" + open_json(last)
    return _dumps(value)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values read by JavaScript (``1 == 1.0``; ``true != 1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and bool(a == b)


def json_completion(partial: Any, final: Any) -> str | None:
    """Text that, appended to ``open_json(partial)``, gives a JSON document whose value is
    ``final``; ``None`` when there is none (a closed part of the text differs from it)."""
    if isinstance(partial, str):
        if isinstance(final, str) and final.startswith(partial):
            return _dumps(final)[len(_dumps(partial)) - 1 :]
        return None
    if isinstance(partial, list):
        if not isinstance(final, list) or len(final) < len(partial):
            return None
        if not partial:
            return ",".join(_dumps(v) for v in final) + "]"
        if not all(_same(a, b) for a, b in zip(partial[:-1], final)):
            return None
        tail = json_completion(partial[-1], final[len(partial) - 1])
        if tail is None:
            return None
        return tail + "".join("," + _dumps(v) for v in final[len(partial) :]) + "]"
    if isinstance(partial, dict):
        if not isinstance(final, dict) or any(k not in final for k in partial):
            return None
        out, rewrite, last = "", set(), None
        if partial:
            last = next(reversed(partial))
            tail = json_completion(partial[last], final[last])
            if tail is None:  # close it as written, then write the member again
                tail = json_completion(partial[last], partial[last])
                rewrite.add(last)
            assert tail is not None
            out = tail
        sep = "," if partial else ""
        for key, value in final.items():
            if key not in partial or key in rewrite:
                changed = True
            else:  # the open member was completed into its final value above
                changed = key != last and not _same(partial[key], value)
            if changed:
                out += sep + _dumps(key) + ":" + _dumps(value)
                sep = ","
        return out + "}"
    return "" if _same(partial, final) else None


class TextStreamResponse(PumpedResponse):
    """The value's JSON text as a growing ``text/plain`` body; see :func:`text_stream_response`."""

    media_type = "text/plain"
    content_type = "text/plain; charset=utf-8"
    base_headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    eager_start = False

    def __init__(self, stream: Any, **kw: Any) -> None:
        super().__init__(stream, **kw)
        self.text = ""  # what was written
        self._written_state: Any = None  # the partial value `text` is the open form of
        self._has_state = False

    def render_heartbeat(self) -> bytes:
        return b""  # no comment syntax: any byte would change the value

    def early_error(self, batch: list[WireMessage]) -> Response | None:
        errors = [m for m in batch if m.event == "error"]
        if errors and not any(m.event in ("patch", "final") for m in batch):
            self.aborted = True
            return PlainTextResponse(errors[0].data["message"], status_code=502)
        return None

    def render_batch(self, batch: list[WireMessage], encoder: WireEncoder) -> bytes:
        events = {m.event for m in batch}
        if "error" in events or ("restart" in events and self.text):
            # no error channel, and written text cannot be taken back: what the batch grew
            # before the failure is written, then the connection is cut
            state = encoder.sent_state
            candidate = open_json(state) if state is not None and "restart" not in events else ""
            grown = b""
            if candidate.startswith(self.text) and len(candidate) > len(self.text):
                grown = self._grow(candidate, state)
            raise AbortResponse(grown)
        final = next((m for m in batch if m.event == "final"), None)
        state = encoder.sent_state
        if final is not None:
            tail = json_completion(self._written_state, state) if self._has_state else None
            if tail is None:
                if self.text:
                    raise AbortResponse
                tail = _dumps(state)
            return self._grow(self.text + tail, state)
        candidate = open_json(state) if state is not None else ""
        if candidate.startswith(self.text) and len(candidate) > len(self.text):
            return self._grow(candidate, state)
        return b""  # not an extension (yet): written at the next one, or at the end

    def _grow(self, text: str, state: Any) -> bytes:
        new = text[len(self.text) :]
        self.text, self._written_state, self._has_state = text, state, True
        return new.encode("utf-8")


def text_stream_response(
    stream: Any,
    *,
    coalesce: float = 0.05,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> TextStreamResponse:
    """Deliver ``stream`` (``ss.Stream``, ``ss.AsyncStream`` or any (async) iterable of
    events) as its value's JSON text, for ``useObject`` from ``@ai-sdk/react``.

    The text only grows; on any failure the response is aborted (the connection is cut), never
    ended cleanly. ``coalesce``: at most one write per this many seconds.
    """
    return TextStreamResponse(
        stream, heartbeat=None, coalesce=coalesce, status_code=status_code, headers=headers
    )


_UI_HEADERS = {
    "cache-control": "no-cache",
    "connection": "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}


def _part(chunk: dict[str, Any]) -> bytes:
    return b"data: " + to_json_bytes(chunk) + b"\n\n"


class UIMessageStreamResponse(PumpedResponse):
    """The AI SDK UI message stream of a stream; see :func:`ui_message_stream_response`."""

    base_headers = _UI_HEADERS

    def __init__(
        self,
        stream: Any,
        *,
        data_name: str = "object",
        part_id: str | None = None,
        message_id: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(stream, **kw)
        self.part_type = f"data-{data_name}"
        self.part_id = part_id or data_name
        self.message_id = message_id or f"msg-{uuid.uuid4().hex}"
        self._opened = False
        self._last: bytes | None = None
        self._open_part: tuple[str, str] | None = None  # ("reasoning" | "text", its id)
        self._parts = 0

    def _data(self, value: Any) -> bytes:
        part = _part({"type": self.part_type, "id": self.part_id, "data": value})
        if part == self._last:
            return b""
        self._last = part
        return part

    def _end_part(self) -> bytes:
        if self._open_part is None:
            return b""
        kind, pid = self._open_part
        self._open_part = None
        return _part({"type": f"{kind}-end", "id": pid})

    def _stream_part(self, kind: str, delta: str) -> bytes:
        out = b""
        if self._open_part is None or self._open_part[0] != kind:
            out += self._end_part()
            self._parts += 1
            self._open_part = (kind, f"{kind}-{self._parts}")
            out += _part({"type": f"{kind}-start", "id": self._open_part[1]})
        if delta:
            out += _part({"type": f"{kind}-delta", "id": self._open_part[1], "delta": delta})
        return out

    def render_batch(self, batch: list[WireMessage], encoder: WireEncoder) -> bytes:
        out = b""
        if not self._opened:
            self._opened = True
            out += _part({"type": "start", "messageId": self.message_id})
            out += _part({"type": "start-step"})
        for msg in batch:  # the encoder puts a batch's reasoning and text first
            if msg.event in ("reasoning", "text"):
                out += self._stream_part(msg.event, msg.data.get("delta") or "")
        if any(m.event not in ("reasoning", "text") for m in batch):
            out += self._end_part()
        if encoder.sent_state is not None:
            out += self._data(encoder.sent_state)
        error = next((m for m in batch if m.event == "error"), None)
        if error is not None:
            return out + _part({"type": "error", "errorText": error.data["message"]})
        if any(m.event == "final" for m in batch):
            out += _part({"type": "finish-step"})
            out += _part({"type": "finish", "finishReason": "stop"})
        return out

    def render_end(self) -> bytes:
        return b"data: [DONE]\n\n"


def ui_message_stream_response(
    stream: Any,
    *,
    data_name: str = "object",
    part_id: str | None = None,
    message_id: str | None = None,
    coalesce: float = 0.1,
    heartbeat: float | None = 15.0,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> UIMessageStreamResponse:
    """Deliver ``stream`` as an AI SDK UI message stream, for ``useChat`` from ``@ai-sdk/react``.

    The value is the ``data-{data_name}`` part with id ``part_id`` (default: ``data_name``),
    resent whole at most once per ``coalesce`` seconds and updated in place by the client.
    Errors are an ``error`` part (``errorText``: the UI-safe message).
    """
    return UIMessageStreamResponse(
        stream,
        data_name=data_name,
        part_id=part_id,
        message_id=message_id,
        coalesce=coalesce,
        heartbeat=heartbeat,
        status_code=status_code,
        headers=headers,
    )
