"""Validation exactly as pydantic validates the JSON: strict models, JSON mode, context, and
field validators that run when their field completes (never changing a value shown final)."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.events import PartialEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec

STATES: list[Any] = []  # the JSON state (from the patch ops) after each partial of stream()


def stream(tp: Any, text: str, size: int = 3, **kw: Any) -> tuple[list[Any], Any]:
    s = StreamSession(ResponseSpec.from_type(tp), **kw)
    partials = []
    state: Any = None
    STATES.clear()
    for i in range(0, len(text), size):
        for e in s.feed(text[i : i + size]):
            if isinstance(e, PartialEvent):
                state = apply_patch(state, e.ops)
                partials.append(e.partial)
                STATES.append(json.loads(json.dumps(state)))
    final = s.finish("stop")
    state = apply_patch(state, final.ops)
    assert state == TypeAdapter(tp).dump_python(final.value, mode="json", by_alias=True)
    return partials, final.value


# --- strict models accept what model_validate_json accepts --------------------------------


class StrictInner(BaseModel):
    model_config = ConfigDict(strict=True)
    at: datetime


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True)
    value: date
    at: datetime
    uid: uuid.UUID
    pair: tuple[int, str]
    inner: StrictInner
    items: list[StrictInner]


class FieldStrict(BaseModel):
    value: date = Field(strict=True)
    uid: Annotated[uuid.UUID, Field(strict=True)]


STRICT_DOC = {
    "value": "2026-09-30",
    "at": "2026-09-30T12:00:00Z",
    "uid": "12345678-1234-5678-1234-567812345678",
    "pair": [1, "a"],
    "inner": {"at": "2026-01-01T00:00:00+02:00"},
    "items": [{"at": "2026-01-02T00:00:00Z"}],
}


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_strict_models_take_json_dates_uuids_tuples_and_nested_models(size):
    text = json.dumps(STRICT_DOC)
    _, final = stream(StrictModel, text, size)
    assert final == StrictModel.model_validate_json(text)
    text = json.dumps({"value": "2026-09-30", "uid": STRICT_DOC["uid"]})
    _, final = stream(FieldStrict, text, size)
    assert final == FieldStrict.model_validate_json(text)


def test_strict_still_rejects_what_json_strict_rejects():
    text = json.dumps({**STRICT_DOC, "pair": ["1", "a"]})  # a string for an int: strict says no
    with pytest.raises(ValidationError):
        StrictModel.model_validate_json(text)
    with pytest.raises(ss.StreamValidationError) as info:
        stream(StrictModel, text)
    assert info.value.errors()[0]["type"] == "int_type"
    assert info.value.errors()[0]["loc"] == ("pair", 0)


def test_strict_list_of_dates_outside_a_model():
    _, final = stream(list[date], json.dumps({"items": ["2026-09-30"]}))
    assert final == [date(2026, 9, 30)]


# --- validators: JSON mode, context, when they run ----------------------------------------


def test_validators_see_json_mode_and_the_callers_context():
    seen: list[tuple[str, Any]] = []

    class M(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def rec(cls, v: int, info: Any) -> int:
            seen.append((info.mode, info.context))
            return v

    _, final = stream(M, '{"n": 5}', context={"user": "ada"})
    assert seen == [("json", {"user": "ada"})]
    assert type(final) is M and final.n == 5


def test_a_field_is_shown_complete_only_with_its_validated_value():
    calls = []

    class Order(BaseModel):
        item: str
        quantity: int
        note: Annotated[str, AfterValidator(str.upper)]

        @field_validator("quantity")
        @classmethod
        def plus_one(cls, v: int) -> int:
            calls.append(v)
            return v + 1

    text = json.dumps({"item": "pen", "quantity": 21, "note": "fast"})
    partials, final = stream(Order, text, size=2)
    shown_q = {
        p.quantity for p in partials if isinstance(p, ss.PartialModel) and p.is_complete("quantity")
    }
    shown_n = {p.note for p in partials if isinstance(p, ss.PartialModel) and p.is_complete("note")}
    assert shown_q == {22} and shown_n == {"FAST"}  # never 21, never "fast" as final
    assert calls == [21]  # once, as under model_validate_json
    assert final == Order(item="pen", quantity=21, note="fast")


def test_out_of_order_fields_wait_for_the_model():
    class M(BaseModel):
        a: int = 0
        b: int

        @field_validator("b")
        @classmethod
        def b_sees_a(cls, v: int, info: Any) -> int:
            return v + info.data.get("a", 0)

    text = json.dumps({"b": 1, "a": 10})  # b first: its validator would see no "a" yet
    partials, final = stream(M, text, size=1)
    assert final == M.model_validate_json(text) and final.b == 11
    for p in partials:
        if isinstance(p, ss.PartialModel) and p.b is not None:
            assert not p.is_complete("b")  # shown, but never as final


def test_before_model_validator_defers_every_field():
    class M(BaseModel):
        x: int

        @model_validator(mode="before")
        @classmethod
        def double(cls, data: Any) -> Any:
            return {"x": data["x"] * 2}

    partials, final = stream(M, '{"x": 4}', size=1)
    assert final.x == 8 and final == M.model_validate_json('{"x": 4}')
    assert not any(p.is_complete("x") for p in partials if isinstance(p, ss.PartialModel))


def test_default_factory_sees_validated_data():
    class M(BaseModel):
        n: int
        label: str = Field(default_factory=lambda data: f"n={data['n']}")

        @field_validator("n")
        @classmethod
        def ten(cls, v: int) -> int:
            return v * 10

    _, final = stream(M, '{"n": 3}')
    assert final == M.model_validate_json('{"n": 3}') and final.label == "n=30"


# --- property: the final, the calls and the shown values are model_validate_json's --------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


LEAF_TYPES: dict[str, tuple[Any, Any]] = {
    "str": (str, st.text(max_size=6)),
    "int": (int, st.integers(-99, 99)),
    "bool": (bool, st.booleans()),
    "date": (date, st.dates().map(lambda d: d.isoformat())),
    "datetime": (
        datetime,
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
            lambda d: d.isoformat() + "Z"
        ),
    ),
    "uuid": (uuid.UUID, st.uuids().map(str)),
    "tuple": (tuple[int, str], st.tuples(st.integers(0, 9), st.text(max_size=3)).map(list)),
    "enum": (Color, st.sampled_from(["red", "blue"])),
    "literal": (Literal["x", "y"], st.sampled_from(["x", "y"])),
    "union": (Union[int, str], st.one_of(st.integers(0, 9), st.text(max_size=3))),
}

CALLS: list[tuple[str, str, str]] = []


def _recorder(model: str, field: str, mode: str, transform: bool) -> Any:
    def check(cls: Any, v: Any, info: Any) -> Any:
        CALLS.append((model, field, info.mode))
        if transform and isinstance(v, int) and not isinstance(v, bool):
            return v + 1
        if transform and isinstance(v, str) and mode == "after":
            return v + "!"
        return v

    return field_validator(field, mode=mode)(classmethod(check))  # type: ignore[arg-type]


@st.composite
def models(draw: Any, depth: int = 0) -> tuple[type[BaseModel], Any]:
    """A pydantic model and a strategy for its valid JSON documents."""
    name = f"G{depth}x{draw(st.integers(0, 10**9))}"
    strict = draw(st.booleans())
    fields: dict[str, Any] = {}
    values: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        fname = f"f{i}"
        kind = draw(st.sampled_from([*LEAF_TYPES, "model", "list"] if depth < 2 else [*LEAF_TYPES]))
        if kind == "model":
            sub, sub_values = draw(models(depth + 1))
            tp, strat = sub, sub_values
        elif kind == "list":
            sub, sub_values = draw(models(depth + 1))
            tp, strat = list[sub], st.lists(sub_values, max_size=2)  # type: ignore[valid-type]
        else:
            tp, strat = LEAF_TYPES[kind]
            if kind not in ("literal", "union") and draw(st.booleans()):
                tp = Annotated[tp, Field(strict=draw(st.booleans()))]
            if draw(st.integers(0, 2)) == 0:
                mode = draw(st.sampled_from(["before", "after"]))
                validators[f"v{i}"] = _recorder(name, fname, mode, draw(st.booleans()))
        fields[fname] = (tp, ...)
        values[fname] = strat
    if draw(st.booleans()):

        def after(self: Any) -> Any:
            CALLS.append((name, "<model>", "after"))
            return self

        validators["mv"] = model_validator(mode="after")(after)
    model = create_model(  # type: ignore[call-overload]
        name, __config__=ConfigDict(strict=strict), __validators__=validators, **fields
    )
    return model, st.fixed_dictionaries(values)


def _walk_complete(value: Any, path: tuple, out: dict[tuple, Any]) -> None:
    """Every value a snapshot presents as final, by path."""
    if isinstance(value, ss.PartialModel):
        for name in type(value).model_fields:
            v = getattr(value, name)
            if value.is_complete(name):
                out[(*path, name)] = v
            else:
                _walk_complete(v, (*path, name), out)
    elif isinstance(value, BaseModel):
        out[path] = value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk_complete(v, (*path, i), out)


def _state_at(state: Any, path: tuple) -> Any:
    for part in path:
        state = state[part]
    return state


def _at(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_streaming_validates_exactly_as_model_validate_json(data):
    model, docs = data.draw(models())
    doc = data.draw(docs)
    text = json.dumps(doc)
    CALLS.clear()
    try:
        expected = model.model_validate_json(text)
    except ValidationError:
        expected = None
    expected_calls = sorted(CALLS)
    CALLS.clear()
    size = data.draw(st.integers(1, 16))
    if expected is None:  # e.g. a strict model and a value JSON strict mode rejects
        with pytest.raises(ss.StreamValidationError):
            stream(model, text, size)
        return
    partials, final = stream(model, text, size)
    assert final == expected
    assert sorted(CALLS) == expected_calls  # the same validators, as often, in JSON mode
    shown: dict[tuple, Any] = {}
    for p, state in zip(partials, STATES):
        now: dict[tuple, Any] = {}
        _walk_complete(p, (), now)
        for path, v in now.items():
            if path in shown:
                assert shown[path] == v, path  # a value shown final never changes
            shown[path] = v
            # ... and the JSON state (what the web shows) holds the same value
            assert _state_at(state, path) == TypeAdapter(Any).dump_python(v, mode="json")
    for path, v in shown.items():
        assert _at(final, path) == v, path
    assert TypeAdapter(model).dump_python(final, mode="json") == TypeAdapter(model).dump_python(
        expected, mode="json"
    )
