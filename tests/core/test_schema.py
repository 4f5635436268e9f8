"""Response model -> provider JSON schema: OpenAI's strict subset and root wrapping."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field

from schemastream.core import StreamSession
from schemastream.schema import ResponseSpec


class Address(BaseModel):
    city: str
    zip: Optional[str] = None


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Person(BaseModel):
    """A person."""

    name: str = Field(max_length=20, description="Full name")
    home: Address
    pets: list[Annotated[Union[Cat, Dog], Field(discriminator="kind")]] = Field(max_length=3)
    tags: dict[str, str] = {}


def objects(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            out.append(node)
        for value in node.values():
            out.extend(objects(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(objects(value))
    return out


def test_strict_subset_every_object_closed_and_fully_required():
    spec = ResponseSpec.from_type(Person)
    strict = spec.strict_json_schema
    found = objects(strict)
    assert len(found) >= 5  # Person, Address, Cat, Dog, tags
    for obj in found:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj.get("properties", {}))
    text = json.dumps(strict)
    for banned in ('"oneOf"', '"const"', '"maxLength"', '"default"', '"discriminator"'):
        assert banned not in text
    # an optional field became nullable, the limit moved into the description
    zip_schema = strict["$defs"]["Address"]["properties"]["zip"]
    assert {"type": "null"} in zip_schema["anyOf"]
    assert "at most 20 characters" in strict["properties"]["name"]["description"]
    assert strict["properties"]["pets"]["maxItems"] == 3
    # $ref loses its siblings, the generic schema is untouched
    assert strict["properties"]["home"] == {"$ref": "#/$defs/Address"}
    assert spec.json_schema["properties"]["name"]["maxLength"] == 20
    assert spec.description == "A person."


def test_non_object_roots_are_wrapped_and_unwrapped():
    cases = [
        (list[Address], "items", [{"city": "Oslo"}], [Address(city="Oslo")]),
        (Annotated[list[Address], Field(max_length=2)], "items", [], []),
        (Union[Cat, Dog], "value", {"kind": "dog"}, Dog(kind="dog")),
        (int, "value", 7, 7),
        (dict[str, int], "value", {"a": 1}, {"a": 1}),
    ]
    for tp, key, wire_value, expected in cases:
        spec = ResponseSpec.from_type(tp)
        assert spec.wrapper_key == key
        schema = spec.json_schema
        assert schema["type"] == "object" and schema["required"] == [key]
        assert "$defs" not in schema["properties"][key]  # definitions live at the root
        session = StreamSession(spec)
        session.feed(json.dumps({key: wire_value}))
        assert session.finish("stop").value == expected


def test_prompts_carry_the_schema():
    spec = ResponseSpec.from_type(list[Address])
    assert json.dumps(spec.json_schema, separators=(",", ":")) in spec.prompt()
    assert "```json" in spec.md_prompt()
