"""Installation: lock -> files in the target folder, as a plan computed first and applied second."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from agentsync._fs import (
    NotRegularFile,
    atomic_delete,
    atomic_write_many,
    clean_stale_temps,
    read_regular,
    real_dir,
    storage_error,
)
from agentsync.errors import (
    AgentsyncError,
    ConflictError,
    IntegrityError,
    ResolveError,
    StorageError,
)
from agentsync.fastpath import code_key, forget_clean_state
from agentsync.frontmatter import (
    MAX_FILE_BYTES,
    parse_agent,
    walk_agent_files,
)
from agentsync.ids import Sha256, blob_id, is_safe_name, name_problem, sha256
from agentsync.journal import Journal
from agentsync.lockfile import (
    Lock,
    LockedAgent,
    entry_fingerprint,
    remember_parsed,
    write_lock,
)
from agentsync.patch import PatchError, apply_patch, make_patch
from agentsync.resolve import installed_bytes
from agentsync.state import InstalledState, NamesIndex
from agentsync.textscan import conflict_marker_line

ActionKind = Literal[
    "create",  # new agent
    "restore",  # managed file was deleted
    "update",  # managed, unmodified file gets new bytes
    "remove",  # dropped from the manifest, unmodified: deleted
    "keep",  # already right
    "adopt",  # an identical file was already there: now managed
    "modified",  # local edits, nothing upstream to apply: kept
    "kept-edit",  # local edits block a change: kept, lock entry held back
    "orphaned",  # dropped from the manifest but locally edited: left in place, unmanaged
    "merged",  # local edits merged cleanly with the new version: written, lock moves
    "conflict",  # local edits conflict with the new version: kept, lock entry held back
    # the file now holds git's conflict markers; the lock moves (with local edits) so that
    # the user's resolution counts as local edits on the new version, as after `git merge`
    "conflict-markers",
    "conflicted",  # the file still holds unresolved conflict markers: kept, nothing moves
]
WRITES: frozenset[str] = frozenset({"create", "restore", "update", "merged", "conflict-markers"})
HELD_BACK: frozenset[str] = frozenset({"kept-edit", "conflict", "conflicted"})
# Outcomes that leave the folder short of what was asked: the command exits 1.
FAILING: frozenset[str] = frozenset({"kept-edit", "orphaned", "conflict", "conflicted"})
# Outcomes where the file on disk is not the lock's: `install --frozen` refuses them.
DIFFERS: frozenset[str] = FAILING | {"modified"}
# Written by earlier versions: .agentsync/merged/<sha256> held merged bytes. Still read, so
# a lock from then whose entry has no patch of its local edits can be tied to its bytes.
LEGACY_MERGED_DIR = "merged"

# What `update` does with a locally edited file that upstream changed: keep it as it is
# (install), merge 3-way and leave it untouched on conflict, or write conflict markers.
MergeMode = Literal["keep", "auto", "markers"]


@dataclass(frozen=True)
class FileAction:
    """One planned change (or non-change) to one agent file."""

    kind: ActionKind
    name: str
    path: Path
    data: bytes | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.kind in WRITES or (self.kind == "remove")


@dataclass(frozen=True)
class InstallPlan:
    """Everything `apply` will do, decided before anything is written."""

    actions: tuple[FileAction, ...]
    lock: Lock  # what the lock will say afterwards (held-back entries included)
    lock_unchanged: bool = False  # the lock says exactly what it said before the run

    @property
    def changes(self) -> tuple[FileAction, ...]:
        return tuple(a for a in self.actions if a.writes)


@dataclass(frozen=True)
class Layout:
    """Where one project's files live."""

    target: Path
    lock_path: Path
    state_dir: Path

    @property
    def staging(self) -> Path:
        """Where agent files are written before their rename into the target folder."""
        return self.state_dir / "tmp"

    def agent_path(self, name: str) -> Path:
        problem = name_problem(name)
        if problem is not None:
            # Last line of defence: whatever reached the plan, a name never leaves the folder.
            raise ResolveError(
                f"{name!r} is not a safe agent file name: {problem}",
                hint="install it under another name in [agents] of agentsync.toml",
                subject=name,
            )
        return self.target / f"{name}.md"

    def check(self, *, create: bool = True) -> None:
        """Refuse a target that is not a folder and state folders that are not real folders
        (creating those unless `create` is False: a plan that may write nothing)."""
        if os.path.lexists(self.target) and not self.target.is_dir():
            kind = "a dangling symlink" if self.target.is_symlink() else "not a folder"
            raise StorageError(
                f"the install folder is {kind}",
                hint=f"remove or rename {self.target}, or set another `target` in agentsync.toml",
                subject=str(self.target),
            )
        real_dir(self.state_dir, "agentsync's state folder", create=create)
        real_dir(self.staging, "agentsync's staging folder", create=create)


