"""Resumable SSE on the in-process store, over the real stack: the OpenAI SDK against the
replay server, uvicorn serving ``sse_response(stream, resumable=True)``, httpx as the client.

The replay server holds the model's output at a gate (causality, not timing), so "half the
stream" is a fact the test controls, and it records every request, so "the resume made no
second model request" is checked on the upstream side.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from schemastream.web import MemoryStore, StreamInfo
from schemastream.web.resumable import (
    CANCEL_HEADER,
    RESUMABLE_HEADER,
    STREAM_HEADER,
    new_stream_id,
    parse_event_id,
    route_key,
)

from .helpers import Frame, ServerThread, make_ideas, parse_sse, replay_frames, wait_for
from .resumable_app import create_app

HEAD = 4  # Responses API frames before the first document piece


def make_client(server: Any, kind: str = "async") -> Any:
    import openai
    import schemastream as ss

    cls = openai.AsyncOpenAI if kind == "async" else openai.OpenAI
    return ss.from_openai(cls(base_url=server.url + "/v1", api_key="test", max_retries=0))


def gated_script(ideas: list[dict[str, str]], at_item: int) -> tuple[Any, threading.Event, int]:
    """A Responses script held while idea ``at_item``'s blurb is being written."""
    from tests.replay import openai_server as oa

    script = oa.responses_text_script({"items": ideas}, 4)
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    at = HEAD + text.index(ideas[at_item]["blurb"]) // 4 + 2
    return script, script.gate(at), at


BODY = {"topic": "notes", "count": 6}


def read_until(url: str, stop: Any, headers: dict[str, str] | None = None) -> tuple[str, Any]:
    """POST, read frames until ``stop(frames)`` (then hang up); returns (raw, response)."""
    raw = ""
    with (
        httpx.Client(timeout=20) as http,
        http.stream("POST", url, json=BODY, headers=headers or {}) as r,
    ):
        for chunk in r.iter_text():
            raw += chunk
            if "\n\n" in raw and stop(parse_sse(raw[: raw.rindex("\n\n") + 2])):
                break
    return raw[: raw.rindex("\n\n") + 2] if "\n\n" in raw else "", r


def post(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, json=BODY, headers=headers or {}, timeout=20)


def assert_contiguous(frames: list[Frame]) -> str:
    """All ids name one stream, numbered 1, 2, 3 ... with none twice; returns the stream id."""
    parsed = [parse_event_id(str(f.id)) for f in frames]
    assert all(p is not None for p in parsed)
    sids = {p[0] for p in parsed if p}
    assert len(sids) == 1
    assert [p[1] for p in parsed if p] == list(range(1, len(frames) + 1))
    return sids.pop()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_resumable_stream_reaches_the_final_value(server: Any, kind: str) -> None:
    ideas = make_ideas(4)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4))
    with ServerThread(create_app(make_client(server, kind), store=MemoryStore())) as site:
        r = post(site.url + "/ideas")
    assert r.status_code == 200 and r.headers[RESUMABLE_HEADER] == "1"
    frames = parse_sse(r.text)
    sid = assert_contiguous(frames)
    assert len(sid) == 32 and int(sid, 16) >= 0  # 128 bits in hex
    assert r.headers[STREAM_HEADER] == f"{sid}:0"  # known before the first event
    assert replay_frames(frames) == (ideas, [0, 1, 2, 3], "final")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_resume_after_disconnect_gets_the_rest_once(server: Any, kind: str) -> None:
    ideas = make_ideas(6)
    script, gate, at = gated_script(ideas, 3)
    server.add(script)
    with ServerThread(create_app(make_client(server, kind), store=MemoryStore())) as site:
        raw, first = read_until(
            site.url + "/ideas",
            lambda fs: any(f.event == "item" and f.data["index"] == 2 for f in fs),
        )
        head = parse_sse(raw)
        # the browser is gone, the generation is not: the model's request stays open
        gate.set()
        assert server.last.done.wait(10)
        assert server.last.completed and not server.last.disconnected
        resumed = post(site.url + "/ideas", {"last-event-id": str(head[-1].id)})
    assert first.headers[RESUMABLE_HEADER] == "1" and resumed.headers[RESUMABLE_HEADER] == "1"
    assert first.headers[STREAM_HEADER] == resumed.headers[STREAM_HEADER]
    tail = parse_sse(resumed.text)
    assert tail and tail[-1].event == "final"
    assert_contiguous(head + tail)  # none lost, none twice
    assert replay_frames(head + tail) == (ideas, [0, 1, 2, 3, 4, 5], "final")
    assert len(server.exchanges) == 1  # the resume's own stream was closed unstarted


