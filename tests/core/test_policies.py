"""Display policies (Done, NotNull, WithState, StreamCheck), field states and typed unions in
the sans-IO core: what every surface renders is decided here, once."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional, Union

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.events import PartialEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec


def wire(tp: Any, value: Any) -> str:
    spec = ResponseSpec.from_type(tp)
    return json.dumps({spec.wrapper_key: value} if spec.wrapper_key else value)


def run(tp: Any, value: Any, size: int = 3, **kw: Any):
    """Stream ``value`` in ``size``-character chunks; returns (partials, states, final, ops).

    ``states`` is the JSON state the patch ops build, after each partial event."""
    s = StreamSession(ResponseSpec.from_type(tp), **kw)
    text = wire(tp, value)
    partials, states, all_ops = [], [], []
    state = None
    for i in range(0, len(text), size):
        for e in s.feed(text[i : i + size]):
            if isinstance(e, PartialEvent):
                state = apply_patch(state, e.ops)
                all_ops.extend(e.ops)
                partials.append(e.partial)
                states.append(json.loads(json.dumps(state)))
    final = s.finish("stop")
    state = apply_patch(state, final.ops)
    all_ops.extend(final.ops)
    assert state == TypeAdapter(tp).dump_python(final.value, mode="json", by_alias=True)
    return partials, states, final.value, all_ops


class Card(BaseModel):
    title: Annotated[str, ss.NotNull]
    url: Annotated[str, ss.Done]
    blurb: str = ""


CARDS = [
    {"title": "Voice notes", "url": "https://example.com/voice", "blurb": "Speak, it types."},
    {"title": "Daily digest", "url": "https://example.com/digest", "blurb": "Every morning."},
]


# --- Done ---------------------------------------------------------------------------------


def test_done_field_appears_only_whole_in_partials_and_ops():
    partials, states, final, ops = run(list[Card], CARDS, size=4)
    urls = {c["url"] for c in CARDS}
    for p in partials:
        for card in p:
            assert card.url is None or card.url in urls
            assert card.url is None or ss.is_complete(card, "url")
    for st_ in states:
        for card in st_:
            assert "url" not in card or card["url"] in urls
    url_ops = [op for op in ops if op["path"].endswith("/url")]
    assert [op["op"] for op in url_ops] == ["add", "add"]  # one op each, no appends
    assert final == [Card(**c) for c in CARDS]


def test_done_on_list_items_shows_whole_cards_only():
    class Idea(BaseModel):
        title: str
        blurb: str

    tp = list[Annotated[Idea, ss.Done]]
    ideas = [{"title": "a" * 10, "blurb": "b" * 20}, {"title": "c" * 5, "blurb": "d" * 9}]
    partials, states, final, ops = run(tp, ideas, size=2)
    assert [len(p) for p in partials] == [0, 1, 2]  # the empty list, then one card at a time
    for p in partials:
        assert all(type(item) is Idea for item in p)
    assert ops[1:] == [{"op": "add", "path": f"/{i}", "value": v} for i, v in enumerate(ideas)]


def test_done_called_and_on_nested_model_and_list():
    class Inner(BaseModel):
        name: str
        size: int

    class Outer(BaseModel):
        label: str
        inner: Annotated[Inner, ss.Done()]
        tags: Annotated[list[str], ss.Done()]

    doc = {"label": "L", "inner": {"name": "nnnnnn", "size": 3}, "tags": ["x", "yy", "zzz"]}
    partials, states, final, _ = run(Outer, doc, size=2)
    for p in partials:
        assert p.inner is None or type(p.inner) is Inner
        assert p.tags is None or p.tags == doc["tags"]
    assert any(p.inner is None and p.label == "L" for p in partials)
    assert final == Outer(**doc)


def test_done_root_shows_nothing_until_the_end():
    class Idea(BaseModel):
        title: str

    tp = Annotated[list[Idea], ss.Done]
    partials, _, final, _ = run(tp, [{"title": "abc"}, {"title": "def"}], size=3)
    assert all(p is None for p in partials[:-1])
    assert final == [Idea(title="abc"), Idea(title="def")]


# --- NotNull ------------------------------------------------------------------------------


def test_not_null_hides_the_object_and_its_list_slot_until_the_field_has_a_value():
    doc = [{"url": "https://a.b/c", "blurb": "first the blurb", "title": "T1"}]
    partials, states, final, _ = run(list[Card], doc, size=3)
    for p in partials:
        for card in p:
            assert card.title  # never shown without a title
    # the card was held back while its url and blurb were written
    assert partials[0] == []
    first_shown = next(p for p in partials if p)
    assert first_shown[0].title == "T" and first_shown[0].blurb == "first the blurb"
    assert first_shown[0].url == "https://a.b/c"
    for st_ in states:
        assert all(card.get("title") for card in st_)


def test_not_null_non_string_field_needs_completion():
    class Row(BaseModel):
        n: Annotated[int, ss.NotNull]
        note: str

    partials, _, final, _ = run(list[Row], [{"note": "hello", "n": 12345}], size=2)
    for p in partials:
        for row in p:
            assert row.n == 12345
    assert final == [Row(n=12345, note="hello")]


def test_not_null_object_completing_without_the_field_is_shown():
    class Opt(BaseModel):
        title: Annotated[Optional[str], ss.NotNull] = None
        body: str

    partials, _, final, _ = run(list[Opt], [{"body": "only a body"}], size=4)
    assert partials[-1] == [Opt(body="only a body")]
    assert all(p == [] for p in partials[:-1])


# --- field states -------------------------------------------------------------------------


def test_field_state_on_partials_and_by_path():
    class Idea(BaseModel):
        title: str
        blurb: str

    s = StreamSession(ResponseSpec.from_type(list[Idea]))
    s.feed('{"items": [{"title": "Ab", "bl')
    p = s.builder.snapshot()[0]
    assert ss.field_state(p, "title") == "done"
    assert ss.field_state(p, "blurb") == "pending"
    assert s.field_state((0, "title")) == "done"
    assert s.field_state((0, "blurb")) == "pending"
    assert s.field_state((0,)) == "streaming"
    s.feed('urb": "x')
    p = s.builder.snapshot()[0]
    assert ss.field_state(p, "blurb") == "streaming"
    assert s.field_state((0, "blurb")) == "streaming"
    s.feed('y"}]}')
    final = s.finish("stop").value
    assert ss.field_state(final[0], "blurb") == "done"
    assert s.field_state((0, "blurb")) == "done"
    assert ss.field_state(None, "title") == "pending"
    with pytest.raises(AttributeError):
        ss.field_state(p, "nope")
    with pytest.raises(TypeError):
        ss.field_state("text", "title")


def test_with_state_carries_the_state_in_the_json_state():
    class S(BaseModel):
        title: str
        blurb: Annotated[str, ss.WithState]

    partials, states, final, ops = run(list[S], [{"title": "T", "blurb": "hello"}], size=3)
    seen = [st_[0]["blurb"]["state"] for st_ in states if st_ and "blurb" in st_[0]]
    assert seen[0] == "pending" and "streaming" in seen and seen[-1] == "done"
    streaming = [
        st_[0]["blurb"] for st_ in states if st_ and st_[0]["blurb"]["state"] == "streaming"
    ]
    assert all("hello".startswith(b["value"]) for b in streaming)
    assert final == [S(title="T", blurb="hello")]  # run() checked the final state is plain


# --- StreamCheck --------------------------------------------------------------------------


def no_competitor(text: str) -> None:
    if "acme" in text.lower():
        raise ValueError("names a competitor")


def test_stream_check_on_a_string_fails_at_the_prefix():
    class Ad(BaseModel):
        blurb: Annotated[str, ss.StreamCheck(no_competitor)]

    s = StreamSession(ResponseSpec.from_type(Ad))
    s.feed('{"blurb": "Better than AC')
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed('ME and more"}')
    err = info.value.errors()[0]
    assert err["type"] == "value_error" and err["loc"] == ("blurb",)
    assert err["msg"] == "Value error, names a competitor"


def test_stream_check_on_a_list_sees_items_so_far():
    def unique(items: list[str]) -> None:
        assert len(items) == len(set(items)), "duplicate tag"

    class Tags(BaseModel):
        tags: Annotated[list[str], ss.StreamCheck(unique)]

    seen: list[list[str]] = []

    def record(items: list[str]) -> None:
        seen.append(list(items))

    class Rec(BaseModel):
        tags: Annotated[list[str], ss.StreamCheck(record)]

    run(Rec, {"tags": ["a", "b"]}, size=2)
    assert seen[:2] == [["a"], ["a", "b"]]
    s = StreamSession(ResponseSpec.from_type(Tags))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed('{"tags": ["x", "y", "x", "z"')
    assert info.value.errors()[0]["type"] == "assertion_error"
    assert info.value.errors()[0]["loc"] == ("tags",)


def test_stream_check_rejects_a_non_callable():
    with pytest.raises(TypeError):
        ss.StreamCheck("nope")  # type: ignore[arg-type]


# --- unions -------------------------------------------------------------------------------


class A(BaseModel):
    a: str
    n: int = 0


class B(BaseModel):
    b: str


def _never_dicts(value: Any) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _never_dicts(v)
    if isinstance(value, list):
        for v in value:
            assert not isinstance(v, dict), v
            _never_dicts(v)
    if isinstance(value, BaseModel):
        for v in value.__dict__.values():
            assert (
                not isinstance(v, dict)
                or v == {}
                or all(isinstance(x, BaseModel) for x in v.values())
            )
            _never_dicts(v)


@pytest.mark.parametrize("spelling", ["pep604", "typing"])
def test_list_of_plain_union_items_are_typed_at_every_moment(spelling):
    item = A | B if spelling == "pep604" else Union[A, B]

    class Root(BaseModel):
        xs: list[item]  # type: ignore[valid-type]

    doc = {"xs": [{"a": "one", "n": 5}, {"b": "two"}, {"n": 7, "a": "x"}]}
    partials, _, final, _ = run(Root, doc, size=2)
    for p in partials:
        _never_dicts(p)
        for x in p.xs or []:
            assert isinstance(x, (A, B, ss.PartialModel)), x
            if isinstance(x, ss.PartialModel):
                assert x.__schemastream_model__ in (A, B)
    assert any(
        isinstance(p.xs[-1], ss.PartialModel) and p.xs[-1].a == "o" for p in partials if p.xs
    )
    # {"n": 7, ...}: "n" is A's only, so the third item is a PartialA before "a" arrives
    assert any(
        p.xs and len(p.xs) == 3 and type(p.xs[2]).__name__ == "PartialA" and p.xs[2].a is None
        for p in partials
    )
    assert final == Root.model_validate(doc)


def test_union_shows_nothing_until_a_key_decides():
    class C(BaseModel):
        shared: str
        c: int

    class D(BaseModel):
        shared: str
        d: int

    tp = list[C | D]
    partials, states, final, _ = run(tp, [{"shared": "same", "d": 1}], size=2)
    before = [p for p in partials if p == []]
    assert before  # while only "shared" was written, the slot is empty
    assert final == [D(shared="same", d=1)]
    for st_ in states:
        assert st_ == [] or st_ == [{"shared": "same"}] or st_ == [{"shared": "same", "d": 1}]


def test_literal_value_narrows_a_plain_union():
    class X(BaseModel):
        kind: Literal["x"]
        v: int

    class Y(BaseModel):
        kind: Literal["y"]
        v: int

    partials, _, final, _ = run(list[X | Y], [{"kind": "y", "v": 2}], size=1)
    typed = [p[0] for p in partials if p]
    assert typed and all(type(t).__name__ in ("PartialY", "Y") for t in typed)
    assert final == [Y(kind="y", v=2)]


def test_discriminated_union_shows_nothing_until_the_tag_is_complete():
    class Cat(BaseModel):
        kind: Literal["cat"]
        meow: str

    class Dog(BaseModel):
        kind: Literal["dog"]
        bark: str

    Pet = Annotated[Union[Cat, Dog], Field(discriminator="kind")]
    partials, _, final, _ = run(dict[str, Pet], {"rex": {"kind": "dog", "bark": "woof"}}, size=1)
    for p in partials:
        for v in p.values():
            assert type(v).__name__ in ("PartialDog", "Dog")
            assert v.kind == "dog"
    assert final == {"rex": Dog(kind="dog", bark="woof")}
    s = StreamSession(ResponseSpec.from_type(dict[str, Pet]))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed('{"value": {"rex": {"kind": "co')
    assert info.value.errors()[0]["type"] == "literal_error"


def test_optional_and_nested_unions_and_str_or_model():
    class Cat(BaseModel):
        kind: Literal["cat"]
        lives: int

    class Dog(BaseModel):
        kind: Literal["dog"]
        good: bool

    class Note(BaseModel):
        text: str

    Pet = Annotated[Union[Cat, Dog], Field(discriminator="kind")]

    class Root(BaseModel):
        maybe: Optional[Union[A, B]] = None
        nested: Union[Pet, Note]
        either: Union[str, Note]

    doc = {"maybe": None, "nested": {"kind": "cat", "lives": 9}, "either": "plain text here"}
    partials, _, final, _ = run(Root, doc, size=2)
    assert any(p.either == "plain text" for p in partials)  # a str member streams its text
    for p in partials:
        assert p.nested is None or type(p.nested).__name__ in ("PartialCat", "Cat")
    assert final == Root.model_validate(doc)
    doc2 = {"nested": {"text": "n"}, "either": {"text": "an object"}, "maybe": {"b": "bb"}}
    partials, _, final, _ = run(Root, doc2, size=2)
    for p in partials:
        assert p.either is None or isinstance(p.either, (str, Note, ss.PartialModel))
        assert not isinstance(p.either, str)
        assert p.maybe is None or type(p.maybe).__name__ in ("PartialB", "B")
    assert final == Root.model_validate(doc2)


def test_no_member_fits_fails_fast_with_every_members_error():
    class Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")
        a: str

    class Other(BaseModel):
        model_config = ConfigDict(extra="forbid")
        b: str

    s = StreamSession(ResponseSpec.from_type(list[Strict | Other]))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed('{"items": [{"zzz": "')
    errors = info.value.errors()
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("extra_forbidden", (0, "Strict", "zzz")),
        ("extra_forbidden", (0, "Other", "zzz")),
    ]
    s = StreamSession(ResponseSpec.from_type(list[A | B]))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed('{"items": [[')
    assert [e["type"] for e in info.value.errors()] == ["model_type", "model_type"]


@pytest.mark.parametrize(
    ("tp", "text", "type_"),
    [
        (list[A], '{"items": [[', "model_type"),
        (list[A], '{"items": ["', "model_type"),
        (list[A], '{"items": [1', "model_type"),
        (A, '["', "model_type"),
        (list[list[A]], '{"items": [{', "list_type"),
        (dict[str, A], '{"value": [', "dict_type"),
        (A, '{"a": 5', "string_type"),
    ],
)
def test_wrong_json_kind_fails_at_its_first_character(tp, text, type_):
    s = StreamSession(ResponseSpec.from_type(tp))
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed(text)
    assert info.value.errors()[0]["type"] == type_


# --- the JSON schema providers get --------------------------------------------------------


def test_policies_stay_out_of_the_json_schema():
    class Plain(BaseModel):
        title: str
        url: str
        tags: list[str]

    class Marked(BaseModel):
        title: Annotated[str, ss.NotNull, ss.WithState]
        url: Annotated[str, ss.Done]
        tags: Annotated[list[Annotated[str, ss.Done()]], ss.StreamCheck(len)]

    plain, marked = ResponseSpec.from_type(list[Plain]), ResponseSpec.from_type(list[Marked])
    for attr in ("json_schema", "strict_json_schema"):
        got = json.dumps(getattr(marked, attr)).replace("Marked", "Plain")
        assert got == json.dumps(getattr(plain, attr))


# --- property: no snapshot ever breaks a policy -------------------------------------------

LEAVES = {"str": str, "int": int}


@st.composite
def policy_models(draw: Any, depth: int = 0, prefix: str = "f") -> type[BaseModel]:
    n = draw(st.integers(1, 4))
    fields: dict[str, Any] = {}
    for i in range(n):
        kind = draw(
            st.sampled_from(
                ["str", "int", "model", "list", "union"] if depth < 2 else ["str", "int"]
            )
        )
        if kind == "model":
            tp: Any = draw(policy_models(depth + 1))
        elif kind == "union":  # members with keys of their own: a key decides
            tp = Union[draw(policy_models(depth + 1, "a")), draw(policy_models(depth + 1, "b"))]
        elif kind == "list":
            inner = draw(st.sampled_from(["str", "model"]))
            item = draw(policy_models(depth + 1)) if inner == "model" else str
            if draw(st.booleans()):
                item = Annotated[item, ss.Done]
            tp = list[item]  # type: ignore[valid-type]
        else:
            tp = LEAVES[kind]
        marks = draw(st.lists(st.sampled_from([ss.Done, ss.NotNull, ss.WithState]), max_size=2))
        fields[f"{prefix}{i}"] = (Annotated[(tp, *marks)] if marks else tp, ...)
    return create_model(f"M{depth}_{draw(st.integers(0, 10**6))}", **fields)  # type: ignore[call-overload]


def _doc(draw: Any, model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        out[name] = _value(draw, info.annotation)
    return out


def _value(draw: Any, tp: Any) -> Any:
    from typing import get_args, get_origin

    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if tp is str:
        return draw(st.text(max_size=8))
    if tp is int:
        return draw(st.integers(-1000, 1000))
    if get_origin(tp) is list:
        return [_value(draw, get_args(tp)[0]) for _ in range(draw(st.integers(0, 3)))]
    if get_origin(tp) is Union:
        return _doc(draw, draw(st.sampled_from(get_args(tp))))
    return _doc(draw, tp)


def _marks(info: Any) -> set[type]:
    return {m if isinstance(m, type) else type(m) for m in info.metadata}


def _check_snapshot(value: Any, model: type[BaseModel]) -> None:
    """No Done value incomplete, no NotNull-gated object early, no dict for a model."""
    assert value is None or isinstance(value, BaseModel), value
    if value is None or not isinstance(value, ss.PartialModel):
        return
    assert value.__schemastream_model__ is model
    for name, info in model.model_fields.items():
        marks = _marks(info)
        v = getattr(value, name)
        if ss.Done in marks:
            assert v is None or value.is_complete(name), (name, v)
        if ss.NotNull in marks:
            assert v is not None and (v != "" or value.is_complete(name)), (name, v)
        _check_field(v, info.annotation)


def _check_field(v: Any, tp: Any) -> None:
    from typing import get_args, get_origin

    done = False
    while get_origin(tp) is Annotated:
        done = done or any(m is ss.Done for m in get_args(tp)[1:])
        tp = get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if done:
            assert v is None or type(v) is tp
        _check_snapshot(v, tp)
    elif get_origin(tp) is list and v is not None:
        for x in v:
            _check_field(x, get_args(tp)[0])
    elif get_origin(tp) is Union and v is not None:
        members = get_args(tp)
        model = getattr(v, "__schemastream_model__", type(v))
        assert model in members, v  # a typed member at every moment, never a dict
        if done:
            assert type(v) in members
        _check_snapshot(v, model)


def _strip_states(state: Any) -> Any:
    if isinstance(state, dict):
        if set(state) == {"value", "state"} and state["state"] in ("pending", "streaming", "done"):
            return _strip_states(state["value"])
        return {k: _strip_states(v) for k, v in state.items() if _strip_states(v) is not None}
    if isinstance(state, list):
        return [_strip_states(v) for v in state]
    return state


def _shown(value: Any) -> Any:
    data = pydantic_core.to_jsonable_python(value)
    return _strip_states(data)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_snapshot_ever_breaks_a_policy(data):
    model = data.draw(policy_models())
    doc = _doc(data.draw, model)
    tp = data.draw(st.sampled_from([model, list[model]]))
    value = doc if tp is model else [doc, _doc(data.draw, model)]
    size = data.draw(st.integers(1, 12))
    partials, states, final, _ = run(tp, value, size=size)
    for p, state in zip(partials, states):
        for item in p if isinstance(p, list) else [p]:
            _check_snapshot(item, model)
        # what the ops built is exactly what the snapshot shows
        assert _strip_states(state) == _shown(p)
    assert final == TypeAdapter(tp).validate_json(json.dumps(value))


def test_done_on_a_union_holds_for_the_member_it_narrows_to():
    partials, _, final, _ = run(
        list[Annotated[Union[A, B], ss.Done]], [{"a": "xx"}, {"b": "yyy"}], 2
    )
    assert all(type(x) in (A, B) for p in partials for x in p)  # whole items only
    assert final == [A(a="xx"), B(b="yyy")]

    class Holder(BaseModel):
        x: Annotated[A | B, ss.Done]
        y: Annotated[str | A, ss.Done()]

    partials, _, final, _ = run(Holder, {"x": {"b": "bbb"}, "y": "text"}, 2)
    for p in partials:
        assert p.x is None or type(p.x) is B
        assert p.y in (None, "text")
