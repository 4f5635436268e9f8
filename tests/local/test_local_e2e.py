"""End to end: the seed's example through ``ss.from_provider("local")`` (needs the core and the
``local`` extra)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from tests.models import Idea

pytestmark = pytest.mark.local

SEED_PROMPT = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]


class Fruit(BaseModel):
    name: str = Field(max_length=20)
    color: str = Field(max_length=12)


FRUITS = [{"role": "user", "content": "Name 2 fruits"}]


def assert_streamed(partials: list[Any], final: list[BaseModel]) -> None:
    """``partials`` are list snapshots that grow towards ``final``: more snapshots than items,
    never fewer items than before, every item done in a snapshot equal to its final value,
    every field still being written a prefix of its final text, the last snapshot the final."""
    assert len(partials) > len(final)
    seen = 0
    for snapshot in partials:
        assert isinstance(snapshot, list) and seen <= len(snapshot) <= len(final)
        seen = len(snapshot)
        for item, done in zip(snapshot, final):
            if ss.is_complete(item):
                assert item == done
                continue
            assert isinstance(item, ss.PartialModel)
            for name in type(done).model_fields:
                value = getattr(item, name)
                assert value is None or getattr(done, name).startswith(value), (name, value)
    assert partials[-1] == final


def test_seed_example_streams_partials(local_provider: Any) -> None:
    client = ss.from_provider("local", seed=1234)
    stream = client.responses.stream(model="local", messages=SEED_PROMPT, response_model=list[Idea])
    partials = [partial for partial in stream]
    ideas = stream.get_final_response()
    assert len(ideas) == 3
    assert all(isinstance(i, Idea) and i.title and len(i.blurb) <= 140 for i in ideas)
    assert_streamed(partials, ideas)
    assert stream.usage is None or stream.usage.output_tokens > 0


async def test_async_client(local_provider: Any) -> None:
    """The async client streams partial lists that grow into its validated final list."""
    client = ss.from_provider("local", async_client=True, seed=1234)
    stream = client.responses.stream(model="local", messages=FRUITS, response_model=list[Fruit])
    partials = [partial async for partial in stream]
    fruits = await stream.get_final_response()
    assert len(fruits) == 2 and all(isinstance(f, Fruit) and f.name and f.color for f in fruits)
    assert_streamed(partials, fruits)


def test_token_budget_raises_incomplete_output(local_provider: Any) -> None:
    client = ss.from_provider("local", seed=1234)
    stream = client.responses.stream(
        model="local", messages=SEED_PROMPT, response_model=list[Idea], max_tokens=40
    )
    from schemastream.errors import IncompleteOutputError

    with pytest.raises(IncompleteOutputError):
        for _ in stream:
            pass


def test_create_iterable_yields_items(local_provider: Any) -> None:
    client = ss.from_provider("local", seed=1234)
    items = list(
        client.chat.completions.create_iterable(
            model="local", messages=FRUITS, response_model=Fruit
        )
    )
    assert len(items) == 2 and all(isinstance(i, Fruit) for i in items)


def test_validation_failure_is_retried_with_a_reask(local_provider: Any) -> None:
    from pydantic import field_validator

    calls = {"n": 0}

    class Checked(BaseModel):
        name: str = Field(max_length=20)

        @field_validator("name")
        @classmethod
        def _first_attempt_fails(cls, value: str) -> str:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ValueError("the first name is never good enough")
            return value

    client = ss.from_provider("local", seed=1234)
    stream = client.responses.stream(
        model="local",
        messages=[{"role": "user", "content": "Name a city"}],
        response_model=Checked,
        max_retries=1,
    )
    final = stream.get_final_response()
    assert isinstance(final, Checked)
    assert stream.restarts == 1


def test_incomplete_output_keeps_the_completed_items(local_provider: Any) -> None:
    from schemastream.errors import IncompleteOutputError

    client = ss.from_provider("local", seed=1234)
    stream = client.responses.stream(
        model="local",
        messages=[{"role": "user", "content": "Name 4 fruits"}],
        response_model=list[Fruit],
        max_tokens=30,
    )
    with pytest.raises(IncompleteOutputError) as info:
        stream.get_final_response()
    assert 1 <= len(info.value.completed_items) < 4
    assert all(isinstance(f, Fruit) for f in info.value.completed_items)
