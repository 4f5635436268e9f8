"""End to end: ``ss.from_openai(OpenAI(...))`` / ``AsyncOpenAI`` over HTTP against the replay
server -- the seed's example as written, Instructor-style calls in every mode, real streaming,
fail fast, max_items, retries, finish reasons, refusals, HTTP and connection errors.

Causality, not timing: the server holds a chunk back (a gate) until the test has seen what it
expects, and records how many chunks it sent and whether the client hung up.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import openai
import schemastream as ss
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from tests.models import DOC, IDEAS, Idea
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer, Script

SPEC_NAME = ss.ResponseSpec.from_type(list[Idea]).name
MSGS = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]
CHAT_MODES = [ss.Mode.TOOLS, ss.Mode.JSON_SCHEMA, ss.Mode.JSON, ss.Mode.MD_JSON]
ALL_MODES = [*CHAT_MODES, ss.Mode.RESPONSES_JSON_SCHEMA, ss.Mode.RESPONSES_TOOLS]
EXPECTED = [Idea(**i) for i in IDEAS]

# frames before the first document piece, per script kind
_HEAD = {"chat": 1, "responses": 4}


def kind_of(mode: ss.Mode) -> str:
    return "responses" if mode.value.startswith("responses") else "chat"


def script_for(mode: ss.Mode, doc: Any = DOC, n: int = 4, **kw: Any) -> Script:
    if mode == ss.Mode.TOOLS:
        return oa.chat_tool_script(doc, n, name=SPEC_NAME, **kw)
    if mode == ss.Mode.MD_JSON and not isinstance(doc, str):
        doc = "Here you go:\n```json\n" + json.dumps(doc, indent=1) + "\n```\n"
        return oa.chat_content_script(doc, n, **kw)
    if mode in CHAT_MODES:
        return oa.chat_content_script(doc, n, **kw)
    if mode == ss.Mode.RESPONSES_TOOLS:
        return oa.responses_tool_script(doc, n, name=SPEC_NAME, **kw)
    return oa.responses_text_script(doc, n, **kw)


def frame_at(mode: ss.Mode, text: str, pos: int, n: int = 4) -> int:
    """Index of the frame that carries character ``pos`` of ``text``."""
    assert 0 <= pos < len(text)
    return _HEAD[kind_of(mode)] + pos // n


def many_ideas(k: int) -> list[dict[str, str]]:
    return [{"title": f"Idea {i}", "blurb": f"Blurb number {i} for the app."} for i in range(k)]


# -- the seed's example, as written ---------------------------------------------------------------


def test_seed_example_sync(server: ReplayServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.add(oa.responses_text_script(DOC, 4))
    from pydantic import BaseModel, Field

    from openai import OpenAI

    client = ss.from_openai(OpenAI(base_url=server.url + "/v1", api_key="test"))

    class Idea(BaseModel):
        title: str
        blurb: str = Field(..., max_length=140)

    stream = client.responses.stream(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}],
        response_model=list[Idea],
    )

    for partial in stream:
        print("partial:", partial)

    ideas = stream.get_final_response()
    print("final:", ideas)

    assert [i.model_dump() for i in ideas] == IDEAS and all(isinstance(i, Idea) for i in ideas)
    out = capsys.readouterr().out
    assert out.count("partial:") > 10 and "final:" in out
    body = server.last.json
    assert server.last.path == "/v1/responses"
    assert body["input"] == MSGS and body["stream"] is True
    assert body["text"]["format"]["type"] == "json_schema" and body["text"]["format"]["strict"]
    assert stream.usage == ss.Usage(11, 22, 0, 0)


async def test_seed_example_async(server: ReplayServer) -> None:
    server.add(oa.responses_text_script(DOC, 4))
    client = ss.from_openai(openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test"))
    assert isinstance(client, ss.AsyncClient)
    partials = []
    async with client.responses.stream(
        model="gpt-4o-mini", messages=MSGS, response_model=list[Idea]
    ) as stream:
        async for partial in stream:
            partials.append(partial)
        ideas = await stream.get_final_response()
    assert ideas == EXPECTED and len(partials) > 10
    assert partials[-1] == EXPECTED


def test_seed_with_input_and_instructions(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    server.add(oa.responses_text_script(DOC))
    client = ss.from_openai(sync_client)
    with client.responses.stream(
        model="gpt-4o-mini",
        input="ideas please",
        instructions="be brief",
        response_model=list[Idea],
    ) as stream:
        assert stream.get_final_response() == EXPECTED
    assert server.last.json["input"] == "ideas please"
    assert server.last.json["instructions"] == "be brief"


# -- Instructor-style calls in every mode ------------------------------------------------------------


@pytest.mark.parametrize("mode", ALL_MODES)
def test_create_every_mode(server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode) -> None:
    server.add(script_for(mode))
    client = ss.from_openai(sync_client, mode=mode)
    ideas = client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, response_model=list[Idea]
    )
    assert ideas == EXPECTED
    assert server.last.path.endswith("responses" if kind_of(mode) == "responses" else "completions")


@pytest.mark.parametrize("mode", ALL_MODES)
def test_create_single_model_every_mode(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    server.add(script_for(mode, IDEAS[0]))
    client = ss.from_openai(sync_client)
    idea = client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, response_model=Idea, mode=mode
    )
    assert idea == EXPECTED[0]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_create_partial_every_mode(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    server.add(script_for(mode))
    client = ss.from_openai(sync_client, mode=mode)
    partials = list(
        client.chat.completions.create_partial(model="m", messages=MSGS, response_model=list[Idea])
    )
    assert len(partials) > 10 and partials[-1] == EXPECTED
    lengths = [len(p) for p in partials]
    assert lengths == sorted(lengths)  # the list only grows


@pytest.mark.parametrize("mode", ALL_MODES)
def test_create_iterable_every_mode(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    server.add(script_for(mode), script_for(mode))
    client = ss.from_openai(sync_client, mode=mode)
    items = list(
        client.chat.completions.create_iterable(model="m", messages=MSGS, response_model=Idea)
    )
    assert items == EXPECTED
    items = list(
        client.chat.completions.create(
            model="m", messages=MSGS, response_model=list[Idea], stream=True
        )
    )
    assert items == EXPECTED


@pytest.mark.parametrize(
    "mode", [ss.Mode.TOOLS, ss.Mode.JSON_SCHEMA, ss.Mode.RESPONSES_JSON_SCHEMA]
)
async def test_async_calls(
    server: ReplayServer, async_client: openai.AsyncOpenAI, mode: ss.Mode
) -> None:
    server.add(script_for(mode), script_for(mode), script_for(mode))
    client = ss.from_openai(async_client, mode=mode)
    comp = client.chat.completions
    assert await comp.create(model="m", messages=MSGS, response_model=list[Idea]) == EXPECTED
    partials = [
        p async for p in comp.create_partial(model="m", messages=MSGS, response_model=list[Idea])
    ]
    assert partials[-1] == EXPECTED and len(partials) > 10
    items = [i async for i in comp.create_iterable(model="m", messages=MSGS, response_model=Idea)]
    assert items == EXPECTED


def test_fast_and_fallback_paths_give_the_same_events(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    server.add(script_for(ss.Mode.TOOLS), script_for(ss.Mode.TOOLS))
    runs = []
    for fast in (True, False):
        client = ss.from_openai(sync_client, fast=fast)
        stream = client.responses.stream(
            model="m", messages=MSGS, response_model=list[Idea], mode="tools"
        )
        runs.append([(type(e).__name__, getattr(e, "ops", None)) for e in stream.events()])
    assert runs[0] == runs[1] and len(runs[0]) > 10


def test_events_items_usage_raw_text(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    server.add(script_for(ss.Mode.TOOLS))
    client = ss.from_openai(sync_client)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], mode="tools"
    )
    events = list(stream.events())
    items = [e for e in events if isinstance(e, ItemEvent)]
    assert [e.index for e in items] == [0, 1, 2] and [e.item for e in items] == EXPECTED
    assert isinstance(events[-1], FinalEvent) and events[-1].value == EXPECTED
    assert stream.completed_items == EXPECTED and json.loads(stream.raw_text) == DOC
    assert stream.usage == ss.Usage(11, 22, 0, 0) and stream.restarts == 0
    # an item event comes before the final event, as soon as the item closed
    assert events.index(items[0]) < events.index(items[1]) < len(events) - 1


# -- real streaming ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode", [ss.Mode.TOOLS, ss.Mode.JSON_SCHEMA, ss.Mode.MD_JSON, ss.Mode.RESPONSES_JSON_SCHEMA]
)
def test_first_partial_arrives_before_the_server_finished(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    script = script_for(mode)
    gate = script.gate(25)  # the server sends 25 chunks, then waits for this test
    server.add(script)
    client = ss.from_openai(sync_client, mode=mode)
    seen_while_blocked = None
    partials = 0
    for _partial in client.chat.completions.create_partial(
        model="m", messages=MSGS, response_model=list[Idea]
    ):
        partials += 1
        if seen_while_blocked is None:
            ex = server.last
            seen_while_blocked = (ex.chunks_sent, ex.total_chunks, ex.done.is_set())
            gate.set()
    assert seen_while_blocked is not None
    sent, total, done = seen_while_blocked
    assert sent <= 25 < total and not done
    assert partials > 5


async def test_async_first_partial_arrives_before_the_server_finished(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    script = script_for(ss.Mode.RESPONSES_JSON_SCHEMA)
    gate = script.gate(25)
    server.add(script)
    client = ss.from_openai(async_client)
    seen = None
    async with client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea]
    ) as stream:
        async for _partial in stream:
            if seen is None:
                seen = (server.last.chunks_sent, server.last.done.is_set())
                gate.set()
        assert await stream.get_final_response() == EXPECTED
    assert seen is not None and seen[0] <= 25 and not seen[1]


# -- fail fast, max_items, close ---------------------------------------------------------------------


def _bad_doc(k: int = 60) -> tuple[dict[str, Any], str, int]:
    """Item 1's blurb breaks max_length=140; returns (doc, text, offset of blurb char 141)."""
    items = many_ideas(k)
    items[1]["blurb"] = "x" * 400
    doc = {"items": items}
    text = oa.as_text(doc)
    return doc, text, text.index("x" * 400) + 141


