"""`agentsync outdated` answered before the command line and the pipeline load, when nothing
it looks at moved.

A full `outdated` that found every agent up to date leaves `.agentsync/outdated.json`: the
sha256 of the manifest and the lock it read, agentsync's code key, the cache it used, and
for each source its URL and the ref table its resolutions read (every branch, tag and HEAD
at the commit it names). What `outdated` prints is a function of those alone: commits never
change, and the installed files play no part. So when the manifest and the lock hash the
same and every source still advertises exactly that table (`git ls-remote`, in parallel, the
full run's own first step; annotated tags as their `^{}` lines peel them), the full run
would print "all agents are up to date" again, and that is printed.

No record is kept for a source that is a local folder (the full run reports its uncommitted
changes). Anything unusual falls through to the full run, which is always right, only
slower: a remote that fails or takes longer than a few seconds, a CI token in the
environment, a cache that is not the one recorded or no longer usable, no `setpriv` to tie
the ls-remotes' lives to this one's. Only the standard library and `gitenv` are imported.
The record is trusted as the manifest beside it is: it lists the sources to look at.
"""

from __future__ import annotations

import os
import sys

from agentsync import gitenv
from agentsync.fastpath import (
    STATE_DIR,
    UP_TO_DATE,
    _inputs_match,
    _load,
    _project_root,
    _record_of,
    _write_cache_file,
    command_flags,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from threading import Lock
    from typing import Any

RECORD = "outdated.json"
# What chooses the default cache folder (platformdirs' user cache folder).
_DEFAULT_CACHE_CHOOSERS = ("XDG_CACHE_HOME", "HOME")
_QUIET = frozenset({"-q", "--quiet"})
# The full run's timeout is a minute; a remote slower than this is left to it, so a slow
# network costs this much more at most, and a fast one the ls-remotes alone.
_BUDGET = 5.0
_THREADS = 8  # as the full run's prefetch


def up_to_date(argv: Sequence[str]) -> int | None:
    """0 when `outdated` was answered here (nothing is behind), None to run it in full."""
    if sys.stdout is None:  # no stdout at all: the full run copes with that
        return None
    try:
        return _answer(argv)
    except (OSError, ValueError, UnicodeError):
        return None


def _answer(argv: Sequence[str]) -> int | None:
    parsed = command_flags(argv, "outdated", _QUIET)
    if parsed is None or os.environ.get("AGENTSYNC_TIMEOUT"):
        return None
    if any(os.environ.get(name, "").strip() for name in gitenv.TOKEN_VARS):
        return None  # the full run sends the token; the answer does not depend on it
    quiet, explicit = parsed
    root = _project_root(os.getcwd(), explicit)
    if root is None:
        return None
    record = _load(os.path.join(root, STATE_DIR, RECORD))
    if record is None or not _inputs_match(root, record) or not _same_cache(record):
        return None
    expected = _expected_refs(record.get("sources"))
    # Not probed as the full run probes it: a setpriv without --pdeathsig fails its
    # ls-remote, which hands the question to the full run.
    if not expected or not sys.platform.startswith("linux"):
        return None
    wrapper = gitenv.which("setpriv", os.environ.get("PATH", os.defpath))
    if wrapper is None:
        return None
    seen = _advertised(wrapper, list(expected))
    if seen is None or any(seen.get(url) != refs for url, refs in expected.items()):
        return None
    if not quiet:
        sys.stdout.write(UP_TO_DATE + "\n")
        sys.stdout.flush()
    return 0


def _cache_facts(root: str) -> list[str]:
    """The cache a run uses and what chose it: AGENTSYNC_CACHE_DIR, else the folders the
    platform's user cache folder is found from."""
    configured = os.environ.get("AGENTSYNC_CACHE_DIR", "")
    if configured:
        return [root, configured]
    return [root, "", *(os.environ.get(name, "") for name in _DEFAULT_CACHE_CHOOSERS)]


def _same_cache(record: Mapping[str, Any]) -> bool:
    """The full run would use the cache it used then, and could: a cache made unusable
    since is an error of the full run's to report."""
    facts = record.get("cache")
    if not isinstance(facts, list) or not facts or not isinstance(facts[0], str):
        return False
    root = facts[0]
    return facts == _cache_facts(root) and os.path.isdir(root) and os.access(root, os.W_OK)


def _expected_refs(sources: object) -> dict[str, dict[str, str | None]] | None:
    """URL -> the ref table recorded for it, or None for anything but what a run wrote."""
    if not isinstance(sources, list) or not sources:
        return None
    expected: dict[str, dict[str, str | None]] = {}
    for item in sources:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            return None
        url, refs = item
        if not isinstance(url, str) or not url or url.startswith("-"):
            return None
        if any(ord(c) < 32 or ord(c) == 127 for c in url):
            return None  # no URL agentsync accepts holds one
        expected[url] = refs
    return expected


def _advertised(wrapper: str, urls: list[str]) -> dict[str, dict[str, str]] | None:
    """What a mirror of each URL would list (see `gitenv.peeled_as_mirrored`), or None when
    any ls-remote failed or ran out of time."""
    import threading

    runs = _Runs(wrapper, urls, threading.Lock())
    # daemons: an interrupted run ends at once
    threads = [threading.Thread(target=runs.work, daemon=True) for _ in range(_THREADS)]
    try:
        for thread in threads[: len(urls)]:
            thread.start()
        for thread in threads[: len(urls)]:
            thread.join()
    except BaseException:
        runs.stop()
        raise
    return None if runs.failed else runs.found


class _Runs:
    """The ls-remotes of one answer, shared by its threads."""

    def __init__(self, wrapper: str, urls: list[str], guard: Lock) -> None:
        self.wrapper = wrapper
        self.pending = list(urls)
        self.guard = guard
        self.found: dict[str, dict[str, str]] = {}
        self.failed = False
        self.running: set[int] = set()  # process groups of the gits still running

    def work(self) -> None:
        while True:
            with self.guard:
                if not self.pending or self.failed:
                    return
                url = self.pending.pop()
            out = self._ls_remote(url)
            with self.guard:
                if out is None:
                    self.failed = True
                else:
                    self.found[url] = gitenv.peeled_as_mirrored(out)

    def stop(self) -> None:
        """Interrupted: kill every git still running with its helpers (an https transport
        is a process of its own, which the parent-death signal does not reach)."""
        with self.guard:
            self.failed = True
            for pid in self.running:
                gitenv.kill_group(pid)

    def _ls_remote(self, url: str) -> bytes | None:
        """What `git ls-remote URL` printed; None when it failed or took over the budget."""
        import subprocess

        env = gitenv.git_env()
        try:
            argv = gitenv.through_setpriv(
                self.wrapper,
                ["git", *gitenv.HARDENING, "ls-remote", "--end-of-options", url],
                env.get("PATH", os.defpath),
            )
            with self.guard:
                if self.failed:
                    return None
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # no terminal to prompt on; killable as a group
                )
                self.running.add(proc.pid)
        except (OSError, ValueError):  # ValueError: a NUL byte in an argument
            return None
        try:
            out, _err = proc.communicate(timeout=_BUDGET)
        except subprocess.TimeoutExpired:
            gitenv.kill_group(proc.pid)
            proc.communicate()
            return None
        finally:
            with self.guard:
                self.running.discard(proc.pid)
        return out if proc.returncode == 0 else None


def remember_up_to_date(
    root: Path,
    state_dir: Path,
    cache: Path,
    manifest: bytes,
    lock: bytes,
    sources: Sequence[tuple[str, Mapping[str, str | None]]],
) -> None:
    """Record a full `outdated` that found every agent up to date with these inputs: the
    manifest and lock bytes it read, the cache it used, and each source's URL with the ref
    table its resolutions read (a ref at no commit as None)."""
    import json

    record = _record_of(str(root), manifest, lock)
    record["cache"] = _cache_facts(str(cache))
    record["sources"] = [[url, dict(refs)] for url, refs in sources]
    try:
        _write_cache_file(os.path.join(state_dir, RECORD), json.dumps(record).encode())
    except (OSError, ValueError):
        forget_up_to_date(state_dir)


def forget_up_to_date(state_dir: Path) -> None:
    """An `outdated` that found something behind (or could not tell) leaves no record."""
    try:
        os.unlink(os.path.join(state_dir, RECORD))
    except OSError:
        pass
