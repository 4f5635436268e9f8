// Idea cards with the Vercel AI SDK's useChat, reading ui_message_stream_response (POST /api/chat):
// the ideas are the assistant message's `data-object` part, updated in place while it streams.
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { Cards, Closable, Controls, ErrorBox } from "./cards.jsx";

const transport = new DefaultChatTransport({ api: "/api/chat" });

function Panel() {
  const [cancelled, setCancelled] = useState(false);
  const { messages, sendMessage, status, error, stop } = useChat({ transport });
  const last = [...messages].reverse().find((m) => m.role === "assistant");
  const part = last ? last.parts.find((p) => p.type === "data-object") : undefined;
  const ideas = part && Array.isArray(part.data) ? part.data : [];
  const finished = last && status === "ready" && !cancelled;
  const shown =
    status === "streaming" || status === "submitted" ? "streaming" : status === "error" ? "error" : cancelled ? "cancelled" : finished ? "done" : "idle";
  return (
    <>
      <Controls
        status={shown}
        streaming={status === "streaming" || status === "submitted"}
        onGo={({ topic, count }) => {
          setCancelled(false);
          sendMessage({ text: topic }, { body: { count } });
        }}
        onCancel={() => {
          setCancelled(true);
          stop();
        }}
      />
      <ErrorBox error={error ? { type: "error", message: error.message } : null} />
      <Cards ideas={ideas} isDone={(i) => i < ideas.length - 1 || shown === "done"} />
    </>
  );
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <Closable title="Idea cards · useChat" lead="useChat from @ai-sdk/react, unchanged: the ideas are a data part of the assistant's message.">
      <Panel />
    </Closable>
  </StrictMode>,
);
