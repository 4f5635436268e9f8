"""``useSchemaStream`` resuming by itself in real headless Chromium (issue 13): the React
example's ``/resume`` page (``examples/react/src/resume.jsx``, StrictMode, development build)
over ``POST /api/ideas/resumable`` (``sse_response(..., resumable=True)``, in-process store),
on the real stack (``ss.from_openai`` against the replay server, sync and async SDKs).

* a page reload mid-stream: the remounted hook finds the stream this tab left running and
  replays it from its start, with no click and no second model request;
* a connection the server drops mid-body: the hook's client resumes with ``Last-Event-ID``;
  no event is lost or received twice.

The model's output is held at a gate opened once the DOM showed the partial state.
"""

from __future__ import annotations

from typing import Any

import pytest

from schemastream.web import MemoryStore
from schemastream.web.resumable import parse_event_id
from tests.replay.base import ReplayServer

from .browser import cards, chromium_page, requires_chromium
from .helpers import ReplayBackend, ServerThread, make_ideas, wait_for
from .npm import build_react_example, requires_npm
from .resumable_app import CutFirstResponse
from .test_agui import REACT_APP
from .test_browser import status, wait_cards
from .test_react import go

pytestmark = [pytest.mark.browser, requires_chromium, requires_npm]


@pytest.fixture(scope="module")
def built() -> None:
    build_react_example()


@pytest.fixture(params=["replay-async", "replay-sync"])
def backend(request: pytest.FixtureRequest, built: None, server: ReplayServer) -> ReplayBackend:
    return ReplayBackend(server, use_async=request.param == "replay-async")


def positions(ids: list[Any]) -> tuple[set[str], list[int]]:
    """The stream ids and the positions of a page's received SSE ids."""
    parsed = [parse_event_id(str(i)) for i in ids]
    assert None not in parsed, ids
    return {p[0] for p in parsed if p}, [p[1] for p in parsed if p]


def final_cards_are(page: Any, ideas: list[dict[str, str]]) -> None:
    c = cards(page)
    assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
    assert all(x["done"] for x in c)
    assert page.query_selector("#error") is None


def test_hook_resumes_after_a_page_reload(backend: ReplayBackend) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(ideas, [(1, "blurb", 0.5)])
    app = REACT_APP.create_app(client=backend.client, model="gpt-4o-mini", store=MemoryStore())
    with ServerThread(app) as site, chromium_page() as page:
        go(page, site.url + "/resume", count=4)
        wait_cards(page, lambda c: len(c) == 2 and c[1]["blurb"], "card 1 growing")
        before = page.evaluate("window.schemastreamIds")
        page.reload()  # the fetch dies with the page; the generation does not
        # no click: the remounted hook resumes the stream of this tab by itself
        c = wait_cards(page, lambda c: len(c) == 2 and c[1]["blurb"], "cards replayed")
        assert c[0] == {"index": 0, **ideas[0], "done": True}
        assert status(page) == "streaming"
        assert not backend.upstream_cut()  # the reload did not close the model call
        gates[0].set()
        wait_for(lambda: status(page) == "done", 10, "status done after the reload")
        final_cards_are(page, ideas)
        after = page.evaluate("window.schemastreamIds")
        left = page.evaluate("Object.keys(sessionStorage)")
    sids, old = positions(before)
    sids_after, new = positions(after)
    assert sids == sids_after and len(sids) == 1  # the same stream, resumed
    assert old == list(range(1, len(old) + 1))
    assert new == list(range(1, len(new) + 1))  # replayed from the start, once, in order
    assert after[: len(before)] == before
    assert len(backend.server.exchanges) == 1  # no second model request
    assert not [k for k in left if k.startswith("schemastream:")]  # forgotten once done


def test_hook_resumes_a_dropped_connection(backend: ReplayBackend) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(ideas, [(1, "blurb", 0.5)])
    inner = REACT_APP.create_app(client=backend.client, model="gpt-4o-mini", store=MemoryStore())
    app = CutFirstResponse(inner, 1, path="/api/ideas/resumable")  # dies at its 2nd body write
    with ServerThread(app) as site, chromium_page() as page:
        go(page, site.url + "/resume", count=4)
        wait_cards(page, lambda c: len(c) == 2 and c[1]["blurb"], "card 1 growing")
        gates[0].set()
        wait_for(lambda: status(page) != "streaming", 15, "the stream to end")
        assert status(page) == "done"
        final_cards_are(page, ideas)
        ids = page.evaluate("window.schemastreamIds")
    assert app.requests >= 2  # the cut response and at least one resume
    sids, got = positions(ids)
    assert len(sids) == 1
    assert got == list(range(1, len(got) + 1))  # none lost, none twice
    assert len(backend.server.exchanges) == 1
