"""Reading one bare mirror: its branches and tags, its commits, trees and blobs (never fetching)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from agentsync import trees, vcs
from agentsync._fs import ReadersLock
from agentsync.errors import AgentsyncError, SourceError
from agentsync.gitenv import REMOTE_HEAD
from agentsync.ids import BlobId, Commit, full_commit, is_full_commit
from agentsync.trees import TreeEntry
from agentsync.urls import Location, redact_text

# What a mirror holds of its remote: every branch and tag, and the remote's HEAD.
REF_PATTERNS = ("refs/heads/", "refs/tags/", REMOTE_HEAD)
DAMAGED_HINT = "the cache may be damaged: run again with --refresh to rebuild it"
PATH_HINT = (
    "set `path` for this source in agentsync.toml (or narrow it) to the folder or glob that "
    'holds its agents, e.g. path = "agents"'
)
_SHORT_COMMIT = re.compile(r"^[0-9a-fA-F]{4,39}$")
_BLOB_CACHE_BYTES = 64 * 1024 * 1024  # per mirror and run
# What a listing reads ahead in batches: agent repositories are shallow and small; deeper or
# larger ones are walked one object at a time, under the walk's own limits.
_PRIME_DEPTH = 6
_PRIME_ENTRIES = 20_000
_PRIME_BYTES = 32 * 1024 * 1024


class MirrorReader:
    """The refs (`refs`) and objects of the mirror at `path`, as they are on disk now.

    Commits and trees are checked against their ids; all reads go through one long-lived
    `git cat-file --batch`, under the mirror's readers lock (shared from the first read
    until `close`). It never fetches: a caller makes sure the mirror exists, and holds the
    commit, first.
    """

    def __init__(
        self,
        path: Path,
        location: Location,
        readers: ReadersLock,
        *,
        lock_timeout: float,
        walk_timeout: float | None,
    ) -> None:
        self.path = path
        self.location = location
        self.walk_timeout = walk_timeout  # a listing's time limit (the run's --timeout)
        self._reading = _Reading(path, readers, lock_timeout)
        self.refs = RefTable(path, location, self._reading)
        self._guard = threading.Lock()
        self._known_commits: set[str] = set()
        self._blobs: dict[str, bytes] = {}
        self._blob_bytes = 0
        self._tree_objects = trees.ObjectCache(self._read_object, self._header)
        self._session: vcs.BatchSession | None = None  # see `_take_session`

    @property
    def name(self) -> str:
        """The source as it may be shown: credential-free."""
        return self.location.display

    # --- commits ----------------------------------------------------------------------------

    def has_commit(self, commit: Commit) -> bool:
        """True when the mirror exists and holds `commit`."""
        check_full_commit(commit)
        if commit in self._known_commits:
            return True  # commits never leave a mirror within a run (rebuilds refetch them)
        found = vcs.looks_like_git_dir(self.path) and self.has_object(commit, "commit")
        if found:
            self._known_commits.add(commit)
        return found

    def has_object(self, oid: str, kind: str | None = None) -> bool:
        """True when the object `oid` (of type `kind`, if given) can be read."""
        found = self._read_object(oid)
        return found is not None and (kind is None or found[0] == kind)

    def is_ancestor(self, ancestor: Commit, descendant: Commit) -> bool:
        """True when `ancestor` is `descendant` or one of its ancestors."""
        check_full_commit(ancestor)
        check_full_commit(descendant)
        self._reading.start()
        try:
            return vcs.is_ancestor(self.path, ancestor, descendant)
        except vcs.GitError as error:
            action = f"compare commits {ancestor[:12]}..{descendant[:12]}"
            raise _read_error(action, error, self.location) from None

    def subjects(self, old: Commit, new: Commit, path: str, limit: int) -> list[tuple[Commit, str]]:
        """The commits after `old` up to `new` that changed `path`: (commit, subject)."""
        check_full_commit(old)
        check_full_commit(new)
        self._reading.start()
        try:
            return vcs.commit_subjects(self.path, old, new, path, limit=limit)
        except vcs.GitError as error:
            action = f"list commits {old[:12]}..{new[:12]}"
            raise _read_error(action, error, self.location) from None

    # --- files ------------------------------------------------------------------------------

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
        `walk_timeout`, a SourceError says to set `path`.
        """
        check_full_commit(commit)
        objects = self._tree_objects
        skip_folders = frozenset(skip_folders)
        self._prime_listing(commit, skip_folders)
        try:
            return trees.list_below(
                objects,
                objects.root_tree(commit),
                path,
                skip_folders=skip_folders,
                want=want,
                timeout=self.walk_timeout,
            )
        except trees.WalkLimit as error:
            raise _too_large(commit, error, self.name) from None
        except trees.DamagedObject as error:
            raise _damaged(str(error), self.name) from None

    def _prime_listing(self, commit: Commit, skip: frozenset[str]) -> None:
        """Read the trees a listing will walk, level by level, and its `.md` files, through
        one `git cat-file --batch` asked a round per level, so the walk runs from memory (and
        the agent files are read once, here). Only a cache, bounded by _PRIME_ENTRIES and
        _PRIME_BYTES: a deep or huge tree is left to the walk itself, with its own limits."""
        if not vcs.looks_like_git_dir(self.path):
            return
        objects = self._tree_objects
        try:
            self._reading.start()  # the readers lock, as every read takes it
            with self._take_session() as session:
                budget = _PRIME_BYTES
                root = objects.cached_root(commit)
                if root is None:
                    first = session.read([commit, f"{commit}^{{tree}}"], budget=budget)
                    self._absorb_sized(first)
                    root = next((a[0] for a in first[1:] if a is not None), None)
                frontier = [root] if root is not None else []
                seen, blobs = 0, []
                for _depth in range(_PRIME_DEPTH):
                    subtrees = []
                    for oid in frontier:
                        for entry in objects.cached(oid) or ():
                            seen += 1
                            if entry.is_tree and entry.name not in skip:
                                subtrees.append(entry.oid)
                            elif entry.kind == "blob" and entry.name.endswith(".md"):
                                blobs.append(entry.oid)
                    subtrees = list(dict.fromkeys(subtrees))  # a tree bomb names one many times
                    if not subtrees or seen > _PRIME_ENTRIES:
                        break
                    answers = session.read(subtrees, budget=budget)
                    budget -= sum(len(a[3]) for a in answers if a is not None)
                    self._absorb_sized(answers)
                    frontier = subtrees
                wanted = [b for b in dict.fromkeys(blobs[:_PRIME_ENTRIES]) if b not in self._blobs]
                if wanted:
                    self._absorb_sized(session.read(wanted, budget=budget))
        except (OSError, AgentsyncError):
            return  # the walk reads one by one and says what is wrong

    def _absorb_sized(self, found: Iterable[tuple[str, str, int, bytes] | None]) -> None:
        """Keep what a batch session read: objects whose content came whole, and the size
        of every blob (for the walk's limits, its type checked on use)."""
        for answer in found:
            if answer is None:
                continue
            oid, kind, size, data = answer
            if kind == "blob":
                self._tree_objects.prime_size(oid, kind, size)
            if len(data) == size:
                self._absorb([(oid, kind, data)])

    def blob_at(self, commit: Commit, path: str) -> BlobId | None:
        """The blob of the regular file at `path` in `commit` (None when its tree has no such
        file), read through trees whose ids are checked: a missing or damaged object is a
        SourceError, never a missing file."""
        check_full_commit(commit)
        objects = self._tree_objects
        if objects.cached_root(commit) is None:
            self._prime_path(commit, path)
        try:
            entry = trees.find_entry(objects, objects.root_tree(commit), path)
        except trees.WalkLimit as error:
            raise _too_large(commit, error, self.name) from None
        except trees.DamagedObject as error:
            raise _damaged(str(error), self.name) from None
        if entry is None or entry.is_tree or entry.kind != "blob":
            return None
        return BlobId(entry.oid)

    def _prime_path(self, commit: Commit, path: str) -> None:
        """Read the commit, the trees on `path` and its file in one request (a first look at
        a commit, such as the marketplace check: the long-lived reader would cost a process
        and GitPython's import for a few objects). The batch process is kept for the listing
        that usually follows (see `_take_session`). Only a cache, like `preload`."""
        parts = path.split("/")
        names = [commit, f"{commit}^{{tree}}"]
        names += [f"{commit}:{'/'.join(parts[:depth])}" for depth in range(1, len(parts) + 1)]
        if not vcs.looks_like_git_dir(self.path):
            return
        try:
            self._reading.start()  # the readers lock, as every read takes it
            session = self._take_session()
        except (OSError, AgentsyncError):
            return  # the one-by-one reads say what is wrong
        try:
            found = session.read(names, budget=_PRIME_BYTES)
        except OSError:
            session.close()
            return
        with self._guard:
            kept, self._session = self._session, session
        if kept is not None:
            kept.close()  # another thread's, put back meanwhile: one is enough
        self._absorb_sized(found)

    def _take_session(self) -> vcs.BatchSession:
        """The batch process a first look left (one process for the look and the listing
        after it), else a new one; the caller closes it or puts it back."""
        with self._guard:
            session, self._session = self._session, None
        return session if session is not None else vcs.BatchSession(self.path)

    def _drop_session(self) -> None:
        with self._guard:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def preload(
        self, files: Iterable[tuple[Commit, str, BlobId]], blobs: Iterable[BlobId] = ()
    ) -> None:
        """Read in one request what `blob_at` and `read_blob` will need for many files (each
        commit, the trees on each path, each blob), so that they answer from memory. Only
        a cache: every object is checked against its id, and each path is still walked
        through the trees, now from memory."""
        names = self._batch_names(files, blobs)
        if len(names) < 2 or not vcs.looks_like_git_dir(self.path):
            return  # nothing to batch, or not fetched yet
        budget = _BLOB_CACHE_BYTES - self._blob_bytes
        try:
            self._reading.objects()  # takes the readers lock, as every read does
            found = vcs.read_batch(self.path, names, budget=budget, timeout=self.walk_timeout)
        except (OSError, AgentsyncError):
            return  # the one-by-one reads say what is wrong
        self._absorb(found)

    def _batch_names(
        self, files: Iterable[tuple[Commit, str, BlobId]], blobs: Iterable[BlobId]
    ) -> list[str]:
        wanted = list(files)
        names: list[str] = []
        for commit in dict.fromkeys(c for c, _path, _blob in wanted):
            check_full_commit(commit)
            if commit not in self._known_commits:
                names.append(commit)
            names.append(f"{commit}^{{tree}}")
        folders = {
            f"{commit}:{'/'.join(parts[:depth])}"
            for commit, path, _blob in wanted
            for parts in [path.split("/")]
            for depth in range(1, len(parts))
        }
        names.extend(sorted(folders))
        more = [b for _c, _p, b in wanted] + list(blobs)
        names.extend(dict.fromkeys(b for b in more if b not in self._blobs))
        return names

    def _absorb(self, found: Iterable[tuple[str, str, bytes] | None]) -> None:
        for answer in found:
            if answer is None:
                continue
            oid, kind, data = answer
            if kind == "blob":
                if oid not in self._blobs and self._blob_bytes + len(data) <= _BLOB_CACHE_BYTES:
                    self._blobs[BlobId(oid)] = data
                    self._blob_bytes += len(data)
            elif self._tree_objects.prime(oid, kind, data) and kind == "commit":
                self._known_commits.add(oid)

    def preload_blobs(self, blobs: Iterable[BlobId]) -> None:
        """Read many blobs in one request, for `read_blob` to answer from memory (each is
        still checked against its id by whoever installs it)."""
        self.preload((), blobs)

    def read_blob(self, blob: BlobId) -> bytes:
        """The content of a blob. Its content never changes under its id, so one run reads
        each blob once: discovery, locking and installing all ask for the same agent files."""
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

    def _read_object(self, name: str) -> tuple[str, bytes] | None:
        try:
            return self._reading.objects().read(name)
        except vcs.GitError as error:
            raise _read_error(f"read {name[:40]}", error, self.location) from None

    def _header(self, oid: str) -> tuple[str, int] | None:
        try:
            return self._reading.objects().header(oid)
        except vcs.GitError as error:
            raise _read_error(f"read {oid}", error, self.location) from None

    @property
    def pid(self) -> int | None:
        """The process id of the running `git cat-file --batch`, if one is running."""
        return self._reading.pid

    # --- after a fetch, and at the end of a run ---------------------------------------------

    def forget_refs(self) -> None:
        """After a fetch: list the refs again, and restart the process (a rebuilt mirror is a
        new directory, whose objects an old process cannot see)."""
        self.refs.forget()
        with self._guard:
            self._known_commits.clear()
        self._drop_session()
        self._reading.restart()

    def forget_objects(self) -> None:
        """After a rebuild: drop the blobs and trees read from the mirror it replaced."""
        with self._guard:
            self._blobs.clear()
            self._blob_bytes = 0
            self._tree_objects.clear()

    def close(self) -> None:
        """Stop the cat-file process and release the readers lock (both are taken again on
        the next read)."""
        self._drop_session()
        self._reading.close()


