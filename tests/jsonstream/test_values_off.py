"""``JsonStreamParser(values=False)``: the same events, but the parser keeps no value.

The streaming session's builder builds every value itself from the events; this is the
parser it uses, so its events must be exactly the default parser's, with ``None`` where a
``ValueEnd`` would carry a string, an object or an array.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemastream.errors import JsonStreamError
from schemastream.jsonstream import JsonStreamParser, ValueEnd, ValueStart

from .helpers import merge_deltas, same, same_events
from .test_properties import SETTINGS, chunkings, documents, padding, small_json_values


def _without_values(events: list[Any]) -> list[Any]:
    """The default parser's events as ``values=False`` gives them."""
    return [
        ValueEnd(e.path, None)
        if isinstance(e, ValueEnd) and isinstance(e.value, (str, dict, list))
        else e
        for e in events
    ]


def _feed(parser: JsonStreamParser, chunks: list[Any]) -> list[Any]:
    events: list[Any] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return events


@SETTINGS
@given(doc=documents(), data=st.data())
def test_same_events_without_values(doc: tuple[Any, str], data: st.DataObject) -> None:
    _, text = doc
    expected = _without_values(merge_deltas(_feed(JsonStreamParser(), [text])))
    events = _feed(JsonStreamParser(values=False), chunkings(data.draw, text))
    assert same_events(merge_deltas(events), expected)


@SETTINGS
@given(
    value=small_json_values,
    prose=st.sampled_from(["", "Here it is: ", "a {brace} first, then ```json\n"]),
    tail=padding,
    data=st.data(),
)
def test_same_events_without_values_lenient(
    value: Any, prose: str, tail: str, data: st.DataObject
) -> None:
    text = prose + json.dumps({"v": value}) + tail  # a root in prose is an object or array
    expected = _without_values(merge_deltas(_feed(JsonStreamParser(lenient=True), [text])))
    events = _feed(JsonStreamParser(lenient=True, values=False), chunkings(data.draw, text))
    assert same_events(merge_deltas(events), expected)


def test_no_value_is_kept() -> None:
    p = JsonStreamParser(values=False)
    events = p.feed('{"a": ["x", 1, true], "b": "yz')
    assert [e for e in events if isinstance(e, ValueEnd)] == [
        ValueEnd(("a", 0), None),
        ValueEnd(("a", 1), 1),
        ValueEnd(("a", 2), True),
        ValueEnd(("a",), None),
    ]
    assert isinstance(events[0], ValueStart)
    assert p.value is None
    p.feed('"}')
    assert p.close() is None
    assert same(JsonStreamParser().feed("[1]")[-1].value, [1])  # the default keeps them


def test_is_complete_needs_values() -> None:
    p = JsonStreamParser(values=False)
    p.feed("[1, 2")
    with pytest.raises(TypeError, match="values=True"):
        p.is_complete((0,))


def test_errors_are_the_same_without_values() -> None:
    for text in ['{"a": [1, 2}', '["\\x"]', "[1, 2] 3", '{"a" 1}']:
        with pytest.raises(JsonStreamError) as want:
            _feed(JsonStreamParser(), [text])
        with pytest.raises(JsonStreamError) as got:
            _feed(JsonStreamParser(values=False), list(text))
        assert (got.value.message, got.value.offset) == (want.value.message, want.value.offset)
