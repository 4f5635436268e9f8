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

import copy
import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from functools import cached_property
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pydantic_core
from pydantic import (
    BaseModel,
    ConfigDict,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    WrapValidator,
    create_model,
)
from pydantic.functional_validators import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
)

from ..errors import StreamValidationError
from ..jsonstream.events import Path, PathItem, ValueKind
from ..policies import NO_POLICY, Policy, is_policy, read_policy

_VALIDATOR_TYPES = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)
_VALIDATOR_MODES = {
    AfterValidator: "after",
    BeforeValidator: "before",
    PlainValidator: "plain",
    WrapValidator: "wrap",
}
_NONE_TYPE = type(None)


def error(loc: Path, type_: str, msg: str, value: Any, **ctx: Any) -> StreamValidationError:
    """A one-error :class:`StreamValidationError` in pydantic's error-dict shape."""
    err: dict[str, Any] = {"type": type_, "loc": tuple(loc), "msg": msg, "input": value}
    if ctx:
        err["ctx"] = ctx
    return StreamValidationError([err])


_KIND_ERRORS = {
    "object": ("dict_type", "Input should be a valid dictionary"),
    "array": ("list_type", "Input should be a valid list"),
    "string": ("string_type", "Input should be a valid string"),
}


def kind_error(node: Node, kind: ValueKind, loc: Path) -> StreamValidationError:
    """The error for a JSON value of ``kind`` where ``node`` cannot take one (pydantic's
    wording); a union reports each member's reason, as pydantic does."""
    if isinstance(node, UnionNode):
        errors: list[dict[str, Any]] = []
        for member in node.members:
            errors.extend(relabel(kind_error(member, kind, loc), loc, member))
        return StreamValidationError(errors)
    if isinstance(node, NullableNode) and not node.inner.accepts_kind(kind):
        node = node.inner
    if isinstance(node, ModelNode):
        name = node.model.__name__
        return error(
            loc,
            "model_type",
            f"Input should be a valid dictionary or instance of {name}",
            f"<JSON {kind}>",
            class_name=name,
        )
    if isinstance(node, ChoiceNode):
        expected = " or ".join(repr(o) for o in get_args(node.annotation)) or repr(node.annotation)
        return error(loc, "literal_error", f"Input should be {expected}", f"<JSON {kind}>")
    own: str = node.container_kind() or next(
        (k for k in ("string", "object", "array") if node.accepts_kind(k)), "string"
    )
    type_, msg = _KIND_ERRORS[own]
    return error(loc, type_, msg, f"<JSON {kind}>")


