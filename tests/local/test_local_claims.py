"""The capability matrix's claims for the local provider, checked on the embedded model (the
other providers' rows are checked on the replay servers: tests/providers/
test_capability_claims.py): in every mode the object arrives in pieces, usage is reported,
no reasoning or prose is streamed, and the grammar holds the model to the full schema
(length limits and patterns included) while it generates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.events import FinalEvent, PartialEvent, ReasoningEvent, TextEvent
from schemastream.providers.matrix import MatrixRow, capability_matrix


class Fruit(BaseModel):
    name: str = Field(max_length=12, pattern=r"^[a-z]+$")
    color: str = Field(max_length=8, pattern=r"^[a-z]+$")


FRUITS = [{"role": "user", "content": "Name 2 fruits"}]
ROWS = [
    pytest.param(row, id=row.mode.value) for row in capability_matrix() if row.provider == "local"
]


@pytest.mark.parametrize("row", ROWS)
def test_local_claims_hold(local_provider: Any, row: MatrixRow) -> None:
    assert row.enforced == "full schema"
    client = ss.from_provider("local", seed=1234)
    stream = client.responses.stream(
        model="local", messages=FRUITS, response_model=list[Fruit], mode=row.mode, max_retries=0
    )
    with stream:
        events = list(stream.events())
    final = events[-1]
    assert isinstance(final, FinalEvent) and final.value
    # full schema: the grammar kept every name and colour short and lower-case
    for fruit in final.value:
        assert re.fullmatch(r"[a-z]{1,12}", fruit.name) and re.fullmatch(r"[a-z]{1,8}", fruit.color)
    assert stream.restarts == 0
    partials = [e.partial for e in events if isinstance(e, PartialEvent)]
    assert row.incremental and [p for p in partials if p != final.value]
    assert not row.reasoning and not any(isinstance(e, ReasoningEvent) for e in events)
    assert not row.prose and not any(isinstance(e, TextEvent) for e in events)
    assert row.usage and stream.usage is not None and stream.usage.partial is False
    assert stream.usage.input_tokens and stream.usage.output_tokens
