"""Resumable streams across replicas: Debian's redis-server on a free port, two uvicorn
replicas of :mod:`tests.web.resumable_app` in subprocesses (the real OpenAI SDK against the
replay server in this process), httpx as the browser."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemastream.web import RedisStore, StreamInfo
from schemastream.web.resumable import CANCEL_HEADER, RESUMABLE_HEADER, new_stream_id
from schemastream.web.stores import Entry

from .helpers import make_ideas, parse_sse, replay_frames, wait_for
from .redis_server import RedisServer, Replica, requires_redis
from .test_resumable import BODY, assert_contiguous, gated_script, post, read_until

pytestmark = requires_redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as r:
        yield r


@pytest.fixture
def replicas(server: Any, redis_server: RedisServer) -> Iterator[tuple[Replica, Replica]]:
    with Replica(server.url, redis_server.url) as a, Replica(server.url, redis_server.url) as b:
        yield a, b


def redis_keys(url: str) -> dict[bytes, int]:
    """Every key with its TTL in ms."""
    import redis

    r = redis.Redis.from_url(url)
    try:
        return {k: r.pttl(k) for k in r.keys("*")}
    finally:
        r.close()


def half_then_hang_up(replica: Replica, at_item: int = 2) -> list[Any]:
    raw, first = read_until(
        replica.url + "/ideas",
        lambda fs: any(f.event == "item" and f.data["index"] == at_item for f in fs),
        {"x-user": "alice"},
    )
    assert first.headers[RESUMABLE_HEADER] == "1"
    return parse_sse(raw)


def test_read_half_on_a_resume_on_b(server: Any, replicas: Any, redis_server: RedisServer) -> None:
    a, b = replicas
    ideas = make_ideas(6)
    script, gate, _ = gated_script(ideas, 3)
    server.add(script)
    head = half_then_hang_up(a)
    gate.set()
    tail = parse_sse(
        post(b.url + "/ideas", {"x-user": "alice", "last-event-id": str(head[-1].id)}).text
    )
    assert tail[-1].event == "final"
    sid = assert_contiguous(head + tail)  # none lost, none twice, across replicas
    state, items, end = replay_frames(head + tail)
    assert (state, items, end) == (ideas, [0, 1, 2, 3, 4, 5], "final")  # the validated final
    assert len(server.exchanges) == 1  # B closed its own stream unstarted
    # no prompt text in Redis keys (the topic was "notes"); every key expires
    everything = redis_keys(redis_server.url)
    assert not any(b"notes" in k for k in everything)
    keys = {k: ttl for k, ttl in everything.items() if k.startswith(b"ss:")}  # the app's prefix
    pattern = re.compile(rb"^ss:(cancel|[0-9a-f]{32}:[emlc])$")
    assert keys and all(pattern.match(k) for k in keys)
    mine = {k: ttl for k, ttl in keys.items() if sid.encode() in k}
    assert {k.rsplit(b":", 1)[1] for k in mine} >= {b"e", b"m"}
    assert all(ttl > 0 for ttl in mine.values())
    assert not any(b"notes" in k for k in keys)


def test_killing_the_generating_replica_gives_interrupted(server: Any, replicas: Any) -> None:
    a, b = replicas
    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # never opened: A is held mid-stream
    server.add(script)
    head = half_then_hang_up(a)
    assert server.last.wait_sent(at)
    a.kill()
    wait_for(lambda: server.last.disconnected, 5, "the dead replica's model request to close")
    # B serves what A stored, then the typed error (the lease runs out within seconds)
    r = httpx.post(
        b.url + "/ideas",
        json=BODY,
        headers={"x-user": "alice", "last-event-id": str(head[-1].id)},
        timeout=15,  # a deadline for "never a hang", not a measurement
    )
    tail = parse_sse(r.text)
    assert tail[-1].event == "error" and tail[-1].id is None
    assert tail[-1].data == {
        "type": "interrupted",
        "message": "the server generating this stream stopped",
    }
    assert_contiguous(head + tail[:-1])
    state, _items, end = replay_frames(head + tail)
    assert end == "error" and state[0] == ideas[0]
    assert len(server.exchanges) == 1


def test_cancel_via_b_stops_the_upstream_request_on_a(server: Any, replicas: Any) -> None:
    a, b = replicas
    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # only a hang-up releases it
    server.add(script)
    head = half_then_hang_up(a)
    assert server.last.wait_sent(at)
    last = str(head[-1].id)
    r = post(b.url + "/ideas", {"x-user": "alice", "last-event-id": last, CANCEL_HEADER: "1"})
    assert r.status_code == 204
    wait_for(lambda: server.last.disconnected, 5, "A to close the model request")
    ex = server.last
    assert ex.disconnected and not ex.completed and ex.chunks_sent == at < ex.total_chunks
    tail = parse_sse(post(b.url + "/ideas", {"x-user": "alice", "last-event-id": last}).text)
    assert tail[-1].event == "error" and tail[-1].data["type"] == "cancelled"
    assert_contiguous(head + tail)
    assert len(server.exchanges) == 1


def test_guessed_other_users_and_tampered_ids_are_refused(server: Any, replicas: Any) -> None:
    a, b = replicas
    from tests.replay import openai_server as oa

    ideas = make_ideas(2)
    server.add(oa.responses_text_script({"items": ideas}, 4))
    frames = parse_sse(post(a.url + "/ideas", {"x-user": "alice"}).text)
    sid = assert_contiguous(frames)
    other = post(b.url + "/ideas", {"x-user": "mallory", "last-event-id": str(frames[1].id)})
    assert (other.status_code, other.content) == (403, b"")
    cancel = post(
        b.url + "/ideas", {"x-user": "mallory", "last-event-id": f"{sid}:1", CANCEL_HEADER: "1"}
    )
    assert (cancel.status_code, cancel.content) == (403, b"")
    for value in (
        f"{new_stream_id()}:1",  # guessed
        f"{sid[:-1]}{'0' if sid[-1] != '0' else '1'}:1",  # tampered stream id
        f"{sid}:{len(frames) + 5}",  # tampered position
    ):
        r = post(b.url + "/ideas", {"x-user": "alice", "last-event-id": value})
        assert [(f.event, f.data["type"]) for f in parse_sse(r.text)] == [("error", "expired")]
    assert len(server.exchanges) == 1


async def test_redis_store_round_trip(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix="unit:")
    try:
        sid = new_stream_id()
        await store.create(StreamInfo(sid, "route", "bob"), ttl=30, lease=0.3)
        st = await store.status(sid)
        assert st is not None and (st.length, st.ended, st.alive, st.info.owner) == (
            0,
            False,
            True,
            "bob",
        )
        assert await store.read(sid, 0, timeout=0) == []
        await store.append(sid, [Entry(1, b"a"), Entry(2, b"b", True)], ttl=30)
        assert await store.read(sid, 1, timeout=0.1) == [Entry(2, b"b", True)]
        st = await store.status(sid)
        assert st is not None and (st.length, st.ended) == (2, True)
        waiter = asyncio.ensure_future(store.wait_cancelled(sid))
        await asyncio.sleep(0)
        assert not waiter.done()
        await store.cancel(sid)
        await asyncio.wait_for(waiter, 5)
        # a generator that starts listening after the cancel still sees it
        await asyncio.wait_for(store.wait_cancelled(sid), 5)
        await asyncio.sleep(0.4)
        st = await store.status(sid)
        assert st is not None and not st.alive  # nobody renewed the 0.3 s lease
        assert await store.status(new_stream_id()) is None
    finally:
        await store.aclose()


async def test_more_waiting_readers_than_redis_py_default_pool(redis_server: RedisServer) -> None:
    # each reader waiting for the live tail blocks one connection in XREAD: 150 > 100
    store = RedisStore(redis_server.url, prefix="pool:")
    try:
        sid = new_stream_id()
        await store.create(StreamInfo(sid, "route"), ttl=30, lease=3)
        readers = [asyncio.ensure_future(store.read(sid, 0, timeout=20)) for _ in range(150)]
        wait = 0
        while wait < 200 and len(store.redis.connection_pool._in_use_connections) < 150:
            await asyncio.sleep(0.05)  # until every reader is blocked in XREAD
            wait += 1
        await store.append(sid, [Entry(1, b"x", True)], ttl=30)
        results = await asyncio.wait_for(asyncio.gather(*readers), 20)
        assert results == [[Entry(1, b"x", True)]] * 150
    finally:
        await store.aclose()


def test_this_process_reads_its_own_generations_from_memory(
    server: Any, redis_server: RedisServer
) -> None:
    from schemastream.web import resumable
    from tests.replay import openai_server as oa

    from .helpers import ServerThread
    from .resumable_app import create_app
    from .test_resumable import make_client

    class CountingStore(RedisStore):
        reads = 0

        async def read(self, stream_id: str, after: int, *, timeout: float) -> list[Entry]:
            self.reads += 1
            return await super().read(stream_id, after, timeout=timeout)

    ideas = make_ideas(3)
    server.add(oa.responses_text_script({"items": ideas}, 4))
    store = CountingStore(redis_server.url, prefix="mirror:")
    with ServerThread(create_app(make_client(server), store=store)) as site:
        first = parse_sse(post(site.url + "/ideas").text)
        sid = assert_contiguous(first)
        again = parse_sse(post(site.url + "/ideas", {"last-event-id": f"{sid}:1"}).text)
        assert store.reads == 0  # both served from this process's memory
        resumable._mirror.drop(sid)  # as after the grace period: Redis has every frame
        later = parse_sse(post(site.url + "/ideas", {"last-event-id": f"{sid}:1"}).text)
        assert store.reads > 0
    assert again == later == first[1:]
    assert replay_frames(first) == (ideas, [0, 1, 2], "final")
