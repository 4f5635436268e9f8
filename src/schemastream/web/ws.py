"""WebSocket delivery of a stream: the same events as SSE, one JSON message each."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ._pump import EventPump, Heartbeat, message_batches
from .encoder import WireEncoder, to_json_bytes

__all__ = ["websocket_stream"]


async def websocket_stream(
    websocket: WebSocket,
    stream: Any,
    *,
    rfc6902: bool = False,
    coalesce: float = 0.05,
    heartbeat: float | None = None,
    close: bool = True,
) -> str:
    """Send ``stream``'s events over ``websocket`` until final, error, cancel or disconnect.

    Each event is one text message ``{"event": "patch", "id": n, "data": {...}}`` (events
    and data as in :mod:`schemastream.web.encoder`). A client message ``{"type": "cancel"}``
    stops the model call; a disconnect closes the stream. The websocket is accepted if it
    was not yet, and closed at the end (code 1000) unless ``close=False``. ``heartbeat``
    sends ``{"event": "ping"}`` messages after that many silent seconds (off by default:
    WebSocket has its own pings).

    Returns how it ended: ``"final"``, ``"error"``, ``"cancelled"`` or ``"disconnected"``.
    """
    if websocket.application_state == WebSocketState.CONNECTING:
        await websocket.accept()
    pump = EventPump(stream)
    outcome = {"value": "error"}

    async def send_events() -> None:
        pump.start()
        encoder = WireEncoder(rfc6902=rfc6902)
        async for batch in message_batches(pump, encoder, heartbeat=heartbeat, coalesce=coalesce):
            if isinstance(batch, Heartbeat):
                await websocket.send_text('{"event":"ping"}')
                continue
            for message in batch:
                await websocket.send_text(to_json_bytes(message.to_dict()).decode())
                outcome["value"] = "final" if message.event == "final" else message.event

    async def receive_commands() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                outcome["value"] = "disconnected"
                return
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", "replace")
            try:
                command = json.loads(text or "null")
            except ValueError:
                continue
            if isinstance(command, dict) and command.get("type") == "cancel":
                outcome["value"] = "cancelled"
                return

    sender = asyncio.ensure_future(send_events())
    receiver = asyncio.ensure_future(receive_commands())
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await pump.stop()
        for task in (sender, receiver):
            with contextlib.suppress(BaseException):
                await task
    if sender.done() and not sender.cancelled():
        exc = sender.exception()
        if isinstance(exc, WebSocketDisconnect | OSError):
            outcome["value"] = "disconnected"
        elif exc is not None:
            raise exc
    if close and outcome["value"] != "disconnected":
        with contextlib.suppress(Exception):
            await websocket.close(1000)
    return outcome["value"]
