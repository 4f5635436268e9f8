"""Error paths and exit codes of ``schemastream run`` (Typer's CliRunner, in process)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from schemastream.cli import ExitCode, app
from tests.replay.base import ReplayServer, Script
from tests.replay.openai_server import (
    chat_content_frames,
    chat_content_script,
    error_script,
    responses_refusal_script,
    responses_text_frames,
    responses_text_script,
)

from .replay_helpers import DOC, IDEAS, gate_after

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "schemas" / "ideas.py"
MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def replay(server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """The OpenAI replay server on 127.0.0.1; ``--model openai/...`` talks to it."""
    for key in [k for k in os.environ if k.startswith("OPENAI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-replay")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "0")
    return server


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# -- schema loading --------------------------------------------------------------------------


def test_schema_file_missing(tmp_path: Path) -> None:
    r = invoke("run", "hi", "--schema", f"{tmp_path}/nope.py:Idea")
    assert r.exit_code == ExitCode.SCHEMA_PATH == 3
    assert "nope.py" in r.stderr and "does not exist" in r.stderr
    assert r.stdout == ""


def test_schema_spec_without_attribute() -> None:
    r = invoke("run", "hi", "--schema", str(EXAMPLE))
    assert r.exit_code == ExitCode.SCHEMA_PATH
    assert "FILE.py:Model" in r.stderr


def test_schema_no_such_attribute() -> None:
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Nope")
    assert r.exit_code == ExitCode.SCHEMA_PATH
    assert "no attribute 'Nope'" in r.stderr
    assert "Campaign, Idea" in r.stderr  # lists what is there


def test_schema_import_fails_shows_exception_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken.py",
        """\
        from pydantic import BaseModel

        class Idea(BaseModel):
            title: str

        raise RuntimeError("boom at import")
        """,
    )
    r = invoke("run", "hi", "--schema", f"{path}:Idea")
    assert r.exit_code == ExitCode.SCHEMA_IMPORT == 4
    assert "RuntimeError: boom at import" in r.stderr
    assert "broken.py:6" in r.stderr
    assert "Traceback" not in r.output


def test_schema_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "syntax.py", "class Idea(:\n    pass\n")
    r = invoke("run", "hi", "--schema", f"{path}:Idea")
    assert r.exit_code == ExitCode.SCHEMA_IMPORT
    assert "SyntaxError" in r.stderr and "syntax.py:1" in r.stderr
    assert "Traceback" not in r.output


def test_schema_import_of_missing_module(tmp_path: Path) -> None:
    path = write(tmp_path, "mod.py", "import no_such_module_xyz\n")
    r = invoke("run", "hi", "--schema", f"{path}:Idea")
    assert r.exit_code == ExitCode.SCHEMA_IMPORT
    assert "ModuleNotFoundError: No module named 'no_such_module_xyz'" in r.stderr


def test_schema_sibling_import_works(tmp_path: Path, replay: ReplayServer) -> None:
    write(
        tmp_path,
        "base_models_cli.py",
        "from pydantic import BaseModel\nclass Base(BaseModel):\n    x: int\n",
    )
    path = write(
        tmp_path, "child.py", "from base_models_cli import Base\nclass Child(Base):\n    y: int\n"
    )
    replay.add(responses_text_script({"x": 1, "y": 2}))
    r = invoke("run", "hi", "--schema", f"{path}:Child", "--json", "--model", MODEL)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"x": 1, "y": 2}


def test_not_a_pydantic_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plain.py",
        """\
        from dataclasses import dataclass

        @dataclass
        class Idea:
            title: str

        NUMBER = 3
        """,
    )
    for attr in ("Idea", "NUMBER"):
        r = invoke("run", "hi", "--schema", f"{path}:{attr}")
        assert r.exit_code == ExitCode.NOT_A_MODEL == 5
        assert "not a pydantic model" in r.stderr


def test_max_items_needs_list() -> None:
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--max-items", "2")
    assert r.exit_code == ExitCode.USAGE
    assert "--max-items needs --list" in r.stderr


def test_bad_mode() -> None:
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--mode", "telepathy")
    assert r.exit_code == ExitCode.USAGE
    assert "--mode must be one of" in r.stderr


def test_help_lists_exit_codes() -> None:
    for args in (["--help"], ["run", "--help"]):
        r = invoke(*args)
        assert r.exit_code == 0
        for code in ("130", "validation failure", "incomplete output", "not a pydantic"):
            assert code in r.stdout


# -- errors from the provider and the stream: the real client, SDK and replay server -------


def test_configuration_error() -> None:
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--model", "nope/x")
    assert r.exit_code == ExitCode.CONFIG == 6
    assert "unknown provider 'nope'" in r.stderr
    assert "Traceback" not in r.output


def test_validation_failure_shows_path_and_constraint(replay: ReplayServer) -> None:
    bad = {"items": [IDEAS[0], {"title": "Too long", "blurb": "x" * 400}]}
    script = Script(chunks=chat_content_frames(bad, 8), gate_timeout=30)
    gate_after(script, "x" * 150)  # the rest is held back: the CLI must hang up by itself
    replay.add(script)
    r = invoke(
        "run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--mode", "json_schema",
        "--model", MODEL,
    )  # fmt: skip
    assert r.exit_code == ExitCode.VALIDATION == 7, r.output
    assert "validation failed" in r.stderr
    assert "[1].blurb" in r.stderr
    assert "string_too_long max_length=140" in r.stderr
    assert "failed" in r.stdout  # the last frame's status line
    ex = replay.last
    assert ex.done.wait(10) and ex.disconnected and ex.chunks_sent < ex.total_chunks


def test_incomplete_output_and_max_tokens(replay: ReplayServer) -> None:
    text = json.dumps(DOC, separators=(",", ":"))
    text = text[: text.index('{"title":"Student') + 12]  # two items complete, then cut short
    replay.add(Script(chunks=responses_text_frames(text, 6, incomplete_reason="max_output_tokens")))
    r = invoke(
        "run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--max-tokens", "5",
        "--model", MODEL,
    )  # fmt: skip
    assert r.exit_code == ExitCode.INCOMPLETE == 8, r.output
    assert "incomplete output" in r.stderr and "2 item(s)" in r.stderr
    assert replay.last.json["max_output_tokens"] == 5


def test_refusal(replay: ReplayServer) -> None:
    replay.add(responses_refusal_script("I can't help with that."))
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--json", "--model", MODEL)
    assert r.exit_code == ExitCode.PROVIDER == 9, r.output
    assert "I can't help with that." in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("cut", "needle"),
    [
        # the body ends cleanly mid-document: no finish_reason, no [DONE]
        ({"truncate_after": 4}, "ended"),
        # the server aborts the connection mid-body
        ({"drop_after": 3}, "connection was lost mid-stream"),
    ],
    ids=["ends-early", "dropped"],
)
def test_stream_cut_short(replay: ReplayServer, cut: dict[str, int], needle: str) -> None:
    replay.add(chat_content_script(DOC, 6, **cut))
    r = invoke(
        "run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--json", "--mode",
        "json_schema", "--model", MODEL,
    )  # fmt: skip
    assert r.exit_code == ExitCode.PROVIDER, r.output
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""


def test_http_error(replay: ReplayServer) -> None:
    replay.add(error_script(400, "the replay server says no"))
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--json", "--model", MODEL)
    assert r.exit_code == ExitCode.PROVIDER, r.output
    assert "the replay server says no" in r.stderr and r.stdout == ""


# -- success ------------------------------------------------------------------------------------


def test_json_output_and_request(replay: ReplayServer) -> None:
    script = Script(chunks=responses_text_frames(DOC, 30), gate_timeout=30)
    gate_after(script, '{"title":"Stud')  # held back: max_items=2 must hang up by itself
    replay.add(script)
    r = invoke(
        "run", "ideas please", "--schema", f"{EXAMPLE}:Idea", "--list", "--max-items", "2",
        "--model", MODEL, "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == IDEAS[:2]
    ex = replay.last
    assert ex.json["model"] == "gpt-4o-mini"
    assert ex.json["input"] == [{"role": "user", "content": "ideas please"}]
    assert ex.done.wait(10) and ex.disconnected and not ex.completed


def test_live_then_final(replay: ReplayServer) -> None:
    replay.add(responses_text_script(DOC, 6))
    r = invoke("run", "x", "--schema", f"{EXAMPLE}:Idea", "--list", "--model", MODEL)
    assert r.exit_code == 0, r.output
    assert "#1 ✓" in r.stdout and "#3 ✓" in r.stdout
    assert "validation: ok" in r.stdout
    assert "validated final" in r.stdout and '"title": "Student bundle"' in r.stdout


def test_demo_asks_for_three_ideas(replay: ReplayServer) -> None:
    replay.add(responses_text_script(DOC, 6))
    r = invoke("demo", "--json", "--model", MODEL)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == IDEAS
    body = replay.last.json
    assert "note-taking app" in body["input"][0]["content"]


def test_model_path_only_with_local() -> None:
    r = invoke("demo", "--model", "openai/x", "--model-path", "/m.gguf")
    assert r.exit_code == ExitCode.USAGE
    assert "--model-path needs --model local" in r.stderr


def test_model_path_reaches_the_local_provider(tmp_path: Path) -> None:
    missing = tmp_path / "other.gguf"
    r = invoke("demo", "--model-path", str(missing), "--json")
    assert r.exit_code == ExitCode.CONFIG, r.output
    assert str(missing) in r.stderr and r.stdout == ""


def test_lost_keyboard_interrupt_still_stops(tmp_path: Path, replay: ReplayServer) -> None:
    """Ctrl-C whose KeyboardInterrupt is swallowed (as ctypes does in a native callback; here a
    validator swallows it) still stops the stream at the next event and closes the request."""
    path = write(
        tmp_path,
        "swallow.py",
        """\
        import os
        import signal

        from pydantic import BaseModel, field_validator

        FIRED = []

        class Idea(BaseModel):
            title: str
            blurb: str

            @field_validator("blurb")
            @classmethod
            def _ctrl_c_lost(cls, v: str) -> str:
                if not FIRED:  # once: a second Ctrl-C would exit the process at once
                    FIRED.append(v)
                    try:
                        os.kill(os.getpid(), signal.SIGINT)
                    except KeyboardInterrupt:
                        pass
                return v
        """,
    )
    script = Script(chunks=responses_text_frames(DOC, 12), gate_timeout=30)
    gate_after(script, '"blurb":"Free')  # the server holds the rest back
    replay.add(script)
    r = invoke("run", "hi", "--schema", f"{path}:Idea", "--list", "--model", MODEL)
    assert r.exit_code == ExitCode.INTERRUPTED == 130, r.output
    assert "interrupted" in r.stderr
    ex = replay.last
    assert ex.done.wait(10) and ex.disconnected and not ex.completed
