"""The git adapter: the only module that runs git (hardened env, timeouts, typed failures, object
reads, merges)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentsync import gitenv
from agentsync.errors import AgentsyncError
from agentsync.gitenv import HARDENING as _HARDENING
from agentsync.gitenv import git_env
from agentsync.ids import Commit, is_full_commit
from agentsync.urls import token_config

if TYPE_CHECKING:
    import git

_INSTALL_GIT = "install git (2.30 or newer) and run again"


class GitError(Exception):
    """A git command failed; `stderr` is raw and may hold credentials: redact before showing it.

    `run_git` raises the subclass that says why (see `classify`); a plain GitError is a
    failure git's words do not explain further (a refused connection, a bad argument).
    """

    def __init__(self, command: str, returncode: int, stderr: str) -> None:
        super().__init__(f"git {command} failed (exit {returncode})")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr

    @property
    def detail(self) -> str:
        """git's own explanation, in one line (raw: may hold credentials)."""
        return git_message(self.stderr)


class GitTimeout(GitError):
    """A git command ran past its time limit and was killed with its whole process group."""

    def __init__(self, command: str, seconds: float, stderr: str) -> None:
        super().__init__(command, -1, stderr)
        self.seconds = seconds


class GitNotFound(GitError):
    """The remote has no repository at that address (or what is there is not one)."""


class GitAuthFailed(GitError):
    """The remote wants credentials it was not given, or refused the ones it was given
    (git never prompts here, so "asked for a password" is a refusal too)."""


class GitCorrupt(GitError):
    """The local repository is damaged: a missing or corrupt object, a broken ref, or no
    repository at all where one should be."""


class GitUnknownRef(GitError):
    """The remote has no ref that a refspec asked for by name (`ref`)."""

    def __init__(self, command: str, returncode: int, stderr: str, ref: str) -> None:
        super().__init__(command, returncode, stderr)
        self.ref = ref


# What git says, lowercased, for each kind of failure. A damaged repository is the local one
# only when no `remote:` line says so: the server's own damage is not ours to rebuild.
_UNKNOWN_REF = re.compile(r"couldn't find remote ref (\S+)")
_AUTH_FAILED = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied",
    "terminal prompts disabled",
    "host key verification failed",
)
_NOT_FOUND = ("repository not found", "does not appear to be a git repository", "not found")
_CORRUPT = (
    "not a git repository",
    "bad object",
    "corrupt",
    "unable to read",
    "did not send all necessary objects",
    "broken ref",
    "invalid sha1 pointer",
    "missing blob",
    "missing tree",
    "missing commit",
)


def classify(command: str, returncode: int, stderr: str) -> GitError:
    """The typed error for a failed git command, from its exit code and what it printed.

    Judged on `git_message(stderr)`, the lines git means as the explanation. Who refused
    (credentials, then the address) comes before local damage: a refusal that also reads
    "unable to read" is not cured by rebuilding the mirror.
    """
    detail = git_message(stderr)
    lowered = detail.lower()
    unknown = _UNKNOWN_REF.search(detail)
    if unknown is not None:
        return GitUnknownRef(command, returncode, stderr, unknown.group(1))
    if any(marker in lowered for marker in _AUTH_FAILED):
        return GitAuthFailed(command, returncode, stderr)
    if any(marker in lowered for marker in _NOT_FOUND):
        return GitNotFound(command, returncode, stderr)
    if any(marker in lowered for marker in _CORRUPT) and "remote:" not in lowered:
        return GitCorrupt(command, returncode, stderr)
    return GitError(command, returncode, stderr)


