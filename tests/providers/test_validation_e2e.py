"""Validation as pydantic validates the JSON (issue 15), end to end over every provider wire:
a strict model with JSON dates, UUIDs and tuples; ``context=`` (and Instructor's
``validation_context=``) reaching the validators in JSON mode; a field validator's value
shown complete only once validated."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

import schemastream as ss
from schemastream.schema import ResponseSpec
from tests.providers.test_cross_provider import Wire, dumps
from tests.providers.test_policies_e2e import ALL_WIRES, MESSAGES, _partials
from tests.replay.base import ReplayServer

SEEN: list[tuple[str, Any]] = []


class Order(BaseModel):
    model_config = ConfigDict(strict=True)
    when: date
    ref: uuid.UUID
    pair: tuple[int, str]
    quantity: int

    @field_validator("quantity")
    @classmethod
    def plus_one(cls, v: int, info: Any) -> int:
        SEEN.append((info.mode, info.context))
        return v + 1


DOC = {
    "when": "2026-09-30",
    "ref": "12345678-1234-5678-1234-567812345678",
    "pair": [1, "a"],
    "quantity": 21,
}


@pytest.fixture(params=ALL_WIRES)
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["context", "validation_context"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_strict_model_json_mode_and_context_over_the_wire(
    server: ReplayServer, wire: Wire, use_async: bool, name: str
) -> None:
    server.add(wire.script(dumps(DOC), ResponseSpec.from_type(Order), n=3))
    client = wire.make_client(server, use_async)
    SEEN.clear()
    stream = client.responses.stream(
        model="m", messages=MESSAGES, response_model=Order, **{name: {"tenant": "t1"}}
    )
    partials = await _partials(stream, use_async)
    final = partials[-1]
    assert type(final) is Order and final.quantity == 22 and final.pair == (1, "a")
    assert final.when == date(2026, 9, 30) and final.ref == uuid.UUID(DOC["ref"])
    assert SEEN == [("json", {"tenant": "t1"})]  # once, in JSON mode, with the caller's context
    shown = {
        p.quantity for p in partials if isinstance(p, ss.PartialModel) and p.is_complete("quantity")
    }
    assert shown <= {22}  # never 21 as final
    # the context is ours, not the provider's: the request body does not carry it
    assert "tenant" not in server.last.body.decode()
