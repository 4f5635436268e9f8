"""Anthropic: everything beside the object -- extended thinking, prose, several tool calls,
usage -- through the real ``anthropic`` SDK over HTTP against the replay server, sync and async.

Anthropic's content blocks never interleave (each block is its start, its deltas, its stop),
so "three calls" here are three ``tool_use`` blocks one after the other; with interleaved
thinking a ``thinking`` block may sit between them.
"""

from __future__ import annotations

import json
from typing import Any, Union

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.errors import StreamValidationError
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from schemastream.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider
from schemastream.providers.base import Delta, Mode, Usage
from schemastream.schema import ResponseSpec
from tests.replay import anthropic_server as A
from tests.replay.base import ReplayServer, Script, Tokens


class Idea(BaseModel):
    """A product idea."""

    title: str = Field(max_length=40)
    score: int = 0


class Task(BaseModel):
    """A task to do."""

    task: str
    due: str


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ideas?"}]
THINKING = {"type": "enabled", "budget_tokens": 2048}
IDEA = {"title": "Solar kettle", "score": 7}
TASK = {"task": "water the plants", "due": "monday"}
IDEA_2 = {"title": "Wind spoon", "score": 3}
CALLS = [("Idea", IDEA, "toolu_a"), ("Task", TASK, "toolu_b"), ("Idea", IDEA_2, "toolu_c")]
FINAL = [Idea(**IDEA), Task(**TASK), Idea(**IDEA_2)]
PROSE = 'I\'ll record that idea: {"title": "not this one"} }'


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def split(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def tool_block(name: str, doc: Any, tool_id: str, n: int = 5) -> A.Block:
    return A.tool_use_block(split(dumps(doc), n), name, tool_id)


def client(server: ReplayServer, use_async: bool) -> Any:
    return ss.from_anthropic(A.make_client(server, use_async=use_async))


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


async def events_of(stream: Any, use_async: bool) -> list[Any]:
    if use_async:
        async with stream:
            return [e async for e in stream.events()]
    with stream:
        return list(stream.events())


async def final_of(stream: Any, use_async: bool) -> Any:
    if use_async:
        return await stream.get_final_response()
    return stream.get_final_response()


def kinds(events: list[Any]) -> list[str]:
    """Event class names, runs of partials shown once."""
    out: list[str] = []
    for e in events:
        name = type(e).__name__
        if not out or out[-1] != name or name != "PartialEvent":
            out.append(name)
    return out


# -- extended thinking -----------------------------------------------------------------------


async def test_thinking_streams_before_the_object_and_the_request_passes_it_through(
    server: ReplayServer, use_async: bool
) -> None:
    blocks = [
        A.thinking_block(["The user wants ", "one idea."]),
        A.redacted_thinking_block(),  # encrypted: adds nothing
        A.thinking_block(["A kettle {that", " runs on sun}."]),
        A.text_block(["Here it is."]),
        tool_block("Idea", IDEA, "toolu_01"),
    ]
    server.add(A.message_script(blocks))
    stream = client(server, use_async).responses.stream(
        model="claude-x", messages=MESSAGES, response_model=Idea, thinking=THINKING
    )
    events = await events_of(stream, use_async)

    assert kinds(events) == [
        "ReasoningEvent",
        "ReasoningEvent",
        "ReasoningEvent",
        "ReasoningEvent",
        "TextEvent",
        "PartialEvent",
        "FinalEvent",
    ]
    assert [e.text for e in events if isinstance(e, ss.ReasoningEvent)] == [
        "The user wants ",
        "one idea.",
        "\n\nA kettle {that",  # a later thinking block starts with a blank line
        " runs on sun}.",
    ]
    assert stream.reasoning_text == "The user wants one idea.\n\nA kettle {that runs on sun}."
    assert [e.text for e in events if isinstance(e, ss.TextEvent)] == ["Here it is."]
    assert await final_of(stream, use_async) == Idea(**IDEA)
    assert stream.raw_text == dumps(IDEA)  # neither reasoning nor prose reached the parser

    body = server.exchanges[0].json
    assert body["thinking"] == THINKING  # passed through unchanged
    # a forced tool choice is refused with thinking: auto, and the system asks for the call
    assert body["tool_choice"] == {"type": "auto"}
    assert body["system"] == (
        "Be brief.\n\nAnswer by calling the tool Idea exactly once, with the complete answer "
        "as its input."
    )
    assert body["max_tokens"] == THINKING["budget_tokens"] + DEFAULT_MAX_TOKENS
    assert [t["name"] for t in body["tools"]] == ["Idea"]


async def test_without_thinking_the_tool_is_forced_and_max_tokens_is_the_users(
    server: ReplayServer, use_async: bool
) -> None:
    server.add(A.message_script([tool_block("Idea", IDEA, "toolu_01")]))
    server.add(A.message_script([A.thinking_block(["x"]), tool_block("Idea", IDEA, "toolu_01")]))
    c = client(server, use_async)
    for kw in ({}, {"thinking": THINKING, "max_tokens": 3000}):
        stream = c.responses.stream(model="m", messages=MESSAGES, response_model=Idea, **kw)
        await events_of(stream, use_async)
        assert await final_of(stream, use_async) == Idea(**IDEA)
    plain, thinking = (ex.json for ex in server.exchanges)
    assert plain["tool_choice"] == {"type": "tool", "name": "Idea"}
    assert plain["system"] == "Be brief." and "thinking" not in plain
    assert plain["max_tokens"] == DEFAULT_MAX_TOKENS
    assert thinking["max_tokens"] == 3000 and thinking["thinking"] == THINKING


def test_disabled_thinking_keeps_the_forced_tool(idea_spec: ResponseSpec) -> None:
    import anthropic

    provider = AnthropicProvider(anthropic.Anthropic(api_key="x"))
    call = {"model": "m", "messages": MESSAGES, "thinking": {"type": "disabled"}}
    request = provider.build_request(idea_spec, Mode.TOOLS, call)
    assert request.kwargs["tool_choice"] == {"type": "tool", "name": idea_spec.name}
    assert request.kwargs["thinking"] == {"type": "disabled"}
    adaptive = {**call, "thinking": {"type": "adaptive"}}
    assert provider.build_request(idea_spec, Mode.TOOLS, adaptive).kwargs["tool_choice"] == {
        "type": "auto"
    }


async def test_text_instead_of_the_tool_call_is_tool_not_called_and_a_retry_fixes_it(
    server: ReplayServer, use_async: bool
) -> None:
    text_only = [A.thinking_block(["Hmm."]), A.text_block(["A solar kettle, score 7."])]
    server.add(A.message_script(text_only))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING
    )
    with pytest.raises(StreamValidationError) as info:
        await events_of(stream, use_async)
    assert info.value.constraint == "tool_not_called" and info.value.path == ()
    assert "extended thinking" in str(info.value)
    assert stream.prose_text == "A solar kettle, score 7."  # the model's answer is not lost
    assert stream.usage is not None and not stream.usage.partial  # the response was complete

    server.add(A.message_script(text_only), A.message_script([tool_block("Idea", IDEA, "t")]))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING, max_retries=1
    )
    events = await events_of(stream, use_async)
    assert await final_of(stream, use_async) == Idea(**IDEA)
    (restart,) = [e for e in events if isinstance(e, RestartEvent)]
    assert isinstance(restart.error, StreamValidationError)
    reask = server.exchanges[-1].json["messages"][-1]
    assert reask["role"] == "user" and "tool_not_called" in reask["content"]


