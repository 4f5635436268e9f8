"""The streaming validation plan: a response model compiled into a tree of nodes.

Each node knows, for the JSON value at its place in the document:

- which early checks are decidable on a prefix (a string over ``max_length``, a string that
  no ``Literal``/``Enum`` value starts with, one list item too many, an unknown key when
  extra is forbidden) — these raise :class:`~schemastream.errors.StreamValidationError` at
  the first character that breaks them;
- how to validate the value once it is complete (leaf constraints via a ``TypeAdapter``;
  models via ``model_validate`` on already-validated children, so every ``field_validator``
  and ``model_validator`` runs exactly once per value);
- whether a string that is still being written may be shown in a partial (plain ``str``
  fields: yes; ``datetime``, ``UUID``, ``Enum``, ``Literal``: no, they appear when complete).

Nodes are pure: no IO, no per-stream state (that lives in :mod:`schemastream.partial`).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SkipValidation, TypeAdapter, ValidationError, create_model
from pydantic.functional_validators import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
    WrapValidator,
)

from ..errors import StreamValidationError
from ..jsonstream.events import Path, PathItem, ValueKind

if typing.TYPE_CHECKING:
    from ..partial.models import PartialModel

_VALIDATOR_TYPES = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)
_NONE_TYPE = type(None)


def error(loc: Path, type_: str, msg: str, value: Any, **ctx: Any) -> StreamValidationError:
    """A one-error :class:`StreamValidationError` in pydantic's error-dict shape."""
    err: dict[str, Any] = {"type": type_, "loc": tuple(loc), "msg": msg, "input": value}
    if ctx:
        err["ctx"] = ctx
    return StreamValidationError([err])


def from_pydantic(exc: ValidationError, loc: Path) -> StreamValidationError:
    """Re-anchor a pydantic ``ValidationError`` at ``loc`` in the document."""
    errors: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        out: dict[str, Any] = dict(err)
        out["loc"] = tuple(loc) + tuple(err.get("loc", ()))
        errors.append(out)
    return StreamValidationError(errors, title=exc.title)


class Node:
    """Validation plan for one place in the document. Subclasses override what they decide."""

    #: ``True`` when an unfinished string here may be shown in partials.
    shows_partial_string = False

    def __init__(self, annotation: Any, metadata: Sequence[Any] = ()) -> None:
        self.annotation = annotation
        self.metadata = tuple(metadata)
        self.max_length: int | None = None
        self.min_length: int | None = None
        for meta in self.metadata:
            if isinstance(meta, annotated_types.MaxLen):
                self.max_length = meta.max_length
            elif isinstance(meta, annotated_types.MinLen):
                self.min_length = meta.min_length

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        """Validates a complete value (constraints included, functional validators excluded:
        those belong to the enclosing model and run once, in its ``model_validate``)."""
        checks = [m for m in self.metadata if not isinstance(m, _VALIDATOR_TYPES)]
        tp: Any = self.annotation
        if checks:
            params = (tp, *checks)
            # Subscription, not Annotated.__class_getitem__: that is gone in Python 3.13.
            tp = Annotated[params]  # type: ignore[valid-type]
        return TypeAdapter(tp)

    # --- early checks -------------------------------------------------------------------
    def check_string(self, length: int, text: Callable[[], str], loc: Path) -> None:
        """Called as a string grows: ``length`` so far, ``text()`` builds it (costs O(length))."""

    def check_child(self, key: PathItem, loc: Path) -> None:
        """Called when a child value (object member or array item) starts."""

    def child(self, key: PathItem) -> Node:
        return ANY

    def container_kind(self) -> ValueKind | None:
        """The JSON container this node expects, if it builds one itself."""
        return None

    # --- completion ---------------------------------------------------------------------
    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        """Validate a complete value. Returns ``(validated, handoff)``: ``validated`` is shown
        to users; ``handoff`` is what the parent's validation receives (raw JSON for leaves, so
        the parent model's own validators see exactly what they would without streaming)."""
        try:
            validated = self.adapter.validate_python(value)
        except ValidationError as exc:
            raise from_pydantic(exc, loc) from None
        # models inside (a union of models): hand the instances on, the parent skips them
        return validated, validated if self.holds_models else value

    @cached_property
    def holds_models(self) -> bool:
        return _contains_model(self.annotation)


class AnyNode(Node):
    """No schema here (``Any``, or inside a union): keep raw JSON, validate nothing."""

    shows_partial_string = True

    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        return value, value


ANY = AnyNode(Any)


class StrNode(Node):
    shows_partial_string = True

    def check_string(self, length: int, text: Callable[[], str], loc: Path) -> None:
        if self.max_length is not None and length > self.max_length:
            raise error(
                loc,
                "string_too_long",
                f"String should have at most {self.max_length} characters",
                text(),
                max_length=self.max_length,
            )


