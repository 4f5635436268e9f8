"""Observing calls: plain hooks (``client.on(...)``) and OpenTelemetry (``otel`` extra).

One seam: :func:`observe` / :func:`aobserve` wrap a stream's event iterator (see
:mod:`schemastream.stream`); :class:`Observation` turns what passes through it (events, an
exception, an early stop) into hook calls, spans, span events and metrics. Nothing here is
imported from ``opentelemetry`` unless instrumentation is on (``ss.instrument()`` for the
process, or ``instrument=True`` on one client).

Spans (to the global tracer provider in effect when each span starts): one per call,
named ``chat <model>`` with the GenAI semantic-convention attributes
(``gen_ai.operation.name``, ``gen_ai.system``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens`` / ``output_tokens`` summed over retries,
``gen_ai.response.finish_reasons``; ``schemastream.usage.partial`` when the call was cut
before the provider's final count, ``schemastream.usage.cost_usd`` where the price is known), and
a child span ``schemastream.attempt`` per model request. Span events:
``schemastream.first_partial`` / ``schemastream.item`` / ``schemastream.fail_fast`` on the
attempt, ``schemastream.restart`` / ``schemastream.cancel`` on the call. Metrics
(histograms): ``schemastream.time_to_first_partial`` and ``schemastream.time_per_item``
(seconds), ``gen_ai.client.token.usage`` (tokens, by ``gen_ai.token.type``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .errors import ConfigurationError, StreamValidationError
from .events import FinalEvent, ItemEvent, PartialEvent, RestartEvent, StreamEvent

__all__ = ["HOOKS", "Hooks", "Observation", "Telemetry", "instrument", "uninstrument"]

logger = logging.getLogger("schemastream")

HOOKS = ("request", "partial", "item", "restart", "error", "final")

_SYSTEMS = {"genai": "gcp.gemini", "local": "schemastream.local"}

_process_wide = False


def _require_otel() -> None:
    try:
        import opentelemetry.metrics  # noqa: F401
        import opentelemetry.trace  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "instrumentation needs OpenTelemetry: pip install 'schemastream[otel]'"
        ) from exc


def instrument() -> None:
    """Trace and measure every call in this process (spans to the global tracer provider)."""
    global _process_wide
    _require_otel()
    _process_wide = True


def uninstrument() -> None:
    global _process_wide
    _process_wide = False


class Hooks:
    """Callbacks by name: ``request`` (the provider request, once per attempt), ``partial``
    (each snapshot; built for the hook when the stream is read without snapshots, e.g.
    ``events(partials=False)``, ``get_final_response()`` or the web transports), ``item`` (each validated list item), ``restart`` (the
    :class:`~schemastream.events.RestartEvent`), ``error`` (the exception), ``final`` (the value).
    A hook that raises is logged and skipped: observing must not break the stream."""

    def __init__(self) -> None:
        self._fns: dict[str, list[Callable[[Any], Any]]] = {name: [] for name in HOOKS}
        self.any = False

    def on(self, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name not in self._fns:
            raise ValueError(f"unknown hook {name!r}; one of {', '.join(HOOKS)}")
        self._fns[name].append(fn)
        self.any = True
        return fn

    def wants(self, name: str) -> bool:
        return bool(self._fns[name])

    def emit(self, name: str, value: Any) -> None:
        for fn in self._fns[name]:
            try:
                fn(value)
            except Exception:
                logger.exception("schemastream %s hook failed", name)


class Telemetry:
    """A client's observers: its hooks and whether it is instrumented."""

    def __init__(self, *, instrument: bool = False) -> None:
        if instrument:
            _require_otel()
        self.instrument = instrument
        self.hooks = Hooks()

    def observation(self, driver: Any) -> Observation | None:
        otel = self.instrument or _process_wide
        if not otel and not self.hooks.any:
            return None
        return Observation(driver, self.hooks if self.hooks.any else None, otel=otel)


