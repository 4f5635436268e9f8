"""End to end in real headless Chromium: the example app's page, schemastream.js, SSE and WS.

The example FastAPI app (``examples/web/app.py``) runs on the real stack:
``ss.from_openai(AsyncOpenAI | OpenAI)`` against the replay server speaking OpenAI's
Responses API over HTTP, so cancel / error / retry go through every layer and the replay
server records when its stream was cut.

The backend holds the model's output at *gates* (causality, not timing): the test looks at
the DOM while the stream is held, then lets it go on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.replay.base import ReplayServer

from .browser import cards, chromium_page, requires_chromium
from .helpers import ReplayBackend, ServerThread, gate_at, load_module, make_ideas, wait_for

pytestmark = [pytest.mark.browser, requires_chromium]

ROOT = Path(__file__).resolve().parents[2]


EXAMPLE = load_module("examples/web/app.py", "schemastream_example_web_app")


@pytest.fixture
def site(backend: Any) -> Iterator[str]:
    app = EXAMPLE.create_app(client=backend.client, model="gpt-4o-mini")
    with ServerThread(app) as server:
        yield server.url


def start(page: Any, url: str, *, count: int, transport: str = "sse") -> None:
    page.goto(url + "/")
    page.fill("input[name=count]", str(count))
    page.select_option("select[name=transport]", transport)
    page.click("#go")


def wait_cards(page: Any, pred: Any, what: str) -> list[dict[str, Any]]:
    box: dict[str, Any] = {}

    def check() -> bool:
        box["c"] = cards(page)
        return bool(pred(box["c"]))

    try:
        wait_for(check, 10, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; cards now: {box.get('c')}") from None
    return box["c"]


def status(page: Any) -> str:
    return page.text_content("#status") or ""


# -- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["sse", "ws"])
def test_cards_grow_progressively_and_final_dom_equals_final_value(
    backend: Any, site: str, transport: str, tmp_path: Path
) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(
        ideas, [(0, "title", 0.5), (0, "blurb", 0.5), (1, "blurb", 0.3), (3, "title", 0.6)]
    )
    seen: list[list[dict[str, Any]]] = []
    with chromium_page() as page:
        start(page, site, count=4, transport=transport)
        # 1: the first card exists, its title is partly written, nothing is done
        c = wait_cards(
            page, lambda c: len(c) == 1 and c[0]["title"], "first card with a partial title"
        )
        assert ideas[0]["title"].startswith(c[0]["title"]) and c[0]["title"] != ideas[0]["title"]
        assert not c[0]["done"] and c[0]["blurb"] == ""
        seen.append(c)
        gates[0].set()
        # 2: title complete, blurb growing
        c = wait_cards(page, lambda c: c and c[0]["blurb"], "first blurb growing")
        assert c[0]["title"] == ideas[0]["title"] and ideas[0]["blurb"].startswith(c[0]["blurb"])
        assert c[0]["blurb"] != ideas[0]["blurb"] and not c[0]["done"] and len(c) == 1
        seen.append(c)
        gates[1].set()
        # 3: card 0 done (item event), card 1 growing
        c = wait_cards(
            page,
            lambda c: len(c) == 2 and c[0]["done"] and c[1]["blurb"],
            "card 0 done, card 1 growing",
        )
        assert c[0] == {"index": 0, **ideas[0], "done": True}
        assert (
            not c[1]["done"]
            and ideas[1]["blurb"].startswith(c[1]["blurb"])
            and c[1]["blurb"] != ideas[1]["blurb"]
        )
        assert status(page) == "streaming"
        seen.append(c)
        if transport == "sse" and backend.name == "replay-async":
            page.screenshot(
                path=os.environ.get("SCHEMASTREAM_SCREENSHOT") or str(tmp_path / "web-demo.png")
            )
        gates[2].set()
        # 4: three cards done, the fourth's title growing. A batch's item messages follow its
        # merged patch, so (over WebSocket, one task per message) card 3 may show for a frame
        # before cards 1-2 are marked done: wait for the state, don't sample the first frame.
        c = wait_cards(
            page,
            lambda c: len(c) == 4 and c[3]["title"] and all(x["done"] for x in c[:3]),
            "cards 0-2 done, card 3 title",
        )
        assert not c[3]["done"] and ideas[3]["title"].startswith(c[3]["title"])
        assert c[3]["title"] != ideas[3]["title"]
        seen.append(c)
        gates[3].set()
        # final: the DOM is the final value, every card done
        c = wait_cards(page, lambda c: len(c) == 4 and all(x["done"] for x in c), "all done")
        wait_for(lambda: status(page) == "done", 10, "status done")
        assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
        assert page.is_hidden("#error")
    assert len({json.dumps(s) for s in seen}) == 4  # four distinct intermediate DOM states


@pytest.mark.parametrize("transport", ["sse", "ws"])
def test_cancel_stops_the_upstream_stream(backend: Any, site: str, transport: str) -> None:
    ideas = make_ideas(4)
    gates = backend.prepare(ideas, [(1, "blurb", 0.5)])
    with chromium_page() as page:
        start(page, site, count=4, transport=transport)
        c = wait_cards(
            page, lambda c: len(c) == 2 and c[0]["done"] and c[1]["blurb"], "card 1 growing"
        )
        assert not backend.upstream_cut()
        page.click("#cancel")
        # the server closes the stream, which cuts the upstream model request
        wait_for(backend.upstream_cut, 5, "upstream stream cut after cancel")
        assert status(page) == "cancelled"
        after = cards(page)
        assert after[:2] == c[:2] or after[1]["blurb"].startswith(c[1]["blurb"])
        assert len(after) == 2 and after[1]["blurb"] != ideas[1]["blurb"] and not after[1]["done"]
        gates[0].set()  # nothing more may arrive: the stream is gone
        page.wait_for_timeout(100)
        assert cards(page) == after
        assert page.is_hidden("#error")


def test_error_event_shows_a_message(backend: Any, site: str) -> None:
    ideas = make_ideas(4)
    backend.prepare(ideas, [], fail=True)
    with chromium_page() as page:
        start(page, site, count=4)
        page.wait_for_selector("#error.shown")
        text = page.text_content("#error") or ""
        assert "validation" in text and "blurb" in text
        assert page.get_attribute("#error", "data-type") == "validation"
        wait_for(lambda: status(page) == "error", 5, "status error")
        c = cards(page)
        assert c and c[0] == {"index": 0, **ideas[0], "done": True}  # what was valid stays


def test_restart_clears_the_cards_and_the_retry_streams_in(server: ReplayServer) -> None:
    from tests.replay import openai_server as oa

    ideas = make_ideas(3)
    broken = {"items": [ideas[0], {"title": "Broken", "blurb": "x" * 200}]}
    first_text = json.dumps(broken, separators=(",", ":"))
    first = oa.responses_text_script(first_text, 4, delay=0.002)
    # held with 100 of the 200 x's written: valid so far; max_length=140 fails after the gate
    hold_first = gate_at(first, first_text.index("x" * 100) + 100)
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    second = oa.responses_text_script(text, 4, delay=0.002)
    hold_second = gate_at(second, text.index(ideas[0]["blurb"]) + 8)  # idea 0's blurb begun
    backend = ReplayBackend(server)
    server.add(first, second)
    app = EXAMPLE.create_app(client=backend.client, model="gpt-4o-mini", max_retries=1)
    with ServerThread(app) as site, chromium_page() as page:
        start(page, site.url, count=3)
        wait_cards(
            page,
            lambda c: len(c) == 2 and c[1]["title"] == "Broken" and c[1]["blurb"],
            "first attempt, 2 cards",
        )
        hold_first.set()
        c = wait_cards(
            page,
            lambda c: len(c) == 1 and c[0]["blurb"],
            "cards cleared by the restart, the retry's first blurb growing",
        )
        assert c[0]["title"] == ideas[0]["title"] and not c[0]["done"]
        assert ideas[0]["blurb"].startswith(c[0]["blurb"])
        assert c[0]["blurb"] != ideas[0]["blurb"]
        assert status(page) == "retrying (1)"
        assert backend.server.exchanges[0].disconnected  # the failed attempt was cut
        hold_second.set()
        c = wait_cards(page, lambda c: len(c) == 3 and all(x["done"] for x in c), "done")
        assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
        wait_for(lambda: status(page) == "done", 5, "status done")
        assert len(backend.server.exchanges) == 2
