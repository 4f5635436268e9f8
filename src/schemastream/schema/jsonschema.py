"""Response model -> JSON schema, in the generic form and in OpenAI's strict subset."""

from __future__ import annotations

import copy
from typing import Any

# Keywords OpenAI's strict structured outputs reject; their meaning moves into the
# description so the model still sees the limit (we enforce it ourselves while streaming).
_STRICT_UNSUPPORTED = ("minLength", "maxLength", "default", "discriminator", "examples")


def to_openai_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a JSON schema into OpenAI's strict subset.

    Every object gets ``additionalProperties: false`` and lists all its properties as
    required; a property that was optional becomes nullable through ``anyOf``; ``oneOf``
    becomes ``anyOf``; ``const`` becomes a one-value ``enum``; ``$ref`` loses siblings.
    """
    out = copy.deepcopy(schema)
    _strict_node(out)
    return out


def _strict_node(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _strict_node(item)
        return
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        ref = node["$ref"]
        node.clear()
        node["$ref"] = ref
        return
    notes = []
    for key in _STRICT_UNSUPPORTED:
        if key in node:
            value = node.pop(key)
            if key == "maxLength":
                notes.append(f"at most {value} characters")
            elif key == "minLength":
                notes.append(f"at least {value} characters")
    if notes:
        desc = node.get("description")
        node["description"] = (desc + " " if desc else "") + "(" + ", ".join(notes) + ")"
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("type") == "object" or "properties" in node:
        props: dict[str, Any] = node.setdefault("properties", {})
        required = set(node.get("required", []))
        for name, sub in list(props.items()):
            _strict_node(sub)
            if name not in required:
                props[name] = _nullable(sub)
        node["required"] = list(props)
        node["additionalProperties"] = False
        node.setdefault("type", "object")
    for key in ("items", "anyOf", "allOf", "prefixItems"):
        if key in node:
            _strict_node(node[key])
    for key in ("$defs", "definitions"):
        for sub in node.get(key, {}).values():
            _strict_node(sub)
    if isinstance(node.get("additionalProperties"), dict):
        # dict[str, T]: strict mode has no open maps; keep it as an object with no keys
        node["additionalProperties"] = False


def _nullable(sub: dict[str, Any]) -> dict[str, Any]:
    options = sub.get("anyOf")
    if isinstance(options, list):
        if not any(o.get("type") == "null" for o in options if isinstance(o, dict)):
            options.append({"type": "null"})
        return sub
    return {"anyOf": [sub, {"type": "null"}]}