def preload_together(jobs: Sequence[tuple[MirrorReader, list[tuple[Commit, str, BlobId]]]]) -> None:
    """`preload` of several mirrors through one `git cat-file --batch` that sees all their
    objects (the others as alternates): one process for the whole run instead of one per
    mirror, which is most of the time of reading a few files of many sources.

    Sound because an object is named by the hash of its content, and every one is checked
    against its id before use: a mirror can only be handed the bytes its own copy would
    hold. A mirror whose path git cannot take as an alternate is read on its own.
    """
    shared: list[tuple[MirrorReader, list[str]]] = []
    for reader, files in jobs:
        names = reader._batch_names(files, ())
        if len(names) < 2 or not vcs.looks_like_git_dir(reader.path):
            continue
        if len(jobs) > 1 and vcs.can_be_alternate(reader.path):
            shared.append((reader, names))
        else:
            reader.preload(files)
    if not shared:
        return
    try:
        for reader, _names in shared:
            reader._reading.start()  # the readers lock of each mirror read, as every read does
        found = vcs.read_batch(
            shared[0][0].path,
            [name for _reader, names in shared for name in names],
            budget=_BLOB_CACHE_BYTES,
            timeout=shared[0][0].walk_timeout,
            alternates=[reader.path for reader, _names in shared[1:]],
        )
    except (OSError, AgentsyncError):
        return  # the one-by-one reads say what is wrong
    answers = iter(found)
    for reader, names in shared:
        reader._absorb([next(answers, None) for _name in names])


