"""OpenAIProvider on its own: request shapes per mode, deltas over HTTP from the replay server
through the real SDK (fast raw-SSE path and SDK-object fallback), errors, early EOF, close."""

from __future__ import annotations

import json
from typing import Any

import pytest

import openai
from schemastream.errors import ConfigurationError, ProviderError
from schemastream.providers.base import Delta, Mode, Usage
from schemastream.providers.openai import OpenAIProvider, client_from_env
from schemastream.schema import ResponseSpec
from tests.models import DOC, Idea
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer, Script, sse_frame

SPEC = ResponseSpec.from_type(list[Idea])
MSGS = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]
CHAT_MODES = [Mode.TOOLS, Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON]
RESP_MODES = [Mode.RESPONSES_JSON_SCHEMA, Mode.RESPONSES_TOOLS]


def script_for(mode: Mode, doc: Any = DOC, n: int = 4, **kw: Any) -> Script:
    if mode == Mode.TOOLS:
        return oa.chat_tool_script(doc, n, name=SPEC.name, **kw)
    if mode in (Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON):
        return oa.chat_content_script(doc, n, **kw)
    if mode == Mode.RESPONSES_TOOLS:
        return oa.responses_tool_script(doc, n, name=SPEC.name, **kw)
    return oa.responses_text_script(doc, n, **kw)


def collect(provider: OpenAIProvider, mode: Mode, **kwargs: Any) -> list[Delta]:
    kwargs.setdefault("model", "gpt-4o-mini")
    kwargs.setdefault("messages", MSGS)
    request = provider.build_request(SPEC, mode, kwargs)
    stream = provider.open_stream(request)
    try:
        return list(stream)
    finally:
        stream.close()


async def acollect(provider: OpenAIProvider, mode: Mode, **kwargs: Any) -> list[Delta]:
    kwargs.setdefault("model", "gpt-4o-mini")
    kwargs.setdefault("messages", MSGS)
    request = provider.build_request(SPEC, mode, kwargs)
    stream = await provider.aopen_stream(request)
    try:
        return [d async for d in stream]
    finally:
        await stream.aclose()


