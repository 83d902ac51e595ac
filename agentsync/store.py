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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agentsync import trees, vcs
from agentsync._fs import ReadersLock, file_lock
from agentsync.errors import AgentsyncError, NetworkError, SourceError
from agentsync.ids import BlobId, Commit, full_commit, is_full_commit
from agentsync.trees import TreeEntry
from agentsync.urls import Location, redact_text

__all__ = ["Mirror", "Store", "TreeEntry"]

# Everything a mirror holds: all branches, all tags, and the remote's HEAD (its default branch).
REMOTE_HEAD = "refs/agentsync/HEAD"
PINNED_PREFIX = "refs/agentsync/commits/"  # commits fetched by id, kept reachable against gc
FETCH_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
HEAD_REFSPEC = f"+HEAD:{REMOTE_HEAD}"

TIMEOUT_HINT = "check the network, or allow more time with --timeout SECONDS (or AGENTSYNC_TIMEOUT)"
OFFLINE_HINT = "run without --offline once to fill the cache"
DAMAGED_HINT = "the cache may be damaged: run again with --refresh to rebuild it"
PATH_HINT = (
    "set `path` for this source in agentsync.toml to the folder (or glob) that holds its "
    'agents, e.g. path = "agents"'
)
_SHORT_COMMIT = re.compile(r"^[0-9a-fA-F]{4,39}$")


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
        self._guard = threading.Lock()

    def mirror(self, location: Location) -> Mirror:
        """The Mirror for `location` (created on disk only when fetched)."""
        key = mirror_key(location)
        with self._guard:
            fresh = key not in self._mirrors
            if fresh:
                self._mirrors[key] = Mirror(self, location, key)
            mirror = self._mirrors[key]
        if fresh and self.refresh:
            mirror.rebuild()
        return mirror

    def prefetch(
        self,
        locations: Sequence[Location],
        *,
        missing_only: bool = False,
        on_done: Callable[[Location, AgentsyncError | None], None] | None = None,
    ) -> None:
        """Fetch several sources in parallel; raise the failure (or a combined one) at the end.

        `missing_only` (implied by offline) fetches only sources not in the cache yet.
        """
        mirrors = list({m.key: m for m in map(self.mirror, locations)}.values())
        if not mirrors:
            return

        def work(mirror: Mirror) -> AgentsyncError | None:
            try:
                if missing_only or self.offline:  # offline: whatever the cache holds will do
                    mirror.ensure()
                else:
                    mirror.fetch()
            except AgentsyncError as error:
                result: AgentsyncError | None = error
            else:
                result = None
            if on_done is not None:
                on_done(mirror.location, result)
            return result

        with ThreadPoolExecutor(max_workers=min(8, len(mirrors))) as pool:
            errors = [e for e in pool.map(work, mirrors) if e is not None]
        if errors:
            raise _combine(errors)

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


_BLOB_CACHE_BYTES = 64 * 1024 * 1024  # per mirror and run