@pytest.mark.parametrize(
    "mode", [ss.Mode.TOOLS, ss.Mode.JSON_SCHEMA, ss.Mode.RESPONSES_JSON_SCHEMA]
)
def test_fail_fast_hangs_up_mid_string(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    doc, text, bad_at = _bad_doc()
    script = script_for(mode, doc)
    stop = frame_at(mode, text, bad_at) + 2  # a few chunks after the violation is decidable
    script.gate(stop)
    script.gate_timeout = 5
    server.add(script)
    client = ss.from_openai(sync_client, mode=mode)
    stream = client.responses.stream(model="m", messages=MSGS, response_model=list[Idea])
    with pytest.raises(ss.StreamValidationError) as info:
        for _ in stream:
            pass
    assert info.value.constraint == "string_too_long"
    assert info.value.path[:2] in ((1, "blurb"), ("items", 1))
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and ex.disconnected_at == stop  # not one chunk past the gate
    assert ex.chunks_sent < ex.total_chunks / 10  # the string (and 58 items) never went out
    assert stream.completed_items == [Idea(**doc["items"][0])]


async def test_async_fail_fast(server: ReplayServer, async_client: openai.AsyncOpenAI) -> None:
    mode = ss.Mode.TOOLS
    doc, text, bad_at = _bad_doc()
    script = script_for(mode, doc)
    stop = frame_at(mode, text, bad_at) + 2
    script.gate(stop)
    script.gate_timeout = 5
    server.add(script)
    client = ss.from_openai(async_client, mode=mode)
    with pytest.raises(ss.StreamValidationError):
        await client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])
    assert await asyncio.to_thread(server.last.done.wait, 5)
    assert server.last.disconnected and server.last.disconnected_at == stop


