"""WebSocket delivery of the core's events (scripted pacing): messages, cancel, disconnect."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from schemastream import errors
from schemastream.web import websocket_stream

from .helpers import (
    AsyncScriptedStream,
    Frame,
    ScriptedStream,
    idea_events,
    make_ideas,
    replay_frames,
    wait_for,
)


def ws_app(make_stream: Any, outcomes: list[str], **kw: Any) -> Starlette:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_json()  # the request body
        outcomes.append(await websocket_stream(websocket, make_stream(), **kw))

    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


def read_until_end(ws: Any) -> list[Frame]:
    frames = []
    while True:
        msg = ws.receive_json()
        assert set(msg) == {"event", "id", "data"}
        frames.append(Frame(msg["id"], msg["event"], msg["data"]))
        if msg["event"] in ("final", "error"):
            return frames


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ws_delivers_the_same_events(kind: str) -> None:
    ideas = make_ideas(4)
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    outcomes: list[str] = []
    with (
        TestClient(ws_app(lambda: cls(idea_events(ideas)), outcomes)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        ws.send_json({"topic": "x"})
        frames = read_until_end(ws)
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))
    assert replay_frames(frames) == (ideas, [0, 1, 2, 3], "final")
    assert outcomes == ["final"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ws_cancel_stops_the_model_call(kind: str) -> None:
    cls = ScriptedStream if kind == "sync" else AsyncScriptedStream
    stream = cls(idea_events(make_ideas(4)), block_at=12)
    outcomes: list[str] = []
    with (
        TestClient(ws_app(lambda: stream, outcomes, coalesce=0)) as client,
        client.websocket_connect("/ws") as ws,
    ):
        ws.send_json({})
        first = ws.receive_json()
        assert first["event"] == "patch"
        wait_for(stream.blocked.is_set, 5, "stream blocked")
        ws.send_json({"type": "cancel"})
        wait_for(stream.closed.is_set, 5, "stream closed after cancel")
    wait_for(lambda: outcomes, 5, "endpoint returned")
    assert outcomes == ["cancelled"]
    assert stream.yielded == 12


def test_ws_disconnect_closes_the_stream() -> None:
    stream = ScriptedStream(idea_events(make_ideas(4)), block_at=12)
    outcomes: list[str] = []
    with TestClient(ws_app(lambda: stream, outcomes, coalesce=0)) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({})
            ws.receive_json()
            wait_for(stream.blocked.is_set, 5, "stream blocked")
        wait_for(stream.closed.is_set, 5, "stream closed after disconnect")
        wait_for(lambda: outcomes, 5, "endpoint returned")
    assert outcomes == ["disconnected"]


def test_ws_error_event() -> None:
    exc = errors.IncompleteOutputError("length")
    outcomes: list[str] = []
    app = ws_app(
        lambda: AsyncScriptedStream(idea_events(make_ideas(2)), raise_at=5, error=exc), outcomes
    )
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({})
        frames = read_until_end(ws)
    assert frames[-1].event == "error" and frames[-1].data["type"] == "incomplete"
    assert outcomes == ["error"]
