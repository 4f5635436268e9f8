"""Render docs/img/cli-run.svg: ``schemastream run`` mid-stream in a real terminal (dev tool).

    .venv/bin/python examples/cli/screenshot.py [docs/img/cli-run.svg]

The CLI is the real one, in a tmux pane (100 x 30), with ``--model openai/gpt-4o-mini``
pointed at the test suite's replay server, which plays a canned ``list[Idea]`` answer in
OpenAI's Responses API format and holds it while the third idea's blurb is being written.
The pane is captured with its colours (``tmux capture-pane -e``) and rendered to SVG by
rich. Needs tmux.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.text import Text  # noqa: E402
from tests.cli.replay_helpers import DOC, EXAMPLE, cli_env, gate_after  # noqa: E402
from tests.cli.tmux import Tmux  # noqa: E402
from tests.replay.base import Script, replay_server  # noqa: E402
from tests.replay.openai_server import responses_text_frames  # noqa: E402

ARGV = [
    sys.executable,
    "-m",
    "schemastream.cli",
    "run",
    "Generate 3 marketing ideas for a note-taking app",
    "--schema",
    f"{EXAMPLE.relative_to(ROOT)}:Idea",
    "--list",
    "--model",
    "openai/gpt-4o-mini",
]
GROWING = re.compile(r"Free premium[^│▌]{0,4}▌")


def main(out: str = str(ROOT / "docs" / "img" / "cli-run.svg")) -> None:
    script = Script(chunks=responses_text_frames(DOC, 4), gate_timeout=60)
    gate = gate_after(script, '"blurb":"Free premium')
    tmux = Tmux(width=100, height=30)
    try:
        with replay_server(script) as server:
            env = cli_env(server, TERM="xterm-256color", COLORTERM="truecolor")
            env.pop("NO_COLOR")  # the screenshot shows the colours a user sees
            tmux.start(ARGV, env=env, cwd=str(ROOT))
            tmux.wait_for(lambda screen: GROWING.search(screen) is not None)
            ansi = tmux._tmux("capture-pane", "-p", "-e", "-t", tmux.target).stdout
            script.gates[gate].set()
            tmux.wait_for("EXIT=0", history=True)
    finally:
        tmux.kill()
    lines = ansi.rstrip("\n").split("\n")
    while lines and not Text.from_ansi(lines[-1]).plain.strip():
        lines.pop()
    console = Console(
        file=io.StringIO(), record=True, width=100, force_terminal=True, color_system="truecolor"
    )
    console.print(Text.from_ansi("\n".join(lines)))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    console.save_svg(out, title="schemastream run")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
