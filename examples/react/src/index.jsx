// Idea cards with schemastream/react: useSchemaStream over SSE (POST /api/ideas).
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { useSchemaStream } from "schemastream/react";
import { Cards, Closable, Controls, ErrorBox } from "./cards.jsx";

// `/?count=3` starts on mount (`auto`): StrictMode mounts twice in development, and the
// hook still opens one request.
const query = new URLSearchParams(location.search);
const auto = query.has("count") ? { auto: true, body: { count: Number(query.get("count")) } } : {};

function Panel() {
  const s = useSchemaStream("/api/ideas", { method: "POST", ...auto });
  return (
    <>
      <Controls status={s.status} streaming={s.status === "streaming"} onGo={(body) => s.start({ body })} onCancel={s.cancel} />
      <ErrorBox error={s.error} />
      {s.reasoning ? <pre id="reasoning">{s.reasoning}</pre> : null}
      <Cards ideas={s.state} isDone={(i) => s.items[i] !== undefined || s.status === "done"} />
    </>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Closable title="Idea cards" lead="useSchemaStream from schemastream/react: each card grows while the model writes and turns green once validated.">
      <Panel />
    </Closable>
  </StrictMode>,
);
