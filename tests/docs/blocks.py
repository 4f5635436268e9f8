"""Collect and run the fenced Python blocks of a Markdown page (the docs and the README).

The rules a page follows (see ``docs/contributing-docs.md``):

* Every ```` ```python ```` block runs, in page order, in one namespace per page (a chapter
  builds on its earlier blocks). Nothing is skipped: a block that cannot run as written does
  not belong in the docs.
* What a block prints is compared with the ```` ```text title="Output" ```` block right after
  it (only blank lines between). A line ``...`` in the expected output matches any number of
  lines. A block that prints without an Output block fails, so no output goes unchecked.
* The model's answers a block needs are declared right before it, hidden from the rendered
  page as HTML comments, one per model call, in call order::

      <!-- replay
      {"items": [{"title": "Voice notes", "blurb": "..."}]}
      -->

  The body is what the model writes (JSON, or raw text when it does not parse as JSON).
  Options after ``replay``: ``chunk=N`` (characters per streamed delta, default 4),
  ``finish=length`` (the model hit its token limit), ``status=429`` (an HTTP error instead
  of an answer), ``delay=0.01`` (seconds between chunks, as a model pauses), ``drop=N``
  (the connection is cut after N chunks of the body), ``stall=N`` (the body stops before
  chunk N until the client hangs up, for read timeouts), ``wrong_shape=N`` (OpenAI chat
  completions: an event whose text delta is the number 5 comes before the N-th piece of
  text). The test serves each answer from the replay servers in ``tests/replay`` in
  the wire format of the request that asks for it (OpenAI chat / Responses, Anthropic,
  Gemini; tool call or text, whichever the request asks for), with ``OPENAI_BASE_URL`` and
  friends pointing the SDKs' default clients there. Every declared answer must be used.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.replay import anthropic_server as an
from tests.replay import gemini_server as gm
from tests.replay import openai_server as oa
from tests.replay.base import Script, sse_frame

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)(?P<attrs>[^\n]*)$")
REPLAY = re.compile(r"<!--\s*replay(?P<opts>[^\n]*)\n(?P<body>.*?)-->", re.S)
OUTPUT_ATTRS = re.compile(r'title="Output"')


@dataclass
class Answer:
    """One model answer declared in a ``<!-- replay -->`` comment."""

    text: str
    chunk: int = 4
    finish: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: int | None = None
    stall: int | None = None
    wrong_shape: int | None = None

    @classmethod
    def parse(cls, opts: str, body: str) -> Answer:
        kw: dict[str, Any] = {}
        for opt in opts.split():
            key, _, value = opt.partition("=")
            if key == "chunk":
                kw["chunk"] = int(value)
            elif key == "finish":
                kw["finish"] = value
            elif key == "status":
                kw["status"] = int(value)
            elif key == "delay":
                kw["delay"] = float(value)
            elif key in ("drop", "stall", "wrong_shape"):
                kw[key] = int(value)
            else:
                raise ValueError(f"unknown replay option {opt!r}")
        body = body.strip()
        try:
            text = oa.as_text(json.loads(body))
        except json.JSONDecodeError:
            text = body
        return cls(text, **kw)

    def script(self, path: str, request: Any) -> Script:
        """This answer in the wire format ``request`` (to ``path``) asks for."""
        script = self._script(path, request)
        script.delay = self.delay
        script.drop_after = self.drop
        if self.stall is not None:
            script.gate(self.stall)  # never opened: held until the client hangs up
            script.gate_timeout = 30.0
        if self.wrong_shape is not None:
            if "/chat/completions" not in path:
                raise AssertionError("wrong_shape is written for OpenAI chat completions")
            tools = (request if isinstance(request, dict) else {}).get("tools")
            if tools:
                delta: dict[str, Any] = {"tool_calls": [{"index": 0, "function": {"arguments": 5}}]}
            else:
                delta = {"content": 5}
            # chunk 0 is the role chunk, so piece N is chunk N + 1
            script.chunks.insert(self.wrong_shape + 1, sse_frame(oa.chat_chunk(delta)))
        return script

    def _script(self, path: str, request: Any) -> Script:
        req = request if isinstance(request, dict) else {}
        tools = req.get("tools") or []
        n = self.chunk
        if "/chat/completions" in path:
            if self.status:
                return oa.error_script(self.status, "replayed error")
            finish = self.finish or ("tool_calls" if tools else "stop")
            if tools:
                name = tools[0]["function"]["name"]
                return oa.chat_tool_script(self.text, n, name=name, finish_reason=finish)
            return oa.chat_content_script(self.text, n, finish_reason=finish)
        if path.endswith("/responses"):
            if self.status:
                return oa.error_script(self.status, "replayed error")
            incomplete = "max_output_tokens" if self.finish == "length" else None
            if tools:
                return oa.responses_tool_script(
                    self.text, n, name=tools[0]["name"], incomplete_reason=incomplete
                )
            return oa.responses_text_script(self.text, n, incomplete_reason=incomplete)
        if path.endswith("/messages"):
            if self.status:
                return an.http_error(self.status, "overloaded_error", "replayed error")
            stop = "max_tokens" if self.finish == "length" else None
            pieces = oa.split(self.text, n)
            if tools:
                return an.tool_script(pieces, name=tools[0]["name"], stop_reason=stop or "tool_use")
            return an.text_script(pieces, stop_reason=stop or "end_turn")
        if ":streamGenerateContent" in path:
            if self.status:
                return gm.http_error(self.status, "replayed error")
            decls = [d for t in tools for d in t.get("functionDeclarations", [])]
            if decls:
                return gm.call_script(decls[0]["name"], json.loads(self.text))
            return gm.text_script(
                oa.split(self.text, n), finish_reason="MAX_TOKENS" if self.finish else "STOP"
            )
        raise AssertionError(f"the docs' replay server does not know {path}")


@dataclass
class Block:
    """One fenced Python block, with the answers declared before it and its shown output."""

    page: Path
    line: int
    code: str
    answers: list[Answer] = field(default_factory=list)
    output: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def _fences(lines: list[str]) -> list[tuple[int, int, str, str, str]]:
    """(start, end, lang, attrs, body) of every fenced block; indentation removed."""
    out = []
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("<!--"):  # a replay answer may hold a ``` fence
            while "-->" not in lines[i] and i + 1 < len(lines):
                i += 1
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(indent) and lines[j].strip() == fence[0] * len(fence)
        ):
            j += 1
        body = "\n".join(line[len(indent) :] for line in lines[i + 1 : j])
        out.append((i, j, m["lang"], m["attrs"], body))
        i = j + 1
    return out


def collect(page: Path) -> list[Block]:
    """The page's Python blocks, in order."""
    lines = page.read_text(encoding="utf-8").split("\n")
    fences = _fences(lines)
    blocks: list[Block] = []
    prev_end = 0
    for k, (start, end, lang, _attrs, body) in enumerate(fences):
        if lang in ("py", "pycon", "python3"):
            raise AssertionError(f"{page}:{start + 1}: write ```python (runnable) or ```text")
        if lang != "python":
            prev_end = end
            continue
        between = "\n".join(lines[prev_end:start])
        answers = [Answer.parse(m["opts"], m["body"]) for m in REPLAY.finditer(between)]
        block = Block(page, start + 1, body + "\n", answers)
        if k + 1 < len(fences):
            nstart, _, nlang, nattrs, nbody = fences[k + 1]
            gap = lines[end + 1 : nstart]
            if nlang == "text" and OUTPUT_ATTRS.search(nattrs) and not any(g.strip() for g in gap):
                block.output = nbody
        blocks.append(block)
        prev_end = end
    return blocks


def output_matches(expected: str, actual: str) -> bool:
    """Line-wise comparison (trailing spaces ignored); an expected ``...`` line matches any run
    of lines."""
    exp = [line.rstrip() for line in expected.strip("\n").split("\n")]
    act = [line.rstrip() for line in actual.strip("\n").split("\n")]

    def match(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and exp[i] == act[j] and match(i + 1, j + 1)

    return match(0, 0)


class AnswerQueue:
    """The replay server's fallback: each request gets the next declared answer."""

    def __init__(self) -> None:
        self.pending: deque[Answer] = deque()
        self.unexpected: list[str] = []

    def __call__(self, path: str, request: Any) -> Script:
        if not self.pending:
            self.unexpected.append(path)
            return oa.error_script(500, "no answer declared for this request in the docs")
        return self.pending.popleft().script(path, request)
