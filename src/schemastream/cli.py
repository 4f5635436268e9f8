"""The ``schemastream`` command line: watch structured output stream into the terminal.

``schemastream run "PROMPT" --schema file.py:Model [--list] [--model ...] [--json]`` and
``schemastream demo``. Needs the ``cli`` extra (typer + rich).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import BaseModel, Field, TypeAdapter
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .errors import (
    ConfigurationError,
    IncompleteOutputError,
    JsonStreamError,
    ProviderError,
    RefusalError,
    SchemaStreamError,
    StreamValidationError,
)
from .events import FinalEvent, PartialEvent
from .render import (
    STATE_ERROR,
    STATE_FAILED,
    STATE_INCOMPLETE,
    STATE_INTERRUPTED,
    StreamView,
    describe_validation_error,
    render_value,
)

DEFAULT_MODEL = "local"


class ExitCode(IntEnum):
    """Exit codes of ``schemastream`` (also listed in ``--help``)."""

    OK = 0
    ERROR = 1  # anything unexpected
    USAGE = 2  # bad command line (typer/click's own code)
    SCHEMA_PATH = 3  # schema file missing, bad FILE.py:Model spec, or no such attribute
    SCHEMA_IMPORT = 4  # the schema file raised while importing
    NOT_A_MODEL = 5  # the attribute is not a pydantic model class
    CONFIG = 6  # unknown model/provider, missing extra or API key
    VALIDATION = 7  # the output broke the schema (StreamValidationError)
    INCOMPLETE = 8  # the model stopped before the output was complete
    PROVIDER = 9  # provider/model error: HTTP error, refusal, invalid JSON, broken stream
    INTERRUPTED = 130  # Ctrl-C: the stream was closed and generation stopped


EXIT_CODES_HELP = """\
Exit codes:

\b
  0    success: the validated final was printed
  1    unexpected error
  2    bad command line
  3    schema path: file missing, not FILE.py:Model, or no such attribute
  4    the schema file failed to import (its exception is shown)
  5    the schema attribute is not a pydantic BaseModel class
  6    unknown model/provider, missing extra or missing API key
  7    validation failure: output broke the schema (path + constraint shown)
  8    incomplete output: the model stopped early (e.g. token limit)
  9    provider error: HTTP/connection error, refusal, invalid JSON
  130  interrupted (Ctrl-C): the stream was closed, generation stopped
