"""The two answers people ask for most, given before the command line and the pipeline load.

- `agentsync install` in a project where nothing changed since a run that found nothing to
  do. That run leaves `.agentsync/clean.json`: the sha256 of the manifest and the lock it
  read, and the stat of every agent file and folder it confirmed. When the manifest and the
  lock hash the same, every file has the same size, times and inode, and no other run is
  writing, the full run would plan nothing and print "all agents are up to date", so that is
  printed. A file modified within the timestamp granularity of the record is hashed against
  the recorded sha256 instead (git's "racy" rule). Any run that writes deletes the record
  first, so a killed run can never leave a record that vouches for what it half wrote.
- `agentsync --help` and `agentsync COMMAND --help`: the text the full command line printed
  the first time, kept in the cache under a key made of agentsync's and Typer's code, the
  arguments, and everything the rendering looks at (terminal width, colour settings).

Only the standard library is imported here; anything unusual falls through to the full run,
which is always right, only slower.
"""

from __future__ import annotations

import os
import sys

# `typing` itself costs more to import than the whole no-op install; type checkers treat
# a module constant of this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from hashlib import sha256 as _sha256
    from pathlib import Path
    from typing import Any, TextIO
else:
    try:  # the built-in module: hashlib would load OpenSSL, a tenth of the time budget
        from _sha256 import sha256 as _sha256
    except ImportError:  # pragma: no cover - other Pythons
        from hashlib import sha256 as _sha256

CLEAN = "clean.json"
RUN_LOCK = "run.lock"
JOURNAL = "journal.json"
MANIFEST_NAME = "agentsync.toml"
LOCK_NAME = "agentsync.lock"
STATE_DIR = ".agentsync"
UP_TO_DATE = "all agents are up to date"
TEMP_SUFFIX = ".agentsync-tmp"  # as agentsync._fs names its temp files
_VERSION = 1
_RACY_NS = 2_000_000_000  # as the installed-files record: coarse clocks hide a change
_MAX_RECORD = 64 * 1024 * 1024
_MAX_INPUT = 64 * 1024 * 1024
# Global flags that change nothing in a no-op install (a project folder is looked up as the
# full run does); every other flag, and any setting from the environment, takes the full run.
_QUIET = frozenset({"-q", "--quiet"})
_HARMLESS = _QUIET | {"--offline"}
_PROJECT = frozenset({"-C", "--project"})
_HELP = frozenset({"-h", "--help"})
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def run_fast(argv: Sequence[str]) -> int | None:
    """The exit code when this command was answered here, None to run it in full."""
    if sys.stdout is None:  # no stdout at all: the full run copes with that
        return None
    try:
        if argv and argv[-1] in _HELP and _help_request(argv):
            return _cached_help(list(argv))
        return _noop_install(argv)
    except (OSError, ValueError, UnicodeError):
        return None


# -- no-op install ----------------------------------------------------------------------------


def _noop_install(argv: Sequence[str]) -> int | None:
    parsed = _install_flags(argv)
    if parsed is None or os.environ.get("AGENTSYNC_TIMEOUT"):
        return None
    quiet, explicit = parsed
    root = _project_root(os.getcwd(), explicit)
    if root is None:
        return None
    state = os.path.join(root, STATE_DIR)
    if not _holds_clean_state(root, state):
        return None
    if not quiet:
        sys.stdout.write(UP_TO_DATE + "\n")
        sys.stdout.flush()
    return 0


def _install_flags(argv: Sequence[str]) -> tuple[bool, str | None] | None:
    """(quiet, -C folder) when argv is `install` with only harmless global flags."""
    return command_flags(argv, "install", _HARMLESS)


def command_flags(
    argv: Sequence[str], word: str, harmless: frozenset[str]
) -> tuple[bool, str | None] | None:
    """(quiet, -C folder) when argv is the command `word` with only `harmless` flags and a
    project folder, else None."""
    quiet, explicit, command = False, None, 0
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item == word:
            command += 1
        elif item in harmless:
            quiet = quiet or item in _QUIET
        elif item in _PROJECT and index + 1 < len(items) and explicit is None:
            explicit = items[index + 1]
            index += 1
        elif item.startswith("--project=") and explicit is None:
            explicit = item.partition("=")[2]
        else:
            return None
        index += 1
    if command != 1 or explicit == "":
        return None
    return quiet, explicit


