"""Usage of one call: the tokens of each attempt, their sum, and the cost where it is known.

:class:`UsageMeter` is sans-IO bookkeeping owned by :class:`~schemastream.core.StreamDriver`:
it folds each attempt's ``Delta.usage`` reports into that attempt, and knows whether the
attempt ran to the provider's last word (the delta with ``finish_reason``) or was cut
(closed, failed fast, stopped at ``max_items``): then its counts are what was known at that
moment and are marked ``partial``, never dropped.

The cost in USD comes from the ``genai-prices`` package (the ``prices`` extra) for the model
named in the request (its ``model`` argument) at the provider the client talks to; without
the package, or for a model or server it does not know, the cost is ``None``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from .contract import Usage

__all__ = ["AttemptUsage", "CallUsage", "UsageMeter", "price_usd", "pricer_for"]

_TOKENS = ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens")

#: schemastream provider name -> genai-prices provider id
_PRICE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "genai": "google"}
#: the provider's own API hosts (a suffix): an SDK client pointed elsewhere is priced by its
#: address, or not at all
_OWN_HOSTS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "genai": "googleapis.com",
}


def _base_url(provider: Any) -> str | None:
    client = getattr(provider, "client", None)
    base = getattr(client, "base_url", None)  # openai, anthropic
    if base is None:  # google-genai keeps it in its (private) API client's HTTP options
        options = getattr(getattr(client, "_api_client", None), "_http_options", None)
        base = getattr(options, "base_url", None)
    return str(base) if base is not None else None


def _tokens(usage: Usage) -> tuple[int | None, ...]:
    return tuple(getattr(usage, name) for name in _TOKENS)


@dataclass(eq=False)
class AttemptUsage(Usage):
    """One model response's usage: its tokens, ``cost_usd`` (``None``: price unknown or no
    tokens reported) and ``partial`` (the response was cut before the provider's final count,
    so the counts are those known then: a lower bound).

    Equal to a plain :class:`~schemastream.Usage` with the same token counts. Its repr shows
    what was reported only."""

    cost_usd: Decimal | None = None
    partial: bool = False

    def __eq__(self, other: object) -> bool:
        if type(other) is Usage:
            return _tokens(self) == _tokens(other)
        if type(other) is type(self):
            return dataclasses.astuple(self) == dataclasses.astuple(other)  # type: ignore[arg-type]
        return NotImplemented

    def __repr__(self) -> str:
        # what was reported only: counts not reported, no cost, not partial are left out
        shown = [f"{n}={getattr(self, n)!r}" for n in _TOKENS if getattr(self, n) is not None]
        if self.cost_usd is not None:
            shown.append(f"cost_usd={self.cost_usd!r}")
        if self.partial:
            shown.append("partial=True")
        attempts = getattr(self, "attempts", [])
        if len(attempts) > 1:
            shown.append(f"attempts={attempts!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


@dataclass(eq=False, repr=False)
class CallUsage(AttemptUsage):
    """One call's usage: the tokens summed over its ``attempts`` (retries included), the
    summed cost of the attempts whose price is known, and ``partial`` when any attempt was
    cut (see :class:`AttemptUsage`). A token count is ``None`` when no attempt reported it.
    The repr lists the attempts when there were several."""

    attempts: list[AttemptUsage] = field(default_factory=list)


def _price_module() -> Any:
    try:
        import genai_prices
    except ImportError:
        return None
    return genai_prices


def price_usd(
    usage: Usage,
    model: str,
    *,
    provider_id: str | None = None,
    api_url: str | None = None,
) -> Decimal | None:
    """The price of ``usage`` on ``model`` in USD by ``genai-prices``, or ``None`` (package not
    installed, no tokens, or a model / provider it does not know). ``provider_id`` is
    genai-prices' id (``"openai"``, ``"anthropic"``, ``"google"`` ...); ``api_url`` finds
    the provider by its API address instead (an OpenAI-compatible server)."""
    prices = _price_module()
    if prices is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    counts = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        # genai-prices, like Usage, counts cache reads as part of the input tokens
        "cache_read_tokens": usage.cached_input_tokens,
    }
    try:
        calc = prices.calc_price(
            prices.Usage(**{k: v for k, v in counts.items() if v is not None}),
            model,
            provider_id=provider_id,
            provider_api_url=api_url,
        )
    except (LookupError, ValueError):  # unknown model or provider; counts it cannot price
        return None
    return Decimal(calc.total_price)


def pricer_for(provider: Any, model: Any) -> Callable[[Usage], Decimal | None] | None:
    """How to price a response of ``model`` from ``provider`` (a schemastream provider), or
    ``None`` when its price cannot be known (no model, a local model, an unknown provider).

    An SDK client pointed at another server than the provider's (its base URL) is looked up
    by that address instead (genai-prices knows e.g. DeepSeek's), so a local server's model
    is never priced as OpenAI's."""
    name = getattr(provider, "name", "")
    price_id = _PRICE_PROVIDERS.get(name)
    if not isinstance(model, str) or not model or price_id is None:
        return None
    api_url: str | None = None
    base = _base_url(provider)
    host = urlsplit(base).hostname if base is not None else None
    if base is not None and not (host or "").endswith(_OWN_HOSTS[name]):
        api_url, price_id = base, None
    provider_id = price_id

    def price(usage: Usage) -> Decimal | None:
        return price_usd(usage, model, provider_id=provider_id, api_url=api_url)

    return price


class _Attempt:
    __slots__ = ("counts", "reported", "complete", "_cost_key", "_cost")

    def __init__(self) -> None:
        self.counts: dict[str, int | None] = dict.fromkeys(_TOKENS)
        self.reported = False
        self.complete = False
        self._cost_key: tuple[int | None, ...] | None = None
        self._cost: Decimal | None = None

    def usage(self, pricer: Callable[[Usage], Decimal | None] | None) -> AttemptUsage:
        key = tuple(self.counts.values())
        if pricer is not None and key != self._cost_key:  # price each distinct count once
            self._cost_key, self._cost = key, pricer(Usage(**self.counts))
        return AttemptUsage(
            **self.counts,
            cost_usd=self._cost if pricer is not None else None,
            partial=not self.complete,
        )


class UsageMeter:
    """The usage of one call's attempts (sans-IO; see the module docstring)."""

    def __init__(self, pricer: Callable[[Usage], Decimal | None] | None = None) -> None:
        self.pricer = pricer
        self._attempts = [_Attempt()]

    def report(self, usage: Usage) -> None:
        """A provider's usage so far in the current attempt: a count it reports replaces the
        earlier one (providers report running totals); one it leaves ``None`` is kept."""
        attempt = self._attempts[-1]
        for name in _TOKENS:
            value = getattr(usage, name)
            if value is not None:
                attempt.counts[name] = value
                attempt.reported = True

    def complete(self) -> None:
        """The provider's last word for this attempt arrived (its finish reason)."""
        self._attempts[-1].complete = True

    def next_attempt(self) -> None:
        """A retry begins; the attempt before it keeps what it reported."""
        self._attempts.append(_Attempt())

    def total(self) -> CallUsage | None:
        """The call's usage so far; ``None`` while no attempt has reported any."""
        if not any(a.reported for a in self._attempts):
            return None
        attempts = [a.usage(self.pricer) for a in self._attempts]
        sums: dict[str, int | None] = {}
        for name in _TOKENS:
            values = [getattr(a, name) for a in attempts if getattr(a, name) is not None]
            sums[name] = sum(values) if values else None
        costs = [a.cost_usd for a in attempts if a.cost_usd is not None]
        return CallUsage(
            **sums,
            cost_usd=sum(costs, Decimal(0)) if costs else None,
            partial=any(a.partial for a in attempts),
            attempts=attempts,
        )
