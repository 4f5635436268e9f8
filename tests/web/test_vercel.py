"""text_stream_response / ui_message_stream_response on the real core's events (sync and
async streams), and the JSON-text helpers under the text stream. The hooks that read them
(``useObject``, ``useChat``) are driven in Chromium by ``test_react.py``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from schemastream import errors
from schemastream.events import FinalEvent
from schemastream.patch import apply_patch
from schemastream.web import text_stream_response, ui_message_stream_response
from schemastream.web.vercel import json_completion, open_json

from .helpers import (
    AsyncScriptedStream,
    ScriptedStream,
    ServerThread,
    idea_events,
    make_ideas,
    wait_for,
)
from .test_patch import json_values


def app_for(make_stream: Any, respond: Any, **kw: Any) -> Starlette:
    async def endpoint(request: Request) -> Any:
        return respond(make_stream(), **kw)

    return Starlette(routes=[Route("/s", endpoint, methods=["GET", "POST"])])


def states_of(events: list[Any]) -> list[Any]:
    state: Any = None
    out = []
    for ev in events:
        ops = getattr(ev, "ops", None)
        if ops and not isinstance(ev, FinalEvent):
            state = apply_patch(state, ops)
            out.append(state)
    return out


# -- the JSON text ------------------------------------------------------------------------


def test_open_json_of_the_core_s_partials_only_grows() -> None:
    ideas = make_ideas(4)
    texts = [open_json(s) for s in states_of(idea_events(ideas, chunk=3))]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:]))
    assert texts[-1] + json_completion(states_of(idea_events(ideas))[-1], ideas) == json.dumps(  # type: ignore[operator]
        ideas, separators=(",", ":"), ensure_ascii=False
    )


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_completion_of_any_prefix_state_parses_to_the_final_value(value: Any) -> None:
    # every state along the way to `value` (as the core builds them) completes into `value`
    for cut in range(len(json.dumps(value)) + 1):
        from schemastream.jsonstream import JsonStreamParser

        text = json.dumps(value, separators=(",", ":"))
        parser = JsonStreamParser()
        parser.feed(text[:cut])
        partial = parser.value
        if partial is None:
            continue
        tail = json_completion(partial, value)
        assert tail is not None, (partial, value)
        assert json.loads(open_json(partial) + tail) == value
        # nothing was changed by validation here: the completion is the plain rest of the text
        assert open_json(partial) + tail == json.dumps(
            value, separators=(",", ":"), ensure_ascii=False
        )


def test_completion_rewrites_members_the_validation_changed() -> None:
    partial = {"b": "x", "a": "hel"}
    final = {"a": "hello", "b": "X", "c": 1}  # reordered, a member changed, a default added
    text = open_json(partial) + json_completion(partial, final)  # type: ignore[operator]
    assert json.loads(text) == final  # a JSON parser keeps the last of two equal keys
    # a closed list element that changed cannot be taken back
    assert json_completion([{"t": "a"}, {"t": "b"}], [{"t": "A"}, {"t": "b"}]) is None


# -- text stream --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_text_stream_is_the_growing_json_text(kind: str) -> None:
    ideas = make_ideas(5)
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    app = app_for(lambda: cls(idea_events(ideas), delay=0.001), text_stream_response, coalesce=0)
    with ServerThread(app) as server, httpx.stream("POST", server.url + "/s") as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        pieces = [p for p in r.iter_text() if p]
    text = "".join(pieces)
    assert json.loads(text) == ideas
    assert len(pieces) > 5  # it streamed


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_text_stream_failure_aborts_the_response(kind: str) -> None:
    evs = idea_events(make_ideas(4))
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    failing = errors.IncompleteOutputError("the model stopped")
    app = app_for(lambda: cls(evs, raise_at=40, error=failing), text_stream_response, coalesce=0)
    with ServerThread(app) as server, httpx.stream("POST", server.url + "/s") as r:
        assert r.status_code == 200
        got = ""
        with pytest.raises(httpx.RemoteProtocolError):  # cut, never a clean end
            for piece in r.iter_text():
                got += piece
    assert got and not _parses(got)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_text_stream_failure_before_any_text_is_an_http_error() -> None:
    class Broken:
        def events(self) -> Any:
            raise errors.ConfigurationError("no API key: set OPENAI_API_KEY=sk-...")

        def close(self) -> None:
            pass

    with TestClient(app_for(Broken, text_stream_response)) as client:
        r = client.post("/s")
    assert r.status_code == 502
    assert r.text == "the server is not configured for this model" and "sk-" not in r.text


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("respond", [text_stream_response, ui_message_stream_response])
def test_client_disconnect_closes_the_stream(kind: str, respond: Any) -> None:
    evs = idea_events(make_ideas(5))
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    stream = cls(evs, block_at=30)
    with ServerThread(app_for(lambda: stream, respond, coalesce=0)) as server:
        with httpx.Client() as client, client.stream("POST", server.url + "/s") as r:
            for _ in r.iter_bytes():
                if stream.blocked.is_set():
                    break
        wait_for(stream.closed.is_set, 5, "stream closed after disconnect")
    assert stream.yielded == 30


# -- UI message stream --------------------------------------------------------------------


def ui_parts(raw: str) -> list[Any]:
    assert raw.endswith("data: [DONE]\n\n")
    frames = [f for f in raw.split("\n\n") if f and not f.startswith(":")]
    assert all(f.startswith("data: ") for f in frames)
    return [json.loads(f[6:]) if f != "data: [DONE]" else "[DONE]" for f in frames]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ui_message_stream_updates_one_data_part_in_place(kind: str) -> None:
    ideas = make_ideas(4)
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    app = app_for(
        lambda: cls(idea_events(ideas), delay=0.002),
        ui_message_stream_response,
        message_id="m-1",
        coalesce=0.02,
    )
    with TestClient(app) as client:
        r = client.post("/s")
    assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert r.headers["content-type"].startswith("text/event-stream")
    parts = ui_parts(r.text)
    assert parts[:2] == [{"type": "start", "messageId": "m-1"}, {"type": "start-step"}]
    assert parts[-3:] == [
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
        "[DONE]",
    ]
    data = parts[2:-3]
    assert len(data) > 3 and all(set(p) == {"type", "id", "data"} for p in data)
    assert {(p["type"], p["id"]) for p in data} == {("data-object", "object")}
    assert data[-1]["data"] == ideas
    # coalesced: fewer updates than the core's events
    assert len(data) < len(idea_events(ideas))


def test_ui_message_stream_error_part() -> None:
    evs = idea_events(make_ideas(3))
    failing = errors.RefusalError("I can't help with that.")
    app = app_for(
        lambda: ScriptedStream(evs, raise_at=20, error=failing), ui_message_stream_response
    )
    with TestClient(app) as client:
        parts = ui_parts(client.post("/s").text)
    assert parts[-2] == {"type": "error", "errorText": "the model refused: I can't help with that."}
    assert parts[-1] == "[DONE]" and {"type": "finish-step"} not in parts
