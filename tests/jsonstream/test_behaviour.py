"""JsonStreamParser behaviour in strict mode: partials, events, completeness, errors, limits."""

from __future__ import annotations

import json
import sys

import pytest

from schemastream.errors import JsonStreamError
from schemastream.jsonstream import JsonStreamParser, StringDelta, ValueEnd, ValueStart

from .helpers import Checked, parse, parse_error, same, singles, split_at


def fed(*chunks: str | bytes, **kwargs: object) -> JsonStreamParser:
    p = JsonStreamParser(**kwargs)  # type: ignore[arg-type]
    for chunk in chunks:
        p.feed(chunk)
    return p


# --- honest partial values -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "partial"),
    [
        ('{"age": 3', {}),
        ('{"age": 3}', {"age": 3}),
        ("[1, 2", [1]),
        ("[1, 2,", [1, 2]),
        ("tru", None),
        ("12", None),
        ("-", None),
        ('"abc', "abc"),
        ('"', ""),
        ("{", {}),
        ('{"a', {}),
        ('{"a"', {}),
        ('{"a":', {}),
        ('{"a": tr', {}),
        ('{"a": nul', {}),
        ('{"a": 1.5e', {}),
        ('{"name": "Al', {"name": "Al"}),
        ('{"name": "Al\\', {"name": "Al"}),
        ('{"name": "Al\\u00', {"name": "Al"}),
        ('{"a": [1, {"b": "x', {"a": [1, {"b": "x"}]}),
        ('{"a": [1, {"b": "x"}, [', {"a": [1, {"b": "x"}, []]}),
        ('["ab', ["ab"]),
        ('["ab", "c', ["ab", "c"]),
        ("[true, fals", [True]),
        ('[null, {"k": fals', [None, {}]),
        ('[null, {"k": false', [None, {"k": False}]),
        ('{"a": 1, "b": "', {"a": 1, "b": ""}),
    ],
)
def test_partial_value(text: str, partial: object) -> None:
    assert same(fed(text).value, partial)
    assert same(fed(*singles(text)).value, partial)


def test_partial_value_tracks_growth() -> None:
    p = JsonStreamParser()
    seen = []
    for chunk in ['{"t', 'itle": "He', "llo", '", "n": 4', "2", "}"]:
        p.feed(chunk)
        seen.append(json.dumps(p.value))
    assert seen == [
        "{}",
        '{"title": "He"}',
        '{"title": "Hello"}',
        '{"title": "Hello"}',
        '{"title": "Hello"}',
        '{"title": "Hello", "n": 42}',
    ]
    assert p.close() == {"title": "Hello", "n": 42}


def test_top_level_number_completes_at_close() -> None:
    p = fed("12")
    assert not p.done and p.value is None and not p.is_complete(())
    assert p.close() == 12
    assert p.done


def test_top_level_number_completes_at_whitespace() -> None:
    p = JsonStreamParser()
    assert p.feed("12") == [ValueStart((), "number")]
    assert p.feed(" ") == [ValueEnd((), 12)]
    assert p.done and p.value == 12 and p.is_complete(())
    assert p.close() == 12


def test_nothing_before_the_root_starts() -> None:
    p = JsonStreamParser()
    assert p.value is None and not p.done and p.offset == 0 and not p.is_complete(())
    assert p.feed("") == []
    assert p.feed("  \n\t\r ") == []
    assert p.value is None and not p.done and p.offset == 6


# --- events ----------------------------------------------------------------------------------
def test_events_exact() -> None:
    events = JsonStreamParser().feed('{"a": [1, "xy"], "b": null, "c": {}}')
    assert events == [
        ValueStart((), "object"),
        ValueStart(("a",), "array"),
        ValueStart(("a", 0), "number"),
        ValueEnd(("a", 0), 1),
        ValueStart(("a", 1), "string"),
        StringDelta(("a", 1), "xy"),
        ValueEnd(("a", 1), "xy"),
        ValueEnd(("a",), [1, "xy"]),
        ValueStart(("b",), "literal"),
        ValueEnd(("b",), None),
        ValueStart(("c",), "object"),
        ValueEnd(("c",), {}),
        ValueEnd((), {"a": [1, "xy"], "b": None, "c": {}}),
    ]


