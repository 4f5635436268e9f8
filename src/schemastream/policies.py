"""Display policies: ``Annotated`` metadata that decides when a value may appear in a partial.

Policies are schemastream's own, display-only: pydantic ignores them (they never reach the
JSON schema a provider gets, nor change validation). The plan reads them once per field
(:func:`read_policy`); the partial builder applies them to snapshots and patch ops alike,
so every surface (iteration, ``events()``, the web transport, the CLI) shows the same thing.

- :class:`Done` — the value appears only once it is complete (a whole URL, a whole card).
- :class:`NotNull` — on a model's field: the model is not shown at all until the field has
  a value (a string: at least one character; anything else: complete).
- :class:`WithState` — on a model's field: in the JSON state (patch ops, web events) the
  field travels as ``{"value": ..., "state": "pending" | "streaming" | "done"}``.
- :class:`StreamCheck` — a user check on the growing value; ``ValueError`` fails fast.

Markers work bare (``Annotated[str, ss.Done]``) or called (``Annotated[str, ss.Done()]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FieldState = Literal["pending", "streaming", "done"]


class _Marker:
    """A policy marker: usable as the class itself or as an instance."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ss.{type(self).__name__}()"


class Done(_Marker):
    """Show the value only once it is complete (no half URL, no card without its blurb)."""


class NotNull(_Marker):
    """Hide the enclosing object until this field has a value (a string: one character)."""


class WithState(_Marker):
    """Carry the field's completion state in the JSON state: ``{"value", "state"}``."""


class StreamCheck:
    """A check on the value as it grows: a string's prefix, a list's items so far, other
    values once complete. Raising ``ValueError`` (or ``AssertionError``) fails the stream
    at once, like a built-in constraint."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise TypeError(f"StreamCheck needs a callable, not {fn!r}")
        self.fn = fn

    def __repr__(self) -> str:
        return f"ss.StreamCheck({getattr(self.fn, '__name__', self.fn)!r})"


@dataclass(frozen=True)
class Policy:
    """The policies of one place in the document, read from its metadata."""

    done: bool = False
    not_null: bool = False
    with_state: bool = False
    checks: tuple[Callable[[Any], Any], ...] = ()

    def __bool__(self) -> bool:
        return self.done or self.not_null or self.with_state or bool(self.checks)


NO_POLICY = Policy()


def _is(meta: Any, marker: type[_Marker]) -> bool:
    return meta is marker or isinstance(meta, marker)


def is_policy(meta: Any) -> bool:
    """Whether ``meta`` (an ``Annotated`` metadata item) is one of ours."""
    return isinstance(meta, (_Marker, StreamCheck)) or (
        isinstance(meta, type) and issubclass(meta, _Marker)
    )


def read_policy(metadata: Sequence[Any]) -> Policy:
    """Collect the policies in ``metadata`` (other items are ignored)."""
    if not any(is_policy(m) for m in metadata):
        return NO_POLICY
    return Policy(
        done=any(_is(m, Done) for m in metadata),
        not_null=any(_is(m, NotNull) for m in metadata),
        with_state=any(_is(m, WithState) for m in metadata),
        checks=tuple(m.fn for m in metadata if isinstance(m, StreamCheck)),
    )