def member_label(node: Node) -> str:
    """How pydantic names a union member in an error's ``loc``."""
    if isinstance(node, ModelNode):
        return node.model.__name__
    tp = node.annotation
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


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
    #: Display policies (:mod:`schemastream.policies`) of this place in the document.
    policy: Policy = NO_POLICY

    def __init__(
        self, annotation: Any, metadata: Sequence[Any] = (), config: ConfigDict | None = None
    ) -> None:
        self.annotation = annotation
        self.config = config  # the enclosing model's config (strict, str_* options ...)
        self.policy = read_policy(metadata)
        self.metadata = tuple(m for m in metadata if not is_policy(m))
        self.max_length: int | None = None
        self.min_length: int | None = None
        for meta in self.metadata:
            if isinstance(meta, annotated_types.MaxLen):
                self.max_length = meta.max_length
            elif isinstance(meta, annotated_types.MinLen):
                self.min_length = meta.min_length

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        """Validates a complete value: type, constraints and the validators in its own
        ``Annotated`` metadata (a model's field-level validators are the model's: see
        :meth:`ModelNode.finish_field`), under the enclosing model's config."""
        tp: Any = self.annotation
        if self.metadata:
            params = (tp, *self.metadata)
            # Subscription, not Annotated.__class_getitem__: that is gone in Python 3.13.
            tp = Annotated[params]  # type: ignore[valid-type]
        config = self.config if self.config and not _has_own_config(self.annotation) else None
        return TypeAdapter(tp, config=config)

    def validate_raw(self, value: Any, loc: Path, context: Any = None) -> Any:
        """Validate a complete raw JSON value in pydantic's JSON mode (strict models accept
        what ``model_validate_json`` accepts; validators see ``info.mode == "json"``)."""
        try:
            if self.native and not isinstance(value, (dict, list)):
                # a JSON scalar into str/int/float/bool: both modes do the same, minus a trip
                # through JSON text
                return self.adapter.validate_python(value, context=context)
            return self.adapter.validate_json(pydantic_core.to_json(value), context=context)
        except ValidationError as exc:
            raise from_pydantic(exc, loc) from None

    @cached_property
    def native(self) -> bool:
        """A JSON scalar type that pydantic validates alike in Python and JSON mode, with no
        validator of the user's that could tell the modes apart."""
        tp = _strip_annotated(self.annotation, [])
        return tp in (str, int, float, bool) and not any(
            isinstance(m, _VALIDATOR_TYPES) for m in self.metadata
        )

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

    def accepts_kind(self, kind: ValueKind) -> bool:
        """Whether a JSON value of ``kind`` can validate here (``False`` only when certain)."""
        own = self.container_kind()
        return own is None or own == kind

    def check_kind(self, kind: ValueKind, loc: Path) -> None:
        """Called when a value starts: a container of the wrong kind is decided at once."""
        if not self.accepts_kind(kind):
            raise kind_error(self, kind, loc)

    def run_checks(self, value: Any, loc: Path) -> None:
        """The user's :class:`~schemastream.policies.StreamCheck` functions on ``value``."""
        for check in self.policy.checks:
            try:
                check(value)
            except (ValueError, AssertionError) as exc:
                kind = "assertion_error" if isinstance(exc, AssertionError) else "value_error"
                label = "Assertion failed" if kind == "assertion_error" else "Value error"
                raise error(loc, kind, f"{label}, {exc}", value, error=str(exc)) from None

    # --- completion ---------------------------------------------------------------------
    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
        """Validate a complete value. Returns ``(validated, handoff)``: ``validated`` is shown
        to users; ``handoff`` is the raw JSON for leaves (what the JSON state holds) and the
        validated value where models are inside."""
        validated = self.validate_raw(value, loc, context)
        # models inside (a union of models): hand the instances on, the parent skips them
        return validated, validated if self.holds_models else value

    @cached_property
    def holds_models(self) -> bool:
        return _contains_model(self.annotation)


class AnyNode(Node):
    """No schema here (``Any``, or inside a union): keep raw JSON, validate nothing."""

    shows_partial_string = True

    def accepts_kind(self, kind: ValueKind) -> bool:
        return True

    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
        return value, value


ANY = AnyNode(Any)


class StrNode(Node):
    shows_partial_string = True

    def accepts_kind(self, kind: ValueKind) -> bool:
        return kind == "string"

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
        self.kinds = {_json_kind(o) for o in options}

    def accepts_kind(self, kind: ValueKind) -> bool:
        # lax JSON validation reads an int literal from a string ("1" for Literal[1])
        return kind in self.kinds or (kind == "string" and "number" in self.kinds)

    def check_string(self, length: int, text: Callable[[], str], loc: Path) -> None:
        prefix = text()
        if "string" in self.kinds and not any(o.startswith(prefix) for o in self.options):
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

    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
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

    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
        validated, handoff = value
        if self.max_length is not None and len(validated) > self.max_length:
            raise error(
                loc, "too_long", f"Dictionary should have at most {self.max_length} items", handoff
            )
        return validated, handoff


_PASSTHROUGH: ContextVar[Mapping[str, Any]] = ContextVar("schemastream_passthrough")

#: What a field's node built, when it built nothing (the field is a JSON scalar).
UNBUILT: Any = object()


def _passthrough(name: str) -> WrapValidator:
    """A field validator that returns the value already validated for ``name`` (set in
    :data:`_PASSTHROUGH` around the call), so nothing is validated twice."""

    def take(value: Any, handler: Any) -> Any:
        return _PASSTHROUGH.get()[name]

    return WrapValidator(take)


@dataclasses.dataclass(frozen=True)
class FieldPlan:
    """How one field of a model completes."""

    name: str
    key: str  # the JSON key it travels under
    node: Node
    prior: tuple[str, ...]  # the fields defined before it (what its validators see in info.data)
    modes: frozenset[str]  # modes of its validators (field_validator and Annotated validators)
    built: bool  # a container or a value holding models: the node builds it from its children


