"""Fixtures for the provider tests: response specs, and real ``openai`` SDK clients pointed
over HTTP at the suite's replay ``server`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import BaseModel, Field

import openai
from schemastream.schema import ResponseSpec
from tests.replay.base import ReplayServer


class Idea(BaseModel):
    """A product idea."""

    title: str = Field(max_length=40)
    score: int = 0


@pytest.fixture
def idea_spec() -> ResponseSpec:
    return ResponseSpec.from_type(Idea)


@pytest.fixture
def ideas_spec() -> ResponseSpec:
    return ResponseSpec.from_type(list[Idea])


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
