"""Property tests: any JSON value, any serialisation, any chunking -> the same, honest stream."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemastream.errors import JsonStreamError
from schemastream.jsonstream import JsonStreamParser

from .helpers import Checked, merge_deltas, parse_error, same, same_events, singles, split_at

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# every code point but surrogates, control characters included
chars = st.characters(exclude_categories=("Cs",))
texts = st.text(chars, max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(chars, max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)
# For the lenient syntax tests: BMP text only. Astral characters (surrogate-pair escapes) are
# covered by the strict tests above; keeping them out here keeps a failure there from also
# failing (and slowly shrinking) here.
bmp_texts = st.text(st.characters(exclude_categories=("Cs",), max_codepoint=0xFFFF), max_size=8)
small_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | bmp_texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(bmp_texts, children, max_size=3)
    ),
    max_leaves=8,
)
dump_options = st.fixed_dictionaries(
    {
        "ensure_ascii": st.booleans(),
        "indent": st.sampled_from([None, 0, 2, "\t", " \r\n"[:1]]),
        "separators": st.sampled_from([None, (",", ":"), (", ", ": "), (" ,\n", " :\t")]),
    }
)
padding = st.sampled_from(["", " ", "\n", "\t \r\n"])


@st.composite
def documents(draw: st.DrawFn) -> tuple[Any, str]:
    value = draw(json_values)
    text = json.dumps(value, **draw(dump_options))
    return value, draw(padding) + text + draw(padding)


def chunkings(draw: st.DrawFn, data: Any) -> list[Any]:
    if draw(st.booleans()):
        return singles(data)
    points = draw(st.lists(st.integers(0, len(data)), max_size=20))
    return split_at(data, points)


@SETTINGS
@given(doc=documents(), data=st.data())
def test_any_document_any_text_chunking(doc: tuple[Any, str], data: st.DataObject) -> None:
    value, text = doc
    final = json.loads(text)
    assert same(final, value) or value != value  # sanity: json round trip
    Checked(final).feed_all(chunkings(data.draw, text))


@SETTINGS
@given(doc=documents(), data=st.data())
def test_any_document_any_byte_chunking(doc: tuple[Any, str], data: st.DataObject) -> None:
    _, text = doc
    raw = text.encode("utf-8")
    Checked(json.loads(text)).feed_all(chunkings(data.draw, raw))


@SETTINGS
@given(doc=documents(), data=st.data())
def test_events_do_not_depend_on_chunking(doc: tuple[Any, str], data: st.DataObject) -> None:
    _, text = doc
    whole = JsonStreamParser()
    expected = merge_deltas(whole.feed(text))
    split = JsonStreamParser()
    events: list[Any] = []
    for chunk in chunkings(data.draw, text):
        events.extend(split.feed(chunk))
    assert same_events(merge_deltas(events), expected)
    assert same(split.close(), whole.close())


@SETTINGS
@given(doc=documents(), cuts=st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_prefixes_are_accepted_and_close_matches_json_loads(
    doc: tuple[Any, str], cuts: list[float]
) -> None:
    _, text = doc
    for cut in cuts:
        prefix = text[: int(cut * len(text))]
        p = JsonStreamParser()
        p.feed(prefix)  # never an error: a prefix of valid JSON
        try:
            expected = json.loads(prefix)
        except ValueError:
            try:
                p.close()
            except JsonStreamError:
                continue
            raise AssertionError(f"close() accepted the truncated {prefix!r}") from None
        assert same(p.close(), expected)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _json_verdict(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False, None


SIGNIFICANT = list('{}[]",:\\ \t\n0123456789.eE+-truefalsnl/*\x00\x1f\x7fé') + ["\ufeff"]


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    _, text = draw(documents())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        ch = draw(st.sampled_from(SIGNIFICANT))
        if op == "insert":
            text = text[:at] + ch + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + ch + text[at + 1 :]
    return text


@SETTINGS
@given(text=mutated_documents(), data=st.data())
def test_same_verdict_as_json_loads(text: str, data: st.DataObject) -> None:
    """Strict mode accepts exactly what json.loads accepts (without NaN/Infinity), same value."""
    ok, expected = _json_verdict(text)
    chunks = chunkings(data.draw, text)
    if ok:
        p = JsonStreamParser()
        for chunk in chunks:
            p.feed(chunk)
        assert same(p.close(), expected)
    else:
        where, exc = parse_error(chunks)
        assert 0 <= exc.offset <= len(text)
        if where == "feed":
            # the text before the reported offset is still a valid prefix
            JsonStreamParser().feed(text[: exc.offset])


@SETTINGS
@given(text=mutated_documents())
def test_error_is_sticky(text: str) -> None:
    if _json_verdict(text)[0]:
        return
    p = JsonStreamParser()
    try:
        p.feed(text)
        p.close()
    except JsonStreamError as exc:
        offset = exc.offset
    for again in (lambda: p.feed("1"), lambda: p.feed(b""), p.close):
        try:
            again()
        except JsonStreamError as exc:
            assert exc.offset == offset
        else:
            raise AssertionError("a failed parser accepted more input")


# --- lenient: the same values wrapped the way models write them ------------------------------
FILLERS = ["", " ", "\n", "/* c */", "/**/", "// c\n", "/* * / ** */", " // x */\n "]


@st.composite
def lenient_documents(draw: st.DrawFn) -> tuple[Any, str]:
    value = draw(
        st.lists(small_json_values, max_size=3)
        | st.dictionaries(bmp_texts, small_json_values, max_size=3)
    )
    fill = lambda: draw(st.sampled_from(FILLERS))  # noqa: E731

    def dump(v: Any) -> str:
        if isinstance(v, list):
            items = [fill() + dump(x) + fill() for x in v]
        elif isinstance(v, dict):
            items = [
                fill() + json.dumps(k) + fill() + ":" + fill() + dump(x) + fill()
                for k, x in v.items()
            ]
        else:
            return json.dumps(v, ensure_ascii=draw(st.booleans()))
        body = ",".join(items)
        if items and draw(st.booleans()):
            body += "," + fill()
        elif not items:
            body = fill()
        return ("{" if isinstance(v, dict) else "[") + body + ("}" if isinstance(v, dict) else "]")

    before = draw(st.sampled_from(["", "Sure!\n", "Here you go:\n```json\n", "```\n", "  "]))
    after = draw(st.sampled_from(["", "\n```", "\n```\nHope it helps {x}", " // done", " ]}"]))
    return value, before + dump(value) + after


@SETTINGS
@given(doc=lenient_documents(), data=st.data())
def test_lenient_any_chunking(doc: tuple[Any, str], data: st.DataObject) -> None:
    value, text = doc
    Checked(value, lenient=True).feed_all(chunkings(data.draw, text))
