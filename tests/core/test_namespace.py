"""``import schemastream`` gives its API and its submodules, nothing the package used to build
itself (``Any``, ``TYPE_CHECKING``, ``annotations`` once leaked out of ``__init__``)."""

from __future__ import annotations

import types

import schemastream as ss
from schemastream import errors, stream


def _public(namespace: dict[str, object]) -> set[str]:
    return {name for name in namespace if not name.startswith("_")}


def _submodules(namespace: dict[str, object]) -> set[str]:
    return {
        name
        for name, value in namespace.items()
        if isinstance(value, types.ModuleType) and value.__name__ == f"schemastream.{name}"
    }


def test_the_package_namespace_is_all_plus_submodules() -> None:
    namespace = vars(ss)
    assert _public(namespace) - _submodules(namespace) == set(ss.__all__)
    assert {"client", "core", "errors", "stream"} <= _submodules(namespace)


def test_every_name_in_all_is_defined() -> None:
    missing = [name for name in ss.__all__ if not hasattr(ss, name)]
    assert missing == []


def test_web_is_loaded_on_first_use() -> None:
    assert isinstance(ss.web, types.ModuleType) and ss.web.__name__ == "schemastream.web"
    assert _public(vars(ss)) - _submodules(vars(ss)) == set(ss.__all__)


def test_stream_closed_lives_in_errors_and_stays_where_it_was_exported() -> None:
    assert ss.StreamClosed is errors.StreamClosed is stream.StreamClosed
    assert issubclass(ss.StreamClosed, ss.SchemaStreamError)
