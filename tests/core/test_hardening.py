"""Bad input is a typed error at the character that decides it; deep and long documents work
and their snapshots stay honest (sizes here are modest: the costs are in bench/)."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

import schemastream as ss
from schemastream.core import StreamSession
from schemastream.events import PartialEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec


class Tag(BaseModel):
    label: str
    weight: int = 1


class Idea(BaseModel):
    title: str
    blurb: str = Field(max_length=140)
    tags: list[Tag] = []
    meta: dict[str, int] = {}
    parent: Optional[Tag] = None


IDEA = {
    "title": "Voice notes",
    "blurb": "Speak and it types.",
    "tags": [{"label": "audio", "weight": 2}, {"label": "fast"}],
    "meta": {"a": 1},
    "parent": {"label": "root"},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    value = json.loads(json.dumps(value))
    target = value
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return value


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "leaf"


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([False, True]))
def test_any_value_anywhere_is_the_same_result_or_a_stream_validation_error(data, lenient):
    tp = data.draw(st.sampled_from([Idea, list[Idea]]))
    base: Any = IDEA if tp is Idea else [IDEA, IDEA]
    path = data.draw(st.sampled_from(_paths(base)))
    new = data.draw(json_values)
    doc = _replace(base, path, new)
    spec = ResponseSpec.from_type(tp)
    wire = {spec.wrapper_key: doc} if spec.wrapper_key else doc
    text = json.dumps(wire)
    try:
        from pydantic import TypeAdapter

        expected = TypeAdapter(tp).validate_json(json.dumps(doc))
    except ValidationError:
        expected = None
    s = StreamSession(spec, lenient=lenient)
    offset = None
    try:
        for i, c in enumerate(text):
            offset = i
            s.feed(c)
        final = s.finish("stop").value
    except ss.JsonStreamError:
        # lenient parsing (the JSON modes) looks for an object or array in the text: a bare
        # scalar answer is no JSON at all there
        assert lenient and path == () and _kind(new) == "leaf" and expected is None
        return
    except ss.StreamValidationError:
        assert expected is None, "a valid document was rejected"
        # a container of the wrong kind where a model or list is due fails at its first char
        old = base
        for part in path:
            old = old[part]
        if _kind(new) != _kind(old) and _kind(old) != "leaf" and _kind(new) != "leaf":
            start = text.index(json.dumps(new)) if path else None
            if start is not None and text.count(json.dumps(new)) == 1:
                assert offset == start
        return
    assert expected is not None, "an invalid document was accepted"
    assert final == expected


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ('{"items": [[[]]]}', "model_type"),  # the [ where an Idea is due
        ('{"items": [[]]}', "model_type"),
        ('{"items": ["x"]}', "model_type"),
        ('{"items": [{}]}', "missing"),
        ('{"items": [1]}', "model_type"),
        ('{"items": [null]}', "model_type"),
        ('{"items": {}}', "list_type"),
        ('{"items": [{"title": "t", "blurb": "b", "tags": {}}]}', "list_type"),
        ('{"items": [{"title": "t", "blurb": "b", "tags": ["x"]}]}', "model_type"),
        ('{"items": [{"title": "t", "blurb": "b", "meta": []}]}', "dict_type"),
    ],
)
@pytest.mark.parametrize("lenient", [False, True])
def test_wrong_kind_is_a_stream_validation_error(text, type_, lenient):
    s = StreamSession(ResponseSpec.from_type(list[Idea]), lenient=lenient)
    with pytest.raises(ss.StreamValidationError) as info:
        s.feed(text)
        s.finish("stop")
    assert info.value.errors()[0]["type"] == type_


def test_null_or_text_where_an_object_is_due_in_json_mode():
    # in the JSON / MD_JSON modes (lenient parsing) a model may answer in prose: typed errors
    for text in ('Sure! {"items": null}', 'Here: {"items": "none"}'):
        s = StreamSession(ResponseSpec.from_type(list[Idea]), lenient=True)
        with pytest.raises(ss.StreamValidationError):
            s.feed(text)
            s.finish("stop")


# --- depth --------------------------------------------------------------------------------


class Node(BaseModel):
    name: str
    child: Optional[Node] = None


def _chain(depth: int) -> str:
    return '{"name": "n", "child": ' * depth + '{"name": "leaf"}' + "}" * depth


def _depth_of(node: Any) -> int:
    n = 0
    while node.child is not None:
        node, n = node.child, n + 1
    return n


@pytest.mark.parametrize("partials", [True, False])
def test_nesting_past_pydantics_serialisation_limit(partials):
    # 600 models = 1,200 JSON levels: past pydantic's 255 (dump) and 200 (its JSON parser)
    text = _chain(600)
    s = StreamSession(ResponseSpec.from_type(Node), max_depth=1300, partials=partials)
    state = None
    for i in range(0, len(text), 64):
        for e in s.feed(text[i : i + 64]):
            state = apply_patch(state, e.ops)
    final = s.finish("stop")
    state = apply_patch(state, final.ops)
    assert type(final.value) is Node and _depth_of(final.value) == 600
    depth, node = 0, state
    while node.get("child") is not None:
        assert node["name"] == "n"
        node, depth = node["child"], depth + 1
    assert depth == 600 and node == {"name": "leaf", "child": None}


def test_the_depth_limit_is_a_json_stream_error_at_the_documented_default():
    s = StreamSession(ResponseSpec.from_type(Node))
    with pytest.raises(ss.JsonStreamError) as info:
        s.feed(_chain(10_000))
    assert "max_depth=512" in str(info.value)
    s = StreamSession(ResponseSpec.from_type(Node))  # 255 models = 511 levels: inside it
    s.feed(_chain(255))
    assert _depth_of(s.finish("stop").value) == 255


# --- long strings -------------------------------------------------------------------------


class Essay(BaseModel):
    title: str
    body: str


def test_a_long_string_streams_with_every_snapshot_whole_and_paced():
    body = "".join(f"word{i} " for i in range(40_000))  # ~270 K characters
    text = json.dumps({"title": "T", "body": body})
    s = StreamSession(ResponseSpec.from_type(Essay))
    snapshots, state = 0, None
    prefix = len('{"title": "T", "body": "')
    for i in range(0, len(text), 4):
        for e in s.feed(text[i : i + 4]):
            assert isinstance(e, PartialEvent)
            state = apply_patch(state, e.ops)
            shown = e.partial.body or ""
            # honest: the whole string written so far, nothing invented, nothing dropped
            assert shown == text[prefix : prefix + len(shown)]
            assert state.get("body", "") == shown
            assert len(shown) >= min(i + 4 - prefix, 4096) or i + 4 <= prefix
            snapshots += 1
    final = s.finish("stop")
    assert apply_patch(state, final.ops) == {"title": "T", "body": body}
    # every delta below 4 KiB, then as the string grows by 1/32 of itself: ~32 ln(n) more
    assert snapshots < 1500  # ~1,300 here, against 67,000 deltas


def test_ops_only_consumers_get_every_delta_and_no_snapshot():
    body = "x" * 20_000
    text = json.dumps({"title": "T", "body": body})
    s = StreamSession(ResponseSpec.from_type(Essay), partials=False)
    events = [e for i in range(0, len(text), 4) for e in s.feed(text[i : i + 4])]
    assert all(e.partial is None for e in events)
    assert len(events) > len(text) // 4 - 10  # not paced: the wire gets every change
    state = None
    for e in events:
        state = apply_patch(state, e.ops)
    assert apply_patch(state, s.finish("stop").ops) == {"title": "T", "body": body}
