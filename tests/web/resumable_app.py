"""A small app serving resumable idea streams, in-process or as a uvicorn replica subprocess.

``create_app(client, store=...)``: ``POST /ideas`` (JSON ``{"topic", "count"}``) returns
``sse_response(stream, resumable=True, store=store, owner=<x-user header>)``; ``GET /`` is a
page that streams through ``schemastream.js`` and resumes by itself after a reload.

As a replica: ``python -m tests.web.resumable_app --port P --replay URL --redis URL``
(the real OpenAI SDK against the replay server, frames in Redis).
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from schemastream.web import sse_response, static_route

from .helpers import Idea

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>resumable ideas</title>
<pre id="state">null</pre><div id="status">idle</div>
<script type="module">
import { subscribe, pendingStream } from "/schemastream.js";
const request = { method: "POST", body: { topic: "notes", count: 6 } };
function log(kind, value) {
  const all = JSON.parse(sessionStorage.getItem("test-log") || "[]");
  all.push([kind, value]);
  sessionStorage.setItem("test-log", JSON.stringify(all));
}
function start() {
  document.getElementById("status").textContent = "streaming";
  const sub = subscribe("/ideas", Object.assign({}, request, {
    onEvent(event, data, id) { log(event, id); },
    onState(state) { document.getElementById("state").textContent = JSON.stringify(state); },
    onFinal() { document.getElementById("status").textContent = "final"; },
    onError(err) { document.getElementById("status").textContent = "error:" + err.type; },
  }));
  window.sub = sub;
}
window.start = start;
window.log = log;
if (pendingStream("/ideas", request)) { log("reload-resume", null); start(); }
</script>
"""


class CutFirstResponse:
    """ASGI wrapper: the first response on ``path`` dies after ``after`` body messages
    (the server aborts the connection mid-body, as a dropped network does); later ones pass."""

    def __init__(self, app: Any, after: int, path: str = "/ideas") -> None:
        self.app = app
        self.after = after
        self.path = path
        self.cut = False
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            return await self.app(scope, receive, send)
        self.requests += 1
        if self.cut:
            return await self.app(scope, receive, send)
        self.cut = True
        sent = 0

        async def cutting_send(message: Any) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += 1
                if sent > self.after:
                    raise ConnectionAbortedError("cut by the test")
            await send(message)

        await self.app(scope, receive, cutting_send)


def create_app(
    client: Any,
    *,
    store: Any = None,
    model: str = "gpt-4o-mini",
    cut_after: int | None = None,
    resumable: bool = True,
    **options: Any,
) -> Any:
    async def ideas(request: Request) -> Response:
        body = await request.json()
        stream = client.responses.stream(
            model=model,
            messages=[
                {"role": "user", "content": f"{body.get('count', 5)} ideas for {body['topic']}"}
            ],
            response_model=list[Idea],
        )
        if inspect.isawaitable(stream):
            stream = await stream
        options.setdefault("coalesce", 0)
        if not resumable:  # the plain transport, for contrast
            return sse_response(stream, **options)
        return sse_response(
            stream, resumable=True, store=store, owner=request.headers.get("x-user"), **options
        )

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    app = Starlette(
        routes=[
            Route("/ideas", ideas, methods=["POST"]),
            Route("/", page),
            static_route(),
        ]
    )
    return CutFirstResponse(app, cut_after) if cut_after is not None else app


def main() -> None:
    import asyncio
    import socket

    import uvicorn

    import openai
    import schemastream as ss
    from schemastream.web import RedisStore

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--replay", required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    sdk = openai.AsyncOpenAI(base_url=args.replay + "/v1", api_key="test", max_retries=0)
    app = create_app(ss.from_openai(sdk), store=RedisStore(args.redis))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