def text_of(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


# -- request shapes (sans-IO) ----------------------------------------------------------------


def test_defaults_and_async_detection(sync_client: openai.OpenAI) -> None:
    p = OpenAIProvider(sync_client)
    assert p.default_mode == Mode.TOOLS and p.default_responses_mode == Mode.RESPONSES_JSON_SCHEMA
    assert not p.is_async and p.name == "openai"
    assert OpenAIProvider(openai.AsyncOpenAI(api_key="x")).is_async
    p = OpenAIProvider(sync_client, mode="json")
    assert p.default_mode == Mode.JSON == p.default_responses_mode
    with pytest.raises(ValueError):
        OpenAIProvider(sync_client, mode="nope")


def test_tools_request_shape() -> None:
    p = OpenAIProvider(openai.OpenAI(api_key="x"))
    req = p.build_request(SPEC, Mode.TOOLS, {"model": "m", "messages": MSGS, "temperature": 0.2})
    kw = req.kwargs
    assert req.kind == "chat" and req.mode == Mode.TOOLS
    assert kw["tools"] == [
        {
            "type": "function",
            "function": {
                "name": SPEC.name,
                "description": SPEC.description,
                "parameters": SPEC.strict_json_schema,
                "strict": True,
            },
        }
    ]
    assert kw["tool_choice"] == {"type": "function", "function": {"name": SPEC.name}}
    assert kw["stream"] is True and kw["stream_options"] == {"include_usage": True}
    assert kw["temperature"] == 0.2 and kw["messages"] == MSGS and "parallel_tool_calls" not in kw


def test_json_schema_json_md_request_shapes() -> None:
    p = OpenAIProvider(openai.OpenAI(api_key="x"))
    kw = p.build_request(SPEC, Mode.JSON_SCHEMA, {"model": "m", "messages": MSGS}).kwargs
    assert kw["response_format"]["type"] == "json_schema"
    js = kw["response_format"]["json_schema"]
    assert (
        js["strict"] is True and js["schema"] == SPEC.strict_json_schema and js["name"] == SPEC.name
    )
    assert "tools" not in kw
    kw = p.build_request(SPEC, Mode.JSON, {"model": "m", "messages": MSGS}).kwargs
    assert kw["response_format"] == {"type": "json_object"}
    assert kw["messages"][0] == {"role": "system", "content": SPEC.prompt()}
    assert kw["messages"][1:] == MSGS
    sys_first = [{"role": "system", "content": "Be brief."}, *MSGS]
    kw = p.build_request(SPEC, Mode.MD_JSON, {"model": "m", "messages": sys_first}).kwargs
    assert "response_format" not in kw
    assert kw["messages"][0]["content"] == "Be brief.\n\n" + SPEC.md_prompt()
    assert sys_first[0]["content"] == "Be brief."  # the caller's messages are not mutated


def test_chat_accepts_responses_style_input() -> None:
    p = OpenAIProvider(openai.OpenAI(api_key="x"))
    kw = p.build_request(
        SPEC,
        Mode.TOOLS,
        {"model": "m", "input": "hi", "instructions": "sys", "max_output_tokens": 9},
    ).kwargs
    assert kw["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    assert kw["max_tokens"] == 9 and "input" not in kw and "instructions" not in kw


def test_responses_request_shapes() -> None:
    p = OpenAIProvider(openai.OpenAI(api_key="x"))
    req = p.build_request(
        SPEC,
        Mode.RESPONSES_JSON_SCHEMA,
        {"model": "m", "messages": MSGS, "instructions": "be nice", "max_tokens": 100},
    )
    kw = req.kwargs
    assert req.kind == "responses"
    assert kw["input"] == MSGS and kw["instructions"] == "be nice"
    assert kw["max_output_tokens"] == 100 and "max_tokens" not in kw and "messages" not in kw
    assert kw["text"] == {
        "format": {
            "type": "json_schema",
            "name": SPEC.name,
            "description": SPEC.description,
            "schema": SPEC.strict_json_schema,
            "strict": True,
        }
    }
    assert kw["stream"] is True and "stream_options" not in kw
    kw = p.build_request(SPEC, Mode.RESPONSES_TOOLS, {"model": "m", "input": "hi"}).kwargs
    assert kw["input"] == "hi"
    assert kw["tools"] == [
        {
            "type": "function",
            "name": SPEC.name,
            "description": SPEC.description,
            "parameters": SPEC.strict_json_schema,
            "strict": True,
        }
    ]
    assert kw["tool_choice"] == {"type": "function", "name": SPEC.name}


def test_reask_appends_bad_output_and_errors() -> None:
    class Err(Exception):
        def errors(self) -> list[dict[str, Any]]:
            return [
                {
                    "loc": ("items", 0, "blurb"),
                    "msg": "String should have at most 140 characters",
                    "type": "string_too_long",
                }
            ]

    p = OpenAIProvider(openai.OpenAI(api_key="x"))
    req = p.build_request(SPEC, Mode.TOOLS, {"model": "m", "messages": MSGS})
    again = p.reask(req, '{"items": [', Err())
    msgs = again.kwargs["messages"]
    assert msgs[: len(MSGS)] == MSGS and len(req.kwargs["messages"]) == len(MSGS)
    assert msgs[-2] == {"role": "assistant", "content": '{"items": ['}
    assert msgs[-1]["role"] == "user"
    assert "items.0.blurb" in msgs[-1]["content"] and "140" in msgs[-1]["content"]
    assert again.kwargs["tools"] == req.kwargs["tools"] and again.mode == Mode.TOOLS
    r = p.build_request(SPEC, Mode.RESPONSES_JSON_SCHEMA, {"model": "m", "input": "hi"})
    again = p.reask(r, "{", ValueError("boom"))
    assert again.kwargs["input"][0] == {"role": "user", "content": "hi"}
    assert (
        again.kwargs["input"][-1]["role"] == "user"
        and "boom" in again.kwargs["input"][-1]["content"]
    )


def test_client_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    c = client_from_env()
    assert isinstance(c, openai.OpenAI) and str(c.base_url).startswith("http://127.0.0.1:9/v1")
    assert isinstance(client_from_env(use_async=True), openai.AsyncOpenAI)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        client_from_env()


# -- streaming over HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", CHAT_MODES + RESP_MODES)
@pytest.mark.parametrize("fast", [True, False])
def test_stream_every_mode(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode, fast: bool
) -> None:
    server.add(script_for(mode))
    deltas = collect(OpenAIProvider(sync_client, fast=fast), mode)
    assert json.loads(text_of(deltas)) == DOC
    assert [d.finish_reason for d in deltas].count(None) == len(deltas) - 1
    assert deltas[-1] == Delta(finish_reason="stop", usage=Usage(11, 22, 0, 0))
    body = server.last.json
    assert body["stream"] is True
    if mode in RESP_MODES:
        assert server.last.path == "/v1/responses" and body["input"] == MSGS
    else:
        assert server.last.path == "/v1/chat/completions" and body["messages"][-1] == MSGS[0]
        assert body["stream_options"] == {"include_usage": True}
    assert server.last.completed and not server.last.disconnected


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA] + RESP_MODES)
def test_fast_and_sdk_paths_yield_the_same_deltas(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode
) -> None:
    server.add(script_for(mode, n=3), script_for(mode, n=3))
    fast = collect(OpenAIProvider(sync_client, fast=True), mode)
    slow = collect(OpenAIProvider(sync_client, fast=False), mode)
    assert fast == slow and len(fast) > 20


