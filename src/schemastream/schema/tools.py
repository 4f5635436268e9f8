"""The tool set of a response model in ``Mode.PARALLEL_TOOLS``: one tool per member.

``list[A | B]`` (or ``Iterable[A | B]``, ``list[A]``) asks the model for several items at
once, each as one tool call: the tool names the member, its arguments are the member's
JSON object. Providers offer :func:`parallel_tools` as the request's tools; the core
(:mod:`schemastream.calls`) reads the calls back with the same list.
"""

from __future__ import annotations

import collections.abc
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Discriminator, RootModel
from pydantic.fields import FieldInfo

from ..errors import ConfigurationError

_SEQUENCES = (list, collections.abc.Iterable)  # typing.Iterable's origin too
_UNIONS: tuple[Any, ...] = (Union, types.UnionType)


@dataclass(frozen=True)
class ParallelTool:
    """One member of a parallel response model, as a tool the model may call."""

    #: unique within the tool set, stable for the same model: the model's title or class name
    name: str
    description: str
    model: type[BaseModel]

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The tool's parameters: the member's JSON schema (an object at the root)."""
        return self.model.model_json_schema()

    def schema_in(self, subset: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """:attr:`json_schema` rewritten by a provider's strict-schema ``subset``
        (``Capabilities.strict_schema``)."""
        return subset(self.json_schema)

    @cached_property
    def strict_json_schema(self) -> dict[str, Any]:
        """:attr:`json_schema` in OpenAI's strict subset (the openai provider's)."""
        from ..providers.openai import to_openai_strict  # the subset is a provider fact

        return self.schema_in(to_openai_strict)


def _cannot(response_model: Any, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"Mode.PARALLEL_TOOLS needs list[Model] or list[A | B] (or Iterable[...]) of pydantic "
        f"models, one tool per model; {response_model!r}: {why}"
    )


def _strip(tp: Any, response_model: Any) -> Any:
    """``tp`` without ``Annotated`` metadata that does not matter here (a discriminator: the
    tool name picks the member). Other metadata would be silently ignored, so it is refused."""
    while get_origin(tp) is Annotated:
        tp, *meta = get_args(tp)
        for m in meta:
            if isinstance(m, Discriminator) or (
                isinstance(m, FieldInfo) and m.discriminator is not None and not m.metadata
            ):
                continue
            raise _cannot(
                response_model,
                f"the metadata {m!r} on the items is not applied to tool calls (put display "
                "policies and constraints on the models' fields; max_items limits the calls)",
            )
    return tp


def _members(item: Any, response_model: Any) -> list[type[BaseModel]]:
    item = _strip(item, response_model)
    if get_origin(item) in _UNIONS:
        out: list[type[BaseModel]] = []
        for member in get_args(item):
            out.extend(_members(member, response_model))
        return out
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        raise _cannot(response_model, f"{item!r} is not a pydantic model")
    if issubclass(item, RootModel):
        raise _cannot(
            response_model, f"{item.__name__} is a RootModel (tool arguments are objects)"
        )
    return [item]


def _name(model: type[BaseModel]) -> str:
    title = model.model_config.get("title") or model.__name__
    return re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] or "Item"


def parallel_tools(response_model: Any) -> list[ParallelTool]:
    """The tools for ``response_model`` in ``Mode.PARALLEL_TOOLS``, in the union's order.

    Raises :class:`~schemastream.errors.ConfigurationError` when the model cannot be asked for
    in parallel calls (not a list or ``Iterable`` of models or of a union of models).
    """
    outer = response_model
    if get_origin(outer) is Annotated:
        raise _cannot(
            response_model,
            "metadata on the list is not applied to tool calls (max_items limits the calls)",
        )
    if get_origin(outer) not in _SEQUENCES or len(get_args(outer)) != 1:
        raise _cannot(response_model, "not a list or Iterable of models")
    seen: dict[type[BaseModel], None] = {}
    for model in _members(get_args(outer)[0], response_model):
        seen.setdefault(model)
    tools: list[ParallelTool] = []
    names: set[str] = set()
    for model in seen:
        base = name = _name(model)
        n = 1
        while name in names:  # two models with one name (from two modules): number them
            n += 1
            name = f"{base[:60]}_{n}"
        names.add(name)
        doc = model.__doc__
        description = (
            doc.strip()
            if doc and doc != BaseModel.__doc__ and doc.strip()
            else f"Return one {name}; call this tool once per {name}."
        )
        tools.append(ParallelTool(name=name, description=description, model=model))
    return tools