async def test_a_cut_thinking_stream_is_incomplete_not_tool_not_called(
    server: ReplayServer, use_async: bool
) -> None:
    server.add(A.message_script([A.thinking_block(["Long thought"])], stop_reason="max_tokens"))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING
    )
    with pytest.raises(ss.IncompleteOutputError):
        await events_of(stream, use_async)
    assert stream.reasoning_text == "Long thought"


async def test_json_mode_with_thinking(server: ReplayServer, use_async: bool) -> None:
    blocks = [A.thinking_block(["Think."]), A.text_block(split(dumps(IDEA), 6))]
    blocks.append(A.text_block(["Anything else?"]))  # a later text block is prose
    server.add(A.message_script(blocks))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING, mode="json"
    )
    await events_of(stream, use_async)
    assert await final_of(stream, use_async) == Idea(**IDEA)
    assert stream.reasoning_text == "Think."
    assert stream.prose_text == "Anything else?"
    body = server.exchanges[0].json
    assert body["thinking"] == THINKING and "tools" not in body and "tool_choice" not in body


# -- prose beside the tool call --------------------------------------------------------------


async def test_prose_before_the_tool_use_is_a_text_event_never_the_object(
    server: ReplayServer, use_async: bool
) -> None:
    blocks = [A.text_block(split(PROSE, 7)), tool_block("Idea", IDEA, "toolu_01", 4)]
    blocks.append(A.text_block(["Done."]))
    server.add(A.message_script(blocks))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea
    )
    events = await events_of(stream, use_async)
    texts = [e.text for e in events if isinstance(e, ss.TextEvent)]
    assert texts == [*split(PROSE, 7), "\n\nDone."]
    assert stream.prose_text == PROSE + "\n\nDone."
    n = len(split(PROSE, 7))
    assert kinds(events) == ["TextEvent"] * n + ["PartialEvent", "TextEvent", "FinalEvent"]
    assert await final_of(stream, use_async) == Idea(**IDEA)
    assert stream.raw_text == dumps(IDEA)
    titles = [getattr(e.partial, "title", None) for e in events if isinstance(e, PartialEvent)]
    assert titles and all(IDEA["title"].startswith(t or "") for t in titles)