def git_message(stderr: str) -> str:
    """git's explanation in one line: its last fatal/error lines and what finishes them."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [i for i, line in enumerate(lines) if line.startswith(("fatal:", "error:"))]
    if not fatal:
        return " / ".join(lines[-3:])
    # git often finishes a fatal line on the next one ("unable to connect to host:" then
    # "host[0: ...]: errno=Connection refused"), so keep what follows the last fatal line too.
    chosen = [lines[i] for i in fatal[-3:]] + lines[fatal[-1] + 1 :][:2]
    return " / ".join(chosen)


@dataclass(frozen=True)
class GitResult:
    """What a finished git command printed."""

    returncode: int
    stdout: bytes
    stderr: str


@dataclass(frozen=True)
class RefRecord:
    """A ref and the commit it finally points at (None when it points at a tree or blob)."""

    name: str
    commit: Commit | None


def run_git(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    check: bool = True,
    config: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> GitResult:
    """Run `git <hardening> [-c config...] [--git-dir=...] <args>` (`env`: more environment
    for git; `pass_fds`: open files git inherits); kill its process group after `timeout`."""
    argv = ["git", *_HARDENING]
    for setting in config:
        argv += ["-c", setting]
    if git_dir is not None:
        argv.append(f"--git-dir={git_dir}")
    argv.extend(args)
    command = next((arg for arg in args if not arg.startswith("-")), "git")
    long = command in _LONG_COMMANDS
    with _running_guard if long else contextlib.nullcontext():
        if long and _stopping.is_set():  # interrupted: no retry may start another
            raise GitError(command, 130, "interrupted")
        proc = _spawn(
            argv, stdin=subprocess.DEVNULL, cwd=cwd, outlives=long, env=env, pass_fds=pass_fds
        )
        if long:
            _running.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, err = proc.communicate()
        raise GitTimeout(command, timeout or 0.0, err.decode(errors="replace")) from None
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    finally:
        if long:
            with _running_guard:
                _running.discard(proc)
    result = GitResult(proc.returncode, out, err.decode(errors="replace"))
    if check and result.returncode != 0:
        raise classify(command, result.returncode, result.stderr)
    return result


@functools.cache
def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that makes git die with agentsync (PR_SET_PDEATHSIG).

    Without it, a `kill -9` of agentsync leaves its `git fetch` running on its own, racing
    the next run's fetch for the mirror's refs ("cannot lock ref ... is at X but expected
    Y"; tests/test_network.py kills a fetch midway to show it).
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the hook ran
            os._exit(1)

    return die_with_parent


# Commands that may run on for long once agentsync is gone (a slow server, a big pack):
# only they get the death signal. Every other git command agentsync runs is short, or reads
# its stdin and ends when agentsync's end of it closes.
_LONG_COMMANDS = frozenset({"fetch", "ls-remote", "clone", "gc", "repack"})


def _spawn(
    argv: list[str],
    *,
    stdin: int,
    stderr: int = subprocess.PIPE,
    cwd: Path | None = None,
    outlives: bool = False,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    environment = git_env()
    if env:
        environment.update(env)
    hook = None
    try:
        if outlives:
            # A kill of agentsync in the instant between the spawn and setpriv's prctl leaves
            # git running on, as without the signal; the hook also catches that instant, at
            # the cost of a fork.
            wrapped = gitenv.dying_with_parent(argv, environment.get("PATH", os.defpath))
            if wrapped is None:
                hook = _parent_death_signal()
            else:
                argv = wrapped
        return subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment,
            cwd=cwd,
            # Own process group (killable as a whole) and no controlling terminal to prompt on.
            start_new_session=True,
            preexec_fn=hook,  # noqa: PLW1509 - prctl is bound before the fork
            pass_fds=tuple(pass_fds),
        )
    except FileNotFoundError:
        raise AgentsyncError("git was not found on PATH", hint=_INSTALL_GIT) from None


# The long commands running now, on any thread: an interrupt reaches only the main thread,
# which kills these so that the threads waiting on them end at once, not at their timeout.
_running: set[subprocess.Popen[bytes]] = set()
_running_guard = threading.Lock()
_stopping = threading.Event()


@contextlib.contextmanager
def stopped_on_interrupt() -> Iterator[None]:
    """Inside a thread pool that runs long commands (entered after it, so left before it
    waits for its threads): an interrupt, or any failure, in the waiting thread kills
    every fetch, ls-remote or clone still running, with their helpers, and no other starts
    (a retry) until the next such block, as the run is ending."""
    _stopping.clear()
    try:
        yield
    except BaseException:
        with _running_guard:
            _stopping.set()
            for proc in _running:
                _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # git spawns helpers (git-remote-https, ssh, upload-pack): kill them all, not just git.
    if hasattr(os, "killpg"):
        gitenv.kill_group(proc.pid)
    else:  # pragma: no cover - Windows
        with contextlib.suppress(ProcessLookupError, PermissionError):
            proc.kill()


def read_objects(
    git_dir: Path, oids: Sequence[str], *, budget: int, timeout: float | None = None
) -> dict[str, tuple[str, bytes]]:
    """Many objects by id through one `git cat-file --batch` (one process, no round trip per
    object), keeping at most `budget` bytes of content; a missing id is left out."""
    ids = list(dict.fromkeys(oid for oid in oids if re.fullmatch(r"[0-9a-f]{40}", oid)))
    answers = read_batch(git_dir, ids, budget=budget, timeout=timeout)
    return {found[0]: (found[1], found[2]) for found in answers if found is not None}


_BATCH_HEADER = re.compile(rb"([0-9a-f]{40}) (blob|tree|commit|tag) ([0-9]+)")


def read_batch(
    git_dir: Path,
    names: Sequence[str],
    *,
    budget: int,
    timeout: float | None = None,
    alternates: Sequence[Path] = (),
) -> list[tuple[str, str, bytes] | None]:
    """Objects by name (an id, `<commit>^{tree}`, `<commit>:<path>`) through one
    `git cat-file --batch`: for each name, in order, (id, type, content), or None when it is
    missing or past the `budget` of content bytes. Names holding a line break or a space
    are never sent (git's answer to them could not be told apart); they come back None.
    The objects of the repositories in `alternates` are read too (see `can_be_alternate`)."""
    env = {}
    if alternates:
        objects = [str(Path(path).absolute() / "objects") for path in alternates]
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.pathsep.join(objects)
    if not any(names):
        return [None] * len(names)
    with BatchSession(git_dir, env=env, timeout=timeout) as session:
        answers = session.read(names, budget=budget)
    return [
        (answer[0], answer[1], answer[3])
        if answer is not None and len(answer[3]) == answer[2]
        else None  # missing, or past the budget
        for answer in answers
    ]


def can_be_alternate(git_dir: Path) -> bool:
    """True when git can take the objects of `git_dir` from GIT_ALTERNATE_OBJECT_DIRECTORIES
    as written: a path holding the list separator or a quote would need quoting."""
    text = str(Path(git_dir).absolute())
    return not any(c in text for c in (os.pathsep, '"', "\n", "\r"))


class BatchSession:
    """One `git cat-file --batch` asked several rounds of names in turn, each round's names
    chosen from the last one's answers (a tree walk, level by level): one process for a
    whole listing instead of one per level. Close it (or use it as a context manager)."""

    def __init__(
        self,
        git_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        argv = ["git", *_HARDENING, f"--git-dir={git_dir}", "cat-file", "--batch"]
        self._proc = _spawn(argv, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        # a round that takes longer ends the process: its reads then come back None
        self._timeout = timeout

    def __enter__(self) -> BatchSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(
        self, names: Sequence[str], *, budget: int
    ) -> list[tuple[str, str, int, bytes] | None]:
        """For each name, in order: (id, type, size, content), the content empty past the
        `budget` of content bytes (the size still told); None when it is missing or cannot
        be sent (a line break or a space in it)."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None  # noqa: S101 - both are pipes
        sendable = [bool(n) and not any(c in n for c in "\n\r ") for n in names]
        asked = [n for n, ok in zip(names, sendable, strict=True) if ok]
        if not asked:
            return [None] * len(names)
        request = ("\n".join(asked) + "\n").encode("utf-8", "surrogateescape")

        def feed() -> None:
            with contextlib.suppress(OSError):
                proc.stdin.write(request)  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]

        # written beside the reading: a long request must not block on a full answer pipe
        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        timer = threading.Timer(self._timeout, _kill_group, (proc,)) if self._timeout else None
        if timer is not None:
            timer.start()
        answers: list[tuple[str, str, int, bytes] | None] = []
        try:
            for _ in asked:
                line = proc.stdout.readline()
                if not line:
                    break  # the process died: nothing more to read
                header = _BATCH_HEADER.fullmatch(line.rstrip(b"\n"))
                if header is None:
                    answers.append(None)  # "<name> missing" (or ambiguous)
                    continue
                oid, kind, size = header[1].decode(), header[2].decode(), int(header[3])
                data = b""
                if size <= budget:
                    data = proc.stdout.read(size)
                    budget -= size
                    if len(data) != size:
                        answers.append(None)
                        break
                else:
                    left = size
                    while left > 0:  # too much to keep: skipped, its size still told
                        left -= len(proc.stdout.read(min(left, 1 << 20)) or b"\0" * left)
                proc.stdout.read(1)  # the newline after each object
                answers.append((oid, kind, size, data))
        finally:
            if timer is not None:
                timer.cancel()
            writer.join()
        answers += [None] * (len(asked) - len(answers))
        replies = iter(answers)
        return [next(replies, None) if ok else None for ok in sendable]

    def close(self) -> None:
        _kill_group(self._proc)
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


