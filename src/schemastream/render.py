"""Rich renderables for partial objects, used by the ``schemastream`` CLI.

Small pieces that compose:

- :func:`render_value` turns any partial value (a pydantic model, a dict, a list, a string,
  a scalar, ``None``) into a renderable; unset fields show as a dim ``…``.
- :func:`item_panel` is one item of a list result: yellow border while it streams, green
  border and a ``✓`` once it is complete and validated.
- :func:`status_line` is the one-line status (elapsed time, rate, validation state).
- :func:`reasoning_text` is the model's reasoning, dimmed, its newest lines only.
- :class:`StreamView` holds the state of one stream, applies ``events.StreamEvent`` values to
  it and renders itself (a ``Live`` view can refresh it from its own thread); the reasoning
  shows above the object unless ``show_reasoning=False``.

Nothing here does IO; ``rich`` is needed (the ``cli`` extra).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.pretty import Pretty
from rich.table import Table
from rich.text import Text

from .events import FinalEvent, ItemEvent, PartialEvent, ReasoningEvent, RestartEvent
from .partial import is_complete

CHECK = "✓"
CURSOR = "▌"
PENDING = "…"
#: lines of reasoning shown (the newest), so the object below stays on screen
REASONING_LINES = 6

#: Validation states shown in the status line.
STATE_STREAMING = "streaming"
STATE_OK = "ok"
STATE_RESTARTED = "restarted"
STATE_FAILED = "failed"
STATE_INCOMPLETE = "incomplete"
STATE_INTERRUPTED = "interrupted"
STATE_ERROR = "error"  # the stream failed for a reason other than validation

_STATE_STYLE = {
    STATE_STREAMING: "cyan",
    STATE_OK: "bold green",
    STATE_RESTARTED: "bold yellow",
    STATE_FAILED: "bold red",
    STATE_INCOMPLETE: "bold red",
    STATE_INTERRUPTED: "bold magenta",
    STATE_ERROR: "bold red",
}


def _fields(value: Any) -> list[tuple[str, Any]] | None:
    """(name, value) pairs of a model or dict, in declaration order; None for other values."""
    if isinstance(value, BaseModel):
        names = list(type(value).model_fields)
        extra = getattr(value, "__pydantic_extra__", None) or {}
        names += [k for k in extra if k not in names]
        return [(n, getattr(value, n, None)) for n in names]
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    return None


def _growing_field(pairs: list[tuple[str, Any]]) -> str | None:
    """The field being written right now: the last one that has a value."""
    last = None
    for name, val in pairs:
        if val is not None:
            last = name
    return last


def render_value(value: Any, *, streaming: bool = False) -> RenderableType:
    """A renderable for a (partial) value.

    ``streaming`` marks the value as still being written: the field that is growing gets a
    cursor, fields that have not arrived show ``…``.
    """
    if value is None:
        return Text(PENDING, style="dim")
    if isinstance(value, str):
        text = Text(value)
        if streaming:
            text.append(CURSOR, style="blink dim")
        return text
    pairs = _fields(value)
    if pairs is not None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)
        growing = _growing_field(pairs) if streaming else None
        for name, val in pairs:
            field_streaming = streaming and name == growing
            if streaming and isinstance(value, BaseModel):
                field_streaming = field_streaming and not is_complete(value, name)
            grid.add_row(f"{name}:", render_value(val, streaming=field_streaming))
        return grid
    if isinstance(value, (list, tuple)):
        if not value:
            return Text("[]" if not streaming else PENDING, style="dim")
        last = len(value) - 1
        return Group(
            *(
                _bullet(render_value(v, streaming=streaming and i == last))
                for i, v in enumerate(value)
            )
        )
    if isinstance(value, bool):
        return Text(str(value).lower(), style="magenta")
    if isinstance(value, (int, float)):
        return Text(repr(value), style="cyan")
    return Pretty(value)


def _bullet(inner: RenderableType) -> RenderableType:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("-", inner)
    return grid


def item_panel(index: int, item: Any, *, complete: bool) -> Panel:
    """One list item: ``#n …`` with a yellow border while streaming, ``#n ✓`` green when done."""
    if complete:
        title = Text.assemble((f"#{index + 1} ", "bold"), (CHECK, "bold green"))
        return Panel(render_value(item), title=title, title_align="left", border_style="green")
    title = Text.assemble((f"#{index + 1} ", "bold"), (PENDING, "yellow"))
    return Panel(
        render_value(item, streaming=True),
        title=title,
        title_align="left",
        border_style="yellow",
    )


