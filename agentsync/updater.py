"""Updates: move pins, show what changed and what it grants, merge local edits, many projects."""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from agentsync._fs import batched_dir_sync
from agentsync.agenttools import split_tools
from agentsync.errors import AgentsyncError, ResolveError, UsageError
from agentsync.frontmatter import parse_agent
from agentsync.ids import Commit, is_full_commit, short
from agentsync.installer import (
    FileAction,
    InstallPlan,
    MergeMode,
    apply_plan,
    plan_install,
    upstream_bytes,
)
from agentsync.lockfile import Lock, LockedAgent
from agentsync.manifest import MANIFEST_NAME, Manifest
from agentsync.operations import (
    RUN_LOCK_WAIT,
    AgentRequest,
    Options,
    Session,
    install_diagnostics,
    read_upstream,
    session,
)
from agentsync.project import find_project
from agentsync.resolve import Drift, Policy, Resolution, Resolver, UpdateScope
from agentsync.textsafe import lines as text_lines

if TYPE_CHECKING:
    from agentsync.store import Store

# Tools that let an agent change files, run commands or reach the network.
RISKY_TOOLS = frozenset({"Bash", "Write", "Edit", "MultiEdit", "NotebookEdit", "WebFetch"})
_CALM_MODES = frozenset({None, "default", "plan"})
_SKIPPED_DIRS = frozenset({"node_modules", "venv", "env", "__pycache__", "site-packages"})

ChangeStatus = Literal[
    "new",  # installed for the first time
    "updated",  # the agent's file changed upstream and was rewritten
    "merged",  # local edits merged cleanly with the new version
    "conflict",  # local edits conflict: file untouched, pin held back
    "markers",  # conflict markers written into the file, pin held back
    "kept-edit",  # local edits kept, pin held back
    "moved",  # the pin moved but the agent's file did not change (not rewritten)
    "unchanged",  # nothing moved
    "pinned",  # a commit pin: never moves
    "removed-upstream",  # gone from its source: kept installed at the old pin
    "held",  # the new version would not load in Claude Code: kept at the old pin
    "removed",  # dropped from the manifest
    "orphaned",  # dropped from the manifest but locally edited: left in place
    "behind",  # (outdated) the agent's file differs at the newest commit
]
_FAILING: frozenset[str] = frozenset({"conflict", "markers", "kept-edit", "orphaned"})


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """Where an agent is pinned: a commit, and a tag naming it when there is one."""

    commit: Commit
    tag: str | None = None

    @property
    def label(self) -> str:
        return self.tag or short(self.commit)


@dataclass(frozen=True)
class Grant:
    """One way a new version lets an agent do more than before."""

    what: str  # "tools", "disallowedTools", "permissionMode", "hooks", "mcpServers", "model"
    detail: str
    risky: bool

    @property
    def text(self) -> str:
        return f"{self.what}: {self.detail}"


@dataclass(frozen=True)
class AgentChange:
    """One agent's row in the update (or outdated) table."""

    agent: str
    source: str
    status: ChangeStatus
    old: Pin | None
    new: Pin | None
    added: int = 0
    removed: int = 0
    grants: tuple[Grant, ...] = ()
    drift: tuple[Drift, ...] = ()
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status in _FAILING


@dataclass(frozen=True)
class ProjectUpdate:
    """What `update` did (or, with --dry-run, would do) in one project."""

    root: Path
    changes: tuple[AgentChange, ...]
    warnings: tuple[str, ...] = ()
    dry_run: bool = False
    applied: bool = False
    lock_changed: bool = False
    error: AgentsyncError | None = None

    @property
    def conflicts(self) -> tuple[AgentChange, ...]:
        return tuple(c for c in self.changes if c.failed)

    @property
    def ok(self) -> bool:
        held = any(c.status == "held" for c in self.changes)
        return self.error is None and not self.conflicts and not held


@dataclass(frozen=True)
class ProjectOutdated:
    """Agents of one project whose pins are behind, pinned, moved or gone upstream."""

    root: Path
    changes: tuple[AgentChange, ...]
    warnings: tuple[str, ...] = ()
    error: AgentsyncError | None = None

    @property
    def behind(self) -> tuple[AgentChange, ...]:
        return tuple(c for c in self.changes if c.status == "behind")

    @property
    def ok(self) -> bool:
        """False when something needs attention: behind, gone upstream, moved tags, an error."""
        attention = any(c.status in {"behind", "removed-upstream"} or c.drift for c in self.changes)
        return self.error is None and not attention


R = TypeVar("R", ProjectUpdate, ProjectOutdated)


