"""The replay servers' reasoning, prose, several-call and usage streams, read by the real SDKs.

Each provider's builders (``tests/replay/*_server.py``) are played over HTTP to the installed
``openai``, ``anthropic`` and ``google-genai`` SDKs, and each test asserts that the SDK parsed
the stream into its own typed objects -- the event classes, the accumulated final message, the
usage objects -- with the reasoning text, the tool calls (ids, names, indexes, arguments) and
the token counts scripted. The SDKs' own parsers and accumulators are the reference for "the
exact wire format"."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic.lib.streaming._types import InputJsonEvent, SignatureEvent, ThinkingEvent
from anthropic.types import (
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RedactedThinkingBlock,
    SignatureDelta,
    TextBlock,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
)
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
    ResponseReasoningTextDeltaEvent,
    ResponseReasoningTextDoneEvent,
)

import openai
from tests.replay import anthropic_server as A
from tests.replay import gemini_server as G
from tests.replay import openai_server as O
from tests.replay.base import ReplayServer, Tokens, replay_server

IDEA = {"title": "Solar kettle", "score": 7}
TASK = {"task": "water the plants", "due": "monday"}
THOUGHT = "The user wants ideas. A kettle that runs on sunlight is cheap to explain."
SUMMARIES = ["**Reading the request**\n\nThe user wants one idea.", "**Choosing**\n\nA kettle."]
# three calls of two tools; call 1 is the longest so the interleaving is visible at its end
CALLS = [
    ("Idea", IDEA, "call_a"),
    ("Task", TASK, "call_b"),
    ("Idea", {"title": "Wind spoon", "score": 3}, "call_c"),
]
TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("Idea", "Task")
]


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with replay_server() as s:
        yield s


@pytest.fixture
def oai(server: ReplayServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    yield client
    client.close()


def _chat(client: openai.OpenAI, **kw: Any) -> list[ChatCompletionChunk]:
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True, **kw
    )
    return list(stream)


# -- OpenAI chat completions ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
def test_chat_reasoning_then_prose_and_fenced_json(
    server: ReplayServer, oai: openai.OpenAI, key: str
) -> None:
    answer = O.md_json(IDEA, prose="Here is one idea:")
    deltas = O.chat_reasoning_deltas(THOUGHT, 7, key=key) + O.chat_content_deltas(answer, 5)
    server.add(O.chat_script(deltas, usage=Tokens(40, 30, cached=32, reasoning=18)))
    chunks = _chat(oai, stream_options={"include_usage": True})

    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    with_choice = [c for c in chunks if c.choices]
    assert with_choice[0].choices[0].delta.role == "assistant"
    extras = [c.choices[0].delta.model_extra or {} for c in with_choice]
    # not in the SDK's types: the reasoning sits in model_extra under the server's own key
    assert "".join(e.get(key) or "" for e in extras) == THOUGHT
    assert all(set(e) <= {key} for e in extras)
    texts = [c.choices[0].delta.content or "" for c in with_choice]
    assert "".join(texts) == answer
    first_content = next(i for i, t in enumerate(texts) if t)
    assert all(not e for e in extras[first_content:])  # reasoning came before the answer
    assert with_choice[-1].choices[0].finish_reason == "stop"

    last = chunks[-1]
    assert last.choices == []
    assert isinstance(last.usage, CompletionUsage)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (40, 30)
    assert last.usage.total_tokens == 70
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 32
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 18
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_usage_only_when_requested(server: ReplayServer, oai: openai.OpenAI) -> None:
    """Like api.openai.com: no ``usage`` member and no usage chunk unless
    ``stream_options.include_usage`` was sent; the same script serves both requests."""
    deltas = O.chat_content_deltas(IDEA)
    server.add(O.chat_script(deltas), O.chat_script(deltas))
    plain = _chat(oai)
    asked = _chat(oai, stream_options={"include_usage": True})

    assert all(c.choices for c in plain)
    assert all("usage" not in c.model_fields_set for c in plain)
    assert b'"usage"' not in b"".join(server.exchanges[0].sent)
    assert asked[-1].choices == [] and asked[-1].usage is not None
    assert all("usage" in c.model_fields_set for c in asked)
    assert len(asked) == len(plain) + 1


@pytest.mark.parametrize("builder", [O.chat_content_script, O.chat_tool_script])
def test_older_chat_builders_can_follow_the_request(
    server: ReplayServer, oai: openai.OpenAI, builder: Any
) -> None:
    server.add(builder(IDEA, include_usage="request"), builder(IDEA, include_usage="request"))
    plain = _chat(oai)
    asked = _chat(oai, stream_options={"include_usage": True})
    assert all(c.choices and c.usage is None for c in plain)
    assert asked[-1].choices == [] and asked[-1].usage is not None
    assert asked[-1].usage.total_tokens == 33


@pytest.mark.parametrize("interleaved", [True, False])
def test_chat_three_tool_calls_of_two_tools(
    server: ReplayServer, oai: openai.OpenAI, interleaved: bool
) -> None:
    calls = O.chat_tool_call_deltas(CALLS, 5, interleaved=interleaved)
    deltas = O.interleave(O.chat_reasoning_deltas(THOUGHT, 9, key="reasoning"), calls)
    server.add(O.chat_script(deltas, usage=Tokens(50, 60, reasoning=20)))
    with oai.chat.completions.stream(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        tools=TOOLS,  # type: ignore[arg-type]
        stream_options={"include_usage": True},
    ) as stream:
        chunks = [e.chunk for e in stream if e.type == "chunk"]
        final = stream.get_final_completion()

    # the raw deltas: index on every entry, id/name/type only on each call's first
    entries = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    order = [tc.index for tc in entries]
    assert sorted(set(order)) == [0, 1, 2]
    if interleaved:
        assert order[:6] == [0, 1, 2, 0, 1, 2]
    else:
        assert order == sorted(order)
    for index, (name, _doc, call_id) in enumerate(CALLS):
        mine = [tc for tc in entries if tc.index == index]
        assert (mine[0].id, mine[0].type) == (call_id, "function")
        assert mine[0].function is not None and mine[0].function.name == name
        assert all(tc.id is None and tc.function and tc.function.name is None for tc in mine[1:])
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning") or "" for c in chunks if c.choices
    )
    assert reasoning == THOUGHT

    # the SDK's own accumulator rebuilds the three calls
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    got = [
        (tc.id, tc.function.name, json.loads(tc.function.arguments)) for tc in message.tool_calls
    ]  # type: ignore[union-attr]
    assert got == [(call_id, name, doc) for name, doc, call_id in CALLS]
    assert final.usage is not None and final.usage.completion_tokens_details is not None
    assert final.usage.completion_tokens_details.reasoning_tokens == 20


# -- OpenAI Responses API ------------------------------------------------------------------


def _responses(client: openai.OpenAI) -> list[Any]:
    return list(
        client.responses.create(model="m", input="hi", reasoning={"summary": "auto"}, stream=True)
    )


def test_responses_reasoning_summaries_then_message(
    server: ReplayServer, oai: openai.OpenAI
) -> None:
    items = [O.reasoning_item(SUMMARIES), O.message_item(IDEA)]
    usage = Tokens(100, 80, cached=64, reasoning=48)
    server.add(O.responses_script(items, 6, usage=usage), O.responses_script(items, 6, usage=usage))
    events = _responses(oai)

    deltas = [e for e in events if isinstance(e, ResponseReasoningSummaryTextDeltaEvent)]
    for s, text in enumerate(SUMMARIES):
        assert "".join(d.delta for d in deltas if d.summary_index == s) == text
    assert {(d.item_id, d.output_index) for d in deltas} == {("rs_replay1", 0)}
    added = [e for e in events if isinstance(e, ResponseReasoningSummaryPartAddedEvent)]
    done = [e for e in events if isinstance(e, ResponseReasoningSummaryPartDoneEvent)]
    text_done = [e for e in events if isinstance(e, ResponseReasoningSummaryTextDoneEvent)]
    assert [e.summary_index for e in added] == [e.summary_index for e in done] == [0, 1]
    assert [e.part.text for e in done] == [e.text for e in text_done] == SUMMARIES
    item_added = [e for e in events if isinstance(e, ResponseOutputItemAddedEvent)]
    assert [type(e.item) for e in item_added] == [ResponseReasoningItem, ResponseOutputMessage]
    # the reasoning events all come before the message's first event
    first_message = events.index(item_added[1])
    assert all(events.index(d) < first_message for d in deltas)
    assert [e.sequence_number for e in events] == list(range(len(events)))

    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    u = completed.response.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (100, 80, 180)
    assert u.input_tokens_details.cached_tokens == 64
    assert u.output_tokens_details.reasoning_tokens == 48

    # the SDK's accumulating stream agrees with every event (it checks item identities)
    with oai.responses.stream(model="m", input="hi", reasoning={"summary": "auto"}) as stream:
        final = stream.get_final_response()
    reasoning, message = final.output
    assert isinstance(reasoning, ResponseReasoningItem)
    assert [s.text for s in reasoning.summary] == SUMMARIES
    assert isinstance(message, ResponseOutputMessage)
    assert json.loads(final.output_text) == IDEA


def test_responses_reasoning_text(server: ReplayServer, oai: openai.OpenAI) -> None:
    """Raw reasoning content (``response.reasoning_text.delta``), as open-weight models
    served with the Responses API send it, beside a summary."""
    items = [O.reasoning_item(SUMMARIES[:1], text=THOUGHT), O.message_item(IDEA)]
    server.add(O.responses_script(items, 8))
    events = _responses(oai)

    deltas = [e for e in events if isinstance(e, ResponseReasoningTextDeltaEvent)]
    assert "".join(d.delta for d in deltas) == THOUGHT
    assert {(d.item_id, d.output_index, d.content_index) for d in deltas} == {("rs_replay1", 0, 0)}
    (done,) = [e for e in events if isinstance(e, ResponseReasoningTextDoneEvent)]
    assert done.text == THOUGHT
    parts = [e.part for e in events if isinstance(e, ResponseContentPartAddedEvent)]
    assert [p.type for p in parts] == ["reasoning_text", "output_text"]
    completed = events[-1]
    assert isinstance(completed, ResponseCompletedEvent)
    item = completed.response.output[0]
    assert isinstance(item, ResponseReasoningItem) and item.content is not None
    assert item.content[0].text == THOUGHT


@pytest.mark.parametrize("interleaved", [True, False])
def test_responses_three_function_calls(
    server: ReplayServer, oai: openai.OpenAI, interleaved: bool
) -> None:
    items = [O.reasoning_item(SUMMARIES)] + [
        O.function_call_item(doc, name, call_id=call_id, item_id=f"fc_{call_id}")
        for name, doc, call_id in CALLS
    ]
    server.add(O.responses_script(items, 5, interleaved=interleaved))
    events = _responses(oai)
    deltas = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
    order = [d.output_index for d in deltas]
    if interleaved:
        assert order[:6] == [1, 2, 3, 1, 2, 3]
    else:
        assert order == sorted(order)
    for index, (_name, doc, call_id) in enumerate(CALLS, start=1):
        mine = [d for d in deltas if d.output_index == index]
        assert {d.item_id for d in mine} == {f"fc_{call_id}"}
        assert json.loads("".join(d.delta for d in mine)) == doc

    server.add(O.responses_script(items, 5, interleaved=interleaved))
    with oai.responses.stream(model="m", input="hi") as stream:
        final = stream.get_final_response()
    calls = final.output[1:]
    assert all(isinstance(c, ResponseFunctionToolCall) for c in calls)
    got = [(c.call_id, c.name, json.loads(c.arguments)) for c in calls]  # type: ignore[union-attr]
    assert got == [(call_id, name, doc) for name, doc, call_id in CALLS]


def test_responses_incomplete_and_cut(server: ReplayServer, oai: openai.OpenAI) -> None:
    """``incomplete_reason`` cuts the last item (no inner ``.done`` events) and ends with
    ``response.incomplete`` and its usage; ``end=False`` leaves the final event out."""
    items = [O.reasoning_item(SUMMARIES), O.function_call_item(IDEA, "Idea")]
    usage = Tokens(10, 16, reasoning=12)
    server.add(
        O.responses_script(items, 5, incomplete_reason="max_output_tokens", usage=usage),
        O.responses_script(items, 5, end=False),
    )
    events = _responses(oai)
    last = events[-1]
    assert isinstance(last, ResponseIncompleteEvent)
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.usage is not None
    assert last.response.usage.output_tokens_details.reasoning_tokens == 12
    call = last.response.output[1]
    assert isinstance(call, ResponseFunctionToolCall) and call.status == "incomplete"
    types = [e.type for e in events]
    assert "response.function_call_arguments.done" not in types
    assert types.count("response.reasoning_summary_part.done") == 2  # the reasoning finished

    cut = _responses(oai)
    assert cut[-1].type == "response.output_item.done"
    assert not any(e.type.startswith("response.completed") for e in cut)


async def test_chat_reasoning_async(server: ReplayServer) -> None:
    """The async SDK reads the same chunks (``model_extra`` there too)."""
    deltas = O.chat_reasoning_deltas(THOUGHT, 7) + O.chat_tool_call_deltas(CALLS[:2], 6)
    server.add(O.chat_script(deltas, usage=Tokens(5, 9, reasoning=4)))
    client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    try:
        stream = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    finally:
        await client.close()
    extras = [(c.choices[0].delta.model_extra or {}) for c in chunks if c.choices]
    assert "".join(e.get("reasoning_content") or "" for e in extras) == THOUGHT
    names = [
        tc.function.name
        for c in chunks
        if c.choices
        for tc in c.choices[0].delta.tool_calls or []
        if tc.function and tc.function.name
    ]
    assert names == ["Idea", "Task"]
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 4


# -- Anthropic Messages --------------------------------------------------------------------

ANTHROPIC_TOOLS = [{"name": name, "input_schema": {"type": "object"}} for name in ("Idea", "Task")]
PROSE = "I'll record three things for you."


def _pieces(doc: Any, n: int) -> list[str]:
    return O.split(O.as_text(doc), n)


def test_anthropic_thinking_text_and_three_tool_uses(server: ReplayServer) -> None:
    blocks = [
        A.thinking_block(O.split(THOUGHT, 9)),
        A.redacted_thinking_block("EmwKAhgBEgyredacted"),
        A.text_block(O.split(PROSE, 6)),
        *[A.tool_use_block(_pieces(doc, 5), name, call_id) for name, doc, call_id in CALLS],
    ]
    usage = Tokens(30, 90, cached=2000, cache_write=120, reasoning=40)
    server.add(A.message_script(blocks, usage=usage))
    client = A.make_client(server)
    with client.messages.stream(
        model="claude-test-1",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=ANTHROPIC_TOOLS,
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()

    # the SDK's own higher-level events
    thinking = [e for e in events if isinstance(e, ThinkingEvent)]
    assert "".join(e.thinking for e in thinking) == THOUGHT
    assert thinking[-1].snapshot == THOUGHT
    assert [e.signature for e in events if isinstance(e, SignatureEvent)] == [A.SIGNATURE]
    json_events = [e for e in events if isinstance(e, InputJsonEvent)]
    assert [e.snapshot for e in json_events if e.partial_json][-1] == CALLS[-1][1]
    # the raw events: blocks in index order, each started, filled and stopped before the next
    starts = [e for e in events if isinstance(e, RawContentBlockStartEvent)]
    assert [(e.index, e.content_block.type) for e in starts] == list(
        enumerate(["thinking", "redacted_thinking", "text", "tool_use", "tool_use", "tool_use"])
    )
    block_of = [e.index for e in events if hasattr(e, "index")]
    assert block_of == sorted(block_of)
    deltas = [e.delta for e in events if isinstance(e, RawContentBlockDeltaEvent)]
    assert any(isinstance(d, ThinkingDelta) for d in deltas)
    assert isinstance([d for d in deltas if not isinstance(d, ThinkingDelta)][0], SignatureDelta)

    # the accumulated message
    assert [b.type for b in final.content] == [s.content_block.type for s in starts]
    think, redacted, text, *tools = final.content
    assert isinstance(think, ThinkingBlock) and isinstance(redacted, RedactedThinkingBlock)
    assert (think.thinking, think.signature) == (THOUGHT, A.SIGNATURE)
    assert redacted.data == "EmwKAhgBEgyredacted"
    assert isinstance(text, TextBlock) and text.text == PROSE
    got = [(b.id, b.name, b.input) for b in tools if isinstance(b, ToolUseBlock)]
    assert got == [(call_id, name, doc) for name, doc, call_id in CALLS]
    assert final.stop_reason == "tool_use"
    u = final.usage
    assert (u.input_tokens, u.output_tokens) == (30, 90)
    assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (2000, 120)
    assert u.output_tokens_details is not None and u.output_tokens_details.thinking_tokens == 40
    start = next(e for e in events if isinstance(e, RawMessageStartEvent))
    assert start.message.usage.cache_read_input_tokens == 2000
    delta = next(e for e in events if isinstance(e, RawMessageDeltaEvent))
    assert delta.usage.output_tokens == 90


def test_anthropic_text_then_json_answer(server: ReplayServer) -> None:
    """Prose beside the object without tools: a thinking block, then text; the stop reason
    follows the blocks (``end_turn``), and ``end=False`` cuts the stream inside the text."""
    blocks = [A.thinking_block([THOUGHT]), A.text_block(["Sure.\n", *_pieces(IDEA, 4)])]
    server.add(A.message_script(blocks), A.message_script(blocks, end=False))
    client = A.make_client(server)
    message = client.messages.create(
        model="claude-test-1",
        max_tokens=2048,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
    )
    events = list(message)
    assert events[-2].type == "message_delta" and events[-2].delta.stop_reason == "end_turn"
    with client.messages.stream(
        model="claude-test-1", max_tokens=2048, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        types = [e.type for e in stream]
        snapshot = stream.current_message_snapshot
    assert "message_delta" not in types and "message_stop" not in types
    assert types.count("content_block_stop") == 1  # only the thinking block was closed
    assert isinstance(snapshot.content[1], TextBlock)
    assert snapshot.content[1].text == "Sure.\n" + O.as_text(IDEA)


# -- Gemini --------------------------------------------------------------------------------

THOUGHTS = ["**Reading the request**\n\nOne idea and a task.", "**Answering**\n\nTwo calls."]


def _gemini_stream(server: ReplayServer) -> list[Any]:
    from google.genai import types

    client = G.make_client(server)
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        tools=[
            types.Tool(
                function_declarations=[
                    types.FunctionDeclaration(name=name, parameters_json_schema={"type": "object"})
                    for name in ("Idea", "Task")
                ]
            )
        ],
    )
    return list(
        client.models.generate_content_stream(model="gemini-test", contents="hi", config=config)
    )


@pytest.mark.parametrize("one_frame", [True, False])
def test_gemini_thoughts_then_several_function_calls(server: ReplayServer, one_frame: bool) -> None:
    import base64

    from google.genai.types import GenerateContentResponse, Part

    calls = [
        G.call_part(name, doc, signature=G.SIGNATURE if i == 0 else None)
        for i, (name, doc, _id) in enumerate(CALLS)
    ]
    frames = [[G.thought_part(THOUGHTS[0])], [G.thought_part(THOUGHTS[1])]]
    frames += [calls] if one_frame else [[c] for c in calls]
    usage = Tokens(120, 35, cached=100, reasoning=64)
    server.add(G.stream_script(frames, usage=usage))
    responses = _gemini_stream(server)

    assert all(isinstance(r, GenerateContentResponse) for r in responses)
    assert len(responses) == len(frames)
    parts = [p for r in responses for p in r.candidates[0].content.parts]
    assert all(isinstance(p, Part) for p in parts)
    thoughts = [p for p in parts if p.thought]
    assert [p.text for p in thoughts] == THOUGHTS
    assert parts[: len(THOUGHTS)] == thoughts  # thoughts first, the calls after
    fcs = [p.function_call for p in parts if p.function_call is not None]
    assert [(c.name, c.args) for c in fcs] == [(name, doc) for name, doc, _ in CALLS]
    assert parts[2].thought_signature == base64.b64decode(G.SIGNATURE)
    assert all(p.thought_signature is None for p in parts[3:])
    assert responses[-1].candidates[0].finish_reason == "STOP"
    assert all(r.candidates[0].finish_reason is None for r in responses[:-1])

    u = responses[-1].usage_metadata
    assert u is not None
    assert (u.prompt_token_count, u.candidates_token_count) == (120, 35)
    assert (u.cached_content_token_count, u.thoughts_token_count) == (100, 64)
    assert u.total_token_count == 120 + 35 + 64
    early = responses[0].usage_metadata
    assert early is not None and early.candidates_token_count is None


def test_gemini_thoughts_then_text_answer(server: ReplayServer) -> None:
    """Thoughts, then the answer's text in pieces (the first with the signature)."""
    text = O.as_text(IDEA)
    frames = [[G.thought_part(THOUGHTS[0])], [G.text_part(text[:9], signature=G.SIGNATURE)]]
    frames += [[G.text_part(text[9:])]]
    server.add(G.stream_script(frames))
    responses = _gemini_stream(server)
    parts = [p for r in responses for p in r.candidates[0].content.parts]
    assert [bool(p.thought) for p in parts] == [True, False, False]
    assert json.loads("".join(p.text or "" for p in parts if not p.thought)) == IDEA
    assert parts[1].thought_signature is not None


