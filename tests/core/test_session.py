"""The sans-IO core: typed partials, incremental validation, patch ops, emission control."""

from __future__ import annotations

import enum
import json
import random
import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.events import FinalEvent, ItemEvent, PartialEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec
from tests.models import Idea


def session(tp, **kw) -> StreamSession:
    return StreamSession(ResponseSpec.from_type(tp), **kw)


def wire(tp, value) -> str:
    spec = ResponseSpec.from_type(tp)
    return json.dumps({spec.wrapper_key: value} if spec.wrapper_key else value)


def chunks(text: str, size: int):
    return [text[i : i + size] for i in range(0, len(text), size)]


def run(tp, text: str, size: int = 4, **kw):
    s = session(tp, **kw)
    events = []
    for c in chunks(text, size):
        events.extend(s.feed(c))
    events.append(s.finish("stop"))
    return s, events


IDEAS = [
    {"title": "Voice notes", "blurb": "Record and transcribe."},
    {"title": "Daily digest", "blurb": "A summary every morning."},
    {"title": "Templates", "blurb": "Start from a shape."},
]


def test_list_of_models_partials_are_typed_and_honest():
    s, events = run(list[Idea], wire(list[Idea], IDEAS), size=3)
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    assert len(partials) > 20
    for p in partials:
        assert isinstance(p, list)
        for item in p[:-1]:
            assert type(item) is Idea  # completed items are real, validated instances
        if p and not isinstance(p[-1], Idea):
            last = p[-1]
            assert isinstance(last, ss.PartialModel)
            assert not ss.is_complete(last)
            assert last.title is None or IDEAS[len(p) - 1]["title"].startswith(last.title)
    final = events[-1]
    assert isinstance(final, FinalEvent)
    assert final.value == [Idea(**i) for i in IDEAS]
    assert [e.index for e in events if isinstance(e, ItemEvent)] == [0, 1, 2]


def test_completed_items_are_built_once_and_shared():
    s, events = run(list[Idea], wire(list[Idea], IDEAS), size=2)
    first_seen = {}
    for e in events:
        if isinstance(e, PartialEvent):
            for i, item in enumerate(e.partial):
                if isinstance(item, Idea):
                    assert first_seen.setdefault(i, item) is item
    assert len(first_seen) == 3
    assert all(a is b for a, b in zip(events[-1].value, first_seen.values()))


def test_is_complete_per_field_and_path():
    s = session(list[Idea])
    s.feed('{"items": [{"title": "Voice", ')
    p = s.builder.snapshot()[0]
    assert p.is_complete("title") and not p.is_complete("blurb")
    assert ss.is_complete(p, "title") and not ss.is_complete(p)
    assert s.is_complete((0, "title")) and not s.is_complete((0,))
    s.feed('"blurb": "Rec')
    p = s.builder.snapshot()[0]
    assert p.blurb == "Rec" and not p.is_complete("blurb")


class Person(BaseModel):
    name: str
    age: int


def test_number_not_final_until_delimiter():
    s = session(Person)
    s.feed('{"name": "Ada", "age": 3')
    assert s.builder.snapshot().age is None
    s.feed("6")
    assert s.builder.snapshot().age is None
    s.feed("}")
    assert s.builder.snapshot() == Person(name="Ada", age=36)


class Counted(BaseModel):
    calls: dict = {}
    name: str

    @field_validator("name")
    @classmethod
    def count_field(cls, v):
        COUNTS["field"] = COUNTS.get("field", 0) + 1
        return v

    @model_validator(mode="after")
    def count_model(self):
        COUNTS["model"] = COUNTS.get("model", 0) + 1
        return self


COUNTS: dict[str, int] = {}


class Outer(BaseModel):
    inner: list[Counted]
    label: str

    @model_validator(mode="after")
    def count_outer(self):
        COUNTS["outer"] = COUNTS.get("outer", 0) + 1
        return self


def test_validators_run_exactly_once_per_value_and_never_on_partials():
    COUNTS.clear()
    doc = {"inner": [{"name": "a" * 30}, {"name": "b" * 30}], "label": "x" * 40}
    s = session(Outer)
    for c in chunks(json.dumps(doc), 1):
        s.feed(c)
    assert COUNTS == {"field": 2, "model": 2, "outer": 1}
    final = s.finish("stop").value
    assert isinstance(final, Outer) and final.label == "x" * 40
    assert COUNTS == {"field": 2, "model": 2, "outer": 1}


