"""``schemastream run`` end to end: the real client and openai SDK against the replay server."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from tests.replay.base import ReplayServer, Script
from tests.replay.openai_server import chat_content_frames, responses_text_frames

from .replay_helpers import DOC, EXAMPLE, IDEAS, cli_env, gate_after, run_cli


def _idea_type() -> type:
    from schemastream.cli import load_schema

    return load_schema(f"{EXAMPLE}:Idea")


def test_json_default_mode_validates(server: ReplayServer) -> None:
    server.add(Script(chunks=responses_text_frames(DOC, 5)))
    r = run_cli(
        [
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--json",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)  # stdout is the JSON and nothing else
    ideas = TypeAdapter(list[_idea_type()]).validate_python(data)  # type: ignore[misc]
    assert [i.title for i in ideas] == [i["title"] for i in IDEAS]
    assert server.last.path.endswith("/responses")
    assert server.last.json["model"] == "gpt-4o-mini"


def test_json_chat_mode_max_items(server: ReplayServer) -> None:
    server.add(Script(chunks=chat_content_frames(DOC, 5)))
    r = run_cli(
        [
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--json",
            "--max-items",
            "2",
            "--mode",
            "json_schema",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == IDEAS[:2]
    assert server.last.path.endswith("/chat/completions")


def test_validation_failure_exit_7(server: ReplayServer) -> None:
    bad = {"items": [IDEAS[0], {"title": "Too long", "blurb": "x" * 400}]}
    script = Script(chunks=chat_content_frames(bad, 5), gate_timeout=30)
    gate_after(script, "x" * 150)  # the server holds the rest: the client must hang up
    server.add(script)
    r = run_cli(
        [
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--mode",
            "json_schema",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server),
    )
    assert r.returncode == 7, r.stderr
    assert "validation failed" in r.stderr
    assert "blurb" in r.stderr and "string_too_long" in r.stderr
    assert "Traceback" not in r.stderr
    assert server.last.done.wait(10)
    assert server.last.disconnected  # it stopped reading and closed the response
    assert server.last.chunks_sent < server.last.total_chunks


def test_incomplete_exit_8(server: ReplayServer) -> None:
    text = json.dumps(DOC, separators=(",", ":"))
    text = text[: text.index('{"title":"Voice') + 12]  # one item complete, the next cut short
    frames = chat_content_frames(text, 5, finish_reason="length")
    server.add(Script(chunks=frames))
    r = run_cli(
        [
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--json",
            "--mode",
            "json_schema",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server),
    )
    assert r.returncode == 8, r.stderr
    assert "incomplete output" in r.stderr
    assert "1 item(s)" in r.stderr
    assert r.stdout == ""


def test_http_error_exit_9(server: ReplayServer) -> None:
    err = Script.json({"error": {"message": "boom", "type": "server_error"}}, status=400)
    server.add(err)
    r = run_cli(
        ["run", "x", "--schema", f"{EXAMPLE}:Idea", "--model", "openai/gpt-4o-mini"],
        cli_env(server),
    )
    assert r.returncode == 9, r.stderr
    assert "boom" in r.stderr and "Traceback" not in r.stderr


def test_unknown_provider_exit_6() -> None:
    r = run_cli(
        ["run", "x", "--schema", f"{EXAMPLE}:Idea", "--model", "nosuch/thing"], cli_env(None)
    )
    assert r.returncode == 6, r.stderr
    assert "nosuch" in r.stderr and "Traceback" not in r.stderr


def test_missing_api_key_exit_6() -> None:
    r = run_cli(
        ["run", "x", "--schema", f"{EXAMPLE}:Idea", "--model", "openai/gpt-4o-mini"], cli_env(None)
    )
    assert r.returncode == 6, r.stderr
    assert "OPENAI_API_KEY" in r.stderr


def test_schema_error_subprocess_exit_3() -> None:
    r = run_cli(["run", "x", "--schema", "no/such/file.py:Idea"], cli_env(None))
    assert r.returncode == 3
    assert "does not exist" in r.stderr and r.stdout == ""


def test_retry_after_validation_failure(server: ReplayServer) -> None:
    bad = {"items": [{"title": "Too long", "blurb": "x" * 400}]}
    server.add(
        Script(chunks=chat_content_frames(bad, 50)), Script(chunks=chat_content_frames(DOC, 50))
    )
    r = run_cli(
        [
            "run",
            "ideas",
            "--schema",
            f"{EXAMPLE}:Idea",
            "--list",
            "--max-retries",
            "1",
            "--mode",
            "json_schema",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server, COLUMNS="200"),
    )
    assert r.returncode == 0, r.stderr
    assert len(server.exchanges) == 2  # re-asked once
    assert "validation: ok (after 1 restart(s))" in r.stdout
    assert '"title": "Student bundle"' in r.stdout


def test_single_model_nested_list(server: ReplayServer) -> None:
    campaign = {"name": "Launch", "tagline": "Notes that follow you", "ideas": IDEAS[:2]}
    server.add(Script(chunks=responses_text_frames(campaign, 7)))
    r = run_cli(
        [
            "run",
            "a campaign",
            "--schema",
            f"{EXAMPLE}:Campaign",
            "--model",
            "openai/gpt-4o-mini",
        ],
        cli_env(server, COLUMNS="120"),
    )
    assert r.returncode == 0, r.stderr
    assert "tagline: Notes that follow you" in r.stdout
    assert "Voice memo magic" in r.stdout and "validation: ok" in r.stdout
    assert '"name": "Launch"' in r.stdout


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
        ("google/gemini-2.0-flash", "GEMINI_API_KEY"),
    ],
)
def test_other_providers_missing_key_exit_6(model: str, needle: str) -> None:
    env = cli_env(None)
    for key in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        env.pop(key, None)
    r = run_cli(["run", "x", "--schema", f"{EXAMPLE}:Idea", "--model", model], env)
    assert r.returncode == 6, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_connection_refused_exit_9() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = cli_env(
        None,
        OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
        OPENAI_API_KEY="sk-x",
        OPENAI_MAX_RETRIES="0",
    )
    r = run_cli(["run", "x", "--schema", f"{EXAMPLE}:Idea", "--model", "openai/gpt-4o-mini"], env)
    assert r.returncode == 9, r.stderr
    assert "Connection" in r.stderr and "validation: error" in r.stdout


def test_missing_schema_option_exit_2() -> None:
    r = run_cli(["run", "x"], cli_env(None))
    assert r.returncode == 2
    assert "--schema" in r.stderr
