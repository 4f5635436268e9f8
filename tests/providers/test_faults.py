"""The fault suite: what a network, a server or a model can do wrong, over every provider.

Runs over the cross-provider suite's ``WIRES`` (OpenAI chat on the fast path and the SDK-object
fallback, OpenAI Responses, Anthropic and Gemini over httpx and aiohttp), sync and async, with
the real SDKs against the replay servers. Each case asserts the exact error type and what the
server saw (the connection closed, how many requests), never how long anything took:

- connection dropped mid-body, with a FIN and with a TCP RST;
- a clean end of the body without the provider's end marker;
- a stall mid-body with a read timeout (the SDK's retries on: the stall is not retried);
- 429 and 500 answered by the SDK's own retries, and retries that run out;
- a malformed event (not JSON) and an event of the wrong shape (the document text a number);
- a document nested 10,000 deep (the default ``max_depth=512`` stops it);
- a 20 MB string, whole without a limit and stopped early by ``max_size``;
- a document the model never closed.

Then load: 300 concurrent async streams (every result exact) and 1,000 sequential streams
(no stream object outlives its call; RSS growth within a generous bound, printed).
``bench/bench_faults.py`` measures the figures recorded in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from typing import Any

import pytest
from pydantic import BaseModel

from schemastream.errors import JsonStreamError, ProviderError
from tests.replay.base import ReplayServer, Script

from .test_cross_provider import IDEAS, MESSAGES, WIRES, Idea, Wire, _drain, dumps

# every wire sync and async, except the aiohttp wires' sync side (the same client as theirs)
CASES = [
    pytest.param((w.values[0], a), id=f"{w.id}-{'async' if a else 'sync'}")
    for w in WIRES
    for a in (False, True)
    if a or not str(w.id).endswith("aiohttp")
]
SYNC_WIRES = [w for w in WIRES if not str(w.id).endswith("aiohttp")]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[Wire, bool]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def wire(case: tuple[Wire, bool]) -> Wire:
    return case[0]


@pytest.fixture
def use_async(case: tuple[Wire, bool]) -> bool:
    return case[1]


class Doc(BaseModel):
    title: str
    body: str = ""
    data: Any = None


async def _final(stream: Any, use_async: bool) -> Any:
    if use_async:
        return await stream.get_final_response()
    return stream.get_final_response()


def _stream(wire: Wire, server: ReplayServer, use_async: bool, model: Any = Idea, **kw: Any) -> Any:
    client_kw = {k: kw.pop(k) for k in ("timeout", "retries") if k in kw}
    client = wire.make_client(server, use_async, **client_kw)
    return client.responses.stream(model="m", messages=MESSAGES, response_model=model, **kw)


def _held_script(wire: Wire, text: str, model: Any, n: int, at: int, **kw: Any) -> Script:
    """``text`` in ``n``-character pieces, held (a gate never opened) before piece ``at``."""
    from schemastream.schema import ResponseSpec

    script = wire.script(text, ResponseSpec.from_type(model), n=n)
    for key, value in kw.items():
        setattr(script, key, value)
    script.gate(wire.first_piece + at)
    return script


def _hung_up(server: ReplayServer) -> None:
    """The client closed the connection while the server still had the rest to send."""
    ex = server.last
    assert ex.done.wait(10)
    assert ex.disconnected and not ex.completed
    assert ex.chunks_sent < ex.total_chunks


# -- the connection ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["drop_after", "reset_after"], ids=["FIN", "RST"])
async def test_connection_dropped_mid_body(
    server: ReplayServer, wire: Wire, use_async: bool, how: str
) -> None:
    script = _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=99)
    setattr(script, how, wire.first_piece + 3)
    server.add(script)
    with pytest.raises(ProviderError) as info:
        await _drain(_stream(wire, server, use_async), use_async)
    assert isinstance(info.value, wire.lost_error())
    assert server.last.done.wait(10) and server.last.dropped
    assert server.last.reset is (how == "reset_after")
    assert len(server.exchanges) == 1


async def test_clean_eof_without_the_end_marker(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    from schemastream.schema import ResponseSpec

    script = wire.script(dumps(IDEAS[0]), ResponseSpec.from_type(Idea), n=4)
    script.truncate_after = wire.first_piece + 3
    server.add(script)
    with pytest.raises(ProviderError, match="ended|end marker|finish reason|message_stop"):
        await _drain(_stream(wire, server, use_async), use_async)
    assert server.last.done.wait(10) and server.last.completed


async def test_stall_mid_body_raises_the_read_timeout_once(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    """The body stops for 30 s; with a 1 s read timeout and the SDK's retries on, the error is
    the read timeout of the one request (a timeout mid-body is not retried, so it does not
    come after (retries + 1) x timeout), and the server sees the client hang up while it is
    still holding (the 30 s were not waited out)."""
    script = _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=3, gate_timeout=30.0)
    server.add(script)
    stream = _stream(wire, server, use_async, timeout=1.0, retries=2)
    with pytest.raises(wire.timeout_error()) as info:
        await _drain(stream, use_async)
    assert isinstance(info.value, ProviderError)
    _hung_up(server)
    assert ("disconnect", server.last.chunks_sent) in server.last.log
    assert len(server.exchanges) == 1


async def test_stall_before_the_headers_is_retried_by_the_sdk(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    """A stall before the response starts is a request timeout, and the SDKs retry those: the
    error comes after (retries + 1) x timeout plus back-off (what made one sync stream with
    ``timeout=2`` fail after 8.4 s: 3 attempts of 2 s and the SDK's ~0.4 + ~0.9 s back-off).
    The error is the SDK's own (google-genai lets httpx's ``ReadTimeout`` through, and over
    aiohttp a bare ``TimeoutError`` without retrying it)."""
    import threading

    scripts = [
        _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=99, gate_timeout=30.0) for _ in range(3)
    ]
    for script in scripts:
        script.head_gate = threading.Event()  # never opened: the headers never come
    server.add(*scripts)
    stream = _stream(wire, server, use_async, timeout=0.5, retries=2)
    with pytest.raises(wire.head_timeout_error()):
        await _drain(stream, use_async)
    assert len(server.exchanges) == wire.head_timeout_attempts
    # every attempt timed out waiting for the headers (over aiohttp the transport may keep
    # the timed-out connection open, so the server's view of the hang-up is not asserted)
    assert all(ex.log[0] == ("head-wait", 0) for ex in server.exchanges)


# -- HTTP errors and the SDK's retries -------------------------------------------------------------


def _quick_retry(script: Script) -> Script:
    script.headers["retry-after-ms"] = "1"  # OpenAI's and Anthropic's SDKs: retry at once
    return script


async def test_429_and_500_are_retried_by_the_sdk(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    from schemastream.schema import ResponseSpec

    good = wire.script(dumps(IDEAS[1]), ResponseSpec.from_type(Idea), n=4)
    server.add(_quick_retry(wire.http_error(429)), _quick_retry(wire.http_error(500)), good)
    stream = _stream(wire, server, use_async, retries=2)
    assert await _final(stream, use_async) == Idea(**IDEAS[1])
    assert [ex.script.status for ex in server.exchanges] == [429, 500, 200]
    assert stream.restarts == 0


async def test_retries_that_run_out_raise_the_sdk_error(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    server.add(*[_quick_retry(wire.http_error(500)) for _ in range(3)])
    with pytest.raises(wire.sdk_error(500)):
        await _drain(_stream(wire, server, use_async, retries=2), use_async)
    assert len(server.exchanges) == 3


# -- events the decoder cannot read ----------------------------------------------------------------


async def test_malformed_event_is_a_provider_error(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    script = _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=4)
    bad = wire.bad_event("Idea").replace(b"5", b'{"oops": [')  # no longer JSON
    script.chunks.insert(wire.first_piece + 2, bad)
    server.add(script)
    with pytest.raises(ProviderError):
        await _drain(_stream(wire, server, use_async), use_async)
    _hung_up(server)


async def test_event_of_the_wrong_shape_is_a_provider_error(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    script = _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=4)
    script.chunks.insert(wire.first_piece + 2, wire.bad_event("Idea"))
    server.add(script)
    with pytest.raises(ProviderError) as info:
        await _drain(_stream(wire, server, use_async), use_async)
    assert info.value.field == wire.bad_field
    assert info.value.event and info.value.event in str(info.value)
    assert "is an integer (5), expected a string" in str(info.value)
    _hung_up(server)


async def test_event_that_is_a_json_array_is_a_provider_error(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    script = _held_script(wire, dumps(IDEAS[0]), Idea, 4, at=4)
    bad = wire.bad_event("Idea")
    data = bad[bad.index(b"data: ") + 6 : bad.rindex(b"\n\n")]
    script.chunks.insert(wire.first_piece + 2, bad.replace(data, b"[" + data + b"]"))
    server.add(script)
    with pytest.raises(ProviderError) as info:
        await _drain(_stream(wire, server, use_async), use_async)
    assert info.value.field == "the event"
    _hung_up(server)


# -- documents -----------------------------------------------------------------------------------


async def test_document_nested_10000_deep_hits_max_depth(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    text = '{"title":"deep","data":' + "[" * 10_000 + "]" * 10_000 + "}"
    server.add(_held_script(wire, text, Doc, 500, at=len(text) // 500 - 2))
    with pytest.raises(JsonStreamError, match="max_depth=512"):
        await _drain(_stream(wire, server, use_async, model=Doc), use_async)
    _hung_up(server)


BIG = 20 * 1024 * 1024  # characters
PIECE = 256 * 1024


async def test_20_mb_string_arrives_whole(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    from schemastream.schema import ResponseSpec

    text = dumps({"title": "big", "body": "x" * BIG})
    server.add(wire.script(text, ResponseSpec.from_type(Doc), n=PIECE))
    final = await _final(_stream(wire, server, use_async, model=Doc), use_async)
    assert final.title == "big" and len(final.body) == BIG and final.body == "x" * BIG


async def test_20_mb_string_is_stopped_by_max_size(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    text = dumps({"title": "big", "body": "x" * BIG})
    server.add(_held_script(wire, text, Doc, PIECE, at=len(text) // PIECE))
    stream = _stream(wire, server, use_async, model=Doc, max_size=1_000_000)
    with pytest.raises(JsonStreamError, match="max_size=1000000") as info:
        await _drain(stream, use_async)
    assert info.value.offset == 1_000_000  # stopped at the limit, not at the end
    _hung_up(server)


async def test_document_never_closed(server: ReplayServer, wire: Wire, use_async: bool) -> None:
    """The model says it finished, but the JSON is still open."""
    from schemastream.schema import ResponseSpec

    text = dumps(IDEAS[0])[:-6]  # '{"title":"Solar kettle","sc'
    server.add(wire.script(text, ResponseSpec.from_type(Idea), n=4))
    with pytest.raises(JsonStreamError, match="unexpected end of document"):
        await _drain(_stream(wire, server, use_async), use_async)


# -- load and leaks ------------------------------------------------------------------------------


def _rss() -> int:
    """Resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("wire", WIRES)
