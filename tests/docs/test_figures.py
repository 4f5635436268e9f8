"""The scripts that make the docs' figures run: plots from the bench JSON, the screenshots."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.cli.tmux import TMUX
from tests.web.browser import requires_chromium

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(Path(path).stem + "_under_test", ROOT / path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plots_from_the_committed_bench_json(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the bench extra is not installed")
    load("bench/plots.py").main(["--out", str(tmp_path)])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cpu_vs_size.svg", "local_speed.svg", "web_bytes.svg"]
    for name in names:
        svg = (tmp_path / name).read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        assert "<dc:date>" not in svg  # no date: a rebuild from the same JSON is the same file
        assert (ROOT / "docs" / "img" / name).exists(), f"docs/img/{name} is not committed"


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_cli_screenshot(tmp_path: Path) -> None:
    out = tmp_path / "cli.svg"
    load("examples/cli/screenshot.py").main(str(out))
    svg = out.read_text(encoding="utf-8")
    # rich writes each character run as a text element; the mid-stream state is there
    for text in ("#2", "Voice", "memo", "magic", "streaming"):
        assert text in svg, text
    assert "Student" in svg and "validated" not in svg  # captured before the final


@requires_chromium
def test_web_screenshot(tmp_path: Path) -> None:
    out = tmp_path / "web.png"
    load("examples/web/screenshot.py").main(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