@pytest.mark.parametrize("mode", [ss.Mode.TOOLS, ss.Mode.RESPONSES_JSON_SCHEMA])
def test_max_items_stops_reading(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    doc = {"items": many_ideas(80)}
    text = oa.as_text(doc)
    script = script_for(mode, doc)
    third = text.index('{"title":"Idea 3"')
    stop = frame_at(mode, text, third) + 2
    script.gate(stop)
    script.gate_timeout = 5
    server.add(script)
    client = ss.from_openai(sync_client, mode=mode)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], max_items=2
    )
    partials = list(stream)
    final = stream.get_final_response()
    assert final == [Idea(**i) for i in doc["items"][:2]]
    assert all(len(p) <= 3 for p in partials)
    ex = server.last
    assert ex.done.wait(5) and ex.disconnected and ex.disconnected_at is not None
    assert ex.disconnected_at <= stop < ex.total_chunks


def test_max_items_with_create_iterable(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    server.add(script_for(ss.Mode.TOOLS, {"items": many_ideas(40)}))
    client = ss.from_openai(sync_client)
    items = list(
        client.chat.completions.create_iterable(
            model="m", messages=MSGS, response_model=Idea, max_items=3
        )
    )
    assert [i.title for i in items] == ["Idea 0", "Idea 1", "Idea 2"]


def test_user_close_hangs_up(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    script = script_for(ss.Mode.TOOLS, {"items": many_ideas(40)})
    script.gate(30)
    server.add(script)
    client = ss.from_openai(sync_client)
    with client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], mode="tools"
    ) as stream:
        for _partial in stream:
            break
    ex = server.last
    assert ex.done.wait(5) and ex.disconnected and ex.chunks_sent <= 30