def test_max_length_fails_at_the_first_character_too_many():
    text = wire(list[Idea], [{"title": "t", "blurb": "x" * 200}])
    s = session(list[Idea])
    fed = ""
    with pytest.raises(ss.StreamValidationError) as info:
        for ch in text:
            fed += ch
            s.feed(ch)
    assert fed.endswith('"' + "x" * 141)  # stopped at the 141st character
    err = info.value.errors()[0]
    assert err["type"] == "string_too_long" and err["loc"] == (0, "blurb")
    assert err["ctx"] == {"max_length": 140}
    assert info.value.path == (0, "blurb") and info.value.constraint == "string_too_long"


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["bug", "feature"]
    tags: list[str] = Field(default_factory=list, max_length=2)


@pytest.mark.parametrize(
    ("text", "etype", "loc", "stop"),
    [
        ('{"kind": "bux"}', "literal_error", ("kind",), '{"kind": "bux'),
        (
            '{"kind": "bug", "tags": ["a", "b", "c"]}',
            "too_long",
            ("tags", 2),
            '{"kind": "bug", "tags": ["a", "b", "',
        ),
        ('{"kind": "bug", "oops": 1}', "extra_forbidden", ("oops",), '{"kind": "bug", "oops": 1'),
    ],
)
def test_early_failures_are_typed_and_immediate(text, etype, loc, stop):
    s = session(Ticket)
    fed = ""
    with pytest.raises(ss.StreamValidationError) as info:
        for ch in text:
            fed += ch
            s.feed(ch)
    assert info.value.errors()[0]["type"] == etype
    assert info.value.errors()[0]["loc"] == loc
    assert fed == stop or fed.startswith(stop[: len(fed)]) and len(fed) <= len(stop)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Bounded(BaseModel):
    n: int = Field(ge=0, le=10)
    code: str = Field(pattern=r"^[A-Z]{3}$", min_length=3)
    color: Color


@pytest.mark.parametrize(
    ("doc", "etype", "loc"),
    [
        ('{"n": 11, ', "less_than_equal", ("n",)),
        ('{"n": 1, "code": "ab", ', "string_too_short", ("code",)),
        ('{"n": 1, "code": "abc", ', "string_pattern_mismatch", ("code",)),
        ('{"n": 1, "code": "ABC", "color": "blu', "enum", ("color",)),
    ],
)
def test_constraints_checked_when_the_value_completes(doc, etype, loc):
    s = session(Bounded)
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed(doc)
    assert info.value.errors()[0]["type"] == etype
    assert info.value.errors()[0]["loc"] == loc


class Event(BaseModel):
    id: uuid.UUID
    at: datetime
    color: Color
    note: Optional[str] = None


def test_json_mode_coercion_in_partials_and_final():
    uid = str(uuid.uuid4())
    doc = {"id": uid, "at": "2024-05-01T12:00:00Z", "color": "green", "note": "hello"}
    s = session(Event)
    seen_at = []
    for c in chunks(json.dumps(doc), 3):
        for e in s.feed(c):
            if isinstance(e, PartialEvent):
                seen_at.append(e.partial.at)
    assert all(a is None or isinstance(a, datetime) for a in seen_at)  # no half-written dates
    assert any(isinstance(a, datetime) for a in seen_at)
    final = s.finish("stop").value
    assert final.at == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert final.color is Color.GREEN and final.id == uuid.UUID(uid)


class Cat(BaseModel):
    type: Literal["cat"]
    meows: int


class Dog(BaseModel):
    type: Literal["dog"]
    barks: int


class Zoo(BaseModel):
    animals: list[Annotated[Union[Cat, Dog], Field(discriminator="type")]]
    keepers: dict[str, Person] = {}
    nick: str = Field(alias="nickName")


def test_unions_dicts_aliases_defaults():
    doc = {
        "animals": [{"type": "cat", "meows": 2}, {"type": "dog", "barks": 3}],
        "keepers": {"k1": {"name": "Bo", "age": 40}},
        "nickName": "Zed",
    }
    s, events = run(Zoo, json.dumps(doc), size=5)
    final = events[-1].value
    assert isinstance(final.animals[0], Cat) and isinstance(final.animals[1], Dog)
    assert isinstance(final.keepers["k1"], Person) and final.nick == "Zed"
    mid = [e.partial for e in events if isinstance(e, PartialEvent)]
    assert any(isinstance(p.keepers, dict) and p.keepers for p in mid)
    # an animal still being written is typed by its tag as soon as the tag is complete
    in_progress = [p.animals[-1] for p in mid if p.animals and not ss.is_complete(p.animals[-1])]
    typed = [a for a in in_progress if isinstance(a, ss.PartialModel)]
    assert {type(a).__name__ for a in typed} == {"PartialCat", "PartialDog"}
    assert all(a.type in ("cat", "dog") for a in typed)