class ModelNode(Node):
    """A pydantic model: known keys map to field nodes.

    Each field is validated once, when it completes, in pydantic's JSON mode: its type and
    constraints, and its own validators (through a *probe*, a subclass of the model that
    validates that field only, with the fields before it passed through, so ``info.data``
    is what ``model_validate_json`` would give). A field's validators run early only when
    they must give the same answer as at the end: every field defined before it is final
    and the model has no ``before``/``wrap`` model validator; otherwise the field stays
    unfinished until the model completes. The model itself is validated once, when it
    closes, by a *shell* subclass that passes every final field through, so only its model
    validators and the still unfinished fields run.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        super().__init__(model)
        self.model = model
        self.forbid_extra = model.model_config.get("extra") == "forbid"

    def container_kind(self) -> ValueKind | None:
        return "object"

    @cached_property
    def fields(self) -> dict[str, tuple[str, Node]]:
        """JSON key -> (attribute name, node). Compiled lazily so recursive models work."""
        return {key: (plan.name, plan.node) for key, plan in self._keys.items()}

    @cached_property
    def plans(self) -> dict[str, FieldPlan]:
        """Attribute name -> :class:`FieldPlan`, in definition order."""
        out: dict[str, FieldPlan] = {}
        config = self.model.model_config
        decorated: dict[str, set[str]] = {}
        for dec in self.model.__pydantic_decorators__.field_validators.values():
            names = self.model.model_fields if "*" in dec.info.fields else dec.info.fields
            for name in names:
                decorated.setdefault(name, set()).add(dec.info.mode)
        prior: list[str] = []
        for name, info in self.model.model_fields.items():
            checks = [m for m in info.metadata if not isinstance(m, _VALIDATOR_TYPES)]
            modes = decorated.get(name, set()) | {
                _VALIDATOR_MODES[type(m)] for m in info.metadata if isinstance(m, _VALIDATOR_TYPES)
            }
            node = compile_node(info.annotation, checks, config=config)
            alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
            built = node.container_kind() is not None or node.holds_models
            out[name] = FieldPlan(name, alias or name, node, tuple(prior), frozenset(modes), built)
            prior.append(name)
        return out

    @cached_property
    def _keys(self) -> dict[str, FieldPlan]:
        by_name = bool(self.model.model_config.get("populate_by_name")) or bool(
            self.model.model_config.get("validate_by_name")
        )
        out: dict[str, FieldPlan] = {}
        for name, plan in self.plans.items():
            out[plan.key] = plan
            if by_name and plan.key != name:
                out[name] = plan
        return out

    def keys_of(self, name: str) -> tuple[str, ...]:
        """The JSON keys a field may arrive under (its alias, and its name if allowed)."""
        return tuple(k for k, p in self._keys.items() if p.name == name)

    @cached_property
    def plain_dump(self) -> bool:
        """Whether pydantic's JSON dump of an instance is its fields' dumps under their keys
        (no custom serialiser, no serialization alias of its own), so the JSON state can be
        mended field by field."""
        decs = self.model.__pydantic_decorators__
        if decs.field_serializers or decs.model_serializers:
            return False
        return all(
            info.serialization_alias in (None, self.plans[name].key)
            for name, info in self.model.model_fields.items()
        )

    @cached_property
    def needs_input(self) -> bool:
        """Whether completing it needs its whole raw JSON: a model validator that sees the
        input, or a custom serialiser whose dump is compared with what arrived."""
        return not self.early or not self.plain_dump

    @cached_property
    def input_keys(self) -> frozenset[str]:
        """The JSON keys of container fields whose validators may take their raw JSON at the
        end (see :meth:`finish_field`)."""
        return frozenset(key for key, plan in self._keys.items() if plan.modes and plan.built)

    @cached_property
    def done_names(self) -> frozenset[str]:
        """The fields shown only once final (``Done``)."""
        return frozenset(p.name for p in self.plans.values() if p.node.policy.done)

    @cached_property
    def constructible(self) -> bool:
        """Whether a model whose fields are all final needs nothing more from pydantic: no
        model validator, no default to validate, no schema of its own."""
        model = self.model
        decs = model.__pydantic_decorators__
        return not (
            decs.model_validators
            or decs.root_validators
            or model.model_config.get("validate_default")
            or any(info.validate_default for info in model.model_fields.values())
            or "__get_pydantic_core_schema__" in model.__dict__
            or getattr(model, "__pydantic_root_model__", False)
        )

    @cached_property
    def _required(self) -> frozenset[str]:
        return frozenset(n for n, info in self.model.model_fields.items() if info.is_required())

    @cached_property
    def early(self) -> bool:
        """Whether fields may be finished before the model: no model validator that sees
        (and may change) the raw input."""
        decs = self.model.__pydantic_decorators__.model_validators.values()
        return all(dec.info.mode == "after" for dec in decs)

    @cached_property
    def not_null(self) -> tuple[frozenset[str], ...]:
        """The JSON keys of each ``NotNull`` field (a field may have an alias and a name)."""
        keys: dict[str, set[str]] = {}
        for key, (name, node) in self.fields.items():
            if node.policy.not_null:
                keys.setdefault(name, set()).add(key)
        return tuple(frozenset(k) for k in keys.values())

    @cached_property
    def pending_states(self) -> dict[str, Any]:
        """The JSON state of a new object: each ``WithState`` field pending."""
        return {
            plan.key: {"value": None, "state": "pending"}
            for plan in self.plans.values()
            if plan.node.policy.with_state
        }

    def child(self, key: PathItem) -> Node:
        entry = self.fields.get(key) if isinstance(key, str) else None
        return entry[1] if entry else ANY

    def has_key(self, key: PathItem) -> bool:
        return key in self.fields

    def check_child(self, key: PathItem, loc: Path) -> None:
        if self.forbid_extra and key not in self.fields:
            raise error(loc, "extra_forbidden", "Extra inputs are not permitted", key)

    # --- completion ---------------------------------------------------------------------
    def finish_field(
        self,
        final: Mapping[str, Any],
        key: PathItem,
        raw: Any,
        built: Any,
        loc: Path,
        context: Any = None,
    ) -> tuple[Any, bool]:
        """A field's value completed. ``final``: the fields finished so far (name -> value);
        ``raw``: its JSON; ``built``: what its node built (containers, models). Returns the
        value to show and whether it is final (validated for good)."""
        plan = self._keys.get(key) if isinstance(key, str) else None
        if plan is None:  # an extra key: kept raw, the model decides at the end
            return raw, False
        was_built = built is not UNBUILT
        if not self.early:  # a before/wrap model validator may change any field's input
            return (built if was_built else raw), False
        if not plan.modes:
            return (built, True) if was_built else (plan.node.validate_raw(raw, loc, context), True)
        if not all(p in final for p in plan.prior):
            return (built if was_built else raw), False
        if was_built and plan.modes != {"after"}:
            return built, False  # before/wrap/plain validators on a container: at the end
        probe = self._derived(
            frozenset(plan.prior),
            frozenset({plan.name}) if was_built else frozenset(),
            frozenset(self.plans) - {*plan.prior, plan.name},
            probe=True,
        )
        doc = {self.plans[p].key: None for p in plan.prior}
        doc[plan.key] = None if was_built else raw
        values = dict(final)
        if was_built:
            values[plan.name] = built
        instance = self._validate(probe, doc, values, loc[:-1], context)
        return getattr(instance, plan.name), True

    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
        """The model closed: ``value`` is (shown values, handoff, final names -> values, the
        keys whose value was built, its raw JSON)."""
        shown, handoff, final, built, raw_doc = value
        if self.constructible and len(final) == len(handoff) and self._required <= final.keys():
            # every field final and nothing left for pydantic to run: what model_validate_json
            # would build from here is exactly this (defaults and post-init included)
            instance = self.model.model_construct(set(final), **final)
            return instance, instance
        through = dict(final)
        # model validators that see the input get all of it; otherwise passed-through fields
        # travel as null (their values come from ``through``), so nothing is serialised twice
        doc: dict[str, Any] = dict(raw_doc) if not self.early else {}
        for key, raw in handoff.items():
            plan = self._keys.get(key)
            if plan is not None and (plan.name in final or key in built):
                through.setdefault(plan.name, shown[key])
                if self.early:
                    # a finished field's value comes from ``through``; an unfinished built one
                    # (its validators still to run) shows them its raw JSON, as pydantic would
                    doc[key] = None if plan.name in final else raw_doc[key]
            elif self.early:
                doc[key] = raw
        shell = self._derived(frozenset(final), frozenset(through) - set(final), frozenset())
        instance = self._validate(shell, doc, through, loc, context)
        if shell is not self.model:
            tmp = instance
            instance = self.model.model_construct(
                tmp.model_fields_set, **tmp.__dict__, **(tmp.__pydantic_extra__ or {})
            )
            if tmp.__pydantic_private__:
                instance.__pydantic_private__ = dict(tmp.__pydantic_private__)
        return instance, instance

    @staticmethod
    def _validate(
        cls: type[BaseModel], doc: Any, values: Mapping[str, Any], loc: Path, context: Any
    ) -> BaseModel:
        token = _PASSTHROUGH.set(values)
        try:
            return cls.model_validate_json(pydantic_core.to_json(doc), context=context)
        except ValidationError as exc:
            raise from_pydantic(exc, loc) from None
        finally:
            _PASSTHROUGH.reset(token)

    def _derived(
        self,
        done: frozenset[str],
        kept: frozenset[str],
        skipped: frozenset[str],
        probe: bool = False,
    ) -> type[BaseModel]:
        """A subclass of the model (so its methods and config stay) in which the fields in
        ``done`` are passed through without their validators, those in ``kept`` are passed
        through with their validators, those in ``skipped`` are ignored, and (for a probe)
        the model validators are dropped. Cached: one per combination."""
        cache_key = (done, kept, skipped, probe)
        cls = self._derived_cache.get(cache_key)
        if cls is not None:
            return cls
        if not (done or kept or skipped or probe):
            self._derived_cache[cache_key] = self.model
            return self.model
        overrides: dict[str, Any] = {}
        for name in done | kept:
            info = copy.copy(self.model.model_fields[name])
            keep = name in kept
            info.metadata = [m for m in info.metadata if keep and isinstance(m, _VALIDATOR_TYPES)]
            overrides[name] = (Annotated[Any, _passthrough(name)], info)
        for name in skipped:
            overrides[name] = (Annotated[Any, SkipValidation()], None)
        cls = create_model(  # type: ignore[call-overload]
            self.model.__name__, __base__=self.model, __module__=self.model.__module__, **overrides
        )
        decs = cls.__pydantic_decorators__
        drop = done | skipped
        for ref, dec in list(decs.field_validators.items()):
            names = tuple(self.model.model_fields) if "*" in dec.info.fields else dec.info.fields
            left = tuple(n for n in names if n not in drop)
            if not left:
                del decs.field_validators[ref]
            elif left != dec.info.fields:
                narrowed = dataclasses.replace(dec.info, fields=left, check_fields=False)
                decs.field_validators[ref] = dataclasses.replace(dec, info=narrowed)
        if probe:
            decs.model_validators.clear()
        cls.model_rebuild(force=True)
        self._derived_cache[cache_key] = cls
        return cls

    @cached_property
    def _derived_cache(self) -> dict[Any, type[BaseModel]]:
        return {}


class WrapperNode(Node):
    """The ``{"items": ...}`` object that carries a non-object root; unwrapped on completion.

    Not a user model: its one key leads to the user's root (``inner``), any other key fails."""

    def __init__(self, key: str, inner: Node) -> None:
        super().__init__(dict)
        self.key = key
        self.inner = inner

    def container_kind(self) -> ValueKind | None:
        return "object"

    def child(self, key: PathItem) -> Node:
        return self.inner if key == self.key else ANY

    def has_key(self, key: PathItem) -> bool:
        return key == self.key

    def check_child(self, key: PathItem, loc: Path) -> None:
        if key != self.key:
            raise error(loc, "extra_forbidden", "Extra inputs are not permitted", key)

    def complete(self, value: Any, loc: Path, context: Any = None) -> tuple[Any, Any]:
        validated, handoff = value[:2]
        if self.key not in validated:
            raise error(loc, "missing", "Field required", handoff)
        return validated[self.key], handoff[self.key]


