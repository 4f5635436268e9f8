"""``ProseSplitter`` (providers/_prose.py): the text of a JSON / MD_JSON answer split into the
JSON document and the prose around it, the same however the text is cut into pieces."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemastream.providers._prose import ProseSplitter

DOC = json.dumps({"title": 'a } ] ``` " {', "tags": ["x", "]"], "n": [1, {"k": None}]})

CASES = [
    # (answer, document, prose)
    (f"Here it is:\n\n```json\n{DOC}\n```\nDone.", DOC + "\n", "Here it is:\n\n\nDone."),
    (
        f'Braces {{"in": "prose"}} stay prose:\n```\n{DOC}\n```',
        DOC + "\n",
        'Braces {"in": "prose"} stay prose:\n',
    ),
    (f"{DOC} trailing words", DOC, " trailing words"),
    (f"Intro [Note] text\n  {DOC}\nBye {{x}}", DOC, "Intro [Note] text\n  \nBye {x}"),
    ("[Note] a list of words\n[1, 2]\nok", "[1, 2]", "[Note] a list of words\n\nok"),
    ("no JSON at all {here}", "", "no JSON at all {here}"),
    (f"```json\n{DOC}", DOC, ""),  # a fence that never closes: all document
]


def split(text: str, cuts: list[int]) -> tuple[str, str]:
    s = ProseSplitter()
    doc, prose, at = [], [], 0
    for cut in [*sorted(set(cuts)), len(text)]:
        d, p = s.feed(text[at:cut])
        doc.append(d)
        prose.append(p)
        at = cut
    d, p = s.finish()
    return "".join(doc) + d, "".join(prose) + p


@pytest.mark.parametrize(("answer", "doc", "prose"), CASES)
def test_document_and_prose_in_one_piece(answer: str, doc: str, prose: str) -> None:
    assert split(answer, []) == (doc, prose)


@given(st.sampled_from(CASES), st.lists(st.integers(0, 200), max_size=12))
def test_any_cutting_gives_the_same_split(case: tuple[str, str, str], cuts: list[int]) -> None:
    answer, doc, prose = case
    assert split(answer, [c for c in cuts if c < len(answer)]) == (doc, prose)


def test_prose_before_a_line_start_is_not_held() -> None:
    s = ProseSplitter()
    assert s.feed("Sure, {here}") == ("", "Sure, {here}")  # mid-line: prose at once
    assert s.feed(":\n``") == ("", ":\n")  # "``" may open a fence: held
    assert s.feed("`json\n{") == ("{", "")
