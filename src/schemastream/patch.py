"""JSON patch operations: apply, diff, and rewrite to strict RFC 6902 (sans-IO).

The op format (see :mod:`schemastream.events`) is RFC 6902 ``add`` / ``replace`` /
``remove`` (``test`` is accepted by :func:`apply_patch` too) with RFC 6901 JSON Pointer
paths, plus one extension::

    {"op": "append", "path": P, "value": S}

meaning *the string at P grows by S* (P names an existing string, S is a string), or
*the array at P grows by the elements of S* (P names an existing array, S is an array). A
growing string therefore costs only its new characters on the wire, and a batch of new
list items one op instead of one ``add`` each. Clients that want strict RFC 6902 get
:func:`to_rfc6902`: a string ``append`` becomes ``replace`` with the whole new string, an
array ``append`` one ``add`` per element (at explicit indexes).

The root document is addressed by the empty path ``""``; the state before any op is
``None`` (``{"op": "replace", "path": "", "value": ...}`` sets the whole document).

:func:`apply_patch` never mutates its input: containers on the changed paths are copied
and everything else is shared with the previous state (structural sharing), so keeping
old states around is cheap and ``old is new`` comparisons on subtrees are meaningful.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .events import PatchOp
from .jsonstream.events import Path

__all__ = [
    "PatchError",
    "apply_patch",
    "diff",
    "escape_token",
    "format_pointer",
    "json_equal",
    "parse_pointer",
    "split_path",
    "to_rfc6902",
    "unescape_token",
]


class PatchError(ValueError):
    """An op cannot be applied to the state (bad path, wrong type, unknown op)."""


# -- JSON Pointer (RFC 6901) ---------------------------------------------------------------


def escape_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def format_pointer(parts: Iterable[str | int]) -> str:
    """``("items", 3, "a/b")`` -> ``"/items/3/a~1b"``."""
    return "".join("/" + escape_token(p) for p in parts)


def parse_pointer(pointer: str) -> list[str]:
    """``"/items/3"`` -> ``["items", "3"]`` (tokens stay strings; ``""`` is the root)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}: must be empty or start with '/'")
    return [unescape_token(t) for t in pointer[1:].split("/")]


def split_path(path: Path | str) -> Path:
    """A path as a tuple: ``"0.title"``, ``"/0/title"`` and ``(0, "title")`` are
    ``(0, "title")`` (digits become list indexes)."""
    if isinstance(path, str):
        parts = path.strip("/").replace("/", ".").split(".") if path.strip("/.") else []
        return tuple(int(p) if p.isdigit() else p for p in parts)
    return tuple(path)


def _list_index(token: str, length: int, *, allow_end: bool, pointer: str) -> int:
    if allow_end and token == "-":
        return length
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"invalid array index {token!r} in {pointer!r}")
    index = int(token)
    limit = length if allow_end else length - 1
    if index > limit:
        raise PatchError(f"array index {index} out of range in {pointer!r}")
    return index


# -- equality ------------------------------------------------------------------------------


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: like ``==`` but ``True != 1`` and ``1 != 1.0`` (they serialise differently)."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is not tb:
        return False
    if ta is dict:
        if a.keys() != b.keys():
            return False
        return all(json_equal(v, b[k]) for k, v in a.items())
    if ta is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- apply ---------------------------------------------------------------------------------


def apply_patch(state: Any, ops: Sequence[PatchOp]) -> Any:
    """Return the state after ``ops`` (``state`` itself is not modified)."""
    for op in ops:
        state = _apply_one(state, op)
    return state


def _apply_one(state: Any, op: PatchOp) -> Any:
    try:
        kind = op["op"]
        pointer = op["path"]
    except (KeyError, TypeError):
        raise PatchError(f"malformed op {op!r}") from None
    if not isinstance(pointer, str):
        raise PatchError(f"malformed path in {op!r}")
    tokens = parse_pointer(pointer)
    if kind in ("add", "replace", "append", "test") and "value" not in op:
        raise PatchError(f"op {kind!r} needs a value: {op!r}")
    if kind == "test":
        current = _get(state, tokens, pointer)
        if not json_equal(current, op["value"]):
            raise PatchError(f"test failed at {pointer!r}")
        return state
    if kind not in ("add", "replace", "remove", "append"):
        raise PatchError(f"unsupported op {kind!r}")
    return _set(state, tokens, 0, kind, op.get("value"), pointer)


def _get(state: Any, tokens: list[str], pointer: str) -> Any:
    node = state
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"no member {token!r} at {pointer!r}")
            node = node[token]
        elif isinstance(node, list):
            node = node[_list_index(token, len(node), allow_end=False, pointer=pointer)]
        else:
            raise PatchError(f"cannot descend into a {type(node).__name__} at {pointer!r}")
    return node


def _leaf(current: Any, kind: str, value: Any, pointer: str, *, exists: bool) -> Any:
    if kind == "append":
        if exists and isinstance(current, str):
            if not isinstance(value, str):
                raise PatchError(f"append to a string needs a string value at {pointer!r}")
            return current + value
        if exists and isinstance(current, list):
            if not isinstance(value, list):
                raise PatchError(f"append to an array needs an array value at {pointer!r}")
            return current + value
        raise PatchError(f"append needs an existing string or array at {pointer!r}")
    return value


