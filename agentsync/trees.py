"""Git's tree and commit objects, parsed; bounded walks of trees and of a local source's work
tree, below a path glob only."""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from agentsync._fs import read_regular
from agentsync.ids import BlobId, blob_id, is_object_id, object_id

# A listing visits at most this many tree entries (every entry of every tree it reads,
# counted again each time a shared subtree is reached). Agent repositories hold hundreds of
# files; a "tree bomb" holds millions of paths in a dozen small objects (each tree names one
# subtree ten times), so only a bound on entries, not on objects or bytes, stops it.
MAX_TREE_ENTRIES = 100_000
# No tree a listing can finish has more entries than it may visit; at 28 bytes for the
# smallest entry, a much bigger tree object is refused before it is read into memory.
MAX_TREE_BYTES = 12 * 28 * MAX_TREE_ENTRIES
_CACHED_ENTRIES = 2 * MAX_TREE_ENTRIES  # parsed tree entries an ObjectCache keeps
_CLOCK_EVERY = 1024  # entries between two looks at the clock

TreeKind = Literal["blob", "link", "commit", "unsafe"]
LimitKind = Literal["entries", "time", "bytes"]
Wanted = Callable[[str], bool]


# -- tree and commit objects, parsed without git ----------------------------------------------


class MalformedObject(ValueError):
    """An object's bytes do not have the shape of its type (a garbage or truncated object)."""


@dataclass(frozen=True, slots=True)
class RawTreeEntry:
    """One entry of one tree object, as stored: `name` is decoded with surrogateescape."""

    mode: int
    name: str
    oid: str

    @property
    def is_tree(self) -> bool:
        return self.mode & 0o170000 == 0o040000

    @property
    def kind(self) -> TreeKind:
        """What `git ls-tree` calls it: "commit" for gitlinks, "link" for symlinks."""
        if self.mode & 0o170000 == 0o160000:
            return "commit"
        return "link" if self.mode == 0o120000 else "blob"

    @property
    def mode_text(self) -> str:
        return f"{self.mode:06o}"


def parse_tree(data: bytes) -> list[RawTreeEntry]:
    """The entries of a tree object (`<octal mode> <name>\\0<20-byte id>`, repeated)."""
    entries = []
    at = 0
    while at < len(data):
        space = data.find(b" ", at)
        nul = data.find(b"\0", space + 1) if space >= 0 else -1
        end = nul + 21
        mode = data[at:space]
        if space < 0 or nul < 0 or end > len(data) or not mode or not mode.isdigit():
            raise MalformedObject(f"malformed tree entry at byte {at}")
        try:
            number = int(mode, 8)
        except ValueError:
            raise MalformedObject(f"malformed file mode at byte {at}") from None
        name = data[space + 1 : nul].decode("utf-8", errors="surrogateescape")
        entries.append(RawTreeEntry(number, name, data[nul + 1 : end].hex()))
        at = end
    return entries


def commit_tree(data: bytes) -> str:
    """The id of the root tree a commit object names on its first line."""
    first = data.split(b"\n", 1)[0]
    oid = first.removeprefix(b"tree ").decode("ascii", errors="replace")
    if not first.startswith(b"tree ") or not is_object_id(oid):
        raise MalformedObject("the commit object has no tree line")
    return oid


@dataclass(frozen=True)
class TreeEntry:
    """One file in a commit's tree: `kind` is "link" for symlinks, "commit" for submodules,
    "unsafe" for a name no file system path can hold (empty, `.`, `..`, a `/`, a control
    character)."""

    path: str
    mode: str
    blob: BlobId
    size: int
    kind: TreeKind


class WalkLimit(Exception):
    """A walk visited more entries than allowed, ran past its deadline, or met a tree object
    too big to read."""

    def __init__(self, kind: LimitKind, limit: float, detail: str | None = None) -> None:
        what = f"{limit:,.0f} entries" if kind == "entries" else f"{limit:g}s"
        super().__init__(detail or f"stopped after {what}")
        self.kind = kind
        self.limit = limit


class DamagedObject(Exception):
    """An object a walk needs is missing, malformed, or does not hash to its id."""


