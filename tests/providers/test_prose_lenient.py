"""Prose around the JSON in the lenient modes (Anthropic JSON / MD_JSON, Gemini MD_JSON) is
``TextEvent`` text, never the object and never lost: the real SDKs over HTTP, sync and async."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

import schemastream as ss
from tests.replay import anthropic_server as A
from tests.replay import gemini_server as G
from tests.replay.base import ReplayServer

DOC = {"title": "Solar kettle", "score": 7}
BEFORE = 'Sure {here it is}: "quoted" [1]\n'
AFTER = "\nHope that helps {or not}."
ANSWER = BEFORE + "```json\n" + json.dumps(DOC) + "\n```" + AFTER


class Idea(BaseModel):
    title: str
    score: int


def pieces(text: str, n: int = 5) -> list[str]:
    return [text[i : i + n] for i in range(0, len(text), n)]


def client(provider: str, mode: str, server: ReplayServer, use_async: bool) -> Any:
    if provider == "anthropic":
        server.add(A.message_script([A.text_block(pieces(ANSWER))]))
        return ss.from_anthropic(A.make_client(server, use_async=use_async), mode=mode)
    server.add(G.stream_script([[G.text_part(p)] for p in pieces(ANSWER)]))
    return ss.from_genai(G.make_client(server), mode=mode, use_async=use_async)


@pytest.mark.parametrize(
    ("provider", "mode"), [("anthropic", "md_json"), ("anthropic", "json"), ("genai", "md_json")]
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_prose_around_the_json_is_text_not_the_object(
    server: ReplayServer, provider: str, mode: str, use_async: bool
) -> None:
    c = client(provider, mode, server, use_async)
    stream = c.responses.stream(
        model="m", messages=[{"role": "user", "content": "?"}], response_model=Idea
    )
    if use_async:
        events = [e async for e in stream.events()]
    else:
        events = list(stream.events())
    texts = "".join(e.text for e in events if isinstance(e, ss.TextEvent))
    assert texts == BEFORE + AFTER
    assert stream.prose_text == BEFORE + AFTER
    final = events[-1]
    assert isinstance(final, ss.FinalEvent)
    assert final.value == Idea(**DOC)
    assert json.loads(stream.raw_text) == DOC
