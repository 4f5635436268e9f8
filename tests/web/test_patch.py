"""Patch ops: apply / diff / to_rfc6902 against each other, and the `append` extension."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemastream.patch import (
    PatchError,
    apply_patch,
    diff,
    format_pointer,
    json_equal,
    parse_pointer,
    to_rfc6902,
)

keys = st.text(alphabet=st.sampled_from("ab~/0-"), min_size=0, max_size=3)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=6)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


def grow(value: Any, extra: str) -> Any:
    """Grow every string in value (as a model writing more characters would)."""
    if isinstance(value, str):
        return value + extra
    if isinstance(value, list):
        return [grow(v, extra) for v in value]
    if isinstance(value, dict):
        return {k: grow(v, extra) for k, v in value.items()}
    return value


# -- a strict RFC 6902 applier (add / replace / remove / test only; no `append`) ------------


def rfc6902_apply(doc: Any, ops: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for op in ops:
        assert op["op"] in ("add", "replace", "remove", "test"), op
        tokens = (
            [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
            if op["path"]
            else []
        )
        if not tokens:
            assert op["op"] != "remove"
            if op["op"] in ("add", "replace"):
                doc = copy.deepcopy(op["value"])
            continue
        parent = doc
        for t in tokens[:-1]:
            parent = parent[int(t)] if isinstance(parent, list) else parent[t]
        last = tokens[-1]
        if isinstance(parent, list):
            if op["op"] == "add":
                idx = len(parent) if last == "-" else int(last)
                assert 0 <= idx <= len(parent)
                parent.insert(idx, copy.deepcopy(op["value"]))
            else:
                idx = int(last)
                assert 0 <= idx < len(parent)
                if op["op"] == "remove":
                    del parent[idx]
                elif op["op"] == "replace":
                    parent[idx] = copy.deepcopy(op["value"])
        else:
            assert isinstance(parent, dict)
            if op["op"] == "add":
                parent[last] = copy.deepcopy(op["value"])
            else:
                assert last in parent, f"{op['op']} of a missing member {op}"
                if op["op"] == "remove":
                    del parent[last]
                elif op["op"] == "replace":
                    parent[last] = copy.deepcopy(op["value"])
    return doc


# -- properties ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=6))
def test_any_snapshot_sequence_diffs_and_applies_to_same_final(snapshots: list[Any]) -> None:
    state: Any = None
    strict: Any = None
    for snap in snapshots:
        before = copy.deepcopy(state)
        ops = diff(state, snap)
        new_state = apply_patch(state, ops)
        assert json_equal(new_state, snap)
        assert json_equal(state, before)  # the old state was not mutated
        strict = rfc6902_apply(strict, to_rfc6902(ops, state))
        assert json_equal(strict, snap)
        state = new_state
    assert json_equal(state, snapshots[-1])
    assert diff(state, snapshots[-1]) == []


@settings(max_examples=150, deadline=None)
@given(json_values, st.text(min_size=1, max_size=5))
def test_growing_strings_are_sent_as_appends(value: Any, extra: str) -> None:
    grown = grow(value, extra)
    ops = diff(value, grown)
    assert json_equal(apply_patch(value, ops), grown)
    for op in ops:
        if op["op"] == "append":
            assert op["value"] == extra
    strict = to_rfc6902(ops, value)
    assert all(op["op"] != "append" for op in strict)
    assert json_equal(rfc6902_apply(value, strict), grown)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=4), min_size=1, max_size=8))
def test_append_sequence_on_one_string(pieces: list[str]) -> None:
    state: Any = {"items": [{"title": ""}]}
    for p in pieces:
        state = apply_patch(state, [{"op": "append", "path": "/items/0/title", "value": p}])
    assert state == {"items": [{"title": "".join(pieces)}]}


# -- examples ------------------------------------------------------------------------------


def test_diff_shapes() -> None:
    assert diff(None, [1]) == [{"op": "replace", "path": "", "value": [1]}]
    assert diff([{"t": "ab"}], [{"t": "abcd"}, {"t": ""}]) == [
        {"op": "append", "path": "/0/t", "value": "cd"},
        {"op": "add", "path": "/1", "value": {"t": ""}},
    ]
    assert diff({"a/b": 1, "c": 2}, {"a/b": 1}) == [{"op": "remove", "path": "/c"}]
    assert diff([1, 2, 3], [1]) == [{"op": "remove", "path": "/2"}, {"op": "remove", "path": "/1"}]
    assert diff({"x": True}, {"x": 1}) == [{"op": "replace", "path": "/x", "value": 1}]
    assert diff({"x": "abc"}, {"x": "xbc"}) == [{"op": "replace", "path": "/x", "value": "xbc"}]


def test_structural_sharing() -> None:
    old = {"items": [{"a": "x"}, {"b": "y"}], "meta": {"k": 1}}
    new = apply_patch(old, [{"op": "append", "path": "/items/1/b", "value": "z"}])
    assert new["items"][1] == {"b": "yz"} and old["items"][1] == {"b": "y"}
    assert new["items"][0] is old["items"][0] and new["meta"] is old["meta"]


def test_pointers() -> None:
    assert format_pointer(["items", 3, "a/b", "c~d"]) == "/items/3/a~1b/c~0d"
    assert parse_pointer("/items/3/a~1b/c~0d") == ["items", "3", "a/b", "c~d"]
    assert parse_pointer("") == []
    assert apply_patch(
        {"a/b": {"~": "x"}}, [{"op": "append", "path": "/a~1b/~0", "value": "y"}]
    ) == {"a/b": {"~": "xy"}}


def test_list_add_with_dash_and_test_op() -> None:
    assert apply_patch(
        [1], [{"op": "add", "path": "/-", "value": 2}, {"op": "test", "path": "/1", "value": 2}]
    ) == [1, 2]
    with pytest.raises(PatchError):
        apply_patch([1], [{"op": "test", "path": "/0", "value": True}])


@pytest.mark.parametrize(
    "state, op",
    [
        ({"a": 1}, {"op": "append", "path": "/a", "value": "x"}),  # not a string
        ({"a": "s"}, {"op": "append", "path": "/a", "value": 1}),  # value not a string
        ({}, {"op": "append", "path": "/a", "value": "x"}),  # missing
        ({}, {"op": "replace", "path": "/a", "value": 1}),
        ({}, {"op": "remove", "path": "/a"}),
        ([1], {"op": "replace", "path": "/1", "value": 1}),
        ([1], {"op": "add", "path": "/01", "value": 1}),
        ([1], {"op": "add", "path": "/3", "value": 1}),
        ({"a": 1}, {"op": "add", "path": "/a/b", "value": 1}),
        ({"a": 1}, {"op": "move", "from": "/a", "path": "/b"}),
        ({"a": 1}, {"op": "add", "path": "a", "value": 1}),
        ({"a": 1}, {"path": "/a"}),
        ({"a": 1}, {"op": "add", "path": "/b"}),
    ],
)
def test_invalid_ops_raise_patch_error(state: Any, op: dict[str, Any]) -> None:
    with pytest.raises(PatchError):
        apply_patch(state, [op])


def test_append_extends_arrays() -> None:
    assert diff([1], [1, 2, 3]) == [{"op": "append", "path": "", "value": [2, 3]}]
    assert apply_patch({"a": [1]}, [{"op": "append", "path": "/a", "value": [2, [3]]}]) == {
        "a": [1, 2, [3]]
    }
    assert to_rfc6902([{"op": "append", "path": "/a", "value": [2, 3]}], {"a": [1]}) == [
        {"op": "add", "path": "/a/1", "value": 2},
        {"op": "add", "path": "/a/2", "value": 3},
    ]
    with pytest.raises(PatchError):
        apply_patch({"a": [1]}, [{"op": "append", "path": "/a", "value": "x"}])
    with pytest.raises(PatchError):
        apply_patch({"a": "s"}, [{"op": "append", "path": "/a", "value": ["x"]}])


def test_to_rfc6902_uses_running_state() -> None:
    ops = [
        {"op": "add", "path": "/0", "value": {"t": "a"}},
        {"op": "append", "path": "/0/t", "value": "b"},
        {"op": "append", "path": "/0/t", "value": "c"},
    ]
    assert to_rfc6902(ops, []) == [
        ops[0],
        {"op": "replace", "path": "/0/t", "value": "ab"},
        {"op": "replace", "path": "/0/t", "value": "abc"},
    ]