# -- Mode.PARALLEL_TOOLS ---------------------------------------------------------------------


def three_calls(*, thinking: bool = False) -> list[A.Block]:
    blocks: list[A.Block] = [A.text_block(["Recording three."])]
    for n, (name, doc, tool_id) in enumerate(CALLS):
        if thinking:  # interleaved thinking: a thinking block before each call
            blocks.append(A.thinking_block([f"Call {n} next."]))
        blocks.append(tool_block(name, doc, tool_id))
    return blocks


async def test_three_tool_use_blocks_of_two_types(server: ReplayServer, use_async: bool) -> None:
    server.add(A.message_script(three_calls()))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=list[Union[Idea, Task]], mode="parallel_tools"
    )
    events = await events_of(stream, use_async)
    assert await final_of(stream, use_async) == FINAL
    assert stream.prose_text == "Recording three."
    # every call was seen in progress: a partial shows its object begun but not complete
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    for i, (_, doc, _) in enumerate(CALLS):
        first = next(iter(doc))
        growing = [
            p
            for p in partials
            if len(p) == i + 1 and p[i] is not None and getattr(p[i], first, None)
        ]
        assert any(getattr(p[i], first) != doc[first] for p in growing), i
    items = [(e.index, e.item) for e in events if isinstance(e, ItemEvent)]
    assert items == list(enumerate(FINAL))  # blocks do not interleave: completion = call order
    assert isinstance(events[-1], FinalEvent) and events[-1].value == FINAL

    body = server.exchanges[0].json
    assert [t["name"] for t in body["tools"]] == ["Idea", "Task"]
    assert body["tools"][1]["input_schema"] == Task.model_json_schema()
    assert body["tools"][0]["description"] == "A product idea."
    assert body["tool_choice"] == {"type": "any"}  # parallel use allowed: no disable flag
    assert "Idea, Task" in body["system"]


async def test_create_iterable_and_iter_items_yield_each_call_once(
    server: ReplayServer, use_async: bool
) -> None:
    server.add(A.message_script(three_calls()), A.message_script(three_calls()))
    c = client(server, use_async)
    it = c.chat.completions.create_iterable(
        model="m", messages=MESSAGES, response_model=Union[Idea, Task], mode="parallel_tools"
    )
    got = [i async for i in it] if use_async else list(it)
    assert got == FINAL
    stream = c.responses.stream(
        model="m", messages=MESSAGES, response_model=list[Union[Idea, Task]], mode="parallel_tools"
    )
    if use_async:
        async with stream:
            items = [i async for i in stream.iter_items()]
    else:
        with stream:
            items = list(stream.iter_items())
    assert items == FINAL
    assert [ex.json["tool_choice"] for ex in server.exchanges] == [{"type": "any"}] * 2


