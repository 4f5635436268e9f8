"""The shared incremental SSE decoder (providers/_sse.py), fed in every chunking."""

from __future__ import annotations

from schemastream.providers._sse import SSEDecoder, iter_sse


def _chunkings(raw: bytes) -> list[list[bytes]]:
    return [[raw[i : i + n] for i in range(0, len(raw), n)] for n in (1, 2, 3, 7, len(raw) or 1)]


def test_line_endings_fields_comments_and_multiline_data() -> None:
    raw = (
        b": keep-alive\n\n"
        b"event: a\ndata: 1\n\n"  # LF
        b"event:b\r\ndata:2\r\n\r\n"  # CRLF, no space after the colon
        b"event: c\rdata: 3\r\r"  # lone CR
        b"id: 7\nretry: 10\nfoo: bar\ndata: x\ndata:  y\ndata\n\n"  # multi-line data
        b"event: nodata\n\n"  # no data: not dispatched, name forgotten
        b"data: \xc3\xa9\n\n"  # UTF-8 may be cut between chunks: bytes stay whole
    )
    want = [("a", b"1"), ("b", b"2"), ("c", b"3"), (None, b"x\n y\n"), (None, b"\xc3\xa9")]
    for chunks in _chunkings(raw):
        assert list(iter_sse(chunks)) == want


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: 1\r") == []
    assert dec.feed(b"\n\r") == [(None, b"1")]
    assert dec.feed(b"\ndata: 2\r\n\r\n") == [(None, b"2")]


def test_end_of_body() -> None:
    # an event whose lines ended but that has no closing blank line is dispatched
    assert list(iter_sse([b"event: e\ndata: 1\n"])) == [("e", b"1")]
    # a last line without a line ending is parsed ...
    assert list(iter_sse([b"data: 1\n\ndata: 2"])) == [(None, b"1"), (None, b"2")]
    # ... unless ``tail`` drops it (or rewrites it)
    assert list(iter_sse([b"data: 1\n\ndata: {", b'"a"'], lambda line: None)) == [(None, b"1")]
    assert list(iter_sse([b"data:[DONE] "], lambda line: b"data: ok")) == [(None, b"ok")]
    dec = SSEDecoder()
    assert dec.feed(b"data: 1\n") == []
    assert dec.finish() == [(None, b"1")]
    assert dec.finish() == []
