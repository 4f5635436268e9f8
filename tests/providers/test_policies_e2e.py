"""Display policies and typed unions (issue 11) end to end: the real SDKs over HTTP.

The policies are decided once in the core's partial builder; these tests show that what a
user of each client sees follows them: plain iteration, ``events()`` patch ops and items,
``stream.field_state``, ``granularity``/``debounce``, and a ``StreamCheck`` that fails fast
and hangs up on the server. Every scenario runs over each provider's wire (the cross-provider
set: openai chat tools, Anthropic, Gemini, sync and async, httpx and aiohttp) plus OpenAI's
Responses API (``ss.from_openai``'s default).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Union, cast

import pytest
from pydantic import BaseModel, TypeAdapter

import schemastream as ss
from schemastream.events import FinalEvent, ItemEvent, PartialEvent, RestartEvent, StreamEvent
from schemastream.patch import apply_patch
from schemastream.schema import ResponseSpec
from tests.providers.test_cross_provider import (
    WIRES,
    Wire,
    _openai_http_error,
    _openai_refusal,
    _openai_sdk_error,
    dumps,
)
from tests.replay.base import ReplayServer


class Card(BaseModel):
    title: Annotated[str, ss.NotNull]
    url: Annotated[str, ss.Done]
    blurb: Annotated[str, ss.WithState]


CARDS = [
    {"title": "Voice notes", "url": "https://example.com/voice-notes", "blurb": "Speak, it types."},
    # keys out of order: the card is held back while its url and blurb stream (NotNull title)
    {"url": "https://example.com/daily", "blurb": "Every morning, a digest.", "title": "Daily"},
    {"title": "Share links", "url": "https://example.com/share/1", "blurb": "One tap to share."},
]
EXPECTED = [Card(**c) for c in CARDS]
URLS = {c["url"] for c in CARDS}
MESSAGES = [{"role": "user", "content": "Three cards, please."}]


# -- wires: the cross-provider set plus OpenAI's Responses API ---------------------------------


def _responses_client(server: ReplayServer, use_async: bool) -> Any:
    import openai

    cls = openai.AsyncOpenAI if use_async else openai.OpenAI
    return ss.from_openai(cls(base_url=server.url + "/v1", api_key="test", max_retries=0))


def _responses_chunks(pieces: list[str], finish: str, name: str) -> list[bytes]:
    from tests.replay import openai_server as oa

    reason = None if finish == "stop" else "max_output_tokens"
    return oa.responses_text_frames("".join(pieces), n=len(pieces[0]), incomplete_reason=reason)


ALL_WIRES = [
    *WIRES,
    pytest.param(
        Wire(
            "openai-responses",
            _responses_client,
            _responses_chunks,
            first_piece=4,
            refusal=_openai_refusal,
            http_error=_openai_http_error,
            sdk_error=_openai_sdk_error,
        ),
        id="openai-responses",
    ),
]


@pytest.fixture(params=ALL_WIRES)
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def use_async(request: pytest.FixtureRequest) -> bool:
    return request.param  # type: ignore[no-any-return]


def _stream(server: ReplayServer, wire: Wire, use_async: bool, tp: Any, **kw: Any) -> Any:
    client = wire.make_client(server, use_async)
    return client.responses.stream(model="m", messages=MESSAGES, response_model=tp, **kw)


async def _collect(stream: Any, use_async: bool, probe: Any = None) -> list[StreamEvent]:
    """All events of ``stream``; ``probe(stream)`` runs after each one (to read state)."""
    events: list[StreamEvent] = []
    if use_async:
        async for event in stream.events():
            events.append(event)
            if probe is not None:
                probe(stream)
    else:
        for event in stream.events():
            events.append(event)
            if probe is not None:
                probe(stream)
    return events


async def _partials(stream: Any, use_async: bool) -> list[Any]:
    if use_async:
        return [p async for p in stream]
    return list(stream)


def _cards_doc() -> str:
    return dumps({"items": CARDS})


def _check_cards(partial: Any) -> None:
    """What every snapshot of ``list[Card]`` must satisfy."""
    assert isinstance(partial, list)
    for i, card in enumerate(partial):
        assert isinstance(card, (Card, ss.PartialModel)), card
        card = cast(Any, card)  # a Card or a PartialCard: both have the fields
        assert card.title, f"card {i} shown without a title: {card!r}"
        assert any(c["title"].startswith(card.title) for c in CARDS), card
        assert card.url is None or card.url in URLS, f"partial url shown: {card.url!r}"


# -- plain iteration ---------------------------------------------------------------------------


async def test_iteration_shows_no_card_without_a_title_nor_a_partial_url(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(list[Card])
    server.add(wire.script(_cards_doc(), spec, n=3))
    stream = _stream(server, wire, use_async, list[Card])
    partials = await _partials(stream, use_async)

    for p in partials:
        _check_cards(p)
    assert partials[-1] == EXPECTED
    # the blurb (no Done) was seen growing; the url (Done) never was
    blurbs = {p[0].blurb for p in partials if p and p[0].blurb}
    assert len(blurbs) >= 3 and all(CARDS[0]["blurb"].startswith(b) for b in blurbs)
    # the second card (title written last) appeared only once its title had begun, whole
    # url and blurb already there
    first_seen = next(p[1] for p in partials if len(p) > 1)
    assert CARDS[1]["title"].startswith(first_seen.title)
    assert first_seen.url == CARDS[1]["url"] and first_seen.blurb == CARDS[1]["blurb"]


# -- events(): patch ops and items -------------------------------------------------------------


async def test_events_ops_add_each_url_once_and_items_arrive_per_card(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(list[Card])
    server.add(wire.script(_cards_doc(), spec, n=3))
    stream = _stream(server, wire, use_async, list[Card])
    events = await _collect(stream, use_async)

    ops = [op for e in events if isinstance(e, (PartialEvent, FinalEvent)) for op in e.ops]
    partial_ops = [op for e in events if isinstance(e, PartialEvent) for op in e.ops]
    assert not [op for op in partial_ops if op["op"] == "append" and op["path"].endswith("/url")]
    # each url travels in exactly one "add": its own (/i/url), or inside its whole card's
    # (/i, the second card, held back by NotNull until its title began)
    carried: list[str] = []
    for op in partial_ops:
        if op["path"].endswith("/url"):
            assert op["op"] == "add", op
            carried.append(op["value"])
        elif isinstance(op.get("value"), dict) and "url" in op["value"]:
            assert op["op"] == "add", op
            carried.append(op["value"]["url"])
    assert sorted(carried) == sorted(URLS)
    assert [op["path"] for op in partial_ops if op["path"].endswith("/url")] == ["/0/url", "/2/url"]
    # items still arrive once per card, in order, validated
    items = [e for e in events if isinstance(e, ItemEvent)]
    assert [(e.index, e.item) for e in items] == list(enumerate(EXPECTED))
    final_at = next(i for i, e in enumerate(events) if isinstance(e, FinalEvent))
    item0_at = events.index(items[0])
    third_shown = next(
        i for i, e in enumerate(events) if isinstance(e, PartialEvent) and len(e.partial) == 3
    )
    assert item0_at < third_shown < final_at  # the first card was delivered mid-stream
    # the ops rebuild the final value (WithState's {value, state} unwrapped at the end)
    state = apply_patch(None, ops)
    assert state == TypeAdapter(list[Card]).dump_python(EXPECTED, mode="json")
    # before that, the JSON state carried the blurb's state (WithState) for the web
    state = None
    seen: list[str] = []
    for e in events:
        if isinstance(e, PartialEvent):
            state = apply_patch(state, e.ops)
            if state:
                blurb = json.loads(json.dumps(state))[0]["blurb"]
                assert set(blurb) == {"value", "state"}
                if not seen or seen[-1] != blurb["state"]:
                    seen.append(blurb["state"])
    assert seen == ["pending", "streaming", "done"]


async def test_stream_field_state_moves_pending_streaming_done(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    spec = ResponseSpec.from_type(list[Card])
    server.add(wire.script(_cards_doc(), spec, n=3))
    stream = _stream(server, wire, use_async, list[Card])
    by_path: list[str] = []
    on_partial: list[str] = []

    def probe(s: Any) -> None:
        state = s.field_state("0.blurb")
        if not by_path or by_path[-1] != state:
            by_path.append(state)
        p = s.partial
        if p:
            st = ss.field_state(p[0], "blurb")
            if not on_partial or on_partial[-1] != st:
                on_partial.append(st)

    assert stream.field_state("0.blurb") == "pending"  # nothing read yet
    await _collect(stream, use_async, probe)
    assert by_path == ["pending", "streaming", "done"]
    assert on_partial == ["pending", "streaming", "done"]
    assert stream.field_state((0, "blurb")) == "done"
    assert stream.field_state("/2/url") == "done"


# -- unions ------------------------------------------------------------------------------------


class Note(BaseModel):
    title: str
    body: str


class Link(BaseModel):
    title: str
    url: str


ENTRIES = [
    {"title": "Groceries", "body": "milk, eggs, bread"},
    {"title": "Docs", "url": "https://example.com/docs"},  # "title" is shared: undecided until url
    {"body": "no title first", "title": "Later"},
]


async def test_union_items_are_never_dicts(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    tp = list[Union[Note, Link]]
    spec = ResponseSpec.from_type(tp)
    server.add(wire.script(dumps({"items": ENTRIES}), spec, n=2))
    stream = _stream(server, wire, use_async, tp)
    partials = await _partials(stream, use_async)

    for p in partials:
        for item in p:
            assert not isinstance(item, dict), p
            assert isinstance(item, (Note, Link, ss.PartialModel)), item
            if isinstance(item, ss.PartialModel):
                assert item.__schemastream_model__ in (Note, Link)
    expected = TypeAdapter(tp).validate_python(ENTRIES)
    assert partials[-1] == expected
    assert [type(x).__name__ for x in expected] == ["Note", "Link", "Note"]
    # the Link slot stayed empty while only the shared "title" was written
    assert any(len(p) == 1 for p in partials)
    shown = [p[1] for p in partials if len(p) > 1]
    assert all(getattr(x, "__schemastream_model__", type(x)) is Link for x in shown)


async def test_done_union_items_appear_whole(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    """``ss.Done`` on a union-typed list item: whole notes and links only, never a partial."""
    tp = list[Annotated[Union[Note, Link], ss.Done]]
    spec = ResponseSpec.from_type(tp)
    server.add(wire.script(dumps({"items": ENTRIES}), spec, n=2))
    stream = _stream(server, wire, use_async, tp)
    partials = await _partials(stream, use_async)

    expected = TypeAdapter(tp).validate_python(ENTRIES)
    for p in partials:
        assert p == expected[: len(p)], p  # only whole, validated items
        assert all(type(item) in (Note, Link) for item in p), p
    lengths = [len(p) for p in partials]
    # one item at a time (the list's own closing may repeat the last snapshot, validated)
    assert sorted(set(lengths)) == [0, 1, 2, 3] and lengths == sorted(lengths)


# -- StreamCheck fails fast --------------------------------------------------------------------


def no_competitor(text: str) -> None:
    if "acme" in text.lower():
        raise ValueError("names a competitor")


class Ad(BaseModel):
    title: str
    blurb: Annotated[str, ss.StreamCheck(no_competitor)]


async def test_stream_check_fails_fast_and_hangs_up(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    ads = [
        {"title": "Fine", "blurb": "Nothing to see here."},
        {"title": "Bad", "blurb": "Better than ACME in every way, " + "and more " * 30},
    ]
    text = dumps({"items": ads})
    n = 4
    spec = ResponseSpec.from_type(list[Ad])
    script = wire.script(text, spec, n=n)
    bad_at = text.index("ACME") + len("ACME") - 1  # the prefix that names it ends here
    stop = wire.first_piece + bad_at // n + 2  # two chunks after it could be decided
    script.gate(stop)  # never opened: only the client hanging up ends the response
    script.gate_timeout = 5
    server.add(script)
    stream = _stream(server, wire, use_async, list[Ad])
    with pytest.raises(ss.StreamValidationError) as info:
        await _partials(stream, use_async)
    err = info.value.errors()[0]
    assert err["type"] == "value_error"
    assert err["loc"] == (1, "blurb")
    assert err["msg"] == "Value error, names a competitor"
    assert stream.completed_items == [Ad(**ads[0])]
    ex = server.last
    assert ex.done.wait(5)
    assert ex.disconnected and not ex.completed
    assert ex.disconnected_at == stop  # not one chunk past the gate
    assert len(server.exchanges) == 1


async def test_stream_check_failure_is_retried(
    server: ReplayServer, wire: Wire, use_async: bool
) -> None:
    """A ``StreamCheck`` failure is a validation failure: ``max_retries`` re-asks."""
    spec = ResponseSpec.from_type(Ad)
    bad = dumps({"title": "Bad", "blurb": "Cheaper than Acme. " + "More text. " * 40})
    good = {"title": "Good", "blurb": "Simply the best."}
    first_script = wire.script(bad, spec, n=4)
    stop = wire.first_piece + bad.index("Acme") // 4 + 3
    first_script.gate(stop)  # never opened: only the client hanging up ends the response
    first_script.gate_timeout = 5
    server.add(first_script, wire.script(dumps(good), spec, n=4))
    stream = _stream(server, wire, use_async, Ad, max_retries=1)
    events = await _collect(stream, use_async)
    restarts = [e for e in events if isinstance(e, RestartEvent)]
    assert len(restarts) == 1 and isinstance(restarts[0].error, ss.StreamValidationError)
    assert restarts[0].error.errors()[0]["loc"] == ("blurb",)
    assert isinstance(events[-1], FinalEvent) and events[-1].value == Ad(**good)
    assert len(server.exchanges) == 2
    first = server.exchanges[0]
    assert first.done.wait(5) and first.disconnected and not first.completed
    assert first.disconnected_at == stop


# -- granularity and debounce --------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{"granularity": "field"}, {"granularity": "item"}, {"debounce": 0.05}, {"debounce": 0.0}],
    ids=["field", "item", "debounce-50ms", "debounce-0"],
)
async def test_granularity_and_debounce_never_show_a_done_value_incomplete(
    server: ReplayServer, wire: Wire, use_async: bool, options: dict[str, Any]
) -> None:
    spec = ResponseSpec.from_type(list[Card])
    server.add(wire.script(_cards_doc(), spec, n=3))
    stream = _stream(server, wire, use_async, list[Card], **options)
    events = await _collect(stream, use_async)

    state = None
    for e in events:
        if isinstance(e, PartialEvent):
            _check_cards(e.partial)
            state = apply_patch(state, e.ops)
            for card in json.loads(json.dumps(state)):
                assert card.get("title"), card
                assert "url" not in card or card["url"] in URLS, card
            assert not [op for op in e.ops if op["op"] == "append" and "/url" in op["path"]]
        elif isinstance(e, FinalEvent):
            state = apply_patch(state, e.ops)
    assert [e.index for e in events if isinstance(e, ItemEvent)] == [0, 1, 2]
    assert isinstance(events[-1], FinalEvent) and events[-1].value == EXPECTED
    assert state == TypeAdapter(list[Card]).dump_python(EXPECTED, mode="json")


def test_the_request_schema_carries_no_policy(server: ReplayServer) -> None:
    """The provider gets plain JSON schema: the policies are display-only."""
    import openai
    from tests.replay import openai_server as oa

    server.add(oa.responses_text_script({"items": CARDS}, 8))
    client = ss.from_openai(openai.OpenAI(base_url=server.url + "/v1", api_key="t"))
    with_policies = client.responses.stream(model="m", input="x", response_model=list[Card])
    assert with_policies.get_final_response() == EXPECTED

    class PlainCard(BaseModel):
        title: str
        url: str
        blurb: str

    server.add(oa.responses_text_script({"items": CARDS}, 8))
    plain = client.responses.stream(model="m", input="x", response_model=list[PlainCard])
    plain.get_final_response()
    sent = [ex.json["text"]["format"] for ex in server.exchanges]
    assert sent[0] == json.loads(json.dumps(sent[1]).replace("PlainCard", "Card"))
    assert sent[0]["strict"] is True
