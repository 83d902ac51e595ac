"""Test helper: run agentsync in separate processes forked from the test (imports already
loaded, so dozens of runs cost seconds), or in-process; used by the crash and concurrency tests.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentsync.__main__ import entry as agentsync_main

FAULT_ENV = "AGENTSYNC_FAULT_AFTER_WRITES"


@dataclass(frozen=True)
class Run:
    """What one agentsync process did: exit code (negative: killed by that signal), output."""

    code: int
    out: str
    err: str


def _child(cwd: Path, args: Sequence[str], fault: int | None, out: Path, err: Path) -> None:
    """In the forked child: run the CLI entry point, then leave without touching the parent's
    state (no atexit, no buffered output flushed twice)."""
    code = 70
    try:
        os.chdir(cwd)
        if fault is None:
            os.environ.pop(FAULT_ENV, None)
        else:
            os.environ[FAULT_ENV] = str(fault)
        sys.stdout = out.open("w")
        sys.stderr = err.open("w")
        try:
            agentsync_main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 0
        except BaseException:  # a bug: keep the traceback for the assertion message
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def run_many(
    jobs: Sequence[tuple[Path, Sequence[str], int | None]],
    kill_after: Sequence[float] | None = None,
) -> list[Run]:
    """Run `agentsync ARGS` in each project at once, each in its own forked process;
    `kill_after[i]` seconds after the start, job i gets SIGKILL if it is still running."""
    _warm_up()
    started = []
    for index, (cwd, args, fault) in enumerate(jobs):
        out, err = cwd.parent / f".out-{cwd.name}-{index}", cwd.parent / f".err-{cwd.name}-{index}"
        out.touch()  # before the fork: a child killed at once must still leave both files
        err.touch()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            _child(cwd, args, fault, out, err)
        started.append((pid, out, err))
    if kill_after is not None:
        begin = time.monotonic()
        for delay, (pid, _, _) in sorted(zip(kill_after, started, strict=True)):
            time.sleep(max(0.0, begin + delay - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    runs = []
    for pid, out, err in started:
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        runs.append(Run(code, out.read_text(), err.read_text()))
        with contextlib.suppress(OSError):
            out.unlink()
            err.unlink()
    return runs


_warm = False


def _warm_up() -> None:
    """Load what a run imports lazily once here, not again in every forked child."""
    global _warm  # noqa: PLW0603 - once per test process
    if _warm:
        return
    import agentsync.compat
    import agentsync.fixer
    import agentsync.store
    import agentsync.updater  # noqa: F401

    with tempfile.TemporaryDirectory() as empty:
        inproc(Path(empty), "--json", "status")
    _warm = True


def agentsync(cwd: Path, *args: str, fault: int | None = None) -> Run:
    """One run in its own process (forked)."""
    return run_many([(cwd, args, fault)])[0]


def inproc(cwd: Path, *args: str) -> Run:
    """One run inside the test process (also loads every lazy import before the forks)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            agentsync_main(list(args))
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
    finally:
        os.chdir(here)
    return Run(code, out.getvalue(), err.getvalue())


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def processes_naming(text: str) -> list[str]:
    """The command lines of the running processes that hold `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found
