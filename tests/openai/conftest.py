"""Fixtures: a replay server and real ``openai`` SDK clients pointed at it over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel, Field

import openai
from tests.replay.base import ReplayServer, replay_server


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


IDEAS = [
    {"title": "Voice notes", "blurb": "Record a thought and get it transcribed into a tidy note."},
    {"title": "Daily digest", "blurb": "A morning email with the notes you touched yesterday."},
    {"title": "Share links", "blurb": "Publish any note as a read-only page with one click."},
]
DOC = {"items": IDEAS}


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with replay_server() as s:
        yield s


@pytest.fixture
def sync_client(server: ReplayServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    yield client
    client.close()


@pytest.fixture(params=["httpx", "aiohttp"])
async def async_client(
    server: ReplayServer, request: pytest.FixtureRequest
) -> AsyncIterator[openai.AsyncOpenAI]:
    """The SDK's default httpx transport, and its aiohttp one (``DefaultAioHttpClient``, the
    ``openai[aiohttp]`` extra) that users pick for throughput: closing must work over both."""
    http_client = openai.DefaultAioHttpClient() if request.param == "aiohttp" else None
    client = openai.AsyncOpenAI(
        base_url=server.url + "/v1", api_key="test", max_retries=0, http_client=http_client
    )
    yield client
    await client.close()