def agent_files(folder: Path) -> Iterator[Path]:
    """Every file Claude Code would read below `folder` (frontmatter.walk_agent_files)."""
    return (path for _relative, path in walk_agent_files(folder))


def file_name_of(path: Path) -> str | None:
    """The agent name Claude Code would read from `path` (or its evident name); None for a
    file that cannot be read or is not a regular file (never read past the size limit)."""
    data = _regular_bytes(path)
    return None if data is None else _name_of(data)


def _regular_bytes(path: Path) -> bytes | None:
    try:
        return read_regular(path, MAX_FILE_BYTES)
    except OSError:
        return None


def _name_of(data: bytes) -> str | None:
    parsed = parse_agent(data)
    return parsed.name if parsed.loads else parsed.evident_name


def read_installed(path: Path, name: str) -> bytes | None:
    """The bytes at an agent's path (None when absent), refusing what is not a regular file.

    A file past the size limit comes back cut one byte past it: it can never match a lock.
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None  # nothing there, not even a link (the common case: one look, not two)
    except OSError as error:
        raise storage_error("read", path, error) from None
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except NotRegularFile:
        what = "is not a regular file (a folder, FIFO, socket or device)"
        raise _in_the_way(path, name, what) from None
    except OSError as error:
        raise storage_error("read", path, error) from None
    if data is None and path.is_symlink():
        # someone's link to a file that is not there: theirs, not ours to replace
        raise _in_the_way(path, name, "is a symlink to nothing")
    return data


def _in_the_way(path: Path, name: str, what: str) -> ConflictError:
    return ConflictError(
        f"{path} {what}",
        hint=f"move it out of {path.parent}; agentsync never writes through it",
        subject=name,
    )


def plan_install(
    layout: Layout,
    new: Lock,
    old: Lock,
    read_upstream: Callable[[LockedAgent], bytes],
    *,
    force: bool = False,
    merge: MergeMode = "keep",
    verified: frozenset[str] = frozenset(),
    cache_root: Path | None = None,
) -> InstallPlan:
    """Compare the new lock with the files on disk and the old lock; decide every action.

    The agents in `verified` (see `still_verified`) are kept without reading upstream; with
    `cache_root`, the names their files give are looked up by hash (`NamesIndex`).
    """
    layout.check(create=False)  # applying the plan creates the folders
    _check_case_clashes(layout, new)
    journal = Journal.load(layout.state_dir)
    old_agents: Mapping[str, LockedAgent] = old.agents
    actions: list[FileAction] = []
    agents = dict(new.agents)
    known: dict[Path, str] = {}  # file -> the sha256 it was verified to hold
    for name, wanted in sorted(new.agents.items()):
        previous = old_agents.get(name)
        if name in verified and not force and previous == wanted and not journal.marks:
            actions.append(FileAction("keep", name, layout.agent_path(name)))
            known[layout.agent_path(name)] = wanted.sha256
            continue
        # --force takes upstream as it is, local edits (or conflict markers) and all
        entry = _pristine(wanted, read_upstream) if force and wanted.local_edits else wanted
        locked, expected, note = _locked_bytes(layout, entry, read_upstream)
        agents[name] = locked
        if previous is not None and previous.local_edits and previous.edits is None:
            # an entry the lock cannot tie to upstream is no base to keep or merge onto
            previous = (
                locked if previous == entry else _locked_bytes(layout, previous, read_upstream)[0]
            )
        action = _plan_agent(layout, locked, previous, expected, journal, force=force)
        if action.kind == "kept-edit" and previous is not None and merge != "keep":
            action = _plan_merge(action, locked, previous, expected, read_upstream, merge)
        if action.kind in {"merged", "conflict-markers"} and action.data is not None:
            agents[name] = with_local_edits(locked, action.data, read_upstream)
        if action.kind in HELD_BACK and previous is not None:
            agents[name] = previous  # the edit blocks this change: keep the old pin
        if note:
            action = replace(action, note=f"{note}; {action.note}" if action.note else note)
        actions.append(action)
    for name, previous in sorted(old_agents.items()):
        if name not in new.agents:
            actions.append(_plan_removal(layout, previous, journal, force=force))
    actions.extend(_plan_leftovers(layout, journal, set(new.agents) | set(old_agents)))
    _check_name_clashes(layout, actions, known, cache_root)
    lock = replace(new, agents=agents)
    return InstallPlan(tuple(actions), lock, lock_unchanged=lock == old)


def still_verified(layout: Layout, lock: Lock, old: Lock) -> frozenset[str]:
    """The agents whose file the last run verified against this very lock entry and that
    have not changed since (same stat, same entry): their bytes are known without reading
    upstream, as git's index knows a clean file. None after an interrupted run."""
    if not layout.state_dir.is_dir() or Journal.load(layout.state_dir).marks:
        return frozenset()
    state = InstalledState.load(layout.state_dir)
    found = set()
    for name, locked in lock.agents.items():
        if old.agents.get(name) != locked or (locked.local_edits and locked.edits is None):
            continue  # a changed entry, or one to tie to upstream again: the full path
        if old.sources.get(locked.source) != lock.sources.get(locked.source):
            continue  # its source moved: the source commit is checked again
        if name_problem(name) is None and state.confirms(
            layout.agent_path(name), entry_fingerprint(lock, name), locked.sha256
        ):
            found.add(name)
    return frozenset(found)


