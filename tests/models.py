"""The models the tests share: one definition per shape, imported wherever a test needs it.

A test that needs a different shape (other fields or constraints) keeps its own model; a
model's class name is part of what travels (tool and function names, ``$defs`` keys), so
each shared model keeps the name the tests were written against.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


IDEAS = [
    {"title": "Voice notes", "blurb": "Record a thought and get it transcribed into a tidy note."},
    {"title": "Daily digest", "blurb": "A morning email with the notes you touched yesterday."},
    {"title": "Share links", "blurb": "Publish any note as a read-only page with one click."},
]
DOC = {"items": IDEAS}
