"""The npm side of the web tests: node, the example's node_modules, its esbuild build.

``scripts/test.sh`` runs ``npm ci`` in ``js/`` and ``examples/react/`` (committed lockfiles);
without those node_modules the tests that need them skip (and fail under CI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REACT_EXAMPLE = ROOT / "examples" / "react"
NODE = shutil.which("node")

requires_npm = pytest.mark.skipif(
    NODE is None or not (REACT_EXAMPLE / "node_modules" / "@ag-ui" / "client").is_dir(),
    reason="needs node and `npm ci` in examples/react (scripts/test.sh does both)",
)

_built = threading.Lock()
_build_done: list[bool] = []


def build_react_example() -> Path:
    """``node build.mjs`` in examples/react once per session; returns its dist/."""
    with _built:
        if not _build_done:
            assert NODE is not None
            subprocess.run(
                [NODE, "build.mjs"], cwd=REACT_EXAMPLE, check=True, capture_output=True, timeout=300
            )
            _build_done.append(True)
    return REACT_EXAMPLE / "dist"


class NodeLines:
    """A node script run in examples/react whose stdout is JSON lines, read as they come."""

    def __init__(self, script: str, *args: str) -> None:
        assert NODE is not None
        self.proc = subprocess.Popen(
            [NODE, script, *args],
            cwd=REACT_EXAMPLE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            yield json.loads(line)

    def close(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return err

    def __enter__(self) -> NodeLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
