"""OpenAI: everything the model streams beside the object, through the real ``openai`` SDK over
HTTP against the replay server (tests/replay/openai_server.py), sync and async.

Reasoning (Responses summaries and reasoning text; ``reasoning_content`` / ``reasoning`` of
OpenAI-compatible chat servers, on the fast path and the SDK-object path ``fast=False``),
prose (text around fenced or bare JSON, text beside tool calls), ``Mode.PARALLEL_TOOLS`` on
Chat Completions (``messages=``) and on the Responses API (``input=``), and usage (cached and
reasoning tokens; kept, marked partial, when the stream is closed mid-way).
"""

from __future__ import annotations

import json
from typing import Any, Union

import pytest
from pydantic import BaseModel, Field

import openai
import schemastream as ss
from schemastream import Mode
from schemastream.errors import StreamValidationError
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from schemastream.schema.tools import parallel_tools
from tests.replay import openai_server as O
from tests.replay.base import ReplayServer, Script, Tokens, sse_frame


class Idea(BaseModel):
    """A product idea."""

    title: str = Field(max_length=40)
    score: int = 0


class Task(BaseModel):
    """Something to do."""

    name: str
    done: bool = False


RESPONSE = list[Union[Idea, Task]]
MESSAGES = [{"role": "user", "content": "Ideas and tasks?"}]
IDEA = {"title": "Solar kettle for camping trips", "score": 7}
TASK = {"name": "Buy", "done": True}
IDEA_2 = {"title": "Wind spoon", "score": 3}
# completion order when the three calls' pieces round-robin: the shortest first
CALLS = [("Idea", IDEA, "call_a"), ("Task", TASK, "call_b"), ("Idea", IDEA_2, "call_c")]
FINAL = [Idea(**IDEA), Task(**TASK), Idea(**IDEA_2)]
COMPLETION_ORDER = [(1, FINAL[1]), (2, FINAL[2]), (0, FINAL[0])]
THOUGHT = "The user wants ideas. A kettle {with braces} fits; keep it short."


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


def client(server: ReplayServer, use_async: bool, mode: Mode | None = None, **kw: Any) -> Any:
    cls = openai.AsyncOpenAI if use_async else openai.OpenAI
    sdk = cls(base_url=server.url + "/v1", api_key="test", max_retries=0)
    return ss.from_openai(sdk, mode=mode, **kw)


async def events_of(stream: Any, use_async: bool) -> list[Any]:
    if use_async:
        async with stream:
            return [e async for e in stream.events()]
    with stream:
        return list(stream.events())


def kinds(events: list[Any]) -> str:
    """One letter per event: R reasoning, T text, P partial, I item, F final."""
    letters = {"ReasoningEvent": "R", "TextEvent": "T", "PartialEvent": "P", "ItemEvent": "I"}
    return "".join(letters.get(type(e).__name__, "F") for e in events)


# -- reasoning -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "sdk"])
async def test_chat_reasoning_interleaved_with_the_call(
    server: ReplayServer, use_async: bool, key: str, fast: bool
) -> None:
    deltas = O.interleave(
        O.chat_reasoning_deltas(THOUGHT, 9, key=key),
        O.chat_tool_call_deltas([("Idea", IDEA)], 5),
    )
    server.add(O.chat_script(deltas))
    c = client(server, use_async, Mode.TOOLS, fast=fast)
    stream = c.chat.completions.create_with_stream(
        model="m", messages=MESSAGES, response_model=Idea, reasoning_effort="high"
    )
    events = await events_of(stream, use_async)
    reasoning = [e.text for e in events if isinstance(e, ss.ReasoningEvent)]
    assert "".join(reasoning) == THOUGHT and stream.reasoning_text == THOUGHT
    order = kinds(events)
    assert order.startswith("R") and "PR" in order and order.endswith("F")  # interleaved
    assert events[-1].value == Idea(**IDEA)
    body = server.last.json
    assert body["reasoning_effort"] == "high"  # passed through as written
    assert stream.prose_text == ""


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "sdk"])
async def test_responses_reasoning_summary_parts_join_with_a_blank_line(
    server: ReplayServer, use_async: bool, fast: bool
) -> None:
    items = [
        O.reasoning_item(["First I look {at it}.", "Then I answer."], text="raw thought"),
        O.message_item(IDEA),
    ]
    server.add(O.responses_script(items, 5))
    c = client(server, use_async, Mode.RESPONSES_JSON_SCHEMA, fast=fast)
    reasoning_arg = {"effort": "low", "summary": "auto"}
    stream = c.responses.stream(
        model="m", input="Idea?", response_model=Idea, reasoning=reasoning_arg
    )
    events = await events_of(stream, use_async)
    expected = "First I look {at it}.\n\nThen I answer.\n\nraw thought"
    assert stream.reasoning_text == expected
    pieces = [e.text for e in events if isinstance(e, ss.ReasoningEvent)]
    assert "".join(pieces) == expected and pieces[0] == "First"
    assert kinds(events).index("P") > kinds(events).rindex("R")  # the item order
    assert events[-1].value == Idea(**IDEA)
    assert server.last.json["reasoning"] == reasoning_arg


