"""A provider whose model output is given as :class:`~schemastream.Delta` values.

Not an SDK mock: it implements the provider contract (``providers.base.Provider``) itself,
so the real client, driver and stream shells (sync and async) run over it. One script per
attempt; a retry opens the next. It records which attempts were opened and closed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from schemastream.contract import AsyncDeltaStream, Delta, DeltaStream, Mode, Request, Usage
from schemastream.providers.base import Call, Provider
from schemastream.schema import ResponseSpec


class ScriptProvider(Provider):
    """``scripts``: the deltas of each attempt, in order (the last one repeats)."""

    supports_sync = True
    supports_async = True
    supported_modes = frozenset(Mode)

    def __init__(self, *scripts: Sequence[Delta], name: str = "script", client: Any = None) -> None:
        self.scripts = [list(s) for s in scripts]
        self.name = name
        self.client = client  # what pricer_for reads (base_url) on an "openai" provider
        self.opened: list[int] = []
        self.closed: list[int] = []
        self.reasks: list[str] = []

    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        return Request(kind="script", kwargs={"model": call.model, **call.extra}, mode=mode)

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        self.reasks.append(raw_text)
        return request

    def _script(self) -> tuple[int, list[Delta]]:
        n = len(self.opened)
        self.opened.append(n)
        return n, self.scripts[min(n, len(self.scripts) - 1)]

    def open_stream(self, request: Request) -> DeltaStream:
        n, script = self._script()
        provider = self

        class _Sync(DeltaStream):
            def __iter__(self) -> Iterator[Delta]:
                yield from script

            def close(self) -> None:
                if n not in provider.closed:
                    provider.closed.append(n)

        return _Sync()

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        n, script = self._script()
        provider = self

        class _Async(AsyncDeltaStream):
            async def __aiter__(self) -> AsyncIterator[Delta]:  # type: ignore[override]
                for delta in script:
                    await asyncio.sleep(0)
                    yield delta

            async def aclose(self) -> None:
                if n not in provider.closed:
                    provider.closed.append(n)

        return _Async()


def json_deltas(value: Any, size: int = 5) -> list[Delta]:
    """``value``'s JSON text as text deltas of ``size`` characters."""
    text = json.dumps(value)
    return [Delta(text=text[i : i + size]) for i in range(0, len(text), size)]


def finish(usage: Usage | None = None, reason: Any = "stop") -> Delta:
    return Delta(finish_reason=reason, usage=usage)