def test_fallback_when_raw_response_is_unavailable(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    class NoRaw:
        """An SDK-shaped wrapper without ``with_streaming_response``."""

        def __init__(self, inner: Any) -> None:
            self.create = inner.create

    class Wrapped:
        def __init__(self, c: openai.OpenAI) -> None:
            self.chat = type("Chat", (), {"completions": NoRaw(c.chat.completions)})()
            self.responses = NoRaw(c.responses)

    server.add(script_for(Mode.TOOLS))
    p = OpenAIProvider(Wrapped(sync_client))
    assert not p.is_async
    assert json.loads(text_of(collect(p, Mode.TOOLS))) == DOC


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.JSON_SCHEMA] + RESP_MODES)
@pytest.mark.parametrize("fast", [True, False])
async def test_async_stream(
    server: ReplayServer, async_client: openai.AsyncOpenAI, mode: Mode, fast: bool
) -> None:
    server.add(script_for(mode))
    deltas = await acollect(OpenAIProvider(async_client, fast=fast), mode)
    assert json.loads(text_of(deltas)) == DOC
    assert deltas[-1] == Delta(finish_reason="stop", usage=Usage(11, 22, 0, 0))


def test_sync_api_on_async_client_is_a_type_error(async_client: openai.AsyncOpenAI) -> None:
    p = OpenAIProvider(async_client)
    with pytest.raises(TypeError):
        p.open_stream(p.build_request(SPEC, Mode.TOOLS, {"model": "m", "messages": MSGS}))


