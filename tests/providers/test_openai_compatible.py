"""OpenAI-compatible servers through ``from_provider`` (Ollama, vLLM, llama.cpp, Groq, ...):
the real openai SDK talks to the replay server that stands in for each of them."""

from __future__ import annotations

import pytest

import schemastream as ss
from tests.models import DOC, IDEAS, Idea
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer

MSGS = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]


@pytest.mark.parametrize(
    ("name", "url_env", "key_env"),
    [
        ("ollama/llama3.2", "OLLAMA_BASE_URL", None),
        ("vllm/qwen2.5", "VLLM_BASE_URL", "VLLM_API_KEY"),
        ("llamacpp/any", "LLAMACPP_BASE_URL", None),
        ("groq/llama-3.1-8b", "GROQ_BASE_URL", "GROQ_API_KEY"),
        ("openrouter/meta/llama", "OPENROUTER_BASE_URL", "OPENROUTER_API_KEY"),
        ("openai/gpt-4o-mini", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
    ],
)
def test_compatible_servers_route_through_the_openai_sdk(
    server: ReplayServer,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    url_env: str,
    key_env: str | None,
) -> None:
    monkeypatch.setenv(url_env, server.url + "/v1")
    if key_env:
        monkeypatch.setenv(key_env, "sk-test")
    client = ss.from_provider(name, max_retries=0)
    mode = client.mode or client.provider.default_responses_mode
    if mode in (ss.Mode.RESPONSES_JSON_SCHEMA, ss.Mode.RESPONSES_TOOLS):
        server.add(oa.responses_text_script(DOC))
    elif mode == ss.Mode.TOOLS:
        server.add(oa.chat_tool_script(DOC, name="Idea_list"))
    else:
        server.add(oa.chat_content_script(DOC))
    stream = client.responses.stream(messages=MSGS, response_model=list[Idea])
    partials = list(stream)
    assert len(partials) > 3
    assert stream.get_final_response() == [Idea(**i) for i in IDEAS]
    body = server.last.json
    assert body["model"] == name.partition("/")[2]  # the model name reaches the server as is
    if mode == ss.Mode.JSON_SCHEMA:  # local servers get strict json_schema response_format
        assert body["response_format"]["type"] == "json_schema"


def test_unknown_provider_and_missing_key_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ss.ConfigurationError, match="unknown provider 'nope'"):
        ss.from_provider("nope/model")
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ss.ConfigurationError, match="GROQ_API_KEY"):
        ss.from_provider("groq/llama")
    with pytest.raises(ss.ConfigurationError, match="name a model"):
        ss.from_provider("openai")


def test_parser_limits_are_per_call_options(server: ReplayServer) -> None:
    import openai

    client = ss.from_openai(openai.OpenAI(base_url=server.url + "/v1", api_key="t", max_retries=0))
    server.add(oa.chat_tool_script(DOC, name="Idea_list"))
    with pytest.raises(ss.JsonStreamError, match="max_size=40"):
        client.chat.completions.create(
            model="m", messages=MSGS, response_model=list[Idea], max_size=40
        )
    assert "max_size" not in server.last.json  # not sent to the provider
    server.add(oa.chat_tool_script(DOC, name="Idea_list"))
    with pytest.raises(ss.JsonStreamError, match="max_depth=2"):
        client.chat.completions.create(
            model="m", messages=MSGS, response_model=list[Idea], max_depth=2
        )