def test_events_per_chunk() -> None:
    p = JsonStreamParser()
    assert p.feed('{"s": "he') == [
        ValueStart((), "object"),
        ValueStart(("s",), "string"),
        StringDelta(("s",), "he"),
    ]
    assert p.feed("") == []
    assert p.feed("llo") == [StringDelta(("s",), "llo")]
    assert p.feed('", "n": 1') == [
        ValueEnd(("s",), "hello"),
        ValueStart(("n",), "number"),
    ]
    assert p.feed("0") == []
    assert p.feed("}") == [ValueEnd(("n",), 10), ValueEnd((), {"s": "hello", "n": 10})]


def test_empty_string_has_no_delta() -> None:
    assert JsonStreamParser().feed('[""]') == [
        ValueStart((), "array"),
        ValueStart((0,), "string"),
        ValueEnd((0,), ""),
        ValueEnd((), [""]),
    ]


def test_escape_only_chunk_gives_no_empty_delta() -> None:
    p = fed('"a')
    assert p.feed("\\") == []
    assert p.feed("u00") == []
    assert p.feed("e9") == [StringDelta((), "é")]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("{}", "object"),
        ("[]", "array"),
        ('""', "string"),
        ("-1", "number"),
        ("0", "number"),
        ("true", "literal"),
        ("false", "literal"),
        ("null", "literal"),
    ],
)
def test_kind_known_from_first_character(text: str, kind: str) -> None:
    assert JsonStreamParser().feed(text[0]) == [ValueStart((), kind)]  # type: ignore[arg-type]


def test_member_paths_use_keys_verbatim() -> None:
    doc = '{"0": {"a\\"b": [{"": 1}]}, "\\u00e9": 2}'
    events = JsonStreamParser().feed(doc)
    starts = [ev.path for ev in events if isinstance(ev, ValueStart)]
    assert starts == [(), ("0",), ("0", 'a"b'), ("0", 'a"b', 0), ("0", 'a"b', 0, ""), ("é",)]
    for i in range(len(doc) + 1):
        c = Checked(json.loads(doc))
        c.feed_all(split_at(doc, [i]))


def test_duplicate_keys_last_wins() -> None:
    for doc in ['{"a": 1, "b": 2, "a": 3}', '{"a": {"x": 1}, "a": [2]}', '{"a": "x", "a": "yz"}']:
        expected = json.loads(doc)
        assert same(parse([doc]), expected)
        assert same(parse(singles(doc)), expected)


# --- is_complete -----------------------------------------------------------------------------
def test_is_complete_per_path() -> None:
    doc = '{"a": [1, "x"], "b": {"c": true}, "d": 2}'
    a0, a1, a, c, b, d, root = ("a", 0), ("a", 1), ("a",), ("b", "c"), ("b",), ("d",), ()
    # (prefix, the paths complete after it)
    checkpoints = [
        ("", set()),
        ('{"a": [1', set()),  # a number ends at its delimiter
        ('{"a": [1,', {a0}),
        ('{"a": [1, "x', {a0}),
        ('{"a": [1, "x"', {a0, a1}),
        ('{"a": [1, "x"]', {a0, a1, a}),
        ('{"a": [1, "x"], "b": {"c": tru', {a0, a1, a}),
        ('{"a": [1, "x"], "b": {"c": true', {a0, a1, a, c}),
        ('{"a": [1, "x"], "b": {"c": true}', {a0, a1, a, c, b}),
        ('{"a": [1, "x"], "b": {"c": true}, "d": 2', {a0, a1, a, c, b}),
        ('{"a": [1, "x"], "b": {"c": true}, "d": 2 ', {a0, a1, a, c, b, d}),
        (doc, {a0, a1, a, c, b, d, root}),
    ]
    every = [a0, a1, a, c, b, d, root, ("zz",), ("a", 2), ("a", 0, 0), ("b", "c", "x"), (0,)]
    for prefix, complete in checkpoints:
        for chunks in ([prefix], singles(prefix)):
            p = fed(*chunks)
            for path in every:
                assert p.is_complete(path) is (path in complete), (prefix, path)


def test_is_complete_accepts_lists() -> None:
    p = fed('{"a": [1, 2]')
    assert p.is_complete(["a", 1]) is True


