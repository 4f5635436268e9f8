"""Hooks and OpenTelemetry, with the real OpenTelemetry SDK (in-memory span exporter and
metric reader installed as the global providers) and the real OpenAI SDK against the replay
server: span tree, attribute values and span events for a normal stream, a fail-fast, a
retry and a cancel."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

import schemastream as ss
from tests.replay import openai_server as oa
from tests.replay.base import ReplayServer

from .scripted import ScriptProvider, finish, json_deltas

ROOT = Path(__file__).resolve().parents[2]


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=40)


IDEAS = [{"title": f"Idea {i}", "blurb": f"short blurb {i}"} for i in range(3)]
TOO_LONG = [IDEAS[0], {"title": "Idea 1", "blurb": "x" * 60}, IDEAS[2]]


class OTel:
    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.exporter = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):  # another test (the docs') may have set one
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))

    def mark(self) -> None:
        self.before = self.histograms()

    def count(self, name: str, **attrs: Any) -> int:
        """Data points recorded for ``name`` (with ``attrs``) since :meth:`mark`."""

        def total(points: dict[str, list[Any]]) -> int:
            return sum(
                p.count
                for p in points.get(name, [])
                if all(p.attributes.get(k) == v for k, v in attrs.items())
            )

        return total(self.histograms()) - total(self.before)

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def histograms(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


_OTEL: OTel | None = None


@pytest.fixture
def otel() -> Iterator[OTel]:
    global _OTEL
    if _OTEL is None:  # the global providers can be set once per process
        _OTEL = OTel()
    _OTEL.exporter.clear()
    _OTEL.mark()  # metrics are cumulative: tests count what was added after this
    yield _OTEL
    ss.uninstrument()


def client_for(server: ReplayServer, kind: str = "sync", **kw: Any) -> Any:
    import openai

    cls = openai.AsyncOpenAI if kind == "async" else openai.OpenAI
    return ss.from_openai(cls(base_url=server.url + "/v1", api_key="t", max_retries=0), **kw)


def script(ideas: list[dict[str, str]], **kw: Any) -> Any:
    return oa.responses_text_script({"items": ideas}, 6, usage=(11, 22), **kw)


def call(client: Any, **kw: Any) -> Any:
    return client.responses.stream(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "three ideas"}],
        response_model=list[Idea],
        **kw,
    )


def tree(otel: OTel) -> tuple[Any, list[Any]]:
    spans = otel.spans()
    calls = [s for s in spans if s.parent is None]
    assert len(calls) == 1, [s.name for s in spans]
    root = calls[0]
    attempts = [s for s in spans if s.parent is not None]
    assert all(s.parent.span_id == root.context.span_id for s in attempts)
    assert all(s.context.trace_id == root.context.trace_id for s in attempts)
    return root, sorted(attempts, key=lambda s: s.attributes["schemastream.attempt"])


def events(span: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, dict(e.attributes)) for e in span.events]


GENAI = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_normal_stream(otel: OTel, server: ReplayServer, kind: str) -> None:
    from opentelemetry.trace import SpanKind, StatusCode

    server.add(script(IDEAS))
    client = client_for(server, kind, instrument=True)
    stream = call(client)
    if kind == "sync":
        assert stream.get_final_response() == [Idea(**i) for i in IDEAS]
    else:
        assert await stream.get_final_response() == [Idea(**i) for i in IDEAS]
    root, attempts = tree(otel)
    assert root.name == "chat gpt-4o-mini" and root.kind == SpanKind.CLIENT
    assert {k: root.attributes[k] for k in GENAI} == GENAI
    assert root.attributes["gen_ai.usage.input_tokens"] == 11
    assert root.attributes["gen_ai.usage.output_tokens"] == 22
    assert tuple(root.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert root.attributes["schemastream.restarts"] == 0
    assert root.status.status_code == StatusCode.UNSET and events(root) == []
    [attempt] = attempts
    assert (
        attempt.name == "schemastream.attempt" and attempt.attributes["schemastream.attempt"] == 1
    )
    assert events(attempt) == [
        ("schemastream.first_partial", {}),
        ("schemastream.item", {"schemastream.index": 0}),
        ("schemastream.item", {"schemastream.index": 1}),
        ("schemastream.item", {"schemastream.index": 2}),
    ]
    assert otel.count("schemastream.time_to_first_partial", **{"gen_ai.system": "openai"}) == 1
    assert otel.count("schemastream.time_per_item") == 3
    assert otel.count("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"}) == 1
    assert otel.count("gen_ai.client.token.usage", **{"gen_ai.token.type": "output"}) == 1
    output = [
        p
        for p in otel.histograms()["gen_ai.client.token.usage"]
        if p.attributes["gen_ai.token.type"] == "output"
    ]
    assert output[-1].max == 22


def test_fail_fast(otel: OTel, server: ReplayServer) -> None:
    from opentelemetry.trace import StatusCode

    server.add(script(TOO_LONG))
    stream = call(client_for(server, instrument=True))
    with pytest.raises(ss.StreamValidationError):
        stream.get_final_response()
    root, [attempt] = tree(otel)
    fail = [e for e in events(attempt) if e[0] == "schemastream.fail_fast"]
    assert fail == [
        (
            "schemastream.fail_fast",
            {"schemastream.path": "1.blurb", "schemastream.constraint": "string_too_long"},
        )
    ]
    assert events(attempt)[:2] == [
        ("schemastream.first_partial", {}),
        ("schemastream.item", {"schemastream.index": 0}),
    ]
    for span in (root, attempt):
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes["error.type"] == "StreamValidationError"
    assert [e.name for e in root.events] == ["exception"]


def test_retry(otel: OTel, server: ReplayServer) -> None:
    from opentelemetry.trace import StatusCode

    server.add(script(TOO_LONG), script(IDEAS))
    stream = call(client_for(server, instrument=True), max_retries=1)
    assert stream.get_final_response() == [Idea(**i) for i in IDEAS]
    root, (first, second) = tree(otel)
    assert root.status.status_code == StatusCode.UNSET
    assert events(root) == [
        (
            "schemastream.restart",
            {"schemastream.attempt": 1, "error.type": "StreamValidationError"},
        )
    ]
    assert root.attributes["schemastream.restarts"] == 1
    assert root.attributes["gen_ai.usage.output_tokens"] == 22
    assert first.status.status_code == StatusCode.ERROR
    assert (
        "schemastream.fail_fast",
        {"schemastream.path": "1.blurb", "schemastream.constraint": "string_too_long"},
    ) in events(first)
    assert second.status.status_code == StatusCode.UNSET
    assert [e[0] for e in events(second)].count("schemastream.item") == 3
    assert first.end_time <= second.start_time


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_cancel(otel: OTel, server: ReplayServer, kind: str) -> None:
    ideas = IDEAS * 3
    s = script(ideas)
    text = json.dumps({"items": ideas}, separators=(",", ":"))
    s.gate(4 + text.index(ideas[1]["blurb"]) // 6 + 1)  # held until the client hangs up
    server.add(s)
    stream = call(client_for(server, kind, instrument=True))
    if kind == "sync":
        for event in stream.events():
            if isinstance(event, ss.ItemEvent):
                break
        stream.close()
    else:
        async for event in stream.events():
            if isinstance(event, ss.ItemEvent):
                break
        await stream.aclose()
    root, [attempt] = tree(otel)
    assert events(root) == [("schemastream.cancel", {})]
    assert root.attributes["schemastream.cancelled"] is True
    assert ("schemastream.item", {"schemastream.index": 0}) in events(attempt)
    assert server.last.done.wait(5) and server.last.disconnected


def test_process_wide_instrument_and_uninstrumented_clients(
    otel: OTel, server: ReplayServer
) -> None:
    server.add(script(IDEAS), script(IDEAS))
    call(client_for(server)).get_final_response()
    assert otel.spans() == []  # not instrumented: no span
    ss.instrument()
    call(client_for(server)).get_final_response()
    assert [s.name for s in otel.spans()] == ["schemastream.attempt", "chat gpt-4o-mini"]


def test_the_call_span_is_a_child_of_the_current_span(otel: OTel, server: ReplayServer) -> None:
    from opentelemetry import trace

    server.add(script(IDEAS))
    with trace.get_tracer("app").start_as_current_span("request handler") as handler:
        call(client_for(server, instrument=True)).get_final_response()
    spans = {s.name: s for s in otel.spans()}
    assert spans["chat gpt-4o-mini"].parent.span_id == handler.get_span_context().span_id
    assert spans["schemastream.attempt"].parent.span_id == spans["chat gpt-4o-mini"].context.span_id


def test_hooks_without_opentelemetry(server: ReplayServer) -> None:
    server.add(script(TOO_LONG), script(IDEAS), script(TOO_LONG))
    client = client_for(server)
    seen: list[tuple[str, Any]] = []
    for name in ss.telemetry.HOOKS:
        client.on(name, lambda value, name=name: seen.append((name, value)))
    client.on("partial", lambda value: 1 / 0)  # a broken hook is logged, the stream goes on
    assert call(client, max_retries=1).get_final_response() == [Idea(**i) for i in IDEAS]
    names = [n for n, _ in seen]
    assert names[0] == "request" and names.count("request") == 2
    assert names.count("restart") == 1 and names.count("final") == 1 and names[-1] == "final"
    assert [v for n, v in seen if n == "item"][-3:] == [Idea(**i) for i in IDEAS]
    assert seen[-1][1] == [Idea(**i) for i in IDEAS]
    restart = next(v for n, v in seen if n == "restart")
    assert isinstance(restart, ss.RestartEvent) and isinstance(
        restart.error, ss.StreamValidationError
    )
    first_request, second_request = [v for n, v in seen if n == "request"]
    assert first_request.kwargs["model"] == second_request.kwargs["model"] == "gpt-4o-mini"
    assert "string_too_long" in json.dumps(second_request.kwargs, default=str)  # the re-ask
    seen.clear()
    with pytest.raises(ss.StreamValidationError):
        call(client).get_final_response()
    assert [n for n, _ in seen if n in ("error", "final")] == ["error"]
    assert isinstance(seen[-1][1], ss.StreamValidationError)
    with pytest.raises(ValueError, match="unknown hook 'done'"):
        client.on("done", print)


def test_nothing_from_opentelemetry_is_imported_without_instrumentation() -> None:
    code = (
        "import sys, schemastream as ss, schemastream.web, openai\n"
        "c = ss.from_openai(openai.OpenAI(api_key='t'))\n"
        "c.on('item', print)\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
    )
    env_path = f"{ROOT / 'src'}"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={"PYTHONPATH": env_path})


def test_from_provider_instrument(otel: OTel, server: ReplayServer) -> None:
    server.add(script(IDEAS))
    client = ss.from_provider(
        "openai/gpt-4o-mini", instrument=True, base_url=server.url + "/v1", api_key="t"
    )
    assert call(client).get_final_response() == [Idea(**i) for i in IDEAS]
    root, [attempt] = tree(otel)
    assert root.attributes["gen_ai.request.model"] == "gpt-4o-mini"


@pytest.mark.parametrize("how", ["events(partials=False)", "get_final_response"])
def test_the_partial_hook_gets_snapshots_from_a_stream_read_without_them(
    server: ReplayServer, how: str
) -> None:
    server.add(script(IDEAS))
    client = client_for(server)
    partials: list[Any] = []
    client.on("partial", partials.append)
    stream = call(client)
    if how == "get_final_response":
        assert stream.get_final_response() == [Idea(**i) for i in IDEAS]
    else:
        events = list(stream.events(partials=False))
        shown = [e for e in events if isinstance(e, ss.PartialEvent)]
        assert shown and all(e.partial is None for e in shown)  # the consumer's choice holds
    assert partials and None not in partials
    assert all(isinstance(p, list) for p in partials)
    assert [dict(p) for p in partials[-1]] == IDEAS  # the last snapshot is the whole list


# -- telemetry reports the summed usage ------------------------------------------------------


def test_spans_carry_the_usage_summed_over_attempts(otel: OTel) -> None:
    # the first attempt fails fast (cut), the retry completes; the provider plays given deltas
    first = [
        ss.Delta(usage=ss.Usage(30, 5)),
        *json_deltas({"items": TOO_LONG}),
        finish(ss.Usage(30, 50)),
    ]
    second = [*json_deltas({"items": IDEAS}), finish(ss.Usage(40, 25))]
    client = ss.Client(ScriptProvider(first, second, name="openai"), instrument=True)
    stream = client.responses.stream(model="gpt-4o-mini", response_model=list[Idea], max_retries=1)
    stream.get_final_response()
    [root] = [s for s in otel.spans() if s.parent is None]
    assert root.attributes["gen_ai.usage.input_tokens"] == 70
    assert root.attributes["gen_ai.usage.output_tokens"] == 30
    assert root.attributes["schemastream.usage.partial"] is True  # the first attempt was cut
    assert stream.usage is not None and stream.usage.cost_usd is not None
    assert root.attributes["schemastream.usage.cost_usd"] == float(stream.usage.cost_usd)
    assert otel.count("gen_ai.client.token.usage", **{"gen_ai.token.type": "input"}) == 1
