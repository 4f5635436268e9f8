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


def create_app(
    client: Any, *, store: Any = None, model: str = "gpt-4o-mini", **options: Any
) -> Starlette:
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
        return sse_response(
            stream, resumable=True, store=store, owner=request.headers.get("x-user"), **options
        )

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    return Starlette(
        routes=[
            Route("/ideas", ideas, methods=["POST"]),
            Route("/", page),
            static_route(),
        ]
    )


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