class Mirror:
    """One bare mirror: fetches under a file lock, resolves refs, reads trees and blobs."""

    def __init__(self, store: Store, location: Location, key: str) -> None:
        self.store = store
        self.location = location
        self.key = key
        self.path = store.root / "mirrors" / f"{key}.git"
        self._lock_path = store.root / "locks" / f"{key}.lock"
        # Shared from a run's first read until it closes the store; a rebuild (which replaces
        # the directory under open readers) takes it alone.
        self._readers = ReadersLock(store.root / "locks" / f"{key}.readers", self.name)
        self._reading_guard = threading.Lock()
        self._reader: vcs.ObjectReader | None = None
        self.fetched = False  # fetched (or created) during this Store's lifetime
        self._refs: dict[str, Commit | None] | None = None
        self._guard = threading.Lock()
        self._blobs: dict[str, bytes] = {}
        self._known_commits: set[str] = set()
        self._blob_bytes = 0
        self._tree_objects = trees.ObjectCache(self._read_object, self._header)

    @property
    def name(self) -> str:
        """The source as it may be shown: credential-free."""
        return self.location.display

    # --- fetching ---------------------------------------------------------------------------

    def fetch(self, *, again: bool = False) -> None:
        """Create the mirror if missing, else update it: all branches, tags and the remote HEAD.

        A Store is one run: once a mirror was fetched in it, later calls return at once
        unless `again` is true (several agents of one source cost one fetch).
        """
        if self.fetched and not again:
            return
        self._require_online("cannot fetch: --offline was given")
        started = time.monotonic()
        self._report(f"fetching {self.name} ...")
        with self._locked():
            self._fetch_locked()
        self._invalidate()
        self.fetched = True
        self._report(f"fetched {self.name} ({time.monotonic() - started:.1f}s)")

    def _report(self, line: str) -> None:
        if self.store.progress is not None:
            self.store.progress(line)

    def rebuild(self) -> None:
        """Drop this cache entry and fetch it again from scratch (`--refresh`): the way out
        of a damaged or tampered mirror."""
        self._require_online("cannot rebuild the cache entry: --offline was given")
        with self._locked():
            self._create_locked()
        with self._guard:
            self._blobs.clear()
            self._blob_bytes = 0
            self._tree_objects.clear()
        self._invalidate()
        self.fetched = True

    def ensure(self) -> None:
        """Fetch only when the mirror does not exist yet."""
        if vcs.looks_like_git_dir(self.path):
            return
        self._require_online("not in the cache, and --offline forbids fetching it")
        with self._locked():
            if not vcs.looks_like_git_dir(self.path):
                self._create_locked()
        self._invalidate()

    def ensure_commit(self, commit: Commit) -> None:
        """Make sure `commit` is in the mirror: fetch it by id, or fall back to a full fetch."""
        _check_full_commit(commit)
        if self.has_commit(commit):
            return
        self._require_online(
            f"commit {commit} is not in the cache, and --offline forbids fetching it"
        )
        with self._locked():
            if not vcs.looks_like_git_dir(self.path):
                self._create_locked()
            if not self._has_object(commit):
                self._fetch_commit_locked(commit)
        self._invalidate()
        if not self.has_commit(commit):
            raise SourceError(
                f"commit {commit} is not in the repository",
                hint="it may have been force-pushed away; `agentsync update` pins a new commit",
                subject=self.name,
            )

    def _fetch_locked(self) -> None:
        if not vcs.looks_like_git_dir(self.path) or vcs.repository_problem(self.path) is not None:
            self._create_locked()
            return
        self._clear_stale_git_locks()
        try:
            self._fetch_all(self.path)
        except vcs.GitCorrupt:
            self._create_locked()  # rebuilt once; a second failure is reported as is

    def _fetch_commit_locked(self, commit: Commit) -> None:
        self._clear_stale_git_locks()
        try:
            self._git_fetch(self.path, [f"+{commit}:{PINNED_PREFIX}{commit}"], prune=False)
        except vcs.GitTimeout:
            raise
        except vcs.GitError:
            # The server refuses unadvertised objects: take everything and look again.
            self._fetch_all(self.path)
            if self._has_object(commit):
                vcs.run_git(
                    ["update-ref", "--end-of-options", f"{PINNED_PREFIX}{commit}", commit],
                    git_dir=self.path,
                )

    def _create_locked(self) -> None:
        """Build a fresh mirror in a staging folder, then rename it into place."""
        self._check_local_source()
        tmp_root = self.store.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        self._remove_stale_staging(tmp_root)
        staging = Path(tempfile.mkdtemp(prefix=f"{self.key}.", dir=tmp_root))
        try:
            vcs.init_bare(staging)
            self._fetch_all(staging)
            self.close()  # a reader on the old (corrupt) mirror must not outlive it
            with self._replacing():
                trash = self._discard_existing(tmp_root)
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

    def _discard_existing(self, tmp_root: Path) -> Path | None:
        if not os.path.lexists(self.path):
            return None
        trash = Path(tempfile.mkdtemp(prefix=f"{self.key}.old.", dir=tmp_root))
        self.path.rename(trash / "mirror")
        return trash

    def _remove_stale_staging(self, tmp_root: Path) -> None:
        # Staging folders for this key are only made under this key's lock, which we hold:
        # any still there belong to a run that was killed.
        for leftover in tmp_root.glob(f"{self.key}.*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _clear_stale_git_locks(self) -> None:
        # We hold the mirror's lock, so git lock files in it were left by a killed fetch;
        # left alone they would fail every later fetch with "Unable to create ... .lock".
        candidates = [
            *self.path.glob("*.lock"),
            *(self.path / "refs").rglob("*.lock"),
            *(self.path / "objects" / "info").glob("*.lock"),
            *(self.path / "objects" / "pack").glob("*.lock"),
        ]
        for stale in candidates:
            with contextlib.suppress(OSError):
                stale.unlink()

    def _fetch_all(self, git_dir: Path) -> None:
        try:
            self._git_fetch(git_dir, [*FETCH_REFSPECS, HEAD_REFSPEC], prune=True)
        except vcs.GitUnknownRef as error:
            if error.ref != "HEAD":
                raise
            # An empty remote or one with a dangling HEAD: branches and tags still count.
            self._git_fetch(git_dir, list(FETCH_REFSPECS), prune=True)
            vcs.run_git(["update-ref", "-d", REMOTE_HEAD], git_dir=git_dir, check=False)

    def _git_fetch(self, git_dir: Path, refspecs: list[str], *, prune: bool) -> None:
        url, timeout = self.location.git_url, self.store.timeout
        vcs.fetch(git_dir, url, refspecs, timeout=timeout, prune=prune)

    def _check_local_source(self) -> None:
        if self.location.kind != "path":
            return
        path = Path(self.location.git_url)
        if not path.is_dir():
            raise SourceError(
                f"the local source folder {path} does not exist",
                hint="fix the path in agentsync.toml (relative to the manifest's folder)",
                subject=self.name,
            )
        if vcs.local_git_dir(path) is None:
            raise SourceError(
                f"{path} is not a git repository (agentsync pins commits: sources must be repos)",
                hint=f"run `git init` and commit the agents in {path}",
                subject=self.name,
            )

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

    def _redact(self, text: str) -> str:
        return redact_text(text, self.location.git_url)

    # --- reading ----------------------------------------------------------------------------

    def resolve(self, ref: str | None) -> Commit:
        """The commit for a branch, tag, full or short commit id; None means the remote HEAD."""
        self.ensure()
        if ref is None or ref == "HEAD":
            return self._remote_head()
        _check_ref(ref, self.name)
        refs = self._ref_table()
        named = full_commit(ref)
        if named is not None:
            self.ensure_commit(named)
            return named
        for candidate in (ref, f"refs/tags/{ref}", f"refs/heads/{ref}"):
            commit = refs.get(candidate)
            if commit is not None:
                return commit
        if _SHORT_COMMIT.match(ref):
            self._start_reading()
            commit, ambiguous = vcs.resolve_commit_prefix(self.path, ref.lower())
            if commit is not None:
                return commit
            if ambiguous:
                raise SourceError(
                    f"the short commit id '{ref}' is ambiguous",
                    hint="write more characters of the commit id",
                    subject=self.name,
                )
        raise SourceError(
            f"no branch, tag or commit named '{ref}'",
            hint=self._available_refs_hint(),
            subject=self.name,
        )

    def _remote_head(self) -> Commit:
        commit = self._ref_table().get(REMOTE_HEAD)
        if commit is None:
            raise SourceError(
                "the repository has no default branch (its HEAD points nowhere)",
                hint="name a branch or tag with `ref = ...` in agentsync.toml",
                subject=self.name,
            )
        return commit

    def _available_refs_hint(self) -> str:
        branches, tags = sorted(self.branches()), sorted(self.tags(), reverse=True)
        parts = []
        if branches:
            parts.append("branches: " + _some(branches))
        if tags:
            parts.append("tags: " + _some(tags))
        listing = "; ".join(parts) if parts else "the repository has no branches or tags"
        return f"available {listing}"

    def tags(self) -> dict[str, Commit]:
        """Tag name -> the commit it points at (annotated tags peeled)."""
        return self._refs_under("refs/tags/")

    def branches(self) -> dict[str, Commit]:
        """Branch name -> commit."""
        return self._refs_under("refs/heads/")

    def _refs_under(self, prefix: str) -> dict[str, Commit]:
        self.ensure()
        return {
            name.removeprefix(prefix): commit
            for name, commit in self._ref_table().items()
            if name.startswith(prefix) and commit is not None
        }

    def _ref_table(self) -> dict[str, Commit | None]:
        self._start_reading()
        with self._guard:
            if self._refs is None:
                try:
                    records = vcs.list_refs(self.path, ["refs/heads/", "refs/tags/", REMOTE_HEAD])
                except vcs.GitError as error:
                    raise self._read_error("list branches and tags", error) from None
                self._refs = {record.name: record.commit for record in records}
            return self._refs

    def has_commit(self, commit: Commit) -> bool:
        """True when the mirror exists and holds `commit`."""
        _check_full_commit(commit)
        if commit in self._known_commits:
            return True  # commits never leave a mirror within a run (rebuilds refetch them)
        found = vcs.looks_like_git_dir(self.path) and self._has_object(commit, "commit")
        if found:
            self._known_commits.add(commit)
        return found

    def _has_object(self, oid: str, kind: str | None = None) -> bool:
        found = self._read_object(oid)
        return found is not None and (kind is None or found[0] == kind)

    def _read_object(self, name: str) -> tuple[str, bytes] | None:
        try:
            return self._objects().read(name)
        except vcs.GitError as error:
            raise self._read_error(f"read {name[:40]}", error) from None

    def is_ancestor(self, ancestor: Commit, descendant: Commit) -> bool:
        """True when `ancestor` is `descendant` or one of its ancestors."""
        _check_full_commit(ancestor)
        _check_full_commit(descendant)
        self._start_reading()
        try:
            return vcs.is_ancestor(self.path, ancestor, descendant)
        except vcs.GitError as error:
            action = f"compare commits {ancestor[:12]}..{descendant[:12]}"
            raise self._read_error(action, error) from None

    def list_files(
        self,
        commit: Commit,
        path: str | None = None,
        *,
        skip_folders: Iterable[str] = (),
        want: Callable[[str], bool] | None = None,
    ) -> list[TreeEntry]:
        """The files of `commit` below `path` (a folder or glob; None: all), in tree order.

        Only trees a path matching `path` can pass through are read, never those named in
        `skip_folders`; `want(path)` picks the files listed. Symlinks are "link", submodules
        "commit", names no path can hold "unsafe". Bounded: past MAX_TREE_ENTRIES entries or
        the run's --timeout, a SourceError says to set `path`.
        """
        _check_full_commit(commit)
        self.ensure()
        try:
            return trees.list_below(
                self._tree_objects,
                self._tree_objects.root_tree(commit),
                path,
                skip_folders=skip_folders,
                want=want,
                timeout=self.store.timeout,
            )
        except trees.WalkLimit as error:
            raise self._too_large(commit, error) from None
        except trees.DamagedObject as error:
            raise self._damaged(str(error)) from None

    def blob_at(self, commit: Commit, path: str) -> BlobId | None:
        """The blob of the regular file at `path` in `commit` (None when its tree has no such
        file), read through trees whose ids are checked: a missing or damaged object is a
        SourceError, never a missing file."""
        _check_full_commit(commit)
        self.ensure()
        objects = self._tree_objects
        try:
            entry = trees.find_entry(objects, objects.root_tree(commit), path)
        except trees.WalkLimit as error:
            raise self._too_large(commit, error) from None
        except trees.DamagedObject as error:
            raise self._damaged(str(error)) from None
        if entry is None or entry.is_tree or entry.kind != "blob":
            return None
        return BlobId(entry.oid)

    def _header(self, oid: str) -> tuple[str, int] | None:
        try:
            return self._objects().header(oid)
        except vcs.GitError as error:
            raise self._read_error(f"read {oid}", error) from None

    def _too_large(self, commit: Commit, error: trees.WalkLimit) -> SourceError:
        more_time = "; or allow more time with --timeout SECONDS" if error.kind == "time" else ""
        return SourceError(
            f"gave up listing the files of commit {commit[:12]}: {error} (the repository is "
            "too large, or built to be, to search whole)",
            hint=PATH_HINT + more_time,
            subject=self.name,
        )

    def _damaged(self, detail: str) -> SourceError:
        return SourceError(
            f"the cache entry is damaged: {detail}", hint=DAMAGED_HINT, subject=self.name
        )

    def read_blob(self, blob: BlobId) -> bytes:
        """The content of a blob, through the mirror's long-lived `git cat-file --batch`.

        A blob's content never changes under its id, so one run reads each blob once:
        discovery, locking and installing all ask for the same agent files.
        """
        cached = self._blobs.get(blob)
        if cached is not None:
            return cached
        found = self._read_object(blob)
        if found is None or found[0] != "blob":
            raise SourceError(
                f"blob {blob} is missing from the cache", hint=DAMAGED_HINT, subject=self.name
            )
        if self._blob_bytes + len(found[1]) <= _BLOB_CACHE_BYTES:
            self._blobs[blob] = found[1]
            self._blob_bytes += len(found[1])
        return found[1]

    def read_path(self, commit: Commit, path: str) -> bytes | None:
        """The content of the file at `path` in `commit`, or None when there is no such blob.

        Read by blob id after walking the trees: a path may hold a newline, which no
        `<commit>:<path>` request line can carry."""
        blob = self.blob_at(commit, path)
        return self.read_blob(blob) if blob is not None else None

    def _objects(self) -> vcs.ObjectReader:
        self._start_reading()
        with self._guard:
            if self._reader is None:
                self._reader = vcs.ObjectReader(self.path)
            return self._reader

    def _read_error(self, action: str, error: vcs.GitError) -> SourceError:
        return SourceError(
            f"could not {action}: {self._redact(error.detail)}",
            hint=DAMAGED_HINT,
            subject=self.name,
        )

    def _invalidate(self) -> None:
        with self._guard:
            self._refs = None
            self._known_commits.clear()
        # A rebuilt mirror is a new directory: restart the reader so it sees the new objects.
        self._stop_reader()

    def _start_reading(self) -> None:
        """Share the mirror's readers lock before the first read (until `close`)."""
        with self._reading_guard:
            self._readers.acquire_shared(self.store.lock_timeout)

    def _stop_reader(self) -> None:
        with self._guard:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def close(self) -> None:
        """Stop the mirror's cat-file processes and release its readers lock (both are taken
        again on the next read)."""
        with self._reading_guard:
            self._stop_reader()
            self._readers.release()


def _check_full_commit(commit: str) -> None:
    if not is_full_commit(commit):
        raise ValueError(f"expected a full 40-hex commit id, got {commit!r}")


def _check_ref(ref: str, subject: str) -> None:
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise SourceError(
            f"'{ref}' is not a valid branch, tag or commit name",
            hint="refs may not be empty, start with '-' or contain spaces",
            subject=subject,
        )


def _some(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} (and {len(names) - limit} more)" if len(names) > limit else shown


# --- git's failures, as the user reads them -----------------------------------------------------


def _git_failure(error: vcs.GitError, location: Location, root: Path) -> SourceError:
    """What a git command that failed under a mirror's lock means for the source; the
    message is redacted here, where it is built (git's stderr may hold the URL's password)."""
    name = location.display
    if isinstance(error, vcs.GitTimeout):
        return NetworkError(
            f"fetch timed out after {error.seconds:g}s", hint=TIMEOUT_HINT, subject=name
        )
    detail = redact_text(error.detail, location.git_url)
    if error.command != "fetch":  # init, update-ref: the cache folder itself failed
        return _cache_error(root, detail, name)
    message = f"could not fetch: {detail or 'git fetch failed'}"
    if isinstance(error, vcs.GitAuthFailed):
        return NetworkError(
            message,
            hint=f"check that `git ls-remote {name}` works in your shell "
            "(credentials, SSH keys); agentsync never prompts",
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
