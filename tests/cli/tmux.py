"""A real terminal for CLI tests: one detached tmux session on a private socket."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping

TMUX = shutil.which("tmux")


class Tmux:
    """``tmux -L <unique socket>``: start a command in a fixed-size pane, capture, send keys."""

    def __init__(self, width: int = 100, height: int = 50) -> None:
        assert TMUX is not None
        self.socket = f"ss-cli-{uuid.uuid4().hex[:10]}"
        self.width = width
        self.height = height
        self.target = "cli"

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        # the pane's size must come from the pane, not from a COLUMNS/LINES of the test run
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        return subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=20,
            env=env,
        )

    def start(
        self,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdout: str | None = None,
        record: str | None = None,
    ) -> None:
        """Run ``argv`` in the pane; when it exits the pane shows ``EXIT=<code>`` and stays.

        ``stdout``: a file to redirect the command's stdout to (stderr stays on the pane).
        ``record``: a file that receives every byte the pane is sent (``pipe-pane``), so a
        test can check every frame the terminal drew, not only the ones it captured; the
        command starts only once the recording runs.
        """
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        cmd = " ".join(shlex.quote(a) for a in argv)
        if stdout is not None:
            cmd += " > " + shlex.quote(stdout)
        script = f"{'export ' + exports + '; ' if exports else ''}{cmd}; echo EXIT=$?; sleep 600"
        ready = None
        if record is not None:
            ready = record + ".ready"
            wait = f"while [ ! -e {shlex.quote(ready)} ]; do sleep 0.02; done; "
            script = wait + script
        args = [
            "new-session",
            "-d",
            "-s",
            self.target,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
        ]
        if cwd:
            args += ["-c", cwd]
        self._tmux(*args, "bash --norc --noprofile -c " + shlex.quote(script))
        self._tmux("set-option", "-t", self.target, "history-limit", "5000")
        if record is not None and ready is not None:
            self._tmux("pipe-pane", "-t", self.target, "-o", "cat >> " + shlex.quote(record))
            with open(ready, "w"):
                pass

    def capture(self, history: bool = True) -> str:
        args = ["capture-pane", "-p", "-t", self.target]
        if history:
            args += ["-S", "-"]
        return self._tmux(*args).stdout

    def screen(self) -> str:
        return self.capture(history=False)

    def send_keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.target, *keys)

    def wait_for(
        self, predicate: Callable[[str], bool] | str, timeout: float = 30.0, history: bool = False
    ) -> str:
        """Poll the pane until ``predicate(text)`` (or the substring) holds; return the text.

        A capture can land while the terminal is half-way through drawing a frame, so once
        the predicate holds the pane is re-read until two captures agree (at most 1 s); the
        last capture that still satisfies the predicate is returned.
        """
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.capture(history=history)
            if check(text):
                return self._settle(text, check, history)
            time.sleep(0.05)
        raise AssertionError(f"pane never matched {predicate!r}; last capture:\n{text}")

    def _settle(self, text: str, check: Callable[[str], bool], history: bool) -> str:
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            time.sleep(0.05)
            again = self.capture(history=history)
            if not check(again):
                return text  # the screen moved on: the earlier capture is the one asked for
            if again == text:
                return text
            text = again
        return text

    def kill(self) -> None:
        self._tmux("kill-server", check=False)
