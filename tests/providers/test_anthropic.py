"""AnthropicProvider against the real ``anthropic`` SDK over HTTP (replay server on 127.0.0.1)."""

from __future__ import annotations

import json
import sys

import anthropic
import pytest

from schemastream.errors import ConfigurationError, ProviderError, StreamValidationError
from schemastream.providers.anthropic import AnthropicProvider, client_from_env
from schemastream.providers.base import Delta, Mode, Usage
from schemastream.schema import ResponseSpec
from tests.replay import anthropic_server as A
from tests.replay.base import ReplayServer, Script, rechunk

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "One idea please."},
]
PIECES = ['{"title": "Sol', "ar kettle", '", "score": 7}']
DOC = "".join(PIECES)


def _texts(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


def _finals(deltas: list[Delta]) -> list[Delta]:
    return [d for d in deltas if d.finish_reason is not None]


# -- the wire format: the SDK's own parser accepts our frames --------------------------------


def test_sdk_accepts_tool_stream_frames(server: ReplayServer) -> None:
    server.add(A.tool_script(PIECES, name="Idea"), A.tool_script(PIECES, name="Idea"))
    client = A.make_client(server)
    with client.messages.stream(model="m", max_tokens=10, messages=[]) as stream:
        message = stream.get_final_message()
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "Idea"
    assert block.input == json.loads(DOC)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 42)

    events = list(client.messages.create(model="m", max_tokens=10, messages=[], stream=True))
    assert [type(e).__name__ for e in events] == [
        "RawMessageStartEvent",
        "RawContentBlockStartEvent",
        "RawContentBlockDeltaEvent",
        "RawContentBlockDeltaEvent",
        "RawContentBlockDeltaEvent",
        "RawContentBlockStopEvent",
        "RawMessageDeltaEvent",
        "RawMessageStopEvent",
    ]


def test_sdk_accepts_text_stream_and_error_frames(server: ReplayServer) -> None:
    server.add(A.text_script(["Here: ", DOC]))
    client = A.make_client(server)
    with client.messages.stream(model="m", max_tokens=10, messages=[]) as stream:
        assert "".join(stream.text_stream) == "Here: " + DOC
    chunks = A.text_chunks(["x"], end=False) + [A.error_event()]
    server.add(Script(chunks=chunks))
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):
        list(client.messages.create(model="m", max_tokens=10, messages=[], stream=True))


# -- request shaping -------------------------------------------------------------------------


