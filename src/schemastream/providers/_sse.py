"""Incremental server-sent-events decoding, sans-IO: bytes in, ``(event, data)`` pairs out.

One decoder for every provider that reads an SSE body itself (OpenAI's fast path, Anthropic,
Gemini). It splits on bytes, so a UTF-8 sequence cut between two chunks is never broken, and
the ``data`` stays ``bytes`` (what :func:`jiter.from_json` takes).

Framing, as in the WHATWG ``text/event-stream`` rules:

- lines end in ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a ``\\r\\n`` split between chunks is
  one line end);
- ``data:`` lines of one event are joined with ``\\n``; one space after the colon is dropped;
- ``event:`` names the event; ``id:``, ``retry:``, unknown fields and ``:`` comments are
  ignored;
- a blank line dispatches the event if it has data (an event with no ``data`` line is not
  dispatched; its name is forgotten).

At the end of the body (:meth:`SSEDecoder.finish`) an event whose lines all ended but that has
no closing blank line is still dispatched. A last line without a line ending is parsed like
any line, or handed to ``tail`` first (see :meth:`SSEDecoder.finish`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeAlias

__all__ = ["SSEDecoder", "SSEEvent", "iter_sse"]

#: ``(event name or None, data)``; ``data`` is the ``data:`` lines joined with ``\n``.
SSEEvent: TypeAlias = tuple[str | None, bytes]


class SSEDecoder:
    """Feed body bytes with :meth:`feed`; call :meth:`finish` once at the end of the body."""

    __slots__ = ("_buf", "_data", "_event", "_cr", "_names")

    def __init__(self) -> None:
        self._buf = b""  # the current line, not ended yet (never holds a \r)
        self._data: list[bytes] = []
        self._event: str | None = None
        self._cr = False  # the last chunk ended in \r: a \n opening the next one is its pair
        self._names: dict[bytes, str] = {}  # ``event:`` line -> name

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that ``chunk`` completes (in order)."""
        if self._cr and chunk:
            self._cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._buf:
            chunk = self._buf + chunk
        if b"\n" not in chunk:
            self._buf = chunk
            return []
        lines = chunk.split(b"\n")
        self._buf = lines.pop()
        out: list[SSEEvent] = []
        data = self._data
        event = self._event
        names = self._names
        for line in lines:
            # the hot path first: one ``data:`` line (OpenAI chat), ``event:`` + ``data:``
            # (Responses, Anthropic), a blank line
            if line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif not line:
                if data:
                    out.append((event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data = self._data = []
                event = None
            elif line[:6] == b"event:":
                event = names.get(line) or self._name(line)
            else:
                self._event = event
                self._field(line)
                event = self._event
        self._event = event
        return out

    def finish(self, tail: Callable[[bytes], bytes | None] | None = None) -> list[SSEEvent]:
        """The end of the body: the last, unterminated line and any event still open.

        ``tail`` sees a last line that has no line ending (it may be cut off mid-way) and
        returns the line to parse, or ``None`` to drop it; without ``tail`` it is parsed as is.
        """
        line, self._buf = self._buf, b""
        self._cr = False
        if line and tail is not None:
            line = tail(line) or b""
        if line:
            self._field(line)
        data, self._data = self._data, []
        event, self._event = self._event, None
        return [(event, b"\n".join(data))] if data else []

    def _name(self, line: bytes) -> str:
        """The name an ``event:`` line gives (decoded once per distinct line)."""
        name = (line[7:] if line[6:7] == b" " else line[6:]).decode("utf-8", "replace")
        if len(self._names) < 64:
            self._names[line] = name
        return name

    def _field(self, line: bytes) -> None:
        if line[:1] == b":":
            return  # comment (keep-alive)
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")


def iter_sse(
    chunks: Iterable[bytes], tail: Callable[[bytes], bytes | None] | None = None
) -> Iterator[SSEEvent]:
    """Each event of an SSE body given as byte chunks (see :meth:`SSEDecoder.finish` for
    ``tail``)."""
    decoder = SSEDecoder()
    feed = decoder.feed
    for chunk in chunks:
        yield from feed(chunk)
    yield from decoder.finish(tail)
