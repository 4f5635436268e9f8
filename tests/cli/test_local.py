"""``schemastream demo`` / ``run`` on the embedded local model (needs the ``local`` extra)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys

import pytest
from pydantic import TypeAdapter

from .replay_helpers import EXAMPLE, cli_env, run_cli

pytestmark = [
    pytest.mark.local,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"
    ),
]


def test_demo_json_on_local_model() -> None:
    from schemastream.cli import Idea

    r = run_cli(["demo", "--json"], cli_env(None), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    ideas = TypeAdapter(list[Idea]).validate_python(json.loads(r.stdout))
    assert 1 <= len(ideas) <= 3
    assert all(i.title and len(i.blurb) <= 140 for i in ideas)


def test_run_json_on_local_model() -> None:
    from schemastream.cli import load_schema

    r = run_cli(
        [
            "run",
            "Two ideas to market a bakery",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--max-items",
            "2",
            "--json",
        ],
        cli_env(None),
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    idea = load_schema(f"{EXAMPLE}:Idea")
    ideas = TypeAdapter(list[idea]).validate_python(json.loads(r.stdout))  # type: ignore[valid-type]
    assert 1 <= len(ideas) <= 2


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_demo_live_in_terminal_on_local_model() -> None:
    from .tmux import Tmux

    t = Tmux(width=100, height=50)
    try:
        t.start([sys.executable, "-m", "schemastream.cli", "demo"], env=cli_env(None))
        # the first item in progress and the status line saying so, on one screen
        t.wait_for(lambda s: "#1 …" in s and "validation: streaming" in s, timeout=300)
        t.wait_for("#1 ✓", timeout=300)
        out = t.wait_for("EXIT=", history=True, timeout=300)
        assert "EXIT=0" in out, out
        assert "#3 ✓" in out and "validation: ok" in out and "validated final:" in out
    finally:
        t.kill()