@dataclass(frozen=True)
class Recursive(Generic[R]):
    """One report per project found below a folder."""

    root: Path
    projects: tuple[R, ...]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.projects)


@dataclass(frozen=True)
class DiffReport:
    """A unified diff of one agent: local edits, or the pinned version against the update."""

    agent: str
    old_label: str
    new_label: str
    text: str
    note: str = ""


# -- update -----------------------------------------------------------------------------------


def update(
    options: Options,
    names: Sequence[str] = (),
    *,
    force: bool = False,
    merge: MergeMode = "auto",
    dry_run: bool = False,
) -> ProjectUpdate:
    """Move pins to the newest commit of each ref or range and rewrite what changed."""
    with session(options, locked=not dry_run) as run:
        return _update_project(run, names, force=force, merge=merge, dry_run=dry_run)


def _update_project(
    run: Session,
    names: Sequence[str],
    *,
    force: bool,
    merge: MergeMode,
    dry_run: bool,
    fetched: set[str] | None = None,
    all_or_nothing: bool = False,
) -> ProjectUpdate:
    manifest = run.manifest()
    old = run.lock()
    scope = _scope(names, manifest, old)
    resolution = _resolver(run, manifest, old, scope, force, fetched).run()
    read = _reader(run, manifest)
    layout = run.layout(manifest)
    plan = plan_install(layout, resolution.lock, old, read, force=force, merge=merge)
    changes = _changes(run, manifest, old, resolution, plan, read)
    warnings = resolution.warnings + install_diagnostics(plan.changes)
    report = ProjectUpdate(run.project.root, changes, warnings, dry_run=dry_run)
    if dry_run or (all_or_nothing and report.conflicts):
        return report
    with batched_dir_sync():
        result = apply_plan(plan, layout)
    return replace(report, applied=True, lock_changed=result.lock_changed)


def _scope(names: Sequence[str], manifest: Manifest, old: Lock | None) -> UpdateScope:
    if not names:
        return "all"
    wanted: set[str] = set()
    for text in names:
        request = AgentRequest.parse(text)
        if request.ref is not None or request.is_glob:
            raise UsageError(
                f"'{text}': update takes installed agent names",
                hint=f"to change a pin, run `agentsync install {text}`",
            )
        wanted.add(request.name)
    known = set(old.agents if old else ()) | set(manifest.agents)
    unknown = sorted(wanted - known)
    if unknown:
        raise UsageError(
            f"not installed: {', '.join(unknown)}",
            hint="see what is installed with `agentsync status`",
        )
    return frozenset(wanted)


def _resolver(
    run: Session,
    manifest: Manifest,
    old: Lock | None,
    scope: UpdateScope,
    force: bool,
    fetched: set[str] | None,
) -> Resolver:
    return Resolver(
        manifest,
        run.store,
        old,
        update=scope,
        policy=Policy(force=force),
        keep_missing=True,
        fetched=fetched if fetched is not None else set(),
    )


def _reader(run: Session, manifest: Manifest) -> Callable[[LockedAgent], bytes]:
    """Reads a locked file as `install` does (at its commit and path, checked)."""
    return lambda locked: read_upstream(run, manifest, locked)


# -- the change table -------------------------------------------------------------------------


@dataclass
class _Rows:
    """Builds table rows for one project; looks up tags once per mirror."""

    run: Session
    manifest: Manifest
    old: Lock | None
    resolution: Resolution
    read: Callable[[LockedAgent], bytes]
    _tags: dict[str, dict[Commit, list[str]]] = field(default_factory=dict)

    def row(self, name: str, status: ChangeStatus, note: str = "") -> AgentChange:
        previous = self.old.agents.get(name) if self.old else None
        target = self.resolution.lock.agents.get(name)
        entry = target or previous
        assert entry is not None  # noqa: S101 - every row names an agent of one lock or the other
        added = removed = 0
        grants: tuple[Grant, ...] = ()
        if previous is not None and target is not None and previous.blob != target.blob:
            before, after = self._bytes(previous), self._bytes(target)
            if before is not None and after is not None:
                added, removed = line_counts(before, after)
                grants = widened(before, after)
        return AgentChange(
            agent=name,
            source=entry.source,
            status=status,
            old=self.pin(previous, self.old) if previous else None,
            new=self.pin(target, self.resolution.lock) if target else None,
            added=added,
            removed=removed,
            grants=grants,
            drift=self.drift_of(entry),
            note=note,
        )

    def _bytes(self, locked: LockedAgent) -> bytes | None:
        if locked.source not in self.manifest.sources:
            return None
        return upstream_bytes(replace(locked, local_edits=False), self.read)

    def drift_of(self, entry: LockedAgent) -> tuple[Drift, ...]:
        own_pin = entry.ref is not None or entry.version is not None
        return tuple(
            d
            for d in self.resolution.drift
            if d.source == entry.source and (d.agent == entry.name if own_pin else d.agent is None)
        )

    def pin(self, locked: LockedAgent, lock: Lock | None) -> Pin:
        source = lock.sources.get(locked.source) if lock else None
        preferred = locked.resolved or locked.ref
        if locked.ref is None and locked.version is None and source is not None:
            preferred = source.resolved or source.ref
        tags = self._tags_at(locked.source).get(locked.commit, [])
        if preferred in tags:
            return Pin(locked.commit, preferred)
        return Pin(locked.commit, tags[-1] if tags else None)

    def _tags_at(self, source: str) -> dict[Commit, list[str]]:
        if source not in self._tags:
            by_commit: dict[Commit, list[str]] = {}
            try:
                if source in self.manifest.sources:
                    for tag, commit in sorted(
                        self.run.mirror(self.manifest, source).tags().items()
                    ):
                        by_commit.setdefault(commit, []).append(tag)
            except AgentsyncError:
                pass  # no tags to show is fine: the short commit labels the pin
            self._tags[source] = by_commit
        return self._tags[source]


