"""The providers ``from_provider("name/model")`` knows, by name (sans-IO until ``build``).

Each entry builds its :class:`~.base.Provider` (and the SDK client under it) from the model
name and the caller's keyword arguments; a provider module registers one more with
:func:`register`. The OpenAI-compatible servers share the openai provider, each with its base
URL, API-key variable and default mode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .base import Mode, Provider

__all__ = ["PROVIDERS", "ProviderEntry", "lookup", "register"]


@dataclass(frozen=True)
class ProviderEntry:
    """How to build one named provider.

    ``build(model, async_client=..., mode=..., **kwargs)`` returns the provider. ``needs_model``:
    the name must say a model (``openai/gpt-4o-mini``). ``names_model``: the model part becomes
    the client's default ``model=`` (the local provider takes it as a GGUF path instead).
    ``default_mode``: the mode when the caller gives none. ``provider``: the class ``build``
    returns, as ``"module:Class"`` (read without building: the capability matrix).
    """

    name: str
    build: Callable[..., Provider]
    aliases: tuple[str, ...] = ()
    needs_model: bool = True
    names_model: bool = True
    default_mode: Mode | None = None
    provider: str = ""


_REGISTRY: dict[str, ProviderEntry] = {}
_ORDER: list[str] = []


def register(entry: ProviderEntry) -> None:
    """Add ``entry`` under its name and aliases (a later entry replaces an earlier one)."""
    if entry.name not in _REGISTRY:
        _ORDER.append(entry.name)
    for name in (entry.name, *entry.aliases):
        _REGISTRY[name] = entry


def lookup(name: str) -> ProviderEntry:
    """The entry for ``name`` (case-insensitive), or a :class:`ConfigurationError`."""
    entry = _REGISTRY.get(name.lower())
    if entry is None:
        raise ConfigurationError(
            f"unknown provider {name.lower()!r}; known: {', '.join(_ORDER)}"
            " (e.g. 'openai/gpt-4o-mini')"
        )
    return entry


def _openai_compatible(
    name: str,
    url_env: str | None = None,
    url_default: str | None = None,
    key_env: str | None = None,
    key_default: str | None = None,
) -> Callable[..., Provider]:
    """An OpenAI-compatible server: its base URL (``url_env`` or ``url_default``) and key."""

    def build(model: str, *, async_client: bool, mode: Mode | None, **kwargs: Any) -> Provider:
        from .openai import OpenAIProvider, client_from_env

        client_kwargs: dict[str, Any] = dict(kwargs)
        if url_env is not None:
            client_kwargs.setdefault("base_url", os.environ.get(url_env, url_default))
            key = (os.environ.get(key_env) if key_env else None) or key_default
            if key is None:
                raise ConfigurationError(f"set {key_env} to use {name}")
            client_kwargs.setdefault("api_key", key)
        return OpenAIProvider(client_from_env(use_async=async_client, **client_kwargs), mode=mode)

    return build


def _anthropic(model: str, *, async_client: bool, mode: Mode | None, **kwargs: Any) -> Provider:
    from .anthropic import AnthropicProvider, client_from_env

    return AnthropicProvider(client_from_env(use_async=async_client, **kwargs), mode=mode)


def _genai(model: str, *, async_client: bool, mode: Mode | None, **kwargs: Any) -> Provider:
    from .genai import GenAIProvider, client_from_env

    return GenAIProvider(client_from_env(use_async=async_client, **kwargs), mode=mode)


def _local(model: str, *, async_client: bool, mode: Mode | None, **kwargs: Any) -> Provider:
    from .local import LocalProvider

    if model:
        kwargs.setdefault("model_path", model)
    return LocalProvider(**kwargs)


_OPENAI = "schemastream.providers.openai:OpenAIProvider"
register(ProviderEntry("openai", _openai_compatible("openai"), provider=_OPENAI))
_COMPATIBLE: tuple[tuple[str, str, str, str | None, str | None, Mode], ...] = (
    ("ollama", "OLLAMA_BASE_URL", "http://localhost:11434/v1", None, "ollama", Mode.JSON_SCHEMA),
    ("vllm", "VLLM_BASE_URL", "http://localhost:8000/v1", "VLLM_API_KEY", "vllm", Mode.JSON_SCHEMA),
    (
        "llamacpp",
        "LLAMACPP_BASE_URL",
        "http://localhost:8080/v1",
        None,
        "llamacpp",
        Mode.JSON_SCHEMA,
    ),
    ("groq", "GROQ_BASE_URL", "https://api.groq.com/openai/v1", "GROQ_API_KEY", None, Mode.TOOLS),
    (
        "openrouter",
        "OPENROUTER_BASE_URL",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        None,
        Mode.TOOLS,
    ),
)
for _name, _url_env, _url, _key_env, _key, _mode in _COMPATIBLE:
    register(
        ProviderEntry(
            _name,
            _openai_compatible(_name, _url_env, _url, _key_env, _key),
            default_mode=_mode,
            provider=_OPENAI,
        )
    )
register(
    ProviderEntry(
        "anthropic", _anthropic, provider="schemastream.providers.anthropic:AnthropicProvider"
    )
)
register(
    ProviderEntry(
        "google",
        _genai,
        aliases=("gemini", "genai"),
        provider="schemastream.providers.genai:GenAIProvider",
    )
)
register(
    ProviderEntry(
        "local",
        _local,
        needs_model=False,
        names_model=False,
        provider="schemastream.providers.local:LocalProvider",
    )
)

#: The names ``from_provider`` knows, in order.
PROVIDERS: tuple[str, ...] = tuple(_ORDER)
