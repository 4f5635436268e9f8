"""Reasoning and prose beside the object: events in order, kept per attempt, never parsed.

The real client, driver and stream shells run over :class:`ScriptProvider` (the provider
contract fed with given deltas), sync and async.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.contract import Delta

from .scripted import ScriptProvider, finish, json_deltas


class Note(BaseModel):
    title: str = Field(max_length=12)
    body: str


NOTE = {"title": "a {b} c", "body": "x}y{z"}


def _collect(provider: ScriptProvider, kind: str, **kw: Any) -> tuple[list[Any], Any]:
    """All events of one call, and the stream after it."""
    if kind == "sync":
        stream = ss.Client(provider).responses.stream(response_model=Note, **kw)
        return list(stream.events()), stream

    async def run() -> tuple[list[Any], Any]:
        s = ss.AsyncClient(provider).responses.stream(response_model=Note, **kw)
        return [e async for e in s.events()], s

    return asyncio.run(run())


def _kinds(events: list[Any]) -> list[str]:
    out: list[str] = []
    for e in events:
        name = type(e).__name__
        if not out or out[-1] != name or name != "PartialEvent":
            out.append(name)
    return out


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_reasoning_and_prose_come_first_and_never_reach_the_parser(kind: str) -> None:
    script = [
        Delta(reasoning="The user wants"),
        Delta(reasoning=" a note."),
        Delta(reasoning="\n\nSecond summary part: {not json"),
        Delta(prose='Here is your note: {"title": '),  # prose with JSON-looking text
        *json_deltas(NOTE),
        Delta(prose=" Anything else? }"),
        finish(ss.Usage(3, 4)),
    ]
    events, stream = _collect(ScriptProvider(script), kind)
    assert _kinds(events) == [
        "ReasoningEvent",
        "ReasoningEvent",
        "ReasoningEvent",
        "TextEvent",
        "PartialEvent",
        "TextEvent",
        "FinalEvent",
    ]
    assert [e.text for e in events if isinstance(e, ss.ReasoningEvent)] == [
        "The user wants",
        " a note.",
        "\n\nSecond summary part: {not json",
    ]
    assert stream.reasoning_text == "The user wants a note.\n\nSecond summary part: {not json"
    assert stream.prose_text == 'Here is your note: {"title":  Anything else? }'
    assert stream.raw_text == json.dumps(NOTE)  # the JSON only
    assert events[-1].value == Note(**NOTE)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_plain_iteration_and_items_skip_reasoning(kind: str) -> None:
    script = [Delta(reasoning="hmm"), Delta(prose="ok:"), *json_deltas(NOTE), finish()]
    if kind == "sync":
        stream = ss.Client(ScriptProvider(script)).responses.stream(response_model=Note)
        partials = list(stream)
    else:

        async def run() -> tuple[list[Any], Any]:
            s = ss.AsyncClient(ScriptProvider(script)).responses.stream(response_model=Note)
            return [p async for p in s], s

        partials, stream = asyncio.run(run())
    assert partials and all(isinstance(p, BaseModel) for p in partials)
    assert partials[-1] == Note(**NOTE)
    assert stream.reasoning_text == "hmm" and stream.prose_text == "ok:"


def test_reasoning_in_the_same_delta_as_json_comes_before_the_partial() -> None:
    text = json.dumps(NOTE)
    script = [Delta(reasoning="r", prose="p", text=text), finish()]
    events, _ = _collect(ScriptProvider(script), "sync")
    assert [type(e).__name__ for e in events][:3] == ["ReasoningEvent", "TextEvent", "PartialEvent"]


def test_prose_around_fenced_json_in_md_json_mode_is_not_the_object() -> None:
    # a chat model in MD_JSON mode: the provider sends the fence's surroundings as prose
    script = [
        Delta(prose="Sure! {braces} in prose "),
        *json_deltas(NOTE, size=3),
        Delta(prose=" [done]"),
        finish(),
    ]
    events, stream = _collect(ScriptProvider(script), "sync", mode=ss.Mode.MD_JSON)
    assert events[-1].value == Note(**NOTE)
    assert stream.prose_text == "Sure! {braces} in prose  [done]"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_retry_starts_reasoning_and_prose_afresh(kind: str) -> None:
    bad = {"title": "far too long a title", "body": ""}
    first = [Delta(reasoning="first try"), Delta(prose="p1"), *json_deltas(bad), finish()]
    second = [Delta(reasoning="second try"), Delta(prose="p2"), *json_deltas(NOTE), finish()]
    events, stream = _collect(ScriptProvider(first, second), kind, max_retries=1)
    kinds = _kinds(events)
    assert kinds == [
        "ReasoningEvent",
        "TextEvent",
        "PartialEvent",
        "RestartEvent",
        "ReasoningEvent",
        "TextEvent",
        "PartialEvent",
        "FinalEvent",
    ]
    restart = next(e for e in events if isinstance(e, ss.RestartEvent))
    assert isinstance(restart.error, ss.StreamValidationError)
    assert stream.reasoning_text == "second try" and stream.prose_text == "p2"
    assert stream.restarts == 1 and stream.partial == Note(**NOTE)


class Vote(BaseModel):
    option: str


def test_parallel_tool_calls_keep_reasoning_and_prose_beside_them() -> None:
    # Anthropic-like: thinking, a sentence, then two tool_use blocks (Mode.PARALLEL_TOOLS)
    script = [
        Delta(reasoning="Both are needed."),
        Delta(prose="I'll add a note and a vote. {"),
        Delta(call=0, tool="Note", text='{"title": "a", '),
        Delta(call=1, tool="Vote", text='{"option": "yes"}'),
        Delta(call=0, text='"body": "b"}'),
        finish(reason="tool_calls"),
    ]
    stream = ss.Client(ScriptProvider(script)).responses.stream(
        response_model=list[Note | Vote], mode=ss.Mode.PARALLEL_TOOLS
    )
    events = list(stream.events())
    assert [type(e).__name__ for e in events[:2]] == ["ReasoningEvent", "TextEvent"]
    assert isinstance(events[-1], ss.FinalEvent)
    assert events[-1].value == [Note(title="a", body="b"), Vote(option="yes")]
    assert stream.reasoning_text == "Both are needed."
    assert stream.prose_text == "I'll add a note and a vote. {"