async def test_parallel_with_interleaved_thinking(server: ReplayServer, use_async: bool) -> None:
    server.add(A.message_script(three_calls(thinking=True), usage=Tokens(50, 60, reasoning=20)))
    stream = client(server, use_async).responses.stream(
        model="m",
        messages=MESSAGES,
        response_model=list[Union[Idea, Task]],
        mode="parallel_tools",
        thinking=THINKING,
    )
    events = await events_of(stream, use_async)
    assert await final_of(stream, use_async) == FINAL
    assert stream.reasoning_text == "Call 0 next.\n\nCall 1 next.\n\nCall 2 next."
    # each call's thinking comes before it completes, after the call before it
    order = [
        e.text.strip() if isinstance(e, ss.ReasoningEvent) else e.index
        for e in events
        if isinstance(e, (ss.ReasoningEvent, ItemEvent))
    ]
    assert order == ["Call 0 next.", 0, "Call 1 next.", 1, "Call 2 next.", 2]
    body = server.exchanges[0].json
    assert body["tool_choice"] == {"type": "auto"} and body["thinking"] == THINKING
    assert stream.usage == Usage(50, 60, cached_input_tokens=0, reasoning_tokens=20)


async def test_fail_fast_inside_the_second_call(server: ReplayServer, use_async: bool) -> None:
    bad = {"title": "x" * 200, "score": 1}
    blocks = [
        tool_block("Idea", IDEA, "a"),
        tool_block("Idea", bad, "b"),
        tool_block("Task", TASK, "c"),
    ]
    chunks = A.message_chunks(blocks)
    script = Script(chunks=chunks)
    script.gate(len(A.message_chunks(blocks[:2], end=False)))  # never opened: only a hang-up
    server.add(script)
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=list[Union[Idea, Task]], mode="parallel_tools"
    )
    with pytest.raises(StreamValidationError) as info:
        await events_of(stream, use_async)
    assert info.value.path == (1, "title") and info.value.constraint == "string_too_long"
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed and ex.chunks_sent < ex.total_chunks
    assert len(server.exchanges) == 1


async def test_max_items_counts_calls(server: ReplayServer, use_async: bool) -> None:
    blocks = [tool_block(name, doc, tool_id) for name, doc, tool_id in CALLS]
    script = A.message_script(blocks)
    script.gate(len(A.message_chunks(blocks[:2], end=False)) + 2)  # in the third call
    server.add(script)
    stream = client(server, use_async).responses.stream(
        model="m",
        messages=MESSAGES,
        response_model=list[Union[Idea, Task]],
        mode="parallel_tools",
        max_items=2,
    )
    events = await events_of(stream, use_async)
    assert await final_of(stream, use_async) == FINAL[:2]
    assert [e.index for e in events if isinstance(e, ItemEvent)] == [0, 1]
    ex = server.last
    assert ex.done.wait(5) and ex.disconnected and not ex.completed
    assert stream.usage is not None and stream.usage.partial


async def test_a_bad_call_is_reasked_with_the_calls(server: ReplayServer, use_async: bool) -> None:
    bad = [tool_block("Idea", IDEA, "a"), tool_block("Task", {"task": "x"}, "b")]
    server.add(A.message_script(bad), A.message_script(three_calls()))
    stream = client(server, use_async).responses.stream(
        model="m",
        messages=MESSAGES,
        response_model=list[Union[Idea, Task]],
        mode="parallel_tools",
        max_retries=1,
    )
    await events_of(stream, use_async)
    assert await final_of(stream, use_async) == FINAL and stream.restarts == 1
    messages = server.exchanges[1].json["messages"]
    assert json.loads(messages[-2]["content"]) == [
        {"tool": "Idea", "arguments": dumps(IDEA)},
        {"tool": "Task", "arguments": dumps({"task": "x"})},
    ]
    assert messages[-1]["role"] == "user" and "tool calls" in messages[-1]["content"]
    assert server.exchanges[1].json["tools"] == server.exchanges[0].json["tools"]