"""

app = typer.Typer(
    name="schemastream",
    help="Stream structured LLM output as typed partial objects, validated while the model "
    "writes.\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class CliError(Exception):
    """A failure with a user-facing message and an exit code."""

    def __init__(self, code: ExitCode, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


# ---------------------------------------------------------------------------------------------
# Schema loading
# ---------------------------------------------------------------------------------------------


def _split_schema_spec(spec: str) -> tuple[Path, str]:
    path, sep, attr = spec.rpartition(":")
    if not sep or not path or not attr:
        raise CliError(
            ExitCode.SCHEMA_PATH,
            f"--schema must be FILE.py:Model, got {spec!r}",
        )
    return Path(path).expanduser(), attr


def _import_error_line(exc: BaseException, path: Path) -> str:
    """``file.py:12: NameError: name 'x' is not defined`` (no traceback)."""
    where = ""
    if isinstance(exc, SyntaxError) and exc.lineno:
        where = f"{exc.filename or path}:{exc.lineno}: "
        return f"{where}SyntaxError: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    target = str(path.resolve())
    for frame in reversed(frames):
        if frame.filename == target:
            where = f"{path}:{frame.lineno}: "
            break
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    return f"{where}{type(exc).__name__}: {first}" if first else f"{where}{type(exc).__name__}"


def load_schema(spec: str) -> type[BaseModel]:
    """Load ``Model`` from ``path/to/file.py:Model`` (the file is imported as a module)."""
    path, attr = _split_schema_spec(spec)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise CliError(ExitCode.SCHEMA_PATH, f"schema file {str(path)!r} {what}")
    module_name = f"_schemastream_schema_{path.stem}_{uuid.uuid4().hex[:8]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise CliError(ExitCode.SCHEMA_PATH, f"cannot import {str(path)!r} as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # pydantic resolves forward references through it
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # sibling imports in the schema file
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(module_name, None)
        raise CliError(
            ExitCode.SCHEMA_IMPORT,
            f"importing schema file {str(path)!r} failed",
            [_import_error_line(exc, path)],
        ) from exc
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    try:
        obj = getattr(module, attr)
    except AttributeError:
        models = sorted(
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
        )
        hint = f" (pydantic models there: {', '.join(models)})" if models else ""
        raise CliError(
            ExitCode.SCHEMA_PATH, f"{str(path)!r} has no attribute {attr!r}{hint}"
        ) from None
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise CliError(
            ExitCode.NOT_A_MODEL,
            f"{attr!r} in {str(path)!r} is not a pydantic model class "
            f"(got {type(obj).__name__}: {obj!r:.60}); it must subclass pydantic.BaseModel",
        )
    return obj


# ---------------------------------------------------------------------------------------------
# Running a stream
# ---------------------------------------------------------------------------------------------


def split_model(model: str) -> tuple[str, str | None]:
    """``"openai/gpt-4o-mini"`` -> (``"openai/gpt-4o-mini"``, ``"gpt-4o-mini"``); ``"local"`` -> (``"local"``, None)."""
    _, sep, name = model.partition("/")
    return model, (name if sep and name else None)


@dataclass
class RunOptions:
    prompt: str
    response_model: Any
    is_list: bool
    model: str
    max_items: int | None = None
    max_tokens: int | None = None
    max_retries: int = 0
    mode: str | None = None
    json_only: bool = False
    model_path: str | None = None
    show_reasoning: bool = True


def _make_client(model: str, model_path: str | None = None) -> Any:
    import schemastream as ss

    kwargs: dict[str, Any] = {}
    if model_path is not None:
        kwargs["model_path"] = model_path
    try:
        return ss.from_provider(model, **kwargs)
    except ConfigurationError as exc:
        raise CliError(ExitCode.CONFIG, str(exc)) from exc
    except ImportError as exc:  # a provider's SDK missing, reported bare
        raise CliError(
            ExitCode.CONFIG,
            f"cannot use model {model!r}: {exc}",
            ["install the provider's extra, e.g. pip install 'schemastream[openai]'"],
        ) from exc


def _open_stream(client: Any, opts: RunOptions) -> Any:
    _, name = split_model(opts.model)
    kwargs: dict[str, Any] = {
        "messages": [{"role": "user", "content": opts.prompt}],
        "response_model": opts.response_model,
    }
    if name is not None:
        kwargs["model"] = name
    if opts.max_items is not None:
        kwargs["max_items"] = opts.max_items
    if opts.max_tokens is not None:
        kwargs["max_tokens"] = opts.max_tokens
    if opts.max_retries:
        kwargs["max_retries"] = opts.max_retries
    if opts.mode is not None:
        kwargs["mode"] = opts.mode
    try:
        return client.responses.stream(**kwargs)
    except ConfigurationError as exc:
        raise CliError(ExitCode.CONFIG, str(exc)) from exc


@contextlib.contextmanager
def _live(view: StreamView, console: Console | None) -> Iterator[Live | None]:
    if console is None:
        yield None
        return
    try:
        with Live(view, console=console, refresh_per_second=8, transient=False) as live:
            yield live
    finally:
        if not console.is_terminal:
            console.line()  # Live ends its last frame with a newline only on a terminal


def to_jsonable(value: Any, response_model: Any) -> Any:
    return TypeAdapter(response_model).dump_python(value, mode="json", by_alias=True)


class _SigInt:
    """SIGINT handler: the first Ctrl-C raises KeyboardInterrupt and is remembered; a second
    one exits at once.

    Remembering matters: a KeyboardInterrupt raised while native code calls back into Python
    (e.g. llama.cpp's log callback while a model loads) is swallowed by ctypes, so the loop
    also checks :attr:`hits` after every event.
    """

    def __init__(self) -> None:
        self.hits = 0

    def __call__(self, signum: int, frame: Any) -> None:
        self.hits += 1
        if self.hits > 1:
            with contextlib.suppress(Exception):
                if sys.stderr.isatty():
                    sys.stderr.write("\x1b[?25h")  # the live view hid the cursor
                sys.stderr.write("\ninterrupted twice: exiting now\n")
                sys.stderr.flush()
            os._exit(int(ExitCode.INTERRUPTED))
        raise KeyboardInterrupt


@contextlib.contextmanager
def _sigint_guard() -> Iterator[_SigInt]:
    guard = _SigInt()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    previous = signal.signal(signal.SIGINT, guard)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGINT, previous)


def execute(opts: RunOptions, out: Console, err: Console) -> ExitCode:
    """Run one stream with a live view; print the validated final. Raises :class:`CliError`."""
    with _sigint_guard() as guard:
        return _execute(opts, out, err, guard)


def _execute(opts: RunOptions, out: Console, err: Console, guard: _SigInt) -> ExitCode:
    client = _make_client(opts.model, opts.model_path)
    view = StreamView(is_list=opts.is_list, model=opts.model, show_reasoning=opts.show_reasoning)
    # the live view: stdout normally; with --json, stderr when it is a terminal, else none
    if opts.json_only:
        live_console = err if err.is_terminal else None
    else:
        live_console = out
    stream = None
    try:
        stream = _open_stream(client, opts)
        with _live(view, live_console) as live:
            try:
                last_refresh = 0.0
                for event in stream.events():
                    if guard.hits:  # a Ctrl-C whose KeyboardInterrupt got lost
                        raise KeyboardInterrupt
                    view.apply(event, stream)
                    # redraw at once for news, at most ~30 times a second for growing text
                    now = time.monotonic()
                    if live is not None and (
                        not isinstance(event, PartialEvent) or now - last_refresh > 0.033
                    ):
                        live.refresh()
                        last_refresh = now
                final = stream.get_final_response()
                if guard.hits:
                    raise KeyboardInterrupt
                if not view.has_final:
                    view.apply(FinalEvent(final), stream)
                with view.lock:
                    view.observe(stream)  # usage may arrive with the end of the stream
                view.finish()
            except KeyboardInterrupt:
                _close(stream)  # stop generating first, then draw the last frame
                _settle(view, stream, STATE_INTERRUPTED, "Ctrl-C")
                raise
            except StreamValidationError as exc:
                lines = describe_validation_error(exc)
                _settle(view, stream, STATE_FAILED, lines[0] if lines else "")
                raise
            except IncompleteOutputError:
                _settle(view, stream, STATE_INCOMPLETE)
                raise
            except BaseException as exc:
                _settle(view, stream, STATE_ERROR, type(exc).__name__)
                raise
    except KeyboardInterrupt:
        _close(stream)
        stream = None
        err.print("interrupted: stream closed, generation stopped", style="bold magenta")
        return ExitCode.INTERRUPTED
    except StreamValidationError as exc:
        _close(stream)
        raise CliError(
            ExitCode.VALIDATION,
            "validation failed: the output broke the schema",
            describe_validation_error(exc),
        ) from exc
    except IncompleteOutputError as exc:
        _close(stream)
        n = len(exc.completed_items)
        raise CliError(
            ExitCode.INCOMPLETE,
            f"incomplete output: {exc}",
            [f"{n} item(s) were complete before the model stopped"]
            + ["raise --max-tokens or lower --max-items"],
        ) from exc
    except ConfigurationError as exc:
        _close(stream)
        raise CliError(ExitCode.CONFIG, str(exc)) from exc
    except (RefusalError, JsonStreamError, ProviderError, SchemaStreamError) as exc:
        _close(stream)
        raise CliError(ExitCode.PROVIDER, f"{type(exc).__name__}: {exc}") from exc
    except CliError:
        _close(stream)
        raise
    except Exception as exc:
        _close(stream)
        # SDK errors (HTTP status, connection) and anything else: one clear line
        raise CliError(
            ExitCode.PROVIDER, f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        ) from exc
    _close(stream)

    data = to_jsonable(final, opts.response_model)
    if opts.json_only:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()
    else:
        out.print(Text("validated final:", style="bold green"))
        out.print_json(json.dumps(data, ensure_ascii=False))
    return ExitCode.OK


def _settle(view: StreamView, stream: Any, state: str, detail: str = "") -> None:
    with contextlib.suppress(Exception), view.lock:
        view.observe(stream)  # usage may have come with the end
    view.finish(state, detail)


def _close(stream: Any) -> None:
    if stream is None:
        return
    with contextlib.suppress(Exception):
        stream.close()


def _report(err: Console, exc: CliError) -> None:
    err.print(Text("error: ", style="bold red") + Text(exc.message))
    for line in exc.details:
        err.print(Text("  " + line))


def _run_and_exit(opts: RunOptions, out: Console | None = None) -> None:
    out = out or Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = execute(opts, out, err)
    except CliError as exc:
        _report(err, exc)
        code = exc.code
    except KeyboardInterrupt:
        err.print("interrupted", style="bold magenta")
        code = ExitCode.INTERRUPTED
    raise typer.Exit(int(code))


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="'local' (embedded model, the default), or PROVIDER/NAME: openai/gpt-4o-mini, "
        "anthropic/claude-3-5-haiku-latest, google/gemini-2.0-flash, ollama/llama3.2 ...",
    ),
]
NoReasoningOpt = Annotated[
    bool,
    typer.Option(
        "--no-reasoning",
        help="Hide the model's reasoning (shown dimmed above the object while it streams).",
    ),
]
ModelPathOpt = Annotated[
    Optional[str],
    typer.Option(
        "--model-path",
        metavar="FILE.gguf",
        help="With --model local: another GGUF model file instead of the default model.",
    ),
]


def _check_model_path(model: str, model_path: str | None) -> None:
    if model_path is not None and model != "local":
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        _report(err, CliError(ExitCode.USAGE, "--model-path needs --model local"))
        raise typer.Exit(int(ExitCode.USAGE))


@app.command(epilog=EXIT_CODES_HELP)
def run(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What to ask the model.")],
    schema: Annotated[
        str,
        typer.Option(
            "--schema",
            "-s",
            metavar="FILE.py:MODEL",
            help="The response model: path/to/file.py:Model",
        ),
    ],
    as_list: Annotated[
        bool, typer.Option("--list", help="Ask for a list of Model (response_model=list[Model]).")
    ] = False,
    model: ModelOpt = DEFAULT_MODEL,
    model_path: ModelPathOpt = None,
    max_items: Annotated[
        Optional[int],
        typer.Option(
            "--max-items", min=1, help="With --list: stop after N complete items (a budget)."
        ),
    ] = None,
    max_tokens: Annotated[
        Optional[int], typer.Option("--max-tokens", min=1, help="Output token budget.")
    ] = None,
    max_retries: Annotated[
        int,
        typer.Option("--max-retries", min=0, help="Re-ask the model after a validation failure."),
    ] = 0,
    mode: Annotated[
        Optional[str],
        typer.Option(
            "--mode",
            help="How to ask for structured output: tools, json_schema, json, md_json, "
            "responses_json_schema, responses_tools (default: the provider's).",
        ),
    ] = None,
    json_only: Annotated[
        bool,
        typer.Option("--json", help="Print only the final JSON on stdout (for pipes)."),
    ] = False,
    no_reasoning: NoReasoningOpt = False,
) -> None:
    """Stream PROMPT's answer as SCHEMA, live; then print the validated final.

    The live view shows each item as a panel that grows while the model writes it (a
    yellow border and '…'), marked '✓' with a green border once complete and validated,
    and a status line: elapsed time, rate (tok/s when the provider reports usage, else
    chars/s of raw output) and validation state (streaming / ok / restarted / failed).
    The model's reasoning, when it streams any, shows dimmed above the items (its newest
    lines); --no-reasoning hides it.
    """
    _check_model_path(model, model_path)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if max_items is not None and not as_list:
        _report(err, CliError(ExitCode.USAGE, "--max-items needs --list"))
        raise typer.Exit(int(ExitCode.USAGE))
    if mode is not None:
        from .providers.base import Mode

        valid = [m.value for m in Mode]
        if mode not in valid:
            _report(err, CliError(ExitCode.USAGE, f"--mode must be one of {', '.join(valid)}"))
            raise typer.Exit(int(ExitCode.USAGE))
    try:
        cls = load_schema(schema)
    except CliError as exc:
        _report(err, exc)
        raise typer.Exit(int(exc.code)) from None
    response_model: Any = list[cls] if as_list else cls  # type: ignore[valid-type]
    _run_and_exit(
        RunOptions(
            prompt=prompt,
            response_model=response_model,
            is_list=as_list,
            model=model,
            max_items=max_items,
            max_tokens=max_tokens,
            max_retries=max_retries,
            mode=mode,
            json_only=json_only,
            model_path=model_path,
            show_reasoning=not no_reasoning,
        )
    )


class Idea(BaseModel):
    """A marketing idea."""

    # bounded, so the embedded model's grammar and token budget cover the longest answer (an
    # unbounded title let a rambling model spend the budget before the third idea)
    title: str = Field(..., max_length=80)
    blurb: str = Field(..., max_length=140)


DEMO_PROMPT = "Generate 3 marketing ideas for a note-taking app"


@app.command(epilog=EXIT_CODES_HELP)
def demo(
    model: ModelOpt = DEFAULT_MODEL,
    model_path: ModelPathOpt = None,
    json_only: Annotated[
        bool, typer.Option("--json", help="Print only the final JSON on stdout.")
    ] = False,
    max_tokens: Annotated[
        Optional[int], typer.Option("--max-tokens", min=1, help="Output token budget.")
    ] = None,
    no_reasoning: NoReasoningOpt = False,
) -> None:
    """3 marketing ideas for a note-taking app, as list[Idea], streamed live.

    Idea: title (str, at most 80 characters), blurb (str, at most 140 characters). Runs on the embedded local
    model unless --model says otherwise.
    """
    _check_model_path(model, model_path)
    if not json_only:
        Console(highlight=False).print(
            Text.assemble(
                ("schemastream demo", "bold"),
                f" · {DEMO_PROMPT!r} · list[Idea] · max_items=3 · model {model}",
            )
        )
    _run_and_exit(
        RunOptions(
            prompt=DEMO_PROMPT,
            response_model=list[Idea],
            is_list=True,
            model=model,
            max_items=3,
            max_tokens=max_tokens,
            json_only=json_only,
            model_path=model_path,
            show_reasoning=not no_reasoning,
        )
    )


def main() -> None:
    """Entry point of the ``schemastream`` script."""
    # a closed pipe (``schemastream run ... --json | head``) is not an error worth a traceback
    try:
        app()
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


__all__ = ["ExitCode", "app", "load_schema", "main", "render_value"]


if __name__ == "__main__":  # pragma: no cover
    main()
