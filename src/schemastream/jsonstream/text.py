"""A growing text kept compact: what a stream appends in small pieces, stored once.

A model's text arrives in deltas of a few characters; a ``list`` of them costs a ``str``
object (about 50 bytes) per delta on top of the characters, several times the text itself.
:class:`TextBuffer` joins every :data:`BLOCK` pieces into one, so the overhead stays a few
percent and each character is copied a bounded number of times (once into its block, once
into :meth:`TextBuffer.text`).
"""

from __future__ import annotations

#: Pieces joined into one block (a block of 16-character deltas is 4 KiB).
BLOCK = 256


class TextBuffer:
    """Append-only text: :meth:`append` pieces, :meth:`text` the whole (cached until the next
    append), ``len()`` its length in characters."""

    __slots__ = ("_blocks", "_pieces", "_length", "_text")

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._pieces: list[str] = []
        self._length = 0
        self._text: str | None = ""

    def append(self, text: str) -> None:
        pieces = self._pieces
        pieces.append(text)
        self._length += len(text)
        self._text = None
        if len(pieces) >= BLOCK:
            self._blocks.append("".join(pieces))
            self._pieces = []

    def text(self) -> str:
        text = self._text
        if text is None:
            text = self._text = "".join(self._blocks + self._pieces)
            self._blocks = [text]  # held once: the blocks go, the joined text stays
            self._pieces = []
        return text

    def __len__(self) -> int:
        return self._length