# Actions after which the file holds exactly the bytes its lock entry was verified by.
_VERIFIED = frozenset({"keep", "adopt", "create", "restore", "update", "merged"})


def upstream_bytes(locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]) -> bytes:
    """What agentsync installs for `locked` before any local edits: the verified upstream blob,
    repaired and renamed as locked."""
    upstream = read_upstream(locked)
    if blob_id(upstream) != locked.blob:
        raise IntegrityError(
            f"the cached upstream file {locked.path} does not match blob {locked.blob} "
            "recorded in the lock",
            hint="the cache may be damaged: run again with --refresh",
            subject=locked.name,
        )
    return installed_bytes(locked, upstream)


def expected_bytes(locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]) -> bytes:
    """The exact bytes the lock promises for `locked`, rebuilt from the verified upstream file
    (plus the recorded patch of local edits) and checked against the recorded sha256.

    Nothing on disk is trusted for this: a lock can only bless bytes upstream explains.
    """
    data = upstream_bytes(locked, read_upstream)
    if locked.local_edits:
        if locked.edits is None:
            raise _unpatched(locked)
        try:
            data = apply_patch(data, locked.edits)
        except PatchError as error:
            raise IntegrityError(
                f"the local edits agentsync.lock records do not apply to the upstream file: "
                f"{error}",
                hint=_TAMPERED_HINT,
                subject=locked.name,
            ) from None
    if sha256(data) != locked.sha256:
        raise IntegrityError(
            "the bytes to install do not match the sha256 recorded in agentsync.lock",
            hint=_TAMPERED_HINT,
            subject=locked.name,
        )
    return data


_TAMPERED_HINT = (
    "if the lock was edited by hand, restore it from version control, or delete it and run "
    "`agentsync install` to resolve again"
)


class _Unpatched(IntegrityError):
    """A lock entry that claims local edits but records no patch tying them to upstream."""


def _unpatched(locked: LockedAgent) -> _Unpatched:
    return _Unpatched(
        "agentsync.lock says this agent carries local edits but records no patch that ties "
        "them to the upstream file",
        hint=_TAMPERED_HINT,
        subject=locked.name,
    )


def _pristine(locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]) -> LockedAgent:
    """`locked` without its local edits: the upstream version as agentsync installs it."""
    pristine = replace(locked, local_edits=False, edits=None)
    return replace(pristine, sha256=sha256(upstream_bytes(pristine, read_upstream)))


