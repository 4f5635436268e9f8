"""The push JSON parser: text chunks in, path-addressed events and a partial value out."""

from .events import JsonEvent, Path, PathItem, StringDelta, ValueEnd, ValueKind, ValueStart
from .parser import MAX_DEPTH, JsonStreamParser

__all__ = [
    "JsonEvent",
    "JsonStreamParser",
    "MAX_DEPTH",
    "Path",
    "PathItem",
    "StringDelta",
    "ValueEnd",
    "ValueKind",
    "ValueStart",
]
