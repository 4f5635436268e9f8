"""Each claim of the capability matrix, checked on the wire.

For every provider × mode row of ``capability_matrix()`` (the local model aside: it has no
replay server), the provider's replay server sends an answer in that mode's wire format,
with reasoning where the row claims reasoning and prose where it claims prose, through the
real SDK (sync and async). What the row says must then be what the stream does:

- incremental: partials grow (some partial shows an object, or a call, not yet complete)
  and nothing warns; not incremental: every object (every call) appears whole, and one
  ``StreamingDegradedWarning``;
- reasoning: ``ReasoningEvent`` values that add up to ``stream.reasoning_text``;
- parallel: the three calls are three items, each an ``ItemEvent`` with its index;
- usage: ``stream.usage`` has the counts sent; no usage: ``stream.usage is None``;
- prose: the text beside the object arrives as ``TextEvent`` and is not in the object;
  a lenient mode that claims no prose parses past text before the JSON and emits no
  ``TextEvent`` for it.
"""

from __future__ import annotations

import warnings
from typing import Any, Union

import pytest
from pydantic import BaseModel, Field

from schemastream import Mode
from schemastream.errors import StreamingDegradedWarning
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, ReasoningEvent, TextEvent
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


MESSAGES = [{"role": "user", "content": "Ideas?"}]
IDEA = {"title": "Solar kettle for camping", "score": 7}
CALLS = [
    ("Idea", IDEA),
    ("Task", {"name": "Buy copper", "done": True}),
    ("Idea", {"title": "Wind spoon", "score": 3}),
]
REASONING = "The user wants an idea; a kettle is useful."
PROSE = "Here is my idea."
USAGE = Tokens(40, 60)

ROWS = [
    pytest.param(row, id=f"{row.provider}-{row.mode.value}")
    for row in capability_matrix()
    if row.provider != "local"
]


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


async def _events(stream: Any, use_async: bool) -> list[Any]:
    if use_async:
        async with stream:
            return [e async for e in stream.events()]
    with stream:
        return list(stream.events())


@pytest.mark.parametrize("row", ROWS)
async def test_the_claims_hold_on_the_wire(
    server: ReplayServer, row: MatrixRow, use_async: bool
) -> None:
    parallel = row.mode == Mode.PARALLEL_TOOLS
    assert row.parallel == parallel  # only the parallel mode takes several calls
    answer = Answer(
        CALLS if parallel else [("Idea", IDEA)],
        reasoning=REASONING if row.reasoning else "",
        prose=PROSE if row.prose else "",
        usage=USAGE,
    )
    server.add(script(row.provider, answer, row.mode)[0])
    client = ss_client(row.provider, server, use_async, row.mode)
    response_model: Any = list[Union[Idea, Task]] if parallel else Idea
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=response_model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = await _events(stream, use_async)

    final = events[-1]
    assert isinstance(final, FinalEvent)
    if parallel:
        assert final.value == [Idea(**IDEA), Task(**CALLS[1][1]), Idea(**CALLS[2][1])]
        items = [e for e in events if isinstance(e, ItemEvent)]
        assert sorted(e.index for e in items) == [0, 1, 2]
        assert all(final.value[e.index] == e.item for e in items)
    else:
        assert final.value == Idea(**IDEA)

    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    if parallel:  # a call in progress: an entry that is not yet the call's final item
        growing = [
            p for p in partials if any(x is not None and x != y for x, y in zip(p, final.value))
        ]
    else:
        growing = [p for p in partials if p != final.value]
    degraded = [w for w in caught if issubclass(w.category, StreamingDegradedWarning)]
    if row.incremental:
        assert growing, "claimed incremental, but no partial came before the whole value"
        assert degraded == []
    else:
        assert growing == [], "claimed whole, but partials grew"
        assert len(degraded) == 1

    reasoning = [e.text for e in events if isinstance(e, ReasoningEvent)]
    if row.reasoning:
        assert "".join(reasoning) == REASONING == stream.reasoning_text
        assert events.index(next(e for e in events if isinstance(e, ReasoningEvent))) < (
            events.index(final)
        )
    else:
        assert reasoning == [] and stream.reasoning_text == ""

    prose = "".join(e.text for e in events if isinstance(e, TextEvent))
    if row.prose:
        assert PROSE in prose
        assert PROSE not in repr(final.value)
    else:
        assert prose == ""

    if row.usage:
        assert stream.usage is not None
        assert stream.usage.input_tokens == USAGE.input and stream.usage.partial is False
    else:
        assert stream.usage is None


LENIENT_WITHOUT_PROSE = [
    pytest.param(row, id=f"{row.provider}-{row.mode.value}")
    for row in capability_matrix()
    if row.provider != "local" and row.lenient and not row.prose
]


@pytest.mark.parametrize("row", LENIENT_WITHOUT_PROSE)
async def test_a_no_prose_claim_holds_on_the_wire(
    server: ReplayServer, row: MatrixRow, use_async: bool
) -> None:
    """Where a lenient mode claims no prose, text the model writes before the JSON is parsed
    past (the object is right) and no ``TextEvent`` carries it."""
    answer = Answer([("Idea", IDEA)], prose=PROSE, usage=USAGE)
    server.add(script(row.provider, answer, row.mode)[0])
    client = ss_client(row.provider, server, use_async, row.mode)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
    events = await _events(stream, use_async)
    assert events[-1].value == Idea(**IDEA)
    assert not any(isinstance(e, TextEvent) for e in events)