def _set(node: Any, tokens: list[str], depth: int, kind: str, value: Any, pointer: str) -> Any:
    if depth == len(tokens):  # the root itself
        if kind == "remove":
            return None
        return _leaf(node, kind, value, pointer, exists=True)
    token = tokens[depth]
    last = depth == len(tokens) - 1
    if isinstance(node, dict):
        exists = token in node
        new = dict(node)
        if not last:
            if not exists:
                raise PatchError(f"no member {token!r} at {pointer!r}")
            new[token] = _set(node[token], tokens, depth + 1, kind, value, pointer)
        elif kind == "remove":
            if not exists:
                raise PatchError(f"cannot remove missing member at {pointer!r}")
            del new[token]
        elif kind in ("replace", "append") and not exists:
            raise PatchError(f"cannot {kind} missing member at {pointer!r}")
        else:
            new[token] = _leaf(node.get(token), kind, value, pointer, exists=exists)
        return new
    if isinstance(node, list):
        lst = list(node)
        if last and kind == "add":
            lst.insert(_list_index(token, len(node), allow_end=True, pointer=pointer), value)
            return lst
        index = _list_index(token, len(node), allow_end=False, pointer=pointer)
        if not last:
            lst[index] = _set(node[index], tokens, depth + 1, kind, value, pointer)
        elif kind == "remove":
            del lst[index]
        else:
            lst[index] = _leaf(node[index], kind, value, pointer, exists=True)
        return lst
    raise PatchError(f"cannot descend into a {type(node).__name__} at {pointer!r}")


# -- strict RFC 6902 -----------------------------------------------------------------------


def to_rfc6902(ops: Sequence[PatchOp], state: Any) -> list[PatchOp]:
    """Rewrite ``append`` ops as strict RFC 6902 ops.

    A string ``append`` becomes a ``replace`` carrying the whole new string; an array
    ``append`` becomes one ``add`` per element. ``state`` is the state the ops apply to
    (needed to know the current values). Other ops pass through unchanged; the result
    applies with any RFC 6902 applier.
    """
    out: list[PatchOp] = []
    for op in ops:
        if op.get("op") == "append":
            path = op["path"]
            current = _get(state, parse_pointer(path), path)
            if isinstance(current, str) and isinstance(op.get("value"), str):
                new_op: PatchOp = {"op": "replace", "path": path, "value": current + op["value"]}
                out.append(new_op)
                state = _apply_one(state, new_op)
            elif isinstance(current, list) and isinstance(op.get("value"), list):
                for k, element in enumerate(op["value"]):
                    add: PatchOp = {
                        "op": "add",
                        "path": f"{path}/{len(current) + k}",
                        "value": element,
                    }
                    out.append(add)
                state = _apply_one(state, op)
            else:
                raise PatchError(f"cannot append {type(op.get('value')).__name__} at {path!r}")
        else:
            out.append(op)
            state = _apply_one(state, op)
    return out


# -- diff ----------------------------------------------------------------------------------


def diff(old: Any, new: Any) -> list[PatchOp]:
    """Ops that turn ``old`` into ``new`` (``apply_patch(old, diff(old, new))`` equals ``new``).

    A string that only grew becomes one ``append``; lists are compared element by element
    (one new element is ``add``-ed, several are one ``append``; removed ones are
    ``remove``-d from the end); object
    members are added, removed or diffed recursively; anything else is ``replace``-d.
    Subtrees that are the same object are skipped without being compared.
    """
    ops: list[PatchOp] = []
    _diff(old, new, "", ops)
    return ops


def _diff(old: Any, new: Any, path: str, ops: list[PatchOp]) -> None:
    if old is new:
        return
    to, tn = type(old), type(new)
    if to is dict and tn is dict:
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": path + "/" + escape_token(key)})
        for key, value in new.items():
            sub = path + "/" + escape_token(key)
            if key in old:
                _diff(old[key], value, sub, ops)
            else:
                ops.append({"op": "add", "path": sub, "value": value})
        return
    if to is list and tn is list:
        common = min(len(old), len(new))
        for i in range(common):
            if old[i] is not new[i]:
                _diff(old[i], new[i], f"{path}/{i}", ops)
        for i in range(len(old) - 1, common - 1, -1):
            ops.append({"op": "remove", "path": f"{path}/{i}"})
        if len(new) == common + 1:
            ops.append({"op": "add", "path": f"{path}/{common}", "value": new[common]})
        elif len(new) > common:
            ops.append({"op": "append", "path": path, "value": new[common:]})
        return
    if to is str and tn is str:
        if old == new:
            return
        if new.startswith(old) and old:
            ops.append({"op": "append", "path": path, "value": new[len(old) :]})
            return
    elif json_equal(old, new):
        return
    ops.append({"op": "replace", "path": path, "value": new})
