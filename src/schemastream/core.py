"""The sans-IO streaming core: text in, :mod:`~schemastream.events` out.

:class:`StreamSession` handles one attempt (one model response): parser + validation plan +
partial builder + emission control. :class:`StreamDriver` handles one user call across
attempts (retries, budgets, usage, refusals). Neither touches a socket, a thread or an event
loop: the sync and async streams in :mod:`schemastream.stream` are thin shells around them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from .contract import Delta, Mode, Request
from .errors import IncompleteOutputError, JsonStreamError, RefusalError, StreamValidationError
from .events import (
    FinalEvent,
    PartialEvent,
    PatchOp,
    ReasoningEvent,
    RestartEvent,
    StreamEvent,
    TextEvent,
)
from .jsonstream import MAX_DEPTH, JsonStreamParser
from .jsonstream.events import Path
from .jsonstream.text import BLOCK, TextBuffer
from .partial.builder import PartialBuilder
from .policies import FieldState
from .providers.base import Provider
from .schema import ResponseSpec
from .schema.plan import ListNode, compile_plan
from .usage import CallUsage, UsageMeter, pricer_for

if TYPE_CHECKING:
    from .calls import CallsSession

Granularity = Literal["change", "field", "item"]

#: Errors that a retry (re-asking the model) can fix.
RETRYABLE: tuple[type[BaseException], ...] = (
    StreamValidationError,
    JsonStreamError,
    ValidationError,
)


class StreamSession:
    """One model response: feed text, get events; ``finish()`` validates the whole."""

    def __init__(
        self,
        spec: ResponseSpec,
        *,
        lenient: bool = False,
        granularity: Granularity = "change",
        debounce: float | None = None,
        max_items: int | None = None,
        max_depth: int = MAX_DEPTH,
        max_size: int | None = None,
        context: Any = None,
        partials: bool = True,
    ) -> None:
        if granularity not in ("change", "field", "item"):
            raise ValueError(
                f"granularity must be 'change', 'field' or 'item', not {granularity!r}"
            )
        self.spec = spec
        # the builder keeps every value (strings included): the parser only reads the text
        self.parser = JsonStreamParser(
            lenient=lenient, max_depth=max_depth, max_size=max_size, values=False
        )
        plan = compile_plan(spec.response_model, spec.wrapper_key)
        self.builder = PartialBuilder(plan, spec.wrapper_key, context)
        if max_items is not None and not isinstance(self.builder.root_node, ListNode):
            raise TypeError("max_items needs a list response model, e.g. list[Idea]")
        self.granularity = granularity
        self.debounce = debounce
        self.max_items = max_items
        self.partial: Any = None
        #: build a snapshot for each PartialEvent; off for consumers of patch ops only (the
        #: web transport), whose cost per character then stays flat for any string length
        self.partials = partials
        self._emitted_at = 0  # the parser's offset at the last emission
        self.budget_reached = False
        self._ops: list[PatchOp] = []
        self._due = False  # a snapshot is owed to the user (held back by debounce/granularity)
        self._last_emit = float("-inf")
        self._text = TextBuffer()  # the model's text in this attempt: kept here only

    @property
    def completed_items(self) -> list[Any]:
        items = self.builder.completed_items
        return items[: self.max_items] if self.max_items is not None else items

    def feed(self, text: str, now: float | None = None) -> list[StreamEvent]:
        """Consume model text. Raises ``StreamValidationError``/``JsonStreamError`` at once."""
        if not text:
            return []
        raw = self._text.pieces  # TextBuffer.append, inline: this runs for every delta
        raw.append(text)
        if len(raw) >= BLOCK:
            self._text.compact()
        if self.budget_reached:
            return []
        result = self.builder.apply(self.parser.feed(text))
        if not (result.ops or result.completed):
            return []
        self._ops.extend(result.ops)
        if self.granularity == "change":
            # a value that closed changes the snapshot even without ops (it is now validated)
            self._due = self._due or bool(result.ops) or result.completed > 0
        elif self.granularity == "field":
            self._due = self._due or result.completed > 0
        else:
            self._due = self._due or result.root_children_completed > 0
        out: list[StreamEvent] = []
        # Pacing: a snapshot copies the open string and rebuilds every open object, so for a
        # very long string (over 4 KiB) or a very deep document (over 32 levels) one is held
        # back until the text fed since the last grew to 1/32 of its cost; the cost per
        # character stays flat. Below those sizes (cost 0) every change is a snapshot.
        if self._due:
            now = time.monotonic() if now is None else now
            if result.items or (
                (self.debounce is None or now - self._last_emit >= self.debounce)
                and not (
                    self.partials
                    and (self.builder.open_length > 4096 or len(self.builder.stack) > 32)
                    and (self.parser.offset - self._emitted_at) * 32 < self.builder.snapshot_cost()
                )
            ):
                out.append(self._emit(now))
        items = result.items
        if self.max_items is not None:
            room = self.max_items - (len(self.builder.completed_items) - len(items))
            items = items[: max(room, 0)]
            if len(self.builder.completed_items) >= self.max_items:
                self.budget_reached = True
        out.extend(items)
        return out

    def _emit(self, now: float) -> PartialEvent:
        self.partial = self.builder.snapshot() if self.partials else None
        ops, self._ops = self._ops, []
        self._due = False
        self._last_emit = now
        self._emitted_at = self.parser.offset
        return PartialEvent(self.partial, ops)

    @property
    def raw_text(self) -> str:
        """The model's text so far in this attempt, as it arrived."""
        return self._text.text()

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` (in the user's type, e.g. ``(0, "title")``) is final."""
        wire = (self.spec.wrapper_key, *path) if self.spec.wrapper_key else tuple(path)
        return self.builder.is_complete(wire)

    def field_state(self, path: Path) -> FieldState:
        """``"pending"``, ``"streaming"`` or ``"done"`` for the value at ``path`` (user's type)."""
        wire = (self.spec.wrapper_key, *path) if self.spec.wrapper_key else tuple(path)
        if self.builder.is_complete(wire):
            return "done"
        return self.builder.state(wire)

    def finish(self, finish_reason: str | None = None, refusal: str | None = None) -> FinalEvent:
        """The stream ended: return the validated final value, or raise why there is none."""
        if self.budget_reached:
            value = list(self.completed_items)
            ops = self._ops + self.builder.budget_ops(value, self.spec.response_model)
            self.partial = value
            return FinalEvent(value, ops)
        if finish_reason == "refusal" or refusal:
            raise RefusalError(refusal or "no reason given")
        if finish_reason in ("length", "content_filter") and not self.builder.done:
            raise self._incomplete(f"the model stopped early (finish_reason={finish_reason!r})")
        try:
            self.parser.close()
        except JsonStreamError as exc:
            if self.parser.offset == 0 or finish_reason in ("length", "content_filter"):
                raise self._incomplete(f"the model's output ended early: {exc}") from exc
            raise
        if not self.builder.done:
            raise self._incomplete("the model's output ended before the value was complete")
        value = self.builder.final
        ops = self._ops + self.builder.final_ops(self.spec.response_model)
        self._ops = []
        self.partial = value
        return FinalEvent(value, ops)

    def _incomplete(self, message: str) -> IncompleteOutputError:
        return IncompleteOutputError(
            message,
            last_partial=self.builder.snapshot(),
            completed_items=list(self.completed_items),
        )


class StreamDriver:
    """One user call: attempts, retries, budget, usage. The shells feed it provider deltas.

    Besides the object, a delta's reasoning and prose become :class:`ReasoningEvent` /
    :class:`TextEvent` (before the object's events of the same delta) and are kept per
    attempt; prose never reaches the parser. Usage is kept per attempt by a
    :class:`~schemastream.usage.UsageMeter` (summed, priced, partial when cut).
    """

    def __init__(
        self,
        provider: Provider,
        spec: ResponseSpec,
        request: Request,
        *,
        max_retries: int = 0,
        max_items: int | None = None,
        granularity: Granularity = "change",
        debounce: float | None = None,
        max_depth: int = MAX_DEPTH,
        max_size: int | None = None,
        context: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.spec = spec
        self.request = request
        self.max_retries = max_retries
        self.restarts = 0
        self.meter = UsageMeter(pricer_for(provider, request.kwargs.get("model")))
        self.final: Any = None
        self.done = False
        self._clock = clock
        self._session_args: dict[str, Any] = {
            "partials": True,
            "lenient": request.lenient,
            "granularity": granularity,
            "debounce": debounce,
            "max_items": max_items,
            "max_depth": max_depth,
            "max_size": max_size,
            "context": context,
        }
        self.session = self._new_session()
        self._finish_reason: str | None = None
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._prose: list[str] = []

    def _new_session(self) -> StreamSession | CallsSession:
        if self.request.mode is Mode.PARALLEL_TOOLS:  # one session per tool call (calls.py)
            from .calls import CallsSession  # it builds on StreamSession

            return CallsSession(self.spec, **self._session_args)
        return StreamSession(self.spec, **self._session_args)

    def set_partials(self, partials: bool) -> None:
        """Whether PartialEvents carry snapshots (before the first delta)."""
        self._session_args["partials"] = partials
        self.session.partials = partials

    # --- per attempt --------------------------------------------------------------------
    @property
    def stop_reading(self) -> bool:
        """True once the response is decided (budget reached): close upstream now."""
        return self.session.budget_reached

    def on_delta(self, delta: Delta) -> list[StreamEvent]:
        """Events for one provider delta: its reasoning and prose first, then the object's."""
        if delta.usage is not None:
            self.meter.report(delta.usage)
        if delta.finish_reason is not None:
            self.meter.complete()  # the provider's last word: its usage is final
        if not (delta.reasoning or delta.prose):
            return self._object_delta(delta)
        events: list[StreamEvent] = []
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
            events.append(ReasoningEvent(delta.reasoning))
        if delta.prose:  # beside the object: never fed to the parser
            self._prose.append(delta.prose)
            events.append(TextEvent(delta.prose))
        events.extend(self._object_delta(delta))
        return events

    def _object_delta(self, delta: Delta) -> list[StreamEvent]:
        if delta.refusal:
            self._refusal.append(delta.refusal)
        if delta.finish_reason is not None:
            self._finish_reason = delta.finish_reason
        if not isinstance(self.session, StreamSession):  # PARALLEL_TOOLS: text by Delta.call
            return self.session.feed_delta(delta, self._clock())
        if not delta.text:
            return []
        return self.session.feed(delta.text, self._clock())

    def on_end(self) -> list[StreamEvent]:
        final = self.session.finish(self._finish_reason, "".join(self._refusal) or None)
        self.final = final.value
        self.done = True
        return [final]

    def on_failure(self, exc: BaseException) -> RestartEvent | None:
        """Decide on a retry after ``exc``. Returns the restart event, or ``None`` to re-raise."""
        if not isinstance(exc, RETRYABLE) or self.restarts >= self.max_retries:
            return None
        self.restarts += 1
        self.request = self.provider.reask(self.request, self.raw_text, exc)
        self.session = self._new_session()
        self._finish_reason = None
        self._refusal = []
        self._reasoning = []
        self._prose = []
        self.meter.next_attempt()
        return RestartEvent(self.restarts, exc)

    # --- state for users ----------------------------------------------------------------
    @property
    def finish_reason(self) -> str | None:
        """The provider's finish reason in the current attempt (once it arrived)."""
        return self._finish_reason

    @property
    def usage(self) -> CallUsage | None:
        """Tokens (and cost) of the call so far, summed over attempts; ``None`` until reported."""
        return self.meter.total()

    @property
    def reasoning_text(self) -> str:
        """The model's reasoning so far, in the current attempt."""
        if len(self._reasoning) > 1:
            self._reasoning = ["".join(self._reasoning)]
        return self._reasoning[0] if self._reasoning else ""

    @property
    def prose_text(self) -> str:
        """Text the model wrote beside the object so far, in the current attempt."""
        if len(self._prose) > 1:
            self._prose = ["".join(self._prose)]
        return self._prose[0] if self._prose else ""

    @property
    def raw_text(self) -> str:
        """The model's text in the current attempt (kept by its session)."""
        return self.session.raw_text

    @property
    def partial(self) -> Any:
        session = self.session
        if not isinstance(session, StreamSession):
            return session.snapshot
        return session.partial if session.partials else session.builder.snapshot()
