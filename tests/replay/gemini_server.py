"""Gemini ``streamGenerateContent?alt=sse`` wire format for the replay server.

Each frame is one ``data:`` line with a ``GenerateContentResponse`` in REST (camelCase) JSON::

    data: {"candidates":[{"content":{"parts":[{"text":"{\\"a\\":"}],"role":"model"},"index":0}],
           "usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-test",
           "responseId":"r1"}

the last one carries ``"finishReason":"STOP"`` (or ``MAX_TOKENS``, ``SAFETY`` ...) and the
final ``usageMetadata`` (``candidatesTokenCount``). Function calls come whole:
``{"functionCall":{"name":...,"args":{...}}}`` in one part. Errors: HTTP status with
``{"error":{"code":...,"message":...,"status":...}}``, or such an object as a ``data:`` frame
mid-stream. Thoughts (``include_thoughts``) are text parts with ``"thought": true``, the
answer's first part after them may carry a ``thoughtSignature``; see ``stream_chunks``.
``test_genai.py`` checks that the SDK's own ``generate_content_stream`` parses these
frames into its ``GenerateContentResponse`` type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import ReplayServer, Script, Tokens, as_tokens, sse_frame

MODEL_VERSION = "gemini-test-001"

_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
_STATUS.update({429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"})


def response_frame(
    parts: list[dict[str, Any]] | None = None,
    *,
    finish_reason: str | None = None,
    prompt_tokens: int = 9,
    output_tokens: int | None = None,
    continuation_token: str | None = None,
    extra: dict[str, Any] | None = None,
    cached_tokens: int = 0,
    thoughts_tokens: int = 0,
) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": parts or [], "role": "model"}, "index": 0}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    if continuation_token:
        candidate["continuationToken"] = continuation_token
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens}
    if output_tokens is not None:
        usage["candidatesTokenCount"] = output_tokens
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    if thoughts_tokens:
        usage["thoughtsTokenCount"] = thoughts_tokens
    # the total counts the thoughts too; cached tokens are part of the prompt's count
    usage["totalTokenCount"] = prompt_tokens + (output_tokens or 0) + thoughts_tokens
    payload: dict[str, Any] = {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": MODEL_VERSION,
        "responseId": "resp-1",
    }
    payload.update(extra or {})
    return sse_frame(payload)


def text_chunks(
    pieces: list[str],
    *,
    finish_reason: str | None = "STOP",
    prompt_tokens: int = 9,
    output_tokens: int = 21,
) -> list[bytes]:
    """One frame per text piece; the last piece's frame carries the finish reason and usage."""
    frames = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        frames.append(
            response_frame(
                [{"text": piece}],
                finish_reason=finish_reason if last else None,
                prompt_tokens=prompt_tokens,
                output_tokens=output_tokens if last and finish_reason else None,
            )
        )
    if not pieces and finish_reason:
        frames.append(
            response_frame(
                [], finish_reason=finish_reason, prompt_tokens=prompt_tokens, output_tokens=0
            )
        )
    return frames


def call_chunks(
    name: str,
    args: dict[str, Any],
    *,
    finish_reason: str = "STOP",
    prompt_tokens: int = 9,
    output_tokens: int = 21,
) -> list[bytes]:
    """A forced function call: the args arrive whole in one frame."""
    return [
        response_frame(
            [{"functionCall": {"name": name, "args": args}}],
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
        )
    ]


# -- thoughts, several function calls, usage (issue 18) ------------------------------------
#
# A stream is a list of frames, each a list of parts (``thought_part``, ``text_part``,
# ``call_part``); ``stream_chunks`` sends one ``GenerateContentResponse`` per frame. Function
# calls always come whole (never split across frames); several calls may share a frame or
# come one per frame.


def thought_part(text: str, *, signature: str | None = None) -> dict[str, Any]:
    """A thought summary part (``include_thoughts``): ``{"text": ..., "thought": true}``."""
    part: dict[str, Any] = {"text": text, "thought": True}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def text_part(text: str, *, signature: str | None = None) -> dict[str, Any]:
    """An answer text part; ``signature`` (base64) sets its ``thoughtSignature``."""
    part: dict[str, Any] = {"text": text}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def call_part(
    name: str, args: dict[str, Any], *, signature: str | None = None, call_id: str | None = None
) -> dict[str, Any]:
    """A whole ``functionCall`` part; Gemini puts the ``thoughtSignature`` (base64) on the
    first call after thinking; ``call_id`` sets ``functionCall.id`` (absent by default, as
    the Gemini API sends it)."""
    call: dict[str, Any] = {"name": name, "args": args}
    if call_id is not None:
        call["id"] = call_id
    part: dict[str, Any] = {"functionCall": call}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