def test_is_complete_wrong_path_types() -> None:
    p = fed('{"0": [1], "a": {"1": 2}}')
    assert p.is_complete(("0", 0)) and p.is_complete(("a", "1"))
    assert not p.is_complete((0,)) and not p.is_complete(("a", 1)) and not p.is_complete(("0", "0"))
    q = fed("[[1]]")
    assert q.is_complete((0, 0)) and not q.is_complete(("0",)) and not q.is_complete((0, "0"))


# --- strings: escapes and surrogates split anywhere -------------------------------------------
ESCAPE_DOCS = [
    r'"a\"b\\c\/d\be\ff\ng\rh\ti"',
    r'"\u00e9\u0000\u001F\uFFFF\u20AC"',
    r'"x\ud834\udd1ey"',
    r'"\uD834\uDD1E\uD83D\uDE00"',
    r'["\ud83d\ude00", "\ud83d\ude00!"]',
    r'{"\ud83d\ude00": "\ud83d\ude00"}',
    '"raw \U0001d11e and \u20ac and \x7f"',
]
LONE_SURROGATE_DOCS = [
    r'"\ud800"',
    r'"\udc00"',
    r'"\ud800\ud800"',
    r'"\udc00\ud800"',
    r'"\ud800x"',
    r'"\ud800\u0041"',
    r'"\ud800\n"',
    r'"\ud800\ud834\udd1e"',
    r'["\ud800", "\udfff"]',
]


@pytest.mark.parametrize("doc", ESCAPE_DOCS + LONE_SURROGATE_DOCS)
def test_strings_split_at_every_position(doc: str) -> None:
    expected = json.loads(doc)
    for i in range(len(doc) + 1):
        for j in range(i, len(doc) + 1):
            Checked(expected).feed_all(split_at(doc, [i, j]))
    Checked(expected).feed_all(singles(doc))


@pytest.mark.parametrize("doc", ESCAPE_DOCS)
def test_strings_as_bytes_split_at_every_position(doc: str) -> None:
    data = doc.encode("utf-8")
    expected = json.loads(doc)
    for i in range(len(data) + 1):
        Checked(expected).feed_all(split_at(data, [i]))
    Checked(expected).feed_all(singles(data))


def test_surrogate_pair_partial_is_a_prefix() -> None:
    """While only the high half of a pair has arrived, the partial must not show it."""
    p = fed(r'"ab\ud83d')
    assert "\U0001f600".startswith(p.value[2:]) and "ab\U0001f600".startswith(p.value)
    p.feed(r"\ude00")
    assert p.value == "ab\U0001f600"


# --- numbers ---------------------------------------------------------------------------------
NUMBERS = [
    "0",
    "-0",
    "-0.0",
    "0.0",
    "0e0",
    "-0E-0",
    "1",
    "-1",
    "10",
    "1.5",
    "1E+2",
    "1e-2",
    "2.5E3",
    "123456789012345678901234567890",
    "-123456789012345678901234567890",
    "1.7976931348623157e308",
    "5e-324",
    "1e400",
    "-1e400",
    "1e-400",
    "0.1",
    "1" + "0" * 400,
    "1" + "0" * 400 + ".5",
    "0." + "0" * 400 + "1",
    "1" * 4000,
]


@pytest.mark.parametrize("text", NUMBERS, ids=[t[:24] for t in NUMBERS])
def test_numbers_like_json_loads(text: str) -> None:
    for doc in (text, f"[{text}]", f'{{"n": {text}}}', f" {text} "):
        expected = json.loads(doc)
        assert same(parse([doc]), expected), doc
        if len(doc) < 50:
            for i in range(len(doc) + 1):
                assert same(parse(split_at(doc, [i])), expected), (doc, i)
        else:
            assert same(parse(singles(doc)), expected)


@pytest.mark.parametrize("doc", ["1" * 5000, "[" + "1" * 5000 + "]", '{"n": -' + "9" * 5000 + "}"])
def test_too_many_digits_for_int(doc: str) -> None:
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if not limit:
        pytest.skip("no int digit limit on this Python")
    with pytest.raises(ValueError):
        json.loads(doc)
    for chunks in ([doc], singles(doc)):
        with pytest.raises(JsonStreamError):
            parse(chunks)


