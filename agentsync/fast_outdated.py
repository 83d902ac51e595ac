"""`agentsync outdated` answered before the command line and the pipeline load, when nothing
it looks at moved.

A full `outdated` that found every agent up to date leaves `.agentsync/outdated.json`: the
sha256 of the manifest and the lock it read, agentsync's code key, and for each source its
URL and every branch, tag and HEAD its mirror held at the end. What `outdated` prints is a
function of those alone: commits never change, and the installed files play no part. So
when the manifest and the lock hash the same and every source still advertises exactly those
refs (`git ls-remote`, in parallel, the full run's own first step), the full run would print
"all agents are up to date" again, and that is printed.

No record is kept for a source that is a local folder (the full run reports its uncommitted
changes). Anything unusual falls through to the full run, which is always right, only
slower: a remote that fails or takes longer than a few seconds, a CI token in the
environment, no `setpriv` to tie the ls-remotes' lives to this one's. Only the standard
library and `gitenv` are imported.
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

RECORD = "outdated.json"
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
    if record is None or not _inputs_match(root, record):
        return None
    sources = record.get("sources")
    if not isinstance(sources, list) or not sources:
        return None
    expected: dict[str, dict[str, str]] = {}
    for item in sources:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            return None
        url, refs = item
        if not isinstance(url, str) or not url or url.startswith("-"):
            return None
        expected[url] = refs
    # Not probed as the full run probes it: a setpriv without --pdeathsig fails its
    # ls-remote, which hands the question to the full run.
    if not sys.platform.startswith("linux"):
        return None
    wrapper = gitenv.which("setpriv", os.environ.get("PATH", os.defpath))
    if wrapper is None:
        return None
    seen = _advertised(wrapper, list(expected))
    if seen is None or any(gitenv.as_mirrored(seen[url]) != expected[url] for url in expected):
        return None
    if not quiet:
        sys.stdout.write(UP_TO_DATE + "\n")
        sys.stdout.flush()
    return 0


def _advertised(wrapper: str, urls: list[str]) -> dict[str, dict[str, str]] | None:
    """What each URL advertises, or None when any ls-remote failed or ran out of time."""
    import threading

    found: dict[str, dict[str, str]] = {}
    failed: list[str] = []
    pending = list(urls)
    guard = threading.Lock()

    def work() -> None:
        while True:
            with guard:
                if not pending or failed:
                    return
                url = pending.pop()
            advertised = _ls_remote(wrapper, url)
            with guard:
                if advertised is None:
                    failed.append(url)
                else:
                    found[url] = advertised

    # daemons: Ctrl-C ends the run at once, and the ls-remotes die with it (setpriv)
    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(_THREADS, len(urls)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return None if failed else found


def _ls_remote(wrapper: str, url: str) -> dict[str, str] | None:
    import signal
    import subprocess

    env = gitenv.git_env()
    try:
        argv = gitenv.through_setpriv(
            wrapper,
            ["git", *gitenv.HARDENING, "ls-remote", "--end-of-options", url],
            env.get("PATH", os.defpath),
        )
    except OSError:
        return None
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # no terminal to prompt on, and killable as a group
        )
    except OSError:
        return None
    try:
        out, _err = proc.communicate(timeout=_BUDGET)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return None
    return gitenv.parse_ls_remote(out) if proc.returncode == 0 else None


def remember_up_to_date(
    root: Path,
    state_dir: Path,
    manifest: bytes,
    lock: bytes,
    sources: Sequence[tuple[str, Mapping[str, str]]],
) -> None:
    """Record a full `outdated` that found every agent up to date with these inputs: the
    manifest and lock bytes it read, and each source's URL with the refs its mirror held."""
    import json

    record = _record_of(str(root), manifest, lock)
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