class UnionNode(Node):
    """A union. The builder narrows it to one member as soon as the prefix decides (the JSON
    kind; a key only one member has; a failed check; a discriminator's value), and shows
    nothing for it until then. A value that never narrows is validated whole on completion.
    """

    def __init__(
        self,
        annotation: Any,
        metadata: Sequence[Any],
        options: Sequence[Any],
        nullable: bool = False,
    ) -> None:
        super().__init__(annotation, metadata)
        self._metadata = tuple(metadata)
        self.options = tuple(options)
        self.nullable = nullable
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
                    self.branches[value] = _with_policy(_model_node(option), self.policy)

    @cached_property
    def members(self) -> tuple[Node, ...]:
        """The members' nodes (compiled lazily, so recursive unions work)."""
        if self.tag_key is not None:
            return tuple(dict.fromkeys(self.branches.values()))
        # the union's display policies hold for whichever member it narrows to
        policies = [m for m in self._metadata if is_policy(m)]
        return tuple(compile_node(option, policies, self.config) for option in self.options)

    @cached_property
    def tag_node(self) -> Node:
        """Checks the discriminator's value while it is written (a tag no member has fails)."""
        return ChoiceNode(Any, (), list(self.branches), "literal")

    def accepts_kind(self, kind: ValueKind) -> bool:
        return (kind == "literal" and self.nullable) or any(
            m.accepts_kind(kind) for m in self.members
        )

    def for_kind(self, kind: ValueKind) -> list[Node]:
        """The members a value of ``kind`` can still be. A JSON string with a plain ``str``
        member is that member: pydantic's smart mode takes an exact type match first; a
        ``null`` of an optional union stays the union (validated whole)."""
        if kind == "literal" and self.nullable:
            return [self]
        members = [m for m in self.members if m.accepts_kind(kind)]
        if kind == "string":
            exact: list[Node] = [m for m in members if type(m) is StrNode]
            if exact:
                return exact[:1]
        return members

    def branch(self, tag: Any) -> ModelNode | None:
        """The member a complete discriminator value names, if any."""
        return self.branches.get(tag) if isinstance(tag, (str, int, bool)) else None

    def check_string(self, length: int, text: Callable[[], str], loc: Path) -> None:
        # a leaf union: fails once no string-taking member accepts the prefix
        errors: list[dict[str, Any]] = []
        for member in self.members:
            if not member.accepts_kind("string"):
                continue
            try:
                member.check_string(length, text, loc)
                return
            except StreamValidationError as exc:
                errors.extend(relabel(exc, loc, member))
        if errors:
            raise StreamValidationError(errors)