def _changes(
    run: Session,
    manifest: Manifest,
    old: Lock | None,
    resolution: Resolution,
    plan: InstallPlan,
    read: Callable[[LockedAgent], bytes],
) -> tuple[AgentChange, ...]:
    rows = _Rows(run, manifest, old, resolution, read)
    changes = []
    for action in plan.actions:
        previous = old.agents.get(action.name) if old else None
        target = resolution.lock.agents.get(action.name)
        if previous is None and target is None:
            continue  # a file an interrupted run left behind: not an agent of either lock
        status = _status(action, previous, target, resolution)
        changes.append(rows.row(action.name, status, _note(action, status)))
    return tuple(changes)


def _status(
    action: FileAction,
    previous: LockedAgent | None,
    target: LockedAgent | None,
    resolution: Resolution,
) -> ChangeStatus:
    by_kind: dict[str, ChangeStatus] = {
        "merged": "merged",
        "conflict": "conflict",
        "conflicted": "conflict",
        "conflict-markers": "markers",
        "kept-edit": "kept-edit",
        "orphaned": "orphaned",
        "remove": "removed",
    }
    if action.name in resolution.gone:
        return "removed-upstream"
    if action.name in resolution.held:
        return "held"
    if action.kind in by_kind:
        return by_kind[action.kind]
    if previous is None or target is None:
        return "new"
    if _is_commit_pin(previous):
        return "pinned"
    if previous.blob != target.blob or previous.path != target.path:
        return "updated"
    return "moved" if previous.commit != target.commit else "unchanged"


def _note(action: FileAction, status: ChangeStatus) -> str:
    if status == "removed-upstream":
        return "no longer in its source; kept installed at the old pin"
    if status == "held":
        return "the new version would not load in Claude Code; kept at the old pin"
    if action.kind == "modified":
        return "local edits kept"
    if action.kind == "update" and action.note:
        return action.note
    if action.kind == "update" and status in {"moved", "unchanged"}:
        return "replaced a locally edited file"
    return action.note if status in _FAILING else ""


def _is_commit_pin(locked: LockedAgent) -> bool:
    return locked.ref is not None and is_full_commit(locked.ref)


def line_counts(before: bytes, after: bytes) -> tuple[int, int]:
    """(lines added, lines removed) going from `before` to `after`."""
    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


# -- what a new version grants ----------------------------------------------------------------


def widened(before: bytes, after: bytes) -> tuple[Grant, ...]:
    """Changes from `before` to `after` that let the agent do more, as Claude Code reads them."""
    old, new = parse_agent(before), parse_agent(after)
    if not new.loads:
        return ()  # Claude Code will not load it at all: nothing is granted
    old_fields: dict[str, Any] = dict(old.fields) if old.loads else {}
    grants = _tool_grants(old.tools if old.loads else (), new.tools)
    grants += _disallowed_grants(old_fields, dict(new.fields))
    grants += _setting_grants(old_fields, dict(new.fields))
    return tuple(grants)


def _tool_grants(old: tuple[str, ...] | None, new: tuple[str, ...] | None) -> list[Grant]:
    if new is None:
        if old is None:
            return []
        return [Grant("tools", "all tools (the tools line was removed)", risky=True)]
    if old is None:
        return []  # it had every tool already
    return [Grant("tools", f"+{tool}", _risky(tool)) for tool in new if tool not in old]


