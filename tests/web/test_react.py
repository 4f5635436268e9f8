"""The React example in real headless Chromium, three pages over the same replayed model call:

* ``/``        our hook (``useSchemaStream`` from ``js/src/react.js``) over SSE;
* ``/object``  ``useObject`` from ``@ai-sdk/react`` over ``text_stream_response``;
* ``/chat``    ``useChat`` from ``@ai-sdk/react`` over ``ui_message_stream_response``.

All three render the same idea cards (the DOM of ``examples/web``). The pages are built by
esbuild from the npm packages (``examples/react/build.mjs``) and run under ``StrictMode``
(development build). The app runs on the real stack (``ss.from_openai`` against the replay
server speaking the Responses API), which records when its stream was cut; the model's output
is held at gates opened once the DOM showed the partial state (causality, not timing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import schemastream as ss
from schemastream.contract import Delta

from ..core.scripted import ScriptProvider, finish, json_deltas
from .browser import cards, chromium_page, requires_chromium
from .helpers import ReplayBackend, ServerThread, make_ideas, wait_for
from .npm import build_react_example, requires_npm
from .test_agui import REACT_APP
from .test_browser import status, wait_cards

pytestmark = [pytest.mark.browser, requires_chromium, requires_npm]

PAGES = {"hook": "/", "useObject": "/object", "useChat": "/chat"}


@pytest.fixture(scope="module")
def built() -> None:
    build_react_example()


@pytest.fixture
def site(built: None, backend: ReplayBackend) -> Iterator[str]:
    with ServerThread(REACT_APP.create_app(client=backend.client, model="gpt-4o-mini")) as s:
        yield s.url


def go(page: Any, url: str, *, count: int) -> None:
    page.goto(url)
    page.wait_for_selector("#go")
    page.fill("input[name=count]", str(count))
    page.click("#go")


def strict_prefix(part: str, whole: str) -> bool:
    return whole.startswith(part) and part != whole


@pytest.mark.parametrize("kind", PAGES)
def test_cards_grow_and_the_final_dom_is_the_final_value(
    backend: ReplayBackend, site: str, kind: str
) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(
        ideas, [(0, "title", 0.5), (0, "blurb", 0.5), (1, "blurb", 0.3), (3, "title", 0.6)]
    )
    seen = []
    with chromium_page() as page:
        go(page, site + PAGES[kind], count=4)
        c = wait_cards(page, lambda c: len(c) == 1 and c[0]["title"], "a partial first title")
        assert strict_prefix(c[0]["title"], ideas[0]["title"]) and c[0]["blurb"] == ""
        assert not c[0]["done"] and status(page) == "streaming"
        seen.append(c)
        gates[0].set()
        c = wait_cards(page, lambda c: c and c[0]["blurb"], "the first blurb growing")
        assert c[0]["title"] == ideas[0]["title"] and strict_prefix(
            c[0]["blurb"], ideas[0]["blurb"]
        )
        assert len(c) == 1 and not c[0]["done"]
        seen.append(c)
        gates[1].set()
        c = wait_cards(
            page, lambda c: len(c) == 2 and c[0]["done"] and c[1]["blurb"], "card 1 growing"
        )
        assert c[0] == {"index": 0, **ideas[0], "done": True}
        assert not c[1]["done"] and strict_prefix(c[1]["blurb"], ideas[1]["blurb"])
        seen.append(c)
        gates[2].set()
        c = wait_cards(
            page,
            lambda c: len(c) == 4 and c[3]["title"] and all(x["done"] for x in c[:3]),
            "cards 0-2 done, card 3's title growing",
        )
        assert strict_prefix(c[3]["title"], ideas[3]["title"]) and not c[3]["done"]
        seen.append(c)
        gates[3].set()
        wait_for(lambda: status(page) == "done", 10, "status done")
        c = cards(page)
        assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
        assert all(x["done"] for x in c)
        assert page.query_selector("#error") is None
    assert len({json.dumps(s) for s in seen}) == 4  # four distinct intermediate DOM states
    assert len(backend.server.exchanges) == 1  # StrictMode did not send the request twice


@pytest.mark.parametrize("kind", PAGES)
def test_stop_cancels_the_upstream_request(backend: ReplayBackend, site: str, kind: str) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(ideas, [(1, "blurb", 0.5)])
    with chromium_page() as page:
        go(page, site + PAGES[kind], count=4)
        c = wait_cards(page, lambda c: len(c) == 2 and c[1]["blurb"], "card 1 growing")
        assert not backend.upstream_cut()
        page.click("#cancel")
        wait_for(backend.upstream_cut, 5, "upstream stream cut after stop")
        wait_for(lambda: status(page) == "cancelled", 5, "status cancelled")
        after = cards(page)
        assert len(after) == 2 and strict_prefix(after[1]["blurb"], ideas[1]["blurb"])
        assert after[0]["title"] == c[0]["title"]
        gates[0].set()  # nothing more can arrive: the stream is gone
        page.wait_for_timeout(100)
        assert cards(page) == after
        assert page.query_selector("#error") is None


def test_hook_unmount_cancels_the_upstream_request(backend: ReplayBackend, site: str) -> None:
    ideas = make_ideas(4)
    backend.prepare(ideas, [(1, "blurb", 0.5)])
    with chromium_page() as page:
        go(page, site + "/", count=4)
        wait_cards(page, lambda c: len(c) == 2 and c[1]["blurb"], "card 1 growing")
        assert not backend.upstream_cut()
        page.click("#close")  # unmounts the component that holds the hook
        page.wait_for_selector("#closed")
        wait_for(backend.upstream_cut, 5, "upstream stream cut after unmount")


def test_hook_auto_start_under_strict_mode_sends_one_request(
    backend: ReplayBackend, site: str
) -> None:
    ideas = make_ideas(3)
    backend.prepare(ideas, [])
    with chromium_page() as page:
        page.goto(site + "/?count=3")
        wait_for(lambda: status(page) == "done", 10, "status done")
        c = cards(page)
        assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
    assert len(backend.server.exchanges) == 1 and not backend.server.last.disconnected
    assert backend.server.last.json is not None


@pytest.mark.parametrize("kind", PAGES)
def test_validation_failure_shows_an_error(backend: ReplayBackend, site: str, kind: str) -> None:
    ideas = make_ideas(4)
    backend.prepare(ideas, [], fail=True)  # idea 1's blurb breaks max_length=140
    with chromium_page() as page:
        go(page, site + PAGES[kind], count=4)
        page.wait_for_selector("#error.shown")
        wait_for(lambda: status(page) == "error", 5, "status error")
        text = page.text_content("#error") or ""
        if kind == "useObject":
            # a text stream has no error channel: the response is cut, and the fetch fails
            assert text
        else:
            assert "validation" in text and "blurb" in text
        c = cards(page)
        assert c[0]["title"] == ideas[0]["title"] and c[0]["blurb"] == ideas[0]["blurb"]
        assert len(c) == 2 and len(c[1]["blurb"]) <= 140  # the broken part never showed whole


def test_hook_shows_reasoning_events(built: None) -> None:
    # The real app, client and stream; the provider plays the model's reasoning, then the
    # ideas (tests/core/scripted.py), until the replay servers send reasoning.
    idea = {"title": "A title", "blurb": "A blurb."}
    script = [
        Delta(reasoning="Weighing"),
        Delta(reasoning=" ideas."),
        *json_deltas({"items": [idea]}),
        finish(),
    ]
    app = REACT_APP.create_app(client=ss.Client(ScriptProvider(script)))
    with ServerThread(app) as s, chromium_page() as page:
        go(page, s.url + "/", count=1)
        wait_for(lambda: status(page) == "done", 10, "status done")
        assert page.text_content("#reasoning") == "Weighing ideas."
        assert cards(page) == [{"index": 0, **idea, "done": True}]
