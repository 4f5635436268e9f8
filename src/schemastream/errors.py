"""Exceptions raised by schemastream. Every failure is one of these or an SDK's own error."""

from __future__ import annotations

import threading
import warnings
import weakref
from typing import Any


class SchemaStreamError(Exception):
    """Base class of schemastream's own errors."""


class JsonStreamError(SchemaStreamError, ValueError):
    """The text can no longer be a prefix of valid JSON (or a configured limit was hit).

    ``offset`` is the character offset in the whole stream where the problem was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.message = message
        self.offset = offset


class StreamValidationError(SchemaStreamError, ValueError):
    """A value broke the response model, detected as early as it was decidable.

    ``errors()`` returns pydantic-style error dicts (``type``, ``loc``, ``msg``, ``input``,
    ``ctx``), so code that handles ``pydantic.ValidationError`` can handle this too.
    """

    def __init__(self, errors: list[dict[str, Any]], *, title: str = "response") -> None:
        self._errors = errors
        self.title = title
        lines = [f"{len(errors)} validation error(s) for {title} (while streaming)"]
        for err in errors:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
            lines.append(
                f"{loc}\n  {err.get('msg', '')} [type={err.get('type')}, input={err.get('input')!r:.80}]"
            )
        super().__init__("\n".join(lines))

    def errors(self) -> list[dict[str, Any]]:
        return list(self._errors)

    @property
    def path(self) -> tuple[str | int, ...]:
        """JSON path of the first error."""
        return tuple(self._errors[0].get("loc", ())) if self._errors else ()

    @property
    def constraint(self) -> str:
        """Error type of the first error (e.g. ``string_too_long``)."""
        return str(self._errors[0].get("type", "")) if self._errors else ""

    @property
    def value(self) -> Any:
        """Offending value of the first error."""
        return self._errors[0].get("input") if self._errors else None


class IncompleteOutputError(SchemaStreamError):
    """The model stopped before the output was complete (token limit / length)."""

    def __init__(
        self, message: str, *, last_partial: Any = None, completed_items: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.last_partial = last_partial
        self.completed_items = list(completed_items or [])


class RefusalError(SchemaStreamError):
    """The model refused to answer."""

    def __init__(self, refusal: str) -> None:
        super().__init__(f"the model refused: {refusal}")
        self.refusal = refusal


class ProviderError(SchemaStreamError):
    """A provider-level problem that is not an SDK exception (bad stream framing, early EOF,
    an event of the wrong shape).

    For an event of the wrong shape, ``event`` names the event (``"chat.completion.chunk"``,
    ``"content_block_delta"`` ...) and ``field`` the member that held the wrong kind of value
    (``"choices[0].delta.content"``; ``"the event"`` when the event itself is no object);
    otherwise both are ``None``.
    """

    event: str | None = None
    field: str | None = None


class StreamingDegradedWarning(UserWarning):
    """The mode in use delivers the object whole (e.g. Gemini's function calls): partials do
    not stream; the final value is still validated. Emitted once per client."""


_warned_lock = threading.Lock()
_warned: weakref.WeakSet[Any] = weakref.WeakSet()


def warn_streaming_degraded(owner: Any, detail: str, *, stacklevel: int = 2) -> bool:
    """Emit :class:`StreamingDegradedWarning` for ``owner`` (a provider: one per client) the
    first time only; ``detail`` says which mode delivers what. ``stacklevel`` as for
    :func:`warnings.warn`, counted from the caller. Returns whether it warned."""
    with _warned_lock:
        if owner in _warned:
            return False
        _warned.add(owner)
    warnings.warn(
        f"{detail}; the object arrives whole, so no partials stream before it",
        StreamingDegradedWarning,
        stacklevel=stacklevel,
    )
    return True


class ConfigurationError(SchemaStreamError, ValueError):
    """Unknown provider, missing extra or missing API key; the message says what to do."""


class StreamClosed(SchemaStreamError):
    """The stream was closed before its final value was known."""
