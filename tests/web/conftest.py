"""Fixtures shared by the web tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import ReplayBackend


@pytest.fixture(params=["replay-async", "replay-sync"])
def backend(request: pytest.FixtureRequest) -> Iterator[ReplayBackend]:
    """The real openai SDK (async or sync) against a replay server in OpenAI's wire format."""
    b = ReplayBackend(use_async=request.param == "replay-async")
    try:
        yield b
    finally:
        b.close()