def test_frames_split_across_network_reads(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    whole = b"".join(oa.chat_tool_frames(DOC, 4, name=SPEC.name)).replace(b"\n\n", b"\r\n\r\n")
    server.add(Script(chunks=[whole[i : i + 7] for i in range(0, len(whole), 7)]))
    deltas = collect(OpenAIProvider(sync_client), Mode.TOOLS)
    assert json.loads(text_of(deltas)) == DOC and deltas[-1].finish_reason == "stop"


# -- finish reasons, refusals, usage ------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False])
def test_length_finish(server: ReplayServer, sync_client: openai.OpenAI, fast: bool) -> None:
    server.add(oa.chat_content_script('{"items": [{"title": "a"', finish_reason="length"))
    server.add(oa.responses_text_script('{"items": [', incomplete_reason="max_output_tokens"))
    p = OpenAIProvider(sync_client, fast=fast)
    assert collect(p, Mode.JSON_SCHEMA)[-1].finish_reason == "length"
    assert collect(p, Mode.RESPONSES_JSON_SCHEMA)[-1].finish_reason == "length"


@pytest.mark.parametrize("fast", [True, False])
def test_refusals(server: ReplayServer, sync_client: openai.OpenAI, fast: bool) -> None:
    server.add(oa.chat_refusal_script("No can do."), oa.responses_refusal_script("No can do."))
    p = OpenAIProvider(sync_client, fast=fast)
    for mode in (Mode.JSON_SCHEMA, Mode.RESPONSES_JSON_SCHEMA):
        deltas = collect(p, mode)
        assert text_of(deltas) == ""
        assert deltas[-1].refusal == "No can do." and deltas[-1].finish_reason == "refusal"


def test_no_usage_chunk_when_not_requested(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    server.add(oa.chat_content_script(DOC, include_usage=False))
    deltas = collect(
        OpenAIProvider(sync_client), Mode.JSON, stream_options={"include_usage": False}
    )
    assert server.last.json["stream_options"] == {"include_usage": False}
    assert deltas[-1] == Delta(finish_reason="stop")


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (500, openai.InternalServerError),
        (429, openai.RateLimitError),
        (400, openai.BadRequestError),
    ],
)
@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.RESPONSES_JSON_SCHEMA])
@pytest.mark.parametrize("fast", [True, False])
def test_http_errors_are_the_sdks_own(
    server: ReplayServer, sync_client: openai.OpenAI, status: int, exc: type, mode: Mode, fast: bool
) -> None:
    server.add(oa.error_script(status, "nope from replay"))
    p = OpenAIProvider(sync_client, fast=fast)
    with pytest.raises(exc, match="nope from replay") as info:
        p.open_stream(p.build_request(SPEC, mode, {"model": "m", "messages": MSGS}))
    assert info.value.status_code == status


async def test_async_http_error(server: ReplayServer, async_client: openai.AsyncOpenAI) -> None:
    server.add(oa.error_script(500))
    with pytest.raises(openai.InternalServerError):
        await acollect(OpenAIProvider(async_client), Mode.TOOLS)


@pytest.mark.parametrize("fast", [True, False])
def test_mid_stream_error_events(
    server: ReplayServer, sync_client: openai.OpenAI, fast: bool
) -> None:
    frames = oa.chat_content_frames(DOC)[:5] + [oa.stream_error_frame("overloaded")]
    server.add(Script(chunks=frames), Script(chunks=oa.responses_failed_frames("it broke")))
    p = OpenAIProvider(sync_client, fast=fast)
    with pytest.raises(openai.APIError, match="overloaded"):
        collect(p, Mode.JSON_SCHEMA)
    with pytest.raises(openai.APIError, match="it broke"):
        collect(p, Mode.RESPONSES_JSON_SCHEMA)


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.RESPONSES_TOOLS])
@pytest.mark.parametrize("fast", [True, False])
def test_early_eof_is_a_provider_error(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode, fast: bool
) -> None:
    server.add(script_for(mode, truncate_after=10))
    with pytest.raises(ProviderError, match="ended early"):
        collect(OpenAIProvider(sync_client, fast=fast), mode)


