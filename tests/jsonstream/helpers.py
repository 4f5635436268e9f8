"""Shared helpers for the JsonStreamParser tests: chunkings, strict equality, an invariant checker."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from schemastream.errors import JsonStreamError
from schemastream.jsonstream import JsonStreamParser, StringDelta, ValueEnd, ValueStart

T = TypeVar("T", str, bytes)


# --- chunkings -------------------------------------------------------------------------------
def split_at(data: T, points: Iterable[int]) -> list[T]:
    """``data`` cut at the given positions (out-of-range and duplicate points are ignored)."""
    cuts = sorted({p for p in points if 0 < p < len(data)})
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def singles(data: T) -> list[T]:
    """One character (or byte) per chunk."""
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(data: T, rng: random.Random, max_cuts: int = 16) -> list[T]:
    if len(data) < 2:
        return [data]
    k = rng.randint(1, min(max_cuts, len(data) - 1))
    return split_at(data, rng.sample(range(1, len(data)), k))


# --- strict, repr-insensitive equality -------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types, dict key order and the sign of zero.

    Iterative, so it works on values nested deeper than the recursion limit.
    """
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif isinstance(x, float):
            if math.isnan(x) or math.isnan(y):
                if not (math.isnan(x) and math.isnan(y)):
                    return False
            elif x != y or math.copysign(1.0, x) != math.copysign(1.0, y):
                return False
        elif x != y:
            return False
    return True


def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None or isinstance(value, bool):
        return "literal"
    return "number"


def get_at(value: Any, path: Sequence[Any]) -> Any:
    for part in path:
        value = value[part]
    return value