def with_local_edits(
    locked: LockedAgent, data: bytes, read_upstream: Callable[[LockedAgent], bytes]
) -> LockedAgent:
    """`locked` recording `data` (a merge holding local edits) as a patch on its upstream."""
    pristine = _pristine(locked, read_upstream)
    base = upstream_bytes(pristine, read_upstream)
    if data == base:
        return pristine
    return replace(locked, sha256=sha256(data), local_edits=True, edits=make_patch(base, data))


def _locked_bytes(
    layout: Layout, locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]
) -> tuple[LockedAgent, bytes, str]:
    """The entry to install and its bytes; an entry with local edits but no patch (written by
    an earlier version, or a hand-edited lock) is tied to its bytes through the copy that
    version kept, else it falls back to the pinned upstream version with a note saying so:
    the file on disk, whatever it holds, then counts as a local edit and stays as it is."""
    try:
        return locked, expected_bytes(locked, read_upstream), ""
    except _Unpatched:
        pass
    copy = layout.state_dir / LEGACY_MERGED_DIR / locked.sha256
    try:
        kept = read_regular(copy, MAX_FILE_BYTES)
    except OSError:
        kept = None
    if kept is not None and sha256(kept) == locked.sha256:
        tied = with_local_edits(locked, kept, read_upstream)
        return tied, expected_bytes(tied, read_upstream), ""
    pristine = _pristine(locked, read_upstream)
    note = (
        "agentsync.lock claimed local edits it cannot tie to the upstream file (edited by "
        "hand?); the lock now pins the upstream version"
    )
    return pristine, upstream_bytes(pristine, read_upstream), note


def _plan_merge(
    action: FileAction,
    locked: LockedAgent,
    previous: LockedAgent,
    expected: bytes,
    read_upstream: Callable[[LockedAgent], bytes],
    merge: MergeMode,
) -> FileAction:
    """3-way merge of a locally edited file: base is what agentsync installed for the old pin
    (before any local edits), ours the file on disk, theirs the new version."""
    from agentsync.vcs import merge_file

    base = upstream_bytes(replace(previous, local_edits=False, edits=None), read_upstream)
    ours = read_installed(action.path, action.name) or b""
    labels = (f"{locked.name}.md {LOCAL_LABEL}", "pinned", UPSTREAM_LABEL)
    try:
        merged, conflicts = merge_file(
            base, ours, expected, labels=labels, markers=merge == "markers"
        )
    except AgentsyncError as error:
        error.subject = error.subject or locked.name  # which agent could not be merged
        raise
    if not conflicts:
        if merged == expected:
            return replace(
                action, kind="update", data=expected, note="local edits already upstream"
            )
        return replace(action, kind="merged", data=merged, note="local edits merged")
    if merge == "markers":
        return replace(
            action,
            kind="conflict-markers",
            data=merged,
            note="conflict markers written: resolve them in the file (it is pinned to the new "
            "version)",
        )
    return replace(
        action,
        kind="conflict",
        data=None,
        note="local edits conflict with the new version; the file was left as it is",
    )


def _plan_agent(
    layout: Layout,
    locked: LockedAgent,
    previous: LockedAgent | None,
    expected: bytes,
    journal: Journal,
    *,
    force: bool,
) -> FileAction:
    path = layout.agent_path(locked.name)
    current = read_installed(path, locked.name)
    if current is None:
        kind: ActionKind = "restore" if previous is not None else "create"
        return FileAction(kind, locked.name, path, expected)
    if current == expected:
        if unresolved_markers(current, locked.name) is not None:
            return FileAction("conflicted", locked.name, path, note=_MARKERS_NOTE)
        return FileAction("keep" if previous is not None else "adopt", locked.name, path)
    digest = sha256(current)
    mark = journal.mark(locked.name, digest)
    if mark is not None and mark.kind != "plain" and mark.blob == locked.blob:
        # A killed run already wrote this merge of the local edits onto this very version:
        # finish it (write the same bytes again, record them in the lock).
        return FileAction(mark.kind, locked.name, path, current, note="local edits merged")
    ours = (mark is not None and mark.kind == "plain") or (
        previous is not None and digest == previous.sha256 and not previous.local_edits
    )
    if ours:
        return FileAction("update", locked.name, path, expected)
    if previous is None:
        # Not agentsync's file: --force never applies to it.
        raise ConflictError(
            f"{path} already exists and was not installed by agentsync",
            hint="move or rename that file, or install this agent under another name: "
            f'{locked.name}-2 = {{ source = "{locked.source}", agent = "{locked.upstream_name}" }}',
            subject=locked.name,
        )
    if force:
        return FileAction("update", locked.name, path, expected, note="replaced local edits")
    if unresolved_markers(current, locked.name) is not None:
        return FileAction("conflicted", locked.name, path, note=_MARKERS_NOTE)
    if previous.sha256 == locked.sha256:
        return FileAction("modified", locked.name, path, note="local edits kept")
    return FileAction(
        "kept-edit",
        locked.name,
        path,
        note="has local edits; the new version was not written (use --force to replace it)",
    )


