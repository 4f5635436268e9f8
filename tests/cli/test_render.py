"""The rich renderables for partial objects."""

from __future__ import annotations

import io

from pydantic import BaseModel
from rich.console import Console

from schemastream.errors import StreamValidationError
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from schemastream.render import (
    StreamView,
    describe_validation_error,
    item_panel,
    render_value,
    status_line,
)
from tests.models import Idea


class Campaign(BaseModel):
    name: str
    ideas: list[Idea]
    budget: int | None = None


def text_of(renderable: object, width: int = 60) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_render_value_shapes() -> None:
    assert "…" in text_of(render_value(None))
    assert text_of(render_value("hello", streaming=True)).startswith("hello▌")
    out = text_of(render_value({"title": "Sh", "blurb": None}, streaming=True))
    assert "title: Sh▌" in out and "blurb: …" in out
    out = text_of(
        render_value(Campaign(name="Launch", ideas=[Idea(title="A", blurb="b")], budget=3))
    )
    assert "name:" in out and "Launch" in out and "title: A" in out and "budget: 3" in out
    assert "true" in text_of(render_value(True))


def test_item_panel_marks_completion() -> None:
    done = text_of(item_panel(0, Idea(title="Share", blurb="Send"), complete=True))
    assert "#1 ✓" in done and "▌" not in done
    growing = text_of(item_panel(1, {"title": "Voi", "blurb": None}, complete=False))
    assert "#2 …" in growing and "Voi▌" in growing


def test_status_line() -> None:
    out = text_of(status_line(elapsed=1.25, rate="10.0 tok/s", state="ok", items_done=2))
    assert "1.2s" in out and "10.0 tok/s" in out and "2 items ✓" in out and "validation: ok" in out


class _S:
    raw_text = ""
    usage = None


def test_stream_view_lifecycle() -> None:
    clock = Clock()
    view = StreamView(is_list=True, model="openai/x", clock=clock)
    stream = _S()
    assert "waiting for the first item" in text_of(view)
    stream.raw_text = '{"items":[{"title":"Sha'
    clock.t += 2
    view.apply(PartialEvent([{"title": "Sha", "blurb": None}]), stream)
    clock.t += 2  # the rate counts from the first output
    out = text_of(view, width=120)
    assert "#1 …" in out and "Sha▌" in out and "streaming" in out
    assert "⏱ 4.0s (first 2.0s)" in out
    assert f"{len(stream.raw_text) / 2:.1f} chars/s" in out

    first = Idea(title="Share", blurb="Send it")
    view.apply(PartialEvent([first, {"title": "V"}]), stream)
    view.apply(ItemEvent(0, first, "/0"), stream)
    out = text_of(view, width=120)
    assert "#1 ✓" in out and "#2 …" in out and "1 item ✓" in out

    view.apply(RestartEvent(1, ValueError("blurb too long")), stream)
    out = text_of(view, width=120)
    assert "restarted" in out and "attempt 1: blurb too long" in out and "#1" not in out

    class _U:
        output_tokens = 40

    stream.usage = _U()
    final = [first, Idea(title="Voice", blurb="Speak")]
    view.apply(FinalEvent(final), stream)
    clock.t += 2  # 4 s of output, 6 s in all
    view.finish()
    clock.t += 100  # stopped: elapsed no longer grows
    out = text_of(view, width=120)
    assert "#1 ✓" in out and "#2 ✓" in out and "validation: ok" in out
    assert "10.0 tok/s" in out and "⏱ 6.0s" in out and "after 1 restart(s)" in out


def test_single_model_view() -> None:
    view = StreamView(is_list=False)
    view.apply(PartialEvent({"name": "La", "ideas": None}))
    assert "La▌" in text_of(view)
    view.apply(FinalEvent(Campaign(name="Launch", ideas=[])))
    assert "✓" in text_of(view)


def test_describe_validation_error() -> None:
    err = StreamValidationError(
        [
            {
                "type": "too_long",
                "loc": ("items", 3),
                "msg": "List too long",
                "input": None,
                "ctx": {"max_length": 3},
            }
        ]
    )
    assert describe_validation_error(err) == ["items[3]: List too long [too_long max_length=3]"]
    assert describe_validation_error(ValueError("plain")) == ["plain"]


def test_tall_list_keeps_the_newest_items_on_a_terminal() -> None:
    view = StreamView(is_list=True)
    done = [Idea(title=f"Idea {i}", blurb="b") for i in range(6)]
    view.apply(PartialEvent([*done, {"title": "Growing", "blurb": None}]))
    for i in range(6):
        view.apply(ItemEvent(i, done[i]))
    console = Console(
        width=60, height=16, force_terminal=True, record=True, file=io.StringIO(), color_system=None
    )
    console.print(view)
    out = console.export_text()
    assert len(out.splitlines()) <= 16
    assert "Growing▌" in out and "#7 …" in out  # the item being written stays visible
    assert "earlier item(s) above" in out and "Idea 0" not in out
    # not a terminal (a pipe, a file): everything
    full = text_of(view, width=60)
    assert "Idea 0" in full and "earlier" not in full