def relabel(exc: StreamValidationError, loc: Path, member: Node) -> list[dict[str, Any]]:
    """``exc``'s errors with the union member's label inserted after ``loc``, as pydantic
    reports a union's errors."""
    out = []
    for err in exc.errors():
        err = dict(err)
        rest = tuple(err["loc"])[len(loc) :]
        err["loc"] = tuple(loc) + (member_label(member),) + rest
        out.append(err)
    return out


class NullableNode(Node):
    """``Optional[X]``: ``null`` validates through the full annotation, anything else is ``X``."""

    def __init__(self, annotation: Any, metadata: Sequence[Any], inner: Node) -> None:
        super().__init__(annotation, metadata)
        self.inner = inner
        self.shows_partial_string = inner.shows_partial_string

    def accepts_kind(self, kind: ValueKind) -> bool:
        return kind == "literal" or self.inner.accepts_kind(kind)

    def has_key(self, key: PathItem) -> bool:
        return has_key(self.inner, key)


def has_key(node: Node, key: PathItem) -> bool:
    """Whether ``node`` names ``key`` (a model's field); open mappings name every key."""
    if isinstance(node, (ModelNode, NullableNode, WrapperNode)):
        return node.has_key(key)
    if isinstance(node, UnionNode):
        return any(has_key(m, key) for m in node.members)
    return node.accepts_kind("object")


