"""Typed partial objects built from parser events (:mod:`.builder`, :mod:`.models`)."""

from .builder import PartialBuilder
from .models import Partial, PartialModel, field_state, is_complete, partial_model

__all__ = [
    "Partial",
    "PartialBuilder",
    "PartialModel",
    "field_state",
    "is_complete",
    "partial_model",
]
