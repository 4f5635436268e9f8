"""Over HTTP/2 several requests share one connection: closing one stream must not cut the
others (an HTTP/1.1 close shuts the socket down; on HTTP/2 that would kill every sibling)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import openai
import schemastream as ss
from tests.models import DOC, IDEAS, Idea
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer

MSGS = [{"role": "user", "content": "Three ideas"}]


@pytest.fixture
def h2_server() -> Iterator[ReplayServer]:
    with ReplayServer(http2=True) as s:
        yield s


def _client(server: ReplayServer, versions: list[str]) -> Any:
    http = httpx.Client(
        http1=False,  # prior-knowledge h2c: the replay server is plain-text HTTP
        http2=True,
        event_hooks={"response": [lambda r: versions.append(r.http_version)]},
    )
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key="t", max_retries=0, http_client=http)
    return ss.from_openai(sdk)


@pytest.mark.parametrize("how", ["close", "fail_fast"])
def test_closing_one_stream_leaves_its_http2_siblings_alone(
    h2_server: ReplayServer, how: str
) -> None:
    versions: list[str] = []
    client = _client(h2_server, versions)
    if how == "close":
        first = oa.responses_text_script(DOC, 4)
        first.gate(12)  # never opened: only the client's close can end this one early
    else:  # the second idea's blurb breaks max_length=140 mid-stream
        bad = {"items": [IDEAS[0], {"title": "t", "blurb": "x" * 300}, IDEAS[2]]}
        first = oa.responses_text_script(bad, 4)
    second = oa.responses_text_script(DOC, 4)
    second.gate(8)
    h2_server.add(first, second)

    a = client.responses.stream(model="m", messages=MSGS, response_model=list[Idea])
    a_iter = iter(a)
    next(a_iter)
    assert h2_server.wait_requests(1)
    b = client.responses.stream(model="m", messages=MSGS, response_model=list[Idea])
    b_iter = iter(b)
    next(b_iter)  # both requests are open on the one connection now
    assert versions == ["HTTP/2", "HTTP/2"]

    if how == "close":
        a.close()
    else:
        with pytest.raises(ss.StreamValidationError):
            for _ in a_iter:
                pass
    second.gate(8).set()
    for _ in b_iter:
        pass
    assert b.get_final_response() == [Idea(**i) for i in IDEAS]
