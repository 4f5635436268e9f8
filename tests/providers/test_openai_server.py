"""The replay server's OpenAI frames validate against the installed SDK's own types, and the
SDK's own stream classes read them over HTTP."""

from __future__ import annotations

import json
import typing

import pytest

import openai
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer, Script

# ResponseStreamEvent is a union discriminated by the SDK (not pydantic): map type -> class
_RESPONSE_EVENT_TYPES = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}

DOC = {"items": [{"title": "Tags", "blurb": "Organise notes"}]}


def _payloads(frames: list[bytes]) -> list[tuple[str | None, str]]:
    out = []
    for f in frames:
        text = f.decode()
        assert text.endswith("\n\n")
        event = None
        data = []
        for line in text.strip("\n").split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            else:
                assert line.startswith("data: ")
                data.append(line[6:])
        out.append((event, "\n".join(data)))
    return out


@pytest.mark.parametrize(
    "frames",
    [
        oa.chat_content_frames(DOC),
        oa.chat_tool_frames(DOC, name="Idea_list"),
        oa.chat_refusal_frames(),
        oa.chat_content_frames(DOC, include_usage=False, finish_reason="length"),
    ],
)
def test_chat_frames_validate(frames: list[bytes]) -> None:
    payloads = _payloads(frames)
    assert payloads[-1] == (None, "[DONE]")
    chunks = [ChatCompletionChunk.model_validate(json.loads(p)) for _, p in payloads[:-1]]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"


def test_chat_tool_frames_shape() -> None:
    chunks = [json.loads(p) for _, p in _payloads(oa.chat_tool_frames(DOC, n=5))[:-1]]
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first["id"] and first["function"]["name"] == "Response"
    args = "".join(
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for c in chunks
        if c["choices"] and c["choices"][0]["delta"].get("tool_calls")
    )
    assert json.loads(args) == DOC
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 33


@pytest.mark.parametrize(
    "frames",
    [
        oa.responses_text_frames(DOC),
        oa.responses_tool_frames(DOC, name="Idea_list"),
        oa.responses_refusal_frames(),
        oa.responses_text_frames(DOC, incomplete_reason="max_output_tokens"),
        oa.responses_failed_frames(),
    ],
)
def test_responses_frames_validate(frames: list[bytes]) -> None:
    seqs = []
    for event, data in _payloads(frames):
        payload = json.loads(data)
        obj = _RESPONSE_EVENT_TYPES[payload["type"]].model_validate(payload)
        assert obj.type == event
        seqs.append(obj.sequence_number)
    assert seqs == list(range(len(seqs)))


def test_sdk_reads_chat_stream_over_http(server: ReplayServer) -> None:
    server.add(Script(chunks=oa.chat_tool_frames(DOC, n=3)))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    stream = client.chat.completions.create(
        model="m", messages=[], stream=True, stream_options={"include_usage": True}
    )
    args = ""
    usage = None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            for tc in c.delta.tool_calls or []:
                args += tc.function.arguments or "" if tc.function else ""
    assert json.loads(args) == DOC and usage is not None and usage.prompt_tokens == 11
    assert server.last.path == "/v1/chat/completions"


def test_sdk_reads_responses_stream_over_http(server: ReplayServer) -> None:
    server.add(Script(chunks=oa.responses_text_frames(DOC, n=3)))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    events = list(client.responses.create(model="m", input="hi", stream=True))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert json.loads(text) == DOC
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage is not None
    assert server.last.path == "/v1/responses"


def test_sdk_raises_its_own_error_for_error_script(server: ReplayServer) -> None:
    server.add(oa.error_script(429, "slow down"))
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="test", max_retries=0)
    with pytest.raises(openai.RateLimitError, match="slow down"):
        client.chat.completions.create(model="m", messages=[], stream=True)