# -- every frame validates against the SDK's own types, with no member they do not declare --

# the SDKs read streams leniently (construct without validation); here each frame is
# validated for real, and every member must be one the type declares -- except what
# api.openai.com sends and the SDK does not declare: ``obfuscation`` on delta events,
# ``store`` on the response object
EXTRA_OK = {"obfuscation", "store"}


def _sse_payloads(frames: list[bytes]) -> list[tuple[str | None, str]]:
    out = []
    for f in frames:
        text = f.decode()
        assert text.endswith("\n\n") and text.count("\n\n") == 1
        event, data = None, []
        for line in text.strip("\n").split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            else:
                assert line.startswith("data: "), line
                data.append(line[6:])
        out.append((event, "\n".join(data)))
    return out


def _undeclared(value: Any, path: str = "") -> list[str]:
    """Members of ``value`` (a pydantic model, nested) that its type does not declare."""
    from pydantic import BaseModel

    out: list[str] = []
    if isinstance(value, BaseModel):
        out += [f"{path}.{k}" for k in (value.model_extra or {}) if k not in EXTRA_OK]
        for name in type(value).model_fields:
            out += _undeclared(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out += _undeclared(v, f"{path}[{i}]")
    return out


def _response_event_types() -> dict[str, Any]:
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0]  # Annotated[Union[...], discriminator]
    return {
        typing.get_args(cls.model_fields["type"].annotation)[0]: cls
        for cls in typing.get_args(union)
    }


