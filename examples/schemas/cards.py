"""Example schema for ``schemastream run`` with display policies (issue 11).

A card is shown only once its title has begun (``ss.NotNull``), and its URL only whole
(``ss.Done``): the live view never shows a card without a title nor half a link.

    schemastream run "Three links worth reading about note-taking, as cards" \
        --schema examples/schemas/cards.py:Card --list
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel

import schemastream as ss


class Card(BaseModel):
    """A link card: a title, a URL and a one-line blurb."""

    title: Annotated[str, ss.NotNull]
    url: Annotated[str, ss.Done]
    blurb: str
