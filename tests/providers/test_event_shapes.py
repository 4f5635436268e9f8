"""Events of the wrong shape: valid JSON, wrong kind of value at some member.

Property, for every provider's decoder (OpenAI chat and Responses on the raw-SSE fast path and
the SDK-object fallback, Anthropic, Gemini, the local engine's pieces): put any JSON value in
place of any member (or the whole) of one event of a valid stream, and decoding the stream
either raises :class:`ProviderError` or gives a well-formed result; and when a present value
was replaced by one of another JSON kind, the result is the original one or a
``ProviderError`` (a member the decoder reads is checked; one it ignores changes nothing).
Never another exception. (Putting ``null`` in place of a member means "absent", which the wire
formats use freely, so only the first half applies to it.)

The decoders are driven for real: the fast paths from SSE bytes, the SDK fallback through the
real ``openai`` SDK over HTTP against the replay server. The end-to-end cases (the stream is
closed at once) are in ``test_faults.py``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import openai
import schemastream as ss
from schemastream.errors import JsonStreamError, ProviderError
from schemastream.jsonstream import JsonStreamParser
from schemastream.providers.anthropic import _MessageDecoder
from schemastream.providers.base import Delta, FinishReason, Mode, Request, Usage
from schemastream.providers.genai import _GeminiDecoder
from schemastream.providers.local import LocalAsyncDeltaStream, LocalDeltaStream, LocalProvider
from schemastream.providers.openai import OpenAIProvider, _decoder
from schemastream.schema import ResponseSpec
from tests.replay import anthropic_server as A
from tests.replay import gemini_server as G
from tests.replay import openai_server as O
from tests.replay.base import ReplayServer, Script, sse_frame


class Idea(BaseModel):
    title: str
    score: int


DOC = {"items": [{"title": "Solar kettle", "score": 7}, {"title": "Wind spoon", "score": 3}]}
TEXT = json.dumps(DOC, separators=(",", ":"))
FINISH_REASONS = set(get_args(FinishReason))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node of a JSON value (the value itself first)."""
    yield prefix
    if isinstance(value, dict):
        for key, member in value.items():
            yield from paths(member, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def get_at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    get_at(out, path[:-1])[path[-1]] = new
    return out


def check_result(deltas: list[Delta]) -> None:
    """A result the core can take: texts are strings, finish reasons known, counts integers."""
    for d in deltas:
        assert type(d.text) is str
        assert d.finish_reason is None or d.finish_reason in FINISH_REASONS
        assert d.refusal is None or type(d.refusal) is str
        assert d.usage is None or isinstance(d.usage, Usage)
        if d.usage is not None:
            for n in (d.usage.input_tokens, d.usage.output_tokens):
                assert n is None or type(n) is int
    assert sum(d.finish_reason is not None for d in deltas) == 1


def check_mutation(
    decode: Callable[[list[Any]], list[Delta]],
    events: list[Any],
    data: st.DataObject,
    *,
    document: str | None = None,
    members_only: bool = False,
    sdk_objects: bool = False,
) -> None:
    """The property (module docstring) for one mutation drawn by ``data``. Below a member
    named ``document`` is the model's output itself (Gemini's function-call ``args``), not
    the wire format: any change there changes the result, so only the first half applies.
    ``members_only``: the event itself is not replaced. ``sdk_objects``: the events are read
    through the SDK's own models, which turn a boolean in an integer member into 0 or 1
    before we see it (a valid count: only the first half applies there)."""
    baseline = decode(events)
    check_result(baseline)
    i = data.draw(st.sampled_from([i for i, e in enumerate(events) if e is not DONE]), "event")
    choices = [p for p in paths(events[i]) if p or not members_only]
    path = data.draw(st.sampled_from(choices), "path")
    new = data.draw(json_values, "value")
    old = get_at(events[i], path)
    mutated = list(events)
    mutated[i] = replaced(events[i], path, new)
    try:
        result = decode(mutated)
    except ProviderError as exc:
        if exc.field is not None:  # a shape error names the event and the member
            assert exc.event is not None and exc.event in str(exc) and exc.field in str(exc)
        return
    check_result(result)
    in_document = document is not None and document in path
    if old is not None and new is not None and kind(old) != kind(new) and not in_document:
        assert result == baseline, (path, old, new)


class _Done:
    """OpenAI chat's ``data: [DONE]`` (no JSON: never replaced)."""


DONE = _Done()


def data_of(frames: list[bytes]) -> list[tuple[str | None, Any]]:
    """SSE frames -> (event name, parsed data); ``[DONE]`` becomes ``DONE``."""
    out = []
    for frame in frames:
        name = None
        lines = frame.decode().strip("\n").split("\n")
        for line in lines:
            if line.startswith("event: "):
                name = line[7:]
        payload = lines[-1][6:]
        out.append((name, DONE if payload == "[DONE]" else json.loads(payload)))
    return out


def encode(named: list[tuple[str | None, Any]], events: list[Any]) -> bytes:
    return b"".join(
        sse_frame("[DONE]" if e is DONE else json.dumps(e), event=name)
        for (name, _), e in zip(named, events)
    )


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- OpenAI, raw-SSE fast path -------------------------------------------------------------------


OPENAI_CASES = {
    "chat-tools": (Mode.TOOLS, "chat", O.chat_tool_frames(TEXT, 9)),
    "chat-content": (Mode.JSON, "chat", O.chat_content_frames(TEXT, 9)),
    "chat-refusal": (Mode.JSON, "chat", O.chat_refusal_frames("no", 8)),
    "responses-text": (Mode.RESPONSES_JSON_SCHEMA, "responses", O.responses_text_frames(TEXT, 9)),
    "responses-tools": (Mode.RESPONSES_TOOLS, "responses", O.responses_tool_frames(TEXT, 9)),
    "responses-incomplete": (
        Mode.RESPONSES_JSON_SCHEMA,
        "responses",
        O.responses_text_frames(TEXT[:20], 9, incomplete_reason="max_output_tokens"),
    ),
}


def openai_fast(mode: Mode, kind_: str, named: list[tuple[str | None, Any]]) -> Any:
    request = Request(kind=kind_, kwargs={"stream_options": {"include_usage": True}}, mode=mode)

    def decode(events: list[Any]) -> list[Delta]:
        decoder = _decoder(request)
        return [*decoder.feed(encode(named, events)), *decoder.finish()]

    return decode


@pytest.mark.parametrize("case", list(OPENAI_CASES))
@SETTINGS
@given(data=st.data())
def test_openai_fast_path(case: str, data: st.DataObject) -> None:
    mode, kind_, frames = OPENAI_CASES[case]
    named = data_of(frames)
    check_mutation(openai_fast(mode, kind_, named), [e for _, e in named], data)


# -- OpenAI, SDK-object fallback (the real SDK builds the objects, over HTTP) ------------------


@pytest.fixture(scope="module")
def module_server() -> Iterator[ReplayServer]:
    with ReplayServer(record=False) as server:
        yield server


@pytest.mark.parametrize("case", ["chat-tools", "responses-text", "responses-tools"])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_openai_sdk_fallback(module_server: ReplayServer, case: str, data: st.DataObject) -> None:
    mode, kind_, frames = OPENAI_CASES[case]
    named = data_of(frames)
    client = openai.OpenAI(base_url=module_server.url + "/v1", api_key="test", max_retries=0)
    provider = OpenAIProvider(client, fast=False)
    spec = ResponseSpec.from_type(list[Idea])
    request = provider.build_request(spec, mode, {"model": "m", "messages": []})

    def decode(events: list[Any]) -> list[Delta]:
        module_server.add(Script(chunks=[encode(named, events)]))
        stream = provider.open_stream(request)
        try:
            return list(stream)
        finally:
            stream.close()

    try:
        check_mutation(decode, [e for _, e in named], data, sdk_objects=True)
    finally:
        client.close()


# -- Anthropic ---------------------------------------------------------------------------------

ANTHROPIC_CASES = {
    "tools": (Mode.TOOLS, A.tool_chunks([TEXT[i : i + 9] for i in range(0, len(TEXT), 9)])),
    "text": (Mode.JSON, A.text_chunks([TEXT[i : i + 9] for i in range(0, len(TEXT), 9)])),
    "thinking-calls": (  # extended thinking, prose and two calls; cache and thinking usage
        Mode.PARALLEL_TOOLS,
        A.message_chunks(
            [
                A.thinking_block(["Let me ", "think."]),
                A.redacted_thinking_block(),
                A.text_block(["I'll record them."]),
                A.tool_use_block(['{"title":"Sol', 'ar","score":7}'], "Response", "toolu_a"),
                A.tool_use_block(['{"title":"Wi', 'nd","score":3}'], "Response", "toolu_b"),
            ],
            usage=(30, 90, 2000, 40, 120),
        ),
    ),
}


@pytest.mark.parametrize("case", list(ANTHROPIC_CASES))
@SETTINGS
@given(data=st.data())
def test_anthropic(case: str, data: st.DataObject) -> None:
    mode, frames = ANTHROPIC_CASES[case]
    named = data_of(frames)

    def decode(events: list[Any]) -> list[Delta]:
        decoder = _MessageDecoder(mode, "Response")
        return [*decoder.feed(encode(named, events)), *decoder.finish()]

    check_mutation(decode, [e for _, e in named], data)


# -- Gemini ------------------------------------------------------------------------------------

GEMINI_CASES = {
    "text": (Mode.JSON, G.text_chunks([TEXT[i : i + 9] for i in range(0, len(TEXT), 9)])),
    "call": (Mode.TOOLS, G.call_chunks("Response", DOC)),
    "blocked": (Mode.JSON, [G.blocked_prompt_chunk()]),
}


@pytest.mark.parametrize("case", list(GEMINI_CASES))
@SETTINGS
@given(data=st.data())
def test_gemini(case: str, data: st.DataObject) -> None:
    mode, frames = GEMINI_CASES[case]
    named = data_of(frames)

    def decode(events: list[Any]) -> list[Delta]:
        decoder = _GeminiDecoder(mode, "Response", continue_enabled=True)
        deltas = decoder.feed(encode(named, events))
        rest = decoder.finish()
        assert decoder.resume is None
        return [*deltas, *rest]

    check_mutation(decode, [e for _, e in named], data, document="args")


# -- the local engine's pieces -------------------------------------------------------------------


class ScriptedGeneration:
    """Stands in for ``local.engine.Generation`` (the engine's interface: iterate pieces, then
    ``finish_reason``; token counts as attributes), so any value can be handed over."""

    def __init__(self, steps: list[Any]) -> None:
        self.steps = steps
        self.finish_reason: str | None = None
        self.input_tokens: Any = 0
        self.output_tokens: Any = 0
        self.stopped = False

    def __iter__(self) -> Iterator[Any]:
        for step in self.steps:
            if self.stopped:
                self.finish_reason = "cancelled"
                return
            self.input_tokens = step["input_tokens"]
            self.output_tokens = step["output_tokens"]
            yield step["text"]
        self.finish_reason = "stop"

    def stop(self) -> None:
        self.stopped = True


@SETTINGS
@given(data=st.data())
def test_local_engine_pieces(data: st.DataObject) -> None:
    steps = [
        {"text": TEXT[i : i + 5], "input_tokens": 12, "output_tokens": n + 1}
        for n, i in enumerate(range(0, len(TEXT), 5))
    ]

    def decode(events: list[Any]) -> list[Delta]:
        stream = LocalDeltaStream(ScriptedGeneration(events))  # type: ignore[arg-type]
        try:
            return list(stream)
        finally:
            stream.close()

    # a step is the engine's own handover (not JSON off a wire): its members are what varies
    check_mutation(decode, steps, data, members_only=True)


class _ScriptedLocal(LocalProvider):
    """The local provider with its engine stood in by ``ScriptedGeneration`` (no model)."""

    def __init__(self, steps: list[Any]) -> None:
        super().__init__()
        self.steps = steps
        self.generations: list[ScriptedGeneration] = []

    def _scripted(self) -> Any:
        self.generations.append(ScriptedGeneration(self.steps))
        return self.generations[-1]

    def open_stream(self, request: Request) -> LocalDeltaStream:
        return LocalDeltaStream(self._scripted())

    async def aopen_stream(self, request: Request) -> LocalAsyncDeltaStream:
        stream = LocalAsyncDeltaStream(self._scripted())
        stream.start()
        return stream


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_local_piece_of_the_wrong_kind_stops_the_generation(use_async: bool) -> None:
    steps = [
        {"text": '{"title": "Solar', "input_tokens": 12, "output_tokens": 1},
        {"text": ["kettle"], "input_tokens": 12, "output_tokens": 2},
        {"text": '", "score": 7}', "input_tokens": 12, "output_tokens": 3},
    ]
    provider = _ScriptedLocal(steps)
    kw: dict[str, Any] = {"messages": [{"role": "user", "content": "An idea"}]}
    with pytest.raises(ProviderError) as info:
        if use_async:
            await (
                ss.AsyncClient(provider)
                .responses.stream(response_model=Idea, **kw)
                .get_final_response()
            )
        else:
            ss.Client(provider).responses.stream(response_model=Idea, **kw).get_final_response()
    assert (info.value.event, info.value.field) == ("token", "text")
    assert "local: malformed token event: text is an array" in str(info.value)
    assert provider.generations[0].stopped  # the stream stopped the engine


# -- the parser refuses what is not text -------------------------------------------------------


@pytest.mark.parametrize("chunk", [5, 1.5, None, ["{"], {"a": 1}, True, memoryview(b"{")])
def test_parser_feed_rejects_non_text_with_a_typed_error(chunk: Any) -> None:
    parser = JsonStreamParser()
    parser.feed('{"a": [1, ')
    with pytest.raises(JsonStreamError, match="feed\\(\\) takes str or UTF-8 bytes") as info:
        parser.feed(chunk)
    assert info.value.offset == 10
    parser.feed(b"2]}")  # the parser's state is untouched: the document still completes
    assert parser.close() == {"a": [1, 2]}
