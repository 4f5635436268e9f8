"""What every provider needs to know about a response model, computed once per call."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter


def _type_name(tp: Any) -> str:
    name = getattr(tp, "__name__", None) or str(tp)
    origin = get_origin(tp)
    if origin in (list, tuple, set) and getattr(tp, "__args__", None):
        name = f"{_type_name(tp.__args__[0])}_list"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "Response"


@dataclass(frozen=True)
class ResponseSpec:
    """A response model, plus how it travels over the wire.

    Providers require an object at the root of tool arguments and JSON schemas, so a
    non-object root (``list[Idea]``, a union, a scalar) is wrapped as
    ``{"<wrapper_key>": ...}``; the core unwraps it, so users get exactly the type they asked for.
    """

    response_model: Any
    name: str = ""
    description: str = ""
    wrapper_key: str | None = None
    _adapter: TypeAdapter[Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_type(cls, response_model: Any) -> ResponseSpec:
        is_model = isinstance(response_model, type) and issubclass(response_model, BaseModel)
        wrapper_key = None
        if not is_model:
            bare = response_model
            while get_origin(bare) is Annotated:
                bare = get_args(bare)[0]
            wrapper_key = "items" if get_origin(bare) in (list, tuple, set) else "value"
        description = ""
        if is_model and response_model.__doc__ and response_model.__doc__ != BaseModel.__doc__:
            description = response_model.__doc__.strip()
        return cls(
            response_model=response_model,
            name=_type_name(response_model),
            description=description
            or f"Return the {_type_name(response_model)} as structured data.",
            wrapper_key=wrapper_key,
            _adapter=None if is_model else TypeAdapter(response_model),
        )

    @cached_property
    def inner_json_schema(self) -> dict[str, Any]:
        """JSON schema of the response model itself (not wrapped)."""
        if self._adapter is None:
            schema: dict[str, Any] = self.response_model.model_json_schema()
        else:
            schema = self._adapter.json_schema()
        return schema

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """Object-rooted JSON schema to send to providers (wrapped when needed)."""
        inner = dict(self.inner_json_schema)
        if self.wrapper_key is None:
            return inner
        defs = inner.pop("$defs", None)
        wrapped: dict[str, Any] = {
            "type": "object",
            "properties": {self.wrapper_key: inner},
            "required": [self.wrapper_key],
            "additionalProperties": False,
        }
        if defs:
            wrapped["$defs"] = defs
        return wrapped

    def schema_in(self, subset: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """:attr:`json_schema` rewritten by a provider's ``subset`` (its strict-schema subset,
        ``Capabilities.strict_schema``), computed once per subset."""
        cache = self.__dict__.setdefault("_subsets", {})
        if subset not in cache:
            cache[subset] = subset(self.json_schema)
        return cache[subset]  # type: ignore[no-any-return]

    @property
    def strict_json_schema(self) -> dict[str, Any]:
        """:attr:`json_schema` in OpenAI's strict subset (the openai provider's)."""
        from ..providers.openai import to_openai_strict

        return self.schema_in(to_openai_strict)

    def prompt(self) -> str:
        """Instruction text for modes that carry the schema in the prompt (JSON, MD_JSON)."""
        return "Respond only with a JSON object that matches this JSON schema:\n" + json.dumps(
            self.json_schema, separators=(",", ":")
        )

    def md_prompt(self) -> str:
        return self.prompt() + "\nWrite the JSON inside a ```json fenced code block."
