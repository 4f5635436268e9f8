// The idea cards and the form, shared by the three pages (same DOM as examples/web).
import { useState } from "react";

export function Cards({ ideas, isDone }) {
  const list = Array.isArray(ideas) ? ideas : [];
  return (
    <div id="cards">
      {list.map((idea, i) => {
        const done = isDone(i);
        const title = idea && typeof idea.title === "string" ? idea.title : "";
        const blurb = idea && typeof idea.blurb === "string" ? idea.blurb : "";
        return (
          <article key={i} className={done ? "card done" : "card"} data-index={i}>
            <span className="badge">{done ? "validated" : "writing…"}</span>
            <h2 className="title">{title}</h2>
            <p className="blurb">{blurb}</p>
          </article>
        );
      })}
    </div>
  );
}

export function Controls({ onGo, onCancel, streaming, status }) {
  const [topic, setTopic] = useState("a note-taking app");
  const [count, setCount] = useState(5);
  return (
    <form
      id="form"
      onSubmit={(e) => {
        e.preventDefault();
        onGo({ topic, count: Number(count) });
      }}
    >
      <input name="topic" value={topic} onChange={(e) => setTopic(e.target.value)} aria-label="topic" />
      <input name="count" type="number" min="1" max="50" value={count} onChange={(e) => setCount(e.target.value)} aria-label="how many" />
      <button id="go" type="submit">Generate</button>
      <button id="cancel" type="button" disabled={!streaming} onClick={onCancel}>Cancel</button>
      <span id="status">{status}</span>
    </form>
  );
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return (
    <div id="error" className="shown" role="alert" data-type={error.type || "error"}>
      {error.message}
    </div>
  );
}

/** A page whose panel can be unmounted (#close), to show that unmounting cancels. */
export function Closable({ title, lead, children }) {
  const [open, setOpen] = useState(true);
  return (
    <>
      <h1>{title}</h1>
      <p className="lead">{lead}</p>
      <button id="close" type="button" onClick={() => setOpen(false)}>Close panel</button>
      {open ? children : <p id="closed">closed</p>}
    </>
  );
}