_PEELED_ONE_BY_ONE = 32  # refs peeled through cat-file before for-each-ref is the cheaper way


class RefTable:
    """A mirror's branches, tags and remote HEAD, listed once (until `forget`), and the
    commit a requested ref names."""

    def __init__(self, path: Path, location: Location, reading: _Reading) -> None:
        self.path = path
        self.location = location
        self._reading = reading
        self._guard = threading.Lock()
        self._refs: dict[str, Commit | None] | None = None

    @property
    def name(self) -> str:
        return self.location.display

    def resolve(self, ref: str | None) -> Commit:
        """The commit for a branch, tag or short commit id; None means the remote HEAD.

        A full commit id comes back as named (lowercased), held by the mirror or not."""
        if ref is None or ref == "HEAD":
            return self._remote_head()
        _check_ref(ref, self.name)
        refs = self._ref_table()
        named = full_commit(ref)
        if named is not None:
            return named
        for candidate in (ref, f"refs/tags/{ref}", f"refs/heads/{ref}"):
            commit = refs.get(candidate)
            if commit is not None:
                return commit
        if _SHORT_COMMIT.match(ref):
            return self._by_prefix(ref)
        raise _no_such_ref(ref, self._available_refs_hint(), self.name)

    def _by_prefix(self, prefix: str) -> Commit:
        self._reading.start()
        commit, ambiguous = vcs.resolve_commit_prefix(self.path, prefix.lower())
        if commit is not None:
            return commit
        if ambiguous:
            raise SourceError(
                f"the short commit id '{prefix}' is ambiguous",
                hint="write more characters of the commit id",
                subject=self.name,
            )
        raise _no_such_ref(prefix, self._available_refs_hint(), self.name)

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
        return {
            name.removeprefix(prefix): commit
            for name, commit in self._ref_table().items()
            if name.startswith(prefix) and commit is not None
        }

    def _ref_table(self) -> dict[str, Commit | None]:
        self._reading.start()
        with self._guard:
            if self._refs is None:
                try:
                    self._refs = self._from_files()
                    if self._refs is None:
                        records = vcs.list_refs(self.path, REF_PATTERNS)
                        self._refs = {record.name: record.commit for record in records}
                except vcs.GitError as error:
                    raise _read_error("list branches and tags", error, self.location) from None
            return self._refs

    def _from_files(self) -> dict[str, Commit | None] | None:
        """The table from the mirror's ref files, with no process of its own: branches
        hold commits (git refuses anything else there), and a tag or remote HEAD at a
        branch's commit is that commit; the few others are peeled by the open `cat-file`.
        None (git lists them instead) when the files are unusual or many refs need peeling."""
        values = vcs.ref_files(self.path, REF_PATTERNS)
        if values is None:
            return None
        commits = {oid for name, oid in values.items() if name.startswith("refs/heads/")}
        unsure = [name for name, oid in values.items() if oid not in commits]
        if len(unsure) > _PEELED_ONE_BY_ONE:
            return None  # one for-each-ref answers hundreds of tags sooner
        table: dict[str, Commit | None] = {name: Commit(oid) for name, oid in values.items()}
        if unsure:
            objects = self._reading.objects()
            for name in unsure:
                peeled = objects.commit_of(values[name])
                table[name] = Commit(peeled) if peeled is not None else None
        return table

    def listed(self) -> dict[str, Commit | None] | None:
        """The table as this run listed it (what its resolutions read), or None when the
        run never listed it; never listed anew, so another run's fetch meanwhile is not in
        it."""
        with self._guard:
            return None if self._refs is None else dict(self._refs)

    def forget(self) -> None:
        """List the refs again on the next question (after a fetch)."""
        with self._guard:
            self._refs = None


