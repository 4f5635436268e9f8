"""Display policies in the browser: the cards example (``examples/cards/app.py``) on the real
stack (openai SDK -> replay server in OpenAI's Responses wire format -> sse_response ->
schemastream.js in headless Chromium). The page records every state it rendered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.replay.base import ReplayServer

from .browser import chromium_page, requires_chromium
from .helpers import ServerThread, load_module, wait_for

pytestmark = [pytest.mark.browser, requires_chromium]

ROOT = Path(__file__).resolve().parents[2]
CARDS = [
    {"title": "Zettelkasten", "url": "https://example.com/zettel", "blurb": "Link small notes."},
    {"title": "PARA", "url": "https://example.com/para-method", "blurb": "Projects, areas."},
    {"title": "Daily notes", "url": "https://example.com/daily", "blurb": "One page a day."},
]


def load_example() -> Any:
    return load_module("examples/cards/app.py", "schemastream_example_cards")


@pytest.mark.parametrize("use_async", [True, False], ids=["async", "sync"])
def test_cards_show_only_with_a_title_and_urls_only_whole(
    use_async: bool, server: ReplayServer
) -> None:
    import openai
    import schemastream as ss
    from tests.replay import openai_server as oa

    example = load_example()
    # card 0 comes url and blurb first: it must wait for its title; cards 1-2 title first
    first = {k: CARDS[0][k] for k in ("url", "blurb", "title")}
    doc = {"items": [first, *CARDS[1:]]}
    text = json.dumps(doc, separators=(",", ":"))
    script = oa.responses_text_script(text, 3, delay=0.002)

    def gate_in(value: str, offset: int) -> Any:  # held once value[:offset] was sent
        return script.gate(4 + (text.index(json.dumps(value)) + 1 + offset) // 3 + 1)

    hold_untitled = gate_in(CARDS[0]["blurb"], 8)  # card 0: url and half a blurb, no title
    hold_mid_url = gate_in(CARDS[1]["url"], 12)  # card 1: title, half its url
    hold_mid_blurb = gate_in(CARDS[2]["blurb"], 6)  # card 2: blurb being written
    server.add(script)
    cls = openai.AsyncOpenAI if use_async else openai.OpenAI
    sdk = cls(base_url=server.url + "/v1", api_key="test", max_retries=0)
    app = example.create_app(client=ss.from_openai(sdk), model="gpt-4o-mini")
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.click("#go")
        wait_for(lambda: page.evaluate("window.renderedStates.length > 0"), 10, "[]")
        page.wait_for_timeout(100)  # anything of card 0 that leaked would render now
        assert page.evaluate("window.renderedStates") == [[]]  # no card without a title
        hold_untitled.set()
        wait_for(
            lambda: page.evaluate("window.renderedStates.some(s => s.length === 2)"),
            10,
            "card 1 rendered",
        )
        page.wait_for_timeout(100)
        shown = page.eval_on_selector_all(
            "#cards .card",
            "els => els.map(e => [e.querySelector('h2').textContent, e.querySelector('a').href])",
        )
        assert shown == [[CARDS[0]["title"], CARDS[0]["url"]], [CARDS[1]["title"], ""]]
        hold_mid_url.set()
        wait_for(
            lambda: page.evaluate(
                "document.querySelectorAll('.blurb[data-state=streaming]').length === 1"
            ),
            10,
            "card 2's blurb streaming",
        )
        blurb = page.text_content("#cards .card:nth-child(3) .blurb") or ""
        assert CARDS[2]["blurb"].startswith(blurb) and blurb != CARDS[2]["blurb"]
        hold_mid_blurb.set()
        wait_for(lambda: page.text_content("#status") == "done", 10, "done")
        states = page.evaluate("window.renderedStates")
        final = page.eval_on_selector_all(
            "#cards .card",
            """els => els.map(e => ({title: e.querySelector('h2').textContent,
                url: e.querySelector('a').textContent,
                blurb: e.querySelector('.blurb').textContent}))""",
        )
    assert final == CARDS
    urls = {c["url"] for c in CARDS}
    blurb_states = set()
    for state in states:  # every state the page rendered
        for card in state:
            assert card["title"], card  # NotNull: never a card without a title
            assert "url" not in card or card["url"] in urls, card  # Done: whole or absent
            if isinstance(card["blurb"], str):  # the final state: the plain validated value
                assert state == CARDS
                continue
            blurb_states.add(card["blurb"]["state"])
            assert any(c["blurb"].startswith(card["blurb"]["value"] or "") for c in CARDS)
    assert {"streaming", "done"} <= blurb_states  # WithState reached the page
    assert len(states) > 5  # the page rendered progressively


def test_stream_check_shows_an_error_and_cuts_the_model_call(server: ReplayServer) -> None:
    import openai
    import schemastream as ss
    from tests.replay import openai_server as oa

    example = load_example()
    bad = {"title": "Rival", "url": "https://example.com/r", "blurb": "Beats Acme " + "x" * 150}
    text = json.dumps({"items": [CARDS[0], bad]}, separators=(",", ":"))
    script = oa.responses_text_script(text, 3, delay=0.002, gate_timeout=60)
    script.gate(4 + (text.index("Acme") + 4) // 3 + 1)  # the rest is held: only a hang-up ends it
    server.add(script)
    sdk = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    app = example.create_app(client=ss.from_openai(sdk), model="gpt-4o-mini")
    with ServerThread(app) as site, chromium_page() as page:
        page.goto(site.url + "/")
        page.click("#go")
        wait_for(lambda: (page.text_content("#status") or "").startswith("error"), 10, "error")
        status = page.text_content("#status") or ""
        titles = page.eval_on_selector_all("#cards .card h2", "els => els.map(e => e.textContent)")
    ex = server.last
    assert ex.done.wait(10) and ex.disconnected and not ex.completed
    assert ex.chunks_sent < ex.total_chunks  # stopped at the word, not at the end
    assert "blurb" in status and "competitor" in status
    assert titles[0] == CARDS[0]["title"]