class ObjectCache:
    """Commits and trees read through an object reader, checked against their ids (git does
    not check a loose object it reads) and kept by id: ids are content, never stale."""

    def __init__(
        self,
        read: Callable[[str], tuple[str, bytes] | None],
        header: Callable[[str], tuple[str, int] | None],
    ) -> None:
        self._read = read
        self._header = header
        self._trees: dict[str, tuple[RawTreeEntry, ...]] = {}
        self._cached_entries = 0
        self._sizes: dict[str, int] = {}
        self._roots: dict[str, str] = {}

    def root_tree(self, commit: str) -> str:
        """The id of `commit`'s root tree."""
        root = self._roots.get(commit)
        if root is None:
            data = self._verified(commit, "commit")
            try:
                root = self._roots[commit] = commit_tree(data)
            except MalformedObject as error:
                raise DamagedObject(f"commit {commit}: {error}") from None
        return root

    def tree(self, oid: str) -> tuple[RawTreeEntry, ...]:
        """The entries of tree `oid`."""
        cached = self._trees.get(oid)
        if cached is not None:
            return cached
        size = self.size(oid, "tree")
        if size > MAX_TREE_BYTES:
            raise WalkLimit("bytes", MAX_TREE_BYTES, f"tree {oid} holds {size:,} bytes")
        try:
            entries = tuple(parse_tree(self._verified(oid, "tree")))
        except MalformedObject as error:
            raise DamagedObject(f"tree {oid}: {error}") from None
        if self._cached_entries + len(entries) <= _CACHED_ENTRIES:
            self._trees[oid] = entries
            self._cached_entries += len(entries)
        return entries

    def size(self, oid: str, kind: str | None = None) -> int:
        """The size of object `oid` (of type `kind`, if given), without reading it."""
        size = self._sizes.get(oid)
        if size is None:
            header = self._header(oid)
            if header is None or (kind is not None and header[0] != kind):
                raise DamagedObject(f"{kind or 'object'} {oid} is missing")
            size = self._sizes[oid] = header[1]
        return size

    def prime(self, oid: str, kind: str, data: bytes) -> bool:
        """Keep a commit or tree read elsewhere (a batch read), checked against its id as
        every read is; True when it was kept."""
        if kind not in ("commit", "tree") or object_id(kind, data) != oid:
            return False
        try:
            if kind == "commit":
                self._roots[oid] = commit_tree(data)
            elif len(data) <= MAX_TREE_BYTES and oid not in self._trees:
                entries = tuple(parse_tree(data))
                if self._cached_entries + len(entries) > _CACHED_ENTRIES:
                    return False
                self._trees[oid] = entries
                self._cached_entries += len(entries)
        except MalformedObject:
            return False  # the walk reads it again and says what is wrong
        self._sizes[oid] = len(data)
        return True

    def cached_root(self, commit: str) -> str | None:
        """The id of `commit`'s root tree when both are in memory (never reads)."""
        root = self._roots.get(commit)
        return root if root is not None and root in self._trees else None

    def cached(self, oid: str) -> tuple[RawTreeEntry, ...] | None:
        """The entries of tree `oid` when they are in memory (never reads)."""
        return self._trees.get(oid)

    def prime_size(self, oid: str, kind: str, size: int) -> None:
        """Keep the size of an object a batch header gave (its type is checked on use)."""
        if kind == "blob":
            self._sizes[oid] = size

    def clear(self) -> None:
        self._trees.clear()
        self._cached_entries = 0
        self._sizes.clear()
        self._roots.clear()

    def _verified(self, oid: str, kind: str) -> bytes:
        found = self._read(oid)
        if found is None or found[0] != kind:
            raise DamagedObject(f"{kind} {oid} is missing")
        if object_id(kind, found[1]) != oid:
            raise DamagedObject(f"{kind} {oid} does not match its id")
        return found[1]


def path_pattern(base: str | None) -> tuple[str, ...]:
    """The glob parts of a source's `path` (empty: the whole repository)."""
    return PurePosixPath(base.strip("/")).parts if base else ()


def descends(name: str, depth: int, pattern: Sequence[str], skip: Iterable[str]) -> bool:
    """Whether a folder `name` at `depth` can still hold a path the pattern matches."""
    if name in skip:
        return False
    return depth >= len(pattern) or fnmatch.fnmatchcase(name, pattern[depth])


def unsafe_name(name: str) -> bool:
    """A tree entry name no path on disk or in the lock can hold faithfully."""
    return (
        name in ("", ".", "..") or "/" in name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name)
    )


