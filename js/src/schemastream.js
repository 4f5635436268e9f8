// schemastream.js -- browser client for schemastream's SSE / WebSocket endpoints.
// Dependency-free ES module: the core of the `schemastream` npm package (js/), and, built by
// js/build.mjs into src/schemastream/web/static/schemastream.js, what
// `schemastream.web.static_route()` serves. Edit this file, then `node js/build.mjs`.
//
//   import { subscribe } from "/schemastream.js";
//   const handle = subscribe("/ideas", {
//     method: "POST", body: { topic: "snacks" },          // objects are sent as JSON
//     transport: "sse",                                    // or "ws"
//     onState(state, ops) {}, onItem(index, value, pointer) {}, onFinal(value) {},
//     onError({ type, message, errors }) {}, onRestart(attempt) {},
//     onReasoning(text, delta) {},                         // `reasoning` events, if any
//     onText(text, delta) {},                              // `text` events, if any
//   });
//   (over "ws" the body is sent as the socket's first message; the endpoint reads it with
//   `await websocket.receive_json()` before calling `websocket_stream`)
//   handle.cancel();          // aborts the fetch / sends {"type":"cancel"} over the socket
//   await handle.done;        // resolves with "final" | "error" | "cancelled" | "closed"
//
// Events (see schemastream.web.encoder): patch {ops}, item {index, pointer}, final {ops},
// error {type, message, errors?}, restart {attempt}, reasoning {delta} (the model's reasoning
// text grows by `delta`; {text} replaces it), text {delta} (the same for text the model
// writes beside the object). Ops are RFC 6902 add/replace/remove
// (+test) plus {"op": "append", path, value}: the string at `path` grows by `value` (or the
// array at `path` grows by the elements of `value`).
// Resuming: only when the response says `x-schemastream-resumable: 1` (sse_response(...,
// resumable=True)) does the client reconnect by itself: after a dropped connection it repeats
// the request with `Last-Event-ID` (a few tries, backing off), and after a page reload
// `pendingStream(url, options)` tells the page a stream of this request was running (and
// `pendingRequest(url)` which request it was): calling `subscribe` with the same request
// replays it from the start (`Last-Event-ID: <id>:0`; the stream id is kept in sessionStorage
// until final/error). cancel() then also asks the server to stop the generation. Other
// endpoints are never retried: a model call must not silently run twice.

/** Unescape one RFC 6901 token. */
function unescapeToken(t) {
  return t.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Parse a JSON Pointer into tokens ("" -> []). */
export function parsePointer(pointer) {
  if (pointer === "") return [];
  if (pointer[0] !== "/") throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split("/").map(unescapeToken);
}

/** The value at `pointer` in `doc` (undefined if missing). */
export function getPointer(doc, pointer) {
  let node = doc;
  for (const t of parsePointer(pointer)) {
    if (node === null || typeof node !== "object") return undefined;
    node = Array.isArray(node) ? node[Number(t)] : Object.prototype.hasOwnProperty.call(node, t) ? node[t] : undefined;
  }
  return node;
}

function listIndex(token, length, allowEnd, path) {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`invalid array index in ${path}`);
  const i = Number(token);
  if (i > (allowEnd ? length : length - 1)) throw new Error(`array index out of range in ${path}`);
  return i;
}

function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
}

function setIn(node, tokens, depth, op, path) {
  const kind = op.op;
  if (depth === tokens.length) {
    if (kind === "remove") return null;
    if (kind === "append") {
      if (typeof node === "string" && typeof op.value === "string") return node + op.value;
      if (Array.isArray(node) && Array.isArray(op.value)) return node.concat(op.value);
      throw new Error(`append needs a string or array at ${path}`);
    }
    return op.value;
  }
  const token = tokens[depth];
  const last = depth === tokens.length - 1;
  if (Array.isArray(node)) {
    const copy = node.slice();
    if (last && kind === "add") {
      copy.splice(listIndex(token, node.length, true, path), 0, op.value);
      return copy;
    }
    const i = listIndex(token, node.length, false, path);
    if (last && kind === "remove") copy.splice(i, 1);
    else copy[i] = setIn(node[i], tokens, depth + 1, op, path);
    return copy;
  }
  if (node !== null && typeof node === "object") {
    const has = Object.prototype.hasOwnProperty.call(node, token);
    const copy = Object.assign({}, node);
    if (!last) {
      if (!has) throw new Error(`no member ${token} at ${path}`);
      copy[token] = setIn(node[token], tokens, depth + 1, op, path);
    } else if (kind === "remove") {
      if (!has) throw new Error(`cannot remove missing ${path}`);
      delete copy[token];
    } else if (kind === "add") {
      copy[token] = op.value;
    } else {
      if (!has) throw new Error(`cannot ${kind} missing ${path}`);
      copy[token] = setIn(node[token], tokens, depth + 1, op, path);
    }
    return copy;
  }
  throw new Error(`cannot descend into ${typeof node} at ${path}`);
}

