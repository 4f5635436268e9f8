"""schemastream.js resuming by itself, in real headless Chromium: a page reload mid-stream,
a connection the server drops mid-body, and cancel reaching the detached generation.

The page (``tests/web/resumable_app.py``) streams ``POST /ideas`` (resumable, in-process
store) from the real OpenAI SDK against the replay server; the replay server holds the model
at gates (causality, not timing) and counts model requests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemastream.web import MemoryStore
from schemastream.web.resumable import parse_event_id

from .browser import chromium_page, requires_chromium
from .helpers import ServerThread, make_ideas, wait_for
from .resumable_app import create_app
from .test_resumable import gated_script, make_client

pytestmark = [pytest.mark.browser, requires_chromium]


def state(page: Any) -> Any:
    return json.loads(page.text_content("#state") or "null")


def status(page: Any) -> str:
    return page.text_content("#status") or ""


def log(page: Any) -> list[list[Any]]:
    return page.evaluate("JSON.parse(sessionStorage.getItem('test-log') || '[]')")


def ids(entries: list[list[Any]]) -> list[tuple[str, int]]:
    out = []
    for _event, value in entries:
        parsed = parse_event_id(str(value)) if value else None
        assert parsed is not None, value
        out.append(parsed)
    return out


def test_page_reload_mid_stream_resumes(server: Any) -> None:
    ideas = make_ideas(6)
    script, gate, at = gated_script(ideas, 3)
    server.add(script)
    app = create_app(make_client(server), store=MemoryStore())
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.evaluate("start()")
        wait_for(lambda: len(state(page) or []) >= 3, 10, "three cards before the reload")
        assert server.last.wait_sent(at) and not server.last.done.is_set()
        before = log(page)
        page.reload()  # the fetch dies with the page; the generation does not
        wait_for(lambda: status(page) == "streaming", 10, "the reloaded page resumes by itself")
        gate.set()
        wait_for(lambda: status(page) == "final", 10, "final after the reload")
        assert state(page) == ideas  # the rebuilt final is the validated final
        after_entries = log(page)
        pending = page.evaluate(
            "import('/schemastream.js').then(m => m.pendingStream('/ideas',"
            " {method: 'POST', body: {topic: 'notes', count: 6}}))"
        )
    assert pending is False  # forgotten once final
    marker = after_entries.index(["reload-resume", None])
    assert after_entries[:marker] == before
    old, new = ids(before), ids(after_entries[marker + 1 :])
    assert {sid for sid, _ in old} == {sid for sid, _ in new}  # the same stream, resumed
    assert [n for _, n in new] == list(range(1, len(new) + 1))  # replayed once, in order
    assert len(server.exchanges) == 1  # no second model request


def test_dropped_connection_resumes_with_last_event_id(server: Any) -> None:
    ideas = make_ideas(5)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4, delay=0.002))
    app = create_app(make_client(server), store=MemoryStore(), cut_after=6)
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.evaluate("start()")
        wait_for(lambda: status(page) != "streaming", 15, "the stream to end")
        assert status(page) == "final"
        assert state(page) == ideas
        entries = log(page)
    assert app.requests >= 2  # the cut response and at least one resume
    got = ids(entries)
    assert len({sid for sid, _ in got}) == 1
    assert [n for _, n in got] == list(range(1, len(got) + 1))  # none lost, none twice
    assert len(server.exchanges) == 1


def test_a_plain_endpoint_is_never_retried(server: Any) -> None:
    ideas = make_ideas(5)
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": ideas}, 4, delay=0.002))
    app = create_app(make_client(server), cut_after=6, resumable=False)
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.evaluate("start()")
        wait_for(lambda: status(page) != "streaming", 15, "the stream to end")
        assert status(page) == "error:network"
        stored = page.evaluate("Object.keys(sessionStorage)")
    assert app.requests == 1  # no reconnect: a model call must not run twice
    assert not [k for k in stored if k.startswith("schemastream:")]  # nothing kept for a reload


def test_cancel_stops_the_detached_generation(server: Any) -> None:
    ideas = make_ideas(6)
    script, _gate, at = gated_script(ideas, 3)  # only a hang-up releases it
    server.add(script)
    app = create_app(make_client(server), store=MemoryStore())
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.evaluate("start()")
        wait_for(lambda: len(state(page) or []) >= 2, 10, "two cards")
        assert server.last.wait_sent(at)
        assert page.evaluate("window.sub.cancel(); window.sub.done") == "cancelled"
        wait_for(lambda: server.last.disconnected, 5, "the model request to be closed")
    ex = server.last
    assert not ex.completed and ex.chunks_sent == at < ex.total_chunks
