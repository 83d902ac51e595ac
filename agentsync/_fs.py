"""File-system primitives: atomic writes, file locks, and the fault-injection hook."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from agentsync.errors import BusyError, StorageError

# Crash-safety tests set AGENTSYNC_FAULT_AFTER_WRITES=N: the process kills itself (SIGKILL,
# no cleanup) right after the N-th atomic write of this run. Never set in normal use.
_FAULT_ENV = "AGENTSYNC_FAULT_AFTER_WRITES"
_writes_done = 0

TEMP_SUFFIX = ".agentsync-tmp"  # never ends in `.md`: Claude Code loads every *.md it finds


def _maybe_fault() -> None:
    global _writes_done  # noqa: PLW0603 - process-wide counter is the point
    limit = os.environ.get(_FAULT_ENV)
    if not limit:
        return
    _writes_done += 1
    if _writes_done >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    staging: Path | None = None,
    durable: bool = True,
) -> None:
    """Write `data` to `path` through a temp file and an atomic rename (synced to disk
    first unless `durable` is false: for caches, which a crash may lose or cut).

    The temp file goes in `staging` when that folder is on the same file system as `path`
    (a rename cannot cross file systems), else next to `path`. Agent files are staged in
    `.agentsync/tmp/`: Claude Code loads every `*.md` below the target folder, so no
    temporary file may sit there, not even one a killed run leaves behind.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = _staging_folder(staging, path.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=folder)
    except OSError as error:
        raise storage_error("write", path, error) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        tmp.chmod(mode if mode is not None else 0o644)
        tmp.replace(path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(error, OSError):
            raise storage_error("write", path, error) from None
        raise
    if durable:
        _sync_dir_later(path.parent)
    _maybe_fault()


def atomic_write_many(writes: Sequence[tuple[Path, bytes]], *, staging: Path | None) -> None:
    """`atomic_write` of many files with one sync to disk instead of one per file: every temp
    file is written, then all are synced at once, then each is renamed into place. A crash
    leaves each path with its old or its new bytes, never a part, exactly as one by one.

    Each folder is opened once and the files are named relative to it: a thousand files cost
    a thousand short lookups, not a thousand walks of the whole path."""
    temps: list[tuple[_Folders, str, str]] = []  # (its folders, temp name, final name)
    folders: dict[Path, _Folders] = {}  # each target folder, made and opened once
    current = writes[0][0] if writes else Path()
    mode = _created_mode()
    done = 0  # temps renamed into place so far
    try:
        for path, data in writes:
            current = path
            where = folders.get(path.parent)
            if where is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                where = folders[path.parent] = _Folders(
                    path.parent, _staging_folder(staging, path.parent)
                )
            name = path.name
            tmp, fd = _new_temp(name, dir_fd=where.staging_fd)
            temps.append((where, tmp, name))
            try:
                if mode != 0o644:
                    os.fchmod(fd, 0o644)  # exactly this mode, whatever the umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        _sync_all({where.staging_fd for where in folders.values()}, temps)
        for where, tmp, name in temps:
            current = where.target / name
            os.replace(tmp, name, src_dir_fd=where.staging_fd, dst_dir_fd=where.target_fd)
            done += 1
            _sync_dir_later(where.target)
            _maybe_fault()
    except BaseException as error:
        for where, tmp, _name in temps[done:]:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=where.staging_fd)
        if isinstance(error, OSError):
            raise storage_error("write", current, error) from None
        raise
    finally:
        for where in folders.values():
            where.close()


class _Folders:
    """A target folder and the folder its temp files go in, each open once."""

    def __init__(self, target: Path, staging: Path) -> None:
        self.target, self.staging = target, staging
        self.target_fd = os.open(target, _O_DIRECTORY)
        try:
            self.staging_fd = (
                self.target_fd if staging == target else os.open(staging, _O_DIRECTORY)
            )
        except BaseException:
            os.close(self.target_fd)
            raise

    def close(self) -> None:
        if self.staging_fd != self.target_fd:
            os.close(self.staging_fd)
        os.close(self.target_fd)


_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC
_temp_serial = itertools.count()


