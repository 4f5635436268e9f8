"""Usage is never silently lost: summed over retries with each attempt's detail, kept and
marked partial when a call is cut (close, fail fast, ``max_items``), priced by genai-prices
where the model is known. Real client, driver and shells over :class:`ScriptProvider`."""

from __future__ import annotations

import asyncio
import sys
import warnings
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import genai_prices
import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from schemastream.contract import Delta
from schemastream.errors import warn_streaming_degraded
from schemastream.usage import price_usd

from .scripted import ScriptProvider, finish, json_deltas


class Idea(BaseModel):
    title: str = Field(max_length=12)


IDEAS = [{"title": "one"}, {"title": "two"}, {"title": "three"}]
BAD = [{"title": "one"}, {"title": "this title is too long"}]
# a list travels wrapped in an object (ResponseSpec.wrapper_key)
WIRE, WIRE_BAD = {"items": IDEAS}, {"items": BAD}


def price(model: str, u: ss.Usage, **kw: Any) -> Decimal:
    """genai-prices' own calculation."""
    counts = {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}
    if u.cached_input_tokens is not None:
        counts["cache_read_tokens"] = u.cached_input_tokens
    return Decimal(genai_prices.calc_price(genai_prices.Usage(**counts), model, **kw).total_price)


def stream_of(provider: ScriptProvider, **kw: Any) -> ss.Stream[Any]:
    return ss.Client(provider).responses.stream(response_model=list[Idea], **kw)


def test_a_finished_call_reports_its_usage_whole() -> None:
    provider = ScriptProvider([*json_deltas(WIRE), finish(ss.Usage(10, 20, 4, 6))])
    stream = stream_of(provider)
    stream.get_final_response()
    usage = stream.usage
    assert isinstance(usage, ss.CallUsage)
    assert (usage.input_tokens, usage.output_tokens) == (10, 20)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (4, 6)
    assert usage.partial is False and usage.cost_usd is None  # "script": no known price
    assert usage.attempts == [ss.AttemptUsage(10, 20, 4, 6, partial=False)]
    assert usage == ss.Usage(10, 20, 4, 6)  # equal to the provider's plain Usage


def test_running_totals_replace_and_missing_counts_are_kept() -> None:
    # Anthropic-like: input at the start, output as running totals, input absent later
    script = [
        Delta(usage=ss.Usage(input_tokens=7)),
        *json_deltas(WIRE),
        Delta(usage=ss.Usage(output_tokens=5)),
        finish(ss.Usage(output_tokens=9)),
    ]
    stream = stream_of(ScriptProvider(script))
    stream.get_final_response()
    assert stream.usage == ss.Usage(7, 9) and stream.usage is not None
    assert stream.usage.partial is False


def test_no_usage_reported_is_none() -> None:
    stream = stream_of(ScriptProvider([*json_deltas(WIRE), finish()]))
    stream.get_final_response()
    assert stream.usage is None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_usage_is_summed_over_a_retry_with_each_attempt(kind: str) -> None:
    first = [
        Delta(usage=ss.Usage(input_tokens=30)),
        *json_deltas(WIRE_BAD),
        finish(ss.Usage(30, 50)),
    ]
    second = [*json_deltas(WIRE), finish(ss.Usage(40, 25, 10, 5))]
    provider = ScriptProvider(first, second, name="openai")
    if kind == "sync":
        stream: Any = stream_of(provider, model="gpt-4o-mini", max_retries=1)
        assert stream.get_final_response() == [Idea(**i) for i in IDEAS]
    else:

        async def run() -> Any:
            s = ss.AsyncClient(provider).responses.stream(
                response_model=list[Idea], model="gpt-4o-mini", max_retries=1
            )
            await s.get_final_response()
            return s

        stream = asyncio.run(run())
    usage = stream.usage
    # the first attempt failed fast: only its input count had arrived, so it is partial
    a1 = ss.AttemptUsage(
        30, None, cost_usd=price("gpt-4o-mini", ss.Usage(30), provider_id="openai"), partial=True
    )
    a2 = ss.AttemptUsage(
        40,
        25,
        10,
        5,
        cost_usd=price("gpt-4o-mini", ss.Usage(40, 25, 10), provider_id="openai"),
        partial=False,
    )
    assert usage.attempts == [a1, a2]
    assert (usage.input_tokens, usage.output_tokens) == (70, 25)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (10, 5)
    assert usage.partial is True
    assert a1.cost_usd is not None and a2.cost_usd is not None
    assert usage.cost_usd == a1.cost_usd + a2.cost_usd


