"""Path-addressed events emitted by :class:`~schemastream.jsonstream.JsonStreamParser`.

A path is a tuple of object keys (``str``) and array indexes (``int``) from the root; the
root value has the path ``()``. For every value the parser emits exactly one
:class:`ValueStart`, then (strings only) zero or more :class:`StringDelta`, then exactly
one :class:`ValueEnd` carrying the final value. Object keys are not values: the key is the
last element of the member's path. Events come in document order; a container's
``ValueEnd`` follows the ``ValueEnd`` of its last child.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Union

PathItem = Union[str, int]
Path = tuple[PathItem, ...]
ValueKind = Literal["object", "array", "string", "number", "literal"]


@dataclass(frozen=True, slots=True)
class ValueStart:
    """A value began at ``path``. ``kind`` is known from its first character."""

    path: Path
    kind: ValueKind


@dataclass(frozen=True, slots=True)
class StringDelta:
    """The string at ``path`` grew by ``text`` (escapes already decoded)."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class ValueEnd:
    """The value at ``path`` is complete; ``value`` is its final Python value."""

    path: Path
    value: Any


JsonEvent = Union[ValueStart, StringDelta, ValueEnd]
