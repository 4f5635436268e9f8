"""Idea cards that grow while the model writes: FastAPI + schemastream.web + schemastream.js.

Run (offline, embedded local model; needs the ``local`` extra)::

    uvicorn examples.web.app:app --port 8000

Any provider instead (needs its SDK and API key)::

    SCHEMASTREAM_MODEL=openai/gpt-4o-mini uvicorn examples.web.app:app --port 8000

``create_app(client=..., model=...)`` takes any schemastream client (sync or async), which
is how the tests point it at a replay server.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.web import error_payload, sse_response, static_route, websocket_stream

PAGE = Path(__file__).with_name("index.html")


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


class IdeasRequest(BaseModel):
    topic: str = Field("a note-taking app", max_length=200)
    count: int = Field(5, ge=1, le=50)


def messages_for(req: IdeasRequest) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a concise marketing assistant."},
        {
            "role": "user",
            "content": f"Generate {req.count} marketing ideas for {req.topic}. "
            "Each has a short title and a one-sentence blurb.",
        },
    ]


def default_client() -> tuple[Any, str | None]:
    """``SCHEMASTREAM_MODEL`` (e.g. ``openai/gpt-4o-mini``) or the embedded local model."""
    spec = os.environ.get("SCHEMASTREAM_MODEL", "local")
    client = ss.from_provider(spec)  # type: ignore[attr-defined]
    model = spec.split("/", 1)[1] if "/" in spec else None
    return client, model


def create_app(client: Any = None, model: str | None = None, *, max_retries: int = 0) -> FastAPI:
    """The demo app. ``client``: a ``ss.Client`` / ``ss.AsyncClient`` (default: from env)."""
    app = FastAPI(title="schemastream idea cards")
    state: dict[str, Any] = {"client": client, "model": model}

    def get_client() -> tuple[Any, str | None]:
        if state["client"] is None:  # created on first use: the local model loads slowly
            state["client"], env_model = default_client()
            state["model"] = state["model"] or env_model
        return state["client"], state["model"]

    async def open_stream(req: IdeasRequest) -> Any:
        cl, mdl = get_client()
        kwargs: dict[str, Any] = {
            "messages": messages_for(req),
            "response_model": list[Idea],
            "max_retries": max_retries,
        }
        if mdl is not None:
            kwargs["model"] = mdl
        stream = cl.responses.stream(**kwargs)
        if inspect.isawaitable(stream):
            stream = await stream
        return stream

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.post("/api/ideas")
    async def ideas(req: IdeasRequest) -> Any:
        try:
            stream = await open_stream(req)
        except Exception as exc:  # e.g. no API key: a typed, UI-safe message, no traceback
            return JSONResponse(error_payload(exc), status_code=502)
        return sse_response(stream)

    @app.websocket("/api/ideas/ws")
    async def ideas_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            req = IdeasRequest.model_validate(await websocket.receive_json())
            stream = await open_stream(req)
        except Exception as exc:
            await websocket.send_json({"event": "error", "id": 1, "data": error_payload(exc)})
            await websocket.close(1000)
            return
        await websocket_stream(websocket, stream)

    app.router.routes.append(static_route("/schemastream.js"))
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn examples.web.app:app` builds the app lazily (importing this module for
    # create_app() in tests does not touch any model).
    if name == "app":
        return create_app()
    raise AttributeError(name)
