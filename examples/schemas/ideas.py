"""Example schema for ``schemastream run``.

    schemastream run "Generate 3 marketing ideas for a note-taking app" \
        --schema examples/schemas/ideas.py:Idea --list --max-items 3
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Idea(BaseModel):
    """A marketing idea."""

    title: str
    blurb: str = Field(..., max_length=140)


class Campaign(BaseModel):
    """A campaign: a name, a tagline and a few ideas (try it without --list)."""

    name: str
    tagline: str = Field(..., max_length=80)
    ideas: list[Idea] = Field(..., max_length=5)
