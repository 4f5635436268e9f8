"""Response model -> provider JSON schema (:mod:`.spec`) and the streaming validation plan (:mod:`.plan`)."""

from .spec import ResponseSpec

__all__ = ["ResponseSpec"]
