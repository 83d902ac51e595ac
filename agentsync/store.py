"""The cache of bare git mirrors, one per source URL, shared by all projects."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from agentsync import vcs
from agentsync._fs import ReadersLock, file_lock
from agentsync.errors import AgentsyncError, NetworkError, SourceError
from agentsync.gitenv import REMOTE_HEAD, as_mirrored
from agentsync.ids import BlobId, Commit, full_commit
from agentsync.mirror_reader import REF_PATTERNS, MirrorReader
from agentsync.trees import TreeEntry
from agentsync.urls import Location, redact_text

__all__ = ["Mirror", "MirrorFetcher", "MirrorReader", "Store", "TreeEntry"]

PINNED_PREFIX = "refs/agentsync/commits/"  # commits fetched by id, kept reachable against gc
# Everything a mirror holds: all branches, all tags, and the remote's HEAD (its default branch).
FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
HEAD_REFSPEC = f"+HEAD:{REMOTE_HEAD}"

TIMEOUT_HINT = "check the network, or allow more time with --timeout SECONDS (or AGENTSYNC_TIMEOUT)"
OFFLINE_HINT = "run without --offline once to fill the cache"
HEARTBEAT_SECONDS = 5.0  # a fetch quiet for longer than this gets a `still fetching` line


class Store:
    """The mirror cache under `root`; `mirror()` hands out one Mirror per source."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        timeout: float = 60.0,
        offline: bool = False,
        lock_timeout: float | None = None,
        refresh: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root if root is not None else default_cache_dir()
        # Called with a short line as network work starts and ends; the CLI shows it on a TTY.
        self.progress = progress
        self.timeout = timeout
        self.offline = offline
        self.refresh = refresh  # `--refresh`: rebuild each mirror from scratch on first use
        # A waiter may sit behind a full network fetch by another process, and then some.
        self.lock_timeout = lock_timeout if lock_timeout is not None else max(120.0, 3 * timeout)
        self._mirrors: dict[str, Mirror] = {}
        # The manifest's name for each source, for progress lines: people know "team", not
        # the URL behind it (and a URL may be long or carry a path nobody recognises).
        self._labels: dict[str, str] = {}
        self._guard = threading.Lock()
        self._fetches_due = 0
        self._fetches_done = 0

    def mirror(self, location: Location, *, label: str | None = None) -> Mirror:
        """The Mirror for `location` (created on disk only when fetched); `label` is the
        name the manifest gives the source, shown in progress lines."""
        key = mirror_key(location)
        with self._guard:
            fresh = key not in self._mirrors
            if fresh:
                self._mirrors[key] = Mirror(self, location, key)
            if label is not None:
                self._labels.setdefault(key, label)
            mirror = self._mirrors[key]
        if fresh and self.refresh:
            mirror.rebuild()
        return mirror

    def prefetch(
        self,
        locations: Sequence[Location],
        *,
        missing_only: bool = False,
        compare_first: bool = False,
        on_done: Callable[[Location, AgentsyncError | None], None] | None = None,
    ) -> None:
        """Fetch several sources in parallel; raise the failure (or a combined one) at the end.

        `missing_only` (implied by offline) fetches only sources not in the cache yet;
        `compare_first` fetches only those whose advertised refs moved (see `Mirror.fetch`).
        """
        mirrors = list({m.key: m for m in map(self.mirror, locations)}.values())
        if not mirrors:
            return
        with self._guard:
            self._fetches_due += len(mirrors)

        def work(mirror: Mirror) -> AgentsyncError | None:
            try:
                if missing_only or self.offline:  # offline: whatever the cache holds will do
                    mirror.ensure()
                else:
                    mirror.fetch(compare_first=compare_first)
            except AgentsyncError as error:
                result: AgentsyncError | None = error
            else:
                result = None
            if on_done is not None:
                on_done(mirror.location, result)
            return result

        from concurrent.futures import ThreadPoolExecutor  # its import costs a warm run 4 ms

        # Ctrl-C reaches this thread only, and the pool would wait for its threads' gits.
        pool = ThreadPoolExecutor(max_workers=min(8, len(mirrors)))
        with pool, vcs.stopped_on_interrupt():
            errors = [e for e in pool.map(work, mirrors) if e is not None]
        if errors:
            raise _combine(errors)

    def label(self, mirror: Mirror) -> str:
        """How a progress line names the source: the manifest's name, else its safe URL."""
        with self._guard:
            return self._labels.get(mirror.key, mirror.name)

    def report_progress(self, mirror: Mirror, started: float | None) -> None:
        """One progress line: `fetching NAME ...` as it starts, then with `started` given,
        `fetched NAME (2/5, 1.3s)` (the count only when several run together)."""
        if self.progress is None:
            return
        name = self.label(mirror)
        if started is None:
            self.progress(f"fetching {name} ...")
            return
        with self._guard:
            self._fetches_done += 1
            count = (
                f"{min(self._fetches_done, self._fetches_due)}/{self._fetches_due}, "
                if self._fetches_due > 1
                else ""
            )
        self.progress(f"fetched {name} ({count}{time.monotonic() - started:.1f}s)")

    def close(self) -> None:
        """Stop every mirror's long-lived git process and let go of its readers lock."""
        self._stop_reading()

    def _stop_reading(self) -> None:
        # Called before any mirror's fetch lock is taken: a run never waits for a fetch lock
        # while it holds a readers lock, so a rebuild waiting for readers cannot deadlock.
        with self._guard:
            mirrors = list(self._mirrors.values())
        for mirror in mirrors:
            mirror.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def default_cache_dir() -> Path:
    """$AGENTSYNC_CACHE_DIR, else the platform's user cache folder for agentsync."""
    configured = os.environ.get("AGENTSYNC_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # local import: keeps `--help` fast

    return Path(platformdirs.user_cache_dir("agentsync"))


def mirror_key(location: Location) -> str:
    """`<readable slug>-<hash>`: one key per credential-free URL, or per absolute local path."""
    identity = location.git_url if location.kind == "path" else location.display
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    readable = re.sub(r"^[a-z0-9+.-]+://", "", identity.lower()).rstrip("/").removesuffix(".git")
    parts = [part for part in re.split(r"[/:]", readable.rpartition("@")[2]) if part]
    # Remote: host plus the last two path parts ("github.com-owner-repo"); local: the last two.
    keep = parts[-2:] if location.kind in ("path", "file") else parts[:1] + parts[1:][-2:]
    slug = re.sub(r"[^a-z0-9._]+", "-", "-".join(keep)).strip("-.")[:60]
    return f"{slug or 'source'}-{digest}"


def _combine(errors: list[AgentsyncError]) -> AgentsyncError:
    if len(errors) == 1:
        return errors[0]
    lines = "\n".join(f"  {e.subject or 'source'}: {e.message}" for e in errors)
    kind = NetworkError if all(isinstance(e, NetworkError) for e in errors) else SourceError
    return kind(f"{len(errors)} sources could not be fetched:\n{lines}", hint=errors[0].hint)


class Mirror:
    """One source's mirror as the use cases see it: `fetcher` keeps it present and current,
    `reader` (and `reader.refs`) read it; a read that needs the mirror makes it exist first."""

    def __init__(self, store: Store, location: Location, key: str) -> None:
        self.location = location
        self.key = key
        self.path = store.root / "mirrors" / f"{key}.git"
        # Shared by the reader from a run's first read until it closes the store; a rebuild
        # (which replaces the directory under open readers) takes it alone.
        readers = ReadersLock(store.root / "locks" / f"{key}.readers", location.display)
        self.reader = MirrorReader(
            self.path,
            location,
            readers,
            lock_timeout=store.lock_timeout,
            walk_timeout=store.timeout,
        )
        self.fetcher = MirrorFetcher(store, self, readers)

    @property
    def name(self) -> str:
        """The source as it may be shown: credential-free."""
        return self.location.display

    def fetch(self, *, again: bool = False, compare_first: bool = False) -> None:
        """Create or update the mirror (once per run unless `again`): see MirrorFetcher."""
        self.fetcher.fetch(again=again, compare_first=compare_first)

    def rebuild(self) -> None:
        """Drop this cache entry and fetch it again from scratch (`--refresh`)."""
        self.fetcher.rebuild()

    def ensure(self) -> None:
        """Fetch only when the mirror does not exist yet."""
        self.fetcher.ensure()

    def ensure_commit(self, commit: Commit) -> None:
        """Make sure `commit` is in the mirror: fetch it by id, or fall back to a full fetch."""
        self.fetcher.ensure_commit(commit)

    def resolve(self, ref: str | None) -> Commit:
        """The commit for a branch, tag, full or short commit id; None means the remote HEAD."""
        self.ensure()
        commit = self.reader.refs.resolve(ref)
        if ref is not None and full_commit(ref) == commit:
            self.ensure_commit(commit)  # named by its id: maybe not fetched yet
        return commit

    def tags(self) -> dict[str, Commit]:
        """Tag name -> the commit it points at (annotated tags peeled)."""
        self.ensure()
        return self.reader.refs.tags()

    def branches(self) -> dict[str, Commit]:
        """Branch name -> commit."""
        self.ensure()
        return self.reader.refs.branches()

    def has_commit(self, commit: Commit) -> bool:
        """True when the mirror exists and holds `commit` (never fetches)."""
        return self.reader.has_commit(commit)

    def is_ancestor(self, ancestor: Commit, descendant: Commit) -> bool:
        """True when `ancestor` is `descendant` or one of its ancestors."""
        return self.reader.is_ancestor(ancestor, descendant)

    def subjects(
        self, old: Commit, new: Commit, path: str, limit: int = 20
    ) -> list[tuple[Commit, str]]:
        """The commits after `old` up to `new` that changed `path` (never fetches)."""
        return self.reader.subjects(old, new, path, limit)

    def list_files(
        self,
        commit: Commit,
        path: str | None = None,
        *,
        skip_folders: Iterable[str] = (),
        want: Callable[[str], bool] | None = None,
    ) -> list[TreeEntry]:
        """The files of `commit` below `path`: see MirrorReader.list_files."""
        self.ensure()
        return self.reader.list_files(commit, path, skip_folders=skip_folders, want=want)

    def blob_at(self, commit: Commit, path: str) -> BlobId | None:
        """The blob of the regular file at `path` in `commit`, or None."""
        self.ensure()
        return self.reader.blob_at(commit, path)

    def read_blob(self, blob: BlobId) -> bytes:
        """The content of a blob (never fetches)."""
        return self.reader.read_blob(blob)

    def read_path(self, commit: Commit, path: str) -> bytes | None:
        """The content of the file at `path` in `commit`, or None when there is no such blob."""
        self.ensure()
        return self.reader.read_path(commit, path)

    def close(self) -> None:
        """Stop the mirror's cat-file process and release its readers lock (both are taken
        again on the next read)."""
        self.reader.close()


class MirrorFetcher:
    """A mirror's fetch lifecycle: built in a staging folder and renamed into place, fetched
    under its file lock, rebuilt when damaged, swapped only while no other run reads it."""

    def __init__(self, store: Store, mirror: Mirror, readers: ReadersLock) -> None:
        self.store = store
        self.location = mirror.location
        self.name = mirror.name
        self._mirror = mirror
        self.key = mirror.key
        self.path = mirror.path
        self.reader = mirror.reader
        self._readers = readers
        self._lock_path = store.root / "locks" / f"{mirror.key}.lock"
        self.fetched = False  # fetched (or created) during this Store's lifetime
        self.present = False  # seen on disk during this Store's lifetime

    def fetch(self, *, again: bool = False, compare_first: bool = False) -> None:
        """Create the mirror if missing, else update it: all branches, tags and the remote HEAD.

        A Store is one run: once a mirror was fetched in it, later calls return at once
        unless `again` is true (several agents of one source cost one fetch).

        `compare_first` asks the remote what it advertises (`git ls-remote`, one round trip
        that sends no objects) and fetches only when that differs from the mirror's refs:
        for a run that only looks (`outdated`), most sources have not moved.
        """
        if self.fetched and not again:
            return
        self._require_online("cannot fetch: --offline was given")
        with self._reported(), self._locked():
            if not (compare_first and self._advertises_what_we_hold()):
                self._fetch_locked()
        self.reader.forget_refs()
        self.fetched = True

    def _advertises_what_we_hold(self) -> bool:
        """True when the remote's branches, tags and HEAD are exactly the mirror's."""
        if not vcs.looks_like_git_dir(self.path):
            return False
        try:
            held = vcs.ref_files(self.path, REF_PATTERNS)
            if held is None:
                held = vcs.ref_values(self.path, REF_PATTERNS)
        except vcs.GitError:
            return False  # a damaged mirror: the fetch path rebuilds it
        advertised = vcs.ls_remote(self.location.git_url, timeout=self.store.timeout)
        return as_mirrored(advertised) == held

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        """Progress around network work: a line as it starts, `still fetching` every few
        seconds while it lasts, and one with the count and time taken once it succeeded."""
        store = self.store
        if store.progress is None:
            yield
            return
        started = time.monotonic()
        store.report_progress(self._mirror, None)
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(HEARTBEAT_SECONDS):
                if store.progress is not None:
                    took = time.monotonic() - started
                    store.progress(f"still fetching {store.label(self._mirror)} ({took:.0f}s)")

        ticker = threading.Thread(target=heartbeat, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
        store.report_progress(self._mirror, started)

    def rebuild(self) -> None:
        """Drop this cache entry and fetch it again from scratch (`--refresh`): the way out
        of a damaged or tampered mirror."""
        self._require_online("cannot rebuild the cache entry: --offline was given")
        with self._locked():
            self._create_locked()
        self.reader.forget_objects()
        self.reader.forget_refs()
        self.fetched = True

    def ensure(self) -> None:
        """Fetch only when the mirror does not exist yet."""
        if self.present or vcs.looks_like_git_dir(self.path):
            # asked before every file read: once seen, a mirror stays for the run (a
            # rebuild renames a new one into place)
            self.present = True
            return
        self._require_online("not in the cache, and --offline forbids fetching it")
        with self._reported(), self._locked():
            if not vcs.looks_like_git_dir(self.path):
                self._create_locked()
        self.reader.forget_refs()

    def ensure_commit(self, commit: Commit) -> None:
        """Make sure `commit` is in the mirror: fetch it by id, or fall back to a full fetch."""
        if self.reader.has_commit(commit):
            return
        self._require_online(
            f"commit {commit} is not in the cache, and --offline forbids fetching it"
        )
        with self._reported(), self._locked():
            if not vcs.looks_like_git_dir(self.path):
                self._create_locked()
            if not self.reader.has_object(commit):
                self._fetch_commit_locked(commit)
        self.reader.forget_refs()
        if not self.reader.has_commit(commit):
            raise SourceError(
                f"commit {commit} is not in the repository",
                hint="it may have been force-pushed away; `agentsync update` pins a new commit",
                subject=self.name,
            )

    def _fetch_locked(self) -> None:
        if not vcs.looks_like_git_dir(self.path) or vcs.repository_problem(self.path) is not None:
            self._create_locked()
            return
        _clear_stale_git_locks(self.path)
        try:
            self._fetch_all(self.path)
        except vcs.GitCorrupt:
            self._create_locked()  # rebuilt once; a second failure is reported as is

    def _fetch_commit_locked(self, commit: Commit) -> None:
        _clear_stale_git_locks(self.path)
        try:
            self._git_fetch(self.path, [f"+{commit}:{PINNED_PREFIX}{commit}"], prune=False)
        except vcs.GitTimeout:
            raise
        except vcs.GitError:
            # The server refuses unadvertised objects: take everything and look again.
            self._fetch_all(self.path)
            if self.reader.has_object(commit):
                vcs.run_git(
                    ["update-ref", "--end-of-options", f"{PINNED_PREFIX}{commit}", commit],
                    git_dir=self.path,
                )

    def _create_locked(self) -> None:
        """Build a fresh mirror in a staging folder, then rename it into place."""
        _check_local_source(self.location)
        tmp_root = self.store.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(tmp_root, self.key)
        staging = Path(tempfile.mkdtemp(prefix=f"{self.key}.", dir=tmp_root))
        try:
            vcs.init_bare(staging)
            self._fetch_all(staging, first=True)
            self.reader.close()  # a reader on the old (corrupt) mirror must not outlive it
            with self._replacing():
                trash = _discard_existing(self.path, tmp_root, self.key)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(self.path)
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
            self.fetched = True
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextlib.contextmanager
    def _replacing(self) -> Iterator[None]:
        """Hold the readers lock alone while an existing mirror directory is swapped: other
        runs' `cat-file` processes read objects from the old one until they close."""
        if not os.path.lexists(self.path):
            yield
            return
        with self._readers.exclusive(self.store.lock_timeout):
            yield

    def _fetch_all(self, git_dir: Path, *, first: bool = False) -> None:
        try:
            self._git_fetch(git_dir, [*FETCH_REFSPECS, HEAD_REFSPEC], prune=True, first=first)
        except vcs.GitUnknownRef as error:
            if error.ref != "HEAD":
                raise
            # An empty remote or one with a dangling HEAD: branches and tags still count.
            self._git_fetch(git_dir, list(FETCH_REFSPECS), prune=True, first=first)
            vcs.run_git(["update-ref", "-d", REMOTE_HEAD], git_dir=git_dir, check=False)

    def _git_fetch(
        self, git_dir: Path, refspecs: list[str], *, prune: bool, first: bool = False
    ) -> None:
        url, timeout = self.location.git_url, self.store.timeout
        vcs.fetch(git_dir, url, refspecs, timeout=timeout, prune=prune, keep_pack=first)

    def _require_online(self, message: str) -> None:
        if self.store.offline:
            raise NetworkError(message, hint=OFFLINE_HINT, subject=self.name)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the mirror's file lock; git's failures under it become AgentsyncErrors."""
        self.store._stop_reading()  # never wait for a fetch lock holding a readers lock
        try:
            with file_lock(self._lock_path, timeout=self.store.lock_timeout, what=self.name):
                yield
        except vcs.GitError as error:
            raise _git_failure(error, self.location, self.store.root) from None
        except OSError as error:
            raise _cache_error(self.store.root, str(error), self.name) from None


# --- the mirror's folder, under its lock ----------------------------------------------------


def _discard_existing(path: Path, tmp_root: Path, key: str) -> Path | None:
    if not os.path.lexists(path):
        return None
    trash = Path(tempfile.mkdtemp(prefix=f"{key}.old.", dir=tmp_root))
    path.rename(trash / "mirror")
    return trash


def _remove_stale_staging(tmp_root: Path, key: str) -> None:
    # Staging folders for this key are only made under this key's lock, which we hold:
    # any still there belong to a run that was killed.
    for leftover in tmp_root.glob(f"{key}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _clear_stale_git_locks(path: Path) -> None:
    # We hold the mirror's lock, so git lock files in it were left by a killed fetch;
    # left alone they would fail every later fetch with "Unable to create ... .lock".
    candidates = [
        *path.glob("*.lock"),
        *(path / "refs").rglob("*.lock"),
        *(path / "objects" / "info").glob("*.lock"),
        *(path / "objects" / "pack").glob("*.lock"),
    ]
    for stale in candidates:
        with contextlib.suppress(OSError):
            stale.unlink()


def _check_local_source(location: Location) -> None:
    if location.kind != "path":
        return
    path = Path(location.git_url)
    if not path.is_dir():
        raise SourceError(
            f"the local source folder {path} does not exist",
            hint="fix the path in agentsync.toml (relative to the manifest's folder)",
            subject=location.display,
        )
    if vcs.local_git_dir(path) is None:
        raise SourceError(
            f"{path} is not a git repository (agentsync pins commits: sources must be repos)",
            hint=f"run `git init` and commit the agents in {path}",
            subject=location.display,
        )


# --- git's failures, as the user reads them -----------------------------------------------------


def _git_failure(error: vcs.GitError, location: Location, root: Path) -> SourceError:
    """What a git command that failed under a mirror's lock means for the source; the
    message is redacted here, where it is built (git's stderr may hold the URL's password)."""
    name = location.display
    # ls-remote asks the remote as a fetch does (whether its refs moved): the same words
    asked = "fetch" if error.command == "ls-remote" else error.command
    if isinstance(error, vcs.GitTimeout):
        return NetworkError(
            f"{asked} timed out after {error.seconds:g}s", hint=TIMEOUT_HINT, subject=name
        )
    detail = redact_text(error.detail, location.git_url)
    if asked != "fetch":  # init, update-ref: the cache folder itself failed
        return _cache_error(root, detail, name)
    message = f"could not fetch: {detail or 'git fetch failed'}"
    if isinstance(error, vcs.GitAuthFailed):
        return NetworkError(
            message,
            hint=f"check that `git ls-remote {name}` works in your shell "
            "(credentials, SSH keys); agentsync never prompts"
            + (
                "; in CI, a token in GH_TOKEN or GITHUB_TOKEN is sent to github.com and to "
                "the hosts named in AGENTSYNC_TOKEN_HOSTS"
                if location.kind == "https"
                else ""
            ),
            subject=name,
        )
    if isinstance(error, vcs.GitNotFound):
        return SourceError(
            message,
            hint="check the URL; for a private repository check your git credentials",
            subject=name,
        )
    return NetworkError(
        message,
        hint=f"check the URL and the network; `git ls-remote {name}` shows git's view",
        subject=name,
    )


def _cache_error(root: Path, detail: str, subject: str) -> SourceError:
    return SourceError(
        f"the cache at {root} is not usable: {detail}",
        hint="check its permissions and free space, or point AGENTSYNC_CACHE_DIR elsewhere",
        subject=subject,
    )