class _Budget:
    def __init__(self, max_entries: int, deadline: float | None, seconds: float) -> None:
        self.max_entries = max_entries
        self.deadline = deadline
        self.seconds = seconds
        self.visited = 0

    def visit(self) -> None:
        self.visited += 1
        if self.visited > self.max_entries:
            raise WalkLimit("entries", self.max_entries)
        if self.visited % _CLOCK_EVERY == 0:
            self.check_clock()

    def check_clock(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WalkLimit("time", self.seconds)


def list_below(
    objects: ObjectCache,
    root_tree: str,
    base: str | None,
    *,
    skip_folders: Iterable[str] = (),
    want: Wanted | None = None,
    max_entries: int = MAX_TREE_ENTRIES,
    timeout: float | None = None,
) -> list[TreeEntry]:
    """Every file below `base` (a folder or glob) in tree order, as `git ls-tree -r` lists it.

    Reads only the trees a path matching `base` can pass through, never those named in
    `skip_folders`; `want(path)` picks the files worth an object size. An entry whose name is
    unsafe comes back with kind "unsafe" (never descended into).
    """
    pattern = path_pattern(base)
    skip = frozenset(skip_folders)
    deadline = None if timeout is None else time.monotonic() + timeout
    budget = _Budget(max_entries, deadline, timeout or 0.0)
    found: list[TreeEntry] = []
    stack: list[tuple[str, int, Iterator[RawTreeEntry]]] = [("", 0, iter(objects.tree(root_tree)))]
    while stack:
        prefix, depth, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        budget.visit()
        path = prefix + entry.name
        if entry.is_tree:
            if not descends(entry.name, depth, pattern, skip):
                continue
            if unsafe_name(entry.name):
                found.append(_unsafe(path, entry))
                continue
            budget.check_clock()
            stack.append((path + "/", depth + 1, iter(objects.tree(entry.oid))))
        elif want is None or want(path):
            if unsafe_name(entry.name):
                found.append(_unsafe(path, entry))
                continue
            size = objects.size(entry.oid) if entry.kind != "commit" else 0
            found.append(TreeEntry(path, entry.mode_text, BlobId(entry.oid), size, entry.kind))
    return found


def _unsafe(path: str, entry: RawTreeEntry) -> TreeEntry:
    return TreeEntry(path, entry.mode_text, BlobId(entry.oid), 0, "unsafe")


def find_entry(objects: ObjectCache, root_tree: str, path: str) -> RawTreeEntry | None:
    """The entry at `path` (parts split on "/"), or None when some part is not there."""
    *folders, leaf = path.split("/")
    tree = root_tree
    for name in folders:
        entry = _named(objects.tree(tree), name)
        if entry is None or not entry.is_tree:
            return None
        tree = entry.oid
    return _named(objects.tree(tree), leaf)


def _named(entries: Sequence[RawTreeEntry], name: str) -> RawTreeEntry | None:
    return next((entry for entry in entries if entry.name == name), None)


# -- a local source's work tree ---------------------------------------------------------------


def worktree_differs(
    root: Path,
    committed: Sequence[TreeEntry],
    base: str | None,
    *,
    skip_folders: Iterable[str] = (),
    want: Wanted,
    max_entries: int = MAX_TREE_ENTRIES,
    timeout: float | None = None,
) -> bool | None:
    """Whether the agent files in the work tree at `root` differ from `committed` (new,
    deleted or changed files at paths `want` accepts); None when the walk hit a limit.

    Read and hashed here, without git: `git status` would run the clean and process filters
    that the folder's own `.git/config` (or a submodule's) defines, i.e. a command of the
    source's choosing. Symlinks are not followed; nested repositories are not entered.
    """
    # Entries discovery skips (submodules, names no file can hold) are no agent files here.
    expected = {e.path: e for e in committed if e.kind not in ("commit", "unsafe")}
    deadline = None if timeout is None else time.monotonic() + timeout
    budget = _Budget(max_entries, deadline, timeout or 0.0)
    seen = 0
    try:
        for path, full in _worktree_files(root, base, frozenset(skip_folders), want, budget):
            entry = expected.get(path)
            if entry is None or not _same_content(full, entry):
                return True
            seen += 1
    except WalkLimit:
        return None
    return seen != len(expected)


def _worktree_files(
    root: Path, base: str | None, skip: frozenset[str], want: Wanted, budget: _Budget
) -> Iterator[tuple[str, Path]]:
    pattern = path_pattern(base)
    stack = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                items = list(listing)
        except OSError:
            continue
        for item in items:
            budget.visit()
            if item.name == ".git" or unsafe_name(item.name):
                continue
            path = prefix + item.name
            try:
                is_dir = item.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if descends(item.name, depth, pattern, skip) and not _is_repository(item.path):
                    stack.append((Path(item.path), path + "/", depth + 1))
            elif want(path):
                yield path, Path(item.path)


def _is_repository(folder: str) -> bool:
    # A nested repository or checked-out submodule: its files are never this source's.
    return os.path.lexists(Path(folder) / ".git")


def _same_content(path: Path, entry: TreeEntry) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode):
        return entry.mode == "120000" and _link_blob(path) == entry.blob
    if not stat.S_ISREG(info.st_mode) or entry.mode == "120000":
        return False
    # CRLF in the work tree, LF committed (core.autocrlf) is the same file.
    limit = 2 * entry.size + 1
    if info.st_size > limit:
        return False
    try:
        data = read_regular(path, limit, follow=False)
    except OSError:
        return False
    return data is not None and entry.blob in (blob_id(data), blob_id(data.replace(b"\r\n", b"\n")))


def _link_blob(path: Path) -> BlobId | None:
    try:
        return blob_id(os.fsencode(path.readlink()))
    except OSError:
        return None
