"""The provider contract: a new provider is a decoder, a request builder and an error table.

``Echo`` below is a whole provider for a made-up SSE format (``{"text": ...}`` frames, a
``{"done": ...}`` frame, ``{"error": ...}`` frames), written only against the contract
(``SSEJsonDecoder``, ``request_for``, ``ErrorMap``, the one HTTP shell), streamed by the real
clients over real HTTP against the replay server. Beside it: the call normalised once, the
registry ``from_provider`` reads, and the capabilities each provider declares.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import schemastream as ss
from schemastream.errors import ProviderError
from schemastream.providers.base import (
    LENIENT,
    AsyncDeltaStream,
    Call,
    Capabilities,
    Delta,
    DeltaStream,
    Mode,
    Provider,
    Request,
    SSEJsonDecoder,
    WireError,
    text_of,
)
from schemastream.providers.http import AsyncHTTPDeltaStream, ErrorMap, HTTPDeltaStream
from schemastream.providers.openai import OpenAIProvider
from schemastream.providers.registry import PROVIDERS, lookup
from schemastream.schema import ResponseSpec
from tests.replay.base import ReplayServer, Script

from .conftest import Idea


class EchoError(Exception):
    """The made-up SDK's own error class for an error event."""


class EchoDecoder(SSEJsonDecoder):
    def event(self, name: str | None, data: bytes) -> list[Delta]:
        frame = json.loads(data)
        if "error" in frame:
            raise WireError(f"echo: {frame['error']}", frame["error"])
        if "done" in frame:
            self.stopped = True
            return [Delta(finish_reason=frame["done"])]
        return [Delta(text=frame["text"])]

    def end(self) -> list[Delta]:
        if not self.stopped:
            raise ProviderError("echo: the body ended before done")
        return []


ECHO_ERRORS = ErrorMap("echo", wire=lambda err, response: EchoError(err.body))


class Echo(Provider):
    name = "echo"
    default_mode = default_responses_mode = Mode.JSON
    supported_modes = frozenset({Mode.JSON})
    capabilities = Capabilities(modes={Mode.JSON: LENIENT})

    def __init__(self, url: str, *, use_async: bool = False) -> None:
        self.url = url
        self.is_async = use_async

    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        system, messages = call.split()
        body = {"system": system, "messages": messages, "limit": call.max_tokens}
        return Request(kind="echo", kwargs=body, mode=mode)

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        raise AssertionError("not reached")

    def open_stream(self, request: Request) -> DeltaStream:
        client = httpx.Client()
        response = client.send(
            client.build_request("POST", self.url, json=request.kwargs), stream=True
        )
        return HTTPDeltaStream(response, EchoDecoder(), ECHO_ERRORS, on_close=client.close)

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        client = httpx.AsyncClient()
        built = client.build_request("POST", self.url, json=request.kwargs)
        response = await client.send(built, stream=True)
        return AsyncHTTPDeltaStream(response, EchoDecoder(), ECHO_ERRORS, on_close=client.aclose)


def echo_script(text: str, *, end: dict[str, Any] | None = None, **kw: Any) -> Script:
    frames: list[dict[str, Any]] = [{"text": text[i : i + 5]} for i in range(0, len(text), 5)]
    return Script.sse([*frames, end or {"done": "stop"}], **kw)


DOC = 'Sure: {"title": "Voice notes", "score": 3}'  # prose first: JSON mode is lenient


def test_a_new_provider_streams_sync(server: ReplayServer) -> None:
    server.add(echo_script(DOC))
    client = ss.Client(Echo(server.url + "/echo"))
    idea = client.create(
        response_model=Idea, input="ideas", instructions="be brief", max_completion_tokens=7
    )
    assert idea == Idea(title="Voice notes", score=3)
    assert server.last.json == {
        "system": ["be brief"],
        "messages": [{"role": "user", "content": "ideas"}],
        "limit": 7,
    }


async def test_a_new_provider_streams_async(server: ReplayServer) -> None:
    server.add(echo_script(DOC))
    client = ss.AsyncClient(Echo(server.url + "/echo", use_async=True))
    assert await client.create(response_model=Idea, messages=[]) == Idea(
        title="Voice notes", score=3
    )