LOCAL_LABEL, UPSTREAM_LABEL = "(local)", "upstream"  # how merges label the two sides


def unresolved_markers(data: bytes, name: str) -> int | None:
    """The line of the first unresolved conflict in an installed agent's bytes, or None.

    Conflict markers agentsync's own merges wrote count anywhere, even inside a fenced code
    block (the conflict may fall in one); other markers count as `check` counts them.
    """
    if b"<<<<<<< " not in data:
        return conflict_marker_line(data)
    own = re.compile(
        rb"^<{7} " + re.escape(f"{name}.md {LOCAL_LABEL}".encode()) + rb"\r?\n"
        rb"(?:.*\n)*?={7}\r?\n(?:.*\n)*?>{7} " + re.escape(UPSTREAM_LABEL.encode()) + rb"\r?$",
        re.MULTILINE,
    ).search(data)
    if own is not None:
        return data.count(b"\n", 0, own.start()) + 1
    return conflict_marker_line(data)


_MARKERS_NOTE = (
    "holds unresolved conflict markers (<<<<<<< ... >>>>>>>): resolve them in the file; "
    "nothing else is written for it until then"
)


def _plan_removal(
    layout: Layout, previous: LockedAgent, journal: Journal, *, force: bool
) -> FileAction:
    path = layout.agent_path(previous.name)
    current = read_installed(path, previous.name)
    if current is None:
        return FileAction("remove", previous.name, path, note="already gone")
    digest = sha256(current)
    mark = journal.mark(previous.name, digest)
    ours = (mark is not None and mark.kind == "plain") or (
        digest == previous.sha256 and not previous.local_edits
    )
    if ours or force:
        return FileAction("remove", previous.name, path)
    return FileAction(
        "orphaned",
        previous.name,
        path,
        note="has local edits, so it was left in place and is no longer managed",
    )


def _plan_leftovers(layout: Layout, journal: Journal, locked: set[str]) -> list[FileAction]:
    """Files a killed run created for agents neither lock knows (e.g. an `update` killed
    before its lock was written, rerun as `install`): ours by the journal, so removed."""
    actions = []
    for name in sorted(journal.names() - locked):
        if not is_safe_name(name):
            continue  # the journal is ours, but never trust a name to stay in the folder
        path = layout.agent_path(name)
        current = disk_sha(path)
        mark = journal.mark(name, current) if current is not None else None
        if mark is not None and mark.kind == "plain":
            actions.append(FileAction("remove", name, path, note="left by an interrupted run"))
    return actions


def _check_case_clashes(layout: Layout, lock: Lock) -> None:
    """Names that differ only in case share one file on macOS and Windows: a lock holding
    both (or one beside a same-name file of other case) could not be installed there."""
    seen: dict[str, str] = {}
    for name in sorted(lock.agents):
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise _case_clash(other, name)
    try:
        present = [p.name.removesuffix(".md") for p in layout.target.iterdir()]
    except OSError:
        return
    for found in present:
        wanted = seen.get(found.casefold())
        if wanted is not None and wanted != found:
            raise _case_clash(wanted, f"{found} (the file {found}.md in {layout.target})")