# --- repositories -------------------------------------------------------------------------


# What `git init --bare --template=` writes; the mirror's HEAD is never read (the remote's
# default branch is kept in refs/agentsync/HEAD), so it names no branch of the user's setting.
_BARE_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
_BARE_FOLDERS = ("objects/info", "objects/pack", "refs/heads", "refs/tags")


def init_bare(path: Path) -> None:
    """Create an empty bare repository at `path` (no template: no sample hooks), written
    directly rather than by `git init`: a cold install makes one per source, and a git
    process costs more than these four folders and two files. The folder is a staging
    folder that only becomes a mirror once a fetch into it succeeded."""
    try:
        for folder in _BARE_FOLDERS:
            (path / folder).mkdir(parents=True, exist_ok=True)
        (path / "config").write_text(_BARE_CONFIG, encoding="utf-8")
        (path / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    except OSError as error:
        raise GitError("init", -1, str(error)) from None


def looks_like_git_dir(path: Path) -> bool:
    """Cheap check (no process) that `path` has the shape of a git directory."""
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def local_git_dir(path: Path) -> Path | None:
    """The git directory of a local source at `path` (work tree or bare), or None if not a repo."""
    dot_git = path / ".git"
    if dot_git.exists():
        return dot_git
    if looks_like_git_dir(path):
        return path
    return None


def repository_problem(git_dir: Path) -> str | None:
    """Why `git_dir` is not a sound repository (missing, broken HEAD or refs), or None."""
    if not looks_like_git_dir(git_dir):
        return "not a git directory"
    try:  # a link or FIFO among the refs: git would follow it, or wait on it for ever
        ref_files(git_dir, ("refs/",))
    except GitCorrupt as error:
        return _first_line(error.stderr)
    result = run_git(["for-each-ref", "--format=%(objectname)"], git_dir=git_dir, check=False)
    if result.returncode != 0:
        return _first_line(result.stderr) or f"git for-each-ref failed (exit {result.returncode})"
    if "broken ref" in result.stderr or "bad object" in result.stderr:
        return _first_line(result.stderr)
    head = run_git(["rev-parse", "--git-dir"], git_dir=git_dir, check=False)
    if head.returncode != 0:
        return _first_line(head.stderr) or "broken HEAD"
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def fetch(
    git_dir: Path,
    url: str,
    refspecs: Sequence[str],
    *,
    timeout: float | None,
    prune: bool = True,
    keep_pack: bool = False,
) -> None:
    """Fetch `refspecs` from `url` into `git_dir`; the URL (credentials too) never reaches disk.

    `keep_pack` (a first fetch into an empty repository) keeps what arrives as one pack,
    however few objects it holds, as a clone does: unpacked, an agent repository of 50 files
    costs 50 object files and as many folders."""
    args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"]
    if prune:
        args.append("--prune")
    config = ["fetch.unpackLimit=1"] if keep_pack else []
    if keep_pack:
        # One pack and a few refs leave nothing to maintain: a cold install of 20 sources
        # started 20 `git maintenance run --auto` only to learn that. Later fetches keep it.
        args.append("--no-auto-maintenance")
    # --end-of-options: a URL or refspec can never be read as an option.
    run_git(
        [*args, "--end-of-options", url, *refspecs],
        git_dir=git_dir,
        timeout=timeout,
        config=config,
        env=token_config(url, os.environ),
    )


def ls_remote(url: str, *, timeout: float | None) -> dict[str, str]:
    """What `url` advertises: ref name (and `HEAD`) -> object id, peeled tags left out."""
    out = run_git(
        ["ls-remote", "--end-of-options", url],
        timeout=timeout,
        env=token_config(url, os.environ),
    ).stdout
    return gitenv.parse_ls_remote(out)


def ref_values(git_dir: Path, patterns: Sequence[str]) -> dict[str, str]:
    """Ref name -> the object id it holds (tags not peeled), for refs under `patterns`."""
    out = run_git(
        ["for-each-ref", "--format=%(objectname) %(refname)", *patterns], git_dir=git_dir
    ).stdout
    values: dict[str, str] = {}
    for line in out.decode(errors="replace").splitlines():
        oid, _space, name = line.partition(" ")
        values[name] = oid
    return values


_HEX40 = re.compile(r"[0-9a-f]{40}")
_LOOSE_REF = re.compile(rb"[0-9a-f]{40}\n")
# Ref names read from files are taken only when plainly valid: git skips names it refuses
# (a leading dot, a space, `..`), so anything else is left to it.
_PLAIN_REF_PART = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")
_MAX_LOOSE_REF = 4096  # an id, or a symbolic ref: git writes nothing longer
_MAX_PACKED_REFS = 16 * 1024 * 1024
_PACKED_REF = re.compile(r"([0-9a-f]{40}) (refs/\S+)")


def ref_files(git_dir: Path, patterns: Sequence[str]) -> dict[str, str] | None:
    """Ref name -> the object id it holds (tags not peeled) for the refs under a mirror's
    `patterns`, read from its own files without starting git; None for what git reads
    better (a reftable, an unreadable line, a name git would skip), for `git for-each-ref`
    to answer instead. What no fetch writes there (a link, a FIFO, a symbolic ref, a file
    larger than any ref) raises GitCorrupt: the cache is damaged.

    Loose refs are read before packed-refs: `git pack-refs` writes the packed file before it
    deletes the loose ones, so a ref being packed meanwhile is found in one or the other."""
    if (git_dir / "reftable").exists():
        return None
    values: dict[str, str] = {}
    try:
        for pattern in patterns:
            if not _loose_refs(git_dir, pattern, values):
                return None
        packed = _packed_refs(git_dir)
    except (OSError, UnicodeDecodeError):
        return None
    if packed is None:
        return None
    for name, oid in packed.items():
        if any(name.startswith(p) if p.endswith("/") else name == p for p in patterns):
            values.setdefault(name, oid)  # a loose ref is the newer value
    return values


def _loose_refs(git_dir: Path, pattern: str, values: dict[str, str]) -> bool:
    top = git_dir / pattern
    if not pattern.endswith("/"):
        files = [(pattern, top)] if os.path.lexists(top) else []
    else:
        if not os.path.lexists(top):
            return True
        if top.is_symlink() or not top.is_dir():
            raise _damaged_refs(pattern, "is not a folder")
        files = []
        for folder, folders, names in os.walk(top):
            for entry in folders:
                if Path(folder, entry).is_symlink():  # git would follow it anywhere
                    raise _damaged_refs(f"{pattern}{entry}", "is a link")
            relative = os.path.relpath(folder, git_dir).replace(os.sep, "/")
            files += [(f"{relative}/{name}", Path(folder, name)) for name in names]
    for name, path in files:
        if name.endswith(".lock"):
            continue  # a ref update in progress (or a killed one): not a ref name git allows
        if not _plain_ref_name(name):
            return False
        if path.is_symlink() or not path.is_file():  # a FIFO would hang git's read of it
            raise _damaged_refs(name, "is a link" if path.is_symlink() else "is not a file")
        size = path.stat().st_size
        if size > _MAX_LOOSE_REF:  # not a ref git wrote: never read it whole
            raise _damaged_refs(name, f"is not a ref ({size} bytes)")
        data = path.read_bytes()
        if data.startswith(b"ref:"):
            # No fetch into a mirror writes one, and a fetch leaves it in place: the branch
            # it names would keep its old commit for good.
            raise _damaged_refs(name, "is a symbolic ref")
        if _LOOSE_REF.fullmatch(data) is None:
            return False  # a damaged ref: git says what it is
        values[name] = data[:40].decode()
    return True


def _damaged_refs(name: str, why: str) -> GitCorrupt:
    """A mirror's ref files hold something no git fetch writes: the cache is damaged."""
    return GitCorrupt("for-each-ref", 1, f"fatal: {name} {why}")


def _packed_refs(git_dir: Path) -> dict[str, str] | None:
    path = git_dir / "packed-refs"
    if not os.path.lexists(path):
        return {}
    if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_PACKED_REFS:
        return None  # git reads a packed-refs file that large by mapping it
    values: dict[str, str] = {}
    for line in path.read_bytes().decode().splitlines():
        if line.startswith("#") or (line.startswith("^") and _HEX40.fullmatch(line[1:])):
            continue  # the traits header, and the commit a tag above peels to
        match = _PACKED_REF.fullmatch(line)
        if match is None or not _plain_ref_name(match.group(2)):
            return None
        values[match.group(2)] = match.group(1)
    return values


def _plain_ref_name(name: str) -> bool:
    parts = name.split("/")
    return all(
        _PLAIN_REF_PART.fullmatch(part) and not part.endswith((".", ".lock")) and ".." not in part
        for part in parts
    )


def list_refs(git_dir: Path, patterns: Sequence[str]) -> list[RefRecord]:
    """Refs under `patterns` (e.g. "refs/tags/"), with annotated tags peeled to their commit."""
    fmt = "%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname)"
    out = run_git(["for-each-ref", f"--format={fmt}", *patterns], git_dir=git_dir).stdout
    records = []
    for line in out.decode(errors="replace").splitlines():
        kind, oid, peeled_kind, peeled, name = _split_ref_line(line)
        if kind == "commit":
            records.append(RefRecord(name, Commit(oid)))
        elif kind == "tag" and peeled_kind == "commit":
            records.append(RefRecord(name, Commit(peeled)))
        elif kind == "tag":  # a tag of a tag, or a tag of a tree: let git peel it fully
            records.append(RefRecord(name, peel_to_commit(git_dir, oid)))
        else:
            records.append(RefRecord(name, None))
    return records


def _split_ref_line(line: str) -> tuple[str, str, str, str, str]:
    # Empty %(*...) fields for non-tags collapse to spaces; the ref name is always last.
    kind, oid, rest = line.split(" ", 2)
    peeled_kind, peeled, name = rest.split(" ", 2)
    return kind, oid, peeled_kind, peeled, name


def peel_to_commit(git_dir: Path, name: str) -> Commit | None:
    """The commit `name` (an object id or full ref name) points at, or None."""
    result = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"],
        git_dir=git_dir,
        check=False,
    )
    return Commit(result.stdout.decode().strip()) if result.returncode == 0 else None