def _project_root(cwd: str, explicit: str | None) -> str | None:
    """The project folder exactly as the full run finds it, or None when it finds none."""
    if explicit is not None:
        root = os.path.realpath(os.path.join(cwd, explicit))
        return root if os.path.isfile(os.path.join(root, MANIFEST_NAME)) else None
    folder = os.path.realpath(cwd)
    while True:
        if os.path.isfile(os.path.join(folder, MANIFEST_NAME)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _holds_clean_state(root: str, state: str) -> bool:
    if os.name != "posix" or os.path.lexists(os.path.join(state, JOURNAL)):
        return False
    record = _load(os.path.join(state, CLEAN))
    if record is None or not _inputs_match(root, record):
        return False
    recorded = record.get("recorded_ns")
    if not isinstance(recorded, int):
        return False
    import fcntl

    # Another run writing the project: wait for it the way the full run does.
    try:
        fd = os.open(os.path.join(state, RUN_LOCK), os.O_RDWR | _NOFOLLOW)
    except OSError:
        return False
    try:
        import stat

        # a FIFO or device there is an error of the full run's, not a lock
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    try:
        return (
            _state_folder_sound(state)
            and _inputs_match(root, record)
            and _tree_matches(record, recorded)
        )
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _state_folder_sound(state: str) -> bool:
    """`.agentsync/` as the full run leaves it: its `.gitignore`, no temp files an
    interrupted run left (the full run would delete them). The staging folder, the
    installed-files record and the target folder are in the record's stats."""
    if not os.path.isfile(os.path.join(state, ".gitignore")):
        return False
    return not any(name.endswith(TEMP_SUFFIX) for name in os.listdir(state))


def _record_of(root: str, manifest: bytes, lock: bytes) -> dict[str, Any]:
    """What every record of a project starts with: agentsync's code and the inputs it read."""
    return {
        "version": _VERSION,
        "code": code_key(),
        "root": root,
        "manifest": _sha256(manifest).hexdigest(),
        "lock": _sha256(lock).hexdigest(),
    }


def _inputs_match(root: str, record: Mapping[str, Any]) -> bool:
    """The record was made by this code, for this project, from its manifest and lock as
    they are now."""
    if record.get("root") != root or record.get("code") != code_key():
        return False
    for name, key in ((MANIFEST_NAME, "manifest"), (LOCK_NAME, "lock")):
        data = _read_small(os.path.join(root, name))
        if data is None or _sha256(data).hexdigest() != record.get(key):
            return False
    return True


def _tree_matches(record: dict[str, Any], recorded: int) -> bool:
    folders, files = record.get("folders"), record.get("files")
    if not isinstance(folders, dict) or not isinstance(files, dict):
        return False
    for path, seen in folders.items():
        if stat_key(os.lstat(path)) != seen:
            return False
    for path, seen in files.items():
        if not isinstance(seen, list) or len(seen) != 2:
            return False
        info = os.lstat(path)
        if stat_key(info) != seen[0]:
            return False
        if info.st_mtime_ns + _RACY_NS >= recorded:
            data = _read_small(path)
            if data is None or _sha256(data).hexdigest() != seen[1]:
                return False
    return True


def forget_clean_state(state_dir: Path) -> None:
    """Before a run writes anything: the record would vouch for a state about to change."""
    try:
        os.unlink(os.path.join(state_dir, CLEAN))
    except FileNotFoundError:
        pass


def remember_clean_state(
    root: Path,
    state_dir: Path,
    target: Path,
    manifest: bytes,
    lock: bytes,
    files: Iterable[tuple[Path, str]],
) -> None:
    """Record a project that a full `install` found in order, with nothing to do: the
    manifest and lock bytes it read, and each agent file with the sha256 it confirmed, the
    target folder (also when it holds no agent), the staging folder and the record of
    verified files (a full run without it would verify every file again)."""
    import json
    import time

    try:
        recorded: dict[str, list[Any]] = {}
        folders: dict[str, list[int]] = {}
        for folder in _folders_between(str(root), str(target)):
            folders[folder] = stat_key(os.lstat(folder))
        for kept in (os.path.join(state_dir, "tmp"), os.path.join(state_dir, "installed.json")):
            folders[kept] = stat_key(os.lstat(kept))
        for path, digest in files:
            recorded[str(path)] = [stat_key(os.lstat(path)), digest]
            for folder in _folders_between(str(root), os.path.dirname(path)):
                if folder not in folders:
                    folders[folder] = stat_key(os.lstat(folder))
        target_folders = sorted(folders)
        record = _record_of(str(root), manifest, lock)
        record.update(
            recorded_ns=time.time_ns(),
            folders={f: folders[f] for f in target_folders},
            files=recorded,
        )
        _write_cache_file(os.path.join(state_dir, CLEAN), json.dumps(record).encode())
    except (OSError, ValueError):
        forget_clean_state(state_dir)


def _folders_between(root: str, folder: str) -> list[str]:
    """Every folder from `root` down to `folder`: a folder swapped for a symlink, or a file
    added beside the agents (a name clash, a leftover), changes one of their stats."""
    out = [folder]
    while folder not in (root, os.path.dirname(folder)):
        folder = os.path.dirname(folder)
        out.append(folder)
    return out


# -- help -------------------------------------------------------------------------------------


def _help_request(argv: Sequence[str]) -> bool:
    """`--help`, or `COMMAND [SUBCOMMAND] --help` with plain words only: nothing that looks
    at the project, the environment or the network comes before the help flag."""
    words = argv[:-1]
    return len(words) <= 2 and all(w.isascii() and w.isalpha() for w in words)


def _cached_help(argv: list[str]) -> int | None:
    """Print the kept help for argv; None when there is none yet (see `keep_help`)."""
    path = _help_path(argv)
    text = _read_small(path) if path is not None else None
    if text is None:
        return None
    out = getattr(sys.stdout, "buffer", None)
    if out is not None:
        out.write(text)
    else:  # a text-only stream (redirected in-process)
        sys.stdout.write(text.decode(sys.stdout.encoding or "utf-8", "replace"))
    sys.stdout.flush()
    return 0


def keep_help(argv: Sequence[str], run: Callable[[], object]) -> None:
    """Run the full command line (`run`, which exits) for a help request with no kept
    answer, and keep what it printed when it succeeds."""
    path = _help_path(list(argv)) if argv and argv[-1] in _HELP and _help_request(argv) else None
    if path is None:
        run()
        return
    capture = _Capture(sys.stdout)
    sys.stdout = capture
    try:
        run()
    except SystemExit as done:
        if done.code in (0, None) and capture.parts:
            text = "".join(capture.parts).encode(capture.encoding or "utf-8")
            try:
                _write_cache_file(path, text)
            except OSError:
                pass  # only a cache: the next help is rendered in full again
        raise
    finally:
        sys.stdout = capture.inner


class _Capture:
    """stdout that also remembers what was written to it."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        written = self.inner.write(text)  # a probe with bytes fails here, as it should
        self.parts.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _help_path(argv: list[str]) -> str | None:
    """Where the help for argv is kept; None when it cannot be told (no stdout, no Typer, a
    terminal that will not say its size): the help is then rendered and not kept."""
    try:
        return _help_key_path(argv)
    except (OSError, ValueError, AttributeError):
        return None


def _help_key_path(argv: list[str]) -> str | None:
    typer_init = _module_file("typer")
    if typer_init is None:
        return None
    out, err = sys.stdout, sys.stderr
    parts: list[object] = [
        argv,
        code_key(),
        stat_key(os.stat(typer_init)),
        sys.version,
        out.isatty(),
        err.isatty(),
        out.encoding,
        [os.environ.get(k) for k in _HELP_ENV],
    ]
    if out.isatty():
        parts.append(tuple(os.get_terminal_size(out.fileno())))
    key = _sha256(repr(parts).encode()).hexdigest()[:24]
    return os.path.join(_cache_root(), "help", f"{key}.txt")


# What the rendering of help reads besides the arguments: width, colour, the TTY checks.
_HELP_ENV = (
    "COLUMNS",
    "LINES",
    "TERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "TYPER_USE_RICH",
    "_AGENTSYNC_COMPLETE",
)


def _module_file(name: str) -> str | None:
    """Where `import name` would find the package (importlib.util costs as much as the rest)."""
    for entry in sys.path:
        candidate = os.path.join(entry or os.curdir, name, "__init__.py")
        if os.path.isfile(candidate):
            return candidate
    return None


def _cache_root() -> str:
    """The cache folder, as the store finds it."""
    configured = os.environ.get("AGENTSYNC_CACHE_DIR")
    if configured:
        return os.path.expanduser(configured)
    import platformdirs

    return str(platformdirs.user_cache_dir("agentsync"))


# -- shared -----------------------------------------------------------------------------------


def code_key() -> str:
    """A digest of the size and time of every module of agentsync: new code, new records."""
    digest = _sha256()
    package = os.path.dirname(os.path.abspath(__file__))
    for module in sorted(os.listdir(package)):
        if module.endswith(".py"):
            info = os.stat(os.path.join(package, module))
            digest.update(f"{module}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def stat_key(info: os.stat_result) -> list[int]:
    """What the record keeps of a file's or folder's stat: any rewrite or swap changes it."""
    return [
        info.st_mode,
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
        info.st_ino,
        info.st_dev,
    ]


def _read_small(path: str) -> bytes | None:
    """The bytes of the regular file at `path` (never a FIFO or a device), None otherwise."""
    import stat

    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        )
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_INPUT:
            return None
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _load(path: str) -> dict[str, Any] | None:
    data = _read_small(path)
    if data is None or len(data) > _MAX_RECORD:
        return None
    import json

    try:
        raw = json.loads(data)
    except RecursionError:  # nested past Python's limit: not a record agentsync wrote
        return None
    return raw if isinstance(raw, dict) and raw.get("version") == _VERSION else None


def _write_cache_file(path: str, data: bytes) -> None:
    """Write a cache file whole or not at all (no fsync: losing it only costs speed)."""
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.agentsync-tmp")
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644
        )
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if os.environ.get("AGENTSYNC_FAULT_AFTER_WRITES"):  # the crash tests count this write too
        from agentsync._fs import _maybe_fault

        _maybe_fault()
