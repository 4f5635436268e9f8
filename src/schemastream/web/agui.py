"""AG-UI delivery of a stream: the protocol's events over Server-Sent Events.

Needs the ``ag-ui`` extra (``pip install 'schemastream[ag-ui]'``): the events are built and
encoded with the ``ag-ui-protocol`` package's own models, so their shapes are the protocol's.

A run is ``RUN_STARTED`` (the client's ``threadId`` / ``runId`` echoed), then the response
value as agent state: ``STATE_SNAPSHOT`` with the first partial value, ``STATE_DELTA`` with
strict RFC 6902 ops (``@ag-ui/core`` accepts only add/remove/replace/move/copy/test, so a
growing string is a ``replace``) for each coalesced change, and ``RUN_FINISHED`` with the
validated value as ``result`` -- or ``RUN_ERROR`` with a UI-safe ``message`` and our typed
error kind (validation / incomplete / refusal / provider / internal) as ``code``. A retry
sends a fresh ``STATE_SNAPSHOT``; reasoning text (``reasoning`` wire messages, when the model
streams it) becomes ``REASONING_START`` / ``REASONING_MESSAGE_*`` / ``REASONING_END``, and
text the model writes beside the object (``text`` messages) an assistant message,
``TEXT_MESSAGE_START`` / ``TEXT_MESSAGE_CONTENT`` / ``TEXT_MESSAGE_END``. Each ends when
anything else comes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask

from ..patch import apply_patch
from .encoder import WireEncoder, WireMessage
from .sse import PumpedResponse

__all__ = ["AGUIResponse", "ag_ui_response"]


def _ag_ui() -> Any:
    try:
        import ag_ui.core as core
        from ag_ui.encoder import EventEncoder
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        from ..errors import ConfigurationError

        raise ConfigurationError(
            "ag_ui_response needs the ag-ui-protocol package: pip install 'schemastream[ag-ui]'"
        ) from exc
    return core, EventEncoder()


def _run_ids(run_input: Any) -> tuple[str | None, str | None]:
    if run_input is None:
        return None, None
    if isinstance(run_input, Mapping):
        thread = run_input.get("threadId", run_input.get("thread_id"))
        run = run_input.get("runId", run_input.get("run_id"))
        return (str(thread) if thread else None), (str(run) if run else None)
    return getattr(run_input, "thread_id", None), getattr(run_input, "run_id", None)


class AGUIResponse(PumpedResponse):
    """``text/event-stream`` of AG-UI events for a stream; see :func:`ag_ui_response`."""

    def __init__(
        self,
        stream: Any,
        *,
        thread_id: str,
        run_id: str,
        heartbeat: float | None = 15.0,
        coalesce: float = 0.05,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            stream,
            rfc6902=True,
            heartbeat=heartbeat,
            coalesce=coalesce,
            status_code=status_code,
            headers=headers,
            background=background,
        )
        self.core, self._encoder = _ag_ui()
        self.thread_id = thread_id
        self.run_id = run_id
        self._run_started = False
        self._snapshot_due = True  # the first state (and each retry's) is a snapshot
        self._reasoning_id: str | None = None
        self._text_id: str | None = None
        self._state: Any = None  # what the client's state is after the events sent

    def _encode(self, event: Any) -> bytes:
        return self._encoder.encode(event).encode()

    def _end_reasoning(self) -> bytes:
        if self._reasoning_id is None:
            return b""
        c, mid = self.core, self._reasoning_id
        self._reasoning_id = None
        return self._encode(c.ReasoningMessageEndEvent(message_id=mid)) + self._encode(
            c.ReasoningEndEvent(message_id=mid)
        )

    def _end_text(self) -> bytes:
        if self._text_id is None:
            return b""
        mid, self._text_id = self._text_id, None
        return self._encode(self.core.TextMessageEndEvent(message_id=mid))

    def render_batch(self, batch: list[WireMessage], encoder: WireEncoder) -> bytes:
        c = self.core
        out = b""
        if not self._run_started:
            self._run_started = True
            out += self._encode(c.RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id))
        for msg in batch:
            if msg.event == "reasoning":
                out += self._end_text()
                delta = msg.data.get("delta") or ""
                if self._reasoning_id is None:
                    self._reasoning_id = f"reasoning-{uuid.uuid4().hex[:12]}"
                    mid = self._reasoning_id
                    out += self._encode(c.ReasoningStartEvent(message_id=mid))
                    out += self._encode(
                        c.ReasoningMessageStartEvent(message_id=mid, role="reasoning")
                    )
                if delta:
                    out += self._encode(
                        c.ReasoningMessageContentEvent(message_id=self._reasoning_id, delta=delta)
                    )
                continue
            out += self._end_reasoning()
            if msg.event == "text":
                delta = msg.data.get("delta") or ""
                if self._text_id is None:
                    self._text_id = f"text-{uuid.uuid4().hex[:12]}"
                    out += self._encode(
                        c.TextMessageStartEvent(message_id=self._text_id, role="assistant")
                    )
                if delta:
                    out += self._encode(
                        c.TextMessageContentEvent(message_id=self._text_id, delta=delta)
                    )
                continue
            out += self._end_text()
            if msg.event in ("patch", "final"):
                ops = msg.data["ops"]
                if self._snapshot_due:
                    state = apply_patch(None, ops)
                    self._snapshot_due = False
                    out += self._encode(c.StateSnapshotEvent(snapshot=state))
                else:
                    state = apply_patch(self._state, ops)
                    if ops:
                        out += self._encode(c.StateDeltaEvent(delta=ops))
                self._state = state
                if msg.event == "final":
                    out += self._encode(
                        c.RunFinishedEvent(
                            thread_id=self.thread_id,
                            run_id=self.run_id,
                            result=state,
                            outcome=c.RunFinishedSuccessOutcome(type="success"),
                        )
                    )
            elif msg.event == "restart":
                self._snapshot_due = True
                self._state = None
            elif msg.event == "error":
                out += self._encode(
                    c.RunErrorEvent(message=msg.data["message"], code=msg.data["type"])
                )
        return out


def ag_ui_response(
    stream: Any,
    run_input: Any = None,
    *,
    thread_id: str | None = None,
    run_id: str | None = None,
    heartbeat: float | None = 15.0,
    coalesce: float = 0.05,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> AGUIResponse:
    """Deliver ``stream`` (``ss.Stream``, ``ss.AsyncStream`` or any (async) iterable of
    events) as an AG-UI run: the value streams in as agent state.

    ``run_input``: the request body an AG-UI client (``HttpAgent``) POSTed -- a dict or an
    ``ag_ui.core.RunAgentInput``; its ``threadId`` / ``runId`` are echoed (or pass
    ``thread_id`` / ``run_id``; missing ids are generated). ``coalesce``: at most one
    ``STATE_DELTA`` per this many seconds (each resends a growing string whole). A client
    that disconnects closes the stream, and so the model call.
    """
    given_thread, given_run = _run_ids(run_input)
    return AGUIResponse(
        stream,
        thread_id=thread_id or given_thread or f"thread-{uuid.uuid4().hex}",
        run_id=run_id or given_run or f"run-{uuid.uuid4().hex}",
        heartbeat=heartbeat,
        coalesce=coalesce,
        status_code=status_code,
        headers=headers,
    )
