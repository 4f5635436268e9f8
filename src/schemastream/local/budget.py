"""Token budgets derived from a JSON schema's bounds.

A bounded schema (every string has ``maxLength``, every array ``maxItems``) gets a budget that
covers the longest document it allows, counting one token per character of string content
(tokens are at least one byte, and in practice three to four characters). Unbounded parts are
counted with defaults, so the budget stays finite; the total is clamped to the context.
"""

from __future__ import annotations

import copy
import json
from typing import Any

#: Tokens assumed for a string without ``maxLength``.
UNBOUNDED_STRING_TOKENS = 96
#: Items assumed for an array without ``maxItems``.
UNBOUNDED_ARRAY_ITEMS = 8
#: Budget when the schema is too deep or odd to estimate.
DEFAULT_MAX_TOKENS = 1024
#: Smallest budget ever used.
MIN_MAX_TOKENS = 32
#: Largest budget the schema estimate may give.
MAX_MAX_TOKENS = 4096


class _Estimator:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.bounded = True

    def resolve(self, schema: Any) -> dict[str, Any]:
        for _ in range(20):
            if not (isinstance(schema, dict) and "$ref" in schema):
                break
            target = self.defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema if isinstance(schema, dict) else {}

    def tokens(self, schema: Any, depth: int = 0) -> int:
        schema = self.resolve(schema)
        if depth > 12:
            self.bounded = False
            return DEFAULT_MAX_TOKENS
        if "const" in schema:
            return len(json.dumps(schema["const"])) + 1
        if "enum" in schema and schema["enum"]:
            return max(len(json.dumps(v)) for v in schema["enum"]) + 1
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return max((self.tokens(s, depth + 1) for s in schema[key]), default=4)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            return self.tokens(merged, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            return max((self.tokens({**schema, "type": k}, depth + 1) for k in kind), default=4)
        if kind is None and "properties" in schema:
            kind = "object"
        if kind == "object":
            total = 2
            for key, sub in schema.get("properties", {}).items():
                total += len(key) + 3 + self.tokens(sub, depth + 1)
            if schema.get("additionalProperties") not in (None, False):
                self.bounded = False
            return total
        if kind == "array":
            if "prefixItems" in schema:
                return 2 + sum(self.tokens(s, depth + 1) + 1 for s in schema["prefixItems"])
            max_items = schema.get("maxItems")
            if not isinstance(max_items, int):
                self.bounded = False
                max_items = UNBOUNDED_ARRAY_ITEMS
            return 2 + max_items * (self.tokens(schema.get("items", {}), depth + 1) + 1)
        if kind in ("integer", "number"):
            return 24
        if kind == "boolean":
            return 2
        if kind == "null":
            return 2
        if kind == "string" or kind is None:
            if schema.get("format") in ("date-time", "date", "time", "uuid", "email"):
                return 40
            max_len = schema.get("maxLength")
            if not isinstance(max_len, int):
                self.bounded = False
                return UNBOUNDED_STRING_TOKENS
            return max_len + 2
        return 8


def schema_token_bound(schema: dict[str, Any]) -> tuple[int, bool]:
    """(estimated worst-case tokens, whether every part of the schema is bounded)."""
    est = _Estimator(schema.get("$defs", {}) or {})
    return est.tokens(schema), est.bounded


def max_tokens_for_schema(schema: dict[str, Any]) -> int:
    """Default ``max_tokens`` for a schema (see module docstring)."""
    tokens, _ = schema_token_bound(schema)
    return max(MIN_MAX_TOKENS, min(MAX_MAX_TOKENS, tokens))


def limit_items(schema: dict[str, Any], wrapper_key: str | None, max_items: int) -> dict[str, Any]:
    """Copy of a wrapped list schema whose root list has at most ``max_items`` items."""
    if wrapper_key is None:
        return schema
    out = copy.deepcopy(schema)
    inner = out.get("properties", {}).get(wrapper_key)
    if isinstance(inner, dict) and inner.get("type") == "array":
        current = inner.get("maxItems")
        inner["maxItems"] = max_items if not isinstance(current, int) else min(current, max_items)
        if isinstance(inner.get("minItems"), int) and inner["minItems"] > inner["maxItems"]:
            inner["minItems"] = inner["maxItems"]
    return out


def exact_items(schema: dict[str, Any], wrapper_key: str | None, count: int) -> dict[str, Any]:
    """Copy of a wrapped list schema whose root list has exactly ``count`` items.

    ``count`` is clamped to the list's own ``minItems`` / ``maxItems``.
    """
    if wrapper_key is None:
        return schema
    out = copy.deepcopy(schema)
    inner = out.get("properties", {}).get(wrapper_key)
    if isinstance(inner, dict) and inner.get("type") == "array":
        low = inner.get("minItems")
        high = inner.get("maxItems")
        if isinstance(low, int):
            count = max(count, low)
        if isinstance(high, int):
            count = min(count, high)
        inner["minItems"] = count
        inner["maxItems"] = count
    return out
