"""Headless Chromium (Debian's /usr/bin/chromium) through Playwright, never a downloaded one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

requires_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


@contextmanager
def chromium_page() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        pytest.skip("playwright is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


def cards(page: Any) -> list[dict[str, Any]]:
    """The rendered idea cards: title, blurb, done."""
    return page.eval_on_selector_all(
        "#cards .card",
        """els => els.map(e => ({
            index: Number(e.dataset.index),
            title: e.querySelector('.title').textContent,
            blurb: e.querySelector('.blurb').textContent,
            done: e.classList.contains('done'),
        }))""",
    )
