"""Each piece of a stream's state is kept once: the session's parser keeps no value, the
builder keeps the values (and answers ``is_complete``), the session keeps the raw text."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemastream.contract import Delta, Mode, Request
from schemastream.core import StreamDriver, StreamSession
from schemastream.jsonstream import JsonStreamParser
from schemastream.jsonstream.text import BLOCK, TextBuffer
from schemastream.schema import ResponseSpec


class Tag(BaseModel):
    name: str
    weight: float = 1.0


class Item(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    title: str = Field(alias="Title")
    tags: list[Tag] = []
    meta: dict[str, Any] = {}
    note: Optional[str] = None
    more: tuple[Tag, ...] = ()


class Checked(BaseModel):
    """A field validator and a before model validator: they see raw JSON at the end."""

    words: list[str]
    pair: dict[str, int]

    @field_validator("words")
    @classmethod
    def no_empty(cls, v: list[str]) -> list[str]:
        assert all(v), "empty word"
        return v

    @model_validator(mode="before")
    @classmethod
    def keep(cls, data: Any) -> Any:
        assert isinstance(data["pair"], dict)
        return data


ITEMS = [
    {"Title": "a/b", "tags": [{"name": "x"}, {"name": "y", "weight": 2.5}], "meta": {"k": [1]}},
    {"title": "by name", "note": None, "meta": {}},
    {"Title": "t", "tags": [], "note": "n", "more": [{"name": "m"}]},
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def test_is_complete_agrees_with_a_parser_that_keeps_values() -> None:
    spec = ResponseSpec.from_type(list[Item])
    doc = {spec.wrapper_key: ITEMS}
    text = json.dumps(doc)
    # every path in the document, and some that are not there (a default, a missing index)
    paths = _paths(doc) + [
        ("items", 0, "tags", 0, "weight"),
        ("items", 0, "note"),
        ("items", 3),
        ("items", 0, "nope"),
        ("other",),
    ]
    session = StreamSession(spec)
    parser = JsonStreamParser()
    for i in range(len(text)):
        session.feed(text[i])
        parser.feed(text[i])
        for path in paths:
            assert session.builder.is_complete(path) == parser.is_complete(path), (i, path)
    session.finish("stop")
    parser.close()
    for path in paths:
        assert session.builder.is_complete(path) == parser.is_complete(path), path
    assert session.is_complete((0, "tags", 1, "weight")) and session.is_complete(())


@pytest.mark.parametrize("size", [1, 7])
def test_validators_that_see_raw_json_still_get_it(size: int) -> None:
    text = json.dumps({"words": ["a", "b"], "pair": {"x": 1}})
    session = StreamSession(ResponseSpec.from_type(Checked))
    for i in range(0, len(text), size):
        session.feed(text[i : i + size])
    assert session.finish("stop").value == Checked(words=["a", "b"], pair={"x": 1})


def test_the_raw_text_is_kept_once_by_the_session() -> None:
    spec = ResponseSpec.from_type(list[Item])
    text = json.dumps({spec.wrapper_key: ITEMS})
    driver = StreamDriver(None, spec, Request("chat", {}, Mode.TOOLS))  # type: ignore[arg-type]
    for i in range(0, len(text), 3):
        driver.on_delta(Delta(text=text[i : i + 3]))
    assert driver.raw_text == driver.session.raw_text == text
    assert not hasattr(driver, "_text")
    assert driver.session.parser.values is False  # the parser keeps no copy of any value


def test_text_buffer_joins_pieces_into_blocks() -> None:
    buf = TextBuffer()
    assert buf.text() == "" and len(buf) == 0
    pieces = [f"{i:04d}" for i in range(BLOCK * 2 + 5)]
    for n, piece in enumerate(pieces, 1):
        buf.append(piece)
        if n in (1, BLOCK, BLOCK + 1):
            assert buf.text() == "".join(pieces[:n])
    assert len(buf) == 4 * len(pieces)
    assert buf.text() == "".join(pieces)
    assert buf.text() is buf.text()  # cached until the next append
