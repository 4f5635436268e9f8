"""Web delivery of streams: Server-Sent Events, WebSockets and a browser client.

Needs the ``web`` extra (``pip install 'schemastream[web]'``)::

    import schemastream as ss
    from schemastream.web import sse_response, websocket_stream, static_route

    @app.post("/ideas")
    async def ideas(req: IdeasRequest):
        stream = client.responses.stream(model=..., messages=[...], response_model=list[Idea])
        return sse_response(stream)          # sync or async stream

    @app.websocket("/ideas/ws")
    async def ideas_ws(websocket: WebSocket):
        await websocket.accept()
        req = await websocket.receive_json()
        await websocket_stream(websocket, client.responses.stream(...))

    app.router.routes.append(static_route())   # GET /schemastream.js (the browser client)

    # resumable: the generation outlives the connection; Last-Event-ID resumes it on any
    # replica sharing the store (see schemastream.web.resumable)
    store = RedisStore("redis://localhost:6379/0")      # or MemoryStore() / the default
    return sse_response(stream, resumable=True, store=store, owner=user_id)

    @app.post("/agent")                          # an AG-UI agent (HttpAgent, CopilotKit)
    async def agent(request: Request):
        run_input = await request.json()
        return ag_ui_response(client.responses.stream(...), run_input)   # needs the ag-ui extra

    @app.post("/object")                         # Vercel AI SDK: useObject ...
    async def obj():
        return text_stream_response(client.responses.stream(...))

    @app.post("/chat")                           # ... and useChat (a data-object part)
    async def chat():
        return ui_message_stream_response(client.responses.stream(...))

Wire format: see :mod:`schemastream.web.encoder`; ops: :mod:`schemastream.patch`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .agui import AGUIResponse, ag_ui_response
from .encoder import WireEncoder, WireMessage, error_payload, format_sse
from .redis_store import RedisStore
from .resumable import ResumableEventStreamResponse, cancel_stream
from .sse import AbortResponse, EventStreamResponse, PumpedResponse, sse_response
from .stores import MemoryStore, StreamInfo, StreamStore
from .vercel import (
    TextStreamResponse,
    UIMessageStreamResponse,
    text_stream_response,
    ui_message_stream_response,
)
from .ws import websocket_stream

__all__ = [
    "AGUIResponse",
    "AbortResponse",
    "EventStreamResponse",
    "MemoryStore",
    "PumpedResponse",
    "RedisStore",
    "ResumableEventStreamResponse",
    "StreamInfo",
    "StreamStore",
    "ag_ui_response",
    "cancel_stream",
    "WireEncoder",
    "WireMessage",
    "error_payload",
    "format_sse",
    "js_path",
    "js_source",
    "sse_response",
    "static_route",
    "text_stream_response",
    "TextStreamResponse",
    "ui_message_stream_response",
    "UIMessageStreamResponse",
    "websocket_stream",
]


def js_path() -> Path:
    """Filesystem path of the browser client ``schemastream.js`` (a dependency-free ES module)."""
    return Path(__file__).parent / "static" / "schemastream.js"


def js_source() -> str:
    return js_path().read_text(encoding="utf-8")


def static_route(path: str = "/schemastream.js", *, name: str = "schemastream_js") -> Any:
    """A Starlette ``Route`` serving the browser client as ``text/javascript``.

    ``app.router.routes.append(static_route())`` (FastAPI or Starlette), then in the page:
    ``import { subscribe } from "/schemastream.js"``.
    """
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        return Response(
            js_source(),
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "no-cache"},
        )

    return Route(path, endpoint, methods=["GET", "HEAD"], name=name)