# -- prose -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "sdk"])
async def test_prose_around_fenced_json(server: ReplayServer, use_async: bool, fast: bool) -> None:
    prose = 'I kept the {"title"} short:'
    answer = O.md_json(IDEA, prose=prose, after="\nAnything {else}?")
    server.add(O.chat_script(O.chat_content_deltas(answer, 3)))
    c = client(server, use_async, Mode.MD_JSON, fast=fast)
    stream = c.chat.completions.create_with_stream(
        model="m", messages=MESSAGES, response_model=Idea
    )
    events = await events_of(stream, use_async)
    text = "".join(e.text for e in events if isinstance(e, ss.TextEvent))
    assert text == prose + "\n\n" + "\nAnything {else}?" == stream.prose_text
    assert events[-1].value == Idea(**IDEA)
    assert stream.raw_text == json.dumps(IDEA, separators=(",", ":")) + "\n"  # JSON only


async def test_prose_around_bare_json(server: ReplayServer, use_async: bool) -> None:
    doc = json.dumps(IDEA)
    answer = f'Sure, here it is {{"as": "asked"}}:\n{doc}\nDone.'
    server.add(O.chat_script(O.chat_content_deltas(answer, 4)))
    c = client(server, use_async, Mode.JSON)
    stream = c.chat.completions.create_with_stream(
        model="m", messages=MESSAGES, response_model=Idea
    )
    events = await events_of(stream, use_async)
    assert stream.prose_text == 'Sure, here it is {"as": "asked"}:\n\nDone.'
    assert events[-1].value == Idea(**IDEA) and stream.raw_text == doc


async def test_chat_content_beside_the_tool_call_is_prose(
    server: ReplayServer, use_async: bool
) -> None:
    said = "I'll record {it} now."
    deltas = [*O.chat_content_deltas(said, 4), *O.chat_tool_call_deltas([("Idea", IDEA)], 5)]
    server.add(O.chat_script(deltas))
    c = client(server, use_async, Mode.TOOLS)
    stream = c.chat.completions.create_with_stream(
        model="m", messages=MESSAGES, response_model=Idea
    )
    events = await events_of(stream, use_async)
    assert [e.text for e in events if isinstance(e, ss.TextEvent)] == [
        "I'll",
        " rec",
        "ord ",
        "{it}",
        " now",
        ".",
    ]
    assert kinds(events).startswith("TTTTTTP") and events[-1].value == Idea(**IDEA)


async def test_responses_message_beside_the_function_call_is_prose(
    server: ReplayServer, use_async: bool
) -> None:
    said = "Recording {this} idea."
    items = [O.message_item(said), O.function_call_item(IDEA, "Idea")]
    server.add(O.responses_script(items, 6))
    c = client(server, use_async, Mode.RESPONSES_TOOLS)
    stream = c.responses.stream(model="m", input="Idea?", response_model=Idea)
    events = await events_of(stream, use_async)
    assert stream.prose_text == said
    assert events[-1].value == Idea(**IDEA)


# -- Mode.PARALLEL_TOOLS -------------------------------------------------------------------


def _parallel_script(endpoint: str, n: int = 5, *, gate_end: bool = False, **kw: Any) -> Script:
    """The three calls, interleaved; ``gate_end``: a gate before the last three chunks that
    only the client's hang-up ends."""
    if endpoint == "chat":
        script = O.chat_script(O.chat_tool_call_deltas(CALLS, n), **kw)
        total = len(O.chat_frames(O.chat_tool_call_deltas(CALLS, n)))
    else:
        items = [
            O.function_call_item(doc, name, call_id=cid, item_id=f"fc_{cid}")
            for name, doc, cid in CALLS
        ]
        script = O.responses_script(items, n, interleaved=True, **kw)
        total = len(script.chunks)
    if gate_end:
        script.gate(total - 3)
    return script


