"""Sans-IO encoding of stream events into wire messages (shared by SSE and WebSockets).

Wire events (``data`` is a JSON object):

``patch``    ``{"ops": [...]}`` -- ops against the client's previous state (see
             :mod:`schemastream.patch`; ``append`` grows a string, or strict RFC 6902 when
             the encoder was built with ``rfc6902=True``). The state before the first op is
             ``null``.
``item``     ``{"index": i, "pointer": "/i"}`` -- list element ``i`` just completed and was
             validated. Its value is already in the client's state (not resent).
``final``    ``{"ops": [...]}`` -- ops that turn the state into the validated final value
             (pydantic's JSON form of it). After them the client's state *is* the result.
``error``    ``{"type": "validation"|"incomplete"|"refusal"|"provider"|"internal",
             "message": str, "errors"?: [{"loc", "msg", "type"}]}`` -- the stream failed;
             nothing follows. Messages are safe to show: no secrets, no stack traces.
             Resumable streams add ``expired``, ``interrupted`` and ``cancelled``
             (:mod:`schemastream.web.resumable`).
``restart``  ``{"attempt": n, "reason": type}`` -- a retry began: the client resets its
             state to ``null`` (and the reasoning and text below to ``""``).
``reasoning`` ``{"delta": str}`` -- the model's reasoning text grows by ``delta`` (never part
             of the state).
``text``     ``{"delta": str}`` -- text the model wrote beside the object grows by ``delta``
             (never part of the state).

Every message has an id (1, 2, 3, ... per response; ``<stream id>:<n>`` when resumable). Several events that are ready at once
are coalesced: their reasoning and text into one ``reasoning`` and one ``text`` message
first, their patches into one ``patch`` message (a minimal diff of the merged change, so a
string that grew over ten events is one ``append``), followed by the batch's ``item``
messages. An ``item`` message therefore never precedes the value it names,
but the patch before it may already carry the start of the next element.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pydantic
import pydantic_core

from .. import errors as ss_errors
from ..events import (
    FinalEvent,
    ItemEvent,
    PartialEvent,
    PatchOp,
    ReasoningEvent,
    RestartEvent,
    StreamEvent,
    TextEvent,
)
from ..patch import apply_patch, diff, to_rfc6902
from ..providers.base import is_timeout

__all__ = ["WireEncoder", "WireMessage", "error_payload", "format_sse", "to_json_bytes", "jsonable"]

logger = logging.getLogger("schemastream.web")


@dataclass(frozen=True, slots=True)
class WireMessage:
    id: int | str  # resumable streams: "<stream id>:<n>"
    event: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "id": self.id, "data": self.data}


def jsonable(value: Any) -> Any:
    """Any response value (models, lists of models, unions, datetimes ...) as plain JSON data."""
    try:
        return pydantic_core.to_jsonable_python(value)
    except pydantic_core.PydanticSerializationError:
        return pydantic_core.to_jsonable_python(value, serialize_unknown=True)


def to_json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON through pydantic (never contains a raw newline)."""
    try:
        return pydantic_core.to_json(data)
    except pydantic_core.PydanticSerializationError:
        return pydantic_core.to_json(data, serialize_unknown=True)


def format_sse(message: WireMessage) -> bytes:
    """One SSE frame: ``id:``, ``event:``, ``data:`` lines and a blank line.

    Written without the optional space after the colon (the SSE grammar allows both; every
    parser strips at most one), which saves three bytes on every message.
    """
    return (
        b"id:"
        + str(message.id).encode()
        + b"\nevent:"
        + message.event.encode()
        + b"\ndata:"
        + to_json_bytes(message.data)
        + b"\n\n"
    )


# -- errors --------------------------------------------------------------------------------

_PROVIDER_STATUS_TEXT = {
    400: "the model provider rejected the request",
    401: "authentication with the model provider failed",
    403: "the model provider denied access",
    404: "the model provider does not know this model or endpoint",
    408: "the model provider timed out",
    409: "the model provider reported a conflict",
    413: "the request is too large for the model provider",
    422: "the model provider rejected the request",
    429: "the model provider is rate limiting requests",
}

_SDK_ERROR_NAMES = {
    "APIError",
    "APIStatusError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RateLimitError",
    "BadRequestError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "InternalServerError",
    "OverloadedError",
    "ServiceUnavailableError",
    "ClientError",
    "ServerError",
    "GoogleAPIError",
    "GoogleAPICallError",
    "HTTPError",
    "TransportError",
    "TimeoutException",
    "NetworkError",
    "RemoteProtocolError",
    "ResponseError",
}


def _is_sdk_error(exc: BaseException) -> bool:
    for cls in type(exc).__mro__:
        module = cls.__module__.split(".", 1)[0]
        if module in ("openai", "anthropic", "google", "httpx", "httpcore", "ollama", "groq"):
            return True
        if cls.__name__ in _SDK_ERROR_NAMES and cls is not Exception:
            return True
    return False


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return None


def _provider_message(exc: BaseException) -> str:
    name = type(exc).__name__
    status = _status_of(exc)
    if status is not None:
        text = _PROVIDER_STATUS_TEXT.get(status)
        if text is None:
            text = (
                "the model provider had a server error"
                if status >= 500
                else "the model provider returned an error"
            )
        return f"{text} (HTTP {status})"
    if "Timeout" in name:
        return "the model provider timed out"
    if "Connection" in name or "Network" in name or "Connect" in name:
        return "could not reach the model provider"
    return "the model provider returned an error"