def all_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(all_paths(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(all_paths(v, (*path, i)))
    return out


def canonical_events(value: Any, path: tuple[Any, ...] = ()) -> list[Any]:
    """The event sequence a correct parser emits for ``value`` (string deltas merged)."""
    out: list[Any] = [ValueStart(path, kind_of(value))]  # type: ignore[arg-type]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(canonical_events(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(canonical_events(v, (*path, i)))
    elif isinstance(value, str) and value:
        out.append(StringDelta(path, value))
    out.append(ValueEnd(path, value))
    return out


def merge_deltas(events: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for ev in events:
        if (
            isinstance(ev, StringDelta)
            and out
            and isinstance(out[-1], StringDelta)
            and out[-1].path == ev.path
        ):
            out[-1] = StringDelta(ev.path, out[-1].text + ev.text)
        else:
            out.append(ev)
    return out


def same_events(a: Sequence[Any], b: Sequence[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if type(x) is not type(y) or x.path != y.path:
            return False
        if isinstance(x, ValueStart) and x.kind != y.kind:
            return False
        if isinstance(x, StringDelta) and x.text != y.text:
            return False
        if isinstance(x, ValueEnd) and not same(x.value, y.value):
            return False
    return True


def consistent(partial: Any, final: Any) -> bool:
    """``partial`` is an honest partial view of ``final``.

    Partial strings are prefixes of the final string; containers hold a prefix of the final
    members (keys in document order), every member but the last equal to its final value and
    the last one itself consistent.
    """
    if isinstance(final, dict):
        if type(partial) is not dict:
            return False
        keys, final_keys = list(partial), list(final)
        if keys != final_keys[: len(keys)]:
            return False
        if any(not same(partial[k], final[k]) for k in keys[:-1]):
            return False
        return not keys or consistent(partial[keys[-1]], final[keys[-1]])
    if isinstance(final, list):
        if type(partial) is not list or len(partial) > len(final):
            return False
        if any(not same(x, y) for x, y in zip(partial[:-1], final)):
            return False
        return not partial or consistent(partial[-1], final[len(partial) - 1])
    if isinstance(final, str):
        return type(partial) is str and final.startswith(partial)
    return same(partial, final)


# --- running the parser ----------------------------------------------------------------------
def parse(chunks: Iterable[str | bytes], **kwargs: Any) -> Any:
    p = JsonStreamParser(**kwargs)
    for chunk in chunks:
        p.feed(chunk)
    return p.close()


def parse_error(chunks: Iterable[str | bytes], **kwargs: Any) -> tuple[str, JsonStreamError]:
    """Feed until the parser fails; return ("feed" | "close", the error). Fails if it never does."""
    p = JsonStreamParser(**kwargs)
    try:
        for chunk in chunks:
            p.feed(chunk)
    except JsonStreamError as exc:
        return "feed", exc
    try:
        value = p.close()
    except JsonStreamError as exc:
        return "close", exc
    raise AssertionError(f"no JsonStreamError; close() returned {value!r:.200}")


class Checked:
    """Drives a parser over chunks whose final value is known, checking every invariant.

    After each ``feed``: the events are well formed (one ValueStart then deltas then one
    ValueEnd per path, never an empty delta, kinds and end values right), paths that ended are
    complete and keep their final value in ``p.value``, other paths are not complete,
    ``p.value`` is an honest partial of the final value, ``p.done`` and ``p.offset`` are right.
    ``close()`` checks the returned value and the whole event sequence.
    """

    def __init__(self, final: Any, **kwargs: Any) -> None:
        self.p = JsonStreamParser(**kwargs)
        self.final = final
        self.paths = all_paths(final)
        self.path_set = set(self.paths)
        self.events: list[Any] = []
        self.started: dict[tuple[Any, ...], str] = {}
        self.ended: set[tuple[Any, ...]] = set()
        self.deltas: dict[tuple[Any, ...], str] = {}
        self.chars = 0
        self.raw = b""

    def feed(self, chunk: str | bytes) -> list[Any]:
        events = self.p.feed(chunk)
        assert isinstance(events, list)
        if isinstance(chunk, bytes):
            self.raw += chunk
            self.chars = len(self.raw.decode("utf-8", "ignore"))
        else:
            self.chars += len(chunk)
        for ev in events:
            self._event(ev)
        self.events.extend(events)
        self._state()
        return events

    def feed_all(self, chunks: Iterable[str | bytes]) -> Any:
        for chunk in chunks:
            self.feed(chunk)
        return self.close()

    def _event(self, ev: Any) -> None:
        path = ev.path
        assert isinstance(path, tuple), ev
        assert path in self.path_set, f"event for a path not in the document: {ev}"
        target = get_at(self.final, path)
        if isinstance(ev, ValueStart):
            assert path not in self.started, f"second ValueStart for {path}"
            if path:
                parent = path[:-1]
                assert parent in self.started and parent not in self.ended, ev
            assert ev.kind == kind_of(target), (ev, target)
            self.started[path] = ev.kind
        elif isinstance(ev, StringDelta):
            assert self.started.get(path) == "string", f"delta outside a string: {ev}"
            assert path not in self.ended, f"delta after ValueEnd: {ev}"
            assert isinstance(ev.text, str) and ev.text, f"empty delta: {ev}"
            text = self.deltas.get(path, "") + ev.text
            assert target.startswith(text), (text, target)
            self.deltas[path] = text
        else:
            assert isinstance(ev, ValueEnd), ev
            assert path in self.started, f"ValueEnd without ValueStart: {ev}"
            assert path not in self.ended, f"second ValueEnd for {path}"
            assert same(ev.value, target), (ev, target)
            if isinstance(target, str):
                assert self.deltas.get(path, "") == target, (self.deltas.get(path), target)
            self.ended.add(path)

    def _state(self) -> None:
        p = self.p
        assert p.offset == self.chars, (p.offset, self.chars)
        assert p.done == (() in self.ended), (p.done, self.ended)
        for path in self.paths:
            complete = p.is_complete(path)
            if path in self.ended:
                assert complete is True, f"{path} ended but is_complete() is {complete!r}"
                assert same(get_at(p.value, path), get_at(self.final, path)), path
            else:
                assert complete is False, f"{path} not ended but is_complete() is {complete!r}"
        value = p.value
        root_kind = self.started.get(())
        if root_kind is None or (root_kind in ("number", "literal") and () not in self.ended):
            assert value is None, f"nothing complete yet but value is {value!r:.200}"
        else:
            assert consistent(value, self.final), (value, self.final)

    def close(self) -> Any:
        # finish() delivers what only the end of input completes (a top-level number)
        tail = self.p.finish()
        for ev in tail:
            self._event(ev)
        self.events.extend(tail)
        assert self.p.done and () in self.ended
        assert self.p.finish() == []  # idempotent
        value = self.p.close()
        assert same(value, self.final), (value, self.final)
        events = merge_deltas(self.events)
        expected = canonical_events(self.final)
        assert same_events(events, expected), (events, expected)
        return value
