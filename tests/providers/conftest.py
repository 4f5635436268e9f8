from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field

from schemastream.schema import ResponseSpec
from tests.replay.base import ReplayServer


class Idea(BaseModel):
    """A product idea."""

    title: str = Field(max_length=40)
    score: int = 0


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


@pytest.fixture
def idea_spec() -> ResponseSpec:
    return ResponseSpec.from_type(Idea)


@pytest.fixture
def ideas_spec() -> ResponseSpec:
    return ResponseSpec.from_type(list[Idea])
