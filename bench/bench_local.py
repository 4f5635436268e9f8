"""Benchmark of the embedded local model (needs the ``local`` extra).

One run, side by side:

1. tokens/s, unconstrained vs constrained (same prompt, same number of output tokens; the
   prompt is cached first so the figures are decode speed). Constrained is measured twice:
   with the grammar's forced tokens evaluated in one batch ("fast-forward", what the provider
   does) and with every token sampled under the mask (the per-token masking cost alone).
2. N constrained generations (default 50) over varied prompts and several schemas through
   ``LocalProvider``: % that are complete and schema-valid.
3. Time to first partial: from ``responses.stream(...)`` to the first partial object (through
   the core when it is importable; otherwise to the first text delta), cold (model not loaded)
   and warm.

Usage: ``.venv/bin/python bench/bench_local.py [--n 50] [--tokens 128] [--reps 5] [--threads N]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


class Pet(BaseModel):
    name: str = Field(max_length=20)
    species: Literal["cat", "dog", "rabbit", "parrot", "turtle"]
    age: int = Field(ge=1, le=20)


class Address(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)


class Company(BaseModel):
    name: str = Field(max_length=40)
    employees: int = Field(ge=1, le=100000)
    headquarters: Address
    products: list[Annotated[str, Field(max_length=30)]] = Field(max_length=3)


class Review(BaseModel):
    rating: int = Field(ge=1, le=5)
    sentiment: Literal["positive", "neutral", "negative"]
    summary: str = Field(max_length=100)


IdeaList = Annotated[list[Idea], Field(max_length=4)]

VALIDITY_CASES: list[tuple[str, Any, list[str]]] = [
    (
        "list[Idea]",
        IdeaList,
        [
            "Generate 3 marketing ideas for a note-taking app",
            "Give 2 ideas to promote a yoga studio",
            "Suggest 3 fundraising ideas for a school",
            "Two ideas to market a coffee roaster",
            "Ideas for a podcast launch",
            "Generate 3 marketing ideas for a running shoe",
            "Give 4 ideas for a library summer program",
            "Ideas to grow a newsletter",
            "Generate 2 marketing ideas for a mobile game",
            "3 ideas for a farmers market",
        ],
    ),
    (
        "Pet",
        Pet,
        [
            "Invent a pet for a children's story",
            "Describe my neighbor's pet",
            "A pet for a lonely lighthouse keeper",
            "Create a pet character for a cartoon",
            "The class pet of a primary school",
            "A pet that lives on a boat",
            "Describe a pet for a retired teacher",
            "A pet in a fantasy novel",
            "The pet of a famous detective",
            "A pet for a small apartment",
        ],
    ),
    (
        "Company",
        Company,
        [
            "Describe a small software company",
            "A company that makes bicycles",
            "An electric car startup",
            "A family-owned chocolate factory",
            "A video game studio",
            "A company that builds solar panels",
            "A local newspaper",
            "A toy manufacturer",
            "A cloud storage provider",
            "A sports clothing brand",
        ],
    ),
    (
        "Review",
        Review,
        [
            "Review of a pizza restaurant",
            "Review a pair of headphones",
            "A review of a mystery novel",
            "Review of a hotel stay",
            "Review a budget smartphone",
            "Review of a museum visit",
            "A review of a yoga mat",
            "Review of a train journey",
            "Review a coffee machine",
            "A review of a science fiction film",
        ],
    ),
    (
        "list[str]",
        Annotated[list[Annotated[str, Field(max_length=24)]], Field(max_length=5)],
        [
            "Name 3 fruits",
            "List 4 European capitals",
            "Name 5 colors",
            "Three famous painters",
            "List 3 programming languages",
            "Name 4 musical instruments",
            "List 2 planets",
            "Name 3 board games",
            "Five kinds of trees",
            "List 3 dog breeds",
        ],
    ),
]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, Python {platform.python_version()}"


def bench_speed(provider: Any, tokens: int, reps: int) -> dict[str, Any]:
    from schemastream.local.engine import Generation, SamplingParams
    from schemastream.schema.spec import ResponseSpec

    model = provider.load()
    # at least 50 items: never finishes before `tokens`, so every run writes exactly `tokens`
    spec = ResponseSpec.from_type(Annotated[list[Idea], Field(min_length=50)])
    request = provider.build_request(
        spec, "json_schema", {"messages": [{"role": "user", "content": "Ideas for a bakery"}]}
    )
    prompt_tokens = model.tokenize(provider.prompt_text(request, model))

    overhead: dict[str, list[float]] = {}

    def run(kind: str) -> tuple[float, int, int]:
        schema = None if kind == "unconstrained" else spec.json_schema
        gen = Generation(
            model,
            prompt_tokens,
            schema=schema,
            max_tokens=tokens,
            sampling=SamplingParams(seed=7, presence_penalty=0.0),
            fast_forward=(kind == "constrained+ff"),
        )
        start = time.perf_counter()
        for _ in gen:
            pass
        elapsed = time.perf_counter() - start
        overhead.setdefault(kind, []).append(1000 * gen.constraint_seconds / gen.output_tokens)
        return elapsed, gen.output_tokens, gen.forced_tokens

    kinds = ["unconstrained", "constrained", "constrained+ff"]
    for kind in kinds:  # warm the prompt cache and the grammar
        run(kind)
    results: dict[str, list[float]] = {k: [] for k in kinds}
    counts: dict[str, list[int]] = {k: [] for k in kinds}
    forced: dict[str, list[int]] = {k: [] for k in kinds}
    for _ in range(reps):
        for kind in kinds:  # interleaved: load from other processes hits all alike
            elapsed, n, f = run(kind)
            results[kind].append(n / elapsed)
            counts[kind].append(n)
            forced[kind].append(f)
    out: dict[str, Any] = {}
    for kind in kinds:
        out[kind] = {
            "tokens_per_s_median": round(statistics.median(results[kind]), 1),
            "tokens_per_s_best": round(max(results[kind]), 1),
            "tokens_per_s_all": [round(x, 1) for x in results[kind]],
            "output_tokens": counts[kind],
            "forced_tokens": forced[kind],
            "logit_and_matcher_ms_per_token": round(statistics.median(overhead[kind]), 3),
        }
    base = out["unconstrained"]["tokens_per_s_median"]
    out["ratio_constrained"] = round(out["constrained"]["tokens_per_s_median"] / base, 2)
    out["ratio_constrained_ff"] = round(out["constrained+ff"]["tokens_per_s_median"] / base, 2)
    best = out["unconstrained"]["tokens_per_s_best"]
    out["ratio_constrained_best"] = round(out["constrained"]["tokens_per_s_best"] / best, 2)
    out["ratio_constrained_ff_best"] = round(out["constrained+ff"]["tokens_per_s_best"] / best, 2)
    return out


def bench_validity(provider: Any, n: int) -> dict[str, Any]:
    from schemastream.schema.spec import ResponseSpec

    jobs: list[tuple[str, Any, str]] = []
    i = 0
    while len(jobs) < n:
        name, tp, prompts = VALIDITY_CASES[i % len(VALIDITY_CASES)]
        jobs.append((name, tp, prompts[(i // len(VALIDITY_CASES)) % len(prompts)]))
        i += 1
    valid = 0
    failures = []
    per_schema: dict[str, list[int]] = {}
    total_tokens = 0
    start = time.perf_counter()
    examples: dict[str, str] = {}
    for name, tp, prompt in jobs:
        spec = ResponseSpec.from_type(tp)
        request = provider.build_request(
            spec, "json_schema", {"messages": [{"role": "user", "content": prompt}]}
        )
        text = ""
        finish = None
        for delta in provider.open_stream(request):
            text += delta.text
            if delta.finish_reason:
                finish = delta.finish_reason
                total_tokens += delta.usage.output_tokens or 0
        ok = False
        try:
            document = json.loads(text)
            value = document[spec.wrapper_key] if spec.wrapper_key else document
            TypeAdapter(tp).validate_python(value)
            ok = finish == "stop"
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            failures.append(
                {"schema": name, "prompt": prompt, "finish": finish, "error": str(exc)[:200]}
            )
        valid += ok
        per_schema.setdefault(name, [0, 0])
        per_schema[name][0] += ok
        per_schema[name][1] += 1
        examples.setdefault(name, text)
    elapsed = time.perf_counter() - start
    return {
        "generations": len(jobs),
        "schemas": len(per_schema),
        "valid": valid,
        "valid_pct": round(100.0 * valid / len(jobs), 1),
        "per_schema": {k: f"{v[0]}/{v[1]}" for k, v in per_schema.items()},
        "failures": failures,
        "seconds": round(elapsed, 1),
        "output_tokens": total_tokens,
        "examples": examples,
    }


def bench_first_partial(provider_factory: Any, provider: Any) -> dict[str, Any]:
    """Seconds from responses.stream() to the first partial (cold = fresh process state)."""
    from schemastream.local import model as model_module

    prompt = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]
    try:
        import schemastream as ss

        if not hasattr(ss, "Client"):
            raise ImportError("schemastream.Client")

        def first(p: Any) -> float:
            client = ss.Client(p)
            start = time.perf_counter()
            stream = client.responses.stream(
                model="local", messages=prompt, response_model=list[Idea]
            )
            try:
                for _partial in stream:
                    return time.perf_counter() - start
            finally:
                stream.close()
            return float("nan")

        via = "core (ss.Client(LocalProvider()).responses.stream, first partial)"
    except ImportError:
        from schemastream.providers.base import Mode
        from schemastream.schema.spec import ResponseSpec

        def first(p: Any) -> float:
            spec = ResponseSpec.from_type(list[Idea])
            start = time.perf_counter()
            request = p.build_request(spec, Mode.JSON_SCHEMA, {"messages": prompt})
            stream = p.open_stream(request)
            try:
                for delta in stream:
                    if delta.text:
                        return time.perf_counter() - start
            finally:
                stream.close()
            return float("nan")

        via = "provider only (core not importable): first text delta"

    saved = dict(model_module._CACHE)
    model_module._CACHE.clear()
    try:
        cold = first(provider_factory())
    finally:
        model_module._CACHE.clear()
        model_module._CACHE.update(saved)
    warm_new_prompt = []
    for topic in ("a bike shop", "a dentist", "a museum"):
        q = [{"role": "user", "content": f"Generate 3 marketing ideas for {topic}"}]
        prompt[:] = q
        warm_new_prompt.append(first(provider))
    prompt[:] = [{"role": "user", "content": "Generate 3 marketing ideas for a museum"}]
    warm_cached = [first(provider) for _ in range(3)]
    return {
        "via": via,
        "cold_s (model load + tokenizer + prompt)": round(cold, 3),
        "warm_new_prompt_s": [round(x, 3) for x in warm_new_prompt],
        "warm_same_prompt_s": [round(x, 3) for x in warm_cached],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark of the embedded local model")
    parser.add_argument("--n", type=int, default=50, help="constrained generations for validity")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per speed run")
    parser.add_argument("--reps", type=int, default=5, help="speed repetitions (median)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip", default="", help="comma list: speed,validity,first")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    from schemastream.providers.local import LocalProvider

    def factory() -> Any:
        return LocalProvider(n_threads=args.threads, seed=11)

    # other processes' load skews every figure: record it next to them
    report: dict[str, Any] = {"machine": _machine(), "load_average_start": os.getloadavg()}
    provider = factory()
    t = time.perf_counter()
    model = provider.load()
    model.ll_tokenizer()
    report["model"] = {
        "path": model.path,
        "threads": model.n_threads,
        "load_s": round(time.perf_counter() - t, 2),
    }
    if "first" not in skip:
        report["time_to_first_partial"] = bench_first_partial(factory, provider)
    if "speed" not in skip:
        report["speed"] = bench_speed(provider, args.tokens, args.reps)
    if "validity" not in skip:
        report["validity"] = bench_validity(provider, args.n)
    report["load_average_end"] = os.getloadavg()
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
