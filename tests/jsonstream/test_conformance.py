"""JSONTestSuite (Nicolas Seriot) against JsonStreamParser in strict mode, under three chunkings.

y_*: accepted, and close() equals json.loads of the same bytes.
n_*: rejected with JsonStreamError (from feed() or close()), never another exception.
i_*: implementation-defined: either accepted or JsonStreamError, never another exception; when
     both the parser and json.loads accept, they agree.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import pytest

from schemastream.errors import JsonStreamError

from .helpers import parse, random_chunks, same, singles

SUITE = Path("/work/shared/conformance/JSONTestSuite/test_parsing")
FILES = sorted(SUITE.glob("*.json")) if SUITE.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason=f"JSONTestSuite not found at {SUITE}")

CHUNKINGS = ["whole", "bytewise", "random"]


def _files(prefix: str) -> list[Path]:
    return [f for f in FILES if f.name.startswith(prefix)]


def _chunks(path: Path, how: str) -> list[bytes]:
    data = path.read_bytes()
    if how == "whole":
        return [data]
    if how == "bytewise":
        return singles(data)
    return random_chunks(data, random.Random(zlib.crc32(path.name.encode())))


def _ids(files: list[Path]) -> list[str]:
    return [f.name for f in files]


def test_suite_is_complete() -> None:
    assert len(_files("y_")) >= 95 and len(_files("n_")) >= 180 and len(_files("i_")) >= 30


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("path", _files("y_"), ids=_ids(_files("y_")))
def test_y_accepted(path: Path, how: str) -> None:
    expected = json.loads(path.read_bytes())
    assert same(parse(_chunks(path, how)), expected)


@pytest.mark.parametrize("path", _files("y_"), ids=_ids(_files("y_")))
def test_y_accepted_as_text_char_by_char(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert same(parse(singles(text)), json.loads(text))


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("path", _files("n_"), ids=_ids(_files("n_")))
def test_n_rejected(path: Path, how: str) -> None:
    data = path.read_bytes()
    with pytest.raises(JsonStreamError) as info:
        parse(_chunks(path, how))
    assert 0 <= info.value.offset <= len(data)


@pytest.mark.parametrize("how", CHUNKINGS)
@pytest.mark.parametrize("path", _files("i_"), ids=_ids(_files("i_")))
def test_i_accepted_or_json_stream_error(path: Path, how: str) -> None:
    data = path.read_bytes()
    try:
        value = parse(_chunks(path, how))
    except JsonStreamError as exc:
        assert 0 <= exc.offset <= len(data)
        return
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError):
        return
    assert same(value, expected)


@pytest.mark.parametrize("path", _files("i_"), ids=_ids(_files("i_")))
def test_i_same_verdict_for_every_chunking(path: Path) -> None:
    verdicts = []
    for how in CHUNKINGS:
        try:
            parse(_chunks(path, how))
            verdicts.append("accepted")
        except JsonStreamError:
            verdicts.append("rejected")
    assert len(set(verdicts)) == 1, dict(zip(CHUNKINGS, verdicts))
