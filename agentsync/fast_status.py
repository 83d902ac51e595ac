"""`agentsync status` answered from the state folder while nothing it looks at has changed.

A full `status` in a project whose clean record holds (see fastpath: manifest, lock and every
agent file exactly as a no-op install confirmed them) keeps what it printed in
`.agentsync/status.json`, under a key made of the clean record, the arguments, the settings
it reads from the environment, and the stat of every entry of the target folder and of the
user's agents folder (an unmanaged file, or a user agent a project agent hides, changes the
answer). The next `status` with the same key prints that again without loading the command
line, so it costs about as much as the no-op install. Only the standard library is imported.
"""

from __future__ import annotations

import os
import sys

from agentsync.fastpath import (
    CLEAN,
    STATE_DIR,
    _Capture,
    _holds_clean_state,
    _load,
    _project_root,
    _read_small,
    _write_cache_file,
    code_key,
    stat_key,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from hashlib import sha256 as _sha256
    from typing import Any
else:
    from agentsync.fastpath import _sha256  # the built-in module, not OpenSSL

STATUS = "status.json"
_VERSION = 1
_COMMANDS = frozenset({"status", "list", "ls"})
_FLAGS = frozenset({"--json", "-q", "--quiet", "--offline", "--color=never"})
_KEPT = 8  # answers to different status lines
_MAX_ENTRIES = 20_000  # folders larger than this are looked at in full every time
_RACY_NS = 2_000_000_000


def status_request(argv: Sequence[str]) -> str | None:
    """The -C folder ("" for none) when argv is a status with only plain flags, else None."""
    commands, explicit = 0, ""
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item in _COMMANDS:
            commands += 1
        elif item in ("-C", "--project") and index + 1 < len(items) and not explicit:
            explicit = items[index + 1]
            index += 1
            if not explicit:
                return None
        elif item not in _FLAGS:
            return None
        index += 1
    return explicit if commands == 1 else None


def cached_status(argv: Sequence[str]) -> int | None:
    """Print the kept answer of this status and return its exit code; None to run it."""
    if sys.stdout is None or sys.stderr is None:
        return None
    try:
        return _cached_status(argv)
    except (OSError, ValueError, UnicodeError):
        return None  # anything unusual: the full run says what is wrong


def _cached_status(argv: Sequence[str]) -> int | None:
    explicit = status_request(argv)
    if explicit is None:
        return None
    root = _project_root(os.getcwd(), explicit or None)
    if root is None:
        return None
    kept = _load(os.path.join(root, STATE_DIR, STATUS))
    entries = kept.get("entries") if kept is not None else None
    record = entries.get(_argv_key(argv)) if isinstance(entries, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("target"), str):
        return None
    out, err, code = record.get("out"), record.get("err"), record.get("code")
    if not (isinstance(out, str) and isinstance(err, str) and isinstance(code, int)):
        return None
    import time

    if _status_key(argv, root, record["target"], time.time_ns()) != record.get("key"):
        return None
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    return code


def keep_status(argv: Sequence[str], run: Callable[[], object]) -> None:
    """Run a full status (`run`, which exits) and keep what it printed, unless something it
    looks at changed while it ran."""
    import time

    explicit = status_request(argv)
    try:
        root = _project_root(os.getcwd(), explicit or None) if explicit is not None else None
        terminal = sys.stdout.isatty() or sys.stderr.isatty()
    except (OSError, ValueError, AttributeError):
        root = None  # no folder, or no streams: the full run reports it
    if root is None or terminal:
        run()  # colour and terminal width would be part of the answer: not kept
        return
    started = time.time_ns()
    _seen.clear()
    out, err = _Capture(sys.stdout), _Capture(sys.stderr)
    sys.stdout, sys.stderr = out, err
    try:
        run()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0
        target = _seen.get("target")
        try:
            ok = bool(target) and code in (0, 1)
            key = _status_key(argv, root, target, started) if ok and target else None
        except (OSError, ValueError, UnicodeError):
            key = None
        if key is not None:
            assert target is not None  # noqa: S101 - the key needs it
            _save(argv, root, target, key, "".join(out.parts), "".join(err.parts), code)
        raise
    finally:
        sys.stdout, sys.stderr = out.inner, err.inner


_seen: dict[str, str] = {}


def note_target(target: str) -> None:
    """The full status tells the target folder it listed (the answer depends on its tree)."""
    _seen["target"] = target


def _save(
    argv: Sequence[str], root: str, target: str, key: str, out: str, err: str, code: int
) -> None:
    """Keep the answer beside those to other status lines (`--json`, `list`), a few at most."""
    import json

    path = os.path.join(root, STATE_DIR, STATUS)
    try:
        kept = _load(path)
    except (OSError, ValueError):
        kept = None
    entries = kept.get("entries") if kept is not None else None
    entries = (
        {k: v for k, v in entries.items() if k != _argv_key(argv)}
        if isinstance(entries, dict)
        else {}
    )
    entries[_argv_key(argv)] = {"target": target, "key": key, "out": out, "err": err, "code": code}
    while len(entries) > _KEPT:
        del entries[next(iter(entries))]
    record = {"version": _VERSION, "entries": entries}
    try:
        _write_cache_file(path, json.dumps(record).encode())
    except OSError:
        pass  # only a cache: the next status runs in full


def _argv_key(argv: Sequence[str]) -> str:
    return "\0".join(argv)


def _status_key(argv: Sequence[str], root: str, target: str, since: int) -> str | None:
    """What the answer depends on, hashed; None when it cannot be vouched for: an entry of
    the folders changed after `since` less the coarse-clock margin."""
    state = os.path.join(root, STATE_DIR)
    if not _holds_clean_state(root, state):
        return None
    clean = _read_small(os.path.join(state, CLEAN))
    user = _user_agents()
    target_tree, user_tree = _tree(target, since), _tree(user, since)
    if clean is None or target_tree is None or user_tree is None:
        return None
    environment = sorted(
        (k, v)
        for k, v in os.environ.items()
        if k.startswith(("AGENTSYNC_", "CLAUDE_"))
        or k in ("COLUMNS", "TERM", "NO_COLOR", "FORCE_COLOR")
    )
    parts: list[object] = [
        list(argv),
        code_key(),
        root,
        target,
        _sha256(clean).hexdigest(),
        environment,
        # without a user agents folder its path shows nowhere in the answer
        [user, user_tree] if os.path.isdir(user) else None,
        target_tree,
    ]
    return _sha256(repr(parts).encode()).hexdigest()


def _user_agents() -> str:
    """`project.user_agents_dir`'s rule, with the standard library only (so: written here)."""
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    if config is None:
        return os.path.join(os.path.expanduser("~"), ".claude", "agents")
    return os.path.join(os.path.expanduser(config), "agents")  # "" is the current folder


def _tree(folder: str, since: int) -> list[Any] | None:
    """(path, stat) of `folder` and everything below it, links followed as the client does;
    None when it is too large or an entry changed after `since` less the margin (its stat
    may not show the next change: the coarse-clock rule of the clean record)."""
    if not os.path.isdir(folder):
        return [folder, None]
    found: list[Any] = []
    newest = since - _RACY_NS
    prefix = os.path.join(folder, "")
    for top, folders, files in os.walk(folder, followlinks=True):
        folders.sort()
        # the path relative to `folder`, as os.path.relpath spells it (10,000 calls of it
        # were a third of a status)
        base = top[len(prefix) :] if top.startswith(prefix) else ""
        for name in (".", *sorted(files)):
            info = os.stat(f"{top}/{name}")
            if info.st_mtime_ns >= newest or info.st_ctime_ns >= newest:
                return None
            if name == ".":
                found.append((base or ".", stat_key(info)))
            else:
                found.append((f"{base}/{name}" if base else name, stat_key(info)))
        if len(found) > _MAX_ENTRIES:
            return None
    return found