def _json_kind(value: Any) -> ValueKind:
    if isinstance(value, str):
        return "string"
    if value is None or isinstance(value, bool):
        return "literal"
    if isinstance(value, (int, float)):
        return "number"
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"


def _has_own_config(tp: Any) -> bool:
    """Types that carry their own config (a TypeAdapter refuses one for them)."""
    tp = _strip_annotated(tp, [])
    return isinstance(tp, type) and (
        issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)
    )


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


def compile_node(
    annotation: Any, metadata: Sequence[Any] = (), config: ConfigDict | None = None
) -> Node:
    """Compile a type annotation (plus field metadata) into a plan node. ``config``: the
    enclosing model's, for the leaves it holds (a strict model's dates are strict)."""
    meta = list(metadata)
    tp = _strip_annotated(annotation, meta)
    origin = get_origin(tp)
    node: Node
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        non_null = [a for a in args if a is not _NONE_TYPE]
        if len(non_null) == 1 and len(args) == 2:
            node = NullableNode(annotation, meta, compile_node(non_null[0], meta, config))
        else:
            node = UnionNode(annotation, meta, non_null, nullable=len(non_null) < len(args))
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        return _with_policy(_model_node(tp), read_policy(meta))
    elif tp is Any or tp is typing.Any:
        return AnyNode(annotation, meta) if read_policy(meta) else ANY
    elif tp is str:
        node = StrNode(annotation, meta)
    elif origin is Literal:
        node = ChoiceNode(annotation, meta, get_args(tp), "literal")
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        node = ChoiceNode(annotation, meta, [m.value for m in tp], "enum")
    elif origin in (list, Sequence, typing.Sequence) or tp is list:
        args = get_args(tp)
        node = ListNode(annotation, meta, compile_node(args[0], (), config) if args else ANY)
    elif origin in (dict, Mapping, typing.Mapping) or tp is dict:
        args = get_args(tp)
        if args and args[0] is not str:
            node = Node(annotation, meta)
        else:
            value = compile_node(args[1], (), config) if len(args) == 2 else ANY
            node = DictNode(annotation, meta, value)
    else:
        node = Node(annotation, meta)
    node.config = config
    return node


