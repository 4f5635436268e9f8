"""Suite-wide switch: with ``SCHEMASTREAM_NO_SKIP=1`` (set by ``scripts/test.sh`` under CI) a
skipped test fails, so CI cannot pass while the browser, terminal or local-model tests were
quietly skipped for a missing chromium, tmux or llama.cpp build. And the one ``server``
fixture: a replay server (tests/replay/base.py) started and stopped around a test."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from tests.replay.base import ReplayServer, replay_server


def _no_skip(report: Any) -> None:
    if os.environ.get("SCHEMASTREAM_NO_SKIP") != "1" or not report.skipped:
        return
    if hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but SCHEMASTREAM_NO_SKIP=1 (CI runs every test): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    _no_skip((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    _no_skip((yield).get_result())  # a module that skips itself while being collected


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    """A replay server with no scripts queued yet (``server.add(script)`` queues them)."""
    with replay_server() as s:
        yield s
