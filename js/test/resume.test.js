// node --test: the client's resume logic (src/schemastream.js) against a real HTTP server in this
// process that speaks the resumable wire (ids "<stream id>:<n>", x-schemastream-resumable: 1).
// sessionStorage is a small in-memory Storage, as a browser tab has one.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { pendingRequest, pendingStream, subscribe } from "../src/index.js";

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  get length() {
    return this.map.size;
  }
  key(i) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

beforeEach(() => {
  globalThis.sessionStorage = new MemoryStorage();
});

const SID = "0123456789abcdef0123456789abcdef";
const FRAMES = [
  ["patch", { ops: [{ op: "add", path: "", value: [] }] }],
  ["patch", { ops: [{ op: "add", path: "/-", value: { title: "a" } }] }],
  ["item", { index: 0, pointer: "/0" }],
  ["final", { ops: [] }],
];
const frame = (n) => `id:${SID}:${n}\nevent:${FRAMES[n - 1][0]}\ndata:${JSON.stringify(FRAMES[n - 1][1])}\n\n`;

/** A resumable endpoint: replays the frames after Last-Event-ID; `plan(i, req)` says, for the
 * i-th stream request, how many frames to send and whether to then cut or hold the connection. */
async function serve(plan, { resumable = true } = {}) {
  const seen = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ headers: req.headers, body, method: req.method });
      const headers = { "content-type": "text/event-stream" };
      if (resumable) {
        headers["x-schemastream-resumable"] = "1";
        headers["x-schemastream-stream"] = `${SID}:0`;
      }
      if (req.headers["x-schemastream-cancel"] === "1") {
        res.writeHead(204, headers);
        res.end();
        return;
      }
      const last = req.headers["last-event-id"];
      const after = last ? Number(last.split(":")[1]) : 0;
      const { upTo, then } = plan(seen.filter((s) => !s.headers["x-schemastream-cancel"]).length - 1);
      res.writeHead(200, headers);
      res.flushHeaders(); // the headers go out even when no frame follows
      for (let n = after + 1; n <= Math.min(upTo, FRAMES.length); n++) res.write(frame(n));
      if (then === "cut") setTimeout(() => res.socket.destroy(), 20);
      else if (then === "end") res.end();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}/ideas`;
  return {
    url,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

const until = async (cond, what) => {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test("resume: a dropped connection continues after Last-Event-ID, no event twice", async (t) => {
  const srv = await serve((i) => (i === 0 ? { upTo: 2, then: "cut" } : { upTo: 4, then: "end" }));
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  const events = [];
  const items = [];
  let final;
  const handle = subscribe(srv.url, {
    method: "POST",
    body: { topic: "x" },
    onEvent: (event, _data, id) => events.push([event, id]),
    onItem: (i, v) => items.push([i, v]),
    onFinal: (v) => (final = v),
  });
  assert.equal(await handle.done, "final");
  assert.deepEqual(final, [{ title: "a" }]);
  assert.deepEqual(items, [[0, { title: "a" }]]);
  assert.deepEqual(events.map(([, id]) => id), [1, 2, 3, 4].map((n) => `${SID}:${n}`));
  assert.equal(srv.seen.length, 2);
  assert.equal(srv.seen[0].headers["last-event-id"], undefined);
  assert.equal(srv.seen[1].headers["last-event-id"], `${SID}:2`);
  assert.equal(srv.seen[1].body, JSON.stringify({ topic: "x" })); // the same request again
  assert.equal(handle.lastEventId(), `${SID}:4`);
  assert.equal(sessionStorage.length, 0); // forgotten once final
});

test("resume: a connection cut before its first event resumes from the start (the id came in a header)", async (t) => {
  const srv = await serve((i) => (i === 0 ? { upTo: 0, then: "cut" } : { upTo: 4, then: "end" }));
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  let final;
  const handle = subscribe(srv.url, { method: "POST", body: { topic: "x" }, onFinal: (v) => (final = v) });
  assert.equal(await handle.done, "final");
  assert.deepEqual(final, [{ title: "a" }]);
  assert.equal(srv.seen.length, 2);
  assert.equal(srv.seen[1].headers["last-event-id"], `${SID}:0`);
});

test("resume: a plain endpoint (no x-schemastream-resumable) is never retried", async (t) => {
  const srv = await serve(() => ({ upTo: 2, then: "cut" }), { resumable: false });
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  const errors = [];
  const handle = subscribe(srv.url, { method: "POST", body: { topic: "x" }, onError: (e) => errors.push(e.type) });
  assert.equal(await handle.done, "error");
  assert.deepEqual(errors, ["network"]);
  assert.equal(srv.seen.length, 1);
  assert.equal(sessionStorage.length, 0); // nothing kept for a reload
});

test("resume: after a reload, pendingRequest gives the request back and subscribe replays from :0", async (t) => {
  const srv = await serve((i) => (i === 0 ? { upTo: 2, then: "hold" } : { upTo: 4, then: "end" }));
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  let states = 0;
  const first = subscribe(srv.url, { method: "POST", body: { topic: "x", count: 2 }, onState: () => states++ });
  await until(() => states === 2, "two states");
  assert.equal(pendingStream(srv.url, { method: "POST", body: { topic: "x", count: 2 } }), true);
  assert.equal(pendingStream(srv.url, { method: "POST", body: { topic: "y" } }), false);
  assert.deepEqual(pendingRequest(srv.url), { method: "POST", body: { topic: "x", count: 2 } });
  assert.equal(pendingRequest(srv.url, { method: "GET" }), null);
  assert.equal(pendingRequest(srv.url.replace("/ideas", "/other")), null);
  // a reload: the page (and its fetch) goes away, sessionStorage stays
  const kept = new Map(sessionStorage.map);
  first.cancel();
  assert.equal(await first.done, "cancelled");
  // cancel() of a resumable stream also asks the server to stop the detached generation
  await until(() => srv.seen.some((s) => s.headers["x-schemastream-cancel"] === "1"), "the cancel request");
  const cancelReq = srv.seen.find((s) => s.headers["x-schemastream-cancel"] === "1");
  assert.equal(cancelReq.headers["last-event-id"], `${SID}:2`);
  sessionStorage.map = kept;

  const request = pendingRequest(srv.url);
  let final;
  const ids = [];
  const second = subscribe(srv.url, { ...request, onEvent: (_e, _d, id) => ids.push(id), onFinal: (v) => (final = v) });
  assert.equal(await second.done, "final");
  const resumeReq = srv.seen[srv.seen.length - 1];
  assert.equal(resumeReq.headers["last-event-id"], `${SID}:0`); // no state after a reload: from the start
  assert.equal(resumeReq.headers["content-type"], "application/json");
  assert.equal(resumeReq.body, JSON.stringify({ topic: "x", count: 2 }));
  assert.deepEqual(ids, [1, 2, 3, 4].map((n) => `${SID}:${n}`));
  assert.deepEqual(final, [{ title: "a" }]);
  assert.equal(pendingRequest(srv.url), null); // forgotten once final
});

test("resume: resume: false starts a new stream instead of replaying the one left running", async (t) => {
  const srv = await serve(() => ({ upTo: 4, then: "end" }));
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  sessionStorage.setItem(
    `schemastream:resume:POST ${srv.url} {"topic":"x"}`,
    JSON.stringify({ id: SID, json: true }),
  );
  const handle = subscribe(srv.url, { method: "POST", body: { topic: "x" }, resume: false });
  assert.equal(await handle.done, "final");
  assert.equal(srv.seen[0].headers["last-event-id"], undefined);
});

test("resume: a server that keeps failing ends in a network error after a few tries", async (t) => {
  const srv = await serve(() => ({ upTo: 1, then: "cut" }));
  t.after(srv.close); // also when an assertion fails (an open server keeps node --test waiting)
  const errors = [];
  const handle = subscribe(srv.url, { onError: (e) => errors.push(e.type) });
  assert.equal(await handle.done, "error");
  assert.deepEqual(errors, ["network"]);
  assert.equal(srv.seen.length, 5); // RESUME_TRIES
  assert.deepEqual(srv.seen.slice(1).map((s) => s.headers["last-event-id"]), [1, 1, 1, 1].map((n) => `${SID}:${n}`));
});