/**
 * Apply ops to `state` and return the new state. `state` is not modified; unchanged
 * subtrees are shared with it (so `prev.items[0] === next.items[0]` when item 0 did not change).
 */
export function applyPatch(state, ops) {
  for (const op of ops) {
    if (op.op === "test") {
      if (!jsonEqual(getPointer(state, op.path), op.value)) throw new Error(`test failed at ${op.path}`);
      continue;
    }
    if (!["add", "replace", "remove", "append"].includes(op.op)) throw new Error(`unsupported op ${op.op}`);
    state = setIn(state, parsePointer(op.path), 0, op, op.path);
  }
  return state;
}

/**
 * Incremental SSE parser (WHATWG rules: CR, LF or CRLF line ends; `:` comments; a single
 * space after the colon is dropped; multi-line data joined with "\n"; dispatch on blank line).
 * feed(text) returns the complete events [{event, id, data}] found so far.
 */
export class SSEParser {
  constructor() {
    this.buffer = "";
    this.skipLF = false;
    this.reset();
    this.lastEventId = "";
  }
  reset() {
    this.event = "";
    this.data = [];
    this.hasData = false;
  }
  feed(text) {
    if (this.skipLF && text[0] === "\n") text = text.slice(1);
    this.skipLF = false;
    this.buffer += text;
    const out = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      // A CR that ends the chunk may be the first half of a CRLF split across chunks.
      if (m[0] === "\r" && this.buffer === "") this.skipLF = true;
      this.line(line, out);
    }
    return out;
  }
  line(line, out) {
    if (line === "") {
      if (this.hasData) {
        out.push({ event: this.event || "message", id: this.lastEventId, data: this.data.join("\n") });
      }
      this.reset();
      return;
    }
    if (line[0] === ":") return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    } else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
  }
}

function toWebSocketURL(url) {
  const u = new URL(url, globalThis.location ? globalThis.location.href : undefined);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}

// -- resumable streams (self-contained: the key, sessionStorage and the retry policy) ------
const RESUME_PREFIX = "schemastream:resume:";
const RESUME_TRIES = 5;

function absoluteURL(url) {
  return new URL(url, globalThis.location ? globalThis.location.href : undefined).toString();
}

// "<prefix><method> <absolute url> <body>": the URL has no spaces, the body is the rest
function resumeKey(url, method, encodedBody) {
  const body = typeof encodedBody === "string" ? encodedBody : "";
  return RESUME_PREFIX + method + " " + absoluteURL(url) + " " + body;
}

function storage() {
  try {
    return globalThis.sessionStorage || null;
  } catch {
    return null; // storage disabled (privacy settings): resume after reload is off
  }
}

// the stored value: {"id": <stream id>, "json": <the body was an object sent as JSON>}
function readSaved(store, key) {
  const raw = store ? store.getItem(key) : null;
  if (!raw) return null;
  try {
    const v = JSON.parse(raw);
    return v && typeof v.id === "string" ? v : null;
  } catch {
    return null;
  }
}

function encodeBody(body) {
  return body === undefined || body === null ? undefined : typeof body === "string" || body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams ? body : JSON.stringify(body);
}

function methodOf(method, encodedBody) {
  return method || (encodedBody !== undefined ? "POST" : "GET");
}

/** Whether a resumable stream of this request (same url, method, body) was left running. */
export function pendingStream(url, options = {}) {
  const enc = encodeBody(options.body);
  return readSaved(storage(), resumeKey(url, methodOf(options.method, enc), enc)) !== null;
}

/**
 * The request ({method, body}) of a resumable stream of `url` this tab left running (a
 * reload), or null; `options.method` narrows it. `subscribe(url, pendingRequest(url))` resumes it.
 */