def _disallowed_grants(old: dict[str, Any], new: dict[str, Any]) -> list[Grant]:
    before = split_tools(old.get("disallowedTools")) or ()
    after = split_tools(new.get("disallowedTools")) or ()
    return [
        Grant("disallowedTools", f"no longer disallows {tool}", _risky(tool))
        for tool in before
        if tool not in after
    ]


def _setting_grants(old: dict[str, Any], new: dict[str, Any]) -> list[Grant]:
    grants = []
    mode_before, mode_after = old.get("permissionMode"), new.get("permissionMode")
    if mode_before != mode_after:
        risky = mode_after not in _CALM_MODES or mode_before == "plan"
        detail = f"{mode_before or 'default'} -> {mode_after or 'default'}"
        grants.append(Grant("permissionMode", detail, risky))
    for key in ("hooks", "mcpServers"):
        if new.get(key) and new.get(key) != old.get(key):
            grants.append(Grant(key, "added" if not old.get(key) else "changed", risky=True))
    if old.get("model") != new.get("model"):
        detail = f"{old.get('model') or 'inherit'} -> {new.get('model') or 'inherit'}"
        grants.append(Grant("model", detail, risky=False))
    return grants


def _risky(tool: str) -> bool:
    return tool.split("(", 1)[0].strip() in RISKY_TOOLS or tool.strip() == "*"


# -- outdated ---------------------------------------------------------------------------------


def outdated(options: Options) -> ProjectOutdated:
    """Fetch every source and compare each locked agent with the newest commit of its ref."""
    with session(options, locked=False) as run:
        return _outdated_project(run)


def _outdated_project(run: Session, fetched: set[str] | None = None) -> ProjectOutdated:
    manifest = run.manifest()
    old = run.lock()
    if old is None:
        raise UsageError("there is no agentsync.lock yet", hint="run `agentsync install` first")
    resolver = _resolver(run, manifest, old, "all", True, fetched)
    resolution = resolver.run()
    rows = _Rows(run, manifest, old, resolution, _reader(run, manifest))
    gone = set(resolution.gone)
    changes = []
    for name, previous in sorted(old.agents.items()):
        target = resolution.lock.agents.get(name)
        if target is None:
            continue  # dropped from the manifest: `install` handles it, not an update
        changes.append(rows.row(name, _outdated_status(previous, target, gone)))
    return ProjectOutdated(run.project.root, tuple(changes), resolution.warnings)


def _outdated_status(previous: LockedAgent, target: LockedAgent, gone: set[str]) -> ChangeStatus:
    if previous.name in gone:
        return "removed-upstream"
    if _is_commit_pin(previous):
        return "pinned"
    if previous.blob != target.blob or previous.path != target.path:
        return "behind"
    return "moved" if previous.commit != target.commit else "unchanged"


# -- diff -------------------------------------------------------------------------------------


def diff(options: Options, name: str, *, upstream: bool = False) -> DiffReport:
    """Local edits against the pinned version, or (`upstream`) the pinned against the update."""
    request = AgentRequest.parse(name)
    with session(options, locked=False) as run:
        manifest = run.manifest()
        old = run.lock()
        locked = old.agents.get(request.name) if old else None
        if old is None or locked is None:
            raise UsageError(
                f"'{request.name}' is not installed by agentsync",
                hint="see what is installed with `agentsync status`",
                subject=request.name,
            )
        read = _reader(run, manifest)
        pinned = upstream_bytes(replace(locked, local_edits=False), read)
        rows = _Rows(run, manifest, old, Resolution(old), read)
        label = rows.pin(locked, old).label
        if upstream:
            return _upstream_diff(run, manifest, old, locked, pinned, label)
        path = run.layout(manifest).agent_path(locked.name)
        try:
            local = path.read_bytes()
        except FileNotFoundError:
            return DiffReport(locked.name, label, "local", "", note=f"{path} is missing")
        text = unified(pinned, local, f"{locked.name}.md ({label})", f"{locked.name}.md (local)")
        return DiffReport(locked.name, label, "local", text)


def _upstream_diff(
    run: Session, manifest: Manifest, old: Lock, locked: LockedAgent, pinned: bytes, label: str
) -> DiffReport:
    scope = frozenset({locked.name})
    resolution = _resolver(run, manifest, old, scope, True, None).run()
    read = _reader(run, manifest)
    rows = _Rows(run, manifest, old, resolution, read)
    if locked.name in resolution.gone:
        return DiffReport(locked.name, label, label, "", note="removed upstream")
    target = resolution.lock.agents.get(locked.name)
    if target is None:
        raise ResolveError(
            f"'{locked.name}' is no longer in agentsync.toml",
            hint="run `agentsync install` to bring the lock up to date",
            subject=locked.name,
        )
    new_label = rows.pin(target, resolution.lock).label
    newer = upstream_bytes(target, read)
    text = unified(pinned, newer, f"{locked.name}.md ({label})", f"{locked.name}.md ({new_label})")
    return DiffReport(locked.name, label, new_label, text)


