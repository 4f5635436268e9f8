"""schemastream: stream structured LLM output as typed, incrementally validated partial objects.

>>> import schemastream as ss
>>> client = ss.from_openai(OpenAI())                                     # doctest: +SKIP
>>> stream = client.responses.stream(model="gpt-4o-mini", messages=[...],
...                                  response_model=list[Idea])           # doctest: +SKIP
>>> for partial in stream: ...                                            # doctest: +SKIP
>>> ideas = stream.get_final_response()                                   # doctest: +SKIP
"""

# No ``from __future__ import annotations`` and no ``from typing import ...`` here: the package
# namespace holds its API and its submodules only (tests/core/test_namespace.py).
import typing as _typing

from .calls import CallsSession
from .client import AsyncClient, Client, from_anthropic, from_genai, from_openai, from_provider
from .contract import Delta, Mode, Usage
from .core import StreamDriver, StreamSession
from .errors import (
    ConfigurationError,
    IncompleteOutputError,
    JsonStreamError,
    ProviderError,
    RefusalError,
    SchemaStreamError,
    StreamClosed,
    StreamingDegradedWarning,
    StreamValidationError,
)
from .events import (
    FinalEvent,
    ItemEvent,
    PartialEvent,
    ReasoningEvent,
    RestartEvent,
    StreamEvent,
    TextEvent,
)
from .jsonstream import JsonStreamParser
from .partial import Partial, PartialModel, field_state, is_complete, partial_model
from .policies import Done, FieldState, NotNull, StreamCheck, WithState
from .schema import ResponseSpec
from .schema.tools import ParallelTool, parallel_tools
from .stream import AsyncStream, Stream
from .telemetry import instrument, uninstrument
from .usage import AttemptUsage, CallUsage

if _typing.TYPE_CHECKING:
    from . import web as web

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncStream",
    "AttemptUsage",
    "CallUsage",
    "CallsSession",
    "Client",
    "ConfigurationError",
    "Delta",
    "Done",
    "FieldState",
    "FinalEvent",
    "IncompleteOutputError",
    "ItemEvent",
    "JsonStreamError",
    "JsonStreamParser",
    "Mode",
    "NotNull",
    "Partial",
    "PartialEvent",
    "ParallelTool",
    "PartialModel",
    "ProviderError",
    "ReasoningEvent",
    "RefusalError",
    "ResponseSpec",
    "RestartEvent",
    "SchemaStreamError",
    "Stream",
    "StreamCheck",
    "StreamClosed",
    "StreamDriver",
    "StreamEvent",
    "StreamSession",
    "StreamValidationError",
    "StreamingDegradedWarning",
    "TextEvent",
    "Usage",
    "WithState",
    "from_anthropic",
    "from_genai",
    "from_openai",
    "from_provider",
    "field_state",
    "instrument",
    "is_complete",
    "parallel_tools",
    "partial_model",
    "uninstrument",
]


def __getattr__(name: str) -> _typing.Any:
    # ``ss.web`` imports Starlette: load it only when asked for
    if name == "web":
        import importlib

        return importlib.import_module(".web", __name__)
    raise AttributeError(f"module 'schemastream' has no attribute {name!r}")