def test_patch_ops_rebuild_the_validated_final_json():
    class WithDefault(BaseModel):
        title: str
        score: int = 5

    for tp, value in [
        (list[Idea], IDEAS),
        (list[WithDefault], [{"title": "a"}, {"title": "b", "score": 1}]),
        (Outer, {"inner": [{"name": "q"}], "label": "L"}),
        (list[datetime], ["2024-01-01T00:00:00+00:00"]),
    ]:
        s, events = run(tp, wire(tp, value), size=3)
        state = None
        for e in events:
            if isinstance(e, (PartialEvent, FinalEvent)):
                state = apply_patch(state, e.ops)
        from pydantic import TypeAdapter

        assert state == TypeAdapter(tp).dump_python(events[-1].value, mode="json", by_alias=True)


def test_patch_bytes_grow_linearly_and_never_resend_strings():
    def sent(copies: int) -> int:
        _, events = run(list[Idea], wire(list[Idea], IDEAS * copies), size=4)
        ops = [op for e in events if isinstance(e, (PartialEvent, FinalEvent)) for op in e.ops]
        assert not any(op["op"] == "replace" for op in ops)  # validated JSON == streamed JSON
        return sum(len(json.dumps(op)) for op in ops)

    small, large = sent(20), sent(80)
    assert 3.8 < large / small < 4.2  # linear in the document, not quadratic


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({"title": st.text(max_size=20), "blurb": st.text(max_size=40)}),
        max_size=6,
    ),
    st.integers(1, 9),
    st.randoms(use_true_random=False),
)
def test_any_chunking_same_final_and_monotone_partials(items, size, rnd):
    text = wire(list[Idea], items)
    s = session(list[Idea])
    pos, snaps = 0, []
    while pos < len(text):
        step = rnd.randint(1, size)
        for e in s.feed(text[pos : pos + step]):
            if isinstance(e, PartialEvent):
                snaps.append(e.partial)
        pos += step
    final = s.finish("stop").value
    assert final == [Idea(**i) for i in items]
    for snap in snaps:
        for i, item in enumerate(snap):
            if isinstance(item, Idea):
                assert item == final[i]
            else:
                for f in ("title", "blurb"):
                    v = getattr(item, f)
                    assert v is None or getattr(final[i], f).startswith(v)


def test_emission_control():
    text = wire(list[Idea], IDEAS)
    _, every = run(list[Idea], text, size=2)
    _, fields = run(list[Idea], text, size=2, granularity="field")
    _, items = run(list[Idea], text, size=2, granularity="item")
    n = lambda evs: sum(isinstance(e, PartialEvent) for e in evs)  # noqa: E731
    assert n(every) > n(fields) > n(items) == 3
    # debounce: with a clock that never advances only the first change and item completions emit
    s = session(list[Idea], debounce=10.0)
    out = []
    for c in chunks(text, 2):
        out.extend(s.feed(c, now=0.0))
    assert sum(isinstance(e, PartialEvent) for e in out) == 1 + 3
    # nothing is emitted when nothing visible changed
    s = session(Person)
    assert s.feed('{"name": "A", "age": 1') and s.feed("2") == []


def test_max_items_budget_returns_the_first_n():
    s = session(list[Idea], max_items=2)
    for c in chunks(wire(list[Idea], IDEAS), 4):
        s.feed(c)
        if s.budget_reached:
            break
    final = s.finish(None)
    assert final.value == [Idea(**i) for i in IDEAS[:2]]


def test_truncated_output_is_incomplete_with_completed_items():
    text = wire(list[Idea], IDEAS)
    s = session(list[Idea])
    s.feed(text[: len(text) // 2 + 10])
    with pytest.raises(ss.IncompleteOutputError) as info:
        s.finish("length")
    assert info.value.completed_items == [Idea(**IDEAS[0])]


def test_random_models_roundtrip_through_every_chunk_size():
    rnd = random.Random(7)
    doc = {
        "inner": [{"name": "n" * rnd.randint(0, 30)} for _ in range(5)],
        "label": "é\u20ac\U0001f600",
    }
    expected = Outer.model_validate(doc)
    for size in range(1, 12):
        _, events = run(Outer, json.dumps(doc, ensure_ascii=bool(size % 2)), size=size)
        final = events[-1]
        # the whole model (every name, every character, in order), not only the label
        assert isinstance(final, FinalEvent) and final.value == expected, size
        assert [i.name for i in final.value.inner] == [i["name"] for i in doc["inner"]]
        state = None  # the patch ops a client applies give back the same document
        for e in events:
            if isinstance(e, (PartialEvent, FinalEvent)):
                state = apply_patch(state, e.ops)
        assert state == expected.model_dump(mode="json"), size
