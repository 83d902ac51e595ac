"""Installation: lock -> files in the target folder, as a plan computed first and applied second."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from agentsync._fs import atomic_delete, atomic_write, clean_stale_temps
from agentsync.errors import ConflictError, IntegrityError
from agentsync.frontmatter import parse_agent
from agentsync.ids import Sha256, blob_id, sha256
from agentsync.lockfile import Lock, LockedAgent, write_lock
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
]
WRITES: frozenset[str] = frozenset({"create", "restore", "update"})
JOURNAL = "journal.json"


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

    def agent_path(self, name: str) -> Path:
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
    """Every file Claude Code would read below `folder`: any depth, hidden too, links followed."""
    seen: set[tuple[int, int]] = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir():
                    stat = entry.stat()
                    if (stat.st_dev, stat.st_ino) not in seen:
                        seen.add((stat.st_dev, stat.st_ino))
                        stack.append(path)
                elif entry.name.endswith(".md") and entry.is_file():
                    yield path
            except OSError:
                continue


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
) -> InstallPlan:
    """Compare the new lock with the files on disk and the old lock; decide every action."""
    journal = _Journal.load(layout.state_dir)
    old_agents: Mapping[str, LockedAgent] = old.agents if old else {}
    actions: list[FileAction] = []
    agents = dict(new.agents)
    for name, locked in sorted(new.agents.items()):
        previous = old_agents.get(name)
        expected = expected_bytes(locked, read_upstream)
        action = _plan_agent(layout, locked, previous, expected, journal, force=force)
        if action.kind == "kept-edit" and previous is not None:
            agents[name] = previous  # the edit blocks this change: keep the old pin
        actions.append(action)
    for name, previous in sorted(old_agents.items()):
        if name not in new.agents:
            actions.append(_plan_removal(layout, previous, journal, force=force))
    _check_name_clashes(layout, actions)
    return InstallPlan(tuple(actions), replace(new, agents=agents))


def expected_bytes(locked: LockedAgent, read_upstream: Callable[[LockedAgent], bytes]) -> bytes:
    """The exact bytes the lock promises for `locked`, verified against both recorded hashes."""
    upstream = read_upstream(locked)
    if blob_id(upstream) != locked.blob:
        raise IntegrityError(
            f"the cached upstream file {locked.path} does not match blob {locked.blob} "
            "recorded in the lock",
            hint="the cache may be damaged: run again with --refresh",
            subject=locked.name,
        )
    data = installed_bytes(locked, upstream)
    if sha256(data) != locked.sha256:
        raise IntegrityError(
            "the bytes to install do not match the sha256 recorded in agentsync.lock",
            hint="if the lock was edited by hand, restore it from version control, or delete "
            "it and run `agentsync install` to resolve again",
            subject=locked.name,
        )
    return data


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
    if sha256(current) in ours or force:
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
    clean_stale_temps(layout.target)
    changes = plan.changes
    journal = _Journal.load(layout.state_dir)
    if changes:
        journal.record(changes)
    for action in changes:
        if action.kind == "remove":
            atomic_delete(action.path)
        else:
            assert action.data is not None  # noqa: S101 - WRITES always carry data
            atomic_write(action.path, action.data)
    lock_changed = write_lock(layout.lock_path, plan.lock)
    if changes:
        journal.clear()
    return ApplyResult(changes, lock_changed)


def disk_sha(path: Path) -> Sha256 | None:
    """sha256 of the file at `path`, or None when it does not exist."""
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None