def test_tools_request_body(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(A.tool_script(PIECES, name=idea_spec.name))
    provider = AnthropicProvider(A.make_client(server))
    assert provider.default_mode == Mode.TOOLS and not provider.is_async
    request = provider.build_request(
        idea_spec, Mode.TOOLS, {"model": "claude-x", "messages": MESSAGES, "temperature": 0}
    )
    list(provider.open_stream(request))
    body = server.last.json
    assert server.last.path == "/v1/messages"
    assert body["stream"] is True
    assert body["model"] == "claude-x" and body["temperature"] == 0
    assert body["max_tokens"] == 4096
    assert body["system"] == "You are terse."
    assert body["messages"] == [{"role": "user", "content": "One idea please."}]
    assert body["tools"] == [
        {
            "name": "Idea",
            "description": "A product idea.",
            "input_schema": idea_spec.json_schema,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "Idea"}


def test_json_request_body(server: ReplayServer, ideas_spec: ResponseSpec) -> None:
    server.add(A.text_script(PIECES))
    provider = AnthropicProvider(A.make_client(server), mode="json")
    assert provider.default_mode == Mode.JSON
    request = provider.build_request(
        ideas_spec, Mode.JSON, {"model": "claude-x", "messages": MESSAGES, "max_tokens": 50}
    )
    list(provider.open_stream(request))
    body = server.last.json
    assert body["max_tokens"] == 50
    assert "tools" not in body and "tool_choice" not in body
    assert body["system"].startswith("You are terse.\n\n")
    assert body["system"].endswith(ideas_spec.prompt())


def test_json_schema_mode_uses_structured_outputs(
    server: ReplayServer, ideas_spec: ResponseSpec
) -> None:
    server.add(A.text_script(PIECES))
    provider = AnthropicProvider(A.make_client(server), mode=Mode.JSON_SCHEMA)
    request = provider.build_request(
        ideas_spec, Mode.JSON_SCHEMA, {"model": "claude-x", "messages": MESSAGES}
    )
    deltas = list(provider.open_stream(request))
    assert _texts(deltas) == DOC
    body = server.last.json
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["properties"]["items"]["items"] == {"$ref": "#/$defs/Idea"}
    idea = fmt["schema"]["$defs"]["Idea"]
    assert idea["additionalProperties"] is False
    assert "maxLength" not in idea["properties"]["title"]  # moved into the description
    assert "tools" not in body and body["system"] == "You are terse."


def test_md_json_prompt_and_aliases(idea_spec: ResponseSpec) -> None:
    provider = AnthropicProvider(anthropic.Anthropic(api_key="x"))
    request = provider.build_request(
        idea_spec,
        Mode.MD_JSON,
        {"model": "m", "input": "hi", "instructions": "be brief", "max_completion_tokens": 9},
    )
    assert request.kwargs["system"] == "be brief\n\n" + idea_spec.md_prompt()
    assert request.kwargs["messages"] == [{"role": "user", "content": "hi"}]
    assert request.kwargs["max_tokens"] == 9


def test_unsupported_mode() -> None:
    with pytest.raises(ConfigurationError, match="not supported"):
        AnthropicProvider(anthropic.Anthropic(api_key="x"), mode=Mode.RESPONSES_TOOLS)


def test_reask_appends_bad_output_and_errors(idea_spec: ResponseSpec) -> None:
    provider = AnthropicProvider(anthropic.Anthropic(api_key="x"))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    error = StreamValidationError(
        [{"type": "string_too_long", "loc": ("title",), "msg": "too long", "input": "x" * 50}]
    )
    again = provider.reask(request, '{"title": "xxxx"}', error)
    assert again.mode == Mode.TOOLS and again.kwargs["tools"] == request.kwargs["tools"]
    assert again.kwargs["messages"][:-2] == request.kwargs["messages"]
    assert again.kwargs["messages"][-2] == {"role": "assistant", "content": '{"title": "xxxx"}'}
    last = again.kwargs["messages"][-1]
    assert last["role"] == "user" and "title: too long" in last["content"]
    assert len(request.kwargs["messages"]) == 1  # the original request is not mutated


# -- deltas, finish reasons, usage -----------------------------------------------------------


def test_tool_deltas_and_usage(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(A.tool_script(PIECES, name=idea_spec.name, input_tokens=5, output_tokens=17))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    deltas = list(provider.open_stream(request))
    usage = Usage(5, 17, cached_input_tokens=0)
    # usage as soon as message_start (output_tokens 1 there) and message_delta report it
    assert deltas == [
        Delta(usage=Usage(5, 1, cached_input_tokens=0)),
        *[Delta(text=p) for p in PIECES],
        Delta(usage=usage),
        Delta(finish_reason="stop", usage=usage),
    ]


def test_text_deltas_split_across_network_reads(
    server: ReplayServer, idea_spec: ResponseSpec
) -> None:
    pieces = ['{"title": "Caf', 'é ☕ naïve", "sc', 'ore": 1}']
    body = b"".join(A.text_chunks(pieces))
    server.add(Script(chunks=rechunk(body, 7)))  # frames and UTF-8 split at any byte
    provider = AnthropicProvider(A.make_client(server), mode=Mode.JSON)
    request = provider.build_request(idea_spec, Mode.JSON, {"model": "m", "messages": MESSAGES})
    deltas = list(provider.open_stream(request))
    assert _texts(deltas) == "".join(pieces)
    assert [d.finish_reason for d in _finals(deltas)] == ["stop"]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("tool_use", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("pause_turn", "other"),
    ],
)
def test_stop_reason_mapping(
    server: ReplayServer, idea_spec: ResponseSpec, stop_reason: str, finish: str
) -> None:
    server.add(A.tool_script(PIECES, name=idea_spec.name, stop_reason=stop_reason))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    deltas = list(provider.open_stream(request))
    assert [d.finish_reason for d in _finals(deltas)] == [finish]
    assert deltas[-1].refusal is None


def test_refusal(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    chunks = [A.message_start(), A.text_block_start(), A.block_stop()]
    chunks += [
        A.message_delta(
            "refusal",
            stop_details={"type": "refusal", "category": "cyber", "explanation": "no can do"},
        ),
        A.message_stop(),
    ]
    server.add(Script(chunks=chunks))
    provider = AnthropicProvider(A.make_client(server), mode=Mode.JSON)
    request = provider.build_request(idea_spec, Mode.JSON, {"model": "m", "messages": MESSAGES})
    deltas = list(provider.open_stream(request))
    usage = Usage(11, 42, cached_input_tokens=0)
    assert deltas[-1] == Delta(finish_reason="refusal", refusal="no can do", usage=usage)
    assert [d for d in deltas if d.text or d.prose or d.finish_reason] == deltas[-1:]


def test_text_blocks_ignored_in_tools_mode(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    chunks = [A.message_start(), A.text_block_start(0), A.text_delta("Let me call it.", 0)]
    chunks += [A.block_stop(0), A.tool_block_start(idea_spec.name, index=1)]
    chunks += [A.json_delta(p, 1) for p in PIECES]
    chunks += [A.block_stop(1), A.message_delta("tool_use"), A.message_stop()]
    server.add(Script(chunks=chunks))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    assert _texts(list(provider.open_stream(request))) == DOC


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "err_type", "exc"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (529, "overloaded_error", anthropic.APIStatusError),
    ],
)
def test_http_errors_are_sdk_exceptions(
    server: ReplayServer, idea_spec: ResponseSpec, status: int, err_type: str, exc: type
) -> None:
    server.add(A.http_error(status, err_type, "nope"))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    with pytest.raises(exc) as info:
        provider.open_stream(request)
    assert info.value.status_code == status


def test_error_event_mid_stream(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    chunks = A.tool_chunks(PIECES[:1], name=idea_spec.name, end=False) + [A.error_event()]
    server.add(Script(chunks=chunks))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    seen: list[Delta] = []
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        for delta in provider.open_stream(request):
            seen.append(delta)
    assert [d.text for d in seen if d.text] == PIECES[:1]


@pytest.mark.parametrize("how", ["truncate", "drop"])
def test_stream_ending_early_is_provider_error(
    server: ReplayServer, idea_spec: ResponseSpec, how: str
) -> None:
    chunks = A.tool_chunks(PIECES, name=idea_spec.name)
    cut = len(chunks) - 1  # everything but message_stop
    kw = {"truncate_after": cut} if how == "truncate" else {"drop_after": cut}
    server.add(Script(chunks=chunks, **kw))
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    seen: list[Delta] = []
    with pytest.raises(ProviderError) as info:
        for delta in provider.open_stream(request):
            seen.append(delta)
    assert _texts(seen) == DOC and not _finals(seen)
    if how == "drop":  # also the SDK's own connection error
        assert isinstance(info.value, anthropic.APIConnectionError)


# -- closing ---------------------------------------------------------------------------------


def test_close_cuts_the_connection(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    script = A.tool_script(PIECES, name=idea_spec.name)
    script.gate(4)  # chunks 0-3 (start, block start, ping, first piece) go out; then wait
    server.add(script)
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    stream = provider.open_stream(request)
    it = iter(stream)
    assert next(it).usage == Usage(11, 1, cached_input_tokens=0)  # message_start's, at once
    assert next(it).text == PIECES[0]
    stream.close()
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent == 4 < ex.total_chunks


async def test_async_deltas_and_close(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(A.tool_script(PIECES, name=idea_spec.name))
    script = A.tool_script(PIECES, name=idea_spec.name)
    script.gate(4)
    server.add(script)
    provider = AnthropicProvider(A.make_client(server, use_async=True))
    assert provider.is_async
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    with pytest.raises(TypeError, match="async"):
        provider.open_stream(request)
    deltas = [d async for d in await provider.aopen_stream(request)]
    assert _texts(deltas) == DOC and deltas[-1].finish_reason == "stop"

    stream = await provider.aopen_stream(request)
    it = stream.__aiter__()
    assert (await it.__anext__()).usage == Usage(11, 1, cached_input_tokens=0)
    assert (await it.__anext__()).text == PIECES[0]
    await stream.aclose()
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and ex.chunks_sent == 4


async def test_async_errors(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(A.http_error(400, "invalid_request_error", "bad"))
    chunks = A.tool_chunks(PIECES, name=idea_spec.name)
    server.add(Script(chunks=chunks, truncate_after=len(chunks) - 1))
    provider = AnthropicProvider(A.make_client(server, use_async=True))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    with pytest.raises(anthropic.BadRequestError):
        await provider.aopen_stream(request)
    with pytest.raises(ProviderError):
        async for _ in await provider.aopen_stream(request):
            pass


# -- client_from_env -------------------------------------------------------------------------


def test_client_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        client_from_env()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    assert isinstance(client_from_env(), anthropic.Anthropic)
    assert isinstance(client_from_env(use_async=True), anthropic.AsyncAnthropic)
    monkeypatch.setitem(sys.modules, "anthropic", None)  # the SDK is not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'schemastream\[anthropic\]'"):
        client_from_env()


def test_close_from_another_thread_unblocks_the_reader(
    server: ReplayServer, idea_spec: ResponseSpec
) -> None:
    import threading

    script = A.tool_script(PIECES, name=idea_spec.name)
    script.gate(4)
    server.add(script)
    provider = AnthropicProvider(A.make_client(server))
    request = provider.build_request(idea_spec, Mode.TOOLS, {"model": "m", "messages": MESSAGES})
    stream = provider.open_stream(request)
    seen: list[Delta] = []
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            seen.extend(stream)
            outcome.append(None)
        except BaseException as exc:  # the read fails once the response is closed
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert server.last.wait_sent(4)
    stream.close()  # while the reader is blocked waiting for chunk 4
    reader.join(5)
    assert not reader.is_alive() and outcome
    assert _texts(seen) in ("", PIECES[0])  # the reader may not have got to chunk 3 yet
    assert server.last.done.wait(5) and server.last.disconnected