def error_payload(exc: BaseException) -> dict[str, Any]:
    """A UI-safe description of ``exc`` (no secrets, no stack traces, no raw SDK messages)."""
    if isinstance(exc, ss_errors.StreamValidationError | pydantic.ValidationError):
        raw = exc.errors()
        errs = [
            {
                "loc": [p for p in e.get("loc", ()) if isinstance(p, str | int)],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in raw
        ]
        n = len(errs)
        first = errs[0] if errs else None
        where = ".".join(str(p) for p in first["loc"]) if first and first["loc"] else "the response"
        message = f"the model's output failed validation ({n} error{'s' if n != 1 else ''}): {where}: {first['msg'] if first else ''}".rstrip(
            ": "
        )
        return {"type": "validation", "message": message, "errors": errs}
    if isinstance(exc, ss_errors.JsonStreamError):
        return {
            "type": "validation",
            "message": "the model's output is not valid JSON",
            "errors": [{"loc": [], "msg": exc.message, "type": "json_invalid"}],
        }
    if isinstance(exc, ss_errors.IncompleteOutputError):
        return {"type": "incomplete", "message": "the model stopped before the output was complete"}
    if isinstance(exc, ss_errors.RefusalError):
        refusal = str(exc.refusal or "")[:500]
        return {
            "type": "refusal",
            "message": f"the model refused: {refusal}" if refusal else "the model refused",
        }
    if isinstance(exc, ss_errors.ProviderError):
        if "Timeout" in type(exc).__name__ or is_timeout(exc.__cause__):  # type: ignore[arg-type]
            return {"type": "provider", "message": "the model provider timed out"}
        return {"type": "provider", "message": "the model provider's stream failed"}
    if isinstance(exc, ss_errors.ConfigurationError):
        return {"type": "internal", "message": "the server is not configured for this model"}
    if _is_sdk_error(exc):
        return {"type": "provider", "message": _provider_message(exc)}
    return {"type": "internal", "message": "internal server error"}


# -- the encoder ---------------------------------------------------------------------------


class WireEncoder:
    """Turns batches of :data:`~schemastream.events.StreamEvent` into :class:`WireMessage` s.

    Keeps a mirror of the client's state so it can merge patches, rewrite ``append`` for
    strict RFC 6902 clients and compute the ``final`` ops from the validated value.
    """

    def __init__(self, *, rfc6902: bool = False) -> None:
        self.rfc6902 = rfc6902
        self.sent_state: Any = None  # what the client has
        self._state: Any = None  # after every event seen so far
        self._pending_ops: list[PatchOp] = []
        self._pending_events = 0
        self._pending_items: list[ItemEvent] = []
        self._pending_reasoning: list[str] = []
        self._pending_text: list[str] = []
        self._next_id = 1
        self.finished = False

    def _message(self, event: str, data: dict[str, Any]) -> WireMessage:
        msg = WireMessage(self._next_id, event, data)
        self._next_id += 1
        return msg

    def _ops_for_client(self, ops: list[PatchOp], state: Any) -> list[PatchOp]:
        return to_rfc6902(ops, state) if self.rfc6902 else ops

    def _flush(self, out: list[WireMessage]) -> None:
        # beside the object, and usually before it: the batch's reasoning and text go first
        if self._pending_reasoning:
            out.append(self._message("reasoning", {"delta": "".join(self._pending_reasoning)}))
            self._pending_reasoning = []
        if self._pending_text:
            out.append(self._message("text", {"delta": "".join(self._pending_text)}))
            self._pending_text = []
        if self._pending_events:
            # One event: its own ops. Several: a minimal diff of their merged change.
            ops = (
                self._pending_ops
                if self._pending_events == 1
                else diff(self.sent_state, self._state)
            )
            if ops:
                out.append(
                    self._message("patch", {"ops": self._ops_for_client(ops, self.sent_state)})
                )
            self.sent_state = self._state
            self._pending_ops = []
            self._pending_events = 0
        for item in self._pending_items:
            pointer = item.pointer or f"/{item.index}"
            out.append(self._message("item", {"index": item.index, "pointer": pointer}))
        self._pending_items = []

    def encode(self, events: Iterable[StreamEvent]) -> list[WireMessage]:
        """Messages for events that arrived together (patches merged, then the items)."""
        out: list[WireMessage] = []
        for ev in events:
            if self.finished:
                break
            if isinstance(ev, PartialEvent):
                if ev.ops:
                    self._state = apply_patch(self._state, ev.ops)
                    self._pending_ops = (
                        list(ev.ops) if not self._pending_events else self._pending_ops
                    )
                    self._pending_events += 1
            elif isinstance(ev, ItemEvent):
                self._pending_items.append(ev)
            elif isinstance(ev, ReasoningEvent):
                self._pending_reasoning.append(ev.text)
            elif isinstance(ev, TextEvent):
                self._pending_text.append(ev.text)
            elif isinstance(ev, RestartEvent):
                self._pending_ops, self._pending_events, self._pending_items = [], 0, []
                self._pending_reasoning, self._pending_text = [], []  # the client clears them
                self._state = self.sent_state = None
                reason = error_payload(ev.error)["type"] if ev.error is not None else "retry"
                out.append(self._message("restart", {"attempt": ev.attempt, "reason": reason}))
            elif isinstance(ev, FinalEvent):
                self._flush(out)
                target = jsonable(ev.value)
                ops = diff(self.sent_state, target)
                out.append(
                    self._message("final", {"ops": self._ops_for_client(ops, self.sent_state)})
                )
                self.sent_state = self._state = target
                self.finished = True
        if not self.finished:
            self._flush(out)
        return out

    def encode_error(self, exc: BaseException) -> WireMessage:
        """The ``error`` message for a failed stream; nothing is encoded after it."""
        self.finished = True
        payload = error_payload(exc)
        if payload["type"] == "internal":
            logger.error("schemastream stream failed", exc_info=exc)
        return self._message("error", payload)
