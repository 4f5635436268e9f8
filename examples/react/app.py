"""Idea cards in React, and the same stream for the clients people already use.

Build the pages once (esbuild, from npm packages; nothing is loaded from a CDN)::

    cd examples/react && npm ci && node build.mjs

Run (offline, embedded local model; needs the ``local`` and ``ag-ui`` extras)::

    uvicorn examples.react.app:app --port 8000

``SCHEMASTREAM_MODEL=openai/gpt-4o-mini`` uses a provider instead. Pages and endpoints:

=====================  ==============================================================
``/``                  React + ``useSchemaStream`` (schemastream/react) <- ``POST /api/ideas`` (SSE)
``/resume``            the same, resumable <- ``POST /api/ideas/resumable`` (survives a reload)
``/object``            ``useObject`` (``@ai-sdk/react``) <- ``POST /api/object`` (text stream)
``/chat``              ``useChat`` (``@ai-sdk/react``) <- ``POST /api/chat`` (UI message stream)
``POST /api/agui``     an AG-UI agent (``HttpAgent`` from ``@ag-ui/client``; see agui-client.mjs)
=====================  ==============================================================

``create_app(client=..., model=...)`` takes any schemastream client (sync or async), which
is how the tests point it at a replay server.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.web import (
    StreamStore,
    ag_ui_response,
    error_payload,
    sse_response,
    text_stream_response,
    ui_message_stream_response,
)

HERE = Path(__file__).parent
DIST = HERE / "dist"
PAGES = {"/": "index", "/resume": "resume", "/object": "object", "/chat": "chat"}


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


def page(name: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>schemastream · {name}</title>"
        '<link rel=stylesheet href="/assets/style.css"></head>'
        f'<body><div id=root></div><script type=module src="/assets/{name}.js"></script>'
        "</body></html>"
    )


def create_app(
    client: Any = None,
    model: str | None = None,
    *,
    max_retries: int = 0,
    store: StreamStore | None = None,
) -> FastAPI:
    """The demo app. ``client``: a ``ss.Client`` / ``ss.AsyncClient`` (default: from env);
    ``store``: where resumable streams keep their events (default: in this process)."""
    app = FastAPI(title="schemastream idea cards (React)")
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

    for path, name in PAGES.items():
        app.add_api_route(
            path,
            lambda name=name: HTMLResponse(page(name)),
            methods=["GET"],
            include_in_schema=False,
        )

    @app.get("/assets/{name}")
    async def asset(name: str) -> Response:
        file = DIST / name
        if name not in {p.name for p in DIST.glob("*")} or not file.is_file():
            return JSONResponse({"message": "not built: cd examples/react && node build.mjs"}, 404)
        return FileResponse(file, headers={"cache-control": "no-cache"})

    @app.post("/api/ideas")
    async def ideas(req: IdeasRequest) -> Any:
        try:
            stream = await open_stream(req)
        except Exception as exc:  # e.g. no API key: a typed, UI-safe message, no traceback
            return JSONResponse(error_payload(exc), status_code=502)
        return sse_response(stream)

    @app.post("/api/ideas/resumable")
    async def ideas_resumable(req: IdeasRequest) -> Any:
        # the generation outlives the connection: a reload or a dropped network resumes it
        try:
            stream = await open_stream(req)
        except Exception as exc:
            return JSONResponse(error_payload(exc), status_code=502)
        return sse_response(stream, resumable=True, store=store)

    @app.post("/api/agui")
    async def agui(request: Request) -> Any:
        # HttpAgent POSTs a RunAgentInput: threadId, runId, state, messages, tools, context,
        # forwardedProps. The request for ideas travels in forwardedProps.
        run_input = await request.json()
        req = IdeasRequest.model_validate(run_input.get("forwardedProps") or {})
        try:
            stream = await open_stream(req)
        except Exception as exc:
            return JSONResponse(error_payload(exc), status_code=502)
        return ag_ui_response(stream, run_input)

    @app.post("/api/object")
    async def obj(req: IdeasRequest) -> Any:
        # useObject POSTs its submit() input as JSON
        try:
            stream = await open_stream(req)
        except Exception as exc:  # useObject shows a non-2xx body as the error message
            return Response(error_payload(exc)["message"], status_code=502)
        return text_stream_response(stream)

    @app.post("/api/chat")
    async def chat(request: Request) -> Any:
        # useChat POSTs {id, messages, trigger, messageId} plus sendMessage's extra body; the
        # topic is the last user message's text.
        body = await request.json()
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        text = "".join(
            p.get("text", "")
            for p in (users[-1].get("parts", []) if users else [])
            if p.get("type") == "text"
        )
        req = IdeasRequest(topic=text or "a note-taking app", count=body.get("count", 5))
        try:
            stream = await open_stream(req)
        except Exception as exc:
            return JSONResponse(error_payload(exc), status_code=502)
        return ui_message_stream_response(stream, data_name="object")

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn examples.react.app:app` builds the app lazily (importing this module for
    # create_app() in tests does not touch any model).
    if name == "app":
        return create_app()
    raise AttributeError(name)
