"""Fixtures shared by the web tests."""

from __future__ import annotations

import pytest

from tests.replay.base import ReplayServer

from .helpers import ReplayBackend


@pytest.fixture(params=["replay-async", "replay-sync"])
def backend(request: pytest.FixtureRequest, server: ReplayServer) -> ReplayBackend:
    """The real openai SDK (async or sync) against the replay ``server`` (tests/conftest.py)."""
    return ReplayBackend(server, use_async=request.param == "replay-async")
