"""Response model -> provider JSON schema (:mod:`.spec`) and the streaming validation plan (:mod:`.plan`)."""

from .jsonschema import to_openai_strict
from .spec import ResponseSpec

__all__ = ["ResponseSpec", "to_openai_strict"]
