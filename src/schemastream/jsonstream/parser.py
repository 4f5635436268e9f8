"""A push JSON parser: text chunks in, path-addressed events and a partial value out.

Each character is examined a bounded number of times (runs of string characters,
whitespace and digits are consumed by compiled regexes), so total work is linear in the
input however it is chunked. The parser is iterative: nesting is bounded by ``max_depth``,
never by Python's recursion limit.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from ..errors import JsonStreamError
from .events import JsonEvent, Path, StringDelta, ValueEnd, ValueStart

_WS = re.compile(r"[ \t\n\r]*")
_STR_RUN = re.compile(r'[^"\\\x00-\x1f]*')
_NUM_RUN = re.compile(r"[-+0-9.eE]*")
_NUM_PREFIX = re.compile(
    r"-?|-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?[eE][+-]?[0-9]*"
)
_NUM_FULL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
#: The default nesting limit (objects and arrays) of every parser, session and client.
MAX_DEPTH = 512
_MAX_HELD = 4096  # characters a root found in prose is held before it is trusted anyway
_PROSE_STOP = re.compile(r"[{\[`/]")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}

# container states
_O_KEY_OR_END, _O_KEY, _O_COLON, _O_VALUE, _O_NEXT = range(5)
_A_VALUE_OR_END, _A_VALUE, _A_NEXT = range(5, 8)
# token kinds
_NONE, _STRING, _NUMBER, _LITERAL = range(4)
# lenient-mode comment states
_C_NONE, _C_SLASH, _C_LINE, _C_BLOCK, _C_BLOCK_STAR = range(5)


class _Frame:
    __slots__ = ("container", "is_object", "path", "state", "key", "count")

    def __init__(self, container: Any, is_object: bool, path: Path) -> None:
        self.container = container
        self.is_object = is_object
        self.path = path
        self.state = _O_KEY_OR_END if is_object else _A_VALUE_OR_END
        self.key: str = ""
        self.count = 0


class JsonStreamParser:
    """Incremental JSON parser. ``feed()`` chunks, read ``value``/events, ``close()`` at the end.

    Strict (RFC 8259) by default. ``lenient=True`` accepts what models really write: prose
    before the JSON, Markdown fences, trailing commas, ``//`` and ``/* */`` comments, and
    anything after the root value. A ``{``/``[`` found in prose starts the JSON only once it
    proves to be JSON (``{"key":``, or an array's first complete element); until then its
    events are held, and if it breaks first it was prose and scanning resumes after it. Numbers and literals appear in :attr:`value` only once
    complete (``{"age": 3`` has no ``age`` yet); strings appear as they grow.

    ``values=False`` is for a consumer that builds values from the events itself (the
    streaming session's builder): the parser then keeps no value, so every string and
    container is held once, by that consumer. Its :class:`ValueEnd` events carry numbers,
    booleans and ``null`` but ``None`` for strings, objects and arrays; :attr:`value` and
    :meth:`close` give ``None`` for them, and :meth:`is_complete` is not available.
    """

    def __init__(
        self,
        *,
        lenient: bool = False,
        max_depth: int = MAX_DEPTH,
        max_size: int | None = None,
        values: bool = True,
    ) -> None:
        self.lenient = lenient
        self.values = values
        self.max_depth = max_depth
        self.max_size = max_size
        self.offset = 0  # characters consumed
        self.done = False
        self._root: Any = None
        self._has_root = False
        self._stack: list[_Frame] = []
        self._error: JsonStreamError | None = None
        self._decoder: Any = None
        self._started = False  # saw the root's first character
        # the token being read
        self._tok = _NONE
        self._tok_key = False
        self._tok_path: Path = ()
        self._pieces: list[str] = []
        self._delta: list[str] = []
        self._esc = ""
        self._hi = ""  # a high surrogate waiting for its low half
        self._num = ""
        self._lit = ""
        self._lit_word = ""
        self._lit_value: Any = None
        self._comment = _C_NONE
        # lenient prose before the root
        self._pre_last = "\n"
        self._ticks = 0
        self._fence_header = False
        self._after_fence = False
        self._events: list[JsonEvent] = []  # where events go now (_out, or held)
        self._out: list[JsonEvent] = []  # what feed() returns
        self._held = False
        self._held_events: list[JsonEvent] = []
        self._replay: list[str] = []
        self._replay_len = 0
        self._replay_base = 0
        self._chunk = ""
        self._chunk_base = 0
        self._text_cache: str | None = None

    # --- public API ---------------------------------------------------------------------
    def feed(self, chunk: str | bytes) -> list[JsonEvent]:
        """Consume a chunk; return the events it completed. Raises :class:`JsonStreamError`."""
        if self._error is not None:
            raise JsonStreamError(self._error.message, self._error.offset)
        if isinstance(chunk, (bytes, bytearray)):
            if self._decoder is None:
                self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
            try:
                text: str = self._decoder.decode(bytes(chunk))
            except UnicodeDecodeError as exc:
                self._fail(f"invalid UTF-8 ({exc.reason})", self.offset)
        elif isinstance(chunk, str):
            text = chunk
        else:
            # not a parse error (the parser's state is untouched): the caller passed no text
            raise JsonStreamError(
                f"feed() takes str or UTF-8 bytes, not {type(chunk).__name__}", self.offset
            )
        if self.max_size is not None and self.offset + len(text) > self.max_size:
            self._fail(f"document exceeds max_size={self.max_size} characters", self.max_size)
        self._out = []
        self._events = self._held_events if self._held else self._out
        if self._held:
            self._replay.append(text)
            self._replay_len += len(text)
            if self._replay_len > _MAX_HELD:
                self._confirm()
        base = self.offset
        while True:
            try:
                self._consume(text, base)
                break
            except JsonStreamError as exc:
                if not self._held:
                    self._error = exc
                    raise
                # lenient: a "{" in the prose was not the JSON after all; rescan after it
                text, base = "".join(self._replay)[1:], self._replay_base + 1
                self._rewind()
        if self._tok == _STRING and self._delta:
            self._flush_delta()
        return self._out

    def finish(self) -> list[JsonEvent]:
        """End of input: return the events it completes, or raise if the document is incomplete.

        Only a number at the root ends here (``12`` has no delimiter after it), so the list
        is its ``ValueEnd`` or empty. Idempotent; :meth:`close` calls it.
        """
        if self._error is not None:
            raise JsonStreamError(self._error.message, self._error.offset)
        out: list[JsonEvent] = []
        if self._decoder is not None:
            try:
                tail = self._decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                self._fail(f"invalid UTF-8 ({exc.reason})", self.offset)
            if tail:
                out.extend(self.feed(tail))
        if not self.done and self._tok == _NUMBER and not self._stack:
            self._events = out
            self._end_number(self.offset)
        if not self.done:
            what = "empty document" if not self._started else "unexpected end of document"
            self._fail(what, self.offset)
        return out

    def close(self) -> Any:
        """End of input: return the final value, or raise if the document is incomplete."""
        self.finish()
        return self._root

    @property
    def value(self) -> Any:
        """The value so far: complete parts plus the string being written, if any."""
        if self._held or not self.values:
            return None
        if self._tok == _STRING and not self._tok_key and not self.done:
            text = self._current_text()
            if not self._stack:
                return text
            self._place(self._stack[-1], text)
        return self._root

    def is_complete(self, path: Path) -> bool:
        """Whether the value at ``path`` has been read to its end (needs ``values=True``)."""
        if not self.values:
            raise TypeError("is_complete() needs a parser that keeps values (values=True)")
        path = tuple(path)
        if self._held:
            return False
        if self.done:
            return self._exists(path)
        open_path = (
            self._tok_path
            if self._tok != _NONE and not self._tok_key
            else (self._stack[-1].path if self._stack else None)
        )
        if open_path is None:
            return False
        if open_path[: len(path)] == path:
            return False  # the open value or one of its ancestors
        return self._exists(path)

    # --- internals ----------------------------------------------------------------------
    def _fail(self, message: str, offset: int) -> Any:
        self._error = JsonStreamError(message, offset)
        raise self._error

    def _exists(self, path: Path) -> bool:
        if not self._has_root:
            return False
        node = self._root
        for part in path:
            if isinstance(node, dict):
                if part not in node:
                    return False
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return False
        return True

    def _current_text(self) -> str:
        if self._text_cache is None:
            self._text_cache = "".join(self._pieces)
            self._pieces = [self._text_cache]
        return self._text_cache  # a pending high surrogate is not shown: it may get its pair

    def _place(self, frame: _Frame, value: Any) -> None:
        container = frame.container
        if container is None:  # values=False: nothing is built
            return
        if frame.is_object:
            container[frame.key] = value
        elif len(container) < frame.count:
            container.append(value)
        else:
            container[frame.count - 1] = value

    def _flush_delta(self) -> None:
        text = "".join(self._delta)
        self._delta = []
        if text:
            self._events.append(StringDelta(self._tok_path, text))

    def _add_text(self, text: str) -> None:
        if self._hi:  # a lone high surrogate: kept as is, like json.loads
            text = self._hi + text
            self._hi = ""
        if self._tok_key:
            self._pieces.append(text)
            self._text_cache = None
            return
        if self.values:  # else the consumer keeps the text (from the StringDelta events)
            self._pieces.append(text)
            self._text_cache = None
        self._delta.append(text)

    def _consume(self, s: str, base: int) -> None:
        i = 0
        n = len(s)
        self._chunk, self._chunk_base = s, base
        try:
            while i < n:
                tok = self._tok
                if tok == _STRING:
                    i = self._string(s, i, n, base)
                elif tok == _NUMBER:
                    m = _NUM_RUN.match(s, i)
                    j = m.end()  # type: ignore[union-attr]
                    if j > i:
                        start = len(self._num)
                        self._num += s[i:j]
                        if not _NUM_PREFIX.fullmatch(self._num):
                            bad = next(
                                k
                                for k in range(start + 1, len(self._num) + 1)
                                if not _NUM_PREFIX.fullmatch(self._num[:k])
                            )
                            self._fail(
                                f"invalid number {self._num[:bad]!r}", base + i + bad - 1 - start
                            )
                        i = j
                    if i < n:
                        self._end_number(base + i)
                elif tok == _LITERAL:
                    c = s[i]
                    want = self._lit_word[len(self._lit)]
                    if c != want:
                        self._fail(f"invalid literal (expected {self._lit_word!r})", base + i)
                    self._lit += c
                    i += 1
                    if self._lit == self._lit_word:
                        self._tok = _NONE
                        self._end_scalar(self._lit_value)
                else:
                    i = self._structure(s, i, n, base)
        finally:
            self.offset = base + n

    def _string(self, s: str, i: int, n: int, base: int) -> int:
        if self._esc:
            return self._escape(s, i, n, base)
        m = _STR_RUN.match(s, i)
        j = m.end()  # type: ignore[union-attr]
        if j > i:
            self._add_text(s[i:j])
        if j >= n:
            return j
        c = s[j]
        if c == '"':
            self._end_string()
            return j + 1
        if c == "\\":
            self._esc = "\\"
            return self._escape(s, j + 1, n, base)
        return self._fail("control character in string", base + j)  # type: ignore[no-any-return]

    def _escape(self, s: str, i: int, n: int, base: int) -> int:
        esc = self._esc
        while i < n and (len(esc) < 2 or (esc[1] == "u" and len(esc) < 6)):
            c = s[i]
            if len(esc) >= 2 and c not in _HEX_DIGITS:
                self._fail(f"invalid unicode escape {esc + c!r}", base + i)
            esc += c
            i += 1
            if len(esc) == 2 and esc[1] != "u":
                break
        self._esc = esc
        if len(esc) < 2 or (esc[1] == "u" and len(esc) < 6):
            return i  # the escape continues in the next chunk
        self._esc = ""
        kind = esc[1]
        if kind != "u":
            ch = _ESCAPES.get(kind)
            if ch is None:
                self._fail(f"invalid escape {esc!r}", base + i - 1)
            self._add_text(ch)  # type: ignore[arg-type]
            return i
        digits = esc[2:]
        if not _HEX4.fullmatch(digits):
            self._fail(f"invalid unicode escape {esc!r}", base + i - 1)
        code = int(digits, 16)
        if 0xDC00 <= code <= 0xDFFF and self._hi:
            pair = 0x10000 + ((ord(self._hi) - 0xD800) << 10) + (code - 0xDC00)
            self._hi = ""
            self._add_text(chr(pair))
        elif 0xD800 <= code <= 0xDBFF:
            if self._hi:
                self._add_text("")  # flush the previous lone high surrogate
            self._hi = chr(code)
            self._text_cache = None
        else:
            self._add_text(chr(code))
        return i

    def _end_string(self) -> None:
        if self._hi:
            self._add_text("")
        text = "".join(self._pieces)
        self._pieces = []
        self._text_cache = None
        self._tok = _NONE
        if self._tok_key:
            frame = self._stack[-1]
            frame.key = text
            frame.state = _O_COLON
            return
        self._flush_delta()
        self._end_scalar(text if self.values else None)

    def _end_number(self, offset: int) -> None:
        text = self._num
        self._tok = _NONE
        if not _NUM_FULL.fullmatch(text):
            self._fail(f"invalid number {text!r}", offset)
        try:
            value: Any = float(text) if ("." in text or "e" in text or "E" in text) else int(text)
        except ValueError:
            self._fail(f"number too long ({len(text)} digits)", offset)
        self._end_scalar(value)

    def _end_scalar(self, value: Any) -> None:
        path = self._tok_path
        if self._stack:
            self._place(self._stack[-1], value)
            if self._held and len(self._stack) == 1 and not self._stack[0].is_object:
                self._events.append(ValueEnd(path, value))
                self._confirm()  # an array root's first element is complete JSON
                return
        else:
            self._root = value
            self._has_root = True
            self.done = True
        self._events.append(ValueEnd(path, value))

    def _start_value(self, c: str, at: int) -> None:
        stack = self._stack
        if stack:
            frame = stack[-1]
            if frame.is_object:
                path: Path = (*frame.path, frame.key)
                frame.state = _O_NEXT
            else:
                path = (*frame.path, frame.count)
                frame.count += 1
                frame.state = _A_NEXT
        else:
            path = ()
            self._started = True
            if self.lenient and not self._after_fence:
                self._hold(at)
        if c == "{" or c == "[":
            if len(stack) >= self.max_depth:
                self._fail(f"nesting deeper than max_depth={self.max_depth}", at)
            container: Any = ({} if c == "{" else []) if self.values else None
            if stack:
                self._place(stack[-1], container)
            else:
                self._root = container
                self._has_root = True
            stack.append(_Frame(container, c == "{", path))
            self._events.append(ValueStart(path, "object" if c == "{" else "array"))
            return
        self._tok_path = path
        self._tok_key = False
        if c == '"':
            self._tok = _STRING
            self._pieces = []
            self._text_cache = ""
            self._events.append(ValueStart(path, "string"))
        elif c == "-" or "0" <= c <= "9":
            self._tok = _NUMBER
            self._num = c
            self._events.append(ValueStart(path, "number"))
        elif c in _LITERALS:
            self._tok = _LITERAL
            self._lit = c
            self._lit_word, self._lit_value = _LITERALS[c]
            self._events.append(ValueStart(path, "literal"))
        else:
            self._fail(f"unexpected character {c!r}", at)

    def _close_container(self, at: int) -> None:
        frame = self._stack.pop()
        self._events.append(ValueEnd(frame.path, frame.container))
        if not self._stack:
            self.done = True
        if self._held and len(self._stack) <= 1:
            self._confirm()  # the root, or an array root's element, is complete JSON

    # --- lenient: a root found in prose is held until it proves to be JSON ----------------
    def _hold(self, at: int) -> None:
        self._held = True
        self._held_events = []
        self._events = self._held_events
        self._replay = [self._chunk[at - self._chunk_base :]]
        self._replay_len = len(self._replay[0])
        self._replay_base = at

    def _confirm(self) -> None:
        self._held = False
        self._out.extend(self._held_events)
        self._held_events = []
        self._events = self._out
        self._replay = []

    def _rewind(self) -> None:
        """Forget a false start: back to the prose before the root."""
        self._error = None
        self._held = False
        self._held_events = []
        self._events = self._out
        self._replay = []
        self._stack = []
        self._root = None
        self._has_root = False
        self._started = False
        self.done = False
        self._tok = _NONE
        self._tok_key = False
        self._pieces = []
        self._delta = []
        self._esc = ""
        self._hi = ""
        self._comment = _C_NONE
        self._text_cache = None
        self._pre_last = "{"
        self._ticks = 0

    def _structure(self, s: str, i: int, n: int, base: int) -> int:
        """Whitespace, punctuation and value starts (no token open)."""
        if self._comment != _C_NONE:
            return self._skip_comment(s, i, n, base)
        if self._fence_header:
            return self._prose(s, i, n)
        i = _WS.match(s, i).end()  # type: ignore[union-attr]
        if i >= n:
            return i
        c = s[i]
        at = base + i
        stack = self._stack
        if not stack:
            if self.done:
                if self.lenient:
                    return n  # anything after the root value is ignored
                self._fail(f"unexpected {c!r} after the JSON value", at)
            if self.lenient and not self._after_fence and c not in "{[":
                return self._prose(s, i, n)
            self._start_value(c, at)
            return i + 1
        if self.lenient and c == "/":
            self._comment = _C_SLASH
            return i + 1
        frame = stack[-1]
        state = frame.state
        if state in (_O_NEXT, _A_NEXT):
            if c == ",":
                frame.state = _O_KEY if frame.is_object else _A_VALUE
            elif c == ("}" if frame.is_object else "]"):
                self._close_container(at)
            else:
                closer = "}" if frame.is_object else "]"
                self._fail(f"expected ',' or {closer!r} but got {c!r}", at)
        elif state in (_O_KEY_OR_END, _O_KEY):
            if c == '"':
                self._tok = _STRING
                self._tok_key = True
                self._pieces = []
                self._text_cache = ""
            elif c == "}" and (state == _O_KEY_OR_END or self.lenient):
                self._close_container(at)
            else:
                self._fail(f"expected a string key but got {c!r}", at)
        elif state == _O_COLON:
            if c != ":":
                self._fail(f"expected ':' but got {c!r}", at)
            frame.state = _O_VALUE
            if self._held and len(stack) == 1:
                self._confirm()  # '{"key":' -- this is the JSON
        elif state == _O_VALUE:
            self._start_value(c, at)
        else:  # _A_VALUE_OR_END, _A_VALUE
            if c == "]" and (state == _A_VALUE_OR_END or self.lenient):
                self._close_container(at)
            else:
                self._start_value(c, at)
        return i + 1

    def _prose(self, s: str, i: int, n: int) -> int:
        """Lenient mode, before the root: skip text up to the first ``{``/``[``, a comment
        that starts a line or follows a space, or a Markdown fence (after which any JSON
        value may follow, scalars included)."""
        while i < n:
            if self._fence_header:
                j = s.find("\n", i)
                if j < 0:
                    return n
                self._fence_header = False
                self._after_fence = True
                return j + 1
            m = _PROSE_STOP.search(s, i)
            if m is None:
                self._ticks = 0
                self._pre_last = s[n - 1]
                return n
            j = m.start()
            if j > i:
                self._ticks = 0
                self._pre_last = s[j - 1]
            c = s[j]
            if c in "{[":
                return j  # the JSON starts here
            if c == "`":
                self._ticks += 1
                self._pre_last = c
                if self._ticks == 3:
                    self._ticks = 0
                    self._fence_header = True
                i = j + 1
                continue
            self._ticks = 0
            if self._pre_last in " \t\r\n":  # "/": a comment only where one could start
                self._comment = _C_SLASH
                return j + 1
            self._pre_last = c
            i = j + 1
        return i

    def _skip_comment(self, s: str, i: int, n: int, base: int) -> int:
        state = self._comment
        if state == _C_SLASH:
            c = s[i]
            if c == "/":
                self._comment = _C_LINE
            elif c == "*":
                self._comment = _C_BLOCK
            elif not self._stack and not self._started:
                self._comment = _C_NONE  # just a slash in the prose before the JSON
                self._pre_last = "/"
                return i
            else:
                self._fail("unexpected '/'", base + i - 1)
            return i + 1
        if state == _C_LINE:
            j = s.find("\n", i)
            if j < 0:
                return n
            self._comment = _C_NONE
            return j + 1
        # block comment
        while i < n:
            if self._comment == _C_BLOCK_STAR and s[i] == "/":
                self._comment = _C_NONE
                return i + 1
            if s[i] == "*":
                self._comment = _C_BLOCK_STAR
                i += 1
                continue
            self._comment = _C_BLOCK
            j = s.find("*", i)
            if j < 0:
                return n
            i = j
        return i
