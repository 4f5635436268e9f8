"""GenAIProvider against the real ``google-genai`` SDK over HTTP (replay server on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import sys

import pytest
from google import genai
from google.genai import errors as gerrors
from google.genai import types

from schemastream.errors import (
    ConfigurationError,
    ProviderError,
    StreamingDegradedWarning,
    StreamValidationError,
)
from schemastream.providers.base import Delta, Mode, Usage
from schemastream.providers.genai import GenAIProvider, client_from_env
from schemastream.schema import ResponseSpec
from tests.replay import gemini_server as G
from tests.replay.base import ReplayServer, Script, rechunk

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "One idea please."},
    {"role": "assistant", "content": "Sure?"},
    {"role": "user", "content": [{"type": "text", "text": "Yes."}]},
]
PIECES = ['{"title": "Sol', "ar kettle", '", "score": 7}']
DOC = "".join(PIECES)


def _texts(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


def _finals(deltas: list[Delta]) -> list[Delta]:
    return [d for d in deltas if d.finish_reason is not None]


def _request(provider: GenAIProvider, spec: ResponseSpec, mode: Mode | None = None, **kw: object):
    return provider.build_request(
        spec, mode or provider.default_mode, {"model": "gemini-test", "messages": MESSAGES, **kw}
    )


# -- the wire format: the SDK's own parser accepts our frames --------------------------------


def test_sdk_parses_text_frames(server: ReplayServer) -> None:
    server.add(G.text_script(PIECES, prompt_tokens=4, output_tokens=12))
    client = G.make_client(server)
    chunks = list(client.models.generate_content_stream(model="gemini-test", contents="hi"))
    assert all(isinstance(c, types.GenerateContentResponse) for c in chunks)
    assert "".join(c.text or "" for c in chunks) == DOC
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    usage = chunks[-1].usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (4, 12)
    # google-genai 3.x (Python >= 3.11) calls /v1/, 2.x (the newest for 3.10) /v1beta/
    assert server.last.path.split("/", 2)[1] in ("v1", "v1beta")
    assert server.last.path.endswith("/models/gemini-test:streamGenerateContent")


def test_sdk_parses_function_call_and_error_frames(server: ReplayServer) -> None:
    server.add(G.call_script("Idea", {"title": "x"}))
    client = G.make_client(server)
    chunks = list(client.models.generate_content_stream(model="gemini-test", contents="hi"))
    call = chunks[0].candidates[0].content.parts[0].function_call
    assert (call.name, call.args) == ("Idea", {"title": "x"})
    server.add(Script(chunks=G.text_chunks(["{"], finish_reason=None) + [G.error_frame(503)]))
    with pytest.raises(gerrors.ServerError):
        list(client.models.generate_content_stream(model="gemini-test", contents="hi"))


@pytest.mark.parametrize("mode", [Mode.JSON, Mode.MD_JSON, Mode.TOOLS])
def test_request_is_what_the_sdk_sends(
    server: ReplayServer, ideas_spec: ResponseSpec, mode: Mode
) -> None:
    """Our closable path sends byte-for-byte the request ``generate_content_stream`` sends."""
    if mode == Mode.TOOLS:
        server.add(G.call_script(ideas_spec.name, {"items": []}))
        server.add(G.call_script(ideas_spec.name, {"items": []}))
    else:
        server.add(G.text_script(['{"items": []}']), G.text_script(['{"items": []}']))
    client = G.make_client(server)
    provider = GenAIProvider(client, mode=mode)
    request = _request(provider, ideas_spec, temperature=0.5, max_tokens=77)
    list(provider.open_stream(request))
    list(client.models.generate_content_stream(**request.kwargs))
    ours, sdks = server.exchanges
    assert ours.path == sdks.path
    assert ours.json == sdks.json
    assert ours.headers == sdks.headers


# -- request shaping -------------------------------------------------------------------------


def test_json_request_body(server: ReplayServer, ideas_spec: ResponseSpec) -> None:
    server.add(G.text_script(PIECES))
    provider = GenAIProvider(G.make_client(server))
    assert provider.default_mode == Mode.JSON and not provider.is_async
    list(provider.open_stream(_request(provider, ideas_spec, max_tokens=50, stop="END")))
    body = server.last.json
    assert body["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "One idea please."}]},
        {"role": "model", "parts": [{"text": "Sure?"}]},
        {"role": "user", "parts": [{"text": "Yes."}]},
    ]
    gen = body["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    assert gen["responseJsonSchema"] == ideas_spec.json_schema
    assert gen["maxOutputTokens"] == 50 and gen["stopSequences"] == ["END"]
    assert "tools" not in body


def test_tools_request_body(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(G.call_script(idea_spec.name, json.loads(DOC)))
    provider = GenAIProvider(G.make_client(server), mode="tools")
    list(provider.open_stream(_request(provider, idea_spec)))
    body = server.last.json
    (decl,) = body["tools"][0]["functionDeclarations"]
    assert decl["name"] == "Idea" and decl["description"] == "A product idea."
    assert decl["parameters_json_schema"] == idea_spec.json_schema
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Idea"]}
    }
    assert "responseMimeType" not in body.get("generationConfig", {})


def test_md_json_and_schema_field(idea_spec: ResponseSpec) -> None:
    client = genai.Client(api_key="x")
    provider = GenAIProvider(client)
    req = provider.build_request(
        idea_spec, Mode.MD_JSON, {"model": "g", "input": "hi", "instructions": "brief"}
    )
    assert req.kwargs["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert req.kwargs["config"]["system_instruction"] == "brief\n\n" + idea_spec.md_prompt()
    legacy = GenAIProvider(client, schema_field="response_schema")
    req = legacy.build_request(idea_spec, Mode.JSON, {"model": "g", "messages": MESSAGES})
    assert req.kwargs["config"]["response_schema"] == idea_spec.json_schema
    assert "response_json_schema" not in req.kwargs["config"]
    with pytest.raises(ConfigurationError, match="not supported"):
        GenAIProvider(client, mode=Mode.JSON_SCHEMA)
    with pytest.raises(ConfigurationError, match="model"):
        provider.build_request(idea_spec, Mode.JSON, {"messages": MESSAGES})


def test_async_client_detection() -> None:
    client = genai.Client(api_key="x")
    assert not GenAIProvider(client).is_async
    assert GenAIProvider(client.aio).is_async
    provider = GenAIProvider(client, use_async=True)
    assert provider.is_async and provider.client is client.aio


def test_reask(idea_spec: ResponseSpec) -> None:
    provider = GenAIProvider(genai.Client(api_key="x"))
    request = _request(provider, idea_spec)
    error = StreamValidationError(
        [{"type": "string_too_long", "loc": ("title",), "msg": "too long", "input": "x"}]
    )
    again = provider.reask(request, '{"title": "x"}', error)
    contents = again.kwargs["contents"]
    assert contents[:-2] == request.kwargs["contents"]
    assert contents[-2] == {"role": "model", "parts": [{"text": '{"title": "x"}'}]}
    assert contents[-1]["role"] == "user" and "title: too long" in contents[-1]["parts"][0]["text"]
    assert again.kwargs["config"] == request.kwargs["config"]


# -- deltas, finish reasons, usage -----------------------------------------------------------


def test_text_deltas_and_usage(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(G.text_script(PIECES, prompt_tokens=4, output_tokens=12))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert [d.text for d in deltas[:-1]] == PIECES
    # the prompt count rides on the first frame's delta (a cancel keeps it), then only changes
    assert [d.usage for d in deltas[:-1]] == [Usage(4), None, None]
    assert deltas[-1] == Delta(finish_reason="stop", usage=Usage(4, 12))


def test_frames_split_across_network_reads(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    pieces = ['{"title": "Caf', 'é ☕ naïve", "sc', 'ore": 1}']
    server.add(Script(chunks=rechunk(b"".join(G.text_chunks(pieces)), 5)))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert _texts(deltas) == "".join(pieces)


def test_function_call_arrives_whole(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(G.call_script(idea_spec.name, {"title": "Solar kettle", "score": 7}))
    provider = GenAIProvider(G.make_client(server), mode=Mode.TOOLS)
    with pytest.warns(StreamingDegradedWarning, match="Mode.TOOLS"):
        deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert len(deltas) == 2
    assert json.loads(deltas[0].text) == {"title": "Solar kettle", "score": 7}
    assert deltas[1].finish_reason == "stop"


def test_thought_parts_are_reasoning_not_text(
    server: ReplayServer, idea_spec: ResponseSpec
) -> None:
    frames = [G.response_frame([{"text": "thinking {", "thought": True}])]
    frames += G.text_chunks(PIECES[:1], finish_reason=None)
    frames.append(G.response_frame([G.thought_part("more", signature=G.SIGNATURE)]))
    frames += G.text_chunks(PIECES[1:])
    server.add(Script(chunks=frames))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert _texts(deltas) == DOC
    assert [d.reasoning for d in deltas if d.reasoning] == ["thinking {", "\n\nmore"]
    assert not any(d.prose for d in deltas)  # in JSON mode the text is the object


def test_usage_sums_output_and_thoughts_across_continuation_hops(
    server: ReplayServer, idea_spec: ResponseSpec
) -> None:
    token = base64.b64encode(b"resume-here").decode()
    first = G.response_frame(
        [{"text": PIECES[0]}],
        finish_reason="CONTINUATION",
        continuation_token=token,
        output_tokens=5,
        thoughts_tokens=2,
        cached_tokens=4,
    )
    second = G.response_frame(
        [{"text": "".join(PIECES[1:])}], finish_reason="STOP", output_tokens=3, thoughts_tokens=1
    )
    server.add(Script(chunks=[first]), Script(chunks=[second]))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert _texts(deltas) == DOC
    # thoughts are part of the output (Usage's contract); the prompt counts are the latest hop's
    assert deltas[-1].usage == Usage(9, 5 + 2 + 3 + 1, 4, 2 + 1)


@pytest.mark.parametrize(
    ("reason", "finish", "refused"),
    [
        ("STOP", "stop", False),
        ("MAX_TOKENS", "length", False),
        ("SAFETY", "content_filter", True),
        ("RECITATION", "content_filter", True),
        ("PROHIBITED_CONTENT", "content_filter", True),
        ("MALFORMED_FUNCTION_CALL", "other", False),
    ],
)
def test_finish_reason_mapping(
    server: ReplayServer, idea_spec: ResponseSpec, reason: str, finish: str, refused: bool
) -> None:
    server.add(G.text_script(PIECES, finish_reason=reason))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    (final,) = _finals(deltas)
    assert final.finish_reason == finish
    assert (final.refusal is not None) == refused
    if refused:
        assert reason in final.refusal


def test_blocked_prompt(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    server.add(Script(chunks=[G.blocked_prompt_chunk("PROHIBITED_CONTENT")]))
    provider = GenAIProvider(G.make_client(server))
    (final,) = list(provider.open_stream(_request(provider, idea_spec)))
    assert final.finish_reason == "content_filter"
    assert final.refusal and "prompt" in final.refusal


def test_continuation_hops(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    token = base64.b64encode(b"resume-here").decode()
    first = [G.response_frame([{"text": PIECES[0]}])]
    first.append(
        G.response_frame(
            [{"text": PIECES[1]}],
            finish_reason="CONTINUATION",
            continuation_token=token,
            output_tokens=5,
        )
    )
    server.add(Script(chunks=first), G.text_script(PIECES[2:], output_tokens=3))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert _texts(deltas) == DOC
    assert [d.finish_reason for d in _finals(deltas)] == ["stop"]
    assert deltas[-1].usage == Usage(9, 8)
    assert len(server.exchanges) == 2
    assert server.exchanges[1].json["continuationToken"] == token
    assert "continuationToken" not in server.exchanges[0].json

    server.add(Script(chunks=first))  # automatic continuation off: the stream is cut short
    request = _request(provider, idea_spec, config={"automatic_continuation": False})
    deltas = list(provider.open_stream(request))
    assert [d.finish_reason for d in _finals(deltas)] == ["length"]
    assert len(server.exchanges) == 3


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc"),
    [(400, gerrors.ClientError), (429, gerrors.ClientError), (503, gerrors.ServerError)],
)
def test_http_errors_are_sdk_exceptions(
    server: ReplayServer, idea_spec: ResponseSpec, status: int, exc: type
) -> None:
    server.add(G.http_error(status, "nope"))
    provider = GenAIProvider(G.make_client(server))
    with pytest.raises(exc) as info:
        provider.open_stream(_request(provider, idea_spec))
    assert info.value.code == status


def test_error_frame_mid_stream(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    chunks = G.text_chunks(PIECES[:1], finish_reason=None) + [G.error_frame(500, "boom")]
    server.add(Script(chunks=chunks))
    provider = GenAIProvider(G.make_client(server))
    seen: list[Delta] = []
    with pytest.raises(gerrors.ServerError, match="boom"):
        for delta in provider.open_stream(_request(provider, idea_spec)):
            seen.append(delta)
    assert _texts(seen) == PIECES[0]


@pytest.mark.parametrize("how", ["truncate", "drop"])
def test_stream_ending_early_is_provider_error(
    server: ReplayServer, idea_spec: ResponseSpec, how: str
) -> None:
    chunks = G.text_chunks(PIECES)
    kw = {"truncate_after": 2} if how == "truncate" else {"drop_after": 2}
    server.add(Script(chunks=chunks, **kw))
    provider = GenAIProvider(G.make_client(server))
    seen: list[Delta] = []
    with pytest.raises(ProviderError):
        for delta in provider.open_stream(_request(provider, idea_spec)):
            seen.append(delta)
    assert _texts(seen) == "".join(PIECES[:2]) and not _finals(seen)


# -- closing ---------------------------------------------------------------------------------


def test_close_cuts_the_connection(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    script = G.text_script(PIECES)
    script.gate(1)
    server.add(script)
    provider = GenAIProvider(G.make_client(server))
    stream = provider.open_stream(_request(provider, idea_spec))
    it = iter(stream)
    assert next(it).text == PIECES[0]
    stream.close()
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and ex.chunks_sent == 1 and not ex.completed


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_async_aclose_cuts_the_connection(
    server: ReplayServer, idea_spec: ResponseSpec, transport: str
) -> None:
    """google-genai 3.6's own async stream keeps the response open after ``aclose()`` (until
    garbage collection); ours closes it at once, the socket included, before returning (the
    test then blocks the event loop, so nothing could finish the close later)."""
    script = G.text_script(PIECES)
    script.gate(1)
    server.add(script)
    provider = GenAIProvider(G.make_client(server, use_async=True, async_transport=transport))
    stream = await provider.aopen_stream(_request(provider, idea_spec))
    it = stream.__aiter__()
    assert (await it.__anext__()).text == PIECES[0]
    await stream.aclose()
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and ex.chunks_sent == 1 and not ex.completed


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
async def test_async_stream_and_errors(
    server: ReplayServer, idea_spec: ResponseSpec, transport: str
) -> None:
    server.add(G.text_script(PIECES), G.http_error(404, "no such model"))
    server.add(Script(chunks=G.text_chunks(PIECES), truncate_after=2))
    provider = GenAIProvider(G.make_client(server, async_transport=transport), use_async=True)
    request = _request(provider, idea_spec)
    with pytest.raises(TypeError, match="async"):
        provider.open_stream(request)
    deltas = [d async for d in await provider.aopen_stream(request)]
    assert _texts(deltas) == DOC and deltas[-1].finish_reason == "stop"
    with pytest.raises(gerrors.ClientError):
        await provider.aopen_stream(request)
    with pytest.raises(ProviderError):
        async for _ in await provider.aopen_stream(request):
            pass


# -- client_from_env -------------------------------------------------------------------------


def test_client_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY"):
        client_from_env()
    monkeypatch.setenv("GEMINI_API_KEY", "k-test")
    client = client_from_env()
    assert isinstance(client, genai.Client)
    assert client._api_client.api_key == "k-test"
    aclient = client_from_env(use_async=True)
    assert GenAIProvider(aclient).is_async and aclient._api_client.api_key == "k-test"
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'schemastream\[genai\]'"):
        client_from_env()


def test_crlf_framing_and_config_object(server: ReplayServer, idea_spec: ResponseSpec) -> None:
    """The live API separates frames with CRLF; a GenerateContentConfig object is accepted."""
    frames = [f.replace(b"\n", b"\r\n") for f in G.text_chunks(PIECES)]
    server.add(Script(chunks=frames))
    provider = GenAIProvider(G.make_client(server))
    config = types.GenerateContentConfig(temperature=0.2, candidate_count=1)
    request = provider.build_request(
        idea_spec, Mode.JSON, {"model": "gemini-test", "contents": "hi", "config": config}
    )
    deltas = list(provider.open_stream(request))
    assert _texts(deltas) == DOC and deltas[-1].finish_reason == "stop"
    gen = server.last.json["generationConfig"]
    assert gen["temperature"] == 0.2 and gen["candidateCount"] == 1
    assert gen["responseMimeType"] == "application/json"
    assert server.last.json["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_close_from_another_thread_unblocks_the_reader(
    server: ReplayServer, idea_spec: ResponseSpec
) -> None:
    import threading

    script = G.text_script(PIECES)
    script.gate(1)
    server.add(script)
    provider = GenAIProvider(G.make_client(server))
    stream = provider.open_stream(_request(provider, idea_spec))
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
    assert server.last.wait_sent(1)
    stream.close()
    reader.join(5)
    assert not reader.is_alive() and outcome
    assert server.last.done.wait(5) and server.last.disconnected


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        # pieces of one summary join as they are
        (["The user wants ", "one idea."], ["The user wants ", "one idea."]),
        # a piece that opens a new summary with its heading starts a part
        (["**A**\n\nx.", "**B**\n\ny."], ["**A**\n\nx.", "\n\n**B**\n\ny."]),
        # ... with just the blank line the text lacks
        (["**A**\n\nx.\n", "**B**"], ["**A**\n\nx.\n", "\n**B**"]),
        (["**A**\n\nx.\n\n", "**B**"], ["**A**\n\nx.\n\n", "**B**"]),
    ],
)
def test_thought_pieces_and_summary_parts(
    server: ReplayServer, idea_spec: ResponseSpec, pieces: list[str], expected: list[str]
) -> None:
    frames = [[G.thought_part(p)] for p in pieces] + [[G.text_part(DOC)]]
    server.add(G.stream_script(frames))
    provider = GenAIProvider(G.make_client(server))
    deltas = list(provider.open_stream(_request(provider, idea_spec)))
    assert [d.reasoning for d in deltas if d.reasoning] == expected
    assert _texts(deltas) == DOC
