"""Render docs/img/web-demo.png: the example page mid-stream, in headless Chromium (dev tool).

    .venv/bin/python examples/web/screenshot.py [docs/img/web-demo.png]

The app is the real one (``create_app``) with ``ss.from_openai(AsyncOpenAI(...))`` pointed at
the test suite's replay server, which plays a canned ``list[Idea]`` answer in OpenAI's
Responses API format and holds it where some cards are done and one is being written.
Needs Debian's chromium at /usr/bin/chromium and Playwright for Python.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.replay import openai_server as oa  # noqa: E402
from tests.replay.base import ReplayServer  # noqa: E402
from tests.web.browser import cards, chromium_page  # noqa: E402
from tests.web.helpers import ServerThread, wait_for  # noqa: E402

import openai  # noqa: E402
import schemastream as ss  # noqa: E402

IDEAS = [
    {
        "title": "Voice notes that tidy themselves",
        "blurb": "Record a thought on the go and get a clean, titled note with action items pulled out.",
    },
    {
        "title": "Daily digest",
        "blurb": "A calm morning email with the notes you touched yesterday and the tasks still open.",
    },
    {
        "title": "Share as a page",
        "blurb": "Publish any note as a read-only web page with one click; edits stay in sync.",
    },
    {
        "title": "Templates for rituals",
        "blurb": "Weekly reviews, meeting notes and reading logs ready in one tap, shaped by your habits.",
    },
    {
        "title": "Offline first",
        "blurb": "Write on a plane or in a tunnel: everything syncs the moment you are back online.",
    },
    {
        "title": "Ask your notes",
        "blurb": "Search by meaning, not keywords: find that idea from March without remembering a word.",
    },
]


def main(out: str = str(ROOT / "docs" / "img" / "web-demo.png")) -> None:
    spec = importlib.util.spec_from_file_location("example_web_app", ROOT / "examples/web/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    text = json.dumps({"items": IDEAS}, separators=(",", ":"))
    script = oa.responses_text_script(text, 4, delay=0.002)
    gate = script.gate(4 + (text.index(IDEAS[4]["blurb"]) + 38) // 4)
    replay = ReplayServer([script]).start()
    client = ss.from_openai(openai.AsyncOpenAI(base_url=replay.url + "/v1", api_key="replay"))
    app = module.create_app(client=client, model="gpt-4o-mini")
    with ServerThread(app) as server, chromium_page() as page:
        page.set_viewport_size({"width": 1000, "height": 560})
        page.goto(server.url + "/")
        page.fill("input[name=count]", str(len(IDEAS)))
        page.click("#go")
        wait_for(lambda: len(cards(page)) == 5 and cards(page)[3]["done"], 10, "mid-stream state")
        page.wait_for_timeout(400)  # let the done-colour transition finish
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out)
        gate.set()
    replay.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
