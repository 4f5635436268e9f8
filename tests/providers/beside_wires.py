"""Issue 18's scripted answers in each provider's own wire format: reasoning, prose beside the
object, one object or several tool calls, usage.

One :class:`Answer` says what the model "writes"; :func:`script` turns it into a replay
:class:`Script` that builds its frames when the request arrives, in the format that request
asks for (OpenAI chat or Responses, Anthropic Messages, Gemini ``streamGenerateContent``;
a text answer or tool calls, by mode). Used by the capability-claims test and by the
cross-provider suite beside the object.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemastream as ss
from schemastream import Mode
from tests.replay import anthropic_server as A
from tests.replay import gemini_server as G
from tests.replay import openai_server as O
from tests.replay.base import ReplayServer, Script, Tokens

#: modes whose answer is text (the object is the message); the others answer with tool calls
TEXT_MODES = frozenset({Mode.JSON_SCHEMA, Mode.JSON, Mode.MD_JSON, Mode.RESPONSES_JSON_SCHEMA})


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


def split(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


@dataclass
class Answer:
    """What the model writes: ``objects`` is ``[(tool name, document)]``, one for an object
    mode, several for ``PARALLEL_TOOLS``; ``reasoning`` (one part) and ``prose`` (text before
    the object; in ``JSON`` and ``MD_JSON`` the text before the JSON) are left out when empty. ``n``:
    characters per streamed piece. ``interleave``: the reasoning's pieces alternate with the
    object's where the wire format allows it (OpenAI chat, Gemini frames)."""

    objects: list[tuple[str, Any]]
    reasoning: str = ""
    prose: str = ""
    usage: Tokens = field(default_factory=lambda: Tokens(40, 60))
    n: int = 6
    interleave: bool = True


def _body(answer: Answer, mode: Mode) -> str:
    ((_, doc),) = answer.objects
    if mode == Mode.MD_JSON:
        return O.md_json(doc, prose=answer.prose)
    if mode == Mode.JSON and answer.prose:  # a chat model may answer in prose, then the JSON
        return f"{answer.prose}\n{dumps(doc)}"
    return dumps(doc)


def openai_chunks(answer: Answer, mode: Mode, request: Any) -> list[bytes]:
    n = answer.n
    if isinstance(request, dict) and "input" in request:  # the Responses API
        items = [O.reasoning_item([answer.reasoning])] if answer.reasoning else []
        if mode in TEXT_MODES:
            items.append(O.message_item(_body(answer, mode)))
        else:
            if answer.prose:
                items.append(O.message_item(answer.prose, item_id="msg_prose"))
            items += [
                O.function_call_item(doc, name, call_id=f"call_{i}", item_id=f"fc_{i}")
                for i, (name, doc) in enumerate(answer.objects)
            ]
        return O.responses_frames(items, n, usage=answer.usage, interleaved=True)
    reasoning = O.chat_reasoning_deltas(answer.reasoning, n) if answer.reasoning else []
    if mode in TEXT_MODES:
        content = O.chat_content_deltas(_body(answer, mode), n)
    else:
        content = O.chat_content_deltas(answer.prose, n) if answer.prose else []
        content += O.chat_tool_call_deltas(
            [(name, doc, f"call_{i}") for i, (name, doc) in enumerate(answer.objects)], n
        )
    deltas = O.interleave(reasoning, content) if answer.interleave else reasoning + content
    return O.chat_frames(deltas, usage=answer.usage, include_usage=O.requested_usage(request))


def anthropic_chunks(answer: Answer, mode: Mode, request: Any) -> list[bytes]:
    # content blocks never interleave in Anthropic's format: thinking, text, then tool uses
    n = answer.n
    blocks = [A.thinking_block(split(answer.reasoning, n))] if answer.reasoning else []
    if mode in TEXT_MODES:
        blocks.append(A.text_block(split(_body(answer, mode), n)))
    else:
        if answer.prose:
            blocks.append(A.text_block(split(answer.prose, n)))
        blocks += [
            A.tool_use_block(split(dumps(doc), n), name, f"toolu_{i}")
            for i, (name, doc) in enumerate(answer.objects)
        ]
    return A.message_chunks(blocks, usage=answer.usage)


def genai_chunks(answer: Answer, mode: Mode, request: Any) -> list[bytes]:
    # one thought part (several parts would join with a blank line); function calls whole
    thought = [[G.thought_part(answer.reasoning)]] if answer.reasoning else []
    if mode in TEXT_MODES:
        text = [[G.text_part(piece)] for piece in split(_body(answer, mode), answer.n)]
        if answer.interleave and thought and len(text) > 1:
            half = len(text) // 2  # the thought between the object's pieces
            frames = [*text[:half], *thought, *text[half:]]
        else:
            frames = thought + text
    else:
        frames = thought + ([[G.text_part(answer.prose)]] if answer.prose else [])
        frames += [[G.call_part(name, doc)] for name, doc in answer.objects]
    return G.stream_chunks(frames, usage=answer.usage)


CHUNKS: dict[str, Callable[[Answer, Mode, Any], list[bytes]]] = {
    "openai": openai_chunks,
    "anthropic": anthropic_chunks,
    "genai": genai_chunks,
}


def script(
    provider: str, answer: Answer, mode: Mode, *, hold_last: int = 0
) -> tuple[Script, threading.Event]:
    """A script that sends ``answer`` as ``provider`` (the provider's ``name``) does in
    ``mode``; ``hold_last=k`` holds the last ``k`` chunks behind a gate (the returned Event)
    that only the test opens: a client that stops reading ends the response by hanging up."""
    gate = threading.Event()
    build = CHUNKS[provider]

    def frames(request: Any) -> list[bytes]:
        chunks = build(answer, mode, request)
        if hold_last:
            holder.gates[len(chunks) - hold_last] = gate
        return chunks

    holder = Script(build=frames)
    return holder, gate


def ss_client(provider: str, server: ReplayServer, use_async: bool, mode: Mode, **kw: Any) -> Any:
    """A schemastream client over the provider's real SDK client (sync or async) pointed at
    ``server``, in ``mode``; ``kw`` go to ``from_openai`` (``fast=False``: the SDK-object
    path)."""
    if provider == "openai":
        import openai

        cls = openai.AsyncOpenAI if use_async else openai.OpenAI
        sdk = cls(base_url=server.url + "/v1", api_key="test", max_retries=0)
        return ss.from_openai(sdk, mode=mode, **kw)
    if provider == "anthropic":
        return ss.from_anthropic(A.make_client(server, use_async=use_async), mode=mode)
    assert provider == "genai", provider
    return ss.from_genai(G.make_client(server), mode=mode, use_async=use_async)
