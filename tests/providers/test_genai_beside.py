"""Gemini beside the object (issue 18): thoughts, prose, several whole function calls, usage.

Real ``google-genai`` SDK clients (sync and async) over HTTP against the replay server, which
sends the exact ``streamGenerateContent`` frames (tests/replay/gemini_server.py).
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Union

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.errors import StreamingDegradedWarning, StreamValidationError
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, ReasoningEvent, TextEvent
from schemastream.providers import genai as genai_provider
from tests.replay import gemini_server as G
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
THINKING = {"thinking_config": {"include_thoughts": True, "thinking_budget": 512}}
# thought summaries, each one part with its own heading; braces must never reach the parser
# what google-genai's own generate_content_stream sends for it (its field names, unchanged)
SENT_THINKING = {"include_thoughts": True, "thinking_budget": 512}
THOUGHTS = ["**Reading the request**\n\nOne idea {maybe}.", '**Answering**\n\nWrite {"title":']
IDEA = {"title": "Solar kettle", "score": 7}
CALLS = [
    ("Idea", IDEA),
    ("Task", {"name": "Buy copper", "done": False}),
    ("Idea", {"title": "Wind spoon", "score": 3}),
]
FINAL = [Idea(**IDEA), Task(name="Buy copper"), Idea(title="Wind spoon", score=3)]


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


def client(server: ReplayServer, use_async: bool, mode: str = "json") -> Any:
    return ss.from_genai(G.make_client(server), mode=mode, use_async=use_async)


async def events_of(stream: Any, use_async: bool, **kw: Any) -> list[Any]:
    if use_async:
        async with stream:
            return [e async for e in stream.events(**kw)]
    with stream:
        return list(stream.events(**kw))


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def quiet() -> Any:
    """The tool modes warn once per client; tests of other things ignore it."""
    return pytest.warns(StreamingDegradedWarning)


# -- reasoning ---------------------------------------------------------------------------------


async def test_thoughts_interleaved_with_the_object(server: ReplayServer, use_async: bool) -> None:
    text = dumps(IDEA)
    frames = [
        [G.thought_part(THOUGHTS[0])],
        [G.text_part(text[:10], signature=G.SIGNATURE)],  # the signature is not text
        [G.thought_part(THOUGHTS[1])],
        [G.text_part(text[10:20])],
        [G.text_part(text[20:])],
    ]
    server.add(G.stream_script(frames, usage=Tokens(30, 12, reasoning=40)))
    stream = client(server, use_async).responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=Idea, config=THINKING
    )
    events = await events_of(stream, use_async)
    kinds = [type(e).__name__ for e in events]
    first_partial = kinds.index("PartialEvent")
    assert kinds[0] == "ReasoningEvent" and first_partial == 1
    reasoning = [e for e in events if isinstance(e, ReasoningEvent)]
    assert reasoning == [ReasoningEvent(THOUGHTS[0]), ReasoningEvent("\n\n" + THOUGHTS[1])]
    # the second thought comes between the object's partials, where it was sent
    assert first_partial < kinds.index("ReasoningEvent", 1) < kinds.index("FinalEvent")
    assert stream.reasoning_text == THOUGHTS[0] + "\n\n" + THOUGHTS[1]
    assert events[-1] == FinalEvent(Idea(**IDEA), events[-1].ops)
    assert stream.usage == ss.Usage(30, 52, None, 40)
    # the user's thinking_config went out as written, beside the JSON schema
    config = server.last.json["generationConfig"]
    assert config["thinkingConfig"] == SENT_THINKING
    assert config["responseMimeType"] == "application/json"


async def test_thoughts_before_a_function_call_are_reasoning(
    server: ReplayServer, use_async: bool
) -> None:
    frames = [
        [G.thought_part(THOUGHTS[0])],
        [G.thought_part(THOUGHTS[1])],
        [G.call_part("Idea", IDEA, signature=G.SIGNATURE)],
    ]
    server.add(G.stream_script(frames))
    stream = client(server, use_async, "tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=Idea, config=THINKING
    )
    with quiet():
        events = await events_of(stream, use_async)
    assert [e for e in events if isinstance(e, ReasoningEvent)] == [
        ReasoningEvent(THOUGHTS[0]),
        ReasoningEvent("\n\n" + THOUGHTS[1]),
    ]
    assert events[-1].value == Idea(**IDEA)


# -- prose -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["tools", "parallel_tools"])
async def test_text_beside_the_calls_is_prose(
    server: ReplayServer, use_async: bool, mode: str
) -> None:
    prose = ['Here is {"title": "not this"} ', "and one more {."]
    frames = [[G.text_part(prose[0])], [G.text_part(prose[1]), G.call_part("Idea", IDEA)]]
    server.add(G.stream_script(frames))
    model: Any = RESPONSE if mode == "parallel_tools" else Idea
    stream = client(server, use_async, mode).responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=model
    )
    with quiet():
        events = await events_of(stream, use_async)
    assert [e for e in events if isinstance(e, TextEvent)] == [TextEvent(p) for p in prose]
    expected = [Idea(**IDEA)] if mode == "parallel_tools" else Idea(**IDEA)
    assert events[-1].value == expected
    assert stream.reasoning_text == ""


# -- several function calls --------------------------------------------------------------------


@pytest.mark.parametrize("one_frame", [False, True], ids=["frame-per-call", "one-frame"])
async def test_three_calls_of_two_types(
    server: ReplayServer, use_async: bool, one_frame: bool
) -> None:
    calls = [
        G.call_part(name, doc, signature=G.SIGNATURE if i == 0 else None)
        for i, (name, doc) in enumerate(CALLS)
    ]
    frames = [[G.thought_part(THOUGHTS[0])], *([calls] if one_frame else [[c] for c in calls])]
    server.add(G.stream_script(frames, usage=Tokens(120, 35, cached=100, reasoning=64)))
    stream = client(server, use_async, "parallel_tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=RESPONSE, config=THINKING
    )
    with quiet():
        events = await events_of(stream, use_async)
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    if not one_frame:  # every call shows as it arrives, before the next one
        assert [len(p) for p in partials] == [1, 2, 3]
    assert [(e.index, e.item) for e in events if isinstance(e, ItemEvent)] == list(enumerate(FINAL))
    assert events[-1].value == FINAL
    assert stream.reasoning_text == THOUGHTS[0]
    assert stream.usage == ss.Usage(120, 35 + 64, 100, 64) and stream.usage.partial is False

    body = server.last.json
    (tools,) = body["tools"]
    assert [d["name"] for d in tools["functionDeclarations"]] == ["Idea", "Task"]
    assert [d["description"] for d in tools["functionDeclarations"]] == [
        "A product idea.",
        "A task to do.",
    ]
    assert [d["parameters_json_schema"] for d in tools["functionDeclarations"]] == [
        Idea.model_json_schema(),
        Task.model_json_schema(),
    ]
    # a call is required; Gemini has no parallel flag: several calls are allowed as is
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Idea", "Task"]}
    }
    assert body["generationConfig"]["thinkingConfig"] == SENT_THINKING


async def test_create_iterable_yields_each_call_once(server: ReplayServer, use_async: bool) -> None:
    server.add(G.stream_script([[G.call_part(name, doc)] for name, doc in CALLS]))
    completions = client(server, use_async, "parallel_tools").chat.completions
    items = completions.create_iterable(
        model="gemini-test", messages=MESSAGES, response_model=Union[Idea, Task]
    )
    with quiet():
        got = [i async for i in items] if use_async else list(items)
    assert got == FINAL


async def test_fail_fast_inside_the_second_call(server: ReplayServer, use_async: bool) -> None:
    bad = {"name": "x" * 30, "done": True}
    frames = [[G.call_part("Idea", IDEA)], [G.call_part("Task", bad)], [G.call_part(*CALLS[2])]]
    script = G.stream_script(frames)
    script.gate(2)  # never opened: only a hang-up ends the response
    server.add(script)
    stream = client(server, use_async, "parallel_tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=RESPONSE
    )
    with quiet(), pytest.raises(StreamValidationError) as info:
        await events_of(stream, use_async)
    assert info.value.path[:2] == (1, "name")
    assert info.value.constraint == "string_too_long"
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent == 2 < ex.total_chunks
    assert len(server.exchanges) == 1


async def test_max_items_counts_calls(server: ReplayServer, use_async: bool) -> None:
    script = G.stream_script([[G.call_part(name, doc)] for name, doc in CALLS])
    script.gate(2)
    server.add(script)
    stream = client(server, use_async, "parallel_tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=RESPONSE, max_items=2
    )
    with quiet():
        events = await events_of(stream, use_async)
    assert events[-1].value == FINAL[:2]
    assert [e.index for e in events if isinstance(e, ItemEvent)] == [0, 1]
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and ex.chunks_sent == 2
    assert stream.usage is not None and stream.usage.partial is True
    assert stream.usage == ss.Usage(9, None)


async def test_a_bad_call_is_reasked_with_the_calls(server: ReplayServer, use_async: bool) -> None:
    bad = {"name": "x" * 30}
    server.add(G.stream_script([[G.call_part("Idea", IDEA), G.call_part("Task", bad)]]))
    server.add(G.stream_script([[G.call_part(name, doc)] for name, doc in CALLS]))
    stream = client(server, use_async, "parallel_tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=RESPONSE, max_retries=1
    )
    with quiet():
        events = await events_of(stream, use_async)
    assert events[-1].value == FINAL
    assert len(server.exchanges) == 2
    first, second = (ex.json for ex in server.exchanges)
    *_, answer, feedback = second["contents"]
    assert second["contents"][: len(first["contents"])] == first["contents"]
    assert answer["role"] == "model"
    shown = json.loads(answer["parts"][0]["text"])  # CallsSession.raw_text: the calls' text
    assert [(c["tool"], json.loads(c["arguments"])) for c in shown] == [
        ("Idea", IDEA),
        ("Task", bad),
    ]
    assert feedback["role"] == "user"
    assert "function calls" in feedback["parts"][0]["text"]
    assert second["toolConfig"] == first["toolConfig"]


# -- usage -------------------------------------------------------------------------------------


async def test_usage_after_a_cancel_keeps_the_prompt_count(
    server: ReplayServer, use_async: bool
) -> None:
    text = dumps(IDEA)
    frames = [[G.thought_part(THOUGHTS[0])], [G.text_part(text[:10])], [G.text_part(text[10:])]]
    script = G.stream_script(frames, usage=Tokens(2048, 40, cached=1024, reasoning=16))
    script.gate(2)  # never opened: the client closes first
    server.add(script)
    stream = client(server, use_async).responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=Idea, config=THINKING
    )
    if use_async:
        async with stream:
            async for event in stream.events():
                if isinstance(event, PartialEvent):
                    break
    else:
        with stream:
            for event in stream.events():
                if isinstance(event, PartialEvent):
                    break
    usage = stream.usage
    assert usage == ss.Usage(2048, None, 1024, None)
    assert usage is not None and usage.partial is True
    assert stream.reasoning_text == THOUGHTS[0]
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed


# -- StreamingDegradedWarning ------------------------------------------------------------------


def _caught(records: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    return [r for r in records if r.category is StreamingDegradedWarning]


@pytest.mark.parametrize("mode", ["tools", "parallel_tools"])
async def test_whole_calls_warn_once_per_client(
    server: ReplayServer, use_async: bool, mode: str
) -> None:
    model: Any = RESPONSE if mode == "parallel_tools" else Idea
    for _ in range(3):
        server.add(G.stream_script([[G.call_part("Idea", IDEA)]]))
    first = client(server, use_async, mode)
    second = client(server, use_async, mode)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for ss_client in (first, first, second):
            stream = ss_client.responses.stream(
                model="gemini-test", messages=MESSAGES, response_model=model
            )
            await events_of(stream, use_async)
    caught = _caught(records)
    assert len(caught) == 2  # the first client once, the second once
    assert f"Mode.{mode.upper()}" in str(caught[0].message)


@pytest.mark.parametrize("mode", ["json", "md_json"])
async def test_the_json_modes_do_not_warn(server: ReplayServer, use_async: bool, mode: str) -> None:
    text = dumps(IDEA)
    server.add(G.stream_script([[G.text_part(text[:8])], [G.text_part(text[8:])]]))
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        stream = client(server, use_async, mode).responses.stream(
            model="gemini-test", messages=MESSAGES, response_model=Idea
        )
        events = await events_of(stream, use_async)
    assert events[-1].value == Idea(**IDEA)
    assert _caught(records) == []


# -- the SDK fallback (public generate_content_stream, for SDKs without the internals) -------


async def test_the_sdk_fallback_reads_the_same(
    server: ReplayServer, use_async: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(genai_provider, "_has_internals", lambda api_client: False)
    frames = [
        [G.thought_part(THOUGHTS[0])],
        [G.text_part("Two calls {.", signature=G.SIGNATURE)],
        *([G.call_part(name, doc)] for name, doc in CALLS),
    ]
    server.add(G.stream_script(frames, usage=Tokens(120, 35, cached=100, reasoning=64)))
    stream = client(server, use_async, "parallel_tools").responses.stream(
        model="gemini-test", messages=MESSAGES, response_model=RESPONSE, config=THINKING
    )
    with quiet():
        events = await events_of(stream, use_async)
    assert stream.reasoning_text == THOUGHTS[0]
    assert [e for e in events if isinstance(e, TextEvent)] == [TextEvent("Two calls {.")]
    assert [(e.index, e.item) for e in events if isinstance(e, ItemEvent)] == list(enumerate(FINAL))
    assert events[-1].value == FINAL
    assert stream.usage == ss.Usage(120, 35 + 64, 100, 64)