async def test_parallel_text_only_is_tool_not_called(server: ReplayServer, use_async: bool) -> None:
    server.add(A.message_script([A.text_block(["No tools today."])]))
    stream = client(server, use_async).responses.stream(
        model="m",
        messages=MESSAGES,
        response_model=list[Union[Idea, Task]],
        mode="parallel_tools",
        thinking=THINKING,
    )
    with pytest.raises(StreamValidationError) as info:
        await events_of(stream, use_async)
    assert info.value.constraint == "tool_not_called"
    assert stream.prose_text == "No tools today."


# -- usage -----------------------------------------------------------------------------------

TOKENS = Tokens(30, 90, cached=2000, cache_write=120, reasoning=40)
# input: every prompt token (Anthropic's input_tokens + cache reads + cache writes)
USAGE = Usage(30 + 2000 + 120, 90, cached_input_tokens=2000, reasoning_tokens=40)


async def test_usage_exact(server: ReplayServer, use_async: bool) -> None:
    blocks = [A.thinking_block(["Hm."]), tool_block("Idea", IDEA, "t")]
    server.add(A.message_script(blocks, usage=TOKENS))
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING
    )
    await events_of(stream, use_async)
    assert stream.usage == USAGE and not stream.usage.partial


async def test_usage_after_a_cancel_is_kept_and_partial(
    server: ReplayServer, use_async: bool
) -> None:
    blocks = [A.thinking_block(["Hm."]), tool_block("Idea", IDEA, "t", 3)]
    script = A.message_script(blocks, usage=TOKENS)
    script.gate(len(A.message_chunks(blocks, end=False)) - 2)  # never opened
    server.add(script)
    stream = client(server, use_async).responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, thinking=THINKING
    )
    if use_async:
        async for event in stream.events():
            if isinstance(event, PartialEvent):
                break
        await stream.aclose()
    else:
        for event in stream.events():
            if isinstance(event, PartialEvent):
                break
        stream.close()
    ex = server.last
    assert ex.done.wait(5) and ex.disconnected and not ex.completed
    # message_start's counts (output_tokens 1 there), kept and marked partial
    assert stream.usage == Usage(2150, 1, cached_input_tokens=2000)
    assert stream.usage.partial


# -- the decoder, delta by delta -------------------------------------------------------------


def test_deltas_of_a_thinking_parallel_message(server: ReplayServer) -> None:
    spec = ResponseSpec.from_type(list[Union[Idea, Task]])
    blocks = [
        A.thinking_block(["a", "b"]),
        A.redacted_thinking_block(),
        A.text_block(["Hi"]),
        A.tool_use_block(['{"task":"t",', '"due":"d"}'], "Task", "toolu_x"),
    ]
    server.add(A.message_script(blocks, usage=TOKENS))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(
        spec, Mode.PARALLEL_TOOLS, {"model": "m", "messages": MESSAGES}
    )
    deltas = list(provider.open_stream(request))
    early = Usage(2150, 1, cached_input_tokens=2000)
    assert deltas == [
        Delta(usage=early),  # at message_start, before any content
        Delta(reasoning="a"),
        Delta(reasoning="b"),  # signature_delta and the redacted block add nothing
        Delta(prose="Hi"),
        Delta(call=3, tool="Task"),  # the call's key is its block index
        Delta(text='{"task":"t",', call=3),
        Delta(text='"due":"d"}', call=3),
        Delta(usage=USAGE),
        Delta(finish_reason="stop", usage=USAGE),
    ]


def test_capabilities_are_declared_per_mode() -> None:
    caps = AnthropicProvider.capabilities
    assert Mode.PARALLEL_TOOLS in AnthropicProvider.supported_modes
    parallel = caps.mode(Mode.PARALLEL_TOOLS)
    assert parallel.parallel and parallel.reasoning and parallel.prose and parallel.usage
    tools = caps.mode(Mode.TOOLS)
    assert tools.reasoning and tools.prose and not tools.parallel and tools.incremental
    for mode in (Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON):
        assert caps.mode(mode).reasoning and not caps.mode(mode).parallel
    assert caps.mode(Mode.JSON_SCHEMA).constrained and caps.mode(Mode.JSON).lenient
