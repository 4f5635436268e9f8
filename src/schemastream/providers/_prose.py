"""Prose beside a JSON answer written as plain text (``JSON`` / ``MD_JSON`` modes), sans-IO.

A chat model asked for JSON in its text may write prose first ("Here is the result:"), the
JSON (often in a Markdown fence), then more prose. :class:`ProseSplitter` splits the text as
it streams: the JSON goes to the document, everything else is prose (``Delta.prose``), and
the fence lines are dropped. It decides by lines, so prose is never held longer than a line:

- before the JSON, a line that starts with a fence (```` ``` ````, any info string) opens a
  fenced block: the text after that line is the document until a line that starts with
  ```` ``` ```` (a raw newline cannot occur inside a JSON string, so that line is outside
  the JSON), and what follows the closing fence is prose;
- a line that starts (after blanks) with ``{``, or with ``[`` followed by a JSON value or
  ``]``, starts unfenced JSON: the document runs to the bracket that closes it (strings and
  escapes tracked), and the rest is prose;
- any other line, and a ``{`` in the middle of a line, is prose.
"""

from __future__ import annotations

_PRE, _FENCED, _BARE, _POST = range(4)
_AFTER_BRACKET = '"{[]}-0123456789tfn'  # what may follow "[" when it opens JSON


class ProseSplitter:
    """``feed(text) -> (document text, prose)``; ``finish()`` flushes what it held back."""

    __slots__ = ("state", "held", "line_start", "depth", "in_string", "escape")

    def __init__(self) -> None:
        self.state = _PRE
        self.held = ""  # text not yet decided (a line start that may open a fence or JSON)
        self.line_start = True  # before the JSON: the held text starts a line
        self.depth = 0  # unfenced JSON: open brackets
        self.in_string = False
        self.escape = False

    def feed(self, text: str) -> tuple[str, str]:
        doc: list[str] = []
        prose: list[str] = []
        self._run(self.held + text, doc, prose)
        return "".join(doc), "".join(prose)

    def finish(self) -> tuple[str, str]:
        """The end of the text: what was held back (a fence that never closed is document)."""
        held, self.held = self.held, ""
        if self.state == _FENCED:
            return held, ""
        return "", held

    def _run(self, s: str, doc: list[str], prose: list[str]) -> None:
        self.held = ""
        i, n = 0, len(s)
        while i < n:
            if self.state == _PRE:
                i = self._pre(s, i, doc, prose)
            elif self.state == _FENCED:
                i = self._fenced(s, i, doc, prose)
            elif self.state == _BARE:
                i = self._bare(s, i, doc)
            else:
                prose.append(s[i:])
                return
            if self.held:
                return

    def _pre(self, s: str, i: int, doc: list[str], prose: list[str]) -> int:
        if not self.line_start:  # inside a prose line: prose up to its end
            nl = s.find("\n", i)
            if nl < 0:
                prose.append(s[i:])
                return len(s)
            prose.append(s[i : nl + 1])
            self.line_start = True
            return nl + 1
        rest = s[i:]
        body = rest.lstrip(" \t\r")
        lead = len(rest) - len(body)
        if not body:
            self.held = rest  # blanks only: the line's start is still to come
            return len(s)
        if body[0] == "\n":
            prose.append(s[i : i + lead + 1])
            return i + lead + 1
        if body.startswith("```"):
            nl = body.find("\n")
            if nl < 0:
                self.held = rest  # the fence's info string is still coming
                return len(s)
            if lead:
                prose.append(rest[:lead])
            self.state = _FENCED
            self.line_start = True
            return i + lead + nl + 1
        if "```".startswith(body):  # "`" or "``": maybe a fence
            self.held = rest
            return len(s)
        if body[0] == "{" or body[0] == "[":
            after = body[1:].lstrip(" \t\r\n")
            if body[0] == "[" and not after:
                self.held = rest  # "[" opens JSON only if a value (or "]") follows
                return len(s)
            if body[0] == "{" or after[0] in _AFTER_BRACKET:
                if lead:
                    prose.append(rest[:lead])
                self.state = _BARE
                return i + lead
        self.line_start = False
        return i

    def _fenced(self, s: str, i: int, doc: list[str], prose: list[str]) -> int:
        n = len(s)
        while i < n:
            if self.line_start:
                body = s[i:].lstrip(" \t")
                if body.startswith("```"):  # the closing fence: prose follows
                    self.state = _POST
                    return n - len(body) + 3
                if "```".startswith(body):  # maybe the closing fence: wait for more
                    self.held = s[i:]
                    return n
                self.line_start = False
            nl = s.find("\n", i)
            if nl < 0:
                doc.append(s[i:])
                return n
            doc.append(s[i : nl + 1])
            self.line_start = True
            i = nl + 1
        return i

    def _bare(self, s: str, i: int, doc: list[str]) -> int:
        start = i
        n = len(s)
        depth, in_string, escape = self.depth, self.in_string, self.escape
        while i < n:
            c = s[i]
            i += 1
            if in_string:
                if escape:
                    escape = False
                elif c == "\\":
                    escape = True
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "{" or c == "[":
                depth += 1
            elif c == "}" or c == "]":
                depth -= 1
                if depth <= 0:
                    self.state = _POST
                    break
        self.depth, self.in_string, self.escape = depth, in_string, escape
        doc.append(s[start:i])
        return i
