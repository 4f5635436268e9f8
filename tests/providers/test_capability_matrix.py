"""The provider capability matrix: generated from the providers' declarations, equal to the
README's table, and true of what each provider sends (the replay claims are in
``test_capability_claims.py``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from schemastream.providers.anthropic import AnthropicProvider
from schemastream.providers.base import Mode
from schemastream.providers.genai import GenAIProvider
from schemastream.providers.local import LocalProvider
from schemastream.providers.matrix import (
    MatrixRow,
    capability_matrix,
    dropped_keywords,
    markdown,
    provider_classes,
)
from schemastream.providers.openai import OpenAIProvider, to_openai_strict

ROOT = Path(__file__).resolve().parents[2]
README_TABLE = re.compile(
    r"<!-- capability-matrix \(generated: python -m schemastream\.providers\.matrix\) -->\n"
    r"(?P<table>.*?)<!-- /capability-matrix -->",
    re.S,
)


def _row(provider: str, mode: Mode) -> MatrixRow:
    (row,) = [r for r in capability_matrix() if r.provider == provider and r.mode == mode]
    return row


def test_readme_table_is_the_generated_one() -> None:
    match = README_TABLE.search((ROOT / "README.md").read_text())
    assert match is not None, "README.md lost its capability-matrix markers"
    assert match["table"] == markdown(), (
        "README's provider table is stale: paste `python -m schemastream.providers.matrix`"
    )


def test_the_script_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "schemastream.providers.matrix", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == markdown()


def test_every_registered_provider_class_and_mode_has_a_row() -> None:
    classes = [cls for cls, _ in provider_classes()]
    assert classes == [OpenAIProvider, AnthropicProvider, GenAIProvider, LocalProvider]
    names = dict((cls.name, names) for cls, names in provider_classes())
    assert names["openai"] == ("openai", "ollama", "vllm", "llamacpp", "groq", "openrouter")
    assert names["genai"] == ("google",)
    rows = capability_matrix()
    assert {(r.provider, r.mode) for r in rows} == {
        (cls.name, mode) for cls in classes for mode in cls.supported_modes
    }
    assert len(rows) == sum(len(cls.supported_modes) for cls in classes)


def test_rows_say_what_the_declarations_say() -> None:
    for cls, _ in provider_classes():
        for mode in cls.supported_modes:
            declared = cls.capabilities.mode(mode)
            row = _row(cls.name, mode)
            assert (row.incremental, row.reasoning, row.parallel) == (
                declared.incremental,
                declared.reasoning,
                declared.parallel,
            )
            assert (row.usage, row.prose, row.lenient) == (
                declared.usage,
                declared.prose,
                declared.lenient,
            )
            assert (row.enforced != "none") == declared.constrained


def test_what_each_provider_holds_the_model_to() -> None:
    # OpenAI's strict mode gets the schema through its strict subset
    assert _row("openai", Mode.TOOLS).enforced == "strict subset"
    assert _row("openai", Mode.RESPONSES_JSON_SCHEMA).enforced == "strict subset"
    assert _row("openai", Mode.JSON).enforced == "none"
    # the local model samples under a grammar of the whole schema, in every mode
    assert {_row("local", m).enforced for m in LocalProvider.supported_modes} == {"full schema"}
    # structured outputs / a response schema: the provider's own subset
    assert _row("anthropic", Mode.JSON_SCHEMA).enforced == "provider subset"
    assert _row("genai", Mode.JSON).enforced == "provider subset"
    # a tool definition without strict mode is only asked for
    assert _row("anthropic", Mode.TOOLS).enforced == "none"
    assert _row("genai", Mode.TOOLS).enforced == "none"


def test_dropped_keywords_are_what_the_strict_subset_leaves_out() -> None:
    assert dropped_keywords(to_openai_strict) == ["minLength", "maxLength"]
    assert dropped_keywords(lambda schema: schema) == []
    assert "minLength" in markdown() and "strict subset: openai's strict mode" in markdown()


def test_gemini_function_calls_are_whole_and_local_reports_usage_only() -> None:
    assert _row("genai", Mode.TOOLS).incremental is False
    assert _row("genai", Mode.JSON).incremental is True
    local = [r for r in capability_matrix() if r.provider == "local"]
    assert all(r.usage and not (r.reasoning or r.parallel or r.prose) for r in local)
    assert "| genai | `TOOLS` | **whole** |" in markdown()