async def test_300_concurrent_async_streams_are_all_exact(wire: Wire) -> None:
    from schemastream.schema import ResponseSpec

    spec = ResponseSpec.from_type(list[Idea])
    docs = [[{"title": f"Idea {i}-{j}", "score": i + j} for j in range(3)] for i in range(300)]
    with ReplayServer(record=False) as server:
        server.add(*[wire.script(dumps({"items": doc}), spec, n=7) for doc in docs])
        client = wire.make_client(server, True)
        # The server plays its scripts in arrival order, which is not the order of the
        # tasks: each stream returns the document it got, matched below as a multiset.

        async def one() -> list[Idea]:
            stream = client.responses.stream(
                model="m", messages=MESSAGES, response_model=list[Idea]
            )
            return await stream.get_final_response()  # type: ignore[no-any-return]

        results = await asyncio.gather(*[one() for _ in docs])
    got = sorted(([i.model_dump() for i in r] for r in results), key=lambda d: d[0]["title"])
    want = sorted(docs, key=lambda d: d[0]["title"])
    assert got == want


@pytest.mark.parametrize("wire", SYNC_WIRES)
def test_1000_sequential_streams_leak_nothing(wire: Wire) -> None:
    from schemastream.schema import ResponseSpec

    spec = ResponseSpec.from_type(Idea)
    text = dumps(IDEAS[2])
    refs: list[weakref.ref[Any]] = []
    with ReplayServer(record=False, fallback=lambda path, body: wire.script(text, spec)) as server:
        client = wire.make_client(server, False)

        def run(n: int, keep: bool) -> None:
            for _ in range(n):
                stream = client.responses.stream(model="m", messages=MESSAGES, response_model=Idea)
                assert stream.get_final_response() == Idea(**IDEAS[2])
                if keep:
                    refs.append(weakref.ref(stream))

        run(100, False)  # warm up: pools, caches, lazy imports
        gc.collect()
        before = _rss()
        run(1000, True)
        gc.collect()
        growth = _rss() - before
    print(f"\n{wire.name}: RSS growth over 1,000 sequential streams: {growth / 2**20:+.1f} MiB")
    assert not [r for r in refs if r() is not None]  # no stream outlives its call
    assert growth < 64 * 2**20  # generous: the bench records the real figure
