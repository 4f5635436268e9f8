"""schemastream.js in headless Chromium: patch applier vs Python, SSE parser, static route."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from schemastream.patch import apply_patch, diff
from schemastream.web import js_path, static_route

from .browser import CHROMIUM, chromium_page, requires_chromium
from .helpers import ServerThread, idea_events, make_ideas
from .test_patch import json_values


def js_app() -> Starlette:
    async def index(request: Any) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><script type=module>"
            "import * as ss from '/static/schemastream.js'; window.ss = ss; window.ready = true;"
            "</script>"
        )

    return Starlette(routes=[Route("/", index), static_route("/static/schemastream.js")])


def test_static_route_serves_the_module() -> None:
    with TestClient(js_app()) as client:
        r = client.get("/static/schemastream.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.text == js_path().read_text()
    # the esbuild build of js/src (js/test/build.test.js checks it is up to date)
    assert r.text.startswith("// schemastream.js -- built from js/src/schemastream.js")
    assert "subscribe" in r.text[r.text.rindex("export {") :]


@pytest.fixture(scope="module")
def js_page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    with ServerThread(js_app()) as server, chromium_page() as page:
        page.goto(server.url + "/")
        page.wait_for_function("window.ready === true")
        yield page


def js_apply_sequence(page: Any, steps: list[list[dict[str, Any]]]) -> list[Any]:
    return page.evaluate(
        """steps => { let s = null; const out = [];
            for (const ops of steps) { s = window.ss.applyPatch(s, ops); out.push(s); }
            return out; }""",
        steps,
    )


@pytest.mark.browser
@requires_chromium
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(json_values, min_size=1, max_size=5))
def test_js_applier_matches_python(js_page: Any, snapshots: list[Any]) -> None:
    state: Any = None
    steps = []
    for snap in snapshots:
        ops = diff(state, snap)
        steps.append(ops)
        state = apply_patch(state, ops)
    results = js_apply_sequence(js_page, steps)
    # JS has one number type (1.0 is 1, -0.0 is 0 in JSON): compare in that form
    assert [_js_norm(r) for r in results] == [_js_norm(s) for s in snapshots]


def _js_norm(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list):
        return [_js_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _js_norm(v) for k, v in value.items()}
    return value


@pytest.mark.browser
@requires_chromium
def test_js_structural_sharing_and_errors(js_page: Any) -> None:
    result = js_page.evaluate(
        """() => {
            const a = {items: [{t: "x"}, {t: "y"}], meta: {k: 1}};
            const b = window.ss.applyPatch(a, [{op: "append", path: "/items/1/t", value: "z"}]);
            const c = window.ss.applyPatch(b, [{op: "append", path: "/items", value: [{t: "w"}, {t: "v"}]}]);
            let err = null;
            try { window.ss.applyPatch(a, [{op: "append", path: "/meta/k", value: "x"}]); } catch (e) { err = String(e.message); }
            return {same0: a.items[0] === b.items[0], sameMeta: a.meta === b.meta, old: a.items[1].t,
                    newT: b.items[1].t, c: c.items.map(i => i.t), err};
        }"""
    )
    assert result == {
        "same0": True,
        "sameMeta": True,
        "old": "y",
        "newT": "yz",
        "c": ["x", "yz", "w", "v"],
        "err": result["err"],
    }
    assert result["err"] and "append" in result["err"]


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("split", [1, 3, 7, 64])
def test_js_sse_parser_any_chunking(js_page: Any, newline: str, split: int) -> None:
    from schemastream.web.encoder import WireEncoder, format_sse

    enc = WireEncoder()
    body = b"".join(
        format_sse(m) for ev in idea_events(make_ideas(2)) for m in enc.encode([ev])
    ).decode()
    body = ": ping\n\n" + body.replace("data:", "data: ", 3)  # comments and the optional space
    body = body.replace("\n", newline)
    pieces = [body[i : i + split] for i in range(0, len(body), split)]
    got = js_page.evaluate(
        """pieces => { const p = new window.ss.SSEParser(); const out = [];
            for (const piece of pieces) out.push(...p.feed(piece));
            return out; }""",
        pieces,
    )
    enc2 = WireEncoder()
    expected = [m for ev in idea_events(make_ideas(2)) for m in enc2.encode([ev])]
    assert [(g["event"], int(g["id"]), json.loads(g["data"])) for g in got] == [
        (m.event, m.id, m.data) for m in expected
    ]
