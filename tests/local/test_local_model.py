"""The embedded local model through :class:`LocalProvider` (needs the ``local`` extra).

Generation is kept short: small schemas, small budgets.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter

from schemastream.providers.base import Delta, Mode
from schemastream.schema.spec import ResponseSpec

pytestmark = pytest.mark.local


class Idea(BaseModel):
    title: str = Field(max_length=40)
    blurb: str = Field(max_length=80)


class Address(BaseModel):
    city: str = Field(max_length=20)
    country: str = Field(max_length=20)


class Pet(BaseModel):
    name: str = Field(max_length=12)
    species: Literal["cat", "dog", "parrot"]
    age: int = Field(ge=1, le=15)
    home: Address


class Color(BaseModel):
    name: Literal["café crème", "日本の赤", "plain"]
    hex: str = Field(max_length=7)


CASES: list[tuple[Any, str]] = [
    (Annotated[list[Idea], Field(max_length=2)], "Two ideas to market a yoga studio"),
    (Pet, "Invent a pet for a children's story"),
    (Literal["yes", "no"], "Is the sky blue?"),
    (Annotated[int, Field(ge=3, le=9)], "Pick a number between 3 and 9"),
    (Color, "Pick a color"),
]


def _request(provider: Any, tp: Any, prompt: str, **kwargs: Any) -> Any:
    spec = ResponseSpec.from_type(tp)
    messages = [{"role": "user", "content": prompt}]
    return spec, provider.build_request(spec, Mode.JSON_SCHEMA, {"messages": messages, **kwargs})


def _collect(deltas: list[Delta]) -> tuple[str, Delta]:
    finals = [d for d in deltas if d.finish_reason]
    assert len(finals) == 1 and deltas[-1] is finals[0]
    return "".join(d.text for d in deltas), finals[0]


@pytest.mark.parametrize(("tp", "prompt"), CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_constrained_output_matches_schema(local_provider: Any, tp: Any, prompt: str) -> None:
    spec, request = _request(local_provider, tp, prompt)
    text, final = _collect(list(local_provider.open_stream(request)))
    assert final.finish_reason == "stop"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    document = json.loads(text)
    assert text == json.dumps(document, ensure_ascii=False, separators=(",", ":"))  # compact
    value = document[spec.wrapper_key] if spec.wrapper_key else document
    TypeAdapter(tp).validate_python(value)  # max_length, Literal, bounds, nesting
    assert "\ufffd" not in text


def test_requested_count_is_exact(local_provider: Any) -> None:
    tp = list[Annotated[str, Field(max_length=20)]]
    spec, request = _request(local_provider, tp, "Name 3 fruits")
    text, final = _collect(list(local_provider.open_stream(request)))
    assert final.finish_reason == "stop"
    assert len(TypeAdapter(tp).validate_python(json.loads(text)["items"])) == 3


def test_budget_exhaustion_ends_with_length(local_provider: Any) -> None:
    spec, request = _request(local_provider, list[Idea], "Ideas for a shop", max_tokens=12)
    text, final = _collect(list(local_provider.open_stream(request)))
    assert final.finish_reason == "length"
    assert final.usage.output_tokens == 12
    assert text.startswith('{"items":[')
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_close_stops_at_once_and_releases_the_model(local_provider: Any) -> None:
    spec, request = _request(local_provider, list[Idea], "Ideas for a bookshop")
    stream = local_provider.open_stream(request)
    seen = []
    for delta in stream:
        seen.append(delta)
        if len(seen) == 3:
            stream.close()
    # nothing after close: no more text and no finish delta
    assert len(seen) == 3 and not any(d.finish_reason for d in seen)
    # the model is free again: a new generation runs (same thread, no deadlock)
    _, request2 = _request(local_provider, Literal["yes", "no"], "Yes or no?")
    _, final = _collect(list(local_provider.open_stream(request2)))
    assert final.finish_reason == "stop"


def test_reask_adds_the_errors(local_provider: Any) -> None:
    spec, request = _request(local_provider, Pet, "A pet", seed=5)
    again = local_provider.reask(request, '{"name":"Rex"}', ValueError("species is missing"))
    model = local_provider.load()
    prompt = local_provider.prompt_text(again, model)
    assert "species is missing" in prompt
    assert '{"name":"Rex"}' not in prompt  # a base model would copy it
    assert '{"name":"Rex"}' in again.kwargs["feedback"][0]  # for chat-template models
    assert again.kwargs["seed"] == 6
    assert request.kwargs["feedback"] == [] and request.kwargs["seed"] == 5


async def test_async_stream_does_not_block_the_loop(local_provider: Any) -> None:
    spec, request = _request(local_provider, Pet, "Invent a pet for a story")
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    stream = await local_provider.aopen_stream(request)
    ticks_at_delta = []
    deltas = []
    async for delta in stream:
        deltas.append(delta)
        ticks_at_delta.append(ticks)
    running = False
    await task
    text, final = _collect(deltas)
    assert final.finish_reason == "stop"
    TypeAdapter(Pet).validate_python(json.loads(text))
    # the ticker kept running while tokens were being generated
    assert ticks_at_delta[-1] - ticks_at_delta[0] >= 3


async def test_async_aclose_stops_the_worker(local_provider: Any) -> None:
    spec, request = _request(local_provider, list[Idea], "Ideas for a flower shop")
    stream = await local_provider.aopen_stream(request)
    count = 0
    async for _delta in stream:
        count += 1
        if count == 2:
            break
    await stream.aclose()
    assert stream._thread is not None
    stream._thread.join(timeout=30)
    assert not stream._thread.is_alive()
    assert stream.generation.finish_reason == "cancelled"


async def test_async_cancellation_stops_the_worker(local_provider: Any) -> None:
    spec, request = _request(local_provider, list[Idea], "Ideas for a toy shop")
    stream = await local_provider.aopen_stream(request)
    first = asyncio.Event()

    async def consume() -> None:
        async for _delta in stream:
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream._thread is not None
    stream._thread.join(timeout=30)
    assert not stream._thread.is_alive()
    assert stream.generation.finish_reason == "cancelled"
