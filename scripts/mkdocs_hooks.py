"""MkDocs hook (``hooks:`` in mkdocs.yml): the command-line reference is generated from the
CLI's own ``--help`` at every build, so it cannot drift from the code.

A page line ``<!-- cli-help: run -->`` becomes a text block with the output of
``schemastream run --help`` (``<!-- cli-help: -->`` for the top-level help). Also usable by
hand: ``python scripts/mkdocs_hooks.py run`` prints that block.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# run the CLI as the installed ``schemastream`` command is run, so its usage line reads so
PROG = "import sys; sys.argv[0] = 'schemastream'; from schemastream.cli import main; main()"
MARKER = re.compile(r"^<!-- cli-help:(?P<args>[^>]*)-->$", re.M)


def cli_help(args: list[str]) -> str:
    """``schemastream ARGS --help`` as plain text, 100 columns wide, without colour."""
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb", PYTHONPATH=str(ROOT / "src"))
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-c", PROG, *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return "\n".join(line.rstrip() for line in proc.stdout.strip("\n").splitlines())


def help_block(args: list[str]) -> str:
    title = " ".join(["schemastream", *args, "--help"])
    return f'```text title="{title}"\n{cli_help(args)}\n```'


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(lambda m: help_block(m["args"].split()), markdown)


if __name__ == "__main__":
    print(help_block(sys.argv[1:]))
