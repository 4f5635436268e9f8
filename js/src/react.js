// schemastream/react -- `useSchemaStream(url, options)`: a schemastream endpoint as React state.
//
//   const s = useSchemaStream("/api/ideas", { method: "POST" });
//   s.start({ body: { count: 5 } });      // options given here override the hook's
//   s.state / s.items / s.final / s.error / s.status / s.reasoning / s.text; s.cancel()
//
// Re-renders are batched: however many events arrive, the component renders at most once per
// animation frame. Unmounting cancels the request (which closes the model call on the server).
// `auto: true` starts on mount; the start is deferred by a microtask so that StrictMode's
// mount -> unmount -> mount in development opens one request, not two.
// Resumable endpoints (`x-schemastream-resumable: 1`): a dropped connection is resumed by the
// client underneath, and after a page reload the hook finds the stream this tab left running
// (same url, and `method` if given) and resumes it on mount, with the request it was started
// with, replayed from its start (`resume: false` turns that off).
import { useCallback, useEffect, useRef, useState } from "react";
import { pendingRequest, subscribe } from "./schemastream.js";

const IDLE = Object.freeze({
  state: null,
  items: [],
  final: undefined,
  error: null,
  status: "idle",
  reasoning: "",
  text: "",
  attempt: 0,
});

const raf = (fn) =>
  typeof requestAnimationFrame === "function" ? requestAnimationFrame(fn) : setTimeout(fn, 16);
const caf = (id) =>
  typeof cancelAnimationFrame === "function" ? cancelAnimationFrame(id) : clearTimeout(id);

export function useSchemaStream(url, options = {}) {
  const [snapshot, setSnapshot] = useState(IDLE);
  const live = useRef({ ...IDLE }); // the newest values, ahead of the rendered snapshot
  const run = useRef(null); // { handle, token } of the current subscription
  const frame = useRef(null);
  const mounted = useRef(false);
  const props = useRef({ url, options });
  props.current = { url, options };

  const flush = useCallback(() => {
    frame.current = null;
    if (mounted.current) setSnapshot({ ...live.current });
  }, []);

  const schedule = useCallback(() => {
    if (frame.current === null && mounted.current) frame.current = raf(flush);
  }, [flush]);

  const stopCurrent = useCallback(() => {
    const current = run.current;
    run.current = null;
    if (current) current.handle.cancel();
    return current !== null;
  }, []);

  const start = useCallback(
    (overrides = {}) => {
      stopCurrent();
      const token = {};
      const opts = { ...props.current.options, ...overrides };
      const ours = () => run.current !== null && run.current.token === token;
      const update = (patch) => {
        if (!ours()) return false;
        Object.assign(live.current, patch);
        schedule();
        return true;
      };
      live.current = { ...IDLE, status: "streaming" };
      schedule();
      const handle = subscribe(opts.url || props.current.url, {
        ...opts,
        onState(state, ops) {
          update({ state });
          if (opts.onState) opts.onState(state, ops);
        },
        onItem(index, value, pointer) {
          if (!ours()) return;
          const items = live.current.items.slice();
          items[index] = value;
          update({ items });
          if (opts.onItem) opts.onItem(index, value, pointer);
        },
        onFinal(value) {
          if (update({ state: value, final: value, status: "done" }) && opts.onFinal) opts.onFinal(value);
        },
        onError(error) {
          if (update({ error, status: "error" }) && opts.onError) opts.onError(error);
        },
        onRestart(attempt, data) {
          update({ state: null, items: [], reasoning: "", text: "", attempt });
          if (opts.onRestart) opts.onRestart(attempt, data);
        },
        onReasoning(text, delta) {
          update({ reasoning: text });
          if (opts.onReasoning) opts.onReasoning(text, delta);
        },
        onText(text, delta) {
          update({ text });
          if (opts.onText) opts.onText(text, delta);
        },
      });
      run.current = { handle, token };
      handle.done.then(() => {
        if (ours()) run.current = null;
      });
    },
    [schedule, stopCurrent],
  );

  const cancel = useCallback(() => {
    if (stopCurrent()) {
      live.current = { ...live.current, status: "cancelled" };
      schedule();
    }
  }, [schedule, stopCurrent]);

  useEffect(() => {
    mounted.current = true;
    const { url: hookUrl, options: opts } = props.current;
    const left = opts.resume === false ? null : pendingRequest(hookUrl, { method: opts.method });
    let pending = Boolean(opts.auto) || left !== null;
    if (pending) {
      Promise.resolve().then(() => {
        if (pending) start(left || {});
      });
    }
    return () => {
      pending = false;
      mounted.current = false;
      stopCurrent(); // aborts the fetch: the server closes the model call
      if (frame.current !== null) caf(frame.current);
      frame.current = null;
    };
  }, [start, stopCurrent]);

  return { ...snapshot, start, cancel };
}