ALL_CALLS_CHAT = O.chat_tool_call_deltas(CALLS, 4)
RESPONSE_ITEMS = [
    O.reasoning_item(SUMMARIES, text=THOUGHT, encrypted_content="gAAAAB"),
    O.message_item(O.md_json(IDEA)),
    *[O.function_call_item(doc, name, call_id=c, item_id=f"fc_{c}") for name, doc, c in CALLS],
]


@pytest.mark.parametrize(
    "frames",
    [
        O.chat_frames(O.chat_reasoning_deltas(THOUGHT) + O.chat_content_deltas(O.md_json(IDEA))),
        O.chat_frames(
            O.interleave(O.chat_reasoning_deltas(THOUGHT, key="reasoning"), ALL_CALLS_CHAT),
            usage=Tokens(1, 2, cached=3, reasoning=1),
        ),
        O.chat_frames(ALL_CALLS_CHAT, include_usage=False, role_delta=None),
    ],
    ids=["chat-reasoning-prose", "chat-calls-usage", "chat-no-usage"],
)
def test_chat_frames_validate(frames: list[bytes]) -> None:
    payloads = _sse_payloads(frames)
    assert payloads[-1] == (None, "[DONE]")
    for event, data in payloads[:-1]:
        chunk = ChatCompletionChunk.model_validate(json.loads(data))
        assert event is None
        extra = [
            p for p in _undeclared(chunk) if not p.endswith(("reasoning_content", "reasoning"))
        ]
        assert extra == []