def test_eof_after_finish_reason_without_done_is_accepted(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    """Some OpenAI-compatible servers omit ``[DONE]``; the model had finished, so no error."""
    server.add(oa.chat_tool_script(DOC, name=SPEC.name, done=False))
    deltas = collect(OpenAIProvider(sync_client), Mode.TOOLS)
    assert json.loads(text_of(deltas)) == DOC and deltas[-1].finish_reason == "stop"


def test_eof_between_finish_reason_and_usage_is_a_provider_error(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    """Usage was requested and never came, nor [DONE]: the body was cut, not complete."""
    server.add(oa.chat_tool_script(DOC, name=SPEC.name, usage=None, done=False))
    with pytest.raises(ProviderError, match="ended early"):
        collect(OpenAIProvider(sync_client), Mode.TOOLS)
    assert server.last.json["stream_options"] == {"include_usage": True}


def test_eof_after_finish_reason_without_usage_requested_is_accepted(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    server.add(
        oa.chat_tool_script(DOC, name=SPEC.name, usage=None, include_usage=False, done=False)
    )
    deltas = collect(
        OpenAIProvider(sync_client), Mode.TOOLS, stream_options={"include_usage": False}
    )
    assert json.loads(text_of(deltas)) == DOC and deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage is None


async def test_async_eof_between_finish_reason_and_usage_is_a_provider_error(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    server.add(oa.chat_tool_script(DOC, name=SPEC.name, usage=None, done=False))
    with pytest.raises(ProviderError, match="ended early"):
        await acollect(OpenAIProvider(async_client), Mode.TOOLS)


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.RESPONSES_JSON_SCHEMA])
@pytest.mark.parametrize("fast", [True, False])
def test_dropped_connection(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode, fast: bool
) -> None:
    server.add(script_for(mode, drop_after=8))
    with pytest.raises(openai.APIConnectionError) as info:
        collect(OpenAIProvider(sync_client, fast=fast), mode)
    assert server.last.dropped
    if fast:  # same class the other providers raise for a lost connection
        assert isinstance(info.value, ProviderError)


async def test_async_dropped_and_truncated(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    server.add(script_for(Mode.TOOLS, drop_after=8), script_for(Mode.TOOLS, truncate_after=8))
    p = OpenAIProvider(async_client)
    with pytest.raises(openai.APIConnectionError):
        await acollect(p, Mode.TOOLS)
    with pytest.raises(ProviderError, match="ended early"):
        await acollect(p, Mode.TOOLS)


def test_malformed_event_is_a_provider_error(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    frames = oa.chat_content_frames(DOC)[:3] + [sse_frame('{"choices": [')]
    server.add(Script(chunks=frames))
    with pytest.raises(ProviderError, match="malformed"):
        collect(OpenAIProvider(sync_client), Mode.JSON)


# -- close() stops the server sending ----------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.TOOLS, Mode.RESPONSES_JSON_SCHEMA])
@pytest.mark.parametrize("fast", [True, False])
def test_close_hangs_up_at_once(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode, fast: bool
) -> None:
    script = script_for(mode, n=2)
    script.gate(20)  # the server holds chunk 20 back until the client hangs up
    server.add(script)
    p = OpenAIProvider(sync_client, fast=fast)
    stream = p.open_stream(p.build_request(SPEC, mode, {"model": "m", "messages": MSGS}))
    it = iter(stream)
    first = next(it)
    assert first.text
    stream.close()
    ex = server.last
    assert ex.done.wait(5), "server still waiting: the response was not closed"
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent <= 20 < ex.total_chunks
    assert list(it) == []  # a closed stream just ends


async def test_async_close_hangs_up_at_once(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    script = script_for(Mode.TOOLS, n=2)
    script.gate(20)
    server.add(script)
    p = OpenAIProvider(async_client)
    stream = await p.aopen_stream(
        p.build_request(SPEC, Mode.TOOLS, {"model": "m", "messages": MSGS})
    )
    it = stream.__aiter__()
    assert (await it.__anext__()).text
    await stream.aclose()
    import asyncio

    assert await asyncio.to_thread(server.last.done.wait, 5)
    assert server.last.disconnected and server.last.chunks_sent <= 20


# -- SSE framing -----------------------------------------------------------------------------


def _sse_data(chunks: list[bytes]) -> list[bytes]:
    """Each SSE event's ``data`` as the OpenAI decoder reads the body (``[DONE]`` tail rule)."""
    from schemastream.providers._sse import iter_sse
    from schemastream.providers.openai import _done_tail

    return [data for _event, data in iter_sse(chunks, _done_tail)]


def test_sse_framing_edge_cases() -> None:
    raw = (
        b": keep-alive comment\n\n"
        b'event: x\ndata: {"a":1}\n\n'
        b'data:{"b":2}\r\n\r\n'
        b"data: line1\ndata: line2\n\n"
        b"id: 7\nretry: 10\ndata: [DONE]"  # no trailing newline at EOF
    )
    for size in (1, 3, 7, len(raw)):
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert list(_sse_data(chunks)) == [b'{"a":1}', b'{"b":2}', b"line1\nline2", b"[DONE]"]
    # an event cut off mid-line at EOF is dropped, not half-parsed
    assert list(_sse_data([b'data: {"a":1}\n\ndata: {"b"'])) == [b'{"a":1}']


@pytest.mark.parametrize("fast", [True, False])
def test_close_from_another_thread_wakes_a_blocked_read(
    server: ReplayServer, sync_client: openai.OpenAI, fast: bool
) -> None:
    """On Linux closing a socket does not wake a thread blocked in recv(): close() shuts the
    socket down first (the SDK-object path hung here before)."""
    import threading

    script = script_for(Mode.TOOLS, n=2)
    script.gate(30)
    server.add(script)
    p = OpenAIProvider(sync_client, fast=fast)
    stream = p.open_stream(p.build_request(SPEC, Mode.TOOLS, {"model": "m", "messages": MSGS}))
    got: list[Delta] = []
    ended = threading.Event()

    def read() -> None:
        for d in stream:
            got.append(d)
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ex = server.wait_requests(1) and server.last
    assert ex and ex.wait_sent(30)
    deadline = 200
    while len(got) < 29 and deadline:  # every piece sent so far was read: next is recv()
        ended.wait(0.01)
        deadline -= 1
    assert len(got) == 29
    stream.close()
    assert ended.wait(5), "the reader is still blocked after close()"
    assert ex.done.wait(5) and ex.disconnected and ex.chunks_sent == 30


def test_client_from_env_without_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openai", None)  # "import openai" now raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install 'schemastream\[openai\]'"):
        client_from_env()


def test_raw_utf8_split_inside_a_character(
    server: ReplayServer, sync_client: openai.OpenAI
) -> None:
    """OpenAI sends raw UTF-8; a network read may end inside a multi-byte character."""
    doc = {"items": [{"title": "Café ☕ 😀", "blurb": "naïve — “quoted” 日本語"}]}
    raw = []  # every frame's JSON re-encoded with raw UTF-8 instead of \\u escapes
    for f in oa.chat_content_frames(doc, 3):
        payload = f[len(b"data: ") : -2]
        if payload != b"[DONE]":
            payload = json.dumps(json.loads(payload), ensure_ascii=False).encode()
        raw.append(b"data: " + payload + b"\n\n")
    whole = b"".join(raw)
    server.add(Script(chunks=[whole[i : i + 5] for i in range(0, len(whole), 5)]))
    deltas = collect(OpenAIProvider(sync_client), Mode.JSON_SCHEMA)
    assert json.loads(text_of(deltas)) == doc


# Not (TOOLS, fast=False): the SDK's own sync chat Stream closes the response at [DONE]
# without reading on, so its connection is not reused; nothing of ours to test there.
@pytest.mark.parametrize(
    ("mode", "fast"),
    [(Mode.TOOLS, True), (Mode.RESPONSES_JSON_SCHEMA, True), (Mode.RESPONSES_JSON_SCHEMA, False)],
)
def test_a_fully_read_stream_keeps_the_connection_alive(
    server: ReplayServer, sync_client: openai.OpenAI, mode: Mode, fast: bool
) -> None:
    """Reading to the end (past [DONE]) and closing leaves the pooled connection reusable."""
    server.add(script_for(mode), script_for(mode))
    p = OpenAIProvider(sync_client, fast=fast)
    collect(p, mode)
    collect(p, mode)
    first, second = server.exchanges
    assert first.client is not None and first.client == second.client


async def test_async_fully_read_stream_keeps_the_connection_alive(
    server: ReplayServer, async_client: openai.AsyncOpenAI
) -> None:
    server.add(script_for(Mode.TOOLS), script_for(Mode.TOOLS))
    p = OpenAIProvider(async_client)
    await acollect(p, Mode.TOOLS)
    await acollect(p, Mode.TOOLS)
    assert server.exchanges[0].client == server.exchanges[1].client
