"""Partial model classes: the user's structure with every field optional.

A snapshot mixes two kinds of objects:

- instances of the user's own model (``Idea``): complete and validated, reused unchanged in
  every later snapshot;
- instances of ``partial_model(Idea)`` (named ``PartialIdea``): still being written, built
  with ``model_construct`` (no validation, no validators run). Fields that have not arrived
  are ``None``; a plain string field may hold the text written so far.

``is_complete(obj)`` and ``is_complete(obj, "field")`` tell them apart;
``field_state(obj, "field")`` says ``"pending"``, ``"streaming"`` or ``"done"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, create_model

from ..policies import FieldState

T = TypeVar("T")


class PartialModel(BaseModel):
    """Base class of generated partial models. Never validated; built by the stream."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())
    __schemastream_model__: ClassVar[type[BaseModel]]
    __schemastream_empty__: ClassVar[dict[str, Any]] = {}
    _ss_complete: frozenset[str] = PrivateAttr(default=frozenset())
    _ss_open: str | None = PrivateAttr(default=None)

    def is_complete(self, field: str | None = None) -> bool:
        """``False`` for the object itself; for a field, ``True`` once its value is final."""
        return False if field is None else field in self._ss_complete

    def field_state(self, field: str) -> FieldState:
        """``"done"`` (final, validated), ``"streaming"`` (being written, shown or not) or
        ``"pending"`` (not started)."""
        if field not in type(self).model_fields:
            raise AttributeError(f"{type(self).__name__} has no field {field!r}")
        if field in self._ss_complete:
            return "done"
        return "streaming" if field == self._ss_open else "pending"

    @property
    def completed_fields(self) -> frozenset[str]:
        return self._ss_complete

    @classmethod
    def build(
        cls, fields: dict[str, Any], complete: frozenset[str], open_field: str | None = None
    ) -> PartialModel:
        # What ``model_construct`` does, minus its per-call generality: this runs once per
        # snapshot for every open object, so it is on the hot path.
        obj = cls.__new__(cls)
        values = dict(cls.__schemastream_empty__)
        values.update(fields)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(
            obj, "__pydantic_private__", {"_ss_complete": complete, "_ss_open": open_field}
        )
        return obj


_PARTIALS: dict[type[BaseModel], type[PartialModel]] = {}


def partial_model(model: type[BaseModel]) -> type[PartialModel]:
    """The partial class for ``model`` (cached)."""
    cls = _PARTIALS.get(model)
    if cls is None:
        fields: dict[str, Any] = {name: (Any, None) for name in model.model_fields}
        cls = create_model(  # type: ignore[call-overload]
            f"Partial{model.__name__}",
            __base__=PartialModel,
            __module__=model.__module__,
            **fields,
        )
        cls.__schemastream_model__ = model
        cls.__schemastream_empty__ = dict.fromkeys(model.model_fields)
        _PARTIALS[model] = cls
    return cls


def is_complete(obj: Any, field: str | None = None) -> bool:
    """Whether ``obj`` (or its ``field``) is final and validated.

    Instances of the user's models in a snapshot are always complete. For partial objects
    use ``field`` to ask about one field. Scalars carry no mark of their own: ask their parent
    (``is_complete(idea, "title")``) or the stream (``stream.is_complete((0, "title"))``).
    """
    if isinstance(obj, PartialModel):
        return obj.is_complete(field)
    if isinstance(obj, BaseModel):
        return True
    if isinstance(obj, (list, tuple)) and field is None:
        return all(is_complete(x) for x in obj)
    return True


def field_state(obj: Any, field: str) -> FieldState:
    """The state of ``obj``'s ``field`` in a snapshot: ``"pending"`` (not started),
    ``"streaming"`` (being written) or ``"done"`` (final and validated).

    Instances of the user's models are complete (every field ``"done"``); ``None`` (an object
    a display policy or an undecided union still hides) has every field ``"pending"``.
    """
    if isinstance(obj, PartialModel):
        return obj.field_state(field)
    if isinstance(obj, BaseModel):
        if field not in type(obj).model_fields:
            raise AttributeError(f"{type(obj).__name__} has no field {field!r}")
        return "done"
    if obj is None:
        return "pending"
    raise TypeError(f"field_state() takes a model instance from a snapshot, not {type(obj)!r}")


class _PartialMarker:
    def __repr__(self) -> str:
        return "<schemastream.Partial>"


PARTIAL_MARKER = _PartialMarker()

if TYPE_CHECKING:
    # For type checkers ``Partial[Idea]`` reads as ``Idea`` (attribute access type-checks);
    # at run time any field of a partial may still be ``None``.
    Partial = Annotated[T, PARTIAL_MARKER]
else:

    class Partial:
        """``Partial[T]``: the type of snapshots of ``T`` (use in annotations).

        ``Partial[Idea]`` at run time is ``Annotated[Idea, <marker>]``; use
        :func:`partial_model` for the concrete class of in-progress objects.
        """

        def __class_getitem__(cls, item: Any) -> Any:
            return Annotated[item, PARTIAL_MARKER]
