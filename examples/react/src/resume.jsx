// Idea cards that survive a reload: useSchemaStream over a resumable SSE endpoint
// (POST /api/ideas/resumable, sse_response(..., resumable=True)). The hook resumes by itself:
// a dropped connection continues after Last-Event-ID, and after a page reload the hook finds
// the stream this tab left running and replays it (no second model call).
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { useSchemaStream } from "schemastream/react";
import { Cards, Closable, Controls, ErrorBox } from "./cards.jsx";

// every SSE id the hook's client received on this page load (the tests read it)
window.schemastreamIds = [];

function Panel() {
  const s = useSchemaStream("/api/ideas/resumable", {
    method: "POST",
    onEvent: (_event, _data, id) => window.schemastreamIds.push(id),
  });
  return (
    <>
      <Controls status={s.status} streaming={s.status === "streaming"} onGo={(body) => s.start({ body })} onCancel={s.cancel} />
      <ErrorBox error={s.error} />
      <Cards ideas={s.state} isDone={(i) => s.items[i] !== undefined || s.status === "done"} />
    </>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Closable title="Idea cards (resumable)" lead="Reload the page mid-stream: the hook picks the stream up again where the server kept it.">
      <Panel />
    </Closable>
  </StrictMode>,
);