def _parallel_stream(c: Any, endpoint: str, **kw: Any) -> Any:
    where = {"messages": MESSAGES} if endpoint == "chat" else {"input": "Ideas and tasks?"}
    return c.responses.stream(model="m", response_model=RESPONSE, **where, **kw)


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "sdk"])
async def test_three_interleaved_calls_of_two_types(
    server: ReplayServer, use_async: bool, endpoint: str, fast: bool
) -> None:
    server.add(_parallel_script(endpoint))
    c = client(server, use_async, Mode.PARALLEL_TOOLS, fast=fast)
    stream = _parallel_stream(c, endpoint)
    events = await events_of(stream, use_async)
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    first_item = next(i for i, e in enumerate(events) if isinstance(e, ItemEvent))
    before = [e.partial for e in events[:first_item] if isinstance(e, PartialEvent)]
    assert any(len(p) == 3 and all(x is not None for x in p) for p in before)  # all in progress
    assert [(e.index, e.item) for e in events if isinstance(e, ItemEvent)] == COMPLETION_ORDER
    assert isinstance(events[-1], FinalEvent) and events[-1].value == FINAL
    assert partials[-1] == FINAL
    body = server.last.json
    tools = parallel_tools(RESPONSE)
    assert body["parallel_tool_calls"] is True and body["tool_choice"] == "required"
    if endpoint == "chat":
        assert server.last.path == "/v1/chat/completions" and body["messages"] == MESSAGES
        functions = [t["function"] for t in body["tools"]]
    else:
        assert server.last.path == "/v1/responses" and body["input"] == "Ideas and tasks?"
        functions = body["tools"]
    assert [t["type"] for t in body["tools"]] == ["function", "function"]
    assert [(f["name"], f["description"], f["parameters"], f["strict"]) for f in functions] == [
        (t.name, t.description, t.strict_json_schema, True) for t in tools
    ]


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
async def test_create_iterable_yields_each_call_once_in_completion_order(
    server: ReplayServer, use_async: bool, endpoint: str
) -> None:
    server.add(_parallel_script(endpoint))
    c = client(server, use_async, Mode.PARALLEL_TOOLS)
    where = {"messages": MESSAGES} if endpoint == "chat" else {"input": "Ideas and tasks?"}
    it = c.chat.completions.create_iterable(model="m", response_model=Union[Idea, Task], **where)
    items = [i async for i in it] if use_async else list(it)
    assert items == [item for _, item in COMPLETION_ORDER]


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
async def test_fail_fast_inside_the_second_call(
    server: ReplayServer, use_async: bool, endpoint: str
) -> None:
    bad = [("Idea", IDEA_2, "call_a"), ("Idea", {"title": "x" * 80}, "call_b")]
    if endpoint == "chat":
        script = O.chat_script(O.chat_tool_call_deltas(bad, 4, interleaved=False))
        total = len(O.chat_frames(O.chat_tool_call_deltas(bad, 4, interleaved=False)))
    else:
        items = [O.function_call_item(d, n, call_id=i, item_id=i) for n, d, i in bad]
        script = O.responses_script(items, 4)
        total = len(O.responses_frames(items, 4))
    script.gate(total - 3)  # never opened: only the client's hang-up ends the stream
    server.add(script)
    c = client(server, use_async, Mode.PARALLEL_TOOLS)
    with pytest.raises(StreamValidationError) as info:
        await events_of(_parallel_stream(c, endpoint), use_async)
    assert info.value.path[0] == 1 and info.value.constraint == "string_too_long"
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed and ex.chunks_sent < ex.total_chunks


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
async def test_max_items_stops_after_that_many_calls(
    server: ReplayServer, use_async: bool, endpoint: str
) -> None:
    server.add(_parallel_script(endpoint, gate_end=True))
    c = client(server, use_async, Mode.PARALLEL_TOOLS)
    events = await events_of(_parallel_stream(c, endpoint, max_items=2), use_async)
    assert [(e.index, e.item) for e in events if isinstance(e, ItemEvent)] == COMPLETION_ORDER[:2]
    assert events[-1].value == [FINAL[1], FINAL[2]]
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
async def test_reask_after_a_bad_call(server: ReplayServer, use_async: bool, endpoint: str) -> None:
    bad = [("Task", TASK, "call_a"), ("Idea", {"title": "y" * 80}, "call_b")]
    if endpoint == "chat":
        server.add(O.chat_script(O.chat_tool_call_deltas(bad, 8, interleaved=False)))
    else:
        items = [O.function_call_item(d, n, call_id=i, item_id=i) for n, d, i in bad]
        server.add(O.responses_script(items, 8))
    server.add(_parallel_script(endpoint))
    c = client(server, use_async, Mode.PARALLEL_TOOLS)
    events = await events_of(_parallel_stream(c, endpoint, max_retries=1), use_async)
    assert sum(isinstance(e, RestartEvent) for e in events) == 1
    assert events[-1].value == FINAL
    second = server.exchanges[1].json
    turns = second["messages"] if endpoint == "chat" else second["input"]
    shown = json.loads(turns[-2]["content"])  # the bad calls, shown back to the model
    assert turns[-2]["role"] == "assistant" and turns[-1]["role"] == "user"
    assert shown[0]["tool"] == "Task" and json.loads(shown[0]["arguments"]) == TASK
    assert shown[1]["tool"] == "Idea" and shown[1]["arguments"].startswith('{"title":"yyy')


