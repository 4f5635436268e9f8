"""Mode.PARALLEL_TOOLS: several structured outputs in one response, one tool call per item.

The core is driven with the deltas a provider yields (``Delta.call`` names the call,
``Delta.tool`` its tool on the call's first delta), interleaved as the providers send them;
through the real stream shells with ``Scripted``, a provider that yields given deltas.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal, Union

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, TypeAdapter

import schemastream as ss
from schemastream.calls import CallsSession
from schemastream.contract import AsyncDeltaStream, Delta, DeltaStream, Mode, Request
from schemastream.core import StreamDriver
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from schemastream.patch import apply_patch
from schemastream.providers.base import Call, Provider
from schemastream.schema import ResponseSpec
from schemastream.schema.tools import parallel_tools


class Idea(BaseModel):
    """A product idea."""

    title: str
    blurb: str = Field(max_length=40)


class Vote(BaseModel):
    option: Literal["yes", "no"]
    weight: int = Field(ge=0, le=10)


RESPONSE = list[Union[Idea, Vote]]
MEMBER = {"Idea": Idea, "Vote": Vote}


def session(tp: Any = RESPONSE, **kw: Any) -> CallsSession:
    return CallsSession(ResponseSpec.from_type(tp), **kw)


def _strip_states(state: Any) -> Any:
    if isinstance(state, dict):
        if set(state) == {"value", "state"} and state["state"] in ("pending", "streaming", "done"):
            return _strip_states(state["value"])
        return {k: _strip_states(v) for k, v in state.items() if _strip_states(v) is not None}
    if isinstance(state, list):
        return [_strip_states(v) for v in state]
    return state


def _shown(partial: Any) -> Any:
    return _strip_states(pydantic_core.to_jsonable_python(partial))


class Run:
    """Feed deltas; check after every event that the patch ops build what the snapshot shows."""

    def __init__(self, s: CallsSession) -> None:
        self.s = s
        self.state: Any = None
        self.partials: list[Any] = []
        self.items: list[ItemEvent] = []
        self.events_per_delta: list[list[Any]] = []

    def feed(self, deltas: Sequence[Delta]) -> Run:
        for delta in deltas:
            events = self.s.feed_delta(delta, 0.0)
            self.events_per_delta.append(events)
            for event in events:
                if isinstance(event, PartialEvent):
                    self.state = apply_patch(self.state, event.ops)
                    self.partials.append(event.partial)
                    if self.s.partials:  # what the ops built is what the snapshot shows
                        assert _strip_states(self.state) == _shown(event.partial)
                    else:
                        assert event.partial is None
                elif isinstance(event, ItemEvent):
                    self.items.append(event)
        return self

    def finish(self, finish_reason: str = "tool_calls") -> list[Any]:
        final = self.s.finish(finish_reason)
        self.state = apply_patch(self.state, final.ops)
        assert self.state == TypeAdapter(RESPONSE).dump_python(final.value, mode="json")
        return final.value  # type: ignore[no-any-return]


def calls_deltas(
    calls: Sequence[tuple[int, str, str]], schedule: Sequence[int], size: int = 5
) -> list[Delta]:
    """``calls``: (Delta.call, tool, arguments) cut in ``size``-character pieces; ``schedule``:
    which call sends its next piece, then round robin (each call's first delta names its tool)."""
    pieces = [[args[i : i + size] for i in range(0, len(args), size)] for _, _, args in calls]
    sent = [0] * len(calls)
    rest = [c for n in range(max(map(len, pieces))) for c in range(len(calls))]
    out = []
    for c in [*schedule, *rest]:
        if sent[c] == len(pieces[c]):
            continue
        key, tool, _ = calls[c]
        out.append(Delta(text=pieces[c][sent[c]], call=key, tool=tool if sent[c] == 0 else None))
        sent[c] += 1
    return out


def ends(deltas: Sequence[Delta]) -> list[int]:
    """The delta index where each call's text ends, earliest first."""
    return sorted({d.call: i for i, d in enumerate(deltas)}.values())


IDEA_1 = json.dumps({"title": "Voice notes", "blurb": "Speak, get a note."})
VOTE = json.dumps({"option": "yes", "weight": 7})
IDEA_2 = json.dumps({"title": "Daily digest", "blurb": "One email a day."})


# --- the core ------------------------------------------------------------------------------


def test_three_interleaved_calls_of_two_types():
    # OpenAI-style: each call's first delta names it (the name with empty arguments)
    deltas = [
        Delta(call=0, tool="Idea"),
        Delta(call=0, text='{"title": "Voi'),
        Delta(call=1, tool="Vote"),
        Delta(call=1, text='{"option": "y'),
        Delta(call=2, tool="Idea", text='{"title": "Daily digest", '),
        Delta(call=0, text='ce notes", "blurb": "Speak, get a note."}'),
        Delta(call=2, text='"blurb": "One email a day."}'),
        Delta(call=1, text='es", "weight": 7}'),
    ]
    run = Run(session()).feed(deltas)
    assert [repr(p) for p in run.partials[:4]] == [
        "[None]",
        "[PartialIdea(title='Voi', blurb=None)]",
        "[PartialIdea(title='Voi', blurb=None), None]",
        "[PartialIdea(title='Voi', blurb=None), PartialVote(option=None, weight=None)]",
    ]
    assert [type(p).__name__ for p in run.partials[4]] == [
        "PartialIdea",
        "PartialVote",
        "PartialIdea",
    ]
    # each call once, validated, in completion order, with its index in the list
    assert [(e.index, e.item, e.pointer) for e in run.items] == [
        (0, Idea(title="Voice notes", blurb="Speak, get a note."), "/0"),
        (2, Idea(title="Daily digest", blurb="One email a day."), "/2"),
        (1, Vote(option="yes", weight=7), "/1"),
    ]
    assert run.finish() == [
        Idea(title="Voice notes", blurb="Speak, get a note."),
        Vote(option="yes", weight=7),
        Idea(title="Daily digest", blurb="One email a day."),
    ]


def test_positions_follow_first_appearance_not_the_providers_key():
    # Anthropic-style keys: content-block indexes, a text block took 0
    deltas = calls_deltas([(3, "Vote", VOTE), (1, "Idea", IDEA_1)], [0, 1, 1, 1, 1, 1, 1])
    run = Run(session()).feed(deltas)
    assert run.finish() == [Vote(option="yes", weight=7), Idea.model_validate_json(IDEA_1)]
    assert [e.index for e in run.items] == [0, 1]


IDEA_DOCS = st.fixed_dictionaries(
    {"title": st.text(max_size=12), "blurb": st.text(max_size=40)}
).map(lambda d: ("Idea", json.dumps(d, ensure_ascii=False)))
VOTE_DOCS = st.fixed_dictionaries(
    {"option": st.sampled_from(["yes", "no"]), "weight": st.integers(0, 10)}
).map(lambda d: ("Vote", json.dumps(d)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_interleaving_and_chunking(data):
    docs = data.draw(st.lists(st.one_of(IDEA_DOCS, VOTE_DOCS), min_size=1, max_size=4))
    keys = data.draw(
        st.lists(st.integers(0, 50), min_size=len(docs), max_size=len(docs), unique=True)
    )
    size = data.draw(st.integers(1, 9))
    calls = [(k, tool, args) for k, (tool, args) in zip(keys, docs)]
    n_pieces = [-(-len(args) // size) for _, _, args in calls]
    schedule = data.draw(st.permutations([c for c, n in enumerate(n_pieces) for _ in range(n)]))
    granularity = data.draw(st.sampled_from(["change", "field", "item"]))
    partials = data.draw(st.booleans())
    s = session(granularity=granularity, partials=partials)
    run = Run(s).feed(calls_deltas(calls, schedule, size))
    final = run.finish()
    order = list(dict.fromkeys(schedule))  # list positions: the order calls first appear
    assert final == [TypeAdapter(MEMBER[calls[c][1]]).validate_json(calls[c][2]) for c in order]
    # each call yielded once, when its last piece arrived, with its position
    last = sorted(range(len(calls)), key=lambda c: max(i for i, x in enumerate(schedule) if x == c))
    assert [(e.index, e.item) for e in run.items] == [
        (order.index(c), final[order.index(c)]) for c in last
    ]
    if partials:  # every partial lists each call seen so far, in call order, typed or None
        names = ("PartialIdea", "PartialVote", "Idea", "Vote")
        for p in run.partials:
            assert all(x is None or type(x).__name__ in names for x in p)
        assert run.partials[-1] == final
    else:
        assert set(run.partials) == {None}


def test_a_constraint_broken_in_the_second_call_fails_at_once():
    s = session()
    long = "x" * 60
    deltas = calls_deltas(
        [(0, "Idea", IDEA_1), (1, "Idea", json.dumps({"title": "Too long", "blurb": long}))],
        [0, 1, 0, 1, 0, 1],
    )
    fed: list[Delta] = []
    with pytest.raises(ss.StreamValidationError) as info:
        for delta in deltas:
            fed.append(delta)
            s.feed_delta(delta)
    err = info.value
    assert err.path == (1, "blurb")
    assert err.constraint == "string_too_long"
    assert err.title == "call 1 (Idea)"
    # at the piece that made it 41 characters long, not at the end of the string
    text = "".join(d.text for d in fed if d.call == 1)
    assert 41 <= text.count("x") < 46 and not text.endswith('"}')


def test_an_unknown_tool_is_a_validation_error_the_model_can_fix():
    s = session()
    s.feed_delta(Delta(call=0, tool="Idea", text='{"title": "a", "blurb": "b"}'))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed_delta(Delta(call=1, tool="Poll", text="{"))
    assert info.value.errors() == [
        {
            "type": "unknown_tool",
            "loc": (1,),
            "msg": "the model called the tool 'Poll', which was not offered "
            "(the tools: 'Idea', 'Vote')",
            "input": "Poll",
            "ctx": {"expected": ["Idea", "Vote"]},
        }
    ]


def test_max_items_counts_calls_and_keeps_the_state_exact():
    s = session(max_items=2)
    deltas = calls_deltas(
        [(0, "Idea", IDEA_1), (1, "Vote", VOTE), (2, "Idea", IDEA_2)],
        [0, 1, 2, *[1] * 4, *[2] * 9],
    )
    run = Run(s)
    read = 0
    while not s.budget_reached:
        run.feed([deltas[read]])
        read += 1
    assert read - 1 == ends(deltas)[1]  # the second call completed: the shell stops reading here
    assert [e.index for e in run.items] == [1, 2]
    assert s.feed_delta(deltas[read]) == []
    final = run.finish()  # the completed calls in call order; call 0 left the state
    assert final == [Vote(option="yes", weight=7), Idea.model_validate_json(IDEA_2)]


def test_text_before_the_tool_is_named_waits_and_the_call_shows_none():
    run = Run(session()).feed([Delta(call=0, text='{"title": "Vo'), Delta(call=0, text="ice")])
    assert run.partials[-1] == [None]
    run.feed([Delta(call=0, tool="Idea", text='", "blurb": "b"}')])
    assert run.finish() == [Idea(title="Voice", blurb="b")]


@pytest.mark.parametrize(
    ("deltas", "message"),
    [
        ([Delta(text="{")], "must say which call it belongs to"),
        (
            [Delta(call=0, tool="Idea", text="{"), Delta(call=0, tool="Vote")],
            "call 0 changed its tool from 'Idea' to 'Vote'",
        ),
    ],
)
def test_deltas_that_break_the_provider_contract(deltas, message):
    s = session()
    with pytest.raises(ss.ProviderError, match=message):
        for delta in deltas:
            s.feed_delta(delta)


def test_a_call_that_never_names_its_tool_fails_at_the_end():
    s = session()
    s.feed_delta(Delta(call=0, text="{}"))
    with pytest.raises(ss.ProviderError, match="call 0 never named its tool"):
        s.finish("tool_calls")


def test_an_unfinished_call_is_incomplete_output_with_what_completed():
    s = session()
    deltas = calls_deltas([(0, "Idea", IDEA_1), (1, "Vote", VOTE)], [0, 1, 0, 1, *[0] * 9])
    for delta in deltas[: ends(deltas)[0] + 1]:  # the idea is complete, the vote is not
        s.feed_delta(delta)
    with pytest.raises(ss.IncompleteOutputError, match=r"call 1 \(Vote\)") as info:
        s.finish("length")
    assert info.value.completed_items == [Idea.model_validate_json(IDEA_1)]
    assert repr(info.value.last_partial) == (
        "[Idea(title='Voice notes', blurb='Speak, get a note.'), "
        "PartialVote(option=None, weight=None)]"
    )
    with pytest.raises(ss.IncompleteOutputError, match="the model made no tool call"):
        session().finish("stop")


def test_an_unfinished_call_at_a_normal_stop_is_a_json_error():
    s = session()
    s.feed_delta(Delta(call=0, tool="Vote", text='{"option": "no"'))
    with pytest.raises(ss.JsonStreamError, match=r"call 0 \(Vote\): unexpected end of document"):
        s.finish("tool_calls")


def test_display_policies_hold_inside_each_call():
    class Card(BaseModel):
        title: Annotated[str, ss.NotNull]
        url: Annotated[str, ss.Done]
        note: Annotated[str, ss.WithState] = ""

    class Tag(BaseModel):
        tag: str

    tp = list[Union[Card, Tag]]
    card = json.dumps({"url": "https://example.com/a", "title": "Notes", "note": "ok"})
    deltas = calls_deltas([(0, "Card", card), (1, "Tag", '{"tag": "x"}')], [0, 1, 1, 1], 5)
    s = CallsSession(ResponseSpec.from_type(tp))
    state: Any = None
    partials = []
    for delta in deltas:
        for event in s.feed_delta(delta):
            if isinstance(event, PartialEvent):
                state = apply_patch(state, event.ops)
                partials.append(event.partial)
                assert _strip_states(state) == _shown(event.partial)
    # the card is None (no title yet) while the tag shows; its url only whole
    assert [repr(p) for p in partials[1:5]] == [
        "[None, PartialTag(tag=None)]",  # the card has no title yet: not shown
        "[None, PartialTag(tag='x')]",
        "[None, Tag(tag='x')]",
        # with its title, and its url (written first) whole
        "[PartialCard(title='No', url='https://example.com/a', note=None), Tag(tag='x')]",
    ]
    final = s.finish("tool_calls")
    state = apply_patch(state, final.ops)  # WithState's {"value", "state"} pairs unwrapped
    assert state == TypeAdapter(tp).dump_python(final.value, mode="json")


@pytest.mark.parametrize("granularity", ["field", "item"])
def test_granularity_applies_to_the_list(granularity):
    deltas = calls_deltas([(0, "Idea", IDEA_1), (1, "Vote", VOTE)], [0, 1])
    run = Run(session(granularity=granularity)).feed(deltas)
    if granularity == "item":  # a partial only when a call completes
        assert [e for e in map(len, run.events_per_delta) if e] == [2, 2]
    else:
        assert 2 < len(run.partials) < len(deltas)
    assert run.finish() == [Idea.model_validate_json(IDEA_1), Vote(option="yes", weight=7)]


def test_field_state_and_is_complete_address_calls_by_position():
    s = session()
    s.feed_delta(Delta(call=5, tool="Idea", text='{"title": "Voice", "blu'))
    assert s.field_state((0, "title")) == "done" and s.is_complete((0, "title"))
    assert s.field_state((0, "blurb")) == "pending" and not s.is_complete((0,))
    assert s.field_state((1,)) == "pending" and s.field_state(()) == "streaming"
    assert json.loads(s.raw_text) == [{"tool": "Idea", "arguments": '{"title": "Voice", "blu'}]


# --- the tool set ---------------------------------------------------------------------------


def test_parallel_tools_one_per_member_with_stable_unique_names():
    class Titled(BaseModel):
        model_config = ConfigDict(title="Poll question")
        q: str

    other_idea = type("Idea", (BaseModel,), {"__annotations__": {"x": int}})
    tools = parallel_tools(Iterable[Union[Idea, Vote, Titled, other_idea]])
    assert [(t.name, t.model) for t in tools] == [
        ("Idea", Idea),
        ("Vote", Vote),
        ("Poll_question", Titled),
        ("Idea_2", other_idea),
    ]
    assert tools[0].description == "A product idea."
    assert tools[1].description == "Return one Vote; call this tool once per Vote."
    assert tools[0].json_schema == Idea.model_json_schema()
    assert tools[0].strict_json_schema["required"] == ["title", "blurb"]
    assert [t.name for t in parallel_tools(list[Idea])] == ["Idea"]

    class Cat(BaseModel):
        kind: Literal["cat"]

    class Dog(BaseModel):
        kind: Literal["dog"]

    # a discriminator does not matter here (the tool name picks the member): accepted
    for tag in (Field(discriminator="kind"), Discriminator("kind")):
        assert [t.name for t in parallel_tools(list[Annotated[Union[Cat, Dog], tag]])] == [
            "Cat",
            "Dog",
        ]


@pytest.mark.parametrize(
    ("tp", "why"),
    [
        (Idea, "not a list or Iterable of models"),
        (dict[str, Idea], "not a list or Iterable of models"),
        (list[str], "<class 'str'> is not a pydantic model"),
        (list[Union[Idea, None]], "<class 'NoneType'> is not a pydantic model"),
        (list[Union[Idea, str]], "<class 'str'> is not a pydantic model"),
        (list[RootModel[list[int]]], "is a RootModel"),
        (Annotated[list[Idea], Field(max_length=2)], "metadata on the list is not applied"),
        (list[Annotated[Idea, ss.Done]], "the metadata <class 'schemastream.policies.Done'>"),
    ],
)
def test_response_models_that_cannot_be_parallel(tp, why):
    with pytest.raises(ss.ConfigurationError, match="Mode.PARALLEL_TOOLS needs") as info:
        parallel_tools(tp)
    assert why in str(info.value)
    with pytest.raises(ss.ConfigurationError):
        session(tp)


# --- through the stream shells ----------------------------------------------------------------


class _Deltas(DeltaStream):
    def __init__(self, deltas: list[Delta]) -> None:
        self.deltas = deltas
        self.read = 0
        self.closed = False

    def __iter__(self) -> Iterator[Delta]:
        for delta in self.deltas:
            if self.closed:
                return
            self.read += 1
            yield delta

    def close(self) -> None:
        self.closed = True


class _AsyncDeltas(AsyncDeltaStream):
    def __init__(self, deltas: list[Delta]) -> None:
        self.deltas = deltas
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[Delta]:  # type: ignore[override]
        for delta in self.deltas:
            if self.closed:
                return
            self.read += 1
            yield delta

    async def aclose(self) -> None:
        self.closed = True


class Scripted(Provider):
    """A provider that yields given deltas, one list per attempt (a test provider)."""

    name = "scripted"
    default_mode = default_responses_mode = Mode.PARALLEL_TOOLS
    supported_modes = frozenset({Mode.PARALLEL_TOOLS})

    def __init__(self, *attempts: list[Delta], is_async: bool = False) -> None:
        self.attempts = list(attempts)
        self.is_async = is_async
        self.streams: list[Any] = []
        self.reasks: list[tuple[str, BaseException]] = []

    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        tools = [
            {"name": t.name, "parameters": t.json_schema}
            for t in parallel_tools(spec.response_model)
        ]
        return Request("scripted", {"model": call.model, **call.extra, "tools": tools}, mode)

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        self.reasks.append((raw_text, error))
        return request

    def open_stream(self, request: Request) -> _Deltas:
        self.streams.append(
            _Deltas(self.attempts[len(self.streams)] + [Delta(finish_reason="tool_calls")])
        )
        return self.streams[-1]  # type: ignore[no-any-return]

    async def aopen_stream(self, request: Request) -> _AsyncDeltas:
        self.streams.append(
            _AsyncDeltas(self.attempts[len(self.streams)] + [Delta(finish_reason="tool_calls")])
        )
        return self.streams[-1]  # type: ignore[no-any-return]


THREE = calls_deltas(  # completed in the order 1, 2, 0
    [(0, "Idea", IDEA_1), (1, "Vote", VOTE), (2, "Idea", IDEA_2)], [0, 1, 2, *[1] * 4, *[2] * 9]
)
THREE_FINAL = [
    Idea.model_validate_json(IDEA_1),
    Vote(option="yes", weight=7),
    Idea.model_validate_json(IDEA_2),
]


def _events(use_async: bool, provider: Scripted, **kw: Any) -> tuple[list[Any], Any]:
    import asyncio

    if not use_async:
        stream = ss.Client(provider).responses.stream(response_model=RESPONSE, **kw)
        return list(stream.events()), stream

    async def go() -> tuple[list[Any], Any]:
        stream = ss.AsyncClient(provider).responses.stream(response_model=RESPONSE, **kw)
        return [e async for e in stream.events()], stream

    return asyncio.run(go())


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_shells_stream_the_calls(use_async):
    events, stream = _events(use_async, Scripted(THREE, is_async=use_async))
    assert [(e.index, e.item) for e in events if isinstance(e, ItemEvent)] == [
        (1, THREE_FINAL[1]),
        (2, THREE_FINAL[2]),
        (0, THREE_FINAL[0]),
    ]
    assert isinstance(events[-1], FinalEvent) and events[-1].value == THREE_FINAL
    assert stream.partial == THREE_FINAL and stream.completed_items == THREE_FINAL
    assert stream.field_state("/1/weight") == "done"


def test_create_iterable_yields_calls_in_completion_order():
    client = ss.Client(Scripted(THREE))
    items = client.chat.completions.create_iterable(response_model=Union[Idea, Vote])
    assert list(items) == [THREE_FINAL[1], THREE_FINAL[2], THREE_FINAL[0]]
    stream = ss.Client(Scripted(THREE)).responses.stream(response_model=RESPONSE)
    assert list(stream.iter_items()) == [THREE_FINAL[1], THREE_FINAL[2], THREE_FINAL[0]]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_shells_stop_reading_at_the_budget_and_on_a_failure(use_async):
    provider = Scripted(THREE, is_async=use_async)
    events, _ = _events(use_async, provider, max_items=2)
    assert events[-1].value == [THREE_FINAL[1], THREE_FINAL[2]]
    assert provider.streams[0].closed and provider.streams[0].read == ends(THREE)[1] + 1
    bad = [
        Delta(call=0, tool="Vote", text='{"option": "yes", "weight": 1'),
        Delta(call=0, text="1}"),
    ]
    provider = Scripted(bad + THREE, is_async=use_async)
    with pytest.raises(ss.StreamValidationError) as info:
        _events(use_async, provider)
    assert info.value.path == (0, "weight") and info.value.constraint == "less_than_equal"
    assert provider.streams[0].closed and provider.streams[0].read == 2


def test_a_retry_after_an_unknown_tool_starts_the_list_afresh():
    unknown = [Delta(call=0, tool="Idea", text=IDEA_1), Delta(call=1, tool="Poll", text="{}")]
    provider = Scripted(unknown, THREE)
    events, stream = _events(False, provider, max_retries=1)
    restarts = [e for e in events if isinstance(e, RestartEvent)]
    assert len(restarts) == 1 and restarts[0].error.errors()[0]["type"] == "unknown_tool"
    raw, _ = provider.reasks[0]
    assert json.loads(raw) == [
        {"tool": "Idea", "arguments": IDEA_1},
        {"tool": "Poll", "arguments": "{}"},
    ]
    assert stream.get_final_response() == THREE_FINAL
    assert [e.index for e in events if isinstance(e, ItemEvent)] == [0, 1, 2, 0]


def test_the_driver_refuses_a_model_that_cannot_be_parallel():
    request = Request("scripted", {}, Mode.PARALLEL_TOOLS)
    with pytest.raises(ss.ConfigurationError, match="Mode.PARALLEL_TOOLS needs"):
        StreamDriver(Scripted(), ResponseSpec.from_type(Idea), request)


def test_text_after_a_calls_object_is_whitespace_or_an_error():
    run = Run(session()).feed([Delta(call=0, tool="Vote", text='{"option": "no", "weight": 1}')])
    run.feed([Delta(call=0, text=" \n"), Delta(call=1, tool="Vote", text='{"option": "no"')])
    assert [e.index for e in run.items] == [0]  # once, whatever follows
    with pytest.raises(ss.JsonStreamError, match=r"call 0 \(Vote\): ") as info:
        run.feed([Delta(call=0, text="x")])
    assert info.value.offset == 31  # in the call's own text


def test_debounce_holds_partials_but_not_completed_calls():
    deltas = calls_deltas([(0, "Idea", IDEA_1), (1, "Vote", VOTE)], [0, 1])
    s = session(debounce=1.0)
    state: Any = None
    emitted = []
    for n, delta in enumerate(deltas):
        for event in s.feed_delta(delta, now=0.05 * n):  # all within the first second
            if isinstance(event, PartialEvent):
                state = apply_patch(state, event.ops)
                emitted.append(n)
                assert _strip_states(state) == _shown(event.partial)
    assert emitted == [0, *ends(deltas)]  # the first, then only when a call completed
    state = apply_patch(state, s.finish("tool_calls").ops)
    assert state == [json.loads(IDEA_1), json.loads(VOTE)]


def test_a_call_with_no_arguments_is_incomplete():
    s = session()
    s.feed_delta(Delta(call=0, tool="Idea", text=IDEA_1))
    s.feed_delta(Delta(call=1, tool="Vote"))
    with pytest.raises(ss.IncompleteOutputError, match=r"call 1 \(Vote\): .*empty document"):
        s.finish("tool_calls")


@pytest.mark.parametrize("rfc6902", [False, True], ids=["append", "rfc6902"])
def test_the_web_encoder_carries_the_list_state(rfc6902):
    from schemastream.web.encoder import WireEncoder

    s, encoder = session(), WireEncoder(rfc6902=rfc6902)
    client: Any = None
    items = []
    for delta in [*THREE, None]:
        events = s.feed_delta(delta) if delta is not None else [s.finish("tool_calls")]
        for message in encoder.encode(events):
            if message.event in ("patch", "final"):
                client = apply_patch(client, message.data["ops"])
            elif message.event == "item":  # the item is in the client's state, whole
                index, pointer = message.data["index"], message.data["pointer"]
                assert pointer == f"/{index}" and client[index] is not None
                items.append((index, client[index]))
    assert client == TypeAdapter(RESPONSE).dump_python(THREE_FINAL, mode="json")
    assert items == [(i, client[i]) for i in (1, 2, 0)]