SIGNATURE = "CiQBVKhc7replaySignatureAAAA"  # base64, as the API sends thoughtSignature


def stream_chunks(
    frames: Sequence[Sequence[dict[str, Any]]],
    *,
    finish_reason: str | None = "STOP",
    usage: tuple[int, ...] | Tokens = (9, 21),
) -> list[bytes]:
    """One ``GenerateContentResponse`` per frame of parts. Every frame's ``usageMetadata``
    has ``promptTokenCount`` (``Tokens.input``) and ``cachedContentTokenCount``
    (``cached``, when not 0); the last frame carries ``finishReason`` and the final counts:
    ``candidatesTokenCount`` (``output``, without the thoughts), ``thoughtsTokenCount``
    (``reasoning``, when not 0) and ``totalTokenCount`` (their sum with the prompt).
    ``finish_reason=None``: no final counts (a cut stream)."""
    t = as_tokens(usage)
    out = []
    for i, parts in enumerate(frames):
        last = i == len(frames) - 1 and finish_reason is not None
        out.append(
            response_frame(
                list(parts),
                finish_reason=finish_reason if last else None,
                prompt_tokens=t.input,
                output_tokens=t.output if last else None,
                cached_tokens=t.cached,
                thoughts_tokens=t.reasoning if last else 0,
            )
        )
    return out


def stream_script(frames: Sequence[Sequence[dict[str, Any]]], **kw: Any) -> Script:
    """A :class:`Script` playing ``stream_chunks(frames, ...)``; other keywords go to
    :class:`Script`."""
    frame_kw = {k: kw.pop(k) for k in list(kw) if k in {"finish_reason", "usage"}}
    return Script(chunks=stream_chunks(frames, **frame_kw), **kw)


def blocked_prompt_chunk(reason: str = "SAFETY") -> bytes:
    return sse_frame(
        {
            "promptFeedback": {"blockReason": reason},
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            "modelVersion": MODEL_VERSION,
        }
    )


def error_frame(code: int = 500, message: str = "internal error") -> bytes:
    return sse_frame(
        {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}}
    )


def _split_script_kw(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: kw.pop(k) for k in ("delay", "gates", "truncate_after", "drop_after") if k in kw}


def text_script(pieces: list[str], **kw: Any) -> Script:
    script_kw = _split_script_kw(kw)
    return Script(chunks=text_chunks(pieces, **kw), **script_kw)


def call_script(name: str, args: dict[str, Any], **kw: Any) -> Script:
    script_kw = _split_script_kw(kw)
    return Script(chunks=call_chunks(name, args, **kw), **script_kw)


def http_error(status: int = 400, message: str = "bad request") -> Script:
    return Script(
        chunks=[
            json.dumps(
                {
                    "error": {
                        "code": status,
                        "message": message,
                        "status": _STATUS.get(status, "UNKNOWN"),
                    }
                }
            ).encode()
        ],
        status=status,
        headers={"content-type": "application/json; charset=UTF-8"},
    )


def make_client(
    server: ReplayServer,
    *,
    use_async: bool = False,
    async_transport: str = "httpx",
    timeout: float | None = None,
    retries: int = 0,
) -> Any:
    """A ``genai.Client`` (or its ``.aio``) pointed at the replay server, without retries
    unless ``retries`` (then with 10 ms back-off); ``timeout`` in seconds.

    ``async_transport``: what the async client reads with. google-genai picks aiohttp by
    itself whenever aiohttp is installed (and httpx otherwise), so both are tested.
    """
    from google import genai
    from google.genai import types

    args: dict[str, Any] = {}
    if async_transport == "httpx":
        import httpx

        args["async_client_args"] = {"transport": httpx.AsyncHTTPTransport()}
    else:
        assert async_transport == "aiohttp", async_transport
        import aiohttp  # noqa: F401 - a dev dependency; google-genai uses it when importable
    if timeout is not None:
        args["timeout"] = int(timeout * 1000)  # milliseconds
    retry = types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.01, max_delay=0.01)
    client = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(base_url=server.url, retry_options=retry, **args),
    )
    if use_async and async_transport == "aiohttp":
        assert client._api_client._use_aiohttp()
    return client.aio if use_async else client