# --- errors ----------------------------------------------------------------------------------
# (document, where the error must surface, lowest and highest acceptable offset)
BAD = [
    ("[1,]", "feed", 3, 3),
    ('{"a" 1}', "feed", 5, 5),
    ("01", "feed", 1, 1),
    ("-01", "feed", 2, 2),
    ("-", "close", 1, 1),
    ("1.", "close", 2, 2),
    ("1e", "close", 2, 2),
    ("1e+", "close", 3, 3),
    ("-a", "feed", 1, 1),
    ("1.e5", "feed", 2, 3),
    ('"\x01"', "feed", 1, 1),
    ('"\t"', "feed", 1, 1),
    ('"a\nb"', "feed", 2, 2),
    ("[1] x", "feed", 4, 4),
    ("{} {}", "feed", 3, 3),
    ("1 2", "feed", 2, 2),
    ("NaN", "feed", 0, 0),
    ("[Infinity]", "feed", 1, 1),
    ("{'a': 1}", "feed", 1, 1),
    ('"\\uZZZZ"', "feed", 1, 6),
    ('"\\u12G4"', "feed", 1, 6),
    ('"\\x41"', "feed", 1, 2),
    ('"\\U0041"', "feed", 1, 2),
    ("[1 2]", "feed", 3, 3),
    ('{"a":1 "b":2}', "feed", 7, 7),
    ('{"a":}', "feed", 5, 5),
    ('{"a":1,}', "feed", 7, 7),
    ("{,}", "feed", 1, 1),
    ("[,1]", "feed", 1, 1),
    ("[1,,2]", "feed", 3, 3),
    ("{1: 2}", "feed", 1, 1),
    ('{"\x01": 1}', "feed", 2, 2),
    ('{"\\q": 1}', "feed", 2, 3),
    ("]", "feed", 0, 0),
    ("[}", "feed", 1, 1),
    ('{"a":1]', "feed", 6, 6),
    ('{"a":1}}', "feed", 7, 7),
    ("truE", "feed", 3, 3),
    ("nul l", "feed", 3, 3),
    ("True", "feed", 0, 0),
    ("\ufeff{}", "feed", 0, 0),
    ("[\f]", "feed", 1, 1),
    ("[\u00a01]", "feed", 1, 1),
    ("/* c */ 1", "feed", 0, 0),
    ("[1] // c", "feed", 4, 4),
    ("", "close", 0, 0),
    ("   ", "close", 3, 3),
    ("[", "close", 1, 1),
    ('{"a": [1, 2', "close", 11, 11),
    ('"abc', "close", 4, 4),
    ('"abc\\', "close", 5, 5),
    ('"\\ud83d', "close", 7, 7),
    ("tru", "close", 3, 3),
    ('{"a"', "close", 4, 4),
]


@pytest.mark.parametrize(("doc", "where", "lo", "hi"), BAD, ids=[repr(b[0]) for b in BAD])
def test_error_type_place_and_offset(doc: str, where: str, lo: int, hi: int) -> None:
    for chunks in ([doc], singles(doc)):
        got_where, exc = parse_error(chunks)
        assert type(exc) is JsonStreamError and isinstance(exc, ValueError)
        assert got_where == where, (doc, chunks)
        assert lo <= exc.offset <= hi, (doc, len(chunks), exc.offset)
        assert str(exc.offset) in str(exc)


@pytest.mark.parametrize(("doc", "where", "lo", "hi"), BAD, ids=[repr(b[0]) for b in BAD])
def test_text_before_error_offset_is_a_valid_prefix(doc: str, where: str, lo: int, hi: int) -> None:
    """The offset is where the input stopped being a prefix of valid JSON, not later: the text
    before it is accepted however it is chunked, and an error raised by ``close()`` (the text
    ended too early) points at the end of a text that was a valid prefix throughout."""
    valid = _longest_valid_prefix(doc)
    for chunks in ([doc], singles(doc)):
        got_where, exc = parse_error(chunks)
        prefix = doc[: exc.offset]
        for pieces in ([prefix], singles(prefix)):
            parser = JsonStreamParser()
            for piece in pieces:
                parser.feed(piece)  # raises JsonStreamError when not a valid prefix
        assert exc.offset <= valid, (doc, exc.offset, valid)
        if got_where == "close":
            assert exc.offset == valid == len(doc), (doc, exc.offset, valid)
        else:
            assert valid < len(doc), (doc, valid)  # feed() failed on a text that was not one