def test_fail_fast_keeps_the_usage_known_so_far() -> None:
    script = [Delta(usage=ss.Usage(12, 1)), *json_deltas(WIRE_BAD), finish(ss.Usage(12, 30))]
    provider = ScriptProvider(script)
    stream = stream_of(provider)
    with pytest.raises(ss.StreamValidationError):
        stream.get_final_response()
    assert stream.usage == ss.Usage(12, 1) and stream.usage is not None
    assert stream.usage.partial is True and stream.usage.attempts[0].partial is True
    assert provider.closed == [0]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_close_keeps_the_usage_known_so_far(kind: str) -> None:
    # local-model-like: usage rides on every delta
    script = [Delta(text=d.text, usage=ss.Usage(8, i + 1)) for i, d in enumerate(json_deltas(WIRE))]
    script.append(finish(ss.Usage(8, len(script))))
    provider = ScriptProvider(script)
    if kind == "sync":
        stream: Any = stream_of(provider)
        events = stream.events()
        for _ in range(3):
            next(events)
        stream.close()
    else:

        async def run() -> Any:
            s = ss.AsyncClient(provider).responses.stream(response_model=list[Idea])
            events = s.events()
            for _ in range(3):
                await events.__anext__()
            await s.aclose()
            return s

        stream = asyncio.run(run())
    usage = stream.usage
    assert usage.partial is True and usage.attempts[0].partial is True
    assert usage.input_tokens == 8 and 0 < usage.output_tokens < len(script) - 1
    assert provider.closed == [0]


def test_max_items_keeps_the_usage_known_so_far() -> None:
    script = [Delta(text=d.text, usage=ss.Usage(8, i + 1)) for i, d in enumerate(json_deltas(WIRE))]
    script.append(finish(ss.Usage(8, 99)))
    provider = ScriptProvider(script)
    stream = stream_of(provider, max_items=1)
    assert stream.get_final_response() == [Idea(title="one")]
    usage = stream.usage
    assert usage is not None and usage.partial is True
    assert usage.input_tokens == 8 and usage.output_tokens is not None
    assert usage.output_tokens < 99  # the upstream was closed before its final count
    assert provider.closed == [0]


# -- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model", "provider_id"),
    [
        ("openai", "gpt-4o-mini", "openai"),
        ("anthropic", "claude-3-5-haiku-latest", "anthropic"),
        ("genai", "gemini-2.0-flash", "google"),
    ],
)
def test_cost_is_genai_prices_own_calculation(name: str, model: str, provider_id: str) -> None:
    usage = ss.Usage(1200, 340, 200)
    provider = ScriptProvider([*json_deltas(WIRE), finish(usage)], name=name)
    stream = stream_of(provider, model=model)
    stream.get_final_response()
    assert stream.usage is not None
    expected = price(model, usage, provider_id=provider_id)
    assert expected > 0 and stream.usage.cost_usd == expected


def test_an_openai_compatible_server_is_priced_by_its_address() -> None:
    usage = ss.Usage(1000, 500)
    known = SimpleNamespace(base_url="https://api.deepseek.com/v1/")
    stream = stream_of(
        ScriptProvider([*json_deltas(WIRE), finish(usage)], name="openai", client=known),
        model="deepseek-chat",
    )
    stream.get_final_response()
    assert stream.usage is not None
    assert stream.usage.cost_usd == price(
        "deepseek-chat", usage, provider_api_url="https://api.deepseek.com/v1/"
    )
    # a local server's model is never priced as OpenAI's, even under an OpenAI model name
    local = SimpleNamespace(base_url="http://127.0.0.1:8000/v1/")
    stream = stream_of(
        ScriptProvider([*json_deltas(WIRE), finish(usage)], name="openai", client=local),
        model="gpt-4o-mini",
    )
    stream.get_final_response()
    assert stream.usage is not None and stream.usage.cost_usd is None