def test_resume_joins_the_live_tail(server: Any) -> None:
    ideas = make_ideas(6)
    script, gate, at = gated_script(ideas, 4)
    server.add(script)
    with ServerThread(create_app(make_client(server), store=MemoryStore())) as site:
        raw, _ = read_until(site.url + "/ideas", lambda fs: any(f.event == "item" for f in fs))
        head = parse_sse(raw)
        assert server.last.wait_sent(at) and not server.last.done.is_set()  # still held
        tail_raw = ""
        with (
            httpx.Client(timeout=20) as http,
            http.stream(
                "POST", site.url + "/ideas", json=BODY, headers={"last-event-id": str(head[-1].id)}
            ) as r,
        ):
            gate.set()  # the resume is attached (its headers came); now the model goes on
            for chunk in r.iter_text():
                tail_raw += chunk
    tail = parse_sse(tail_raw)
    assert_contiguous(head + tail)
    assert replay_frames(head + tail) == (ideas, [0, 1, 2, 3, 4, 5], "final")
    assert len(server.exchanges) == 1


def test_resume_from_zero_replays_everything(server: Any) -> None:
    ideas = make_ideas(3)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4))
    with ServerThread(create_app(make_client(server), store=MemoryStore())) as site:
        first = parse_sse(post(site.url + "/ideas").text)
        sid = assert_contiguous(first)
        again = parse_sse(post(site.url + "/ideas", {"last-event-id": f"{sid}:0"}).text)
    assert again == first
    assert len(server.exchanges) == 1


@pytest.mark.parametrize(
    "last_id",
    [
        "guessed",  # a fresh random id nobody was given
        "malformed",
        "beyond",  # a real stream id with a position it never reached (tampered)
        "tampered-sid",  # one hex digit of a real id changed
    ],
)
def test_unknown_or_tampered_ids_get_expired(server: Any, last_id: str) -> None:
    ideas = make_ideas(2)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4))
    with ServerThread(create_app(make_client(server), store=MemoryStore())) as site:
        frames = parse_sse(post(site.url + "/ideas").text)
        sid = assert_contiguous(frames)
        value = {
            "guessed": f"{new_stream_id()}:3",
            "malformed": f"{sid}:x",
            "beyond": f"{sid}:{len(frames) + 1}",
            "tampered-sid": ("0" if sid[0] != "0" else "1") + sid[1:] + ":2",
        }[last_id]
        r = post(site.url + "/ideas", {"last-event-id": value})
    assert r.status_code == 200 and r.headers[RESUMABLE_HEADER] == "1"
    got = parse_sse(r.text)
    assert [(f.id, f.event, f.data["type"]) for f in got] == [(None, "error", "expired")]
    assert len(server.exchanges) == 1


def test_other_users_id_and_refused_authorize_get_403(server: Any) -> None:
    ideas = make_ideas(2)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4))
    seen: list[StreamInfo] = []

    def authorize(request: Any, info: StreamInfo) -> bool:
        seen.append(info)
        return request.headers.get("x-tenant") != "blocked"

    app = create_app(make_client(server), store=MemoryStore(), authorize=authorize)
    with ServerThread(app) as site:
        frames = parse_sse(post(site.url + "/ideas", {"x-user": "alice"}).text)
        last = str(frames[-1].id)
        other = post(site.url + "/ideas", {"x-user": "mallory", "last-event-id": last})
        anonymous = post(site.url + "/ideas", {"last-event-id": last})
        refused = post(
            site.url + "/ideas", {"x-user": "alice", "x-tenant": "blocked", "last-event-id": last}
        )
        wrong_route = httpx.post(
            site.url + "/ideas?page=2",
            json=BODY,
            headers={"x-user": "alice", "last-event-id": last},
            timeout=20,
        )
        owner = post(site.url + "/ideas", {"x-user": "alice", "last-event-id": last})
    for r in (other, anonymous, refused):
        assert (r.status_code, r.content) == (403, b"")
    assert (wrong_route.status_code, wrong_route.content) == (403, b"")  # another query
    assert owner.status_code == 200 and parse_sse(owner.text) == []  # nothing after the final
    assert [i.owner for i in seen] == ["alice", "alice"]  # the hook ran after the owner check
    assert len(server.exchanges) == 1


