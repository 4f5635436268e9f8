import { applyPatch, subscribe, type StreamError } from "../../types/index.js";
import { useSchemaStream, type SchemaStream } from "../../types/react.js";

interface Idea { title: string; blurb: string }

const sub = subscribe<Idea[]>("/api/ideas", {
  method: "POST",
  body: { count: 3 },
  onState(state) { void state; },
  onFinal(value: Idea[]) { void value[0].title; },
  onError(e: StreamError) { void e.message; },
  onReasoning(text: string) { void text; },
});
sub.cancel();
void sub.done.then((how) => how === "final");
const next: unknown = applyPatch<unknown>(null, [{ op: "append", path: "/0/title", value: "x" }]);
void next;

function Cards(): string {
  const s: SchemaStream<Idea[]> = useSchemaStream<Idea[]>("/api/ideas", { method: "POST", auto: true });
  s.start({ body: { count: 5 } });
  if (s.status === "error" && s.error) return s.error.message;
  return (s.final ?? []).map((i) => i.title).join() + s.reasoning;
}
void Cards;

import { pendingRequest, pendingStream, type EventId } from "../../types/index.js";
if (pendingStream("/api/ideas", { method: "POST", body: { count: 3 } })) {
  const req = pendingRequest("/api/ideas", { method: "POST" });
  if (req) subscribe<Idea[]>("/api/ideas", { ...req, resume: true, onEvent(_e, _d, id: EventId | null) { void id; } });
}
const id: EventId | null = sub.lastEventId();
void id;

function Resumable(): string {
  const s = useSchemaStream<Idea[]>("/api/ideas/resumable", { method: "POST", resume: false });
  return s.status;
}
void Resumable;
