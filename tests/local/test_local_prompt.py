"""Prompt, example and budget logic of the local model (no model needed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter

from schemastream.local.budget import exact_items, limit_items, max_tokens_for_schema
from schemastream.local.prompt import (
    completion_prompt,
    example_document,
    example_request,
    requested_count,
)
from schemastream.schema.spec import ResponseSpec
from tests.models import Idea


class Address(BaseModel):
    city: str = Field(max_length=20)
    zip_code: str = Field(max_length=5)


class Person(BaseModel):
    name: str = Field(max_length=12)
    age: int = Field(ge=18, le=30)
    mood: Literal["happy", "sad"]
    address: Address
    nickname: str | None = None
    tags: list[str] = Field(min_length=1, max_length=3)


TYPES = [list[Idea], Person, Annotated[list[Person], Field(max_length=1)], Literal["a", "b"], int]


@pytest.mark.parametrize("tp", TYPES)
def test_example_document_is_valid(tp: object) -> None:
    spec = ResponseSpec.from_type(tp)
    doc = example_document(spec.json_schema)
    value = doc[spec.wrapper_key] if spec.wrapper_key else doc
    TypeAdapter(tp).validate_python(value)


def test_completion_prompt_shows_examples_then_request() -> None:
    spec = ResponseSpec.from_type(list[Idea])
    request = "Generate 3 marketing ideas for a note-taking app"
    prompt = completion_prompt(spec.json_schema, [{"role": "user", "content": request}])
    assert prompt.endswith(f"Request: {request}\nJSON:\n")
    assert "Request: Give 2 ideas for a neighborhood bakery.\nJSON:\n" in prompt
    assert "Request: Give 2 ideas for a city bicycle shop.\nJSON:\n" in prompt
    # the part before the request is the same for every request (KV cache reuse)
    other = completion_prompt(spec.json_schema, [{"role": "user", "content": "Ideas for a zoo"}])
    assert other.split("Request: Ideas")[0] == prompt.split(f"Request: {request}")[0]
    assert '{"items":[{"title":' in prompt


def test_example_request_shapes() -> None:
    assert example_request("a seaside hotel", 2, "ideas") == "Give 2 ideas for a seaside hotel."
    assert example_request("a seaside hotel", None) == "Describe a seaside hotel."


def test_requested_count() -> None:
    schema = ResponseSpec.from_type(list[Idea]).json_schema
    assert requested_count("Generate 3 marketing ideas for an app", schema) == 3
    assert requested_count("three quick recipes", schema) == 3
    assert requested_count("ideas for a 2-person team", schema) is None
    assert requested_count("3 ideas", ResponseSpec.from_type(Idea).json_schema) is None


def test_item_limits() -> None:
    spec = ResponseSpec.from_type(Annotated[list[Idea], Field(max_length=4)])
    key = spec.wrapper_key
    assert key is not None
    exact = exact_items(spec.json_schema, key, 9)["properties"][key]
    assert exact["minItems"] == exact["maxItems"] == 4
    limited = limit_items(spec.json_schema, key, 2)["properties"][key]
    assert limited["maxItems"] == 2
    assert spec.json_schema["properties"][key]["maxItems"] == 4  # not mutated


def test_budget_follows_bounds() -> None:
    small = ResponseSpec.from_type(Annotated[list[Address], Field(max_length=2)]).json_schema
    big = ResponseSpec.from_type(Annotated[list[Address], Field(max_length=20)]).json_schema
    assert max_tokens_for_schema(small) < max_tokens_for_schema(big)
    # worst case of two addresses: every character of every string one token
    assert max_tokens_for_schema(small) >= 2 * (20 + 5)


USER_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_chat_template_prompt_for_a_user_gguf(local_provider: Any) -> None:
    """A user's GGUF brings its own chat template: the prompt is rendered with it."""
    import llama_cpp

    from schemastream.local.model import LocalModel
    from schemastream.providers.base import Mode
    from schemastream.providers.local import LocalProvider

    base = local_provider.load()
    # the real vocabulary (bos/eos) with the template a user's GGUF would carry in its metadata
    llm = llama_cpp.Llama(base.path, vocab_only=True, verbose=False)
    llm.metadata["tokenizer.chat_template"] = USER_TEMPLATE
    model = LocalModel(path=base.path, llm=llm, is_default=False, n_threads=1)
    provider = LocalProvider("/nonexistent.gguf")
    spec = ResponseSpec.from_type(list[Idea])
    request = provider.build_request(
        spec,
        Mode.JSON_SCHEMA,
        {"instructions": "Be brief.", "input": "Generate 3 ideas for a zoo"},
    )
    prompt = provider.prompt_text(request, model)
    assert prompt.startswith("<bos><|system|>Be brief.\n\n")
    assert spec.prompt() in prompt
    assert prompt.endswith("<|user|>Generate 3 ideas for a zoo\n<|assistant|>")
    # exactly 3 items asked: the grammar's list is pinned to 3
    items = request.kwargs["schema"]["properties"]["items"]
    assert items["minItems"] == items["maxItems"] == 3