def reasoning_text(text: str, *, lines: int = REASONING_LINES, width: int = 100) -> Text:
    """The model's reasoning, dim italic, cut to its newest ``lines`` lines (long source lines
    count as several of ``width`` characters); an earlier part is marked ``…``."""
    rows = [
        line[i : i + width] if line else ""
        for line in text.strip("\n").split("\n")
        for i in range(0, max(len(line), 1), width)
    ]
    out = Text(style="dim italic")
    if len(rows) > lines:
        out.append(f"{PENDING} ")
    out.append("\n".join(rows[-lines:]))
    return out


def format_rate(count: float, elapsed: float, unit: str) -> str:
    if elapsed <= 0 or count <= 0:
        return f"– {unit}/s"
    rate = count / elapsed
    return f"{rate:.0f} {unit}/s" if rate >= 100 else f"{rate:.1f} {unit}/s"


def status_line(
    *,
    elapsed: float,
    rate: str,
    state: str,
    detail: str = "",
    items_done: int | None = None,
    model: str | None = None,
    first_output: float | None = None,
) -> Text:
    """``⏱ 1.2s (first 0.3s) · 38.5 tok/s · 2 items ✓ · validation: ok · model``."""
    text = Text()
    text.append(f"⏱ {elapsed:.1f}s", style="bold")
    if first_output is not None:
        text.append(f" (first {first_output:.1f}s)", style="dim")
    text.append(" · ")
    text.append(rate)
    if items_done is not None:
        text.append(" · ")
        text.append(f"{items_done} item{'s' if items_done != 1 else ''} {CHECK}")
    text.append(" · validation: ")
    text.append(state, style=_STATE_STYLE.get(state, ""))
    if detail:
        text.append(f" ({detail})", style=_STATE_STYLE.get(state, ""))
    if model:
        text.append(" · ")
        text.append(model, style="dim")
    return text


@dataclass
class _Counts:
    chars: int = 0
    tokens: int | None = None


