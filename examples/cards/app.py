"""Cards that appear only with a title, links that appear whole: display policies on the web.

The model streams ``list[Card]``; the policies decide, once, in the core, what every surface
shows: a card is not shown until its title has begun (``ss.NotNull``), a URL appears only
complete (``ss.Done``), and the blurb travels with its state (``ss.WithState``) so the page
can show a cursor while it is written. Run (offline, embedded local model)::

    uvicorn examples.cards.app:app --port 8000

``create_app(client=..., model=...)`` takes any schemastream client (sync or async).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.web import sse_response, static_route

PAGE = Path(__file__).with_name("index.html")


class Card(BaseModel):
    title: Annotated[str, ss.NotNull]  # no card without a title
    url: Annotated[str, ss.Done]  # a link is shown whole, never half-written
    blurb: Annotated[str, ss.WithState] = Field(..., max_length=200)  # {"value", "state"}


def create_app(client: Any = None, model: str | None = None) -> FastAPI:
    app = FastAPI(title="schemastream cards")
    state: dict[str, Any] = {"client": client, "model": model}

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.post("/api/cards")
    async def cards() -> Any:
        if state["client"] is None:  # the embedded model loads on first use
            spec = os.environ.get("SCHEMASTREAM_MODEL", "local")
            state["client"] = ss.from_provider(spec)
            state["model"] = state["model"] or (spec.split("/", 1)[1] if "/" in spec else None)
        kwargs: dict[str, Any] = {
            "messages": [{"role": "user", "content": "Give 3 links worth reading on note-taking"}],
            "response_model": list[Card],
        }
        if state["model"]:
            kwargs["model"] = state["model"]
        stream = state["client"].responses.stream(**kwargs)
        if inspect.isawaitable(stream):
            stream = await stream
        return sse_response(stream)

    app.router.routes.append(static_route("/schemastream.js"))
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # `uvicorn examples.cards.app:app` builds it lazily
        return create_app()
    raise AttributeError(name)
