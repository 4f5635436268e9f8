"""Several structured outputs in one response: the sans-IO core of ``Mode.PARALLEL_TOOLS``.

The model answers ``list[A | B]`` with one tool call per item (tools from
:func:`~schemastream.schema.tools.parallel_tools`). A provider streams the calls' argument
text interleaved; each :class:`~schemastream.contract.Delta` names its call (``call``) and,
on the call's first delta at least, the tool (``tool``). :class:`CallsSession` gives each
call its own :class:`~schemastream.core.StreamSession` for the tool's model (the one parser,
plan and partial builder: parsing and validation exist once) and composes their events:

- *positions*: calls take positions 0, 1, 2 ... in the order they first appear
  (``Delta.call`` is only a key: OpenAI's tool-call index, Anthropic's content-block
  index ...). A call's position is its index everywhere: in partials, patch ops,
  ``ItemEvent.index``, error locations and the final list.
- *partials*: a list with one entry per call seen, in call order; ``None`` while the call
  shows nothing (its tool not yet named, its object not yet begun or hidden by a display
  policy), so an entry never moves.
- *patch ops*: the list starts as ``add "" []``, each call as ``add "/<i>" null`` (or its
  object, when that shows at once), then the call's own ops under ``/<i>`` (the first
  ``add`` of its object, once the slot holds ``null``, is a ``replace``).
- *items*: each call once, validated, as soon as its object closes, in completion order.
- *final*: the validated items in call order.

Errors: a constraint broken inside a call raises :class:`StreamValidationError` at once,
its ``loc`` starting with the call's position; a tool the request did not offer is a
:class:`StreamValidationError` too (type ``unknown_tool``, loc ``(i,)``): the model chose it,
so a retry can fix it. A delta that breaks the provider contract (text without ``call``, a
call that changes or never names its tool) is a :class:`ProviderError`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .contract import Delta
from .core import Granularity, StreamSession
from .errors import (
    IncompleteOutputError,
    JsonStreamError,
    ProviderError,
    RefusalError,
    StreamValidationError,
)
from .events import FinalEvent, ItemEvent, PartialEvent, PatchOp, StreamEvent
from .jsonstream import MAX_DEPTH
from .jsonstream.events import Path
from .policies import FieldState
from .schema import ResponseSpec
from .schema.tools import ParallelTool, parallel_tools


class _Call:
    """One tool call: its tool once named, its session, its argument text."""

    __slots__ = ("index", "name", "tool", "session", "pieces", "fed", "done", "value")

    def __init__(self, index: int) -> None:
        self.index = index
        self.name: str | None = None  # the tool name the model used (offered or not)
        self.tool: ParallelTool | None = None
        self.session: StreamSession | None = None
        self.pieces: list[str] = []  # the arguments as received (raw_text, re-asks)
        self.fed = 0  # pieces given to the session (text before the tool is named waits)
        self.done = False
        self.value: Any = None


class CallsSession:
    """One model response in ``Mode.PARALLEL_TOOLS``: deltas in, events of the list out.

    Same surface as :class:`StreamSession` (``finish``, ``partial``, ``completed_items``,
    ``budget_reached``, ``is_complete``, ``field_state``), fed by :meth:`feed_delta`.
    ``max_items`` counts completed calls; ``max_depth``/``max_size`` apply to each call."""

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
        self.tools = {tool.name: tool for tool in parallel_tools(spec.response_model)}
        self._specs = {name: ResponseSpec.from_type(t.model) for name, t in self.tools.items()}
        self.granularity = granularity
        self.debounce = debounce
        self.max_items = max_items
        #: as StreamSession.partials; read when a call's session starts (after set_partials)
        self.partials = partials
        self._member_args: dict[str, Any] = {
            "lenient": lenient,
            # "field": each call emits when a field completes; "item" is decided here
            "granularity": "field" if granularity == "field" else "change",
            "max_depth": max_depth,
            "max_size": max_size,
            "context": context,
        }
        self.calls: list[_Call] = []  # in call order (first appearance)
        self._shown: list[Any] = []  # each call's latest partial (partials on): copied per emit
        self._keys: dict[int, _Call] = {}
        self.budget_reached = False
        self.finished = False
        self.partial: Any = None
        self._ops: list[PatchOp] = []
        self._due = False
        self._last_emit = float("-inf")

    # --- input --------------------------------------------------------------------------
    def feed_delta(self, delta: Delta, now: float | None = None) -> list[StreamEvent]:
        """Consume one provider delta. Raises ``StreamValidationError``/``JsonStreamError``
        at once, ``ProviderError`` for a delta that breaks the contract."""
        if self.budget_reached or self.finished:
            return []
        if delta.call is None:
            if delta.text or delta.tool:
                raise ProviderError(
                    "Mode.PARALLEL_TOOLS: a delta with tool-call text or a tool name must "
                    "say which call it belongs to (Delta.call)"
                )
            return []
        call = self._keys.get(delta.call)
        if call is None:
            call = self._keys[delta.call] = self._new_call()
        if delta.text:
            call.pieces.append(delta.text)
        if delta.tool is not None:
            if call.name is None:
                call.name = delta.tool
                self._name(call, delta.tool)
            elif delta.tool != call.name:
                raise ProviderError(
                    f"Mode.PARALLEL_TOOLS: call {delta.call} changed its tool from "
                    f"{call.name!r} to {delta.tool!r}"
                )
        items: list[ItemEvent] = []
        if call.session is not None and call.fed < len(call.pieces):
            text = "".join(call.pieces[call.fed :])
            call.fed = len(call.pieces)
            items = self._feed(call, text, now)
        out: list[StreamEvent] = []
        if self._due:
            now = time.monotonic() if now is None else now
            if items or self.debounce is None or now - self._last_emit >= self.debounce:
                out.append(self._emit(now))
        out.extend(items)
        return out

    def _new_call(self) -> _Call:
        call = _Call(len(self.calls))
        if not self.calls:
            self._ops.append({"op": "add", "path": "", "value": []})
        self.calls.append(call)
        self._shown.append(None)
        self._ops.append({"op": "add", "path": f"/{call.index}", "value": None})
        if self.granularity == "change":
            self._due = True
        return call

    def _name(self, call: _Call, name: str) -> None:
        tool = self.tools.get(name)
        if tool is None:
            offered = ", ".join(repr(n) for n in self.tools)
            raise StreamValidationError(
                [
                    {
                        "type": "unknown_tool",
                        "loc": (call.index,),
                        "msg": f"the model called the tool {name!r}, which was not offered "
                        f"(the tools: {offered})",
                        "input": name,
                        "ctx": {"expected": list(self.tools)},
                    }
                ],
                title=f"call {call.index}",
            )
        call.tool = tool
        call.session = StreamSession(self._specs[name], partials=self.partials, **self._member_args)

    def _feed(self, call: _Call, text: str, now: float | None) -> list[ItemEvent]:
        session, tool = call.session, call.tool
        assert session is not None and tool is not None
        try:
            self._take(call, session.feed(text, now))
            if call.done or not session.is_complete(()):
                return []
            final = session.finish()  # its object closed: validated, the ops it still held
        except StreamValidationError as exc:
            raise self._relabel(call, exc) from exc
        except JsonStreamError as exc:
            raise JsonStreamError(
                f"call {call.index} ({tool.name}): {exc.message}", exc.offset
            ) from exc
        self._relocate(call.index, final.ops)
        call.done = True
        call.value = self._shown[call.index] = final.value
        self._due = True
        item = ItemEvent(index=call.index, item=final.value, pointer=f"/{call.index}")
        done = sum(1 for c in self.calls if c.done)
        if self.max_items is not None and done >= self.max_items:
            self.budget_reached = True
        return [item]

    def _take(self, call: _Call, events: list[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, PartialEvent):
                self._shown[call.index] = event.partial
                self._relocate(call.index, event.ops)
                if self.granularity != "item":
                    self._due = True

    def _relocate(self, index: int, ops: list[PatchOp]) -> None:
        """Queue a call's ops, against its own document, as ops against the list's state."""
        prefix = f"/{index}"
        queue = self._ops
        for op in ops:
            if op["path"] == "" and op["op"] == "add":  # the slot holds null until now
                if queue and queue[-1] == {"op": "add", "path": prefix, "value": None}:
                    queue[-1] = {**op, "path": prefix}  # added in this batch: add it as it is
                    continue
                op = {**op, "op": "replace"}
            queue.append({**op, "path": prefix + op["path"]})

    def _relabel(self, call: _Call, exc: StreamValidationError) -> StreamValidationError:
        assert call.tool is not None
        errors = [{**e, "loc": (call.index, *e.get("loc", ()))} for e in exc.errors()]
        return StreamValidationError(errors, title=f"call {call.index} ({call.tool.name})")

    # --- output -------------------------------------------------------------------------
    def _emit(self, now: float) -> PartialEvent:
        self.partial = self._snapshot() if self.partials else None
        ops, self._ops = self._ops, []
        self._due = False
        self._last_emit = now
        return PartialEvent(self.partial, ops)

    def _snapshot(self) -> list[Any]:
        if self.partials:  # what each call last emitted: the ops so far match it
            return list(self._shown)
        return [
            c.value if c.done else c.session.builder.snapshot() if c.session else None
            for c in self.calls
        ]

    @property
    def snapshot(self) -> list[Any]:
        """The partial list now (also when ``partials`` is off)."""
        return self.partial if self.finished or self.partials else self._snapshot()

    @property
    def completed_items(self) -> list[Any]:
        """The calls completed and validated so far, in call order."""
        return [call.value for call in self.calls if call.done]

    @property
    def raw_text(self) -> str:
        """Each call's tool and argument text so far, as a JSON list in call order."""
        return json.dumps([{"tool": c.name, "arguments": "".join(c.pieces)} for c in self.calls])

    def _at(self, path: Path) -> tuple[StreamSession, Path] | None:
        if not path or not isinstance(path[0], int) or not 0 <= path[0] < len(self.calls):
            return None
        session = self.calls[path[0]].session
        return (session, tuple(path[1:])) if session is not None else None

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` (``(call, "field", ...)``) is final."""
        if not path:
            return self.finished
        found = self._at(path)
        return found is not None and found[0].is_complete(found[1])

    def field_state(self, path: Path) -> FieldState:
        """``"pending"``, ``"streaming"`` or ``"done"`` for the value at ``path``."""
        if not path:
            return "done" if self.finished else "streaming" if self.calls else "pending"
        found = self._at(path)
        return found[0].field_state(found[1]) if found is not None else "pending"

    def finish(self, finish_reason: str | None = None, refusal: str | None = None) -> FinalEvent:
        """The response ended: the validated items in call order, or raise why there are none."""
        if self.budget_reached:
            value = self.completed_items
            ops = self._ops + [
                {"op": "remove", "path": f"/{c.index}"} for c in reversed(self.calls) if not c.done
            ]
            return self._final(value, ops)
        if finish_reason == "refusal" or refusal:
            raise RefusalError(refusal or "no reason given")
        if not self.calls:
            raise self._incomplete("the model made no tool call")
        for call in self.calls:
            if call.session is None:
                raise ProviderError(
                    f"Mode.PARALLEL_TOOLS: call {call.index} never named its tool (Delta.tool)"
                )
            if call.done:
                continue
            assert call.tool is not None
            try:
                final = call.session.finish(finish_reason)  # raises why it is incomplete
            except IncompleteOutputError as exc:
                raise self._incomplete(f"call {call.index} ({call.tool.name}): {exc}") from exc
            except JsonStreamError as exc:
                raise JsonStreamError(
                    f"call {call.index} ({call.tool.name}): {exc.message}", exc.offset
                ) from exc
            self._relocate(call.index, final.ops)  # a root that ends at EOF
            call.done, call.value = True, final.value
            self._shown[call.index] = final.value
        return self._final([call.value for call in self.calls], self._ops)

    def _final(self, value: list[Any], ops: list[PatchOp]) -> FinalEvent:
        self._ops = []
        self.partial = value
        self.finished = True
        return FinalEvent(value, ops)

    def _incomplete(self, message: str) -> IncompleteOutputError:
        return IncompleteOutputError(
            message, last_partial=self._snapshot(), completed_items=self.completed_items
        )