def resolve_commit_prefix(git_dir: Path, prefix: str) -> tuple[Commit | None, bool]:
    """(commit, ambiguous) for a hex prefix of a commit id present in `git_dir`."""
    result = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{prefix}^{{commit}}"],
        git_dir=git_dir,
        check=False,
    )
    if result.returncode == 0:
        return Commit(result.stdout.decode().strip()), False
    return None, "ambiguous" in result.stderr


def is_ancestor(git_dir: Path, ancestor: Commit, descendant: Commit) -> bool:
    """True when `ancestor` is reachable from `descendant` (or equal to it)."""
    result = run_git(
        ["merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant],
        git_dir=git_dir,
        check=False,
    )
    if result.returncode in (0, 1):
        return result.returncode == 0
    raise classify("merge-base", result.returncode, result.stderr)


def commit_subjects(
    git_dir: Path, old: Commit, new: Commit, path: str, *, limit: int
) -> list[tuple[Commit, str]]:
    """(commit, subject) of the commits after `old` up to `new` that touched `path`, newest
    first, at most `limit`. The path is read literally, never as pathspec magic."""
    result = run_git(
        [
            "--literal-pathspecs",
            "log",
            f"--max-count={limit}",
            "--format=%H%x00%s",
            "--no-decorate",
            "--no-color",
            "--end-of-options",
            f"{old}..{new}",
            "--",
            path,
        ],
        git_dir=git_dir,
    )
    found: list[tuple[Commit, str]] = []
    for line in result.stdout.decode("utf-8", errors="replace").splitlines():
        commit, _, subject = line.partition("\x00")
        found.append((Commit(commit), subject))
    return found


def file_at_revision(work_dir: Path, revision: str, name: str) -> bytes | None:
    """The bytes of file `name` (relative to `work_dir`) at `revision` of the git repository
    holding `work_dir`; None when that commit has no such file. A revision that names no
    commit is a GitUnknownRef."""
    found = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
        cwd=work_dir,
        check=False,
    )
    if found.returncode != 0:
        if "not a git repository" in found.stderr:
            raise GitError("rev-parse", found.returncode, found.stderr)
        raise GitUnknownRef("rev-parse", found.returncode, found.stderr, revision)
    commit = found.stdout.decode().strip()
    prefix = run_git(["rev-parse", "--show-prefix"], cwd=work_dir).stdout.decode().strip()
    shown = run_git(["cat-file", "blob", f"{commit}:{prefix}{name}"], cwd=work_dir, check=False)
    return shown.stdout if shown.returncode == 0 else None