# -- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [ss.Mode.TOOLS, ss.Mode.JSON, ss.Mode.RESPONSES_JSON_SCHEMA])
def test_max_retries_reasks_and_restarts(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    doc, text, bad_at = _bad_doc(5)
    bad = script_for(mode, doc)
    stop = frame_at(mode, text, bad_at) + 2
    bad.gate(stop)
    bad.gate_timeout = 5
    server.add(bad, script_for(mode))
    client = ss.from_openai(sync_client, mode=mode)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], max_retries=1
    )
    events = list(stream.events())
    restarts = [e for e in events if isinstance(e, RestartEvent)]
    assert len(restarts) == 1 and restarts[0].attempt == 1
    assert isinstance(restarts[0].error, ss.StreamValidationError)
    assert stream.restarts == 1 and stream.get_final_response() == EXPECTED
    # partials before the restart belong to the bad attempt, after it to the good one
    before = events[: events.index(restarts[0])]
    assert any(isinstance(e, PartialEvent) for e in before)
    assert isinstance(events[-1], FinalEvent)
    first, second = server.exchanges
    assert first.disconnected and first.disconnected_at == stop  # fail fast, then re-ask
    key = "input" if kind_of(mode) == "responses" else "messages"
    convo = second.json[key]
    assert convo[-2]["role"] == "assistant" and convo[-2]["content"].startswith('{"items"')
    assert convo[-1]["role"] == "user" and "140" in convo[-1]["content"]


async def test_async_max_retries(server: ReplayServer, async_client: openai.AsyncOpenAI) -> None:
    doc, _, _ = _bad_doc(5)
    server.add(script_for(ss.Mode.TOOLS, doc), script_for(ss.Mode.TOOLS))
    client = ss.from_openai(async_client)
    stream = client.chat.completions.create_with_stream(
        model="m", messages=MSGS, response_model=list[Idea], max_retries=1
    )
    events = [e async for e in stream.events()]
    assert sum(isinstance(e, RestartEvent) for e in events) == 1
    assert stream.restarts == 1 and await stream.get_final_response() == EXPECTED


def test_retries_exhausted_raise(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    doc, _, _ = _bad_doc(5)
    server.add(script_for(ss.Mode.TOOLS, doc), script_for(ss.Mode.TOOLS, doc))
    client = ss.from_openai(sync_client)
    with pytest.raises(ss.StreamValidationError):
        client.chat.completions.create(
            model="m", messages=MSGS, response_model=list[Idea], max_retries=1
        )
    assert len(server.exchanges) == 2


# -- finish reasons, refusals, errors --------------------------------------------------------------


@pytest.mark.parametrize(
    "mode", [ss.Mode.JSON_SCHEMA, ss.Mode.TOOLS, ss.Mode.RESPONSES_JSON_SCHEMA]
)
def test_length_is_incomplete_output(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    text = oa.as_text(DOC)
    cut = text[: text.index('{"title":"Share') + 12]  # two items complete, the third cut
    if kind_of(mode) == "responses":
        server.add(script_for(mode, cut, incomplete_reason="max_output_tokens"))
    else:
        server.add(script_for(mode, cut, finish_reason="length"))
    client = ss.from_openai(sync_client, mode=mode)
    with pytest.raises(ss.IncompleteOutputError) as info:
        client.chat.completions.create(
            model="m", messages=MSGS, response_model=list[Idea], max_tokens=50
        )
    assert info.value.completed_items == EXPECTED[:2]
    assert info.value.last_partial is not None and len(info.value.last_partial) == 3
    body = server.last.json
    assert body.get("max_tokens", body.get("max_output_tokens")) == 50


@pytest.mark.parametrize("mode", [ss.Mode.JSON_SCHEMA, ss.Mode.RESPONSES_JSON_SCHEMA])
def test_refusal(server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode) -> None:
    server.add(
        oa.chat_refusal_script("I can't help with that.")
        if kind_of(mode) == "chat"
        else oa.responses_refusal_script("I can't help with that.")
    )
    client = ss.from_openai(sync_client, mode=mode)
    with pytest.raises(ss.RefusalError) as info:
        client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])
    assert info.value.refusal == "I can't help with that."


