"""Reasoning and prose on every web surface: our SSE / WebSocket messages, AG-UI and the AI
SDK's UI message stream. The real client, driver and stream shells run over
:class:`~tests.core.scripted.ScriptProvider` (the provider contract fed given deltas) until
the providers' replay servers send reasoning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

import schemastream as ss
from schemastream.contract import Delta
from schemastream.patch import apply_patch
from schemastream.web import ag_ui_response, sse_response, ui_message_stream_response
from schemastream.web.encoder import WireEncoder
from schemastream.web.ws import websocket_stream

from ..core.scripted import ScriptProvider, finish, json_deltas
from .helpers import ServerThread, parse_sse, replay_frames
from .npm import NodeLines, requires_npm


class Idea(BaseModel):
    title: str


IDEAS = [{"title": "Voice notes"}, {"title": "Digest"}]
REASONING = "Two ideas for notes.\n\nKeep them short."
TEXT = "Here they are:"


def collapse(names: list[str]) -> list[str]:
    """Runs of one name as one (how many deltas a run has depends on the batching)."""
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def script() -> list[Delta]:
    return [
        Delta(reasoning="Two ideas"),
        Delta(reasoning=" for notes."),
        Delta(reasoning="\n\nKeep them short."),
        Delta(prose="Here they are:"),
        *json_deltas({"items": IDEAS}, size=6),
        finish(ss.Usage(5, 9)),
    ]


def make_stream(kind: str, scripts: list[list[Delta]] | None = None, **kw: Any) -> Any:
    provider = ScriptProvider(*(scripts or [script()]))
    client: Any = ss.Client(provider) if kind == "sync" else ss.AsyncClient(provider)
    return client.responses.stream(response_model=list[Idea], **kw)


def app(respond: Any, kind: str, **kw: Any) -> Starlette:
    async def endpoint(request: Request) -> Any:
        return respond(make_stream(kind), coalesce=0, **kw)

    async def ws(websocket: WebSocket) -> None:
        await websocket_stream(websocket, make_stream(kind), coalesce=0)

    return Starlette(routes=[Route("/s", endpoint, methods=["POST"]), WebSocketRoute("/ws", ws)])


# -- the encoder -----------------------------------------------------------------------------


def test_encoder_sends_a_batch_s_reasoning_and_text_first_merged() -> None:
    enc = WireEncoder()
    batch = [
        ss.ReasoningEvent("a"),
        ss.PartialEvent(None, [{"op": "add", "path": "", "value": []}]),
        ss.ReasoningEvent("b"),
        ss.TextEvent("t1"),
        ss.TextEvent("t2"),
    ]
    msgs = enc.encode(batch)
    assert [(m.event, m.data) for m in msgs] == [
        ("reasoning", {"delta": "ab"}),
        ("text", {"delta": "t1t2"}),
        ("patch", {"ops": [{"op": "add", "path": "", "value": []}]}),
    ]
    assert [m.id for m in msgs] == [1, 2, 3]
    # one at a time, each is its own message, in order
    assert [(m.event, m.data) for m in enc.encode([ss.ReasoningEvent("c")])] == [
        ("reasoning", {"delta": "c"})
    ]


def test_a_restart_drops_the_failed_attempt_s_pending_reasoning() -> None:
    enc = WireEncoder()
    error = ss.StreamValidationError([{"loc": ("x",), "msg": "bad", "type": "t"}])
    msgs = enc.encode(
        [ss.ReasoningEvent("old"), ss.RestartEvent(1, error), ss.ReasoningEvent("new")]
    )
    assert [(m.event, m.data.get("delta")) for m in msgs] == [
        ("restart", None),
        ("reasoning", "new"),
    ]


# -- our protocol over SSE and WebSockets ----------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_sse_sends_reasoning_and_text_beside_the_state(kind: str) -> None:
    with TestClient(app(sse_response, kind)) as client:
        frames = parse_sse(client.post("/s").text)
    assert collapse([f.event for f in frames])[:3] == ["reasoning", "text", "patch"]
    assert "".join(f.data["delta"] for f in frames if f.event == "reasoning") == REASONING
    assert "".join(f.data["delta"] for f in frames if f.event == "text") == TEXT
    assert all(set(f.data) == {"delta"} for f in frames if f.event in ("reasoning", "text"))
    state, items, end = replay_frames(frames)  # reasoning never touches the state
    assert end == "final" and state == IDEAS and items == [0, 1]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_websocket_sends_reasoning_and_text(kind: str) -> None:
    with TestClient(app(sse_response, kind)) as client, client.websocket_connect("/ws") as ws:
        messages = []
        while True:
            msg = json.loads(ws.receive_text())
            messages.append(msg)
            if msg["event"] in ("final", "error"):
                break
    assert collapse([m["event"] for m in messages])[:3] == ["reasoning", "text", "patch"]
    assert messages[0]["id"] == 1 and messages[0]["data"]["delta"].startswith("Two ideas")
    assert "".join(m["data"]["delta"] for m in messages if m["event"] == "reasoning") == REASONING
    assert messages[-1]["event"] == "final"


# -- AG-UI -------------------------------------------------------------------------------------


def ag_ui_events(body: str) -> list[dict[str, Any]]:
    return [json.loads(f[len("data: ") :]) for f in body.split("\n\n") if f.startswith("data: ")]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ag_ui_reasoning_events_then_an_assistant_text_message(kind: str) -> None:
    with TestClient(app(ag_ui_response, kind)) as client:
        events = ag_ui_events(client.post("/s").text)
    types = collapse([e["type"] for e in events])
    assert types[:10] == [
        "RUN_STARTED",
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
        "REASONING_END",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STATE_SNAPSHOT",
    ]
    reasoning = [e for e in events if e["type"].startswith("REASONING")]
    text = [e for e in events if e["type"].startswith("TEXT_MESSAGE")]
    assert (
        len({e["messageId"] for e in reasoning}) == 1 and len({e["messageId"] for e in text}) == 1
    )
    assert reasoning[1]["role"] == "reasoning" and text[0]["role"] == "assistant"
    assert "".join(e.get("delta", "") for e in reasoning) == REASONING
    assert "".join(e.get("delta", "") for e in text) == TEXT
    assert events[-1]["type"] == "RUN_FINISHED" and events[-1]["result"] == IDEAS


# -- the AI SDK's UI message stream -----------------------------------------------------------


def ui_parts(body: str) -> list[Any]:
    frames = [f for f in body.split("\n\n") if f.startswith("data: ")]
    return [json.loads(f[6:]) if f != "data: [DONE]" else "[DONE]" for f in frames]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ui_message_stream_reasoning_and_text_parts(kind: str) -> None:
    with TestClient(app(ui_message_stream_response, kind, message_id="m")) as client:
        parts = ui_parts(client.post("/s").text)
    kinds = collapse([p["type"] if isinstance(p, dict) else p for p in parts])
    assert kinds[:10] == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-end",
        "data-object",
        "finish-step",
    ]
    reasoning = [p for p in parts if isinstance(p, dict) and p["type"].startswith("reasoning")]
    text = [p for p in parts if isinstance(p, dict) and p["type"].startswith("text")]
    assert {p["id"] for p in reasoning} == {"reasoning-1"} and {p["id"] for p in text} == {"text-2"}
    assert "".join(p.get("delta", "") for p in reasoning) == REASONING
    assert "".join(p.get("delta", "") for p in text) == TEXT
    data = [p for p in parts if isinstance(p, dict) and p["type"] == "data-object"]
    assert data[-1]["data"] == IDEAS
    assert parts[-3:] == [
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
        "[DONE]",
    ]


def test_ui_message_stream_ends_an_open_reasoning_part_before_an_error() -> None:
    bad = [Delta(reasoning="thinking"), Delta(text='{"items": [{"title": 1'), finish()]

    async def endpoint(request: Request) -> Any:
        return ui_message_stream_response(make_stream("sync", [bad]), coalesce=0)

    with TestClient(Starlette(routes=[Route("/s", endpoint, methods=["POST"])])) as client:
        parts = ui_parts(client.post("/s").text)
    kinds = [p["type"] if isinstance(p, dict) else p for p in parts]
    assert kinds.index("reasoning-end") < kinds.index("error")
    assert kinds[-2:] == ["error", "[DONE]"]


def test_state_patches_after_reasoning_rebuild_the_value() -> None:
    enc = WireEncoder()
    state: Any = None
    stream = make_stream("sync")
    for ev in stream.events(partials=False):
        for msg in enc.encode([ev]):
            if msg.event in ("patch", "final"):
                state = apply_patch(state, msg.data["ops"])
    assert state == IDEAS


# -- the AI SDK's own client reads the parts -------------------------------------------------


@requires_npm
def test_the_ai_sdk_builds_reasoning_text_and_data_parts_from_our_stream() -> None:
    # DefaultChatTransport + readUIMessageStream (what useChat runs) against the example app's
    # /api/chat on the real stream; the SDK rejects an out-of-order or unknown part.
    from .test_agui import REACT_APP

    ideas = [{"title": "Voice notes", "blurb": "Speak."}, {"title": "Digest", "blurb": "Daily."}]
    provider = ScriptProvider(
        [
            Delta(reasoning="Two ideas"),
            Delta(reasoning="\n\nShort ones."),
            Delta(prose="Here they are."),
            *json_deltas({"items": ideas}, size=7),
            finish(),
        ]
    )
    app = REACT_APP.create_app(client=ss.Client(provider))
    with ServerThread(app) as s, NodeLines("ui-message-reader.mjs", s.url + "/api/chat") as reader:
        [result] = list(reader)
    assert "error" not in result, result
    parts = result["parts"]
    kinds = [p["type"] for p in parts]
    assert kinds[:2] == ["step-start", "reasoning"] and "text" in kinds
    reasoning = parts[1]
    assert reasoning["text"] == "Two ideas\n\nShort ones." and reasoning["state"] == "done"
    text = parts[kinds.index("text")]
    assert text["text"] == "Here they are." and text["state"] == "done"
    [data] = [p for p in parts if p["type"] == "data-object"]
    assert data["data"] == ideas
