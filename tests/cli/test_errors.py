"""Error paths and exit codes of ``schemastream run`` (Typer's CliRunner, in process)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import schemastream
from schemastream.cli import ExitCode, app, load_schema
from schemastream.errors import (
    ConfigurationError,
    IncompleteOutputError,
    ProviderError,
    RefusalError,
    StreamValidationError,
)
from schemastream.events import PartialEvent

from .fakes import FakeClient, FakeStream, idea_events

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "schemas" / "ideas.py"


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


def test_schema_sibling_import_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        "base_models_cli.py",
        "from pydantic import BaseModel\nclass Base(BaseModel):\n    x: int\n",
    )
    path = write(
        tmp_path, "child.py", "from base_models_cli import Base\nclass Child(Base):\n    y: int\n"
    )
    child = load_schema(f"{path}:Child")
    fake = FakeClient(FakeStream(steps=[], final=child(x=1, y=2)))
    monkeypatch.setattr(schemastream, "from_provider", lambda model, **kw: fake, raising=False)
    r = invoke("run", "hi", "--schema", f"{path}:Child", "--json", "--model", "openai/m")
    assert r.exit_code == 0, r.output
    import json

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


# -- errors from the provider / stream (fake client) ------------------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    client = FakeClient(FakeStream(steps=[]))
    seen: list[str] = []

    def from_provider(model: str, **kw: Any) -> FakeClient:
        seen.append(model)
        return client

    monkeypatch.setattr(schemastream, "from_provider", from_provider, raising=False)
    client.seen = seen  # type: ignore[attr-defined]
    return client


def test_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def from_provider(model: str, **kw: Any) -> Any:
        raise ConfigurationError(f"unknown provider in {model!r}; use openai/..., local")

    monkeypatch.setattr(schemastream, "from_provider", from_provider, raising=False)
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--model", "nope/x")
    assert r.exit_code == ExitCode.CONFIG == 6
    assert "unknown provider in 'nope/x'" in r.stderr
    assert "Traceback" not in r.output


def test_validation_failure_shows_path_and_constraint(fake: FakeClient) -> None:
    err = StreamValidationError(
        [
            {
                "type": "string_too_long",
                "loc": (1, "blurb"),
                "msg": "String should have at most 140 characters",
                "input": "x" * 141,
                "ctx": {"max_length": 140},
            }
        ]
    )
    fake.stream.steps = [PartialEvent([{"title": "A", "blurb": "x"}]), err]
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--model", "openai/m")
    assert r.exit_code == ExitCode.VALIDATION == 7
    assert "validation failed" in r.stderr
    assert "[1].blurb" in r.stderr
    assert "string_too_long max_length=140" in r.stderr
    assert fake.stream.closed
    assert "failed" in r.stdout  # the last frame's status line


def test_incomplete_output(fake: FakeClient) -> None:
    fake.stream.steps = [IncompleteOutputError("the model hit max_tokens", completed_items=[1, 2])]
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list", "--max-tokens", "5")
    assert r.exit_code == ExitCode.INCOMPLETE == 8
    assert "incomplete output" in r.stderr and "2 item(s)" in r.stderr
    assert fake.stream.kwargs["max_tokens"] == 5
    assert fake.stream.closed


@pytest.mark.parametrize(
    "exc", [RefusalError("no"), ProviderError("stream ended without [DONE]"), OSError("reset")]
)
def test_provider_errors(fake: FakeClient, exc: BaseException) -> None:
    fake.stream.steps = [exc]
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--json")
    assert r.exit_code == ExitCode.PROVIDER == 9
    assert str(exc) in r.stderr
    assert r.stdout == ""
    assert fake.stream.closed


def test_keyboard_interrupt_closes_stream(fake: FakeClient) -> None:
    fake.stream.steps = [PartialEvent([{"title": "Hal"}]), KeyboardInterrupt()]
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list")
    assert r.exit_code == ExitCode.INTERRUPTED == 130
    assert "interrupted" in r.stderr
    assert fake.stream.closed


# -- success with the fake ---------------------------------------------------------------------


def test_json_output_and_call_arguments(fake: FakeClient) -> None:
    Idea = load_schema(f"{EXAMPLE}:Idea")
    ideas = [Idea(title="Share notes", blurb="b1"), Idea(title="Voice memos", blurb="b2")]
    fake.stream.steps = idea_events(ideas)
    fake.stream.final = ideas
    r = invoke(
        "run",
        "ideas please",
        "--schema",
        f"{EXAMPLE}:Idea",
        "--list",
        "--max-items",
        "2",
        "--model",
        "openai/gpt-4o-mini",
        "--json",
    )
    assert r.exit_code == 0, r.output
    import json

    assert json.loads(r.stdout) == [i.model_dump() for i in ideas]
    kw = fake.stream.kwargs
    assert kw["model"] == "gpt-4o-mini"
    assert kw["max_items"] == 2
    assert kw["messages"] == [{"role": "user", "content": "ideas please"}]
    assert fake.seen == ["openai/gpt-4o-mini"]  # type: ignore[attr-defined]


def test_live_then_final(fake: FakeClient) -> None:
    Idea = load_schema(f"{EXAMPLE}:Idea")
    ideas = [Idea(title="Share notes", blurb="Send a note")]
    fake.stream.steps = idea_events(ideas)
    fake.stream.final = ideas
    r = invoke("run", "x", "--schema", f"{EXAMPLE}:Idea", "--list")
    assert r.exit_code == 0, r.output
    assert "#1 ✓" in r.stdout
    assert "validation: ok" in r.stdout
    assert "validated final" in r.stdout
    assert fake.stream.kwargs.get("model") is None  # "local": no model name


def test_demo_uses_local_and_max_items(fake: FakeClient) -> None:
    from schemastream.cli import Idea

    fake.stream.final = [Idea(title="t", blurb="b")] * 3
    r = invoke("demo", "--json")
    assert r.exit_code == 0, r.output
    assert fake.seen == ["local"]  # type: ignore[attr-defined]
    assert fake.stream.kwargs["max_items"] == 3
    assert "note-taking app" in fake.stream.kwargs["messages"][0]["content"]
    import json

    assert len(json.loads(r.stdout)) == 3


def test_model_path_only_with_local() -> None:
    r = invoke("demo", "--model", "openai/x", "--model-path", "/m.gguf")
    assert r.exit_code == ExitCode.USAGE
    assert "--model-path needs --model local" in r.stderr


def test_model_path_reaches_from_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    from schemastream.cli import Idea

    seen: list[tuple[str, dict[str, Any]]] = []
    client = FakeClient(FakeStream(steps=[], final=[Idea(title="t", blurb="b")]))

    def from_provider(model: str, **kw: Any) -> FakeClient:
        seen.append((model, kw))
        return client

    monkeypatch.setattr(schemastream, "from_provider", from_provider, raising=False)
    r = invoke("demo", "--model-path", "/models/other.gguf", "--json")
    assert r.exit_code == 0, r.output
    assert seen == [("local", {"model_path": "/models/other.gguf"})]


class _SwallowingStream(FakeStream):
    """Ctrl-C arrives while 'native code' runs and its KeyboardInterrupt is swallowed."""

    swallowed = False

    def events(self) -> Any:
        import os
        import signal

        yield PartialEvent([{"title": "Sha"}])
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            self.swallowed = True  # what ctypes does to an exception raised in a callback
        yield PartialEvent([{"title": "Share"}])
        raise AssertionError("the CLI kept reading after Ctrl-C")


def test_lost_keyboard_interrupt_still_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _SwallowingStream(steps=[])
    client = FakeClient(stream)
    monkeypatch.setattr(schemastream, "from_provider", lambda m, **kw: client, raising=False)
    r = invoke("run", "hi", "--schema", f"{EXAMPLE}:Idea", "--list")
    assert stream.swallowed
    assert r.exit_code == ExitCode.INTERRUPTED, r.output
    assert stream.closed
