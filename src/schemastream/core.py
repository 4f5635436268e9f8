"""The sans-IO streaming core: text in, :mod:`~schemastream.events` out.

:class:`StreamSession` handles one attempt (one model response): parser + validation plan +
partial builder + emission control. :class:`StreamDriver` handles one user call across
attempts (retries, budgets, usage, refusals). Neither touches a socket, a thread or an event
loop: the sync and async streams in :mod:`schemastream.stream` are thin shells around them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from .contract import Delta, Request, Usage
from .errors import IncompleteOutputError, JsonStreamError, RefusalError, StreamValidationError
from .events import FinalEvent, PartialEvent, PatchOp, RestartEvent, StreamEvent
from .jsonstream import JsonStreamParser
from .jsonstream.events import Path
from .partial.builder import PartialBuilder
from .policies import FieldState
from .providers.base import Provider
from .schema import ResponseSpec
from .schema.plan import ListNode, ModelNode, compile_plan

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
        max_depth: int = 512,
        max_size: int | None = None,
        context: Any = None,
        partials: bool = True,
    ) -> None:
        if granularity not in ("change", "field", "item"):
            raise ValueError(
                f"granularity must be 'change', 'field' or 'item', not {granularity!r}"
            )
        self.spec = spec
        self.parser = JsonStreamParser(lenient=lenient, max_depth=max_depth, max_size=max_size)
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

    @property
    def completed_items(self) -> list[Any]:
        items = self.builder.completed_items
        return items[: self.max_items] if self.max_items is not None else items

    def feed(self, text: str, now: float | None = None) -> list[StreamEvent]:
        """Consume model text. Raises ``StreamValidationError``/``JsonStreamError`` at once."""
        if self.budget_reached or not text:
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

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` (in the user's type, e.g. ``(0, "title")``) is final."""
        wire = (self.spec.wrapper_key, *path) if self.spec.wrapper_key else tuple(path)
        return bool(self.parser.is_complete(wire))

    def field_state(self, path: Path) -> FieldState:
        """``"pending"``, ``"streaming"`` or ``"done"`` for the value at ``path`` (user's type)."""
        wire = (self.spec.wrapper_key, *path) if self.spec.wrapper_key else tuple(path)
        if self.parser.is_complete(wire):
            return "done"
        return self.builder.state(wire)

    def finish(self, finish_reason: str | None = None, refusal: str | None = None) -> FinalEvent:
        """The stream ended: return the validated final value, or raise why there is none."""
        if self.budget_reached:
            value = list(self.completed_items)
            ops = self._ops + [
                {"op": "remove", "path": f"/{i}"}
                for i in reversed(range(len(value), self.builder.state_items))
            ]
            if self.builder.has_states:
                ops.append({"op": "replace", "path": "", "value": self._plain(value)})
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
        ops = self._ops
        self._ops = []
        root = self.builder.root_node
        item = root.item if isinstance(root, ListNode) else None
        if self.builder.has_states:  # the final state is the plain result, states unwrapped
            ops.append({"op": "replace", "path": "", "value": self._plain(value)})
        elif not isinstance(root, ModelNode) and not isinstance(item, ModelNode):
            # leaf coercions outside models (e.g. list[datetime]): make the state exact
            dumped = self._plain(value)
            if dumped != self.builder.final_handoff:
                ops.append({"op": "replace", "path": "", "value": dumped})
        self.partial = value
        return FinalEvent(value, ops)

    def _plain(self, value: Any) -> Any:
        return TypeAdapter(self.spec.response_model).dump_python(value, mode="json", by_alias=True)

    def _incomplete(self, message: str) -> IncompleteOutputError:
        return IncompleteOutputError(
            message,
            last_partial=self.builder.snapshot(),
            completed_items=list(self.completed_items),
        )


class StreamDriver:
    """One user call: attempts, retries, budget, usage. The shells feed it provider deltas."""

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
        max_depth: int = 512,
        max_size: int | None = None,
        context: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.spec = spec
        self.request = request
        self.max_retries = max_retries
        self.restarts = 0
        self.usage: Usage | None = None
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
        self.session = StreamSession(spec, **self._session_args)
        self._text: list[str] = []
        self._finish_reason: str | None = None
        self._refusal: list[str] = []

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
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.refusal:
            self._refusal.append(delta.refusal)
        if delta.finish_reason is not None:
            self._finish_reason = delta.finish_reason
        if not delta.text:
            return []
        self._text.append(delta.text)
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
        self.session = StreamSession(self.spec, **self._session_args)
        self._text = []
        self._finish_reason = None
        self._refusal = []
        return RestartEvent(self.restarts, exc)

    # --- state for users ----------------------------------------------------------------
    @property
    def finish_reason(self) -> str | None:
        """The provider's finish reason in the current attempt (once it arrived)."""
        return self._finish_reason

    @property
    def raw_text(self) -> str:
        if len(self._text) > 1:
            self._text = ["".join(self._text)]
        return self._text[0] if self._text else ""

    @property
    def partial(self) -> Any:
        session = self.session
        return session.partial if session.partials else session.builder.snapshot()