def test_cancel_from_a_second_request_stops_the_upstream_request(server: Any) -> None:
    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # never opened: only a hang-up releases it
    server.add(script)
    with ServerThread(create_app(make_client(server), store=MemoryStore())) as site:
        raw, _ = read_until(site.url + "/ideas", lambda fs: any(f.event == "item" for f in fs))
        head = parse_sse(raw)
        assert server.last.wait_sent(at)
        cancel = post(site.url + "/ideas", {"last-event-id": str(head[-1].id), CANCEL_HEADER: "1"})
        assert cancel.status_code == 204
        wait_for(lambda: server.last.disconnected, 5.0, "upstream cut after the cancel")
        tail = parse_sse(post(site.url + "/ideas", {"last-event-id": str(head[-1].id)}).text)
    ex = server.last
    assert ex.disconnected and not ex.completed and ex.chunks_sent == at < ex.total_chunks
    assert tail[-1].event == "error" and tail[-1].data["type"] == "cancelled"
    assert_contiguous(head + tail)
    assert len(server.exchanges) == 1


async def test_a_generator_that_stops_renewing_its_lease_reads_as_interrupted() -> None:
    # the store state a dead process leaves: frames up to 1, a lease nobody renews
    from schemastream.web.resumable import ResumableEventStreamResponse
    from schemastream.web.stores import Entry

    store = MemoryStore()
    sid = new_stream_id()
    scope = {"type": "http", "method": "POST", "path": "/ideas", "query_string": b"", "headers": []}
    await store.create(StreamInfo(sid, route_key(scope)), ttl=60, lease=0.2)
    await store.append(sid, [Entry(1, f"id:{sid}:1\nevent:patch\ndata:{{}}\n\n".encode())], ttl=60)
    closed: list[bool] = []

    class Unstarted:
        async def aclose(self) -> None:
            closed.append(True)

    scope["headers"] = [(b"last-event-id", f"{sid}:1".encode())]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client stays connected
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    response = ResumableEventStreamResponse(Unstarted(), store=store)
    await asyncio.wait_for(response(scope, receive, send), 10)  # a deadline, not a duration
    body = b"".join(m.get("body", b"") for m in sent).decode()
    assert [(f.id, f.event, f.data["type"]) for f in parse_sse(body)] == [
        (None, "error", "interrupted")
    ]
    assert closed == [True]


async def test_memory_store_expires_idle_streams() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    sid = new_stream_id()
    await store.create(StreamInfo(sid, "r"), ttl=10, lease=3)
    assert (await store.status(sid)) is not None
    now[0] = 10.5
    assert (await store.status(sid)) is None


def test_lease_above_five_seconds_is_refused() -> None:
    from schemastream.web.resumable import ResumableEventStreamResponse

    with pytest.raises(ValueError, match="at most 5 seconds"):
        ResumableEventStreamResponse(iter(()), lease=6)


def test_cancel_stream_from_server_code(server: Any) -> None:
    from schemastream.web import cancel_stream

    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # only a hang-up releases it
    server.add(script)
    store = MemoryStore()
    with ServerThread(create_app(make_client(server), store=store)) as site:
        raw, _ = read_until(site.url + "/ideas", lambda fs: any(f.event == "item" for f in fs))
        last = str(parse_sse(raw)[-1].id)
        assert server.last.wait_sent(at)
        # the in-process store wakes the generator on the server's loop from this thread's
        assert asyncio.run(cancel_stream(store, f"{new_stream_id()}:1")) is False
        assert asyncio.run(cancel_stream(store, "not an id")) is False
        assert asyncio.run(cancel_stream(store, last)) is True
        wait_for(lambda: server.last.disconnected, 5.0, "upstream cut after cancel_stream")
    assert not server.last.completed


