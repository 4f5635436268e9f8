"""What Instructor's ``create_partial`` shows, for the three behaviours "Coming from
Instructor" (docs/instructor.md) compares: numbers mid-write, validator calls, fail fast.

Instructor runs in its own interpreter (its own venv: it pins an older openai), against
the same replay server (tests/replay) and the same answers as the docs' examples::

    python3 -m venv /tmp/instr && /tmp/instr/bin/pip install instructor
    PYTHONPATH=src .venv/bin/python bench/instructor_behaviour.py --instructor /tmp/instr/bin/python

Prints Instructor's partials and counts, then what the replay server saw of each request
(chunks sent of the total, whether the client hung up early).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.docs.blocks import Answer, AnswerQueue  # noqa: E402
from tests.replay.base import ReplayServer  # noqa: E402

ANSWERS = [
    ('{"name": "Rex", "age": 36, "species": "dog"}', 3),
    (
        '{"items": [{"title": "voice notes", "blurb": "Speak; get a tidy note."},'
        ' {"title": "daily digest", "blurb": "Yesterday in one email."}]}',
        3,
    ),
    (
        '{"items": [{"title": "Voice notes", "blurb": "Speak; get a tidy note."},'
        ' {"title": "Daily digest", "blurb": "A calm morning email with every note you touched'
        ' yesterday, in order."}, {"title": "Share as a page", "blurb": "One click."}]}',
        4,
    ),
]

CLIENT = r"""
import sys
from typing import Literal
import instructor, openai
from pydantic import BaseModel, Field, field_validator

client = instructor.from_openai(openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="x", max_retries=0))
print(f"instructor {instructor.__version__}, openai {openai.__version__}")
ask = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])

class Pet(BaseModel):
    name: str
    age: int
    species: Literal["cat", "dog", "parrot"]

print("1. partials of Pet (age 36, species 'dog', 3-character chunks):")
for p in client.chat.completions.create_partial(response_model=Pet, **ask):
    print("  ", repr(p))

calls = []
class TitledIdea(BaseModel):
    title: str
    blurb: str
    @field_validator("title")
    @classmethod
    def capitalise(cls, v):
        calls.append(v)
        return v.title()
class Ideas(BaseModel):
    items: list[TitledIdea]

n = sum(1 for _ in client.chat.completions.create_partial(response_model=Ideas, **ask))
print(f"2. {n} partials of 2 ideas; the title validator ran {len(calls)} times")

class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=40)
class Ideas2(BaseModel):
    items: list[Idea]

n = 0
try:
    for _ in client.chat.completions.create_partial(response_model=Ideas2, max_retries=0, **ask):
        n += 1
    print("3. no error")
except Exception as e:
    print(f"3. {type(e).__name__} after {n} partials")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--instructor", metavar="PYTHON", required=True)
    args = ap.parse_args()
    answers = AnswerQueue()
    answers.pending.extend(Answer.parse(f"chunk={chunk}", body) for body, chunk in ANSWERS)
    with ReplayServer(fallback=answers) as server:
        out = subprocess.run(
            [args.instructor, "-c", CLIENT, server.url], capture_output=True, text=True, timeout=300
        )
        print(out.stdout, end="")
        if out.returncode:
            print(out.stderr[-2000:])
        print("replay server: chunks sent / total, client hung up early")
        for i, ex in enumerate(server.exchanges, 1):
            print(f"  request {i}: {ex.chunks_sent}/{ex.total_chunks}, {ex.disconnected}")


if __name__ == "__main__":
    main()