class ChoiceNode(Node):
    """``Literal`` and ``Enum``: a string prefix that no allowed value starts with is final."""

    def __init__(
        self, annotation: Any, metadata: Sequence[Any], options: Sequence[Any], kind: str
    ) -> None:
        super().__init__(annotation, metadata)
        self.options = [o for o in options if isinstance(o, str)]
        self.kind = kind

    def check_string(self, length: int, text: Callable[[], str], loc: Path) -> None:
        prefix = text()
        if not any(o.startswith(prefix) for o in self.options):
            expected = " or ".join(repr(o) for o in self.options)
            if self.kind == "enum":
                raise error(loc, "enum", f"Input should be {expected}", prefix, expected=expected)
            raise error(
                loc, "literal_error", f"Input should be {expected}", prefix, expected=expected
            )


class ListNode(Node):
    def __init__(self, annotation: Any, metadata: Sequence[Any], item: Node) -> None:
        super().__init__(annotation, metadata)
        self.item = item

    def container_kind(self) -> ValueKind | None:
        return "array"

    def child(self, key: PathItem) -> Node:
        return self.item

    def check_child(self, key: PathItem, loc: Path) -> None:
        if self.max_length is not None and isinstance(key, int) and key >= self.max_length:
            raise error(
                loc,
                "too_long",
                f"List should have at most {self.max_length} items after validation, not {key + 1}",
                f"<{key + 1} items>",
                field_type="List",
                max_length=self.max_length,
                actual_length=key + 1,
            )

    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        # ``value`` is (validated items, handoff items): items were validated as they closed.
        validated, handoff = value
        if self.min_length is not None and len(validated) < self.min_length:
            raise error(
                loc,
                "too_short",
                f"List should have at least {self.min_length} items after validation, not {len(validated)}",
                handoff,
                field_type="List",
                min_length=self.min_length,
                actual_length=len(validated),
            )
        return validated, handoff


class DictNode(Node):
    def __init__(self, annotation: Any, metadata: Sequence[Any], value: Node) -> None:
        super().__init__(annotation, metadata)
        self.value = value

    def container_kind(self) -> ValueKind | None:
        return "object"

    def child(self, key: PathItem) -> Node:
        return self.value

    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        validated, handoff = value
        if self.max_length is not None and len(validated) > self.max_length:
            raise error(
                loc, "too_long", f"Dictionary should have at most {self.max_length} items", handoff
            )
        return validated, handoff


class ModelNode(Node):
    """A pydantic model: known keys map to field nodes; validated once, when it closes."""

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__(model)
        self.model = model
        self.forbid_extra = model.model_config.get("extra") == "forbid"

    def container_kind(self) -> ValueKind | None:
        return "object"

    @cached_property
    def fields(self) -> dict[str, tuple[str, Node]]:
        """JSON key -> (attribute name, node). Compiled lazily so recursive models work."""
        out: dict[str, tuple[str, Node]] = {}
        by_name = bool(self.model.model_config.get("populate_by_name")) or bool(
            self.model.model_config.get("validate_by_name")
        )
        for name, info in self.model.model_fields.items():
            node = compile_node(info.annotation, info.metadata)
            keys = []
            alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
            keys.append(alias or name)
            if alias and by_name:
                keys.append(name)
            for key in keys:
                out[key] = (name, node)
        return out

    @cached_property
    def partial_model(self) -> type[PartialModel]:
        from ..partial.models import partial_model

        return partial_model(self.model)

    def child(self, key: PathItem) -> Node:
        entry = self.fields.get(key) if isinstance(key, str) else None
        return entry[1] if entry else ANY

    def check_child(self, key: PathItem, loc: Path) -> None:
        if self.forbid_extra and key not in self.fields:
            raise error(loc, "extra_forbidden", "Extra inputs are not permitted", key)

    @cached_property
    def shell(self) -> type[BaseModel] | None:
        """A subclass whose model-typed fields skip validation, or ``None`` if none has any.

        Pydantic re-runs an ``after`` model validator on every instance it is handed, so
        validating the parent with its already-validated children would run the children's
        validators twice. The shell keeps the parent's own validators and config and takes
        the children as they are (their constraints were checked when they closed).
        """
        skip = {n: f for n, f in self.model.model_fields.items() if _contains_model(f.annotation)}
        if not skip:
            return None
        overrides: dict[str, Any] = {
            name: (Annotated[info.annotation, SkipValidation()], info)
            for name, info in skip.items()
        }
        return create_model(  # type: ignore[no-any-return, call-overload]
            self.model.__name__, __base__=self.model, __module__=self.model.__module__, **overrides
        )

    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        _validated, handoff = value
        try:
            shell = self.shell
            if shell is None:
                instance = self.model.model_validate(handoff)
            else:
                tmp = shell.model_validate(handoff)
                instance = self.model.model_construct(
                    tmp.model_fields_set, **tmp.__dict__, **(tmp.__pydantic_extra__ or {})
                )
                if tmp.__pydantic_private__:
                    instance.__pydantic_private__ = dict(tmp.__pydantic_private__)
        except ValidationError as exc:
            raise from_pydantic(exc, loc) from None
        return instance, instance


