"""Issue 18's scenarios on every provider wire: what the model streams beside the object.

Each wire is a provider's real SDK (sync and async) over HTTP against its replay server,
which sends the provider's exact format (tests/providers/beside_wires.py builds the frames):

- openai: Chat Completions (``reasoning_content`` deltas; ``tool_calls`` deltas by index)
- openai-sdk: the same wire read through the SDK's chunk objects (``fast=False``)
- openai-responses: the Responses API (reasoning summary; function-call argument deltas)
- anthropic: Messages (``thinking`` block, text block, ``tool_use`` blocks)
- genai: ``streamGenerateContent`` (``thought`` parts; whole function calls)

Scenarios: reasoning interleaved with the object; three tool calls of two types
(``Mode.PARALLEL_TOOLS``; interleaved where the wire interleaves them); a fail fast inside
the second call (``StreamValidationError`` at ``(1, ...)``, and the server sees the hang-up);
usage after a cancel (what is known at that point, kept and marked partial).

A wire takes part in a scenario when its provider's capabilities (the capability matrix)
claim what the scenario needs; ``test_every_wire_takes_part`` says which must.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream import Mode
from schemastream.errors import StreamingDegradedWarning, StreamValidationError
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, ReasoningEvent
from schemastream.providers.matrix import MatrixRow, capability_matrix
from tests.providers.beside_wires import Answer, script, ss_client
from tests.replay.base import ReplayServer, Tokens


class Idea(BaseModel):
    """A product idea."""

    title: str = Field(max_length=40)
    score: int = 0


class Task(BaseModel):
    """A task to do."""

    name: str = Field(max_length=20)
    done: bool = False


RESPONSE = list[Union[Idea, Task]]
MESSAGES = [{"role": "user", "content": "Ideas and tasks?"}]
IDEA = {"title": "Solar kettle for camping", "score": 7}
CALLS = [
    ("Idea", IDEA),
    ("Task", {"name": "Buy copper", "done": True}),
    ("Idea", {"title": "Wind spoon", "score": 3}),
]
FINAL = [Idea(**IDEA), Task(name="Buy copper", done=True), Idea(title="Wind spoon", score=3)]
REASONING = "The user wants ideas. A kettle that boils water with sunlight would help campers."
USAGE = Tokens(1200, 80, cached=1024, reasoning=32)


@dataclass(frozen=True)
class Wire:
    id: str
    provider: str  # Provider.name
    object_mode: Mode  # the mode for one object
    parallel_mode: Mode = Mode.PARALLEL_TOOLS
    client_kw: dict[str, Any] = field(default_factory=dict)
    #: how the call passes the conversation (OpenAI: ``input=`` picks the Responses API)
    input_key: str = "messages"
    #: the wire can put reasoning between the object's pieces (else reasoning comes first)
    interleaves_reasoning: bool = False
    #: several calls stream interleaved (else one after the other, or whole)
    interleaves_calls: bool = False
    #: stream.usage for USAGE after the whole answer
    usage: ss.Usage | None = None
    #: stream.usage after a cancel mid-object: what the wire had reported by then
    cancel_usage: ss.Usage | None = None

    def client(self, server: ReplayServer, use_async: bool, mode: Mode) -> Any:
        return ss_client(self.provider, server, use_async, mode, **self.client_kw)

    def stream(self, server: ReplayServer, use_async: bool, mode: Mode, **kw: Any) -> Any:
        client = self.client(server, use_async, mode)
        return client.responses.stream(model="m", **{self.input_key: MESSAGES}, **kw)

    def row(self, mode: Mode) -> MatrixRow | None:
        rows = [r for r in capability_matrix() if r.provider == self.provider and r.mode == mode]
        return rows[0] if rows else None


_OPENAI_CHAT = {
    "provider": "openai",
    "object_mode": Mode.TOOLS,
    "interleaves_reasoning": True,
    "interleaves_calls": True,
    # OpenAI reports usage only in the stream's last chunk / response.completed
    "usage": ss.Usage(1200, 80, 1024, 32),
    "cancel_usage": None,
}
ALL_WIRES = [
    Wire("openai", **_OPENAI_CHAT),  # type: ignore[arg-type]
    Wire("openai-sdk", client_kw={"fast": False}, **_OPENAI_CHAT),  # type: ignore[arg-type]
    Wire(
        "openai-responses",
        "openai",
        Mode.RESPONSES_TOOLS,
        input_key="input",
        interleaves_calls=True,
        usage=ss.Usage(1200, 80, 1024, 32),
        cancel_usage=None,
    ),
    Wire(
        "anthropic",
        "anthropic",
        Mode.TOOLS,
        # input_tokens counts the cache reads too (Anthropic reports them apart)
        usage=ss.Usage(1200 + 1024, 80, 1024, 32),
        cancel_usage=ss.Usage(1200 + 1024, 1, 1024, None),  # message_start's counts
    ),
    Wire(
        "genai",
        "genai",
        Mode.JSON,
        interleaves_reasoning=True,
        # candidatesTokenCount leaves the thoughts out; schemastream's output counts them
        usage=ss.Usage(1200, 80 + 32, 1024, 32),
        cancel_usage=ss.Usage(1200, None, 1024, None),  # every frame's prompt counts
    ),
]


def _wires(claim: Callable[[Wire], bool]) -> list[Any]:
    return [pytest.param(w, id=w.id) for w in ALL_WIRES if claim(w)]


def _streams_reasoning(w: Wire) -> bool:
    row = w.row(w.object_mode)
    return row is not None and row.reasoning and row.incremental


def _parallel(w: Wire) -> bool:
    row = w.row(w.parallel_mode)
    return row is not None and row.parallel


REASONING_WIRES = _wires(_streams_reasoning)
PARALLEL_WIRES = _wires(_parallel)


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


async def _events(stream: Any, use_async: bool) -> list[Any]:
    # whole calls (Gemini) warn once per client: not what these scenarios are about
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StreamingDegradedWarning)
        if use_async:
            async with stream:
                return [e async for e in stream.events()]
        with stream:
            return list(stream.events())


# -- reasoning ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", REASONING_WIRES)
async def test_reasoning_interleaved_with_the_object(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    answer = Answer([("Idea", IDEA)], reasoning=REASONING, usage=USAGE, n=5)
    server.add(script(wire.provider, answer, wire.object_mode)[0])
    stream = wire.stream(server, use_async, wire.object_mode, response_model=Idea)
    events = await _events(stream, use_async)

    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "FinalEvent" and events[-1].value == Idea(**IDEA)
    partial_at = [i for i, k in enumerate(kinds) if k == "PartialEvent"]
    reasoning_at = [i for i, k in enumerate(kinds) if k == "ReasoningEvent"]
    if wire.interleaves_reasoning:  # reasoning came between the object's partials
        assert any(partial_at[0] < i < partial_at[-1] for i in reasoning_at)
    else:  # the wire sends the thinking first: every ReasoningEvent before the object
        assert reasoning_at[-1] < partial_at[0]
    reasoning = [e.text for e in events if isinstance(e, ReasoningEvent)]
    assert len(reasoning) >= 2 or wire.provider == "genai"  # Gemini: one thought part
    assert "".join(reasoning) == REASONING == stream.reasoning_text
    # the reasoning never reached the object
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    assert all(p.title is None or Idea(**IDEA).title.startswith(p.title) for p in partials if p)
    assert stream.usage == wire.usage and stream.usage is not None
    assert stream.usage.partial is False and len(stream.usage.attempts) == 1


# -- several calls -----------------------------------------------------------------------------


@pytest.mark.parametrize("wire", PARALLEL_WIRES)
async def test_three_interleaved_calls_of_two_types(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    answer = Answer(CALLS, reasoning=REASONING, usage=USAGE, n=4)
    server.add(script(wire.provider, answer, wire.parallel_mode)[0])
    stream = wire.stream(server, use_async, wire.parallel_mode, response_model=RESPONSE)
    events = await _events(stream, use_async)

    assert events[-1] == FinalEvent(FINAL, events[-1].ops)
    items = [e for e in events if isinstance(e, ItemEvent)]
    assert sorted(e.index for e in items) == [0, 1, 2]  # each call once, with its place
    assert all(FINAL[e.index] == e.item for e in items)
    assert stream.reasoning_text == REASONING
    assert stream.usage == wire.usage
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    in_progress = [sum(1 for x, y in zip(p, FINAL) if x is not None and x != y) for p in partials]
    if wire.interleaves_calls:  # a partial showed all three calls in progress at once
        assert max(in_progress) == 3
        # in completion order: round-robin pieces finish the shortest call first
        assert [e.index for e in items] == [2, 1, 0]
    else:
        assert max(in_progress) <= 1
        assert [e.index for e in items] == [0, 1, 2]
    # an item came before the stream ended: ItemEvents are not held back to the end
    assert events.index(items[0]) < len(events) - 2


@pytest.mark.parametrize("wire", PARALLEL_WIRES)
async def test_create_iterable_yields_each_call_once(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    server.add(script(wire.provider, Answer(CALLS, n=4), wire.parallel_mode)[0])
    completions = wire.client(server, use_async, wire.parallel_mode).chat.completions
    items = completions.create_iterable(
        model="m", **{wire.input_key: MESSAGES}, response_model=Union[Idea, Task]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StreamingDegradedWarning)
        got = [i async for i in items] if use_async else list(items)
    assert sorted(got, key=FINAL.index) == FINAL and len(got) == 3


@pytest.mark.parametrize("wire", PARALLEL_WIRES)
async def test_fail_fast_inside_the_second_call(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    bad = [CALLS[0], ("Task", {"name": "x" * 30, "done": True}), CALLS[2]]
    held, _gate = script(wire.provider, Answer(bad, n=4), wire.parallel_mode, hold_last=1)
    server.add(held)  # the gate is never opened: only a hang-up ends the response
    stream = wire.stream(
        server, use_async, wire.parallel_mode, response_model=RESPONSE, max_retries=0
    )
    with pytest.raises(StreamValidationError) as info:
        await _events(stream, use_async)
    assert info.value.path[:2] == (1, "name")
    assert info.value.errors()[0]["loc"][0] == 1
    assert info.value.constraint == "string_too_long"
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent < ex.total_chunks
    assert len(server.exchanges) == 1


# -- usage -------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", _wires(lambda w: w.row(w.object_mode) is not None))
async def test_usage_after_a_cancel(server: ReplayServer, wire: Wire, use_async: bool) -> None:
    reasoning = REASONING if _streams_reasoning(wire) else ""
    answer = Answer([("Idea", IDEA)], reasoning=reasoning, usage=USAGE, n=5)
    held, _gate = script(wire.provider, answer, wire.object_mode, hold_last=3)
    server.add(held)
    stream = wire.stream(server, use_async, wire.object_mode, response_model=Idea)
    first: Any = None
    if use_async:
        async with stream:
            async for event in stream.events():
                if isinstance(event, PartialEvent) and event.partial:
                    first = event.partial
                    break
    else:
        with stream:
            for event in stream.events():
                if isinstance(event, PartialEvent) and event.partial:
                    first = event.partial
                    break
    assert first is not None and first != Idea(**IDEA)  # cancelled mid-object
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert stream.usage == wire.cancel_usage
    if wire.cancel_usage is not None:  # kept, and marked as what was known then
        assert stream.usage is not None and stream.usage.partial is True
    assert reasoning.startswith(stream.reasoning_text)  # the reasoning so far, kept
    if not wire.interleaves_reasoning:  # it all came before the object
        assert stream.reasoning_text == reasoning


# -- which wires took part -----------------------------------------------------------------------


#: the providers whose issue-18 branch is merged here; each of their wires must take part
MERGED = ("openai", "anthropic", "genai")


def test_every_wire_takes_part() -> None:
    expected = [w.id for w in ALL_WIRES if w.provider in MERGED]
    assert [p.id for p in REASONING_WIRES] == expected
    assert [p.id for p in PARALLEL_WIRES] == expected
