"""One suite, every provider: the same scenarios through the real SDKs over HTTP.

Only the client line differs (``ss.from_openai`` / ``ss.from_anthropic`` / ``ss.from_genai``,
sync and async); each provider's replay server speaks its own wire format:

- openai: Chat Completions, forced tool call, arguments streamed in pieces (``mode="tools"``)
- openai-responses: Responses API, function call arguments in pieces (``mode="responses_tools"``)
- openai-sdk: as openai, read through the SDK's own chunk objects (``fast=False``)
- anthropic: Messages, forced tool use, ``input_json_delta`` pieces (default mode)
- genai: ``streamGenerateContent``, JSON mode, text pieces (default mode)

Scenarios: partials grow then the final value validates; ``create_iterable`` yields each item
once, as soon as it is complete; fail fast (a ``max_length`` violation stops the stream and the
server sees the hang-up); truncation (``length`` -> ``IncompleteOutputError`` with the
completed items); retry (``max_retries=1``: bad then good -> final value, one restart).
The fault suite (``test_faults.py``) runs over the same ``WIRES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.errors import IncompleteOutputError, ProviderError, StreamValidationError
from schemastream.events import RestartEvent
from schemastream.schema import ResponseSpec
from tests.replay import anthropic_server as A
from tests.replay import gemini_server as G
from tests.replay.base import ReplayServer, Script, sse_frame


class Idea(BaseModel):
    title: str = Field(max_length=40)
    score: int = 0


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ideas?"}]
IDEAS = [
    {"title": "Solar kettle", "score": 7},
    {"title": "Wind spoon", "score": 3},
    {"title": "Tidal fork", "score": 5},
]


def split(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


@dataclass
class Wire:
    """How one provider is reached and what its server sends for a list of document pieces."""

    name: str
    # (server, use_async, timeout=None, retries=0) -> ss client
    make_client: Callable[..., Any]
    chunks: Callable[[list[str], str, str], list[bytes]]  # (pieces, finish, tool name)
    first_piece: int  # index of the chunk carrying pieces[0]
    refusal: Callable[[], Script]  # a refusal as this provider sends it
    http_error: Callable[[int], Script]  # an HTTP error status with the provider's JSON body
    sdk_error: Callable[[int], type[BaseException]]  # the SDK exception for that status
    # an event of the wrong shape: the document text is a number; (tool name) -> frame
    bad_event: Callable[[str], bytes] = lambda name: b""
    bad_field: str = ""  # the member ProviderError.field names for it
    # what a read timeout mid-body raises (and a lost connection: always a ProviderError too)
    timeout_error: Callable[[], type[BaseException]] = lambda: ProviderError
    lost_error: Callable[[], type[BaseException]] = lambda: ProviderError
    # what a timeout before the response headers raises, and after how many attempts with
    # retries=2 (the SDK's own request retries)
    head_timeout_error: Callable[[], type[BaseException]] = lambda: Exception
    head_timeout_attempts: int = 3

    def script(self, text: str, spec: ResponseSpec, *, n: int = 6, finish: str = "stop") -> Script:
        return Script(chunks=self.chunks(split(text, n), finish, spec.name))


# -- openai ----------------------------------------------------------------------------------


def _openai_sdk_client(
    server: ReplayServer, use_async: bool, timeout: float | None = None, retries: int = 0
) -> Any:
    import openai

    cls = openai.AsyncOpenAI if use_async else openai.OpenAI
    kw: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    return cls(base_url=server.url + "/v1", api_key="test", max_retries=retries, **kw)


def _openai_client(server: ReplayServer, use_async: bool, **kw: Any) -> Any:
    return ss.from_openai(_openai_sdk_client(server, use_async, **kw), mode="tools")


def _openai_fallback_client(server: ReplayServer, use_async: bool, **kw: Any) -> Any:
    client = _openai_sdk_client(server, use_async, **kw)
    return ss.from_openai(client, mode="tools", fast=False)


def _openai_responses_client(server: ReplayServer, use_async: bool, **kw: Any) -> Any:
    client = _openai_sdk_client(server, use_async, **kw)
    return ss.from_openai(client, mode="responses_tools")


def _openai_chunks(pieces: list[str], finish: str, name: str) -> list[bytes]:
    from tests.replay import openai_server as O

    reason = "tool_calls" if finish == "stop" else "length"
    return O.chat_tool_frames("".join(pieces), n=len(pieces[0]), name=name, finish_reason=reason)


def _openai_responses_chunks(pieces: list[str], finish: str, name: str) -> list[bytes]:
    from tests.replay import openai_server as O

    reason = None if finish == "stop" else "max_output_tokens"
    text = "".join(pieces)
    return O.responses_tool_frames(text, n=len(pieces[0]), name=name, incomplete_reason=reason)


def _openai_responses_refusal() -> Script:
    from tests.replay import openai_server as O

    return O.responses_refusal_script("I can't help with that.")


def _openai_bad_event(name: str) -> bytes:
    from tests.replay import openai_server as O

    delta = {"tool_calls": [{"index": 0, "function": {"arguments": 5}}]}
    return sse_frame(O.chat_chunk(delta))


def _openai_responses_bad_event(name: str) -> bytes:
    event = {"type": "response.function_call_arguments.delta", "item_id": "fc_replay1"}
    return sse_frame({**event, "output_index": 0, "delta": 5}, event=event["type"])


def _openai_timeout() -> type[BaseException]:
    import openai

    return openai.APITimeoutError


def _openai_lost() -> type[BaseException]:
    import openai

    return openai.APIConnectionError


def _openai_refusal() -> Script:
    from tests.replay import openai_server as O

    return O.chat_refusal_script("I can't help with that.")


def _openai_http_error(status: int) -> Script:
    from tests.replay import openai_server as O

    return O.error_script(status, "nope")


def _openai_sdk_error(status: int) -> type[BaseException]:
    import openai

    return openai.RateLimitError if status == 429 else openai.APIStatusError


# -- anthropic -------------------------------------------------------------------------------


def _anthropic_client(
    server: ReplayServer, use_async: bool, timeout: float | None = None, retries: int = 0
) -> Any:
    client = A.make_client(server, use_async=use_async, timeout=timeout, max_retries=retries)
    return ss.from_anthropic(client)


def _anthropic_aiohttp_client(
    server: ReplayServer, use_async: bool, timeout: float | None = None, retries: int = 0
) -> Any:
    client = A.make_client(
        server, use_async=use_async, async_transport="aiohttp", timeout=timeout, max_retries=retries
    )
    return ss.from_anthropic(client)


def _anthropic_bad_event(name: str) -> bytes:
    delta = {"type": "input_json_delta", "partial_json": 5}
    return A.frame({"type": "content_block_delta", "index": 0, "delta": delta})


def _anthropic_timeout() -> type[BaseException]:
    import anthropic

    return anthropic.APITimeoutError


def _anthropic_lost() -> type[BaseException]:
    import anthropic

    return anthropic.APIConnectionError


def _anthropic_chunks(pieces: list[str], finish: str, name: str) -> list[bytes]:
    stop = "tool_use" if finish == "stop" else "max_tokens"
    return A.tool_chunks(pieces, name=name, stop_reason=stop)


def _anthropic_refusal() -> Script:
    chunks = [A.message_start(), A.text_block_start(), A.block_stop()]
    details = {"type": "refusal", "category": None, "explanation": "I can't help with that."}
    chunks += [A.message_delta("refusal", stop_details=details), A.message_stop()]
    return Script(chunks=chunks)


def _anthropic_sdk_error(status: int) -> type[BaseException]:
    import anthropic

    return anthropic.RateLimitError if status == 429 else anthropic.APIStatusError


# -- genai -----------------------------------------------------------------------------------


def _genai_client(server: ReplayServer, use_async: bool, **kw: Any) -> Any:
    return ss.from_genai(G.make_client(server, **kw), use_async=use_async)


def _genai_aiohttp_client(server: ReplayServer, use_async: bool, **kw: Any) -> Any:
    client = G.make_client(server, async_transport="aiohttp", **kw)
    return ss.from_genai(client, use_async=use_async)


def _genai_bad_event(name: str) -> bytes:
    return G.response_frame([{"text": 5}])


def _genai_head_timeout() -> type[BaseException]:
    import httpx

    return httpx.TimeoutException


def _genai_chunks(pieces: list[str], finish: str, name: str) -> list[bytes]:
    return G.text_chunks(pieces, finish_reason="STOP" if finish == "stop" else "MAX_TOKENS")


def _genai_refusal() -> Script:
    return Script(chunks=G.text_chunks([], finish_reason="SAFETY"))


def _genai_sdk_error(status: int) -> type[BaseException]:
    from google.genai import errors

    return errors.ClientError if status < 500 else errors.ServerError


def _has_openai_wire() -> bool:
    try:
        from tests.replay import openai_server  # noqa: F401
    except ImportError:
        return False
    return True


_OPENAI_FAULTS: dict[str, Any] = {
    "bad_event": _openai_bad_event,
    "bad_field": "choices[0].delta.tool_calls[0].function.arguments",
    "timeout_error": _openai_timeout,
    "lost_error": _openai_lost,
    "head_timeout_error": _openai_timeout,
}
_ANTHROPIC_FAULTS: dict[str, Any] = {
    "bad_event": _anthropic_bad_event,
    "bad_field": "delta.partial_json",
    "timeout_error": _anthropic_timeout,
    "lost_error": _anthropic_lost,
    "head_timeout_error": _anthropic_timeout,
}
_GENAI_FAULTS: dict[str, Any] = {
    "bad_event": _genai_bad_event,
    "bad_field": "candidates[0].content.parts[0].text",
    "head_timeout_error": _genai_head_timeout,
}

WIRES = [
    pytest.param(
        Wire(
            "openai",
            _openai_client,
            _openai_chunks,
            first_piece=1,
            refusal=_openai_refusal,
            http_error=_openai_http_error,
            sdk_error=_openai_sdk_error,
            **_OPENAI_FAULTS,
        ),
        id="openai",
        marks=pytest.mark.skipif(not _has_openai_wire(), reason="no OpenAI replay wire"),
    ),
    pytest.param(  # the SDK-object fallback path (fast=False) of the same wire
        Wire(
            "openai",
            _openai_fallback_client,
            _openai_chunks,
            first_piece=1,
            refusal=_openai_refusal,
            http_error=_openai_http_error,
            sdk_error=_openai_sdk_error,
            **_OPENAI_FAULTS,
        ),
        id="openai-sdk",
    ),
    pytest.param(
        Wire(
            "openai",
            _openai_responses_client,
            _openai_responses_chunks,
            first_piece=3,
            refusal=_openai_responses_refusal,
            http_error=_openai_http_error,
            sdk_error=_openai_sdk_error,
            **{**_OPENAI_FAULTS, "bad_event": _openai_responses_bad_event, "bad_field": "delta"},
        ),
        id="openai-responses",
    ),
    pytest.param(
        Wire(
            "anthropic",
            _anthropic_client,
            _anthropic_chunks,
            first_piece=3,
            refusal=_anthropic_refusal,
            http_error=lambda status: A.http_error(status, "rate_limit_error", "nope"),
            sdk_error=_anthropic_sdk_error,
            **_ANTHROPIC_FAULTS,
        ),
        id="anthropic",
    ),
    pytest.param(  # the async client over the SDK's aiohttp transport (sync as "anthropic")
        Wire(
            "anthropic",
            _anthropic_aiohttp_client,
            _anthropic_chunks,
            first_piece=3,
            refusal=_anthropic_refusal,
            http_error=lambda status: A.http_error(status, "rate_limit_error", "nope"),
            sdk_error=_anthropic_sdk_error,
            **_ANTHROPIC_FAULTS,
        ),
        id="anthropic-aiohttp",
    ),
    pytest.param(
        Wire(
            "genai",
            _genai_client,
            _genai_chunks,
            first_piece=0,
            refusal=_genai_refusal,
            http_error=lambda status: G.http_error(status, "nope"),
            sdk_error=_genai_sdk_error,
            **_GENAI_FAULTS,
        ),
        id="genai",
    ),
    pytest.param(  # the async client reads through aiohttp (sync is the same as "genai")
        Wire(
            "genai",
            _genai_aiohttp_client,
            _genai_chunks,
            first_piece=0,
            refusal=_genai_refusal,
            http_error=lambda status: G.http_error(status, "nope"),
            sdk_error=_genai_sdk_error,
            **{
                **_GENAI_FAULTS,
                # google-genai's aiohttp path: a bare TimeoutError, not retried
                "head_timeout_error": lambda: TimeoutError,
                "head_timeout_attempts": 1,
            },
        ),
        id="genai-aiohttp",
    ),
]


@pytest.fixture(params=WIRES)
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


# -- helpers that read a stream sync or async --------------------------------------------------


async def _partials_and_final(stream: Any, use_async: bool) -> tuple[list[Any], Any]:
    if use_async:
        partials = [p async for p in stream]
        return partials, await stream.get_final_response()
    partials = list(stream)
    return partials, stream.get_final_response()


async def _drain(stream: Any, use_async: bool) -> None:
    if use_async:
        async with stream:
            async for _ in stream:
                pass
    else:
        with stream:
            for _ in stream:
                pass


# -- scenarios -------------------------------------------------------------------------------


async def test_partials_grow_then_final_validates(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(Idea)
    server.add(wire.script(dumps(IDEAS[0]), spec, n=4))
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
    partials, final = await _partials_and_final(stream, use_async)

    assert final == Idea(**IDEAS[0])
    titles = [getattr(p, "title", None) for p in partials]
    titles = [t for t in titles if t]
    assert len(set(titles)) >= 2, titles  # the title was seen growing
    assert all(final.title.startswith(t) for t in titles)
    assert partials[-1] == final
    assert stream.usage is not None and stream.usage.input_tokens
    assert stream.restarts == 0


async def test_create_iterable_yields_each_item_once_as_it_completes(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(list[Idea])
    text = dumps({"items": IDEAS})
    n = 5
    script = wire.script(text, spec, n=n)
    # hold the stream after the first item (and its comma) went out
    after_first = text.index("},") + 2
    gate = script.gate(wire.first_piece + after_first // n + 1)
    server.add(script)
    client = wire.make_client(server, use_async)
    it = client.chat.completions.create_iterable(model="m", messages=MESSAGES, response_model=Idea)

    if use_async:
        first = await it.__anext__()
    else:
        first = next(it)
    assert first == Idea(**IDEAS[0])
    ex = server.last
    assert ex.chunks_sent < ex.total_chunks  # yielded while the server was still holding
    gate.set()
    rest = [i async for i in it] if use_async else list(it)
    assert [first, *rest] == [Idea(**d) for d in IDEAS]


async def test_fail_fast_stops_the_stream(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(Idea)
    text = dumps({"title": "x" * 200, "score": 1})
    n = 8
    script = wire.script(text, spec, n=n)
    pieces = split(text, n)
    script.gate(wire.first_piece + len(pieces) - 2)  # never opened: only a hang-up ends it
    server.add(script)
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
    with pytest.raises(StreamValidationError) as info:
        await _drain(stream, use_async)
    assert info.value.constraint == "string_too_long"
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent < ex.total_chunks
    assert len(server.exchanges) == 1


async def test_truncation_raises_incomplete_with_completed_items(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(list[Idea])
    full = dumps({"items": IDEAS})
    text = full[: full.index("Wind") + 2]  # cut inside the second item's title
    server.add(wire.script(text, spec, n=6, finish="length"))
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
    with pytest.raises(IncompleteOutputError) as info:
        await _drain(stream, use_async)
    assert info.value.completed_items == [Idea(**IDEAS[0])]
    assert stream.completed_items == [Idea(**IDEAS[0])]


async def test_retry_after_a_validation_failure(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(Idea)
    bad = dumps({"title": "too long " * 10, "score": 1})
    server.add(wire.script(bad, spec), wire.script(dumps(IDEAS[1]), spec))
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, max_retries=1
    )
    if use_async:
        events = [e async for e in stream.events()]
        final = await stream.get_final_response()
    else:
        events = list(stream.events())
        final = stream.get_final_response()
    assert final == Idea(**IDEAS[1])
    assert stream.restarts == 1
    restarts = [e for e in events if isinstance(e, RestartEvent)]
    assert len(restarts) == 1 and isinstance(restarts[0].error, StreamValidationError)
    assert len(server.exchanges) == 2
    # the re-ask showed the model its bad output
    assert "too long too long" in json.dumps(server.exchanges[1].json)
    assert "too long too long" not in json.dumps(server.exchanges[0].json)


async def test_close_mid_stream_cuts_the_connection(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(Idea)
    text = dumps(IDEAS[0])
    script = wire.script(text, spec, n=4)
    script.gate(wire.first_piece + 4)  # never opened
    server.add(script)
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
    if use_async:
        it = stream.__aiter__()
        first = await it.__anext__()
        await stream.aclose()
    else:
        it = iter(stream)
        first = next(it)
        stream.close()
    assert first is not None
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed and ex.chunks_sent < ex.total_chunks


async def test_refusal_raises_refusal_error(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    server.add(wire.refusal())
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
    with pytest.raises(ss.RefusalError) as info:
        await _drain(stream, use_async)
    assert info.value.refusal


async def test_http_errors_are_the_sdk_exceptions(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    server.add(wire.http_error(429))
    client = wire.make_client(server, use_async)
    stream = client.responses.stream(
        model="m", messages=MESSAGES, response_model=Idea, max_retries=2
    )
    with pytest.raises(wire.sdk_error(429)):
        await _drain(stream, use_async)
    assert len(server.exchanges) == 1  # validation retries are not HTTP retries


# -- from_provider routing to these providers --------------------------------------------------


async def test_from_provider_anthropic_and_google(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    from google.genai import types

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("GEMINI_API_KEY", "g-test")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    spec = ResponseSpec.from_type(Idea)
    text = dumps(IDEAS[2])
    server.add(Script(chunks=_anthropic_chunks(split(text, 5), "stop", spec.name)))
    server.add(Script(chunks=_genai_chunks(split(text, 5), "stop", spec.name)))
    clients = [
        ss.from_provider(
            "anthropic/claude-x", async_client=use_async, base_url=server.url, max_retries=0
        ),
        ss.from_provider(
            "google/gemini-x",
            async_client=use_async,
            http_options=types.HttpOptions(
                base_url=server.url, retry_options=types.HttpRetryOptions(attempts=1)
            ),
        ),
    ]
    for client in clients:
        stream = client.responses.stream(messages=MESSAGES, response_model=Idea)
        _, final = await _partials_and_final(stream, use_async)
        assert final == Idea(**IDEAS[2])
    anthropic_ex, genai_ex = server.exchanges
    assert anthropic_ex.json["model"] == "claude-x"
    auth = anthropic_ex.headers.get("x-api-key") or anthropic_ex.headers.get("authorization")
    assert auth is not None and auth.endswith("sk-test")
    assert genai_ex.path.endswith("/models/gemini-x:streamGenerateContent")
    assert genai_ex.headers["x-goog-api-key"] == "g-test"


def test_from_provider_missing_key_or_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for var in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ss.ConfigurationError, match="ANTHROPIC_API_KEY"):
        ss.from_provider("anthropic/claude-x")
    with pytest.raises(ss.ConfigurationError, match="GEMINI_API_KEY"):
        ss.from_provider("google/gemini-x")
    monkeypatch.setitem(sys.modules, "anthropic", None)
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ss.ConfigurationError, match=r"pip install 'schemastream\[anthropic\]'"):
        ss.from_provider("anthropic/claude-x")
    with pytest.raises(ss.ConfigurationError, match=r"pip install 'schemastream\[genai\]'"):
        ss.from_provider("google/gemini-x")