class StreamView:
    """The live state of one stream and its rendering.

    Call :meth:`apply` with each event (and the stream, for ``raw_text`` / ``usage``); render
    it with rich (``Live(view)``, ``console.print(view)``). Updates and renders hold
    :attr:`lock`, so a ``Live`` refresh thread sees consistent state.

    The rate is tokens/s when the provider reports output tokens (``stream.usage``, often
    only at the end), otherwise characters/s of raw model output (``stream.raw_text``),
    labelled ``chars/s``; both over the time since the first output arrived, so a model's
    load time or the request latency (shown as "first") does not dilute it.
    """

    def __init__(
        self,
        *,
        is_list: bool,
        model: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        show_reasoning: bool = True,
    ) -> None:
        self.is_list = is_list
        self.model = model
        self.show_reasoning = show_reasoning
        self.reasoning = ""  # the model's reasoning so far (this attempt)
        self.lock = threading.RLock()
        self._clock = clock
        self.started = clock()
        self.ended: float | None = None
        self.first_output: float | None = None
        self.partial: Any = None
        self.completed: set[int] = set()
        self.final: Any = None
        self.has_final = False
        self.state = STATE_STREAMING
        self.detail = ""
        self.restarts = 0
        self.counts = _Counts()

    # -- state -------------------------------------------------------------------------------
    def elapsed(self) -> float:
        end = self.ended if self.ended is not None else self._clock()
        return max(0.0, end - self.started)

    def generating(self) -> float:
        """Seconds since the first output arrived (the rate's denominator)."""
        if self.first_output is None:
            return 0.0
        end = self.ended if self.ended is not None else self._clock()
        return max(0.0, end - self.first_output)

    def observe(self, stream: Any) -> None:
        """Read ``raw_text`` / ``usage`` from the stream for the rate."""
        raw = getattr(stream, "raw_text", None)
        if isinstance(raw, str):
            self.counts.chars = len(raw)
            if raw and self.first_output is None:
                self.first_output = self._clock()
        usage = getattr(stream, "usage", None)
        out = getattr(usage, "output_tokens", None) if usage is not None else None
        if isinstance(out, int) and out > 0:
            self.counts.tokens = out

    def apply(self, event: Any, stream: Any = None) -> None:
        with self.lock:
            if isinstance(event, PartialEvent):
                self.partial = event.partial
            elif isinstance(event, ItemEvent):
                self.completed.add(event.index)
            elif isinstance(event, ReasoningEvent):
                self.reasoning += event.text
            elif isinstance(event, RestartEvent):
                self.restarts = event.attempt
                self.reasoning = ""
                self.partial = None
                self.completed.clear()
                self.counts = _Counts()
                self.state = STATE_RESTARTED
                self.detail = f"attempt {event.attempt}: {_one_line(event.error)}"
            elif isinstance(event, FinalEvent):
                self.final = event.value
                self.has_final = True
                self.partial = event.value
                if self.is_list and isinstance(event.value, list):
                    self.completed.update(range(len(event.value)))
                self.state = STATE_OK
                self.detail = f"after {self.restarts} restart(s)" if self.restarts else ""
            if stream is not None:
                self.observe(stream)

    def finish(self, state: str | None = None, detail: str = "") -> None:
        with self.lock:
            self.ended = self._clock()
            if state is not None:
                self.state = state
                self.detail = detail

    def rate(self) -> str:
        elapsed = self.generating()
        if self.counts.tokens:
            return format_rate(self.counts.tokens, elapsed, "tok")
        return format_rate(self.counts.chars, elapsed, "chars")

    # -- rendering ---------------------------------------------------------------------------
    def items(self) -> list[Any]:
        value = self.partial
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            return list(value)
        return [value]

    def body(self, fit: tuple[Console, ConsoleOptions, int] | None = None) -> RenderableType:
        """The items (or the object). ``fit=(console, options, height)``: show only the
        newest items that fit in ``height`` lines, so the growing one stays on screen."""
        parts: list[RenderableType] = []
        if self.show_reasoning and self.reasoning.strip():
            width = fit[1].max_width if fit is not None else 100
            parts.append(reasoning_text(self.reasoning, width=max(20, width - 2)))
            if fit is not None:  # the items get the lines the reasoning leaves
                console, options, height = fit
                used = len(console.render_lines(parts[-1], options, pad=False))
                fit = (console, options, max(3, height - used))
        if self.is_list:
            items = self.items()
            panels: list[RenderableType] = [
                item_panel(i, item, complete=self._item_done(i, item))
                for i, item in enumerate(items)
            ]
            if fit is not None and len(panels) > 1:
                console, options, height = fit
                shown: list[RenderableType] = []
                used = 1  # the "earlier items" line
                for panel in reversed(panels):
                    lines = len(console.render_lines(panel, options, pad=False))
                    if shown and used + lines > height:
                        break
                    shown.append(panel)
                    used += lines
                hidden = len(panels) - len(shown)
                if hidden:
                    done = sum(1 for i in range(hidden) if self._item_done(i, items[i]))
                    parts.append(
                        Text(
                            f"{PENDING} {hidden} earlier item(s) above ({done} {CHECK})",
                            style="dim",
                        )
                    )
                panels = list(reversed(shown))
            parts.extend(panels)
            if not parts:
                parts.append(Text(f"waiting for the first item {PENDING}", style="dim"))
        else:
            if self.partial is None:
                parts.append(Text(f"waiting for output {PENDING}", style="dim"))
            else:
                done = self.has_final or (
                    isinstance(self.partial, BaseModel) and is_complete(self.partial)
                )
                border = "green" if done else "yellow"
                title = Text(CHECK, style="bold green") if done else Text(PENDING, style="yellow")
                parts.append(
                    Panel(
                        render_value(self.partial, streaming=not done),
                        title=title,
                        title_align="left",
                        border_style=border,
                    )
                )
        return Group(*parts)

    def _item_done(self, index: int, item: Any) -> bool:
        if index in self.completed or self.has_final:
            return True
        # a finished item in a snapshot is an instance of the user's model (not a partial)
        return isinstance(item, BaseModel) and is_complete(item)

    def status(self) -> Text:
        return status_line(
            elapsed=self.elapsed(),
            rate=self.rate(),
            state=self.state,
            detail=self.detail,
            items_done=len(self.completed) if self.is_list else None,
            model=self.model,
            first_output=None
            if self.first_output is None
            else max(0.0, self.first_output - self.started),
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with self.lock:
            status = self.status()
            fit = None
            if console.is_terminal and options.height is None:
                # a live view taller than the terminal cannot be redrawn: keep the newest part
                status_lines = len(console.render_lines(status, options, pad=False))
                height = console.size.height - status_lines - 1
                fit = (console, options, max(3, height))
            yield Group(self.body(fit), status)


def _one_line(exc: BaseException, limit: int = 120) -> str:
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else type(exc).__name__
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return first


def describe_validation_error(exc: Any) -> list[str]:
    """``path: message [constraint]`` lines for a ``StreamValidationError`` (or pydantic's)."""
    errors: Iterable[dict[str, Any]] = []
    try:
        errors = exc.errors()
    except Exception:
        return [_one_line(exc)]
    lines = []
    for err in errors:
        loc = err.get("loc", ())
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        ctx = err.get("ctx") or {}
        constraint = str(err.get("type", ""))
        if ctx:
            constraint += " " + ", ".join(f"{k}={v}" for k, v in ctx.items())
        value = err.get("input")
        line = f"{path or '<root>'}: {err.get('msg', '')} [{constraint}]"
        if value is not None:
            shown = repr(value)
            if len(shown) > 80:
                shown = shown[:79] + "…"
            line += f" input={shown}"
        lines.append(line)
    return lines or [_one_line(exc)]
