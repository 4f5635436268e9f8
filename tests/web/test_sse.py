"""SSE delivery of the core's events (scripted pacing): framing, events, errors, heartbeats."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Literal

import httpx
import pydantic
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

import openai
from schemastream import errors
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent
from schemastream.patch import diff
from schemastream.web import error_payload, sse_response
from schemastream.web.encoder import WireEncoder, jsonable

from .helpers import (
    AsyncScriptedStream,
    Idea,
    ScriptedStream,
    ServerThread,
    idea_events,
    make_ideas,
    parse_sse,
    replay_frames,
    wait_for,
)


def app_for(make_stream: Any, **kw: Any) -> Starlette:
    async def endpoint(request: Request) -> Any:
        return sse_response(make_stream(), **kw)

    return Starlette(routes=[Route("/s", endpoint, methods=["GET", "POST"])])


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("rfc6902", [False, True])
def test_stream_reaches_final_value_with_items(kind: str, rfc6902: bool) -> None:
    ideas = make_ideas(6)
    evs = idea_events(ideas)
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    with TestClient(app_for(lambda: cls(evs), rfc6902=rfc6902, coalesce=0)) as client:
        r = client.post("/s")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    frames = parse_sse(r.text)
    ids = [f.id for f in frames]
    assert ids == list(range(1, len(frames) + 1))  # monotonic, every event has one
    state, items, end = replay_frames(frames)
    assert end == "final" and frames[-1].event == "final"
    assert state == ideas
    assert items == list(range(6))
    ops = [op for f in frames if f.event == "patch" for op in f.data["ops"]]
    if rfc6902:
        assert all(op["op"] in ("add", "replace", "remove") for op in ops)
    # an item event comes after the ops that complete that item
    seen: Any = None
    from schemastream.patch import apply_patch

    for f in frames:
        if f.event == "patch":
            seen = apply_patch(seen, f.data["ops"])
        elif f.event == "item":
            assert seen[f.data["index"]] == ideas[f.data["index"]]


def test_sync_stream_is_iterated_off_the_event_loop() -> None:
    stream = ScriptedStream(idea_events(make_ideas(2)))
    loop_thread: dict[str, Any] = {}

    async def endpoint(request: Request) -> Any:
        loop_thread["t"] = threading.current_thread()
        return sse_response(stream)

    app = Starlette(routes=[Route("/s", endpoint)])
    with TestClient(app) as client:
        r = client.get("/s")
    assert replay_frames(parse_sse(r.text))[2] == "final"
    assert stream.thread is not None and stream.thread is not loop_thread["t"]


def test_ready_events_are_coalesced_into_one_patch() -> None:
    ideas = make_ideas(3)
    evs = idea_events(ideas, chunk=1)
    enc = WireEncoder()
    msgs = enc.encode(evs)
    assert [m.event for m in msgs] == ["patch", "item", "item", "item", "final"]
    assert msgs[0].data["ops"] == diff(None, ideas)
    assert msgs[-1].data["ops"] == []


@pytest.mark.parametrize("rfc6902", [False, True])
def test_encoder_one_event_at_a_time_sends_appends(rfc6902: bool) -> None:
    ideas = make_ideas(3)
    enc = WireEncoder(rfc6902=rfc6902)
    msgs = [m for ev in idea_events(ideas) for m in enc.encode([ev])]
    ops = [op["op"] for m in msgs if m.event == "patch" for op in m.data["ops"]]
    assert ("append" in ops) is not rfc6902
    state, items, end = replay_frames([_frame(m) for m in msgs])
    assert (state, items, end) == (ideas, [0, 1, 2], "final")


def test_encoder_merges_appends_and_keeps_item_after_its_ops() -> None:
    enc = WireEncoder()
    m1 = enc.encode([PartialEvent([], [{"op": "replace", "path": "", "value": []}])])
    assert m1[0].data == {"ops": [{"op": "replace", "path": "", "value": []}]}
    evs = [
        PartialEvent(None, [{"op": "add", "path": "/0", "value": {"title": "a"}}]),
        PartialEvent(None, [{"op": "append", "path": "/0/title", "value": "b"}]),
        PartialEvent(None, [{"op": "append", "path": "/0/title", "value": "c"}]),
    ]
    assert [m.data for m in enc.encode(evs)] == [
        {"ops": [{"op": "add", "path": "/0", "value": {"title": "abc"}}]}
    ]
    evs2 = [
        PartialEvent(None, [{"op": "append", "path": "/0/title", "value": "d"}]),
        PartialEvent(None, [{"op": "append", "path": "/0/title", "value": "e"}]),
        ItemEvent(0, {"title": "abcde"}, "/0"),
        PartialEvent(None, [{"op": "add", "path": "/1", "value": {}}]),
    ]
    out = enc.encode(evs2)
    assert [(m.id, m.event) for m in out] == [(3, "patch"), (4, "item")]
    assert out[0].data["ops"] == [
        {"op": "append", "path": "/0/title", "value": "de"},
        {"op": "add", "path": "/1", "value": {}},
    ]


class Tag(BaseModel):
    kind: Literal["tag"] = "tag"
    at: dt.datetime


class Note(BaseModel):
    kind: Literal["note"] = "note"
    text: str
    on: dt.date


def test_any_response_type_is_serialised_through_pydantic() -> None:
    value = {
        "things": [Tag(at=dt.datetime(2024, 1, 2, 3, 4, 5)), Note(text="x", on=dt.date(2024, 5, 6))]
    }
    enc = WireEncoder()
    msgs = enc.encode([FinalEvent(value=value)])
    assert msgs[0].event == "final"
    expected = {
        "things": [
            {"kind": "tag", "at": "2024-01-02T03:04:05"},
            {"kind": "note", "text": "x", "on": "2024-05-06"},
        ]
    }
    assert replay_frames([_frame(m) for m in msgs])[0] == expected
    assert jsonable([Idea(title="t", blurb="b")]) == [{"title": "t", "blurb": "b"}]


def _frame(m: Any) -> Any:
    from .helpers import Frame

    return Frame(m.id, m.event, m.data)


def test_restart_clears_state() -> None:
    ideas = make_ideas(2)
    first = idea_events(ideas)[:8]
    evs = [
        *first,
        RestartEvent(
            attempt=1,
            error=errors.StreamValidationError([{"loc": ("x",), "msg": "bad", "type": "t"}]),
        ),
        *idea_events(ideas),
    ]
    with TestClient(app_for(lambda: ScriptedStream(evs), coalesce=0)) as client:
        frames = parse_sse(client.get("/s").text)
    restart = [f for f in frames if f.event == "restart"]
    assert restart and restart[0].data["attempt"] == 1 and restart[0].data["reason"] == "validation"
    state, items, end = replay_frames(frames)
    assert end == "final" and state == ideas and items == [0, 1]


def _openai_status_error(status: int) -> openai.APIStatusError:
    """The error the openai SDK raises for an HTTP error answer (secret in its message)."""
    request = httpx.Request("POST", "https://api.openai.com/v1/responses")
    body = {"error": {"message": "Incorrect API key provided: sk-secret-123"}}
    response = httpx.Response(status, request=request, json=body)
    cls = {401: openai.AuthenticationError, 429: openai.RateLimitError}[status]
    return cls(f"Error code: {status} - {body}", response=response, body=body)


def _validation_error() -> pydantic.ValidationError:
    try:
        Idea(title="t", blurb="x" * 200)
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError


@pytest.mark.parametrize(
    "exc, type_",
    [
        (
            errors.StreamValidationError(
                [
                    {
                        "loc": (0, "blurb"),
                        "msg": "too long",
                        "type": "string_too_long",
                        "input": "sk-secret-123",
                    }
                ]
            ),
            "validation",
        ),
        (_validation_error(), "validation"),
        (errors.JsonStreamError("unexpected '}'", 12), "validation"),
        (errors.IncompleteOutputError("length", last_partial=[]), "incomplete"),
        (errors.RefusalError("I can't help with that"), "refusal"),
        (errors.ProviderError("bad framing sk-secret-123"), "provider"),
        (_openai_status_error(401), "provider"),
        (httpx.ConnectError("connect failed to sk-secret-123"), "provider"),
        (RuntimeError("boom sk-secret-123 /home/x.py line 3"), "internal"),
    ],
)
def test_errors_are_typed_and_safe(exc: BaseException, type_: str) -> None:
    ideas = make_ideas(3)
    evs = idea_events(ideas)
    app = app_for(lambda: ScriptedStream(evs, raise_at=20, error=exc), coalesce=0)
    with TestClient(app) as client:
        r = client.get("/s")
    frames = parse_sse(r.text)
    assert frames[-1].event == "error"
    assert [f.event for f in frames].count("error") == 1
    data = frames[-1].data
    assert data["type"] == type_
    assert isinstance(data["message"], str) and data["message"]
    assert "sk-secret" not in r.text and "Traceback" not in r.text and ".py" not in data["message"]
    if type_ == "validation":
        assert data["errors"] and set(data["errors"][0]) == {"loc", "msg", "type"}
    # the partial state before the failure was delivered
    state, _, end = replay_frames(frames)
    assert end == "error" and state is not None


def test_error_payload_messages() -> None:
    assert error_payload(_openai_status_error(429))["message"].endswith("(HTTP 429)")
    # a read timeout mid-body: a ProviderError, still reported as a timeout
    from schemastream.providers.base import connection_lost

    lost = connection_lost("genai", ConnectionResetError())
    assert error_payload(lost)["message"] == "the model provider's stream failed"
    try:
        raise connection_lost("genai", TimeoutError()) from TimeoutError()
    except errors.ProviderError as exc:
        assert error_payload(exc)["message"] == "the model provider timed out"
    assert error_payload(
        errors.StreamValidationError([{"loc": (1, "title"), "msg": "bad", "type": "x"}])
    )["errors"] == [{"loc": [1, "title"], "msg": "bad", "type": "x"}]


def test_stream_that_ends_without_final_reports_incomplete() -> None:
    evs = idea_events(make_ideas(2))[:-1]
    with TestClient(app_for(lambda: ScriptedStream(evs))) as client:
        frames = parse_sse(client.get("/s").text)
    assert frames[-1].event == "error" and frames[-1].data["type"] == "incomplete"


def test_heartbeat_comments_while_silent() -> None:
    gate = threading.Event()

    class Slow(ScriptedStream):
        def events(self) -> Any:
            it = super().events()
            yield next(it)
            gate.wait(10)
            yield from it

    evs = idea_events(make_ideas(1))
    stream = Slow(evs)
    with (
        ServerThread(app_for(lambda: stream, heartbeat=0.02)) as server,
        httpx.stream("GET", server.url + "/s") as r,
    ):
        raw = ""
        for chunk in r.iter_text():
            raw += chunk
            if raw.count(": ping") >= 2:
                gate.set()
    comments: list[str] = []
    frames = parse_sse(raw, comments=comments)
    assert comments.count(": ping") >= 2
    assert replay_frames(frames)[2] == "final"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_disconnect_closes_the_stream(kind: str) -> None:
    evs = idea_events(make_ideas(5))
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    stream = cls(evs, block_at=30)
    with ServerThread(app_for(lambda: stream, coalesce=0)) as server:
        with httpx.Client() as client, client.stream("GET", server.url + "/s") as r:
            raw = ""
            for chunk in r.iter_text():
                raw += chunk
                if stream.blocked.is_set() and raw.count("event:patch") >= 1:
                    break
        # the response is gone: the server must close the stream (deadline, not a timing claim)
        wait_for(stream.closed.is_set, 5, "stream closed after disconnect")
    assert stream.yielded == 30


def test_a_stream_that_fails_to_start_sends_an_error_event() -> None:
    class Broken:
        def events(self) -> Any:
            raise errors.ConfigurationError("no API key: set OPENAI_API_KEY=sk-...")

        def close(self) -> None:
            pass

    with TestClient(app_for(Broken)) as client:
        r = client.get("/s")
    frames = parse_sse(r.text)
    assert [f.event for f in frames] == ["error"]
    assert frames[0].data["type"] == "internal" and "sk-" not in r.text
