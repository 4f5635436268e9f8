// A UI message stream client for the example app: the AI SDK's own DefaultChatTransport and
// readUIMessageStream, the path useChat takes (without React).
//
//   node ui-message-reader.mjs http://127.0.0.1:8000/api/chat '{"count": 2}'
//
// Prints one JSON line: {"parts": [...]} with the assistant message's parts as the SDK built
// them (reasoning, text and data parts), or {"error": "..."} when the SDK rejected the stream.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [api, body = "{}"] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
try {
  const transport = new DefaultChatTransport({ api, body: JSON.parse(body) });
  const chunks = await transport.sendMessages({
    trigger: "submit-message",
    chatId: "chat-from-node",
    messageId: undefined,
    messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "notes" }] }],
    abortSignal: undefined,
  });
  let message = null;
  for await (const m of readUIMessageStream({ stream: chunks, terminateOnError: true })) message = m;
  print({ parts: message ? message.parts : [] });
} catch (err) {
  print({ error: String(err && err.message ? err.message : err) });
}
