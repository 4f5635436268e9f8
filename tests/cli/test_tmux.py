"""The live view in a real terminal (tmux): intermediate states, the final, Ctrl-C.

Two drivers: a scripted fake client paced by gate files (the terminal UI alone), and the
real stack (``ss.from_provider("openai/...")`` -> the openai SDK -> a paced replay server on
127.0.0.1) once the core is importable.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
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


# -- the real stack: openai SDK -> paced replay server ----------------------------------------


def _growing(prefix: str) -> Callable[[str], bool]:
    """The pane shows ``prefix`` (maybe a few more characters) with the growing-text cursor."""
    pattern = re.compile(re.escape(prefix) + r"[^│▌]{0,4}▌")
    return lambda screen: pattern.search(screen) is not None


def _replay_argv(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemastream.cli",
        "run",
        "Generate 3 ideas",
        "--schema",
        f"{EXAMPLE}:Idea",
        "--list",
        "--model",
        "openai/gpt-4o-mini",
        *extra,
    ]


def test_replay_live_view_states(tmux: Tmux) -> None:
    from tests.replay.base import Script, replay_server
    from tests.replay.openai_server import responses_text_frames

    from .replay_helpers import DOC, cli_env, gate_after, require_core

    require_core()
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    g1 = gate_after(script, '"title":"Shar')
    g2 = gate_after(script, '{"title":"Voice')
    g3 = gate_after(script, '"blurb":"Free premium')
    with replay_server(script) as server:
        tmux.start(_replay_argv(), env=cli_env(server))
        # 1: a partial title of the first item, nothing finished
        screen = tmux.wait_for(_growing("Shar"))
        assert "#1 …" in screen and "validation: streaming" in screen
        assert "#1 ✓" not in screen and "#2" not in screen
        # 2: the first item is done, the second one is growing
        script.gates[g1].set()
        screen = tmux.wait_for(_growing("Voice"))
        assert "#1 ✓" in screen and "Share notes instantly" in screen and "#2 …" in screen
        assert "1 item ✓" in screen
        # 3: two done, the third's blurb is growing
        script.gates[g2].set()
        screen = tmux.wait_for(_growing("Free premium"))
        assert "#2 ✓" in screen and "#3 …" in screen and "2 items ✓" in screen
        assert "validated final" not in screen
        # 4: the rest: the validated final
        script.gates[g3].set()
        out = tmux.wait_for("EXIT=0", history=True)
        assert "#3 ✓" in out and "validation: ok" in out and "3 items ✓" in out
        assert "validated final:" in out and '"title": "Student bundle"' in out
        assert "tok/s" in out  # usage arrived with response.completed
        assert not server.last.disconnected


def test_replay_ctrl_c_closes_upstream(tmux: Tmux) -> None:
    from tests.replay.base import Script, replay_server
    from tests.replay.openai_server import responses_text_frames

    from .replay_helpers import DOC, cli_env, gate_after, require_core

    require_core()
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    gate_after(script, '{"title":"Voice')
    with replay_server(script) as server:
        tmux.start(_replay_argv(), env=cli_env(server))
        tmux.wait_for(_growing("Voice"))
        assert not server.last.disconnected
        tmux.send_keys("C-c")
        out = tmux.wait_for("EXIT=130", history=True)
        assert "interrupted" in out and "Traceback" not in out
        assert "validation: interrupted" in out
        ex = server.last
        assert ex.done.wait(10)
        assert ex.disconnected and not ex.completed
        assert ex.chunks_sent < ex.total_chunks


def test_replay_json_to_pipe_progress_on_terminal(tmux: Tmux, tmp_path: Path) -> None:
    import json

    from tests.replay.base import Script, replay_server
    from tests.replay.openai_server import responses_text_frames

    from .replay_helpers import DOC, IDEAS, cli_env, gate_after, require_core

    require_core()
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    gate = gate_after(script, '{"title":"Voice')
    out_file = tmp_path / "out.json"
    with replay_server(script) as server:
        tmux.start(_replay_argv("--json"), env=cli_env(server), stdout=str(out_file))
        screen = tmux.wait_for(_growing("Voice"))  # the live view went to stderr, the terminal
        assert "#1 ✓" in screen
        assert out_file.read_text() == ""  # nothing on stdout until the final
        script.gates[gate].set()
        out = tmux.wait_for("EXIT=0", history=True)
        assert "validation: ok" in out and "validated final" not in out
    assert json.loads(out_file.read_text()) == IDEAS
