// Types for the `schemastream` package (the client in src/schemastream.js).

/** A JSON value, as the server sends it. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** RFC 6902 add/replace/remove/test, plus `append` (a string or array at `path` grows by `value`). */
export type PatchOp =
  | { op: "add" | "replace" | "test"; path: string; value: JSONValue }
  | { op: "remove"; path: string }
  | { op: "append"; path: string; value: string | JSONValue[] };

/** A failed stream: `type` is the server's error kind, or "network" / "http" / "client". */
export interface StreamError {
  type: "validation" | "incomplete" | "refusal" | "provider" | "internal" | "network" | "http" | "client" | (string & {});
  message: string;
  errors?: { loc: (string | number)[]; msg: string; type: string }[];
  status?: number;
}

export type Outcome = "final" | "error" | "cancelled" | "closed";

export interface SubscribeOptions<T = JSONValue> {
  method?: string;
  /** Objects are sent as JSON; strings, Blob, FormData and URLSearchParams as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  transport?: "sse" | "ws";
  signal?: AbortSignal;
  onState?(state: Partial<T> | T | null, ops: PatchOp[]): void;
  onItem?(index: number, value: unknown, pointer: string): void;
  onFinal?(value: T): void;
  onError?(error: StreamError): void;
  onRestart?(attempt: number, data: { attempt: number; reason: string }): void;
  onReasoning?(text: string, delta: string): void;
  onEvent?(event: string, data: unknown, lastEventId: number | null): void;
}

export interface Subscription<T = JSONValue> {
  /** Aborts the request (the server then closes the model call). */
  cancel(): void;
  done: Promise<Outcome>;
  state(): Partial<T> | T | null;
  reasoning(): string;
  lastEventId(): number | null;
}

export function subscribe<T = JSONValue>(url: string, options?: SubscribeOptions<T>): Subscription<T>;
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
