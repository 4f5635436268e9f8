"""What a stream produces, besides the partial objects themselves.

These are designed once and used everywhere: ``Stream.events()`` yields them, the web
transport turns each into one SSE / WebSocket message, and the CLI renders them. Reasoning
and prose (:class:`ReasoningEvent`, :class:`TextEvent`) come between the object's events;
plain iteration of a stream skips them.

Patch operations (``ops``) are JSON-serialisable dicts against the previous state, with
RFC 6901 JSON Pointer paths. They are RFC 6902 ``add``/``replace``/``remove`` plus one
extension, ``{"op": "append", "path": P, "value": S}``: the string at ``P`` grows by the
string ``S`` (so a growing string costs only its new characters on the wire), or the array
at ``P`` grows by the elements of the list ``S``. ``schemastream.patch.to_rfc6902`` rewrites
``append`` as strict RFC 6902 (``replace`` for strings, one ``add`` per array element).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

PatchOp = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PartialEvent:
    """The partial object changed. ``ops`` turn the previous JSON state into the new one."""

    partial: Any
    ops: list[PatchOp] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemEvent:
    """List element ``index`` of the result just completed and passed validation."""

    index: int
    item: Any
    pointer: str = ""


@dataclass(frozen=True, slots=True)
class RestartEvent:
    """A retry began (attempt counts from 1 for the first retry): UIs should clear."""

    attempt: int
    error: BaseException


@dataclass(frozen=True, slots=True)
class FinalEvent:
    """The validated final value. ``ops`` turn the last state into its JSON (often none)."""

    value: Any
    ops: list[PatchOp] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReasoningEvent:
    """New reasoning text (thinking, a reasoning summary): append ``text`` to what came before.

    Never part of the object. Summary parts are separated by a blank line (``"\n\n"``)."""

    text: str


@dataclass(frozen=True, slots=True)
class TextEvent:
    """New text the model wrote beside the object (a sentence before a tool call, prose
    around fenced JSON): append ``text`` to what came before. Never parsed as the object."""

    text: str


StreamEvent = Union[PartialEvent, ItemEvent, ReasoningEvent, TextEvent, RestartEvent, FinalEvent]
