"""A fake client/stream with the user API's shape, to test the CLI without a provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemastream.events import FinalEvent, ItemEvent, PartialEvent


@dataclass
class FakeUsage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass
class FakeStream:
    """Plays ``steps``: events to yield, or an exception to raise from ``events()``."""

    steps: list[Any]
    final: Any = None
    raw_parts: list[str] = field(default_factory=list)
    usage: FakeUsage | None = None
    closed: bool = False
    raw_text: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    def events(self) -> Iterator[Any]:
        for i, step in enumerate(self.steps):
            if isinstance(step, BaseException):
                raise step
            if i < len(self.raw_parts):
                self.raw_text += self.raw_parts[i]
            yield step

    def get_final_response(self) -> Any:
        return self.final

    def close(self) -> None:
        self.closed = True


class _Responses:
    def __init__(self, client: FakeClient) -> None:
        self._client = client

    def stream(self, **kwargs: Any) -> FakeStream:
        s = self._client.stream
        s.kwargs = kwargs
        self._client.calls.append(kwargs)
        return s


class FakeClient:
    def __init__(self, stream: FakeStream) -> None:
        self.stream = stream
        self.calls: list[dict[str, Any]] = []
        self.responses = _Responses(self)


def idea_events(ideas: list[Any]) -> list[Any]:
    """Partial events growing a list of ideas item by item, with ItemEvents, then FinalEvent."""
    events: list[Any] = []
    done: list[Any] = []
    for i, idea in enumerate(ideas):
        events.append(PartialEvent(done + [{"title": idea.title[:3], "blurb": None}]))
        events.append(PartialEvent(done + [{"title": idea.title, "blurb": idea.blurb[:5]}]))
        done = done + [idea]
        events.append(PartialEvent(list(done)))
        events.append(ItemEvent(i, idea, f"/{i}"))
    events.append(FinalEvent(list(done)))
    return events