@pytest.mark.parametrize(
    ("status", "exc"), [(500, openai.InternalServerError), (429, openai.RateLimitError)]
)
def test_http_errors_surface_as_sdk_errors(
    server: ReplayServer, sync_client: openai.OpenAI, status: int, exc: type
) -> None:
    server.add(oa.error_script(status, "replayed failure"))
    client = ss.from_openai(sync_client)
    with pytest.raises(exc, match="replayed failure"):
        client.responses.stream(
            model="m", messages=MSGS, response_model=list[Idea]
        ).get_final_response()


async def test_async_http_error(server: ReplayServer, async_client: openai.AsyncOpenAI) -> None:
    server.add(oa.error_script(500))
    client = ss.from_openai(async_client)
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])


@pytest.mark.parametrize("mode", [ss.Mode.TOOLS, ss.Mode.RESPONSES_JSON_SCHEMA])
def test_dropped_connection_is_an_error_not_a_hang(
    server: ReplayServer, sync_client: openai.OpenAI, mode: ss.Mode
) -> None:
    server.add(script_for(mode, drop_after=20))
    client = ss.from_openai(sync_client, mode=mode)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])
    assert server.last.dropped


async def test_async_dropped_connection(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    server.add(script_for(ss.Mode.TOOLS, drop_after=20))
    client = ss.from_openai(async_client)
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])


def test_stream_without_done_is_an_error(server: ReplayServer, sync_client: openai.OpenAI) -> None:
    server.add(script_for(ss.Mode.TOOLS, truncate_after=20))
    client = ss.from_openai(sync_client)
    with pytest.raises(ss.ProviderError, match="ended early"):
        client.chat.completions.create(model="m", messages=MSGS, response_model=list[Idea])


# -- closing from elsewhere never hangs ------------------------------------------------------------


def test_close_from_another_thread_unblocks_a_blocked_read(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    import threading

    script = script_for(ss.Mode.TOOLS, {"items": many_ideas(40)})
    script.gate(30)  # the server stalls here; the reader blocks in a socket read
    server.add(script)
    client = ss.from_openai(sync_client)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], mode="tools"
    )
    reading = threading.Event()
    outcome: list[Any] = []

    def read() -> None:
        try:
            for _ in stream:
                reading.set()
            outcome.append("ended")
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert reading.wait(5)  # the upstream is open and being read
    assert server.last.wait_sent(30)
    stream.close()
    reader.join(5)
    assert not reader.is_alive(), "the reader hung after close()"
    assert server.last.done.wait(5) and server.last.disconnected
    assert outcome == ["ended"]  # a user close() ends the iteration quietly
    with pytest.raises(ss.StreamClosed):
        stream.get_final_response()


def test_close_while_the_request_is_in_flight(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    import threading

    script = script_for(ss.Mode.TOOLS, {"items": many_ideas(40)})
    script.head_gate = threading.Event()  # the reader waits inside open_stream()
    script.gate(30)
    script.gate_timeout = 3
    server.add(script)
    client = ss.from_openai(sync_client)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], mode="tools"
    )
    outcome: list[Any] = []

    def read() -> None:
        try:
            outcome.append(sum(1 for _ in stream))
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert server.wait_requests(1)
    stream.close()  # the user gives up before the first byte arrived
    script.head_gate.set()
    reader.join(10)
    assert server.last.done.wait(5)
    # the server buffers up to its gate (30) before it can notice; without the fix it sends all
    assert server.last.disconnected and server.last.chunks_sent <= 30