def _case_clash(first: str, second: str) -> ConflictError:
    return ConflictError(
        f"'{first}' and '{second}' differ only in case, so they would be one file on macOS "
        "and Windows",
        hint="install one of them under another name in [agents] of agentsync.toml",
        subject=first,
    )


def _check_name_clashes(
    layout: Layout,
    actions: list[FileAction],
    known: Mapping[Path, str] | None = None,
    cache_root: Path | None = None,
) -> None:
    """Two agents may never share a frontmatter name, counting unmanaged files.

    `known` maps files verified this run to the sha256 they hold; with `cache_root`, the
    name such bytes give is looked up instead of reading and parsing the file again."""
    incoming = {a.name: a for a in actions if a.kind in WRITES}
    if not incoming or not layout.target.is_dir():
        return
    names = NamesIndex(cache_root, code_key()) if cache_root is not None else None
    for path in agent_files(layout.target):
        name = _name_in(path, (known or {}).get(path), names)
        action = incoming.get(name) if name else None
        if action is None or path == action.path:
            continue
        raise ConflictError(
            f"another file in {layout.target} already uses the name '{name}': {path}",
            hint="Claude Code would load only one of them; rename or remove that file, or "
            f"install this agent under another name (`{name}-2 = {{ source = ..., "
            f'agent = "{name}" }}` in agentsync.toml)',
            subject=name,
        )
    if names is not None:
        names.save()


def _name_in(path: Path, digest: str | None, names: NamesIndex | None) -> str | None:
    """`file_name_of(path)`, answered from `names` when the bytes' sha256 is known there."""
    if names is None:
        return file_name_of(path)
    found = names.get(digest) if digest is not None else None
    if found is None:
        data = _regular_bytes(path)
        if data is None:
            return None
        key = sha256(data)
        found = names.get(key)
        if found is None:
            found = _name_of(data) or ""
            names.put(key, found)
    return found or None


@dataclass(frozen=True)
class ApplyResult:
    """What `apply_plan` changed on disk."""

    lock_changed: bool


def apply_plan(plan: InstallPlan, layout: Layout) -> ApplyResult:
    """Write agent files atomically, then the lock; a crash leaves the old or new state, and
    the journal lets the rerun tell agentsync's own bytes from merges holding local edits."""
    layout.check()
    # The record of a clean project vouches for the files as they are: not while they change.
    forget_clean_state(layout.state_dir)
    for folder in (layout.target, layout.lock_path.parent, layout.state_dir, layout.staging):
        clean_stale_temps(folder)  # left by a killed run (we hold the project's run lock)
    changes = plan.changes
    journal = Journal.load(layout.state_dir)
    if changes:
        journal.record(((a.name, a.data, a.kind) for a in changes if a.data), plan.lock)
    # All new bytes reach the disk in one sync, then each file is renamed into place.
    atomic_write_many(
        [(a.path, a.data) for a in changes if a.kind != "remove" and a.data is not None],
        staging=layout.staging,
    )
    for action in changes:
        if action.kind == "remove":
            atomic_delete(action.path)
    # A lock that says what it said needs no new bytes (nor a comparison of serialised ones).
    lock_changed = False if plan.lock_unchanged else write_lock(layout.lock_path, plan.lock)
    # Always: a journal left by a killed run is settled once the lock matches the files.
    journal.clear()
    _remember_verified(plan, layout)
    remember_parsed(layout.lock_path, layout.state_dir, plan.lock)
    return ApplyResult(lock_changed)


def _remember_verified(plan: InstallPlan, layout: Layout) -> None:
    """Record the files this run left holding verified bytes, for the next run's stat."""
    verified = []
    for action in plan.actions:
        entry = plan.lock.agents.get(action.name)
        if entry is None or action.kind not in _VERIFIED:
            continue
        if action.data is not None and sha256(action.data) != entry.sha256:
            continue
        if entry.local_edits and entry.edits is None:
            continue
        verified.append((action.path, entry_fingerprint(plan.lock, action.name), entry.sha256))
    InstalledState.load(layout.state_dir).save(verified)


def disk_sha(path: Path) -> Sha256 | None:
    """sha256 of the regular file at `path`, or None when nothing readable is there."""
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError:
        return None
    return sha256(data) if data is not None else None