def _longest_valid_prefix(doc: str) -> int:
    """The length of the longest prefix of ``doc`` that ``feed`` accepts."""
    for k in range(len(doc), -1, -1):
        try:
            JsonStreamParser().feed(doc[:k])
        except JsonStreamError:
            continue
        return k
    raise AssertionError("the empty text is a valid prefix")


NUMBER_ERRORS = ["[0123]", "0-1", "1.e5", "1.2.3"]


@pytest.mark.parametrize("doc", NUMBER_ERRORS)
def test_error_offset_independent_of_chunking(doc: str) -> None:
    results = {(w, e.offset) for w, e in (parse_error([doc]), parse_error(singles(doc)))}
    for i in range(len(doc) + 1):
        w, e = parse_error(split_at(doc, [i]))
        results.add((w, e.offset))
    assert len(results) == 1, (doc, sorted(results))


@pytest.mark.parametrize(
    "prefix", ['"\\uZ', '"\\u0G', '"\\u00Z', '["\\uq', '{"\\uX', '"\\ud800\\uZ']
)
def test_bad_unicode_escape_raises_as_soon_as_seen(prefix: str) -> None:
    """After ``\\uZ`` the input can no longer be a prefix of valid JSON: feed() must raise."""
    with pytest.raises(JsonStreamError):
        JsonStreamParser().feed(prefix)


@pytest.mark.parametrize(
    "doc", ['{"a": [1, {"b": "c"}], "d": -12.5e3, "e": [true, false, null, ""]}', '"x"', "[]"]
)
def test_every_truncation_raises_at_close(doc: str) -> None:
    for n in range(len(doc)):
        prefix = doc[:n]
        p = JsonStreamParser()
        p.feed(prefix)  # a prefix of valid JSON is never an error
        try:
            expected = json.loads(prefix)
        except ValueError:
            with pytest.raises(JsonStreamError):
                p.close()
        else:
            assert same(p.close(), expected)


def test_errors_are_sticky() -> None:
    p = JsonStreamParser()
    p.feed("[1")
    with pytest.raises(JsonStreamError) as first:
        p.feed(" x")
    for action in (lambda: p.feed(""), lambda: p.feed("]"), lambda: p.feed(b"]"), p.close):
        with pytest.raises(JsonStreamError) as again:
            action()
        assert again.value.offset == first.value.offset


def test_close_error_is_sticky() -> None:
    p = fed('{"a": ')
    with pytest.raises(JsonStreamError):
        p.close()
    with pytest.raises(JsonStreamError):
        p.feed("1}")
    with pytest.raises(JsonStreamError):
        p.close()


def test_whitespace_after_root_is_fine() -> None:
    p = fed("[1]", " \n\t\r", "  ")
    assert p.done and p.close() == [1]


# --- offset ----------------------------------------------------------------------------------
def test_offset_counts_characters() -> None:
    p = JsonStreamParser()
    p.feed('["é')
    assert p.offset == 3
    p.feed("\U0001f600")
    assert p.offset == 4
    p.feed(b'"]')
    assert p.offset == 6


def test_offset_with_split_multibyte_bytes() -> None:
    data = '["é€😀"]'.encode()
    p = JsonStreamParser()
    consumed = b""
    for b in singles(data):
        p.feed(b)
        consumed += b
        assert p.offset == len(consumed.decode("utf-8", "ignore"))
    assert p.close() == ["é€😀"]


# --- bytes / UTF-8 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        b'["\xff"]',
        b'"\xc3\x28"',
        b'"\xc0\xaf"',
        b'"\xed\xa0\x80"',
        b'"\xf4\x90\x80\x80"',
        b"\x80",
        b'["a", "\xe2\x82"]',
        b"\xff\xfe[\x001\x00]\x00",
    ],
)
def test_invalid_utf8_bytes(data: bytes) -> None:
    for chunks in ([data], singles(data)):
        with pytest.raises(JsonStreamError):
            parse(chunks)


