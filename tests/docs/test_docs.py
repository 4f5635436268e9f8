"""Every Python block of the docs and the README runs, and what it prints is what the page
shows (rules: :mod:`tests.docs.blocks`)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import traceback
import types
from pathlib import Path

import pytest

from tests.docs.blocks import AnswerQueue, Block, collect, output_matches
from tests.local.conftest import local_model_missing
from tests.replay.base import ReplayServer

ROOT = Path(__file__).resolve().parents[2]
# pages without a Python block (the CLI and API references, Design ...) have nothing to run
PAGES = [p for p in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]) if collect(p)]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture
def replay(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[ReplayServer, AnswerQueue]:
    """The replay server for the page, answering with the page's answers; the SDKs' default
    clients point at it."""
    answers = AnswerQueue()
    server.fallback = answers
    for key in list(os.environ):
        if key.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OLLAMA_", "VLLM_")):
            monkeypatch.delenv(key)
    env = {
        "OPENAI_BASE_URL": server.url + "/v1",
        "OPENAI_API_KEY": "sk-replay",
        "ANTHROPIC_BASE_URL": server.url,
        "ANTHROPIC_API_KEY": "sk-ant-replay",
        "GOOGLE_GEMINI_BASE_URL": server.url,
        "GEMINI_API_KEY": "replay",
        "OLLAMA_BASE_URL": server.url + "/v1",
        "VLLM_BASE_URL": server.url + "/v1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return server, answers


def run_block(block: Block, module: types.ModuleType, answers: AnswerQueue) -> None:
    answers.pending.extend(block.answers)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block.code, block.where, "exec"), module.__dict__)
    except Exception:
        pytest.fail(f"{block.where}: the block raised\n{traceback.format_exc()}", pytrace=False)
    printed = out.getvalue()
    if answers.unexpected:
        pytest.fail(f"{block.where}: requests without a declared answer: {answers.unexpected}")
    if answers.pending:
        pytest.fail(f"{block.where}: {len(answers.pending)} declared answer(s) were not used")
    if block.output is None:
        if printed:
            pytest.fail(f"{block.where}: prints output the page does not show:\n{printed}")
    elif not output_matches(block.output, printed):
        pytest.fail(
            f"{block.where}: output differs\n--- page\n{block.output}\n--- actual\n{printed}",
            pytrace=False,
        )


def uses_local_model(blocks: list[Block]) -> bool:
    return any('from_provider("local"' in b.code for b in blocks)


def uses_redis(blocks: list[Block]) -> bool:
    """A page that reads ``REDIS_URL`` gets Debian's redis-server on a free port there."""
    return any("REDIS_URL" in b.code for b in blocks)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_examples(
    page: Path,
    replay: tuple[ReplayServer, AnswerQueue],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with contextlib.ExitStack() as stack:
        _run_page(page, replay, monkeypatch, stack)


def _run_page(
    page: Path,
    replay: tuple[ReplayServer, AnswerQueue],
    monkeypatch: pytest.MonkeyPatch,
    stack: contextlib.ExitStack,
) -> None:
    blocks = collect(page)
    if uses_local_model(blocks) and (reason := local_model_missing()):
        pytest.skip(reason)
    _, answers = replay
    if uses_redis(blocks):
        from tests.web.redis_server import REDIS_SERVER, RedisServer

        if not os.path.exists(REDIS_SERVER):
            pytest.skip("needs Debian's redis-server (apt-get install -y redis-server)")
        redis = stack.enter_context(RedisServer())
        monkeypatch.setenv("REDIS_URL", redis.url)
    monkeypatch.chdir(ROOT)  # blocks refer to examples/ like a reader in a clone would
    name = "docs_" + page_id(page).replace("/", "_").replace(".", "_").replace("-", "_")
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for block in blocks:
        run_block(block, module, answers)


def test_collector_reads_answers_and_output(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "text\n\n<!-- replay chunk=8 finish=length\n"
        '{"a": 1}\n-->\n\n```python\nprint(1)\n```\n\n```text title="Output"\n1\n```\n'
        "\n    ```python\n    x = 2\n    ```\n\n```js\nno\n```\n",
        encoding="utf-8",
    )
    first, second = collect(page)
    assert (first.line, first.code, first.output) == (7, "print(1)\n", "1")
    assert [(a.text, a.chunk, a.finish) for a in first.answers] == [('{"a":1}', 8, "length")]
    assert (second.code, second.answers, second.output) == ("x = 2\n", [], None)


def test_output_ellipsis() -> None:
    assert output_matches("a\n...\nd", "a\nb\nc\nd\n")
    assert output_matches("a\n...\nb", "a\nb")
    assert not output_matches("a\n...\nd", "a\nb\nc")
    assert not output_matches("a\nb", "a\nb\nc")


@pytest.mark.parametrize(
    ("page_text", "message"),
    [
        ('```python\nprint("a")\n```\n\n```text title="Output"\nb\n```\n', "output differs"),
        ('```python\nprint("a")\n```\n', "prints output the page does not show"),
        ("<!-- replay\n{}\n-->\n\n```python\nx = 1\n```\n", "answer(s) were not used"),
        ("```python\nraise KeyError('k')\n```\n", "the block raised"),
        (
            "```python\nfrom openai import OpenAI\nOpenAI(max_retries=0).models.list()\n```\n",
            "the block raised",
        ),
    ],
    ids=["wrong-output", "unshown-output", "unused-answer", "raises", "undeclared-request"],
)
def test_runner_fails_a_dishonest_page(
    tmp_path: Path,
    replay: tuple[ReplayServer, AnswerQueue],
    page_text: str,
    message: str,
) -> None:
    page = tmp_path / "page.md"
    page.write_text(page_text, encoding="utf-8")
    (block,) = collect(page)
    with pytest.raises(pytest.fail.Exception, match=re.escape(message)):
        run_block(block, types.ModuleType("docs_runner_test"), replay[1])


def test_fault_options_shape_the_script() -> None:
    from tests.docs.blocks import Answer

    answer = Answer.parse("chunk=2 drop=3 stall=4 wrong_shape=1", '{"a": "bc"}')
    script = answer.script("/v1/chat/completions", {"messages": []})
    assert (script.drop_after, list(script.gates), script.gate_timeout) == (3, [4], 30.0)
    assert b'"content":5' in script.chunks[2]  # after the role chunk and the first piece
    with pytest.raises(AssertionError, match="wrong_shape"):
        answer.script("/v1/responses", {})
    with pytest.raises(ValueError, match="unknown replay option"):
        Answer.parse("stal=1", "{}")