class Observation:
    """One call seen from outside: fed by :func:`observe`, never touching the stream."""

    def __init__(
        self,
        driver: Any,
        hooks: Hooks | None,
        *,
        otel: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.driver = driver
        self.hooks = hooks
        self.otel = otel
        self.clock = clock
        self.call_span: Any = None
        self.attempt_span: Any = None
        self.attempt = 0
        self._first_partial = False
        self._started = 0.0
        self._last_mark = 0.0
        self._ended = False
        self._system = _SYSTEMS.get(driver.provider.name, driver.provider.name)
        self._model = str(driver.request.kwargs.get("model") or "")
        self._attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": self._system,
            "gen_ai.request.model": self._model,
        }

    # -- what the wrapper reports ------------------------------------------------------------
    def start(self) -> None:
        self._started = self._last_mark = self.clock()
        if self.otel:
            from opentelemetry import trace

            tracer = trace.get_tracer("schemastream")
            self.call_span = tracer.start_span(
                f"chat {self._model}".strip(), kind=trace.SpanKind.CLIENT, attributes=self._attrs
            )
        self._start_attempt()

    def event(self, ev: StreamEvent) -> None:
        if isinstance(ev, PartialEvent):
            if not self._first_partial:
                self._first_partial = True
                elapsed = self.clock() - self._started
                self._span_event(self.attempt_span, "schemastream.first_partial", {})
                self._record("schemastream.time_to_first_partial", elapsed)
            if self.hooks is not None and self.hooks.wants("partial"):
                # a consumer that reads no snapshots (events(partials=False)) leaves
                # ev.partial None: build one for the hook only, so others keep the flat cost
                partial = ev.partial if ev.partial is not None else self.driver.partial
                self.hooks.emit("partial", partial)
        elif isinstance(ev, ItemEvent):
            now = self.clock()
            self._span_event(
                self.attempt_span, "schemastream.item", {"schemastream.index": ev.index}
            )
            self._record("schemastream.time_per_item", now - self._last_mark)
            self._last_mark = now
            self._hook("item", ev.item)
        elif isinstance(ev, RestartEvent):
            self._end_attempt(ev.error)
            self._span_event(
                self.call_span,
                "schemastream.restart",
                {"schemastream.attempt": ev.attempt, "error.type": type(ev.error).__name__},
            )
            self._hook("restart", ev)
            self._start_attempt()
        elif isinstance(ev, FinalEvent):
            self._hook("final", ev.value)

    def finish(self) -> None:
        """The stream ended: normally when the driver is done, else it was stopped early."""
        if self.driver.done:
            self._end(None)
        else:
            self.cancel()

    def fail(self, exc: BaseException) -> None:
        self._hook("error", exc)
        self._end(exc)

    def cancel(self) -> None:
        if self._ended:
            return
        self._span_event(self.call_span, "schemastream.cancel", {})
        self._end(None, cancelled=True)

    # -- internals ---------------------------------------------------------------------------
    def _hook(self, name: str, value: Any) -> None:
        if self.hooks is not None:
            self.hooks.emit(name, value)

    def _start_attempt(self) -> None:
        self.attempt += 1
        self._first_partial = False
        self._last_mark = self.clock()
        self._hook("request", self.driver.request)
        if self.otel:
            from opentelemetry import trace

            ctx = trace.set_span_in_context(self.call_span)
            self.attempt_span = trace.get_tracer("schemastream").start_span(
                "schemastream.attempt",
                context=ctx,
                kind=trace.SpanKind.CLIENT,
                attributes={**self._attrs, "schemastream.attempt": self.attempt},
            )

    def _end_attempt(self, exc: BaseException | None) -> None:
        span, self.attempt_span = self.attempt_span, None
        if span is None:
            return
        if isinstance(exc, StreamValidationError):
            self._span_event(
                span,
                "schemastream.fail_fast",
                {
                    "schemastream.path": ".".join(str(p) for p in exc.path),
                    "schemastream.constraint": exc.constraint,
                },
            )
        if exc is not None:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()

    def _end(self, exc: BaseException | None, *, cancelled: bool = False) -> None:
        if self._ended:
            return
        self._ended = True
        self._end_attempt(exc)
        usage = self.driver.usage
        if usage is not None:
            for kind in ("input", "output"):
                tokens = getattr(usage, f"{kind}_tokens")
                if tokens is not None:
                    self._record("gen_ai.client.token.usage", tokens, {"gen_ai.token.type": kind})
        span, self.call_span = self.call_span, None
        if span is None:
            return
        if usage is not None and usage.input_tokens is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
        if usage is not None and usage.output_tokens is not None:
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        if usage is not None and usage.partial:  # cut before the provider's final count
            span.set_attribute("schemastream.usage.partial", True)
        if usage is not None and usage.cost_usd is not None:
            span.set_attribute("schemastream.usage.cost_usd", float(usage.cost_usd))
        reason = getattr(self.driver, "finish_reason", None)
        if reason:
            span.set_attribute("gen_ai.response.finish_reasons", [reason])
        span.set_attribute("schemastream.restarts", self.driver.restarts)
        if cancelled:
            span.set_attribute("schemastream.cancelled", True)
        if exc is not None:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", type(exc).__name__)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()

    def _span_event(self, span: Any, name: str, attributes: dict[str, Any]) -> None:
        if span is not None:
            span.add_event(name, attributes)

    def _record(self, name: str, value: float, extra: dict[str, Any] | None = None) -> None:
        if not self.otel:
            return
        from opentelemetry import metrics

        meter = metrics.get_meter("schemastream")
        unit = "{token}" if name.startswith("gen_ai.") else "s"
        meter.create_histogram(name, unit=unit).record(value, {**self._attrs, **(extra or {})})


def observe(events: Iterator[StreamEvent], obs: Observation) -> Iterator[StreamEvent]:
    """``events`` unchanged, reported to ``obs`` (the sync shell's seam)."""
    obs.start()
    try:
        for ev in events:
            obs.event(ev)
            yield ev
    except GeneratorExit:
        obs.cancel()
        raise
    except BaseException as exc:
        obs.fail(exc)
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    obs.finish()


async def aobserve(
    events: AsyncIterator[StreamEvent], obs: Observation
) -> AsyncIterator[StreamEvent]:
    """The async twin of :func:`observe`."""
    obs.start()
    try:
        async for ev in events:
            obs.event(ev)
            yield ev
    except (GeneratorExit, asyncio.CancelledError):
        obs.cancel()
        raise
    except BaseException as exc:
        obs.fail(exc)
        raise
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    obs.finish()
