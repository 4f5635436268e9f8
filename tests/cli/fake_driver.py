"""Run the CLI in a subprocess against a scripted fake client, paced by gate files.

``python tests/cli/fake_driver.py GATE_DIR -- run ... --schema ...``: the fake stream plays
``idea_events`` of three ideas; before event ``i`` listed in ``GATE_DIR/gates`` it waits for
the file ``GATE_DIR/open-<i>``. ``stream.close()`` writes ``GATE_DIR/closed``. This tests the
terminal UI without any provider (the replay-server tests cover the real stack).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import schemastream  # noqa: E402
from schemastream.cli import Idea, main  # noqa: E402
from tests.cli.fakes import FakeClient, FakeStream, idea_events  # noqa: E402

IDEAS = [
    Idea(title="Share notes instantly", blurb="One tap turns any note into a link."),
    Idea(title="Voice memo magic", blurb="Speak and get tidy, searchable notes."),
    Idea(title="Student bundle", blurb="Free premium for students during exams."),
]


class GatedStream(FakeStream):
    gate_dir: Path = Path(".")

    def events(self) -> Iterator[Any]:
        gates = {int(x) for x in (self.gate_dir / "gates").read_text().split()}
        for i, step in enumerate(self.steps):
            if i in gates:
                (self.gate_dir / f"waiting-{i}").touch()
                while not (self.gate_dir / f"open-{i}").exists():
                    time.sleep(0.01)
            self.raw_text += "x" * 7
            yield step

    def close(self) -> None:
        super().close()
        (self.gate_dir / "closed").touch()


if __name__ == "__main__":
    gate_dir = Path(sys.argv[1])
    stream = GatedStream(steps=idea_events(IDEAS), final=list(IDEAS))
    stream.gate_dir = gate_dir
    client = FakeClient(stream)
    schemastream.from_provider = lambda model, **kw: client  # type: ignore[attr-defined]
    sys.argv = ["schemastream", *sys.argv[3:]]
    main()