# -- usage -----------------------------------------------------------------------------------


async def test_chat_usage_with_cached_and_reasoning_tokens(
    server: ReplayServer, use_async: bool
) -> None:
    deltas = O.interleave(O.chat_reasoning_deltas(THOUGHT, 9), O.chat_tool_call_deltas(CALLS, 5))
    server.add(O.chat_script(deltas, usage=Tokens(50, 60, cached=32, reasoning=20)))
    c = client(server, use_async, Mode.PARALLEL_TOOLS)
    stream = _parallel_stream(c, "chat")
    events = await events_of(stream, use_async)
    assert events[-1].value == FINAL and stream.reasoning_text == THOUGHT
    assert stream.usage == ss.Usage(50, 60, 32, 20) and not stream.usage.partial
    assert server.last.json["stream_options"] == {"include_usage": True}


async def test_responses_usage_with_cached_and_reasoning_tokens(
    server: ReplayServer, use_async: bool
) -> None:
    items = [O.reasoning_item(["Thinking."]), O.function_call_item(IDEA, "Idea")]
    server.add(O.responses_script(items, 5, usage=Tokens(100, 80, cached=64, reasoning=48)))
    c = client(server, use_async, Mode.RESPONSES_TOOLS)
    stream = c.responses.stream(model="m", input="Idea?", response_model=Idea)
    events = await events_of(stream, use_async)
    assert events[-1].value == Idea(**IDEA)
    assert stream.usage == ss.Usage(100, 80, 64, 48) and not stream.usage.partial


def _running_usage_frames() -> list[bytes]:
    """A vLLM stream with ``continuous_usage_stats``: every chunk carries the usage so far."""
    deltas = O.chat_tool_call_deltas([("Idea", IDEA)], 4)
    frames = []
    for k, delta in enumerate(deltas, 1):
        chunk = O.chat_chunk(delta)
        chunk["usage"] = O.chat_usage_chunk(40, k, cached_tokens=16)["usage"]
        frames.append(sse_frame(chunk))
    return frames + O.chat_frames([], usage=Tokens(40, len(deltas), cached=16), role_delta=None)


async def test_usage_reported_early_is_kept_when_the_stream_is_closed(
    server: ReplayServer, use_async: bool
) -> None:
    frames = _running_usage_frames()
    script = Script(chunks=frames)
    script.gate(6)  # the reader closes before this chunk
    server.add(script)
    c = client(server, use_async, Mode.TOOLS)
    options = {"include_usage": True, "continuous_usage_stats": True}
    stream = c.chat.completions.create_with_stream(
        model="m", messages=MESSAGES, response_model=Idea, stream_options=options
    )
    # chunk 6 (the last before the gate) reports 6 output tokens and grows the title
    if use_async:
        async for _ in stream:
            if stream.usage.output_tokens == 6:
                break
        await stream.aclose()
    else:
        for _ in stream:
            if stream.usage.output_tokens == 6:
                break
        stream.close()
    assert stream.usage == ss.Usage(40, 6, 16, 0) and stream.usage.partial is True
    assert server.last.json["stream_options"] == options  # the caller's options kept
    assert server.last.done.wait(5) and server.last.disconnected