@pytest.mark.parametrize(
    ("name", "model"),
    [("openai", "no-such-model-xyz"), ("local", "gpt-4o-mini"), ("openai", None)],
)
def test_cost_is_none_when_the_price_is_unknown(name: str, model: str | None) -> None:
    provider = ScriptProvider([*json_deltas(WIRE), finish(ss.Usage(10, 20))], name=name)
    stream = stream_of(provider, **({"model": model} if model else {}))
    stream.get_final_response()
    assert stream.usage == ss.Usage(10, 20) and stream.usage is not None
    assert stream.usage.cost_usd is None


def test_cost_is_none_without_genai_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # import fails: not installed
    assert price_usd(ss.Usage(10, 20), "gpt-4o-mini", provider_id="openai") is None
    stream = stream_of(
        ScriptProvider([*json_deltas(WIRE), finish(ss.Usage(10, 20))], name="openai"),
        model="gpt-4o-mini",
    )
    stream.get_final_response()
    assert stream.usage is not None and stream.usage.cost_usd is None


# -- the degraded-streaming warning ---------------------------------------------------------


def test_streaming_degraded_warns_once_per_client() -> None:
    one, two = ScriptProvider([]), ScriptProvider([])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert warn_streaming_degraded(one, "gemini function calls") is True
        assert warn_streaming_degraded(one, "gemini function calls") is False
        assert warn_streaming_degraded(two, "gemini function calls") is True
    assert [w.category for w in seen] == [ss.StreamingDegradedWarning] * 2
    assert issubclass(ss.StreamingDegradedWarning, UserWarning)
    assert str(seen[0].message).startswith("gemini function calls; the object arrives whole")
    assert seen[0].filename == __file__  # points at the caller (the provider), not the helper


def test_the_repr_shows_what_was_reported() -> None:
    one = ss.AttemptUsage(30, None, partial=True)
    two = ss.AttemptUsage(40, 25, 10, cost_usd=Decimal("0.1"))
    assert repr(ss.CallUsage(11, 22, attempts=[ss.AttemptUsage(11, 22)])) == (
        "CallUsage(input_tokens=11, output_tokens=22)"
    )
    assert repr(ss.CallUsage(70, 25, 10, partial=True, attempts=[one, two])) == (
        "CallUsage(input_tokens=70, output_tokens=25, cached_input_tokens=10, partial=True,"
        " attempts=[AttemptUsage(input_tokens=30, partial=True),"
        " AttemptUsage(input_tokens=40, output_tokens=25, cached_input_tokens=10,"
        " cost_usd=Decimal('0.1'))])"
    )


@pytest.mark.parametrize(
    ("name", "model", "client", "priced"),
    [
        ("anthropic", "claude-3-5-haiku-latest", {"base_url": "https://api.anthropic.com"}, True),
        ("anthropic", "claude-3-5-haiku-latest", {"base_url": "http://127.0.0.1:9/"}, False),
        (
            "genai",
            "gemini-2.0-flash",
            {"google": "https://generativelanguage.googleapis.com/"},
            True,
        ),
        ("genai", "gemini-2.0-flash", {"google": "http://127.0.0.1:9/"}, False),
    ],
)
def test_a_client_pointed_at_another_server_is_not_priced_as_the_provider(
    name: str, model: str, client: dict[str, str], priced: bool
) -> None:
    if "google" in client:  # google-genai keeps its address in its API client's HTTP options
        options = SimpleNamespace(base_url=client["google"])
        sdk: Any = SimpleNamespace(_api_client=SimpleNamespace(_http_options=options))
    else:
        sdk = SimpleNamespace(**client)
    usage = ss.Usage(1000, 500)
    provider = ScriptProvider([*json_deltas(WIRE), finish(usage)], name=name, client=sdk)
    stream = stream_of(provider, model=model)
    stream.get_final_response()
    assert stream.usage is not None
    expected = price(model, usage, provider_id={"anthropic": "anthropic", "genai": "google"}[name])
    assert stream.usage.cost_usd == (expected if priced else None)
