"""The replay harness itself: scripts, gates, truncate, drop, disconnect recording."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from tests.replay.base import ReplayServer, Script, rechunk, replay_server, sse_frame


def test_sse_frame_and_rechunk() -> None:
    assert sse_frame({"a": 1}) == b'data: {"a":1}\n\n'
    assert sse_frame("[DONE]", event="done") == b"event: done\ndata: [DONE]\n\n"
    assert rechunk(b"abcdefg", 3) == [b"abc", b"def", b"g"]


def test_plays_chunks_and_records_request() -> None:
    with replay_server(Script.sse([{"n": 1}, {"n": 2}, "[DONE]"])) as server:
        r = httpx.post(server.url + "/v1/x", json={"model": "m"})
        assert r.status_code == 200
        assert r.text == 'data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n'
        ex = server.last
        assert ex.done.wait(5)
        assert server.requests == [{"model": "m"}]
        assert ex.path == "/v1/x" and ex.chunks_sent == 3 and ex.completed
        assert not ex.disconnected


def test_json_error_and_missing_script() -> None:
    with replay_server(Script.json({"error": {"message": "boom"}}, status=429)) as server:
        r = httpx.post(server.url + "/v1/x", json={})
        assert r.status_code == 429 and r.json() == {"error": {"message": "boom"}}
        r = httpx.post(server.url + "/v1/x", json={})
        assert r.status_code == 500 and "no script" in r.text


def test_truncate_ends_cleanly() -> None:
    with replay_server(Script.sse(["a", "b", "c"], truncate_after=2)) as server:
        r = httpx.post(server.url + "/", json={})
        assert r.text == "data: a\n\ndata: b\n\n"
        assert server.last.done.wait(5) and server.last.completed


def test_drop_aborts_connection() -> None:
    with replay_server(Script.sse(["a", "b", "c"], drop_after=1)) as server:
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("POST", server.url + "/", json={}) as r,
        ):
            for _ in r.iter_bytes():
                pass
        assert server.last.done.wait(5) and server.last.dropped and server.last.chunks_sent == 1


def _read_raw(server: ReplayServer) -> tuple[bytes, BaseException | None]:
    """POST over a bare socket; everything received, and how the connection ended (``None``:
    an orderly FIN, ``recv`` returned ``b""``)."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        while True:
            try:
                data = sock.recv(65536)
            except OSError as exc:
                return received, exc
            if not data:
                return received, None
            received += data


@pytest.mark.parametrize("how", ["drop_after", "reset_after"])
def test_drop_ends_in_fin_and_reset_in_rst(how: str) -> None:
    script = Script.sse(["a", "b", "c"], **{how: 2})
    with replay_server(script) as server:
        received, error = _read_raw(server)
        assert server.last.done.wait(5) and server.last.dropped
        assert server.last.chunks_sent == 2
    assert b"data: b" in received and b"data: c" not in received
    if how == "drop_after":
        assert error is None and not server.last.reset
    else:
        assert isinstance(error, ConnectionResetError) and server.last.reset


def test_gate_blocks_until_released_and_client_sees_prefix() -> None:
    script = Script.sse([str(i) for i in range(5)])
    gate = script.gate(3)
    with replay_server(script) as server, httpx.stream("POST", server.url + "/", json={}) as r:
        lines = r.iter_lines()
        seen = [next(lines) for _ in range(6)]  # 3 frames = data line + blank
        assert seen[0] == "data: 0"
        assert server.last.chunks_sent == 3 and not server.last.done.is_set()
        gate.set()
        rest = list(lines)
        assert "data: 4" in rest
        assert server.last.done.wait(5) and server.last.completed


def test_client_hangup_is_recorded_and_stops_sending() -> None:
    script = Script.sse([str(i) for i in range(50)])
    script.gate(10)  # never opened: the server waits there until the client hangs up
    with replay_server(script) as server:
        with httpx.Client() as client, client.stream("POST", server.url + "/", json={}) as r:
            it = r.iter_lines()
            assert next(it) == "data: 0"
        ex = server.last
        assert ex.done.wait(5)
        assert ex.disconnected and not ex.completed
        assert ex.chunks_sent <= 10 < ex.total_chunks
        assert ("disconnect", ex.disconnected_at) in ex.log


def test_delay_paces_and_wait_sent() -> None:
    ev = threading.Event()
    script = Script.sse(["a", "b"], delay=0.001)
    with replay_server(script) as server:
        r = httpx.post(server.url + "/", json={})
        ev.set()
        assert r.text.count("data:") == 2
        assert server.last.wait_sent(2)