export function pendingRequest(url, options = {}) {
  const store = storage();
  if (!store) return null;
  const target = absoluteURL(url);
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (!key || !key.startsWith(RESUME_PREFIX)) continue;
    const rest = key.slice(RESUME_PREFIX.length);
    const a = rest.indexOf(" ");
    const b = rest.indexOf(" ", a + 1);
    if (a < 0 || b < 0) continue;
    const method = rest.slice(0, a);
    if (rest.slice(a + 1, b) !== target || (options.method && options.method !== method)) continue;
    const saved = readSaved(store, key);
    if (!saved) continue;
    const text = rest.slice(b + 1);
    let body = text === "" ? undefined : text;
    if (saved.json && body !== undefined) {
      try {
        body = JSON.parse(body);
      } catch {}
    }
    return { method, body };
  }
  return null;
}

/**
 * Subscribe to a schemastream endpoint. Returns {cancel(), done, state(), reasoning(), text(), lastEventId()}.
 */
export function subscribe(url, options = {}) {
  const {
    method,
    body,
    headers = {},
    transport = "sse",
    onState = () => {},
    onItem = () => {},
    onFinal = () => {},
    onError = () => {},
    onRestart = () => {},
    onReasoning = () => {},
    onText = () => {},
    onEvent = () => {},
    signal,
  } = options;
  let state = null;
  let reasoning = "";
  let text = "";
  let lastId = null;
  let finished = false;
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const finish = (how) => {
    if (!finished) {
      finished = true;
      resolveDone(how);
    }
  };

  const dispatch = (event, id, data) => {
    if (finished) return;
    if (id !== undefined && id !== null && id !== "") lastId = /^[0-9]+$/.test(String(id)) ? Number(id) : String(id);
    onEvent(event, data, lastId);
    try {
      if (event === "patch") {
        state = applyPatch(state, data.ops);
        onState(state, data.ops);
      } else if (event === "item") {
        onItem(data.index, getPointer(state, data.pointer), data.pointer);
      } else if (event === "final") {
        state = applyPatch(state, data.ops);
        if (data.ops.length) onState(state, data.ops);
        finish("final");
        onFinal(state);
      } else if (event === "error") {
        finish("error");
        onError(data);
      } else if (event === "reasoning") {
        const delta = typeof data.delta === "string" ? data.delta : null;
        reasoning = delta !== null ? reasoning + delta : typeof data.text === "string" ? data.text : reasoning;
        onReasoning(reasoning, delta !== null ? delta : reasoning);
      } else if (event === "text") {
        const delta = typeof data.delta === "string" ? data.delta : null;
        text = delta !== null ? text + delta : typeof data.text === "string" ? data.text : text;
        onText(text, delta !== null ? delta : text);
      } else if (event === "restart") {
        state = null;
        reasoning = "";
        text = "";
        onRestart(data.attempt, data);
        onState(state, []);
      }
    } catch (err) {
      finish("error");
      onError({ type: "client", message: String(err && err.message ? err.message : err) });
    }
  };

  const encodedBody = encodeBody(body);

  if (transport === "ws") {
    const ws = new WebSocket(toWebSocketURL(url));
    let cancelled = false;
    ws.onopen = () => {
      if (cancelled) {
        ws.close(1000);
        return;
      }
      if (encodedBody !== undefined) ws.send(encodedBody);
    };
    ws.onmessage = (msg) => {
      let parsed;
      try {
        parsed = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (parsed.event === "ping") return;
      dispatch(parsed.event, parsed.id, parsed.data);
    };
    ws.onerror = () => {
      if (!finished && !cancelled) {
        finish("error");
        onError({ type: "network", message: "the connection failed" });
      }
    };
    ws.onclose = () => {
      if (!finished && !cancelled) {
        finish("error");
        onError({ type: "network", message: "the connection closed before the result was complete" });
      }
      finish(cancelled ? "cancelled" : "closed");
    };
    const cancel = () => {
      if (finished) return;
      cancelled = true;
      finish("cancelled");
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ type: "cancel" }));
        ws.close(1000);
      } else if (ws.readyState === WebSocket.CONNECTING) {
        // onopen closes it
      }
    };
    if (signal) signal.addEventListener("abort", cancel);
    return { cancel, done, state: () => state, reasoning: () => reasoning, text: () => text, lastEventId: () => lastId };
  }

  const controller = new AbortController();
  let cancelled = false;
  if (signal) signal.addEventListener("abort", () => controller.abort());
  const hdrs = Object.assign({ accept: "text/event-stream" }, headers);
  if (encodedBody !== undefined && typeof encodedBody === "string" && typeof body !== "string" && !Object.keys(hdrs).some((k) => k.toLowerCase() === "content-type")) {
    hdrs["content-type"] = "application/json";
  }
  const httpMethod = methodOf(method, encodedBody);
  const store = storage();
  const key = resumeKey(url, httpMethod, encodedBody);
  const sentAsJSON = typeof encodedBody === "string" && typeof body !== "string";
  let resumable = false;
  let savedSid = null;
  let streamStart = null; // "<stream id>:0" from the response header, before any event
  const remember = (sid) => {
    if (resumable && store && !finished && sid !== savedSid) {
      savedSid = sid;
      store.setItem(key, JSON.stringify({ id: sid, json: sentAsJSON }));
    }
  };
  let leaving = false; // the page is being unloaded (a reload): keep the stream id
  if (globalThis.addEventListener) globalThis.addEventListener("pagehide", () => (leaving = true));
  done.then(() => {
    if (store && !leaving) store.removeItem(key);
  });
  const savedEntry = options.resume === false ? null : readSaved(store, key);
  const saved = savedEntry ? savedEntry.id : null;
  const attempt = async (lastEventId) => {
    const h = Object.assign({}, hdrs);
    if (lastEventId !== null) h["last-event-id"] = String(lastEventId);
    const response = await fetch(url, { method: httpMethod, headers: h, body: encodedBody, signal: controller.signal, cache: "no-store" });
    if (!response.ok || !response.body) return { response };
    resumable = response.headers.get("x-schemastream-resumable") === "1";
    const named = resumable ? response.headers.get("x-schemastream-stream") : null;
    if (named && /^[0-9a-f]+:0$/.test(named)) {
      streamStart = named;
      remember(named.split(":")[0]);
    }
    const parser = new SSEParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done: eof } = await reader.read();
        if (eof) break;
        for (const ev of parser.feed(value)) {
          let data;
          try {
            data = JSON.parse(ev.data);
          } catch {
            continue;
          }
          dispatch(ev.event, ev.id, data);
          if (typeof lastId === "string") remember(lastId.split(":")[0]);
        }
      }
    } catch (err) {
      return { response, interrupted: true };
    } finally {
      try {
        reader.releaseLock();
      } catch {}
    }
    return { response, dropped: !finished };
  };
  (async () => {
    // after a reload the state is gone: replay the stored stream from its start
    let from = saved ? saved + ":0" : null;
    for (let tries = 0; ; tries++) {
      let result;
      try {
        result = await attempt(from);
      } catch (err) {
        result = { failed: true };
      }
      if (finished || cancelled) break;
      const { response } = result;
      if (response && (!response.ok || !response.body)) {
        let message = `the server answered HTTP ${response.status}`;
        try {
          const text = await response.text();
          const parsed = JSON.parse(text);
          if (parsed && typeof parsed.detail === "string") message = parsed.detail;
          else if (parsed && typeof parsed.message === "string") message = parsed.message;
        } catch {}
        if (finished) return; // cancelled meanwhile
        finish("error");
        onError({ type: "http", status: response.status, message });
        return;
      }
      // after the last event received; cut off before any: from the start
      const next = typeof lastId === "string" ? lastId : streamStart !== null ? streamStart : from;
      if (!(resumable || from !== null) || next === null || tries + 1 >= RESUME_TRIES) {
        finish("error");
        if (result.failed) onError({ type: "network", message: "could not reach the server" });
        else if (result.interrupted) onError({ type: "network", message: "the connection was interrupted" });
        else onError({ type: "network", message: "the stream ended before the result was complete" });
        return;
      }
      from = next; // a dropped connection: continue after the last event received
      await new Promise((r) => setTimeout(r, 250 * 2 ** tries));
    }
    if (!finished) finish("cancelled");
  })();
  const cancel = () => {
    if (finished) return;
    cancelled = true;
    finish("cancelled");
    const known = typeof lastId === "string" ? lastId : streamStart !== null ? streamStart : saved ? saved + ":0" : null;
    if ((resumable || saved) && known !== null) {
      // the generation outlives this connection: ask the server (any replica) to stop it
      const h = Object.assign({}, hdrs, { "last-event-id": known, "x-schemastream-cancel": "1" });
      fetch(url, { method: httpMethod, headers: h, body: encodedBody, keepalive: true, cache: "no-store" }).catch(() => {});
    }
    controller.abort();
  };
  return { cancel, done, state: () => state, reasoning: () => reasoning, text: () => text, lastEventId: () => lastId };
}
