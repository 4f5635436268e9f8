"""Run the real CLI in a subprocess against the OpenAI replay server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.replay.base import ReplayServer, Script

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "schemas" / "ideas.py"

IDEAS = [
    {"title": "Share notes instantly", "blurb": "One tap turns any note into a link."},
    {"title": "Voice memo magic", "blurb": "Speak and get tidy, searchable notes."},
    {"title": "Student bundle", "blurb": "Free premium for students during exams."},
]
DOC = {"items": IDEAS}


def cli_env(server: ReplayServer | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_")) and k not in ("COLUMNS", "LINES")
    }
    if server is not None:
        env["OPENAI_BASE_URL"] = server.url + "/v1"
        env["OPENAI_API_KEY"] = "sk-replay"
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemastream.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def frame_text(frame: bytes) -> str:
    """The model text carried by one OpenAI SSE frame (chat content or Responses delta)."""
    out = ""
    for line in frame.decode().splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        data: Any = json.loads(line[6:])
        if data.get("object") == "chat.completion.chunk":
            for choice in data.get("choices", []):
                out += choice.get("delta", {}).get("content") or ""
        elif data.get("type") == "response.output_text.delta":
            out += data["delta"]
    return out


def gate_after(script: Script, marker: str) -> int:
    """Gate the script right after the frame whose text completes ``marker``; return the index."""
    text = ""
    for i, frame in enumerate(script.chunks):
        text += frame_text(frame)
        if marker in text:
            script.gate(i + 1)
            return i + 1
    raise ValueError(f"{marker!r} is not in the scripted text")