def _new_temp(name: str, *, dir_fd: int) -> tuple[str, int]:
    """A new temp file for `name` in the folder open as `dir_fd` that no one else has
    (O_EXCL), open for writing, named so that `clean_stale_temps` finds it after a crash.
    Its name comes back relative to the folder."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    pid = os.getpid()
    while True:
        tmp = f".{name}.{pid}-{next(_temp_serial)}{TEMP_SUFFIX}"
        try:
            return tmp, os.open(tmp, flags, 0o644, dir_fd=dir_fd)
        except FileExistsError:
            continue  # left by a killed run that had this process id


def _created_mode() -> int:
    """The mode a file created with 0o644 gets under this process's umask (read without
    changing it: a thread spawning git meanwhile would inherit a changed one)."""
    try:
        with Path("/proc/self/status").open("rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return 0o644 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return -1  # unknown: set the mode of each file


def _sync_all(folder_fds: set[int], temps: Sequence[tuple[_Folders, str, str]]) -> None:
    """Bring the data of the temp files to disk: one syncfs of their file system where the
    system has it (one journal commit instead of one per file), else an fsync of each."""
    if not temps:
        return
    syncfs = _syncfs()
    if syncfs is not None and all(syncfs(fd) == 0 for fd in folder_fds):
        return
    for where, tmp, _name in temps:
        fd = os.open(tmp, os.O_RDONLY | _O_CLOEXEC, dir_fd=where.staging_fd)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return call


def storage_error(action: str, path: Path, error: OSError) -> StorageError:
    """A clear error for a failed read or write of `path` (no traceback, a way out)."""
    reason = error.strerror or str(error)
    if isinstance(error, NotRegularFile):
        hint = f"{path} is a folder, FIFO or device where a file belongs: move it"
    elif error.errno == errno.ENOSPC:
        hint = "free some disk space and run again: rerunning finishes the interrupted work"
    elif error.errno == errno.EFBIG:
        hint = "the file size limit (ulimit -f) is too small; raise it and run again"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"check the permissions of {path.parent}"
    elif error.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
        hint = f"something that is not a folder (or not a file) is in the way at {path}: move it"
    else:
        hint = "fix the cause and run again: rerunning finishes the interrupted work"
    return StorageError(f"could not {action}: {reason}", hint=hint, subject=str(path))


class NotRegularFile(OSError):
    """A path that is a folder, FIFO, socket or device where a plain file was expected."""


def read_regular(path: Path, limit: int, *, follow: bool = True) -> bytes | None:
    """The first `limit + 1` bytes of the regular file at `path` (symlinks followed unless
    `follow` is false), or None when nothing is there (a dangling symlink included).

    Never reads more: a planted `x.md -> /dev/zero`, a FIFO (which would block forever) or a
    4 GiB file must not cost memory or time; those raise NotRegularFile or come back cut
    short, one byte past the limit, so the caller can tell that the file is too large.
    """
    try:
        info = path.stat() if follow else path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the stat above
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class TooLarge(OSError):
    """A file larger than what agentsync will read of it."""


def read_small(path: Path, limit: int) -> bytes | None:
    """The whole regular file at `path` when it holds at most `limit` bytes, None when it is
    not there; OSError (NotRegularFile, TooLarge) for anything else. A manifest or lock
    planted as a FIFO or a link to /dev/zero must not hang a run or fill its memory."""
    data = read_regular(path, limit)
    if data is not None and len(data) > limit:
        raise TooLarge(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
    return data


def real_dir(path: Path, what: str, *, create: bool = True) -> Path:
    """Create `path` as a folder (parents too) and refuse anything else there, a symlink
    included: agentsync writes and deletes inside it, so it must not lead elsewhere.
    `create=False` only refuses what is there (a plan that may write nothing)."""
    if not create:
        if not os.path.lexists(path):
            return path
    else:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            pass
        except OSError as error:
            raise storage_error("create the folder", path, error) from None
    if path.is_symlink() or not path.is_dir():
        kind = "a symlink" if path.is_symlink() else "not a folder"
        raise StorageError(
            f"{what} is {kind}",
            hint=f"agentsync keeps its files only in a real folder: remove or rename {path}",
            subject=str(path),
        )
    return path


def _staging_folder(staging: Path | None, fallback: Path) -> Path:
    if staging is None:
        return fallback
    try:
        staging.mkdir(parents=True, exist_ok=True)
        if staging.stat().st_dev == fallback.stat().st_dev:
            return staging
    except OSError:
        pass
    return fallback


# Inside `batched_dir_sync()`, the folder fsync after each rename is deferred: one fsync per
# folder instead of one per file. Pending folders are synced before a write lands in another
# folder, so the lock (written last, elsewhere) never reaches disk before the agent files do.
_pending_dirs: list[Path] | None = None


def _sync_dir_later(folder: Path) -> None:
    if _pending_dirs is None:
        _fsync_dir(folder)
        return
    _flush_pending(except_for=folder)
    if folder not in _pending_dirs:
        _pending_dirs.append(folder)


def _flush_pending(except_for: Path | None = None) -> None:
    if not _pending_dirs:
        return
    for folder in [d for d in _pending_dirs if d != except_for]:
        _fsync_dir(folder)
        _pending_dirs.remove(folder)


@contextlib.contextmanager
def batched_dir_sync() -> Iterator[None]:
    """Defer per-file folder fsyncs to one per folder for the writes inside this block."""
    global _pending_dirs  # noqa: PLW0603 - one batch per process at a time
    if _pending_dirs is not None:
        yield
        return
    _pending_dirs = []
    try:
        yield
    finally:
        _flush_pending()
        _pending_dirs = None


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically write `data` unless `path` already holds exactly those bytes."""
    try:
        if read_regular(path, len(data)) == data:
            return False
    except OSError as error:
        raise storage_error("read", path, error) from None
    atomic_write(path, data)
    return True


