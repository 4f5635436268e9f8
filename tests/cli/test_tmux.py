"""The live view in a real terminal (tmux): intermediate states, the final, Ctrl-C.

Two drivers: a scripted fake client paced by gate files (the terminal UI alone), and the
real stack (``ss.from_provider("openai/...")`` -> the openai SDK -> a paced replay server on
127.0.0.1) once the core is importable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .tmux import TMUX, Tmux

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "fake_driver.py"
EXAMPLE = ROOT / "examples" / "schemas" / "ideas.py"


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux(width=100, height=50)
    try:
        yield t
    finally:
        t.kill()


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}


class Gates:
    def __init__(self, root: Path, gates: list[int]) -> None:
        self.root = root
        (root / "gates").write_text(" ".join(map(str, gates)))

    def wait(self, i: int, tmux: Tmux) -> None:
        tmux.wait_for(lambda _: (self.root / f"waiting-{i}").exists())

    def open(self, i: int) -> None:
        (self.root / f"open-{i}").touch()

    @property
    def closed(self) -> bool:
        return (self.root / "closed").exists()


# idea_events(3 ideas): per idea 4 events (title prefix, title+blurb prefix, done, ItemEvent)
# then FinalEvent at 12. Gate 1: after "Sha"; gate 5: after idea 1 is done + idea 2 prefix.


def test_fake_live_view_states(tmux: Tmux, tmp_path: Path) -> None:
    gates = Gates(tmp_path, [1, 5, 12])
    tmux.start(
        [
            sys.executable,
            str(DRIVER),
            str(tmp_path),
            "--",
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--model",
            "openai/fake",
        ],
        env=_env(),
    )
    gates.wait(1, tmux)
    screen = tmux.wait_for("Sha▌")
    assert "#1 …" in screen and "validation: streaming" in screen and "#1 ✓" not in screen

    gates.open(1)
    gates.wait(5, tmux)
    screen = tmux.wait_for("#2 …")
    assert "#1 ✓" in screen and "Share notes instantly" in screen and "Voi▌" in screen
    assert "1 item ✓" in screen

    gates.open(5)
    gates.wait(12, tmux)
    screen = tmux.wait_for("#3 ✓")
    assert "validated final" not in screen

    gates.open(12)
    out = tmux.wait_for("EXIT=0", history=True)
    assert "validation: ok" in out and "3 items ✓" in out
    assert "validated final:" in out and '"title": "Student bundle"' in out
    assert gates.closed


def test_fake_ctrl_c(tmux: Tmux, tmp_path: Path) -> None:
    gates = Gates(tmp_path, [5])
    tmux.start(
        [sys.executable, str(DRIVER), str(tmp_path), "--", "demo", "--model", "openai/fake"],
        env=_env(),
    )
    gates.wait(5, tmux)
    tmux.wait_for("#1 ✓")
    tmux.send_keys("C-c")
    out = tmux.wait_for("EXIT=130", history=True)
    assert "interrupted" in out
    assert "Traceback" not in out
    assert gates.closed