def test_a_late_lease_does_not_make_this_process_report_its_own_generation_dead() -> None:
    # an event loop too busy to renew in time: the lease lapses while the generation runs
    from starlette.applications import Starlette
    from starlette.routing import Route

    from schemastream.web.resumable import ResumableEventStreamResponse

    from .helpers import ScriptedStream, idea_events

    class LateStore(MemoryStore):
        seen_dead = threading.Event()  # a reader of this store found the lease lapsed

        async def renew(self, stream_id: str, *, lease: float) -> None:
            return None

        async def status(self, stream_id: str) -> Any:
            status = await super().status(stream_id)
            if status is not None and not status.alive:
                self.seen_dead.set()
            return status

    ideas = make_ideas(3)
    gate = threading.Event()
    stream = ScriptedStream(idea_events(ideas), gates={5: gate})
    store = LateStore()

    async def endpoint(request: Any) -> Any:
        return ResumableEventStreamResponse(stream, store=store, lease=0.2, coalesce=0)

    app = Starlette(routes=[Route("/ideas", endpoint, methods=["POST"])])

    def open_gate() -> None:
        wait_for(store.seen_dead.is_set, 10, "the reader to find the lease lapsed")
        gate.set()

    threading.Thread(target=open_gate, daemon=True).start()
    with ServerThread(app) as site:
        frames = parse_sse(httpx.post(site.url + "/ideas", timeout=20).text)
    assert store.seen_dead.is_set()
    assert replay_frames(frames) == (ideas, [0, 1, 2], "final")  # not "interrupted"


def test_a_failing_cancel_watch_is_not_a_cancel(server: Any) -> None:
    from tests.replay import openai_server as oa

    class FlakyStore(MemoryStore):
        failures = 0

        async def wait_cancelled(self, stream_id: str) -> None:
            if not self.failures:
                self.failures += 1
                raise ConnectionError("store unreachable for a moment")
            await super().wait_cancelled(stream_id)

    ideas = make_ideas(3)
    server.add(oa.responses_text_script({"items": ideas}, 4))
    store = FlakyStore()
    with ServerThread(create_app(make_client(server), store=store)) as site:
        frames = parse_sse(post(site.url + "/ideas").text)
    assert store.failures == 1
    assert replay_frames(frames) == (ideas, [0, 1, 2], "final")


def test_total_ttl_stops_a_generation_that_runs_too_long(server: Any) -> None:
    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # held until the generation is stopped
    server.add(script)
    app = create_app(make_client(server), store=MemoryStore(), total_ttl=1.0)
    with ServerThread(app) as site:
        frames = parse_sse(post(site.url + "/ideas").text)
        wait_for(lambda: server.last.disconnected, 5.0, "upstream cut at the time limit")
    assert frames[-1].event == "error"
    assert frames[-1].data == {"type": "expired", "message": "time limit reached"}
    assert_contiguous(frames)
    assert not server.last.completed and server.last.chunks_sent == at


@pytest.mark.parametrize("failures", [1, 100])
def test_store_failures_while_appending(failures: int) -> None:
    # 1: a hiccup, retried: nothing lost. 100: the store is gone: the generation stops and
    # its readers get "interrupted" once the lease lapses, the numbering still contiguous.
    from starlette.applications import Starlette
    from starlette.routing import Route

    from schemastream.web.resumable import ResumableEventStreamResponse

    from .helpers import ScriptedStream, idea_events

    class FailingStore(MemoryStore):
        left = failures
        appends = 0

        async def append(self, stream_id: str, entries: Any, *, ttl: float) -> None:
            self.appends += 1
            if self.appends >= 3 and self.left:  # after two good batches
                self.left -= 1
                raise ConnectionError("store unreachable")
            await super().append(stream_id, entries, ttl=ttl)

    ideas = make_ideas(3)
    stream = ScriptedStream(idea_events(ideas), delay=0.005)
    store = FailingStore()

    async def endpoint(request: Any) -> Any:
        return ResumableEventStreamResponse(stream, store=store, lease=0.5, coalesce=0)

    app = Starlette(routes=[Route("/ideas", endpoint, methods=["POST"])])
    with ServerThread(app) as site:
        frames = parse_sse(httpx.post(site.url + "/ideas", timeout=30).text)
    if failures == 1:
        assert_contiguous(frames)
        assert replay_frames(frames) == (ideas, [0, 1, 2], "final")
    else:
        assert_contiguous(frames[:-1])
        assert [f.event for f in frames[:-1]] == ["patch", "patch"]
        assert (frames[-1].id, frames[-1].data["type"]) == (None, "interrupted")
        assert stream.closed.is_set()  # the model request was closed
