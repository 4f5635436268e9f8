"""The types the streaming core and the providers share.

The core owns them: a provider turns its wire events into :class:`Delta` values and a
:class:`Request` into an open :class:`DeltaStream`; the core never imports a provider.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal


class Mode(str, Enum):
    """How the model is asked for structured output."""

    TOOLS = "tools"  # function / tool calling; strict schema where supported
    JSON_SCHEMA = "json_schema"  # response_format json_schema (strict)
    JSON = "json"  # json_object mode + schema in the prompt
    MD_JSON = "md_json"  # fenced ```json in plain text, parsed leniently
    RESPONSES_JSON_SCHEMA = "responses_json_schema"  # OpenAI Responses API, text.format
    RESPONSES_TOOLS = "responses_tools"  # OpenAI Responses API, function tool
    PARALLEL_TOOLS = "parallel_tools"  # one tool per union member; each tool call one item


FinishReason = Literal["stop", "length", "refusal", "content_filter", "tool_calls", "other"]


@dataclass
class Usage:
    """Tokens one response used, as the provider reported them (``None``: not reported)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    #: input tokens served from the provider's prompt cache (part of ``input_tokens``)
    cached_input_tokens: int | None = None
    #: output tokens spent on reasoning (part of ``output_tokens``)
    reasoning_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass
class Delta:
    """One step of a provider stream, already reduced to what the core needs.

    ``text`` is new characters of the JSON document (tool arguments or content). A provider
    yields a ``Delta`` with ``finish_reason`` set exactly once, when the model stopped.
    ``reasoning`` is new reasoning text (thinking, a reasoning summary); where the provider
    sends it in several parts (summary parts, thinking blocks), the first delta of each
    later part starts with ``"\n\n"``, so the joined text has a blank line between parts.
    ``prose`` is new text the model writes beside the object (never part of the JSON
    document: the core never parses it). ``usage`` is the response's usage so far: a count a
    later delta reports replaces the earlier one (running totals), ``None`` counts leave it;
    the final counts come at the latest with the ``finish_reason`` delta (a response cut
    before it has partial usage). In
    ``Mode.PARALLEL_TOOLS`` ``call`` is the index of the tool call ``text`` belongs to and
    ``tool`` that call's tool name (on the call's first delta at least).
    """

    text: str = ""
    finish_reason: FinishReason | None = None
    refusal: str | None = None
    usage: Usage | None = None
    reasoning: str = ""
    prose: str = ""
    call: int | None = None
    tool: str | None = None


@dataclass
class Request:
    """Provider-shaped request: which endpoint (``kind``) and its SDK keyword arguments."""

    kind: str
    kwargs: dict[str, Any]
    mode: Mode
    extra: dict[str, Any] = field(default_factory=dict)
    #: the answer may come wrapped in prose or a fence: parse it leniently (the provider's
    #: capabilities for the mode say so; a re-ask keeps it)
    lenient: bool = False


class DeltaStream(abc.ABC):
    """A sync, open provider stream. ``close()`` must close the HTTP response at once."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Delta]: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class AsyncDeltaStream(abc.ABC):
    """Async twin of :class:`DeltaStream`."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Delta]: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...
