// node --test: the client core (src/schemastream.js) against a real HTTP server in this process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { applyPatch, SSEParser, subscribe } from "../src/index.js";

const sse = (event, id, data) => `id:${id}\nevent:${event}\ndata:${JSON.stringify(data)}\n\n`;

/** An HTTP server whose handler is `handler(req, res)`; records requests and early closes. */
async function serve(handler) {
  const seen = { requests: [], closedEarly: 0 };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.requests.push({ method: req.method, headers: req.headers, body });
      res.on("close", () => {
        if (!res.writableEnded) seen.closedEarly += 1;
      });
      handler(req, res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}/s`;
  return { url, seen, close: () => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }) };
}

const until = async (cond, what) => {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test("applyPatch: append grows strings and arrays, shares unchanged subtrees, rejects bad ops", () => {
  const a = { items: [{ t: "x" }, { t: "y" }], meta: { k: 1 } };
  const b = applyPatch(a, [{ op: "append", path: "/items/1/t", value: "z" }]);
  assert.equal(b.items[1].t, "yz");
  assert.equal(a.items[1].t, "y");
  assert.equal(b.items[0], a.items[0]);
  assert.equal(b.meta, a.meta);
  const c = applyPatch(b, [{ op: "append", path: "/items", value: [{ t: "w" }] }, { op: "remove", path: "/meta" }]);
  assert.deepEqual(c, { items: [{ t: "x" }, { t: "yz" }, { t: "w" }] });
  assert.deepEqual(applyPatch(null, [{ op: "replace", path: "", value: [] }]), []);
  assert.throws(() => applyPatch(a, [{ op: "append", path: "/meta/k", value: "x" }]), /append needs a string or array/);
  assert.throws(() => applyPatch(a, [{ op: "move", from: "/meta", path: "/m" }]), /unsupported op move/);
  assert.throws(() => applyPatch(a, [{ op: "test", path: "/meta/k", value: 2 }]), /test failed/);
});

test("SSEParser: any chunking, CR/LF/CRLF, comments, optional space", () => {
  const body = ": ping\r\n\r\nid:1\r\nevent:patch\r\ndata: {\"ops\":[]}\r\n\r\nid:2\nevent:final\ndata:{}\ndata:{}\n\n";
  for (let size = 1; size <= body.length; size++) {
    const p = new SSEParser();
    const out = [];
    for (let i = 0; i < body.length; i += size) out.push(...p.feed(body.slice(i, i + size)));
    assert.deepEqual(out, [
      { event: "patch", id: "1", data: '{"ops":[]}' },
      { event: "final", id: "2", data: "{}\n{}" },
    ]);
  }
});

test("subscribe: patches, items, reasoning and final arrive in order; JSON body is POSTed", async () => {
  const srv = await serve(async (req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    const frames = [
      sse("reasoning", 1, { delta: "Think" }),
      sse("reasoning", 2, { delta: "ing." }),
      sse("patch", 3, { ops: [{ op: "replace", path: "", value: [{ title: "A" }] }] }),
      sse("patch", 4, { ops: [{ op: "append", path: "/0/title", value: "da" }, { op: "add", path: "/0/blurb", value: "b" }] }),
      sse("item", 5, { index: 0, pointer: "/0" }),
      sse("final", 6, { ops: [] }),
    ];
    for (const f of frames) {
      res.write(f.slice(0, 5)); // frames split across network writes
      await new Promise((r) => setTimeout(r, 2));
      res.write(f.slice(5));
    }
    res.end();
  });
  const states = [];
  const log = [];
  const handle = subscribe(srv.url, {
    body: { count: 1 },
    onState: (s) => states.push(s),
    onItem: (i, v) => log.push(["item", i, v]),
    onReasoning: (text, delta) => log.push(["reasoning", text, delta]),
    onFinal: (v) => log.push(["final", v]),
    onError: (e) => log.push(["error", e]),
  });
  assert.equal(await handle.done, "final");
  assert.deepEqual(states, [[{ title: "A" }], [{ title: "Ada", blurb: "b" }]]);
  assert.deepEqual(log, [
    ["reasoning", "Think", "Think"],
    ["reasoning", "Thinking.", "ing."],
    ["item", 0, { title: "Ada", blurb: "b" }],
    ["final", [{ title: "Ada", blurb: "b" }]],
  ]);
  assert.equal(handle.reasoning(), "Thinking.");
  assert.equal(handle.lastEventId(), 6);
  const req = srv.seen.requests[0];
  assert.equal(req.method, "POST");
  assert.equal(req.headers["content-type"], "application/json");
  assert.equal(req.headers.accept, "text/event-stream");
  assert.deepEqual(JSON.parse(req.body), { count: 1 });
  await srv.close();
});

test("subscribe: text events grow text(); a restart clears reasoning and text", async () => {
  const srv = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sse("reasoning", 1, { delta: "first" }));
    res.write(sse("text", 2, { delta: "Here it is: {" }));
    res.write(sse("restart", 3, { attempt: 1, reason: "validation" }));
    res.write(sse("text", 4, { delta: "Take " }));
    res.write(sse("text", 5, { delta: "two." }));
    res.write(sse("patch", 6, { ops: [{ op: "replace", path: "", value: [] }] }));
    res.end(sse("final", 7, { ops: [] }));
  });
  const log = [];
  const handle = subscribe(srv.url, {
    onText: (text, delta) => log.push(["text", text, delta]),
    onReasoning: (text, delta) => log.push(["reasoning", text, delta]),
    onRestart: (attempt) => log.push(["restart", attempt]),
  });
  assert.equal(await handle.done, "final");
  assert.deepEqual(log, [
    ["reasoning", "first", "first"],
    ["text", "Here it is: {", "Here it is: {"],
    ["restart", 1],
    ["text", "Take ", "Take "],
    ["text", "Take two.", "two."],
  ]);
  assert.equal(handle.text(), "Take two.");
  assert.equal(handle.reasoning(), "");
  assert.deepEqual(handle.state(), []);
  await srv.close();
});

test("subscribe: a typed error event ends the stream with that error", async () => {
  const srv = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sse("patch", 1, { ops: [{ op: "replace", path: "", value: [] }] }));
    res.end(sse("error", 2, { type: "validation", message: "the model's output failed validation", errors: [] }));
  });
  const errors = [];
  const handle = subscribe(srv.url, { onError: (e) => errors.push(e) });
  assert.equal(await handle.done, "error");
  assert.deepEqual(errors, [{ type: "validation", message: "the model's output failed validation", errors: [] }]);
  await srv.close();
});

test("subscribe: a body cut before final is a network error, not a result", async () => {
  const srv = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sse("patch", 1, { ops: [{ op: "replace", path: "", value: [] }] }));
    setTimeout(() => res.socket.destroy(), 20);
  });
  const errors = [];
  const handle = subscribe(srv.url, { onError: (e) => errors.push(e.type) });
  assert.equal(await handle.done, "error");
  assert.deepEqual(errors, ["network"]);
  await srv.close();
});

test("subscribe: cancel() aborts the request (the server sees the connection close)", async () => {
  const srv = await serve((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(sse("patch", 1, { ops: [{ op: "replace", path: "", value: [] }] })); // then hold
  });
  let states = 0;
  const errors = [];
  const handle = subscribe(srv.url, { onState: () => states++, onError: (e) => errors.push(e) });
  await until(() => states === 1, "first state");
  handle.cancel();
  assert.equal(await handle.done, "cancelled");
  await until(() => srv.seen.closedEarly === 1, "the server to see the close");
  assert.deepEqual(errors, []);
  await srv.close();
});

test("subscribe: an HTTP error status reports its detail", async () => {
  const srv = await serve((req, res) => {
    res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ type: "provider", message: "could not reach the model provider" }));
  });
  const errors = [];
  const handle = subscribe(srv.url, { onError: (e) => errors.push(e) });
  assert.equal(await handle.done, "error");
  assert.deepEqual(errors, [{ type: "http", status: 502, message: "could not reach the model provider" }]);
  await srv.close();
});
