"""Token-by-token generation with llama.cpp, optionally constrained by a JSON schema.

Constrained decoding: an ``llguidance.LLMatcher`` compiled from the (wrapped, object-rooted)
JSON schema computes the set of allowed next tokens as a bitmask; the disallowed logits are set
to ``-inf`` in place in llama.cpp's logits buffer, llama.cpp's own sampler chain samples, and
the matcher consumes the sampled token. Output therefore always is a prefix of a document that
matches the schema, and a complete one when the generation stops with ``finish_reason == "stop"``.
"""

from __future__ import annotations

import codecs
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ConfigurationError, ProviderError
from .model import LocalModel, _import_llama_cpp, _import_llguidance

LocalFinish = Literal["stop", "length", "cancelled"]

#: llguidance JSON options: compact output (no whitespace between tokens).
JSON_COMPILE_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
}

#: Tokens evaluated per llama_decode call for the prompt (stop() is checked between chunks).
PROMPT_CHUNK = 128


def _closed_objects(schema: Any) -> Any:
    """Copy of ``schema`` where objects without ``additionalProperties`` get ``false``.

    pydantic models ignore extra keys, so a model writing them wastes tokens; forbidding them in
    the grammar keeps the output to the declared fields.
    """
    if isinstance(schema, list):
        return [_closed_objects(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed_objects(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


_GRAMMAR_CACHE: dict[str, str] = {}
_GRAMMAR_LOCK = threading.Lock()


def grammar_for_schema(schema: dict[str, Any]) -> str:
    """llguidance grammar for a JSON schema (cached by the schema's JSON text)."""
    key = json.dumps(schema, sort_keys=True)
    with _GRAMMAR_LOCK:
        grammar = _GRAMMAR_CACHE.get(key)
        if grammar is not None:
            return grammar
    llguidance = _import_llguidance()
    closed = _closed_objects(schema)
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        closed, overrides=dict(JSON_COMPILE_OPTIONS)
    )
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        # Unsupported keywords (``format`` values llguidance does not know ...): ignore them
        # rather than fail; pydantic still validates the final value.
        lenient = dict(JSON_COMPILE_OPTIONS, lenient=True)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(closed, overrides=lenient)
        is_error, messages2 = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
        if is_error:
            raise ConfigurationError(
                "the local model cannot enforce this JSON schema: "
                + "; ".join(messages2 or messages)
            )
    with _GRAMMAR_LOCK:
        _GRAMMAR_CACHE[key] = grammar
    return grammar


@dataclass
class SamplingParams:
    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    #: Subtracted from the logits of content words (4+ letters) already generated.
    presence_penalty: float = 1.5
    #: No repeated n-grams of prose tokens (inside strings); 0 disables.
    no_repeat_ngram: int = 4
    seed: int | None = None


def _make_sampler(llama_cpp: Any, params: SamplingParams, default_seed: int) -> Any:
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    if params.repeat_penalty != 1.0:
        sampler.add_penalties(
            n_vocab=0,
            penalty_last_n=64,
            penalty_repeat=params.repeat_penalty,
            penalty_freq=0.0,
            penalty_present=0.0,
        )
    if params.temperature <= 0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(params.top_k)
        sampler.add_top_p(params.top_p, 1)
        sampler.add_min_p(params.min_p, 1)
        sampler.add_temp(params.temperature)
        seed = params.seed if params.seed is not None else default_seed
        sampler.add_dist(seed & 0xFFFFFFFF)
    return sampler


#: Subtracted from the logits of tokens that would repeat an n-gram of prose.
NGRAM_PENALTY = 50.0
_STRUCTURAL = frozenset(b'"{}[]:')


class _NgramBlocker:
    """Bans tokens that would repeat an n-gram of prose already written (a base model loops).

    Only n-grams whose tokens are all prose (no JSON structure characters, at least one letter
    in the context) count, so enum values, keys and numbers are never affected.
    """

    def __init__(self, n: int, tokenizer: Any) -> None:
        self.n = n
        self.tokenizer = tokenizer
        self.history: list[int] = []
        self.prose: list[bool] = []
        self.lettered: list[bool] = []
        self.table: dict[tuple[int, ...], set[int]] = {}

    def add(self, tokens: list[int]) -> None:
        if self.n < 2:
            return
        for token in tokens:
            raw = self.tokenizer.decode_bytes([token])
            self.history.append(token)
            self.prose.append(bool(raw) and not any(b in _STRUCTURAL for b in raw))
            self.lettered.append(any(65 <= b <= 90 or 97 <= b <= 122 for b in raw))
            if len(self.history) >= self.n and all(self.prose[-self.n :]):
                context = tuple(self.history[-self.n : -1])
                if any(self.lettered[-self.n : -1]):
                    self.table.setdefault(context, set()).add(token)

    def banned(self) -> list[int]:
        if self.n < 2 or len(self.history) < self.n - 1:
            return []
        k = self.n - 1
        if not all(self.prose[-k:]):
            return []
        return list(self.table.get(tuple(self.history[-k:]), ()))


class Generation:
    """One generation. Iterate it (in one thread) for text pieces; ``stop()`` from anywhere.

    After the iteration ends, :attr:`finish_reason` is ``"stop"`` (the model or the grammar
    ended the document), ``"length"`` (``max_tokens`` ran out) or ``"cancelled"`` (``stop()``).
    """

    def __init__(
        self,
        model: LocalModel,
        prompt_tokens: list[int],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        sampling: SamplingParams | None = None,
        logit_bias: dict[int, float] | None = None,
        fast_forward: bool = True,
    ) -> None:
        self.model = model
        self.prompt_tokens = list(prompt_tokens)
        self.schema = schema
        self.max_tokens = max(1, int(max_tokens))
        self.sampling = sampling or SamplingParams()
        self.finish_reason: LocalFinish | None = None
        self.input_tokens = len(self.prompt_tokens)
        self.output_tokens = 0
        #: Output tokens the grammar forced (evaluated in one batch, not sampled).
        self.forced_tokens = 0
        #: Seconds spent on logit work (grammar mask, penalties) and the matcher, all tokens.
        self.constraint_seconds = 0.0
        self.logit_bias = dict(logit_bias or {})
        self.fast_forward = fast_forward
        self.text = ""
        self._stop = threading.Event()
        self._started = False
        self._ngrams_add: Any = lambda tokens: None

    def stop(self) -> None:
        """Ask the generation to stop before its next token (thread-safe, idempotent)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def __iter__(self) -> Iterator[str]:
        if self._started:
            raise RuntimeError("a Generation can be iterated only once")
        self._started = True
        if self._stop.is_set():
            self.finish_reason = "cancelled"
            return
        llama_cpp = _import_llama_cpp()
        model = self.model
        matcher = None
        bitmask = None
        if self.schema is not None:
            llguidance = _import_llguidance()
            grammar = grammar_for_schema(self.schema)
            matcher = llguidance.LLMatcher(model.ll_tokenizer(), grammar, log_level=0)
            if matcher.is_error():
                raise ConfigurationError(
                    f"invalid grammar for the local model: {matcher.get_error()}"
                )
            n_words = (model.n_vocab + 31) // 32
            bitmask = np.zeros(n_words, dtype=np.int32)
        n_ctx = model.n_ctx
        if len(self.prompt_tokens) >= n_ctx - 1:
            raise ProviderError(
                f"prompt of {len(self.prompt_tokens)} tokens does not fit the context ({n_ctx})"
            )
        max_tokens = min(self.max_tokens, n_ctx - len(self.prompt_tokens) - 1)
        tokenizer = model.ll_tokenizer()
        eos = model.eos_token
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        bias_ids = bias_values = None
        if self.logit_bias:
            items = [(t, b) for t, b in self.logit_bias.items() if 0 <= t < model.n_vocab]
            if items:
                bias_ids = np.array([t for t, _ in items], dtype=np.int64)
                bias_values = np.array([b for _, b in items], dtype=np.float32)
        seen: set[int] = set()
        seen_ids: list[int] = []  # content words generated so far (presence penalty)
        ngrams = _NgramBlocker(self.sampling.no_repeat_ngram, tokenizer)
        self._ngrams_add = ngrams.add
        with model.lock:
            llm = model.llm
            sampler = _make_sampler(llama_cpp, self.sampling, default_seed=llm._seed)
            try:
                if not self._eval_prompt(llm):
                    self.finish_reason = "cancelled"
                    return
                ctx = llm._ctx.ctx
                vocab = llama_cpp.llama_model_get_vocab(llm.model)
                n_vocab = model.n_vocab
                pending: list[int] = []  # tokens to evaluate before the next sample
                if matcher is not None and self.fast_forward:
                    forced = self._forced(matcher, max_tokens)
                    if forced:
                        pending = forced
                        yield from self._emit(forced, decoder, tokenizer)
                        self.forced_tokens += len(forced)
                    if pending:
                        llm.eval(pending)
                        pending = []
                while True:
                    if self._stop.is_set():
                        self.finish_reason = "cancelled"
                        return
                    if self.output_tokens >= max_tokens:
                        self.finish_reason = "length"
                        return
                    t_mask = time.perf_counter()
                    banned = ngrams.banned()
                    if matcher is not None or bias_ids is not None or seen_ids or banned:
                        logits = np.ctypeslib.as_array(
                            llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,)
                        )
                        if bias_ids is not None and bias_values is not None:
                            logits[bias_ids] += bias_values
                        if seen_ids:
                            logits[seen_ids] -= self.sampling.presence_penalty
                        if banned:
                            logits[banned] -= NGRAM_PENALTY
                        if matcher is not None and bitmask is not None:
                            matcher.unsafe_compute_mask_ptr(bitmask.ctypes.data, bitmask.nbytes)
                            allowed = np.unpackbits(bitmask.view(np.uint8), bitorder="little")
                            np.putmask(logits, allowed[:n_vocab] == 0, -np.inf)
                    self.constraint_seconds += time.perf_counter() - t_mask
                    token = int(sampler.sample(llm._ctx, -1))
                    t_mask = time.perf_counter()
                    if matcher is not None and not matcher.consume_token(token):
                        raise ProviderError(
                            f"local model: grammar rejected token {token}: {matcher.get_error()}"
                        )
                    self.constraint_seconds += time.perf_counter() - t_mask
                    if token == eos or llama_cpp.llama_vocab_is_eog(vocab, token):
                        self.finish_reason = "stop"
                        break
                    pending = [token]
                    if self.sampling.presence_penalty and token not in seen:
                        word = tokenizer.decode_bytes([token]).strip()
                        if len(word) >= 4 and word.isalpha():
                            seen.add(token)
                            seen_ids = list(seen)
                    yield from self._emit(pending, decoder, tokenizer)
                    if matcher is not None and matcher.is_stopped():
                        self.finish_reason = "stop"
                        break
                    if matcher is not None and self.fast_forward:
                        forced = self._forced(matcher, max_tokens)
                        if forced:
                            yield from self._emit(forced, decoder, tokenizer)
                            self.forced_tokens += len(forced)
                            pending += forced
                            if matcher.is_stopped():
                                self.finish_reason = "stop"
                                break
                    if self._stop.is_set():
                        self.finish_reason = "cancelled"
                        return
                    llm.eval(pending)
            finally:
                sampler.close()
        tail = decoder.decode(b"", final=True)
        if tail:
            self.text += tail
            yield tail

    def _forced(self, matcher: Any, max_tokens: int) -> list[int]:
        """Tokens the grammar forces next (consumed by the matcher), within the budget."""
        forced = list(matcher.compute_ff_tokens())
        forced = forced[: max(0, max_tokens - self.output_tokens)]
        if forced and not matcher.consume_tokens(forced):
            raise ProviderError(
                f"local model: grammar rejected forced tokens: {matcher.get_error()}"
            )
        return forced

    def _emit(self, tokens: list[int], decoder: Any, tokenizer: Any) -> Iterator[str]:
        self.output_tokens += len(tokens)
        self._ngrams_add(tokens)
        piece = decoder.decode(tokenizer.decode_bytes(tokens))
        if piece:
            self.text += piece
            yield piece

    def _eval_prompt(self, llm: Any) -> bool:
        """Evaluate the prompt, reusing the KV cache's common prefix. False when stopped."""
        tokens = self.prompt_tokens
        cached = llm.input_ids[: llm.n_tokens].tolist() if llm.n_tokens else []
        prefix = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            prefix += 1
        # Always re-evaluate at least the last prompt token so its logits are fresh.
        prefix = min(prefix, len(tokens) - 1)
        if prefix > 0 and llm._ctx.kv_cache_seq_rm(-1, prefix, -1):
            llm.n_tokens = prefix
        else:
            llm.reset()
            prefix = 0
        rest = tokens[prefix:]
        for i in range(0, len(rest), PROMPT_CHUNK):
            if self._stop.is_set():
                llm.reset()
                return False
            llm.eval(rest[i : i + PROMPT_CHUNK])
        return True