async def test_cancelling_the_task_closes_the_response(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    script = script_for(ss.Mode.TOOLS, {"items": many_ideas(40)})
    script.gate(30)
    server.add(script)
    client = ss.from_openai(async_client)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in client.chat.completions.create_partial(
            model="m", messages=MSGS, response_model=list[Idea]
        ):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    assert await asyncio.to_thread(server.last.wait_sent, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.last.done.wait, 5)
    assert server.last.disconnected and server.last.chunks_sent <= 30


def test_retry_after_a_final_only_validation_error(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    """A rule that only the whole object can break (a model validator) is checked at the end;
    max_retries re-asks for that too."""
    from pydantic import BaseModel, model_validator

    class Plan(BaseModel):
        steps: list[str]
        total: int

        @model_validator(mode="after")
        def total_matches(self) -> Plan:
            if self.total != len(self.steps):
                raise ValueError("total must equal the number of steps")
            return self

    bad = {"steps": ["a", "b"], "total": 3}
    good = {"steps": ["a", "b"], "total": 2}
    server.add(script_for(ss.Mode.TOOLS, bad), script_for(ss.Mode.TOOLS, good))
    client = ss.from_openai(sync_client)
    stream = client.chat.completions.create_with_stream(
        model="m", messages=MSGS, response_model=Plan, max_retries=1
    )
    events = list(stream.events())
    restarts = [e for e in events if isinstance(e, RestartEvent)]
    assert len(restarts) == 1 and "total must equal" in str(restarts[0].error)
    assert stream.get_final_response() == Plan(**good) and stream.restarts == 1
    reask = server.exchanges[1].json["messages"][-1]["content"]
    assert "total must equal" in reask


async def test_async_retry_after_a_final_only_validation_error(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    from pydantic import BaseModel, model_validator

    class Plan(BaseModel):
        steps: list[str]
        total: int

        @model_validator(mode="after")
        def total_matches(self) -> Plan:
            if self.total != len(self.steps):
                raise ValueError("total must equal the number of steps")
            return self

    server.add(
        script_for(ss.Mode.RESPONSES_JSON_SCHEMA, {"steps": ["a"], "total": 5}),
        script_for(ss.Mode.RESPONSES_JSON_SCHEMA, {"steps": ["a"], "total": 1}),
    )
    client = ss.from_openai(async_client)
    plan = await client.responses.create(
        model="m", messages=MSGS, response_model=Plan, max_retries=1
    )
    assert plan == Plan(steps=["a"], total=1) and len(server.exchanges) == 2


async def test_async_close_while_the_request_is_in_flight(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    import threading

    script = script_for(ss.Mode.TOOLS, {"items": many_ideas(40)})
    script.head_gate = threading.Event()
    script.gate(30)
    script.gate_timeout = 3
    server.add(script)
    client = ss.from_openai(async_client)
    stream = client.responses.stream(
        model="m", messages=MSGS, response_model=list[Idea], mode="tools"
    )

    async def consume() -> int:
        return sum([1 async for _ in stream])

    task = asyncio.create_task(consume())
    assert await asyncio.to_thread(server.wait_requests, 1)
    await stream.aclose()
    script.head_gate.set()
    await asyncio.wait_for(task, 10)
    assert await asyncio.to_thread(server.last.done.wait, 5)
    assert server.last.disconnected and server.last.chunks_sent <= 30  # stopped at the gate


async def test_async_close_from_another_task_mid_body(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    script = script_for(ss.Mode.RESPONSES_JSON_SCHEMA, {"items": many_ideas(40)})
    script.gate(30)
    server.add(script)
    client = ss.from_openai(async_client)
    stream = client.responses.stream(model="m", messages=MSGS, response_model=list[Idea])
    reading = asyncio.Event()

    async def consume() -> str:
        async for _ in stream:
            reading.set()
        return "ended"

    task = asyncio.create_task(consume())
    await asyncio.wait_for(reading.wait(), 5)
    assert await asyncio.to_thread(server.last.wait_sent, 30)
    await stream.aclose()
    assert await asyncio.wait_for(task, 5) == "ended"
    assert await asyncio.to_thread(server.last.done.wait, 5)
    assert server.last.disconnected and server.last.chunks_sent <= 30


def test_create_stream_true_with_a_single_model_yields_partials(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    server.add(script_for(ss.Mode.TOOLS, IDEAS[0]))
    client = ss.from_openai(sync_client)
    partials = list(
        client.chat.completions.create(model="m", messages=MSGS, response_model=Idea, stream=True)
    )
    assert len(partials) > 5 and partials[-1] == EXPECTED[0]
    titles = [p.title for p in partials if getattr(p, "title", None)]
    assert titles[0] != titles[-1] and EXPECTED[0].title.startswith(titles[0])