def test_truncated_utf8_at_close() -> None:
    for data in (b'"\xe2\x82', b"[1]\xe2"):
        p = fed(data)
        with pytest.raises(JsonStreamError):
            p.close()


def test_strict_rejects_utf8_bom_bytes() -> None:
    for chunks in ([b"\xef\xbb\xbf{}"], singles(b"\xef\xbb\xbf{}")):
        with pytest.raises(JsonStreamError):
            parse(chunks)


def test_bytes_and_text_give_the_same_events() -> None:
    doc = '{"k€y": ["vålue 😀", 1.5, {"n": null}]}'
    text_events = JsonStreamParser().feed(doc)
    byte_events = JsonStreamParser().feed(doc.encode())
    assert text_events == byte_events
    data = doc.encode()
    for i in range(len(data) + 1):
        Checked(json.loads(doc)).feed_all(split_at(data, [i]))


def test_bytearray_chunks() -> None:
    assert parse([bytearray(b'{"a": '), bytearray(b"[1]}")]) == {"a": [1]}


# --- limits ----------------------------------------------------------------------------------
def test_default_depth_limit() -> None:
    ok = "[" * 512 + "]" * 512
    value = parse([ok])
    for _ in range(511):
        value = value[0]
    assert value == []
    with pytest.raises(JsonStreamError) as info:
        JsonStreamParser().feed("[" * 513)
    assert info.value.offset == 512


@pytest.mark.parametrize("opener", ["[", '{"a":', '[{"":'])
def test_depth_limit_never_recursion_error(opener: str) -> None:
    doc = opener * 100_000
    for chunks in ([doc], [doc[i : i + 7] for i in range(0, 7 * 1000, 7)]):
        p = JsonStreamParser()
        with pytest.raises(JsonStreamError):
            for chunk in chunks:
                p.feed(chunk)


def test_depth_limit_zero_allows_only_scalars() -> None:
    assert parse(['"x"'], max_depth=0) == "x"
    for doc in ("[]", "{}"):
        with pytest.raises(JsonStreamError):
            parse([doc], max_depth=0)


def test_custom_depth_limit() -> None:
    assert parse(["[[[]]]"], max_depth=3) == [[[]]]
    assert parse(['{"a": {"b": [1]}}'], max_depth=3) == {"a": {"b": [1]}}
    for doc in ["[[[[]]]]", '{"a": {"b": {"c": {}}}}', '[{"a": [[]]}]']:
        with pytest.raises(JsonStreamError):
            parse([doc], max_depth=3)
        with pytest.raises(JsonStreamError):
            parse(singles(doc), max_depth=3)


def test_deep_nesting_within_a_high_limit_has_no_recursion() -> None:
    depth = 3_000  # well past the recursion limit
    doc = "[" * depth + '"x"' + "]" * depth
    p = JsonStreamParser(max_depth=depth)
    p.feed(doc[: depth + 2])
    partial = p.value
    p.feed(doc[depth + 2 :])
    value = p.close()
    for node in (partial, value):
        for _ in range(depth):
            assert type(node) is list and len(node) == 1
            node = node[0]
        assert node in ("x", "")
    assert p.is_complete((0,) * depth)


def test_max_size() -> None:
    doc = '{"a": [1, 2, 3]}'
    assert parse([doc], max_size=len(doc)) == {"a": [1, 2, 3]}
    assert parse(singles(doc), max_size=len(doc)) == {"a": [1, 2, 3]}
    for chunks in ([doc], singles(doc), split_at(doc, [5])):
        where, exc = parse_error(chunks, max_size=len(doc) - 1)
        assert where == "feed" and exc.offset <= len(doc)
    # trailing whitespace counts too
    where, _ = parse_error([doc + "   "], max_size=len(doc) + 2)
    assert where == "feed"


def test_max_size_counts_characters_not_bytes() -> None:
    doc = '"éé"'
    assert parse([doc.encode()], max_size=4) == "éé"
    assert parse(singles(doc.encode()), max_size=4) == "éé"
    with pytest.raises(JsonStreamError):
        parse([doc.encode()], max_size=3)
