// Types for `schemastream/react`.
import type { JSONValue, StreamError, SubscribeOptions } from "./index.js";

export type StreamStatus = "idle" | "streaming" | "done" | "error" | "cancelled";

export interface UseSchemaStreamOptions<T = JSONValue> extends SubscribeOptions<T> {
  /** Start when the component mounts (once, also under StrictMode). */
  auto?: boolean;
  /**
   * On mount, resume a resumable stream of this url (and `method`, if given) that this tab
   * left running before a reload, with the request it was started with (default `true`).
   */
  resume?: boolean;
  /** Overrides the hook's url for one start(). */
  url?: string;
}

export interface SchemaStream<T = JSONValue> {
  /** The partial value so far (the validated value once status is "done"). */
  state: Partial<T> | T | null;
  /** Completed, validated list elements by index (for list roots). */
  items: unknown[];
  /** The validated final value, once it arrived. */
  final: T | undefined;
  error: StreamError | null;
  status: StreamStatus;
  /** The model's reasoning text so far ("" when the server sends none). */
  reasoning: string;
  /** Text the model wrote beside the object so far ("" when the server sends none). */
  text: string;
  /** Retries so far (a restart resets state and items). */
  attempt: number;
  /** Starts (or restarts) the request; `overrides` are merged over the hook's options. */
  start(overrides?: UseSchemaStreamOptions<T>): void;
  /** Aborts the request: the server closes the model call. */
  cancel(): void;
}

export function useSchemaStream<T = JSONValue>(url: string, options?: UseSchemaStreamOptions<T>): SchemaStream<T>;
