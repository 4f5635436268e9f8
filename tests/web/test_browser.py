"""End to end in real headless Chromium: the example app's page, schemastream.js, SSE and WS.

Two backends behind the same FastAPI app (``examples/web/app.py``):

* ``fake``   -- a client whose streams replay core-shaped events (no core needed);
* ``replay`` -- ``ss.from_openai(AsyncOpenAI | OpenAI)`` against the replay server speaking
  OpenAI's Responses API over HTTP, so cancel / error go through the real stack and the
  replay server records when its stream was cut.

The backend holds the model's output at *gates* (causality, not timing): the test looks at
the DOM while the stream is held, then lets it go on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from schemastream import errors
from schemastream.events import PartialEvent

from .browser import cards, chromium_page, requires_chromium
from .helpers import FakeStream, ServerThread, idea_events, make_ideas, wait_for

pytestmark = [pytest.mark.browser, requires_chromium]

ROOT = Path(__file__).resolve().parents[2]
Gate = tuple[int, str, float]  # (item index, field, fraction of the field written)


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "schemastream_example_web_app", ROOT / "examples/web/app.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = load_example()


def core_available() -> bool:
    try:
        import schemastream as ss

        return hasattr(ss, "from_openai") and hasattr(ss, "AsyncStream")
    except Exception:
        return False


# -- backends ------------------------------------------------------------------------------


class FakeBackend:
    name = "fake"

    def __init__(self) -> None:
        self.stream: FakeStream | None = None
        self._next: Any = None
        self.client = SimpleNamespace(responses=SimpleNamespace(stream=self._open))

    def _open(self, **kw: Any) -> FakeStream:
        assert kw["response_model"] == list[EXAMPLE.Idea]
        self.stream = self._next()
        return self.stream

    def prepare(
        self, ideas: list[dict[str, str]], gates: list[Gate], *, fail: bool = False
    ) -> list[threading.Event]:
        evs = idea_events(ideas, chunk=4)
        events: dict[int, threading.Event] = {}
        for item, fld, frac in gates:
            want = int(len(ideas[item][fld]) * frac)
            idx = next(
                i
                for i, ev in enumerate(evs)
                if isinstance(ev, PartialEvent)
                and len(ev.partial) > item
                and len(ev.partial[item].get(fld, "")) >= want
            )
            events[idx] = threading.Event()
        kw: dict[str, Any] = {"gates": events}
        if fail:
            kw["raise_at"] = len(evs) // 2
            kw["error"] = errors.StreamValidationError(
                [
                    {
                        "loc": (1, "blurb"),
                        "msg": "String should have at most 140 characters",
                        "type": "string_too_long",
                    }
                ]
            )
        self._next = lambda: FakeStream(evs, **kw)
        return [events[k] for k in sorted(events)]

    def upstream_cut(self) -> bool:
        return self.stream is not None and self.stream.closed.is_set()

    def close(self) -> None:
        pass


class ReplayBackend:
    def __init__(self, use_async: bool) -> None:
        import openai
        import schemastream as ss
        from tests.replay.base import ReplayServer

        self.name = "replay-async" if use_async else "replay-sync"
        self.server = ReplayServer().start()
        cls = openai.AsyncOpenAI if use_async else openai.OpenAI
        self.sdk = cls(base_url=self.server.url + "/v1", api_key="test", max_retries=0)
        self.client = ss.from_openai(self.sdk)

    def prepare(
        self, ideas: list[dict[str, str]], gates: list[Gate], *, fail: bool = False
    ) -> list[threading.Event]:
        from tests.replay import openai_server as oa

        doc = {"items": ideas}
        if fail:
            doc = {
                "items": [ideas[0], {"title": ideas[1]["title"], "blurb": "x" * 200}, *ideas[2:]]
            }
        text = json.dumps(doc, separators=(",", ":"))
        script = oa.responses_text_script(text, 4, delay=0.002)
        head = 4  # frames before the first document piece (see tests/openai/test_e2e.py)
        events = []
        for item, fld, frac in gates:
            start = text.index(json.dumps(ideas[item][fld]))
            pos = start + 1 + int(len(ideas[item][fld]) * frac)
            events.append(script.gate(head + pos // 4 + 1))
        self.server.add(script)
        return events

    def upstream_cut(self) -> bool:
        return bool(self.server.exchanges) and self.server.last.disconnected

    def close(self) -> None:
        self.server.stop()


@pytest.fixture(params=["fake", "replay-async", "replay-sync"])
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        b: Any = FakeBackend()
    else:
        if not core_available():
            pytest.skip("the streaming core (ss.from_openai) is not importable yet")
        b = ReplayBackend(use_async=request.param == "replay-async")
    try:
        yield b
    finally:
        b.close()


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
        if transport == "sse" and backend.name == "fake":
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


def test_restart_clears_the_cards_and_the_retry_streams_in() -> None:
    from schemastream.events import RestartEvent

    ideas = make_ideas(3)
    first = idea_events([ideas[0], {"title": "Broken", "blurb": "x" * 60}], chunk=4)[:-1]
    second = idea_events(ideas, chunk=4)
    hold_first = len(first) - 1
    error = errors.StreamValidationError(
        [{"loc": (1, "blurb"), "msg": "too long", "type": "string_too_long"}]
    )
    events = [*first, RestartEvent(attempt=1, error=error), *second]
    hold_second = len(first) + 1 + 12  # the retry has started writing idea 0
    gates = {hold_first: threading.Event(), hold_second: threading.Event()}
    stream = FakeStream(events, gates=gates)
    client = SimpleNamespace(responses=SimpleNamespace(stream=lambda **kw: stream))
    with ServerThread(EXAMPLE.create_app(client=client)) as server, chromium_page() as page:
        start(page, server.url, count=3)
        wait_cards(
            page, lambda c: len(c) == 2 and c[1]["title"] == "Broken", "first attempt, 2 cards"
        )
        gates[hold_first].set()
        c = wait_cards(
            page, lambda c: len(c) == 1 and not c[0]["done"], "cards cleared by the restart"
        )
        assert ideas[0]["title"].startswith(c[0]["title"]) or ideas[0]["blurb"].startswith(
            c[0]["blurb"]
        )
        assert status(page) == "retrying (1)"
        gates[hold_second].set()
        c = wait_cards(page, lambda c: len(c) == 3 and all(x["done"] for x in c), "retry done")
        assert [{"title": x["title"], "blurb": x["blurb"]} for x in c] == ideas
        wait_for(lambda: status(page) == "done", 5, "status done")