@pytest.mark.parametrize(
    "frames",
    [
        O.responses_frames(
            RESPONSE_ITEMS, usage=Tokens(9, 8, cached=4, reasoning=5, cache_write=1)
        ),
        O.responses_frames(RESPONSE_ITEMS, interleaved=True),
        O.responses_frames(RESPONSE_ITEMS[:2], incomplete_reason="max_output_tokens"),
    ],
    ids=["responses", "responses-interleaved", "responses-incomplete"],
)
def test_responses_frames_validate(frames: list[bytes]) -> None:
    types = _response_event_types()
    seen = set()
    for i, (event, data) in enumerate(_sse_payloads(frames)):
        payload = json.loads(data)
        assert event == payload["type"] and payload["sequence_number"] == i
        parsed = types[event].model_validate(payload)
        assert _undeclared(parsed) == []
        seen.add(event)
    assert {
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
    } <= seen


def test_anthropic_frames_validate() -> None:
    from anthropic.types import RawMessageStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    blocks = [
        A.thinking_block(O.split(THOUGHT, 9)),
        A.redacted_thinking_block(),
        A.text_block([PROSE]),
        *[A.tool_use_block(_pieces(doc, 5), name, call_id) for name, doc, call_id in CALLS],
    ]
    frames = A.message_chunks(blocks, usage=Tokens(3, 4, cached=5, cache_write=6, reasoning=2))
    kinds = []
    for event, data in _sse_payloads(frames):
        payload = json.loads(data)
        assert event == payload["type"]
        kinds.append(event)
        if event == "ping":  # not a RawMessageStreamEvent: the SDK skips it
            assert payload == {"type": "ping"}
            continue
        parsed = adapter.validate_python(payload)
        assert _undeclared(parsed) == []
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 6


def test_gemini_frames_validate() -> None:
    from google.genai.types import GenerateContentResponse

    frames = G.stream_chunks(
        [
            [G.thought_part(THOUGHTS[0])],
            [G.text_part("Sure.", signature=G.SIGNATURE)],
            [G.call_part(name, doc, call_id=c) for name, doc, c in CALLS],
        ],
        usage=Tokens(7, 8, cached=5, reasoning=3),
    )
    for event, data in _sse_payloads(frames):
        assert event is None
        # genai's types forbid undeclared members: validating is the whole check
        GenerateContentResponse.model_validate_json(data)
