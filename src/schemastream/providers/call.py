"""The caller's keyword arguments parsed once, before any provider sees them (sans-IO).

Every accepted spelling is read here: ``messages`` / ``input`` / ``contents`` (the
conversation), ``instructions`` / ``system`` (system text beside it), ``max_tokens`` /
``max_completion_tokens`` / ``max_output_tokens`` / ``max_new_tokens`` (the output-token
limit), ``stop``. A provider's ``build_request`` maps a :class:`Call` to its wire format and
nothing else; message content becomes text only in :func:`text_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_TOKENS_KEYS", "Call", "text_of"]

#: The spellings of the output-token limit, in precedence order (the first one given wins).
MAX_TOKENS_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "max_new_tokens")

SYSTEM_ROLES = ("system", "developer")


def text_of(content: Any) -> str:
    """The text of a message content: a string, or a list of parts (strings and
    ``{"text": ...}`` parts; others such as images carry no text), parts joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    parts: list[str] = []
    for part in content:
        text: Any
        if isinstance(part, str):
            text = part
        elif isinstance(part, dict):
            text = part.get("text")
            if not isinstance(text, str):
                text = part.get("content") if isinstance(part.get("content"), str) else ""
        else:
            text = ""
        if text:
            parts.append(text)
    return "\n".join(parts)


def _as_message(message: Any) -> Any:
    """A string as a user message, a message object (``role`` / ``content`` attributes) as a
    dict; dicts (and Gemini ``Content`` objects) as they are."""
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if isinstance(message, dict) or not hasattr(message, "content"):
        return message
    return {"role": getattr(message, "role", "user"), "content": message.content}


@dataclass
class Call:
    """One call's arguments, normalised.

    ``messages`` is ``messages=`` then ``input=`` / ``contents=`` (a string is one user
    message), in order, system messages included. ``input_text`` is ``input=`` when it was one
    string (the Responses API takes it as is). ``system`` is the system text given beside the
    messages (``instructions=``, then ``system=``). ``max_tokens_key`` is the spelling of the
    token limit the caller used. ``extra`` holds every other argument, untouched.
    """

    model: Any = None
    messages: list[Any] = field(default_factory=list)
    input_text: str | None = None
    has_messages: bool = False
    system: list[str] = field(default_factory=list)
    instructions: Any = None
    max_tokens: int | None = None
    max_tokens_key: str | None = None
    stop: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, kwargs: dict[str, Any]) -> Call:
        """Parse the user's call kwargs (``stream`` is dropped: every call streams)."""
        kw = dict(kwargs)
        kw.pop("stream", None)
        call = cls(model=kw.pop("model", None))
        messages = kw.pop("messages", None)
        call.has_messages = messages is not None
        call.messages = [_as_message(m) for m in messages or ()]
        for key in ("input", "contents"):
            given = kw.pop(key, None)
            if given is None:
                continue
            if isinstance(given, str):
                if not call.messages and call.input_text is None and key == "input":
                    call.input_text = given
                call.messages.append({"role": "user", "content": given})
            elif isinstance(given, dict):
                call.messages.append(given)
            else:
                call.messages.extend(_as_message(m) for m in given)
        call.instructions = kw.pop("instructions", None)
        if call.instructions:
            call.system.append(text_of(call.instructions))
        system = kw.pop("system", None)
        if system:
            call.system.append(text_of(system))
        for key in MAX_TOKENS_KEYS:
            value = kw.pop(key, None)
            if value is not None and call.max_tokens is None:
                call.max_tokens, call.max_tokens_key = value, key
        if "stop" in kw:
            stop = kw.pop("stop")
            call.stop = [stop] if isinstance(stop, str) else stop
        call.extra = kw
        return call

    def split(self) -> tuple[list[str], list[Any]]:
        """(system texts, the other messages): :attr:`system` first, then the text of each
        system / developer message, for wire formats that carry system text apart."""
        system = list(self.system)
        rest: list[Any] = []
        for message in self.messages:
            if isinstance(message, dict) and message.get("role") in SYSTEM_ROLES:
                text = text_of(message.get("content"))
                if text:
                    system.append(text)
            else:
                rest.append(message)
        return system, rest
