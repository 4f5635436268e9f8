"""The live view in a real terminal (tmux): intermediate states, the final, Ctrl-C.

The real stack drives it: ``ss.from_provider("openai/...")`` -> the openai SDK -> a replay
server on 127.0.0.1 whose gates hold the stream at chosen points.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.replay.base import ReplayServer, Script
from tests.replay.openai_server import responses_text_frames

from .replay_helpers import DOC, IDEAS, cli_env, gate_after
from .tmux import TMUX, Tmux

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "schemas" / "ideas.py"


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux(width=100, height=50)
    try:
        yield t
    finally:
        t.kill()


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


def test_replay_live_view_states(tmux: Tmux, server: ReplayServer) -> None:
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    g1 = gate_after(script, '"title":"Shar')
    g2 = gate_after(script, '{"title":"Voice')
    g3 = gate_after(script, '"blurb":"Free premium')
    server.add(script)
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


DEMO_ARGV = [sys.executable, "-m", "schemastream.cli", "demo", "--model", "openai/gpt-4o-mini"]


@pytest.mark.parametrize("argv", [_replay_argv(), DEMO_ARGV], ids=["run", "demo"])
def test_replay_ctrl_c_closes_upstream(tmux: Tmux, argv: list[str], server: ReplayServer) -> None:
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    gate_after(script, '{"title":"Voice')
    server.add(script)
    tmux.start(argv, env=cli_env(server))
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


def test_replay_json_to_pipe_progress_on_terminal(
    tmux: Tmux, tmp_path: Path, server: ReplayServer
) -> None:
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    gate = gate_after(script, '{"title":"Voice')
    out_file = tmp_path / "out.json"
    server.add(script)
    tmux.start(_replay_argv("--json"), env=cli_env(server), stdout=str(out_file))
    screen = tmux.wait_for(_growing("Voice"))  # the live view went to stderr, the terminal
    assert "#1 ✓" in screen
    assert out_file.read_text() == ""  # nothing on stdout until the final
    script.gates[gate].set()
    out = tmux.wait_for("EXIT=0", history=True)
    assert "validation: ok" in out and "validated final" not in out
    assert json.loads(out_file.read_text()) == IDEAS


# -- display policies (issue 11): cards with ss.NotNull titles and ss.Done URLs ----------------

CARDS_SCHEMA = ROOT / "examples" / "schemas" / "cards.py"
CARDS = [
    {"title": "Voice notes", "url": "https://example.com/voice-notes", "blurb": "Speak, it types."},
    # keys out of order: the card stays hidden while its url and blurb stream (NotNull title)
    {"url": "https://example.com/daily-digest", "blurb": "Every morning.", "title": "Daily digest"},
    {"title": "Share links", "url": "https://example.com/share", "blurb": "One tap to share."},
]
CARD_URLS = {c["url"] for c in CARDS}
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")
_URL = re.compile(r"https?:[A-Za-z0-9./:-]*")
_UNTITLED = re.compile(r"title:\s*…")


def _policy_violations(text: str) -> list[str]:
    """Partial URLs and untitled cards in terminal text (escape sequences removed)."""
    plain = _ANSI.sub("", text)
    bad = [m.group() for m in _URL.finditer(plain) if m.group() not in CARD_URLS]
    bad += [m.group() for m in _UNTITLED.finditer(plain)]
    return bad


def _after_redraws(tmux: Tmux, screen: str, n: int = 2) -> str:
    """The screen once the live view redrew ``n`` more times (its clock ticks on each
    refresh), so it shows the state the stream holds at a gate, not an earlier frame."""
    seen = [screen]

    def ticked(now: str) -> bool:
        clock = re.search(r"⏱ [0-9.]+s", now)
        if clock and clock.group() not in seen[-1]:
            seen.append(now)
        return len(seen) > n

    return tmux.wait_for(ticked)


def test_replay_live_view_follows_display_policies(
    tmux: Tmux, tmp_path: Path, server: ReplayServer
) -> None:
    """No frame the terminal ever drew shows half a URL (``ss.Done``) or a card without a
    title (``ss.NotNull``); the final frame shows the validated cards."""
    script = Script(chunks=responses_text_frames({"items": CARDS}, 3), gate_timeout=60)
    mid_url = gate_after(script, '"url":"https://example.com/voi')
    hidden_card = gate_after(script, '{"url":"https://example.com/dai')
    mid_title = gate_after(script, '"title":"Dai')
    record = tmp_path / "pane.log"
    argv = [
        sys.executable,
        "-m",
        "schemastream.cli",
        "run",
        "Three cards",
        "--schema",
        f"{CARDS_SCHEMA}:Card",
        "--list",
        "--model",
        "openai/gpt-4o-mini",
    ]
    server.add(script)
    tmux.start(argv, env=cli_env(server), record=str(record))
    # 1: the first card's url is half written: the card shows, its url does not
    screen = _after_redraws(tmux, tmux.wait_for("Voice notes"))
    assert "#1 …" in screen and re.search(r"url:\s+…", screen), screen
    assert "https" not in screen and not _policy_violations(screen)
    # 2: the second card's url and blurb stream before its title: no card #2 yet
    script.gates[mid_url].set()
    screen = _after_redraws(tmux, tmux.wait_for("#1 ✓"))
    assert "https://example.com/voice-notes" in screen and "#2" not in screen
    assert not _policy_violations(screen)
    # 3: its title began: the card shows, with its whole url and blurb
    script.gates[hidden_card].set()
    screen = tmux.wait_for(lambda text: re.search(r"title: Dai\s+│", text) is not None)
    assert "#2 …" in screen and "https://example.com/daily-digest" in screen
    assert "Every morning." in screen and not _policy_violations(screen)
    # 4: the rest: the validated final
    script.gates[mid_title].set()
    out = tmux.wait_for("EXIT=0", history=True)
    assert "#3 ✓" in out and "3 items ✓" in out and "validation: ok" in out
    final = out[out.index("validated final:") :]
    for card in CARDS:
        assert f'"title": "{card["title"]}"' in final and f'"url": "{card["url"]}"' in final
    # every byte the pane was sent: every frame drawn, including those no capture saw
    raw = record.read_bytes().decode("utf-8", "replace")
    assert "validated final:" in raw and "example.com/voi" in raw
    assert _policy_violations(raw) == []
    assert _policy_violations(out) == []


def test_replay_stream_check_stops_the_model_at_the_word(tmux: Tmux, server: ReplayServer) -> None:
    """``ss.StreamCheck`` in the live view: the blurb naming a competitor ends the run with
    the validation exit code and the check's message, and the model request is cut there."""
    bad = [
        CARDS[0],
        {"title": "Rival", "url": "https://example.com/r", "blurb": "Beats ACME " * 20},
    ]
    script = Script(chunks=responses_text_frames({"items": bad}, 3), gate_timeout=60)
    gate_after(script, '"blurb":"Beats ACME')  # the rest is held: only a hang-up ends it
    argv = [
        sys.executable,
        "-m",
        "schemastream.cli",
        "run",
        "Two cards",
        "--schema",
        f"{CARDS_SCHEMA}:Card",
        "--list",
        "--model",
        "openai/gpt-4o-mini",
    ]
    server.add(script)
    tmux.start(argv, env=cli_env(server))
    out = tmux.wait_for("EXIT=7", history=True)
    assert "names a competitor" in out and "Traceback" not in out
    assert "Voice notes" in out  # the valid card stayed on screen
    ex = server.last
    assert ex.done.wait(10) and ex.disconnected and not ex.completed
    assert ex.chunks_sent < ex.total_chunks