def unified(before: bytes, after: bytes, old_label: str, new_label: str) -> str:
    """A unified diff of two files' text ("" when they are the same)."""
    lines = difflib.unified_diff(
        text_lines(before.decode("utf-8", errors="replace")),
        text_lines(after.decode("utf-8", errors="replace")),
        fromfile=f"a/{old_label}",
        tofile=f"b/{new_label}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- many projects ----------------------------------------------------------------------------


def find_projects(root: Path) -> list[Path]:
    """Every folder at or below `root` holding agentsync.toml, skipping .git, hidden folders,
    node_modules and virtual environments."""
    if not root.is_dir():
        raise UsageError(f"--recursive {root}: no such folder", hint="give an existing folder")
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(folder) / d))
        if MANIFEST_NAME in files:
            found.append(Path(folder))
    return sorted(found)


def _skipped(path: Path) -> bool:
    name = path.name
    return name.startswith(".") or name in _SKIPPED_DIRS or (path / "pyvenv.cfg").exists()


def update_recursive(
    options: Options, root: Path, *, force: bool = False, dry_run: bool = False
) -> Recursive[ProjectUpdate]:
    """`update` in every project below `root`; a project whose update would conflict is left
    untouched as a whole."""
    reports = []
    with _shared_store(options) as (store, fetched):
        for run in _runs(options, root, store, fetched):
            reports.append(_one_update(run, force=force, dry_run=dry_run, fetched=fetched))
    return Recursive(root, tuple(reports))


def _one_update(run: Session, *, force: bool, dry_run: bool, fetched: set[str]) -> ProjectUpdate:
    try:
        if dry_run:
            return _update_project(
                run, (), force=force, merge="auto", dry_run=True, fetched=fetched
            )
        with run.project.run_lock(RUN_LOCK_WAIT):
            return _update_project(
                run,
                (),
                force=force,
                merge="auto",
                dry_run=False,
                fetched=fetched,
                all_or_nothing=True,
            )
    except AgentsyncError as error:
        return ProjectUpdate(run.project.root, (), dry_run=dry_run, error=error)


def outdated_recursive(options: Options, root: Path) -> Recursive[ProjectOutdated]:
    """`outdated` in every project below `root`, each source fetched once."""
    reports = []
    with _shared_store(options) as (store, fetched):
        for run in _runs(options, root, store, fetched):
            try:
                reports.append(_outdated_project(run, fetched))
            except AgentsyncError as error:
                reports.append(ProjectOutdated(run.project.root, (), error=error))
    return Recursive(root, tuple(reports))


@contextlib.contextmanager
def _shared_store(options: Options) -> Iterator[tuple[Store, set[str]]]:
    """One Store (and one record of fetched mirrors) for a whole recursive run."""
    from agentsync.store import Store

    store = Store(
        timeout=options.timeout,
        offline=options.offline,
        refresh=options.refresh,
        progress=options.progress,
    )
    try:
        yield store, set()
    finally:
        store.close()


def _runs(options: Options, root: Path, store: Store, fetched: set[str]) -> Iterator[Session]:
    """A Session per project, all sharing `store`; every used source is fetched up front,
    in parallel, once (projects naming the same URL share its mirror)."""
    projects = [find_project(options.cwd, folder) for folder in find_projects(root)]
    runs = [Session(replace(options, project=p.root), p, store) for p in projects]
    if not options.offline:
        _prefetch(runs, store, fetched)
    yield from runs


def _prefetch(runs: list[Session], store: Store, fetched: set[str]) -> None:
    from agentsync.urls import Location

    locations: list[Location] = []
    for run in runs:
        try:
            manifest = run.manifest()
            used = {a.source for a in manifest.agents.values()}
            locations.extend(
                spec.location(manifest.dir)
                for spec in manifest.sources.values()
                if spec.include or spec.name in used
            )
        except AgentsyncError:
            continue  # that project reports its own error when its turn comes

    def done(location: Location, error: AgentsyncError | None) -> None:
        if error is None:
            fetched.add(store.mirror(location).key)

    # A source that failed is tried again (and fails clearly) in the projects that use it.
    with contextlib.suppress(AgentsyncError):
        store.prefetch(locations, on_done=done)