class _Reading:
    """One run's reading of a mirror: its readers lock, shared from the first read until
    `close`, and the long-lived `git cat-file --batch` that reads objects."""

    def __init__(self, path: Path, readers: ReadersLock, lock_timeout: float) -> None:
        self.path = path
        self._readers = readers
        self._lock_timeout = lock_timeout
        self._holding = threading.Lock()
        self._guard = threading.Lock()
        self._process: vcs.ObjectReader | None = None

    def start(self) -> None:
        """Share the readers lock before a read (held already after the first one)."""
        with self._holding:
            self._readers.acquire_shared(self._lock_timeout)

    def objects(self) -> vcs.ObjectReader:
        """The cat-file process, started on first use."""
        self.start()
        with self._guard:
            if self._process is None:
                self._process = vcs.ObjectReader(self.path)
            return self._process

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def restart(self) -> None:
        """Stop the process; the next read starts a new one."""
        with self._guard:
            process, self._process = self._process, None
        if process is not None:
            process.close()

    def close(self) -> None:
        with self._holding:
            self.restart()
            self._readers.release()


def check_full_commit(commit: str) -> None:
    """Refuse anything but a full commit id: a caller that passes a ref has a bug."""
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


def _no_such_ref(ref: str, available: str, subject: str) -> SourceError:
    return SourceError(f"no branch, tag or commit named '{ref}'", hint=available, subject=subject)


def _too_large(commit: Commit, error: trees.WalkLimit, subject: str) -> SourceError:
    more_time = "; or allow more time with --timeout SECONDS" if error.kind == "time" else ""
    return SourceError(
        f"gave up listing the files of commit {commit[:12]}: {error} (the repository is "
        "too large, or built to be, to search whole)",
        hint=PATH_HINT + more_time,
        subject=subject,
    )


def _damaged(detail: str, subject: str) -> SourceError:
    return SourceError(f"the cache entry is damaged: {detail}", hint=DAMAGED_HINT, subject=subject)


def _read_error(action: str, error: vcs.GitError, location: Location) -> SourceError:
    # Redacted here, where the message is built: git's stderr may hold the URL's password.
    detail = redact_text(error.detail, location.git_url)
    return SourceError(f"could not {action}: {detail}", hint=DAMAGED_HINT, subject=location.display)