class WrapperNode(ModelNode):
    """The ``{"items": ...}`` object that carries a non-object root; unwrapped on completion."""

    def __init__(self, key: str, inner: Node) -> None:
        Node.__init__(self, dict)
        self.key = key
        self.inner = inner
        self.forbid_extra = True

    @cached_property
    def fields(self) -> dict[str, tuple[str, Node]]:
        return {self.key: (self.key, self.inner)}

    def complete(self, value: Any, loc: Path) -> tuple[Any, Any]:
        validated, handoff = value
        if self.key not in validated:
            raise error(loc, "missing", "Field required", handoff)
        return validated[self.key], handoff[self.key]


class UnionNode(Node):
    """A union: validated whole when it completes. For a discriminated union of models, an
    object still being written is shown as the partial model its tag names."""

    def __init__(self, annotation: Any, metadata: Sequence[Any], options: Sequence[Any]) -> None:
        super().__init__(annotation, metadata)
        self.tag_key: str | None = None
        self.branches: dict[Any, ModelNode] = {}
        tag = next((getattr(m, "discriminator", None) for m in metadata), None)
        if isinstance(tag, str):
            for option in options:
                option = _strip_annotated(option, [])
                if not (isinstance(option, type) and issubclass(option, BaseModel)):
                    continue
                info = option.model_fields.get(tag)
                if info is None:
                    continue
                self.tag_key = info.alias or tag
                for value in get_args(_strip_annotated(info.annotation, [])):
                    self.branches[value] = _model_node(option)

    def branch(self, raw: dict[Any, Any]) -> ModelNode | None:
        """The branch named by the tag in ``raw`` (complete values only), if any."""
        if self.tag_key is None:
            return None
        tag = raw.get(self.tag_key)
        return self.branches.get(tag) if isinstance(tag, (str, int, bool)) else None


class NullableNode(Node):
    """``Optional[X]``: ``null`` validates through the full annotation, anything else is ``X``."""

    def __init__(self, annotation: Any, metadata: Sequence[Any], inner: Node) -> None:
        super().__init__(annotation, metadata)
        self.inner = inner
        self.shows_partial_string = inner.shows_partial_string


def _contains_model(tp: Any) -> bool:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return True
    return any(
        _contains_model(arg) for arg in get_args(tp) if not isinstance(arg, (str, int, float))
    )


def _strip_annotated(tp: Any, metadata: list[Any]) -> Any:
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        metadata.extend(args[1:])
    return tp


def compile_node(annotation: Any, metadata: Sequence[Any] = ()) -> Node:
    """Compile a type annotation (plus field metadata) into a plan node."""
    meta = list(metadata)
    tp = _strip_annotated(annotation, meta)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        non_null = [a for a in args if a is not _NONE_TYPE]
        if len(non_null) == 1 and len(args) == 2:
            return NullableNode(annotation, meta, compile_node(non_null[0], meta))
        return UnionNode(annotation, meta, non_null)  # validated whole, when it completes
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model_node(tp)
    if tp is Any or tp is typing.Any:
        return ANY
    if tp is str:
        return StrNode(annotation, meta)
    if origin is Literal:
        return ChoiceNode(annotation, meta, get_args(tp), "literal")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return ChoiceNode(annotation, meta, [m.value for m in tp], "enum")
    if origin in (list, Sequence, typing.Sequence) or tp is list:
        args = get_args(tp)
        return ListNode(annotation, meta, compile_node(args[0]) if args else ANY)
    if origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = get_args(tp)
        if args and args[0] is not str:
            return Node(annotation, meta)
        return DictNode(annotation, meta, compile_node(args[1]) if len(args) == 2 else ANY)
    return Node(annotation, meta)


_MODEL_NODES: dict[type[BaseModel], ModelNode] = {}


def _model_node(model: type[BaseModel]) -> ModelNode:
    node = _MODEL_NODES.get(model)
    if node is None:
        node = _MODEL_NODES[model] = ModelNode(model)
    return node


def compile_plan(response_model: Any, wrapper_key: str | None) -> Node:
    """The root node for a response model, wrapped the way it travels on the wire."""
    inner = compile_node(response_model)
    return WrapperNode(wrapper_key, inner) if wrapper_key else inner
