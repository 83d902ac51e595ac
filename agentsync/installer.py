"""Installation: lock -> files in the target folder, as a plan computed first and applied second."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from agentsync._fs import atomic_delete, atomic_write, clean_stale_temps
from agentsync.errors import ConflictError, IntegrityError, ResolveError
from agentsync.frontmatter import parse_agent, walk_agent_files
from agentsync.ids import Sha256, blob_id, sha256
from agentsync.lockfile import Lock, LockedAgent, write_lock
from agentsync.manifest import NAME_RE
from agentsync.resolve import installed_bytes

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
]
WRITES: frozenset[str] = frozenset({"create", "restore", "update", "merged", "conflict-markers"})
HELD_BACK: frozenset[str] = frozenset({"kept-edit", "conflict"})
JOURNAL = "journal.json"
MERGED_DIR = "merged"  # .agentsync/merged/<sha256>: merged bytes, to restore a deleted file

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

    @property
    def changes(self) -> tuple[FileAction, ...]:
        return tuple(a for a in self.actions if a.writes)

    @property
    def kept_edits(self) -> tuple[FileAction, ...]:
        return tuple(a for a in self.actions if a.kind in {"kept-edit", "orphaned"})


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
        if not NAME_RE.match(name):
            # Last line of defence: whatever reached the plan, a name never leaves the folder.
            raise ResolveError(
                f"{name!r} is not a safe agent file name",
                hint="use letters, digits, '.', '_' and '-' for installed names",
                subject=name,
            )
        return self.target / f"{name}.md"


@dataclass
class _Journal:
    """Hashes a run is about to write, so a rerun after a crash recognises its own files."""

    path: Path
    shas: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> _Journal:
        path = state_dir / JOURNAL
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            shas = {str(k): [str(s) for s in v] for k, v in raw.get("shas", {}).items()}
        except (OSError, ValueError, AttributeError):
            shas = {}
        return cls(path, shas)

    def known(self, name: str) -> set[str]:
        return set(self.shas.get(name, ()))

    def record(self, actions: tuple[FileAction, ...]) -> None:
        for action in actions:
            if action.data is not None:
                self.shas.setdefault(action.name, []).append(sha256(action.data))
        atomic_write(self.path, json.dumps({"shas": self.shas}, sort_keys=True).encode())

    def clear(self) -> None:
        atomic_delete(self.path)


def agent_files(folder: Path) -> Iterator[Path]:
    """Every file Claude Code would read below `folder` (frontmatter.walk_agent_files)."""
    return (path for _relative, path in walk_agent_files(folder))


def file_name_of(path: Path) -> str | None:
    """The agent name Claude Code would read from `path` (or its evident name)."""
    try:
        parsed = parse_agent(path.read_bytes())
    except OSError:
        return None
    return parsed.name if parsed.loads else parsed.evident_name


def plan_install(
    layout: Layout,
    new: Lock,
    old: Lock | None,
    read_upstream: Callable[[LockedAgent], bytes],
    *,
    force: bool = False,
    merge: MergeMode = "keep",
) -> InstallPlan:
    """Compare the new lock with the files on disk and the old lock; decide every action."""
    journal = _Journal.load(layout.state_dir)
    old_agents: Mapping[str, LockedAgent] = old.agents if old else {}
    actions: list[FileAction] = []
    agents = dict(new.agents)
    for name, entry in sorted(new.agents.items()):
        previous = old_agents.get(name)
        locked, expected, note = entry, b"", ""
        if entry.local_edits:
            expected, locked, note = _merged_expected(layout, entry, read_upstream)
            agents[name] = locked
        else:
            expected = expected_bytes(entry, read_upstream)
        action = _plan_agent(layout, locked, previous, expected, journal, force=force)
        if action.kind == "kept-edit" and previous is not None and merge != "keep":
            action = _plan_merge(action, locked, previous, expected, read_upstream, merge)
            if action.kind in {"merged", "conflict-markers"} and action.data is not None:
                agents[name] = replace(locked, sha256=sha256(action.data), local_edits=True)
        if action.kind in HELD_BACK and previous is not None:
            agents[name] = previous  # the edit blocks this change: keep the old pin
        if note and action.kind == "restore":
            action = replace(action, note=note)
        actions.append(action)
    for name, previous in sorted(old_agents.items()):
        if name not in new.agents:
            actions.append(_plan_removal(layout, previous, journal, force=force))
    actions.extend(_plan_leftovers(layout, journal, set(new.agents) | set(old_agents)))
    _check_name_clashes(layout, actions)
    return InstallPlan(tuple(actions), replace(new, agents=agents))


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
    """The exact bytes the lock promises for `locked`, verified against both recorded hashes."""
    data = upstream_bytes(locked, read_upstream)
    if sha256(data) != locked.sha256:
        raise IntegrityError(
            "the bytes to install do not match the sha256 recorded in agentsync.lock",
            hint="if the lock was edited by hand, restore it from version control, or delete "
            "it and run `agentsync install` to resolve again",
            subject=locked.name,
        )
    return data


def _merged_expected(
    layout: Layout, locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]
) -> tuple[bytes, LockedAgent, str]:
    """The bytes for an entry carrying merged local edits, which upstream alone cannot rebuild.

    They come from the file on disk or the copy kept in .agentsync/merged/ when either has
    the locked hash; failing both, the pinned upstream version is restored and the entry
    drops its local edits (returned with a note saying so).
    """
    for place in (layout.agent_path(locked.name), merged_copy(layout, locked.sha256)):
        try:
            data = place.read_bytes()
        except OSError:
            continue
        if sha256(data) == locked.sha256:
            return data, locked, ""
    pristine = replace(locked, local_edits=False)
    data = upstream_bytes(pristine, read_upstream)
    note = "its merged local edits were not available; restored the pinned upstream version"
    return data, replace(pristine, sha256=sha256(data)), note


def merged_copy(layout: Layout, digest: str) -> Path:
    """Where the bytes of a merge with local edits are kept (outside the target folder)."""
    return layout.state_dir / MERGED_DIR / digest


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

    base = upstream_bytes(previous, read_upstream)
    ours = action.path.read_bytes()
    labels = (f"{locked.name}.md (local)", "pinned", "upstream")
    merged, conflicts = merge_file(base, ours, expected, labels=labels, markers=merge == "markers")
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
    journal: _Journal,
    *,
    force: bool,
) -> FileAction:
    path = layout.agent_path(locked.name)
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        kind: ActionKind = "restore" if previous is not None else "create"
        return FileAction(kind, locked.name, path, expected)
    if current == expected:
        return FileAction("keep" if previous is not None else "adopt", locked.name, path)
    ours = _ours(previous, journal, locked.name)
    # A file holding merged local edits is still the user's work even when unedited since.
    carries_edits = previous is not None and previous.local_edits
    if (sha256(current) in ours and not carries_edits) or force:
        return FileAction("update", locked.name, path, expected)
    if previous is None:
        raise ConflictError(
            f"{path} already exists and was not installed by agentsync",
            hint="move or rename that file, or install this agent under another name: "
            f'{locked.name}-2 = {{ source = "{locked.source}", agent = "{locked.upstream_name}" }}',
            subject=locked.name,
        )
    if previous.sha256 == locked.sha256:
        return FileAction("modified", locked.name, path, note="local edits kept")
    return FileAction(
        "kept-edit",
        locked.name,
        path,
        note="has local edits; the new version was not written (use --force to replace it)",
    )


def _plan_removal(
    layout: Layout, previous: LockedAgent, journal: _Journal, *, force: bool
) -> FileAction:
    path = layout.agent_path(previous.name)
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return FileAction("remove", previous.name, path, note="already gone")
    if sha256(current) in _ours(previous, journal, previous.name) or force:
        return FileAction("remove", previous.name, path)
    return FileAction(
        "orphaned",
        previous.name,
        path,
        note="has local edits, so it was left in place and is no longer managed",
    )


def _plan_leftovers(layout: Layout, journal: _Journal, locked: set[str]) -> list[FileAction]:
    """Files a killed run created for agents neither lock knows (e.g. an `update` killed
    before its lock was written, rerun as `install`): ours by the journal, so removed."""
    actions = []
    for name in sorted(set(journal.shas) - locked):
        if not NAME_RE.match(name):
            continue  # the journal is ours, but never trust a name to stay in the folder
        path = layout.agent_path(name)
        current = disk_sha(path)
        if current is not None and current in journal.known(name):
            actions.append(FileAction("remove", name, path, note="left by an interrupted run"))
    return actions


def _ours(previous: LockedAgent | None, journal: _Journal, name: str) -> set[str]:
    known = journal.known(name)
    if previous is not None:
        known.add(previous.sha256)
    return known


def _check_name_clashes(layout: Layout, actions: list[FileAction]) -> None:
    """SPEC §3: two agents may never share a frontmatter name, counting unmanaged files."""
    incoming = {a.name: a for a in actions if a.kind in WRITES}
    if not incoming or not layout.target.is_dir():
        return
    for path in agent_files(layout.target):
        name = file_name_of(path)
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


@dataclass(frozen=True)
class ApplyResult:
    """What `apply_plan` changed on disk."""

    written: tuple[FileAction, ...]
    lock_changed: bool


def apply_plan(plan: InstallPlan, layout: Layout) -> ApplyResult:
    """Write agent files atomically, then the lock; a crash leaves the old or new state."""
    for folder in (layout.target, layout.lock_path.parent, layout.state_dir, layout.staging):
        clean_stale_temps(folder)  # left by a killed run (we hold the project's run lock)
    changes = plan.changes
    journal = _Journal.load(layout.state_dir)
    if changes:
        journal.record(changes)
    _save_merged_copies(plan, layout)
    for action in changes:
        if action.kind == "remove":
            atomic_delete(action.path)
        else:
            assert action.data is not None  # noqa: S101 - WRITES always carry data
            atomic_write(action.path, action.data, staging=layout.staging)
    lock_changed = write_lock(layout.lock_path, plan.lock)
    _prune_merged_copies(plan, layout)
    # Always: a journal left by a killed run is settled once the lock matches the files.
    journal.clear()
    return ApplyResult(changes, lock_changed)


def _save_merged_copies(plan: InstallPlan, layout: Layout) -> None:
    """Keep the bytes of every merge: upstream alone cannot rebuild them if the file is lost."""
    for action in plan.changes:
        if action.kind in {"merged", "conflict-markers"} and action.data is not None:
            copy = merged_copy(layout, sha256(action.data))
            if not copy.exists():
                atomic_write(copy, action.data)


def _prune_merged_copies(plan: InstallPlan, layout: Layout) -> None:
    """Drop saved merges that no lock entry refers to (after the lock is written)."""
    wanted = {a.sha256 for a in plan.lock.agents.values() if a.local_edits}
    folder = layout.state_dir / MERGED_DIR
    if folder.is_dir():
        for stale in folder.iterdir():
            if stale.name not in wanted and len(stale.name) == 64:
                atomic_delete(stale)


def disk_sha(path: Path) -> Sha256 | None:
    """sha256 of the file at `path`, or None when it does not exist."""
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None