def head_commit(git_dir: Path) -> Commit | None:
    """The commit HEAD of `git_dir` points at, or None (unborn, or git cannot tell).

    Plumbing on the git directory only: no work tree, so no filter or hook can run.
    """
    result = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", "HEAD^{commit}"],
        git_dir=git_dir,
        check=False,
    )
    text = result.stdout.decode(errors="replace").strip()
    return Commit(text) if result.returncode == 0 and is_full_commit(text) else None


_Answer = TypeVar("_Answer", bound=tuple[Any, ...])


class ObjectReader:
    """One long-lived `git cat-file --batch` per repository (GitPython's persistent command).

    Thread-safe, and restarted once if the process died (e.g. the mirror was rebuilt).
    """

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self._git: git.Git | None = None
        self._lock = threading.Lock()

    def read(self, name: str) -> tuple[str, bytes] | None:
        """(type, content) of the object `name` (an id or `<commit>:<path>`), or None if missing."""
        found = self._ask(name, lambda client: client.get_object_data(name))
        return None if found is None else (_text(found[1]), found[3])

    def commit_of(self, oid: str) -> str | None:
        """The commit object `oid` is or peels to (through tags), or None (a tree, a blob,
        a missing object)."""
        found = self._ask(oid, lambda client: client.get_object_data(f"{oid}^{{commit}}"))
        return None if found is None else _text(found[0])

    def header(self, oid: str) -> tuple[str, int] | None:
        """(type, size) of object `oid` without reading its content (`cat-file --batch-check`),
        or None when it is missing or unreadable (git answers "missing" for a corrupt one)."""
        found = self._ask(oid, lambda client: client.get_object_header(oid))
        return None if found is None else (_text(found[1]), found[2])

    def _ask(self, name: str, request: Callable[[git.Git], _Answer]) -> _Answer | None:
        if "\n" in name or "\r" in name or not name:
            raise ValueError(f"invalid object name {name!r}")
        with self._lock:
            for attempt in (1, 2):
                try:
                    return request(self._client())
                except ValueError:  # GitPython's answer to `<name> missing` / `ambiguous`
                    return None
                except (OSError, EOFError) as error:  # the process died: start over once
                    self._stop()
                    if attempt == 2:
                        raise GitError("cat-file", -1, str(error)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _client(self) -> git.Git:
        if self._git is None:
            # GitPython runs `git version` on import and fails with a long ImportError
            # when git is missing: say so the way every other git call does.
            if shutil.which("git") is None:
                raise AgentsyncError("git was not found on PATH", hint=_INSTALL_GIT)
            import git  # GitPython; imported only when objects are read

            client = git.Git()
            client.set_persistent_git_options(git_dir=str(self.git_dir))
            client.update_environment(**_pinned_environment(self.git_dir))
            self._git = client
        return self._git

    @property
    def pid(self) -> int | None:
        """The process id of the running `git cat-file --batch`, if one is running."""
        command = getattr(self._git, "cat_file_all", None)
        proc = getattr(command, "proc", None)
        return getattr(proc, "pid", None)

    def close(self) -> None:
        """Stop the cat-file process (idempotent)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        client, self._git = self._git, None
        if client is not None:
            client.clear_cache()


def _text(kind: str | bytes) -> str:
    return kind.decode() if isinstance(kind, bytes) else kind


def _pinned_environment(git_dir: Path) -> dict[str, str]:
    """Overrides that make GitPython's child ignore repository variables we inherited.

    GitPython starts its children from a copy of os.environ and can add variables but not
    remove them, so each inherited GIT_* variable that `git_env()` would drop is pinned to a
    value that points at the mirror itself or means "nothing" (inside a git hook, GIT_DIR and
    GIT_OBJECT_DIRECTORY name the user's repository).
    """
    clean = git_env()
    pinned = {key: value for key, value in clean.items() if key.startswith("GIT_")}
    locations = {
        "GIT_DIR": str(git_dir),
        "GIT_COMMON_DIR": str(git_dir),
        "GIT_WORK_TREE": str(git_dir),
        "GIT_OBJECT_DIRECTORY": str(git_dir / "objects"),
        "GIT_INDEX_FILE": str(git_dir / "index"),
        "GIT_CONFIG_COUNT": "0",
    }
    for key in os.environ:
        if key.startswith("GIT_") and key not in clean:
            pinned[key] = locations.get(key, "")
    pinned["GIT_NO_REPLACE_OBJECTS"] = "1"
    return pinned


# --- helpers that need no mirror -------------------------------------------------------------


@contextlib.contextmanager
def _merge_inputs(texts: Sequence[bytes]) -> Iterator[tuple[list[str], list[int]]]:
    """Files git can read `texts` from: (paths, descriptors git must inherit).

    On Linux they are memory-only files (memfd) that git opens through /dev/fd, so a local
    edit is never copied to disk and a kill -9 leaves nothing behind. Elsewhere, or where
    memfd is refused, they are files in a private temporary folder, removed afterwards."""
    fds = _memory_files(texts)
    if fds is not None:
        try:
            yield [f"/dev/fd/{fd}" for fd in fds], fds
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="agentsync-merge-") as folder:
        paths = [Path(folder) / str(number) for number in range(len(texts))]
        for path, data in zip(paths, texts, strict=True):
            path.write_bytes(data)
        yield [str(path) for path in paths], []


def _memory_files(texts: Sequence[bytes]) -> list[int] | None:
    """One memfd holding each text, or None where memfd is missing or refused (a sandbox,
    an old kernel, another system)."""
    if not hasattr(os, "memfd_create") or not Path("/dev/fd").is_dir():
        return None
    fds: list[int] = []
    try:
        for data in texts:
            fds.append(os.memfd_create("agentsync-merge", os.MFD_CLOEXEC))
            _write_all(fds[-1], data)
    except OSError:
        for fd in fds:
            os.close(fd)
        return None
    return fds


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def merge_file(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    labels: tuple[str, str, str] = ("local", "pinned", "upstream"),
    markers: bool = True,
) -> tuple[bytes, bool]:
    """3-way merge with `git merge-file`: (merged bytes, had_conflicts).

    `labels` name ours, base and theirs in conflict markers. With `markers=False` a
    conflicting merge returns `ours` unchanged, so no marker can reach a file by accident.
    """
    ours_label, base_label, theirs_label = labels
    with _merge_inputs((ours, base, theirs)) as (paths, fds):
        result = run_git(
            [
                *("merge-file", "-p", "-L", ours_label, "-L", base_label, "-L", theirs_label),
                *("--", *paths),
            ],
            check=False,
            pass_fds=fds,
        )
    if result.returncode < 0 or result.returncode > 127:
        why = _first_line(result.stderr)
        named = zip(paths, ("local", "pinned", "upstream"), strict=True)
        for path, label in sorted(named, key=lambda pair: -len(pair[0])):
            why = why.replace(path, f"the {label} version")  # not a /dev/fd or temp path
        raise AgentsyncError(
            f"git merge-file could not merge the three versions: {why}",
            hint="merge the file by hand, or use --force to take the upstream version",
        )
    conflicts = result.returncode > 0
    if conflicts and not markers:
        return ours, True
    return result.stdout, conflicts