def atomic_delete(path: Path) -> bool:
    """Remove `path` if present (a single unlink is atomic); True if it was there."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise storage_error("delete", path, error) from None
    _sync_dir_later(path.parent)
    _maybe_fault()
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_stale_temps(folder: Path) -> None:
    """Remove temp files an interrupted run left behind in `folder` (not recursive)."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()


@contextlib.contextmanager
def file_lock(path: Path, *, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if needed), waiting up to `timeout` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        # filelock opens with O_TRUNC: through a symlink it would empty the file it names.
        raise StorageError(
            f"this lock file is {'a symlink' if path.is_symlink() else 'not a file'}",
            hint=f"remove {path}; agentsync creates it as a plain file",
            subject=str(path),
        )
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _portable_lock(path, timeout=timeout, what=what):
            yield
        return
    # flock, as filelock takes it on this system (so both exclude each other), without
    # loading filelock: its import costs more than a whole no-op install.
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o644)
    except OSError as error:
        raise storage_error("lock", path, error) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"another agentsync run has held the lock on {what} for over {timeout:g}s",
                        hint=f"wait for it to finish, or remove {path} if no agentsync "
                        "process is running",
                        subject=what,
                    ) from None
                time.sleep(0.02)
            except OSError as error:
                raise storage_error("lock", path, error) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the lock


@contextlib.contextmanager
def _portable_lock(path: Path, *, timeout: float, what: str) -> Iterator[None]:
    import filelock

    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout as exc:
        raise BusyError(
            f"another agentsync run has held the lock on {what} for over {timeout:g}s",
            hint=f"wait for it to finish, or remove {path} if no agentsync process is running",
            subject=what,
        ) from exc
    except OSError as error:
        raise storage_error("lock", path, error) from None
    try:
        yield
    finally:
        lock.release()


class ReadersLock:
    """A lock that many readers share and one writer takes alone (`flock` on `path`).

    Where the platform has no `flock` (Windows), readers and the writer all take the same
    exclusive lock instead: slower when runs overlap, never wrong.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._fd: int | None = None
        self._fallback: contextlib.ExitStack | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._fallback is not None

    def acquire_shared(self, timeout: float) -> None:
        """Share the lock (a no-op when already held), waiting up to `timeout` for a writer."""
        if self.held:
            return
        busy = f"another agentsync run has been replacing {self.what} for over {timeout:g}s"
        self._acquire(shared=True, timeout=timeout, busy=busy)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
        fallback, self._fallback = self._fallback, None
        if fallback is not None:
            fallback.close()

    @contextlib.contextmanager
    def exclusive(self, timeout: float) -> Iterator[None]:
        """Hold the lock alone: wait up to `timeout` for every reader to let go."""
        busy = f"other agentsync runs have been reading {self.what} for over {timeout:g}s"
        self._acquire(shared=False, timeout=timeout, busy=busy)
        try:
            yield
        finally:
            self.release()

    def _acquire(self, *, shared: bool, timeout: float, busy: str) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            stack = contextlib.ExitStack()
            stack.enter_context(file_lock(self.path, timeout=timeout, what=self.what))
            self._fallback = stack
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise BusyError(
                        busy, hint="wait for them to finish and run again", subject=self.what
                    ) from None
                time.sleep(0.02)
            except BaseException:
                os.close(fd)
                raise
            else:
                self._fd = fd
                return