_MODEL_NODES: dict[type[BaseModel], ModelNode] = {}


def _with_policy(node: ModelNode, policy: Policy) -> ModelNode:
    """``node`` with ``policy``: model nodes are shared, so policies go on a copy."""
    if not policy:
        return node
    node = copy.copy(node)
    node.policy = policy
    return node


def _model_node(model: type[BaseModel]) -> ModelNode:
    node = _MODEL_NODES.get(model)
    if node is None:
        node = _MODEL_NODES[model] = ModelNode(model)
    return node


def compile_plan(response_model: Any, wrapper_key: str | None) -> Node:
    """The root node for a response model, wrapped the way it travels on the wire."""
    inner = compile_node(response_model)
    return WrapperNode(wrapper_key, inner) if wrapper_key else inner


def has_states(node: Node, _seen: set[int] | None = None) -> bool:
    """Whether a ``WithState`` field lies anywhere at or below ``node``."""
    seen = set() if _seen is None else _seen
    if id(node) in seen:
        return False
    seen.add(id(node))
    if isinstance(node, ModelNode):
        return any(n.policy.with_state or has_states(n, seen) for _, n in node.fields.values())
    if isinstance(node, (NullableNode, WrapperNode)):
        return has_states(node.inner, seen)
    if isinstance(node, ListNode):
        return has_states(node.item, seen)
    if isinstance(node, DictNode):
        return has_states(node.value, seen)
    if isinstance(node, UnionNode):
        return any(has_states(m, seen) for m in node.members)
    return False


def with_states(node: Node, data: Any) -> Any:
    """A complete value's JSON (``data``) with each ``WithState`` field below ``node`` as
    ``{"value": ..., "state": "done"}``: the form the JSON state holds while streaming."""
    if isinstance(node, NullableNode):
        node = node.inner
    if isinstance(node, UnionNode) and isinstance(data, dict):
        fits = [m for m in node.members if all(has_key(m, k) for k in data)]
        node = fits[0] if fits else node
    if isinstance(node, ModelNode) and isinstance(data, dict):
        out = {}
        for key, value in data.items():
            entry = node.fields.get(key)
            if entry is not None:
                sub = entry[1]
                value = with_states(sub, value)
                if sub.policy.with_state:
                    value = {"value": value, "state": "done"}
            out[key] = value
        return out
    if isinstance(node, ListNode) and isinstance(data, list):
        return [with_states(node.item, v) for v in data]
    if isinstance(node, DictNode) and isinstance(data, dict):
        return {k: with_states(node.value, v) for k, v in data.items()}
    return data
