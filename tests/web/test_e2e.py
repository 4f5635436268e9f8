"""The example app over real streams: ``ss.from_openai(OpenAI | AsyncOpenAI)`` against the replay
server (OpenAI Responses API over HTTP on 127.0.0.1), SSE read with httpx, WebSocket with
Starlette's TestClient. The replay server records when its stream was cut, so "the browser
went away -> the model request was closed" is checked on the upstream connection itself.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from .helpers import (
    Frame,
    ServerThread,
    make_ideas,
    parse_sse,
    replay_frames,
    wait_for,
)
from .test_browser import EXAMPLE

HEAD = 4  # Responses API frames before the first document piece


def make_client(server: Any, kind: str) -> Any:
    import openai
    import schemastream as ss

    cls = openai.AsyncOpenAI if kind == "async" else openai.OpenAI
    return ss.from_openai(cls(base_url=server.url + "/v1", api_key="test", max_retries=0))


def doc_script(ideas: list[dict[str, str]], **kw: Any) -> Any:
    from tests.replay import openai_server as oa

    return oa.responses_text_script({"items": ideas}, 4, **kw)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_sse_end_to_end(server: Any, kind: str) -> None:
    ideas = make_ideas(5)
    server.add(doc_script(ideas))
    app = EXAMPLE.create_app(client=make_client(server, kind), model="gpt-4o-mini")
    with ServerThread(app) as site:
        r = httpx.post(site.url + "/api/ideas", json={"topic": "notes", "count": 5}, timeout=20)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    frames = parse_sse(r.text)
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))
    assert replay_frames(frames) == (ideas, [0, 1, 2, 3, 4], "final")
    body = server.last.json
    assert body["model"] == "gpt-4o-mini" and body["stream"] is True
    assert "notes" in json.dumps(body["input"])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_sse_rfc6902_end_to_end(server: Any, kind: str) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from schemastream.web import sse_response

    from .helpers import Idea

    ideas = make_ideas(3)
    server.add(doc_script(ideas))
    client = make_client(server, kind)

    async def endpoint(request: Any) -> Any:
        stream = client.responses.stream(
            model="m", messages=[{"role": "user", "content": "x"}], response_model=list[Idea]
        )
        return sse_response(stream, rfc6902=True, coalesce=0)

    with TestClient(Starlette(routes=[Route("/s", endpoint)])) as tc:
        frames = parse_sse(tc.get("/s").text)
    ops = [op["op"] for f in frames if f.event in ("patch", "final") for op in f.data["ops"]]
    assert ops and set(ops) <= {"add", "replace", "remove"}
    assert replay_frames(frames) == (ideas, [0, 1, 2], "final")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_disconnect_cuts_the_upstream_request(server: Any, kind: str) -> None:
    ideas = make_ideas(6)
    script = doc_script(ideas)
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    gate_at = HEAD + text.index(ideas[2]["title"]) // 4  # held while idea 2 is being written
    script.gate(gate_at)  # never opened: only the hang-up releases it
    server.add(script)
    app = EXAMPLE.create_app(client=make_client(server, kind), model="gpt-4o-mini")
    with ServerThread(app) as site:
        with (
            httpx.Client(timeout=20) as http,
            http.stream("POST", site.url + "/api/ideas", json={"count": 6}) as r,
        ):
            raw = ""
            for chunk in r.iter_text():
                raw += chunk
                if "event:item" in raw and server.last.chunks_sent >= gate_at:
                    break
        # the browser is gone: the app must close the model request (deadline, not a duration)
        wait_for(lambda: server.last.disconnected, 1.0, "upstream cut after the client hung up")
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed and ex.chunks_sent == gate_at < ex.total_chunks
    state, items, end = replay_frames(parse_sse(raw[: raw.rindex("\n\n") + 2]))
    assert end == "open" and 0 in items and state[0] == ideas[0]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_websocket_end_to_end(server: Any, kind: str) -> None:
    ideas = make_ideas(4)
    server.add(doc_script(ideas))
    app = EXAMPLE.create_app(client=make_client(server, kind), model="gpt-4o-mini")
    with TestClient(app) as tc, tc.websocket_connect("/api/ideas/ws") as ws:
        ws.send_json({"topic": "x", "count": 4})
        frames = []
        while True:
            msg = ws.receive_json()
            frames.append(Frame(msg["id"], msg["event"], msg["data"]))
            if msg["event"] in ("final", "error"):
                break
    assert [f.id for f in frames] == list(range(1, len(frames) + 1))
    assert replay_frames(frames) == (ideas, [0, 1, 2, 3], "final")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_websocket_cancel_cuts_the_upstream_request(server: Any, kind: str) -> None:
    ideas = make_ideas(4)
    script = doc_script(ideas)
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    gate_at = HEAD + text.index(ideas[1]["blurb"]) // 4 + 2
    script.gate(gate_at)
    server.add(script)
    app = EXAMPLE.create_app(client=make_client(server, kind), model="gpt-4o-mini")
    with TestClient(app) as tc, tc.websocket_connect("/api/ideas/ws") as ws:
        ws.send_json({"count": 4})
        while ws.receive_json()["event"] != "item":
            pass
        assert server.last.wait_sent(gate_at) and not server.last.disconnected
        ws.send_json({"type": "cancel"})
        wait_for(lambda: server.last.disconnected, 1.0, "upstream cut after cancel")
    assert server.last.chunks_sent == gate_at


@pytest.mark.parametrize(
    "make_script, type_, must",
    [
        (
            lambda: _oa().error_script(429, "Rate limit reached for org-secret123"),
            "provider",
            "rate limit",
        ),
        (
            lambda: _oa().error_script(401, "Incorrect API key provided: sk-test-secret123"),
            "provider",
            "authentication",
        ),
        (
            lambda: _oa().responses_text_script(
                '{"items":[{"title":"a","blurb":"b"},{"title":"c"',
                4,
                incomplete_reason="max_output_tokens",
            ),
            "incomplete",
            "stopped",
        ),
        (lambda: _oa().responses_refusal_script("I can't help with that."), "refusal", "refused"),
        (lambda: doc_script([{"title": "t", "blurb": "x" * 200}]), "validation", "blurb"),
    ],
)
def test_errors_end_to_end(server: Any, make_script: Any, type_: str, must: str) -> None:
    server.add(make_script())
    app = EXAMPLE.create_app(client=make_client(server, "async"), model="gpt-4o-mini")
    with TestClient(app) as tc:
        r = tc.post("/api/ideas", json={"count": 2})
    frames = parse_sse(r.text)
    assert frames[-1].event == "error", frames[-3:]
    data = frames[-1].data
    assert data["type"] == type_ and must in data["message"]
    assert "secret123" not in r.text and "Traceback" not in r.text


def _oa() -> Any:
    from tests.replay import openai_server as oa

    return oa


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_retry_sends_restart_then_the_new_attempt(server: Any, kind: str) -> None:
    ideas = make_ideas(3)
    bad = [ideas[0], {"title": ideas[1]["title"], "blurb": "x" * 200}, ideas[2]]
    server.add(doc_script(bad), doc_script(ideas))
    app = EXAMPLE.create_app(client=make_client(server, kind), model="gpt-4o-mini", max_retries=1)
    with TestClient(app) as tc:
        frames = parse_sse(tc.post("/api/ideas", json={"count": 3}).text)
    events = [f.event for f in frames]
    assert events.count("restart") == 1
    restart = frames[events.index("restart")]
    assert restart.data["attempt"] == 1 and restart.data["reason"] == "validation"
    # after the restart the client starts from null: only the new attempt's ops count
    assert all(f.event != "final" for f in frames[: events.index("restart")])
    assert replay_frames(frames) == (ideas, [0, 1, 2], "final")
    assert len(server.exchanges) == 2
