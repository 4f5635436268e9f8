// Types for the `schemastream` package (the client in src/schemastream.js).

/** A JSON value, as the server sends it. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** RFC 6902 add/replace/remove/test, plus `append` (a string or array at `path` grows by `value`). */
export type PatchOp =
  | { op: "add" | "replace" | "test"; path: string; value: JSONValue }
  | { op: "remove"; path: string }
  | { op: "append"; path: string; value: string | JSONValue[] };

/**
 * A failed stream: `type` is the server's error kind, or "network" / "http" / "client".
 * Resumable streams add "expired" (unknown or expired stream), "interrupted" (the generating
 * server stopped) and "cancelled".
 */
export interface StreamError {
  type:
    | "validation"
    | "incomplete"
    | "refusal"
    | "provider"
    | "internal"
    | "expired"
    | "interrupted"
    | "cancelled"
    | "network"
    | "http"
    | "client"
    | (string & {});
  message: string;
  errors?: { loc: (string | number)[]; msg: string; type: string }[];
  status?: number;
}

/** An SSE id: a number, or `"<stream id>:<n>"` (resumable streams). */
export type EventId = number | string;

export type Outcome = "final" | "error" | "cancelled" | "closed";

export interface SubscribeOptions<T = JSONValue> {
  method?: string;
  /** Objects are sent as JSON; strings, Blob, FormData and URLSearchParams as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  transport?: "sse" | "ws";
  signal?: AbortSignal;
  /**
   * `false`: do not replay a stream of this request left running before a reload (resumable
   * endpoints only; a dropped connection is still resumed).
   */
  resume?: boolean;
  onState?(state: Partial<T> | T | null, ops: PatchOp[]): void;
  onItem?(index: number, value: unknown, pointer: string): void;
  onFinal?(value: T): void;
  onError?(error: StreamError): void;
  onRestart?(attempt: number, data: { attempt: number; reason: string }): void;
  onReasoning?(text: string, delta: string): void;
  /** Text the model writes beside the object (`text` events): all of it so far, and the new part. */
  onText?(text: string, delta: string): void;
  /** `lastEventId`: a number, or the `"<stream id>:<n>"` string of a resumable stream. */
  onEvent?(event: string, data: unknown, lastEventId: EventId | null): void;
}

export interface Subscription<T = JSONValue> {
  /** Aborts the request (the server then closes the model call; for a resumable stream it
   * also asks the server, any replica, to stop the detached generation). */
  cancel(): void;
  done: Promise<Outcome>;
  state(): Partial<T> | T | null;
  reasoning(): string;
  /** Text the model wrote beside the object so far. */
  text(): string;
  lastEventId(): EventId | null;
}

/**
 * Subscribe to a schemastream endpoint. When the response says `x-schemastream-resumable: 1`
 * a dropped connection is resumed with `Last-Event-ID`, and a stream of the same request left
 * running before a page reload is replayed from its start; other endpoints are never retried.
 */
export function subscribe<T = JSONValue>(url: string, options?: SubscribeOptions<T>): Subscription<T>;

/** Whether a resumable stream of this request (same url, method and body) was left running
 * by this tab (before a reload); `subscribe` with the same request resumes it. */
export function pendingStream(url: string, options?: { method?: string; body?: unknown }): boolean;

/** The request of a resumable stream of `url` this tab left running (before a reload), or
 * null; `options.method` narrows it. `subscribe(url, { ...pendingRequest(url), ... })` resumes it. */
export function pendingRequest(url: string, options?: { method?: string }): { method: string; body: unknown } | null;
/** Applies ops without modifying `state`; unchanged subtrees are shared with it. */
export function applyPatch<S = JSONValue>(state: S, ops: PatchOp[]): S;
export function getPointer(doc: unknown, pointer: string): unknown;
export function parsePointer(pointer: string): string[];

export interface SSEEvent {
  event: string;
  id: string;
  data: string;
}
/** Incremental Server-Sent Events parser (WHATWG rules). */
export class SSEParser {
  constructor();
  feed(text: string): SSEEvent[];
}
