"""The model's reasoning in the command line: dimmed above the object while it streams,
hidden by ``--no-reasoning``. The real CLI, client and stream over
:class:`~tests.core.scripted.ScriptProvider` until the replay servers send reasoning."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from rich.console import Console
from typer.testing import CliRunner

import schemastream as ss
from schemastream import cli
from schemastream.contract import Delta
from schemastream.render import REASONING_LINES, StreamView, reasoning_text

from ..core.scripted import ScriptProvider, finish, json_deltas
from .replay_helpers import DOC, IDEAS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "schemas" / "ideas.py"
THOUGHT = "Note apps sell on speed.\n\nThree ideas, short blurbs."


class Idea(BaseModel):
    title: str


def text_of(renderable: object, width: int = 60) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_view_shows_reasoning_dimmed_above_the_object() -> None:
    view = StreamView(is_list=True)
    view.apply(ss.ReasoningEvent("Thinking about "))
    view.apply(ss.ReasoningEvent("notes."))
    view.apply(ss.PartialEvent([Idea(title="Voice")]))
    out = text_of(view)
    assert out.index("Thinking about notes.") < out.index("Voice")
    assert reasoning_text(view.reasoning).style == "dim italic"
    hidden = StreamView(is_list=True, show_reasoning=False)
    hidden.apply(ss.ReasoningEvent("Thinking about notes."))
    hidden.apply(ss.PartialEvent([Idea(title="Voice")]))
    assert "Thinking" not in text_of(hidden) and "Voice" in text_of(hidden)


def test_a_restart_clears_the_reasoning() -> None:
    view = StreamView(is_list=True)
    view.apply(ss.ReasoningEvent("first try"))
    view.apply(ss.RestartEvent(1, ValueError("bad")))
    view.apply(ss.ReasoningEvent("second try"))
    out = text_of(view)
    assert "second try" in out and "first try" not in out


def test_long_reasoning_keeps_its_newest_lines() -> None:
    text = "\n".join(f"line {i}" for i in range(20))
    shown = reasoning_text(text).plain
    assert shown == "… " + "\n".join(f"line {i}" for i in range(20 - REASONING_LINES, 20))
    assert reasoning_text("short").plain == "short"
    wrapped = reasoning_text("x" * 25, lines=2, width=10).plain  # 3 rows of 10: newest 2
    assert wrapped == "… " + "x" * 10 + "\n" + "x" * 5


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--model`` gives a client over the scripted provider (reasoning, then the ideas)."""
    script = [Delta(reasoning=THOUGHT), *json_deltas(DOC, size=9), finish(ss.Usage(3, 5))]

    def make_client(model: str, model_path: str | None = None) -> Any:
        return ss.Client(ScriptProvider(script))

    monkeypatch.setattr(cli, "_make_client", make_client)


@pytest.mark.parametrize("flag", [[], ["--no-reasoning"]])
def test_run_shows_reasoning_unless_no_reasoning(scripted: None, flag: list[str]) -> None:
    args = ["run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--model", "x/y", *flag]
    r = CliRunner().invoke(cli.app, args)
    assert r.exit_code == 0, r.output
    assert ("Note apps sell on speed." in r.stdout) is (not flag)
    assert "validated final:" in r.stdout
    final = json.loads(r.stdout[r.stdout.index("validated final:") + len("validated final:") :])
    assert final == IDEAS
