"""A growing text kept compact: what a stream appends in small pieces, stored once.

A model's text arrives in deltas of a few characters; a ``list`` of them costs a ``str``
object (about 50 bytes) per delta on top of the characters, several times the text itself.
:class:`TextBuffer` joins every :data:`BLOCK` pieces into one block, so the overhead stays a
few percent and each character is copied a bounded number of times (once into its block,
once into :meth:`TextBuffer.text`).
"""

from __future__ import annotations

#: Pieces joined into one block (a block of 16-character deltas is 4 KiB).
BLOCK = 256


class TextBuffer:
    """Append-only text: :meth:`append` pieces, :meth:`text` the whole (joined once, kept
    until the next append), ``len()`` its length in characters.

    On hot paths callers may append inline, as :meth:`append` does:
    ``buf.pieces.append(s)``, then ``buf.compact()`` once ``len(buf.pieces) >= BLOCK``.
    """

    __slots__ = ("_blocks", "pieces")

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self.pieces: list[str] = []  # appended since the last block

    def append(self, text: str) -> None:
        pieces = self.pieces
        pieces.append(text)
        if len(pieces) >= BLOCK:
            self.compact()

    def compact(self) -> None:
        """Join the pending pieces into one block."""
        self._blocks.append("".join(self.pieces))
        self.pieces = []

    def text(self) -> str:
        blocks = self._blocks
        if self.pieces or len(blocks) != 1:
            if not blocks and not self.pieces:
                return ""
            # the joined text becomes the only block: held once, the parts go
            self._blocks = blocks = ["".join(blocks + self.pieces)]
            self.pieces = []
        return blocks[0]

    def __len__(self) -> int:
        return sum(map(len, self._blocks)) + sum(map(len, self.pieces))
