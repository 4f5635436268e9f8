"""JsonStreamParser(lenient=True): what models really write, under every split point.

Lenient mode accepts prose before the JSON (skipped up to the first ``{``/``[``, or up to the
end of a ```json / ``` fence line), Markdown fences, trailing commas before ``}``/``]``,
``//`` and ``/* */`` comments wherever whitespace is allowed, and anything after the root
value. Strict mode must reject each of these inputs.
"""

from __future__ import annotations

import pytest

from schemastream.errors import JsonStreamError
from schemastream.jsonstream import JsonStreamParser, StringDelta, ValueEnd, ValueStart

from .helpers import Checked, parse, parse_error, same, singles, split_at

# (input, expected value)
CASES = [
    (
        'Sure! Here you go:\n```json\n{"a": [1, 2,],}\n```\nHope it helps',
        {"a": [1, 2]},
    ),
    ('```json\n[{"x": "y"}]\n```', [{"x": "y"}]),
    ('```\n{"a": 1}\n```\n', {"a": 1}),
    ('Here is the object: {"a": 1} -- let me know!', {"a": 1}),
    ('{"a": 1}\n```\nMore text with {braces} and [brackets]', {"a": 1}),
    ("[1, 2] trailing garbage", [1, 2]),
    ('\ufeff{"a": 1}', {"a": 1}),
    ("[1,]", [1]),
    ('{"a": 1,}', {"a": 1}),
    ('[[1,],{"b": [],},]', [[1], {"b": []}]),
    ('{"a": {"b": 1,},}', {"a": {"b": 1}}),
    ("[1,\n]", [1]),
    ("[1, /* c */ ]", [1]),
    ("[1, // c\n]", [1]),
    (
        '{/* c */"a"/* c */:/* c */[/* c */1/* c */,// c\n2// c\n]/* c */}',
        {"a": [1, 2]},
    ),
    ('{"a"// c\n: 1}', {"a": 1}),
    ("[1/*c*/,/*c*/2]", [1, 2]),
    ("[1//c\n]", [1]),
    ("[-1.5e3/**/]", [-1500.0]),
    ('{"a": true/*c*/, "b": null// c\n}', {"a": True, "b": None}),
    ("[1 /* a * b / c **/, 2]", [1, 2]),
    ("[1 /***/ ]", [1]),
    ("[/* // */ 1]", [1]),
    ("[// /* \n 1]", [1]),
    ('// note\n{"a": 1}', {"a": 1}),
    ('/* note */ {"a": 1}', {"a": 1}),
    ('{"a": 1} // done', {"a": 1}),
    ('{"a": 1} /* unterminated', {"a": 1}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_lenient_every_split(text: str, expected: object) -> None:
    assert same(parse([text], lenient=True), expected)
    Checked(expected, lenient=True).feed_all(singles(text))
    for i in range(len(text) + 1):
        Checked(expected, lenient=True).feed_all(split_at(text, [i]))


@pytest.mark.parametrize(("text", "expected"), CASES[:4], ids=[repr(c[0][:40]) for c in CASES[:4]])
def test_lenient_every_pair_of_splits(text: str, expected: object) -> None:
    for i in range(len(text) + 1):
        for j in range(i + 1, len(text)):
            assert same(parse(split_at(text, [i, j]), lenient=True), expected), (i, j)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_lenient_as_bytes(text: str, expected: object) -> None:
    data = text.encode()
    assert same(parse(singles(data), lenient=True), expected)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_strict_rejects_lenient_input(text: str, expected: object) -> None:
    for chunks in ([text], singles(text)):
        with pytest.raises(JsonStreamError):
            parse(chunks)


def test_comment_markers_inside_strings_are_text() -> None:
    text = '{"url": "http://x/*y*/", "c": "//", "d": "/*"}'
    expected = {"url": "http://x/*y*/", "c": "//", "d": "/*"}
    for i in range(len(text) + 1):
        Checked(expected, lenient=True).feed_all(split_at(text, [i]))
    assert parse([text]) == expected


# A root that is not a container can only be found after a fence line.
FENCED_SCALARS = [
    ("```json\n42\n```", 42),
    ('```json\n"hi"\n```', "hi"),
    ("```\ntrue\n```\nthat's it", True),
    ("Answer:\n```json\nnull\n```", None),
    ("```json\n-1.5\n```", -1.5),
    ('```json\n"a"\n```\nor maybe [1]', "a"),
]


@pytest.mark.parametrize(
    ("text", "expected"), FENCED_SCALARS, ids=[repr(c[0]) for c in FENCED_SCALARS]
)
def test_fenced_scalar_root(text: str, expected: object) -> None:
    for i in range(len(text) + 1):
        assert same(parse(split_at(text, [i]), lenient=True), expected), i
    with pytest.raises(JsonStreamError):
        parse([text])


def test_comment_with_braces_before_root() -> None:
    """A comment is whitespace, even before the root: braces inside it do not start the JSON."""
    for text, expected in [("/* {x} */ [1]", [1]), ('// see {below}\n{"a": 1}', {"a": 1})]:
        assert same(parse([text], lenient=True), expected), text


def test_partial_value_while_fenced() -> None:
    p = JsonStreamParser(lenient=True)
    p.feed("Sure! Here you go:\n```js")
    assert p.value is None and not p.done
    p.feed('on\n{"a": [1, 2,')
    assert p.value == {"a": [1, 2]}
    p.feed(" /* more */")
    assert p.value == {"a": [1, 2]}
    p.feed("]")
    assert p.is_complete(("a",)) and not p.done
    p.feed(",}\n```\nHope it helps")
    assert p.done
    p.feed("and more text } ] {")
    assert p.close() == {"a": [1, 2]}


def test_offset_counts_skipped_text() -> None:
    text = 'Hi!\n```json\n{"a": 1} /* x */\n```\nbye'
    p = JsonStreamParser(lenient=True)
    for chunk in split_at(text, [3, 10, 15, 25]):
        p.feed(chunk)
    assert p.offset == len(text)


# Still errors in lenient mode.
# A root that breaks before it proves to be JSON ('{"key":' or an array's first complete
# element) is taken for prose: lenient mode rescans after it and fails only at close().
LENIENT_BAD = [
    ("[1,,2]", "feed"),
    ("[,1]", "close"),
    ('{"a",}', "close"),
    ('{"a" 1}', "close"),
    ('{"a": }', "feed"),
    ("[1 2]", "feed"),
    ("{'a': 1}", "close"),
    ("[1, /x]", "feed"),
    ("[1 / 2]", "feed"),
    ('{"a": 01}', "feed"),
    ('["\x01"]', "close"),
    ("[1, /* unterminated", "close"),
    ("[1, // unterminated", "close"),
    ('```json\n{"a": [1, 2', "close"),
    ("Sure, no JSON here.", "close"),
    ("", "close"),
]


@pytest.mark.parametrize(("text", "where"), LENIENT_BAD, ids=[repr(b[0]) for b in LENIENT_BAD])
def test_lenient_still_rejects(text: str, where: str) -> None:
    for chunks in ([text], singles(text)):
        got, exc = parse_error(chunks, lenient=True)
        assert got == where and type(exc) is JsonStreamError, (text, len(chunks))


def test_lenient_limits_still_apply() -> None:
    with pytest.raises(JsonStreamError):
        parse(["Sure:\n```json\n" + "[" * 600], lenient=True)
    with pytest.raises(JsonStreamError):
        parse(["[" * 4], lenient=True, max_depth=3)
    with pytest.raises(JsonStreamError):
        parse(["x" * 100 + "[1]"], lenient=True, max_size=50)


FALSE_STARTS = [
    ('Sure {here} it is:\n```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('See [the docs] or {this one}: {"a": 1}', {"a": 1}),
    ('Use {"braces" like so} -- {"ok": true}', {"ok": True}),
    ('Options [a, b]:\n[{"x": 1}]', [{"x": 1}]),
    ('{"k" then {"a": 2}', {"a": 2}),
]


@pytest.mark.parametrize(
    ("text", "expected"), FALSE_STARTS, ids=[repr(t[0][:20]) for t in FALSE_STARTS]
)
def test_braces_in_prose_are_not_the_json(text: str, expected: object) -> None:
    for size in (len(text), 1, 2, 3, 7):
        p = JsonStreamParser(lenient=True)
        events = []
        for i in range(0, len(text), size):
            events.extend(p.feed(text[i : i + size]))
            assert p.value is None or expected == p.value or isinstance(p.value, (dict, list))
        assert p.close() == expected
        # only the real document's events came out: one start and one end at the root
        assert [e.path for e in events if isinstance(e, ValueStart)][0] == ()
        assert sum(1 for e in events if isinstance(e, ValueStart) and e.path == ()) == 1
        assert [e for e in events if isinstance(e, ValueEnd) and e.path == ()][0].value == expected
        assert "".join(e.text for e in events if isinstance(e, StringDelta)) in text
