// Idea cards with the Vercel AI SDK's useObject, reading text_stream_response (POST /api/object).
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { experimental_useObject as useObject } from "@ai-sdk/react";
import { z } from "zod";
import { Cards, Closable, Controls, ErrorBox } from "./cards.jsx";

const schema = z.array(z.object({ title: z.string(), blurb: z.string().max(140) }));

function Panel() {
  const [outcome, setOutcome] = useState("idle");
  const { object, submit, isLoading, error, stop } = useObject({
    api: "/api/object",
    schema,
    onFinish: ({ error: invalid }) => setOutcome(invalid ? "error" : "done"),
  });
  const status = isLoading ? "streaming" : error ? "error" : outcome;
  const ideas = Array.isArray(object) ? object : [];
  return (
    <>
      <Controls
        status={status}
        streaming={isLoading}
        onGo={(body) => {
          setOutcome("idle");
          submit(body);
        }}
        onCancel={() => {
          stop();
          setOutcome("cancelled");
        }}
      />
      <ErrorBox error={error ? { type: "error", message: error.message || "the stream failed" } : null} />
      <Cards ideas={ideas} isDone={(i) => i < ideas.length - 1 || status === "done"} />
    </>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Closable title="Idea cards · useObject" lead="experimental_useObject from @ai-sdk/react, unchanged, reading schemastream's text stream.">
      <Panel />
    </Closable>
  </StrictMode>,
);