@pytest.mark.parametrize("use_async", [False, True])
async def test_error_table_maps_error_events_and_lost_connections(
    server: ReplayServer, use_async: bool
) -> None:
    server.add(echo_script(DOC, end={"error": {"code": 7}}))
    server.add(echo_script(DOC, drop_after=3))
    for expected in (EchoError, ProviderError):
        if use_async:
            client: Any = ss.AsyncClient(Echo(server.url + "/echo", use_async=True))
            with pytest.raises(expected) as info:
                await client.create(response_model=Idea, messages=[])
        else:
            client = ss.Client(Echo(server.url + "/echo"))
            with pytest.raises(expected) as info:
                client.create(response_model=Idea, messages=[])
        assert type(info.value) is expected  # the SDK's class; a plain ProviderError for a drop
    assert server.last.dropped


def test_close_hangs_up_at_once(server: ReplayServer) -> None:
    script = echo_script('{"title": "' + "x" * 200 + '"}')
    gate = script.gate(3)
    server.add(script)
    provider = Echo(server.url + "/echo")
    stream = provider.open_stream(
        provider.build_request(ResponseSpec.from_type(Idea), Mode.JSON, {})
    )
    deltas = iter(stream)
    assert next(deltas).text
    stream.close()
    gate.set()
    assert server.last.done.wait(5)
    assert server.last.disconnected and server.last.chunks_sent < server.last.total_chunks


# -- the call, parsed once ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["max_tokens", "max_completion_tokens", "max_output_tokens", "max_new_tokens"]
)
def test_every_token_limit_spelling(key: str) -> None:
    call = Call.parse({key: 9})
    assert (call.max_tokens, call.max_tokens_key, call.extra) == (9, key, {})


def test_call_parse_reads_each_spelling_once() -> None:
    call = Call.parse(
        {
            "model": "m",
            "messages": [{"role": "developer", "content": "dev"}, {"role": "user", "content": "a"}],
            "input": "b",
            "instructions": "inst",
            "system": [{"type": "text", "text": "sys"}],
            "stop": "END",
            "stream": True,
            "temperature": 0.5,
        }
    )
    assert call.model == "m" and call.stop == ["END"] and call.extra == {"temperature": 0.5}
    assert call.input_text is None  # a string input after messages is one more user turn
    assert call.split() == (
        ["inst", "sys", "dev"],
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
    )
    assert Call.parse({"input": "hi"}).input_text == "hi"
    assert Call.parse({"contents": ["x"]}).messages == [{"role": "user", "content": "x"}]


def test_text_of_is_the_one_reading_of_content() -> None:
    from schemastream.local.prompt import message_text

    parts = ["a", {"type": "text", "text": "b"}, {"type": "image_url", "image_url": {}}]
    assert text_of(parts) == message_text(parts) == "a\nb"
    assert text_of(None) == "" and text_of("s") == "s"


# -- registry and capabilities ----------------------------------------------------------------


def test_registry_is_what_from_provider_reads() -> None:
    assert PROVIDERS == (
        "openai", "ollama", "vllm", "llamacpp", "groq", "openrouter", "anthropic", "google", "local"
    )  # fmt: skip
    assert ss.client.PROVIDERS == PROVIDERS
    assert (
        lookup("Gemini") is lookup("google") and lookup("ollama").default_mode == Mode.JSON_SCHEMA
    )
    with pytest.raises(ss.ConfigurationError, match="unknown provider 'nope'"):
        lookup("nope")


def test_capabilities_are_declared_on_the_provider() -> None:
    from schemastream.providers.genai import GenAIProvider
    from schemastream.providers.local import LocalProvider
    from schemastream.providers.openai import to_openai_strict

    local = LocalProvider()
    assert local.supports_sync and local.supports_async and local.capabilities.max_items
    assert OpenAIProvider.capabilities.strict_schema is to_openai_strict
    assert not GenAIProvider.capabilities.mode(Mode.TOOLS).incremental
    echo = Echo("http://unused")
    assert echo.supports_sync and not echo.supports_async


def test_lenient_rides_on_the_request_and_survives_a_reask() -> None:
    import openai

    provider = OpenAIProvider(openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9"))
    spec = ResponseSpec.from_type(Idea)
    strict = provider.build_request(spec, Mode.TOOLS, {"model": "m", "messages": []})
    lenient = provider.build_request(spec, Mode.JSON, {"model": "m", "messages": []})
    assert not strict.lenient and lenient.lenient
    assert provider.reask(lenient, "{", ValueError("bad")).lenient
