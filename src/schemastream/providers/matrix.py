"""The provider capability matrix: per provider and mode, what streams and what the provider
holds the model to while it generates.

Read from the providers' own declarations (``Provider.supported_modes`` and
``Provider.capabilities``, see :mod:`.base`) for each provider class the registry
(:mod:`.registry`) builds; nothing here is written by hand. ``python -m
schemastream.providers.matrix`` prints it as the Markdown table in README.md (a test keeps
the two equal, and another runs each claim against the replay servers).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .base import Capabilities, Mode, Provider
from .registry import PROVIDERS, lookup

__all__ = [
    "Enforcement",
    "MatrixRow",
    "capability_matrix",
    "dropped_keywords",
    "main",
    "markdown",
    "provider_classes",
]

#: What the provider holds the model to while it generates, in one mode:
#: ``"none"`` (the schema is only asked for, in a prompt or a tool definition),
#: ``"strict subset"`` (the provider's strict mode, over the schema rewritten by
#: ``Capabilities.strict_schema``), ``"provider subset"`` (the provider's structured output,
#: which holds the keywords it supports) or ``"full schema"`` (every token sampled under a
#: grammar compiled from the whole JSON schema: ``Capabilities.grammar``).
Enforcement = Literal["none", "strict subset", "provider subset", "full schema"]

_ENFORCED_WORDS: dict[str, str] = {
    "none": "none",
    "strict subset": "strict subset",
    "provider subset": "provider's subset",
    "full schema": "full schema (llguidance)",
}


@dataclass(frozen=True)
class MatrixRow:
    """One provider in one mode, as its capabilities declare it."""

    provider: str  #: ``Provider.name``
    mode: Mode
    incremental: bool  #: the object arrives in pieces (partials grow); False: whole
    reasoning: bool  #: reasoning is streamed (``ReasoningEvent``)
    parallel: bool  #: several tool calls in one response, one item each
    usage: bool  #: token usage is reported
    prose: bool  #: text beside the object is streamed (``TextEvent``)
    lenient: bool  #: the answer may come in prose or a fence and is parsed leniently
    enforced: Enforcement  #: what the provider holds the model to while generating


def provider_classes() -> list[tuple[type[Provider], tuple[str, ...]]]:
    """Each provider class the registry builds, in registry order, with the names
    (``from_provider("name/...")``) that build it (an entry registered without its
    ``provider`` class is left out)."""
    found: dict[str, list[str]] = {}
    for name in PROVIDERS:
        path = lookup(name).provider
        if path:
            found.setdefault(path, []).append(name)
    out: list[tuple[type[Provider], tuple[str, ...]]] = []
    for path, names in found.items():
        module, _, attr = path.partition(":")
        out.append((getattr(importlib.import_module(module), attr), tuple(names)))
    return out


def _enforced(caps: Capabilities, mode: Mode) -> Enforcement:
    if not caps.mode(mode).constrained:
        return "none"
    if caps.grammar:
        return "full schema"
    if caps.strict_schema is not None:
        return "strict subset"
    return "provider subset"


def capability_matrix() -> list[MatrixRow]:
    """Every provider × supported mode, in registry order then :class:`Mode` order."""
    rows: list[MatrixRow] = []
    for cls, _names in provider_classes():
        caps = cls.capabilities
        for mode in Mode:
            if mode not in cls.supported_modes:
                continue
            m = caps.mode(mode)
            rows.append(
                MatrixRow(
                    provider=cls.name,
                    mode=mode,
                    incremental=m.incremental,
                    reasoning=m.reasoning,
                    parallel=m.parallel,
                    usage=m.usage,
                    prose=m.prose,
                    lenient=m.lenient,
                    enforced=_enforced(caps, mode),
                )
            )
    return rows


# A schema that uses each constraint keyword once: what a strict subset keeps of it.
_PROBE_KEYWORDS: dict[str, tuple[str, Any]] = {
    "minLength": ("string", 1),
    "maxLength": ("string", 9),
    "pattern": ("string", "^a"),
    "format": ("string", "date"),
    "minimum": ("integer", 0),
    "maximum": ("integer", 9),
    "multipleOf": ("integer", 2),
    "minItems": ("array", 1),
    "maxItems": ("array", 3),
    "enum": ("string", ["a", "b"]),
    "const": ("string", "a"),
}


def dropped_keywords(strict_schema: Callable[[dict[str, Any]], dict[str, Any]]) -> list[str]:
    """The constraint keywords (``maxLength``, ``pattern`` ...) that ``strict_schema`` (a
    provider's ``Capabilities.strict_schema``) leaves out of the schema it sends: the ones
    the provider cannot hold the model to. A ``const`` sent as a one-value ``enum`` is kept."""
    props: dict[str, Any] = {}
    for key, (kind, value) in _PROBE_KEYWORDS.items():
        prop: dict[str, Any] = {"type": kind, key: value}
        if kind == "array":
            prop["items"] = {"type": "string"}
        props[key] = prop
    probe = {"type": "object", "properties": props, "required": list(props)}
    sent = strict_schema(probe)["properties"]
    dropped = []
    for key in _PROBE_KEYWORDS:
        node = sent.get(key, {})
        # an optional property may come back wrapped (anyOf [..., null]): look inside
        nodes = [node, *node.get("anyOf", [])]
        kept = any(key in n or (key == "const" and "enum" in n) for n in nodes)
        if not kept:
            dropped.append(key)
    return dropped


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown() -> str:
    """The matrix as the Markdown table (and its notes) in README.md."""
    lines = [
        "| provider | mode | object | reasoning | parallel calls | usage | prose beside |"
        " held to the schema while generating |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in capability_matrix():
        lines.append(
            f"| {row.provider} | `{row.mode.name}` | "
            f"{'in pieces' if row.incremental else '**whole**'} | {_yes(row.reasoning)} | "
            f"{_yes(row.parallel)} | {_yes(row.usage)} | {_yes(row.prose)} | "
            f"{_ENFORCED_WORDS[row.enforced]} |"
        )
    lines.append("")
    lines.append(
        "- Every constraint of the response model, and every validator, is also checked by"
        " schemastream while the object streams, in every mode: one the provider does not"
        " hold the model to fails fast (`StreamValidationError`) instead of being prevented."
    )
    for cls, names in provider_classes():
        caps = cls.capabilities
        if caps.strict_schema is not None:
            dropped = ", ".join(f"`{k}`" for k in dropped_keywords(caps.strict_schema))
            lines.append(
                f"- strict subset: {cls.name}'s strict mode; the schema it is sent leaves out"
                f" {dropped or 'no constraint keyword'}."
            )
        if len(names) > 1:
            served = ", ".join(f"`{n}`" for n in names if n != cls.name)
            lines.append(
                f"- {served} use the {cls.name} provider; what such a server streams and"
                " enforces is the server's own."
            )
    lines.append(
        "- provider's subset: the provider's structured output holds the model to the"
        " keywords it supports."
    )
    lines.append(
        "- **whole**: each object (in `PARALLEL_TOOLS` each call) arrives in one piece, so no"
        " partial shows it growing; the client warns once (`StreamingDegradedWarning`)."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemastream.providers.matrix",
        description="Print the provider capability matrix (the README table).",
    )
    parser.add_argument("--markdown", action="store_true", help="Markdown (the default)")
    parser.parse_args(argv)
    print(markdown(), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
