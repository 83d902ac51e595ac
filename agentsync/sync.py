"""The one pipeline of every command that changes (or previews) agent files: resolve the
manifest to a lock, plan every file action, derive one row per agent with one status, apply.

`install`, `remove`, `update` and `outdated` differ only in what may move (nothing, named
agents, everything) and in whether the plan is applied; their reports are the same rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence, Set
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentsync._fs import atomic_write, batched_dir_sync
from agentsync.errors import AgentsyncError, FrozenLockError, Notice, SourceError
from agentsync.grants import Grant, line_counts, widened
from agentsync.ids import BlobId, Commit, is_full_commit, short
from agentsync.installer import (
    DIFFERS,
    ActionKind,
    FileAction,
    InstallPlan,
    Layout,
    MergeMode,
    apply_plan,
    plan_install,
    still_verified,
    unresolved_markers,
    upstream_bytes,
)
from agentsync.lockfile import Lock, LockedAgent, stale_reasons
from agentsync.manifest import Manifest
from agentsync.resolve import Drift, Policy, Resolution, Resolver, UpdateScope, detect_drift

if TYPE_CHECKING:
    from agentsync.manifest import ManifestEditor
    from agentsync.session import Session

# What happened (or, previewed, would happen) to one agent: the one vocabulary of every
# command's report. Adding an outcome means adding it here and a word for it in the CLI.
Status = Literal[
    "new",  # installed for the first time
    "restored",  # a deleted file written again, same version
    "adopted",  # an identical file was already there: now managed
    "updated",  # a new version of the file was written
    "replaced",  # the same version written over a locally edited file (--force)
    "unchanged",  # nothing moved
    "moved",  # the pin moved but the agent's file did not change (not rewritten)
    "pinned",  # a commit pin: never moves
    "modified",  # local edits, nothing upstream to apply: kept
    "kept-edit",  # local edits block a new version: kept, pin held back
    "merged",  # local edits merged cleanly with the new version
    "conflict",  # local edits conflict (or the file holds markers): untouched, pin held back
    "markers",  # conflict markers written into the file; the pin moved
    "orphaned",  # dropped from the manifest but locally edited: left in place, unmanaged
    "removed",  # dropped from the manifest: deleted
    "removed-upstream",  # gone from its source: kept installed at the old pin
    "held",  # the new version would not load in Claude Code: kept at the old pin
    "behind",  # (outdated) the agent's file differs at the newest commit
]
FAILED: frozenset[str] = frozenset({"conflict", "markers", "kept-edit", "orphaned"})
NEEDS_ATTENTION: frozenset[str] = FAILED | {"modified"}
Mode = Literal["install", "update", "outdated"]

_BY_KIND: dict[str, Status] = {
    "create": "new",
    "adopt": "adopted",
    "modified": "modified",
    "merged": "merged",
    "conflict": "conflict",
    "conflicted": "conflict",
    "conflict-markers": "markers",
    "kept-edit": "kept-edit",
    "orphaned": "orphaned",
    "remove": "removed",
}


@dataclass(frozen=True)
class Pin:
    """Where an agent is pinned: a commit, and a tag naming it when there is one."""

    commit: Commit
    tag: str | None = None
    # What the manifest asked for (branch, tag, resolved range), set when an install moves
    # the request: the row then names the move the user made, not two bare commits.
    ref: str | None = None

    @property
    def label(self) -> str:
        return self.tag or self.ref or short(self.commit)


@dataclass(frozen=True)
class AgentRow:
    """One agent in a report: what happened to it, from which pin to which."""

    agent: str
    source: str | None  # None: a file an interrupted run left, of no lock's agent
    status: Status
    old: Pin | None = None
    new: Pin | None = None
    action: ActionKind | None = None  # what was done to the file (None: not planned)
    path: Path | None = None
    added: int = 0
    removed: int = 0
    grants: tuple[Grant, ...] = ()
    drift: tuple[Drift, ...] = ()
    note: str = ""
    # (commit, subject) of the upstream commits between the two pins that changed the file,
    # newest first; looked up only when a run asks for them (a review summary)
    subjects: tuple[tuple[Commit, str], ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True)
class SyncPlan:
    """Everything a run would do, decided before anything is written."""

    mode: Mode
    root: Path
    layout: Layout
    resolution: Resolution
    files: InstallPlan | None  # None: a preview of pins only (outdated)
    rows: tuple[AgentRow, ...]
    warnings: tuple[str, ...] = ()

    @property
    def lock(self) -> Lock:
        return self.files.lock if self.files is not None else self.resolution.lock


@dataclass(frozen=True)
class SyncReport:
    """What a run did (or, not applied, would do) in one project."""

    mode: Mode
    root: Path
    rows: tuple[AgentRow, ...]
    warnings: tuple[str, ...] = ()
    applied: bool = False
    dry_run: bool = False
    lock_changed: bool = False
    manifest_changed: bool = False
    error: AgentsyncError | None = None

    @property
    def conflicts(self) -> tuple[AgentRow, ...]:
        return tuple(r for r in self.rows if r.failed)

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        if self.mode == "outdated":
            # something needs attention: behind, gone upstream, moved tags
            return not any(r.status in {"behind", "removed-upstream"} or r.drift for r in self.rows)
        return not self.conflicts and not any(r.status == "held" for r in self.rows)

    @classmethod
    def failure(cls, mode: Mode, root: Path, error: AgentsyncError, dry_run: bool) -> SyncReport:
        return cls(mode, root, (), dry_run=dry_run, error=error)


# -- planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a run may change: which pins move, how local edits and broken files are met."""

    mode: Mode = "install"
    update: UpdateScope = "none"
    policy: Policy = field(default_factory=Policy)
    merge: MergeMode = "keep"
    force: bool = False
    frozen: bool = False
    history: bool = False  # look up the upstream commit subjects behind each change
    fetched: set[str] | None = field(default=None, compare=False)


def plan_sync(run: Session, manifest: Manifest, request: Request) -> SyncPlan:
    """Resolve, plan every file action (unless only pins are previewed), derive the rows."""
    if run.store.refresh:
        # --refresh rebuilds every source's cache entry, also where this run would read
        # nothing from it (a project whose files are all verified needs no mirror)
        for name in manifest.sources:
            run.mirror(manifest, name)
    old = run.lock()
    resolution = _resolution(run, manifest, request)
    layout = run.layout(manifest)
    files = None
    if request.mode != "outdated":
        read = run.reader(manifest)
        # --frozen proves every file against the cache; other runs trust the last run's
        # record of a file that has not changed since
        known = frozenset() if request.frozen else still_verified(layout, resolution.lock, old)
        # the batch read also answers the commit checks, when the cache holds the commits
        preload(run, manifest, resolution.lock, known)
        _verify_source_commits(run, manifest, resolution.lock, known)
        files = plan_install(
            layout,
            resolution.lock,
            old,
            read,
            force=request.force,
            merge=request.merge,
            verified=known,
            cache_root=run.store.root,
        )
        if request.frozen and run.has_lock:
            _check_frozen(run, files, old)
    rows = _Rows(run, manifest, old, resolution, request.mode, request.history).all(files)
    cache_root = run.store.root if files and files.changes else None
    warnings = resolution.warnings + (
        install_diagnostics(files.changes, cache_root, manifest.ignore) if files else ()
    )
    return SyncPlan(request.mode, run.project.root, layout, resolution, files, rows, warnings)


def apply_sync(plan: SyncPlan, editor: ManifestEditor | None = None) -> SyncReport:
    """Save the manifest edit, write the agent files atomically, then the lock."""
    assert plan.files is not None  # noqa: S101 - a pins-only preview is never applied
    manifest_changed = editor.save() if editor is not None else False
    try:
        with batched_dir_sync():
            result = apply_plan(plan.files, plan.layout)
    except BaseException:
        if editor is not None and manifest_changed:
            # A failed command writes nothing: the edit goes with it (a kill leaves the new
            # manifest and the old lock instead, which the next `install` completes).
            with contextlib.suppress(AgentsyncError):
                atomic_write(editor.path, editor.original.encode("utf-8"))
        raise
    return replace(
        report_of(plan),
        applied=True,
        lock_changed=result.lock_changed,
        manifest_changed=manifest_changed,
    )


def report_of(plan: SyncPlan, *, dry_run: bool = False) -> SyncReport:
    """The report of a plan as it stands (not applied)."""
    return SyncReport(plan.mode, plan.root, plan.rows, plan.warnings, dry_run=dry_run)


def _resolution(run: Session, manifest: Manifest, request: Request) -> Resolution:
    """The lock to install from: the current one when fresh and nothing moves, else a new
    resolution; `--frozen` never resolves."""
    old = run.lock()
    reasons = stale_reasons(manifest, old) if run.has_lock else ["agentsync.lock does not exist"]
    if not reasons and request.update == "none":
        drift = frozen_drift_warnings(run, manifest, old) if request.frozen else ()
        return Resolution(old, drift)
    if request.frozen:
        raise FrozenLockError(
            "agentsync.lock is out of date with agentsync.toml: " + "; ".join(reasons),
            hint="run `agentsync install` and commit the updated agentsync.lock",
            subject=str(run.project.lock_path),
        )
    return Resolver(
        manifest,
        run.store,
        old,
        update=request.update,
        policy=request.policy,
        keep_missing=request.mode != "install",
        fetched=request.fetched if request.fetched is not None else set(),
        catalog=run.catalog(manifest),
        compare_first=request.mode == "outdated",
    ).run()


def frozen_drift_warnings(run: Session, manifest: Manifest, lock: Lock) -> tuple[str, ...]:
    """Moved or deleted tags the cache already knows of; never fetches.

    `install --frozen` keeps the locked commits regardless: this only says so loudly.
    """

    def drift_of(name: str) -> str | None:
        locked, spec = lock.sources[name], manifest.sources.get(name)
        if spec is None or not _can_drift(spec.ref, spec.version, locked.resolved):
            return None
        mirror = run.mirror(manifest, name)
        try:
            if not mirror.has_commit(locked.commit):
                return None  # nothing cached to compare with; the commit is fetched by id
            drift = detect_drift(
                mirror, locked.commit, spec.ref, spec.version, locked.resolved, branches=False
            )
        except AgentsyncError:
            return None
        if drift is None:
            return None
        kind, ref, now = drift
        return Notice(
            "ref-moved", Drift(name, None, kind, ref, locked.commit, now).message + " (kept)"
        )

    # only a source a tag chose can drift: the others cost no git process, nor a thread
    names = [
        name
        for name in sorted(lock.sources)
        if name in manifest.sources
        and _can_drift(
            manifest.sources[name].ref, manifest.sources[name].version, lock.sources[name].resolved
        )
    ]
    if len(names) < 2:
        found = [drift_of(name) for name in names]
    else:
        # one git process per source: run them side by side (each mirror has its own reader)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            found = list(pool.map(drift_of, names))
    return tuple(message for message in found if message is not None)


def _can_drift(ref: str | None, version: str | None, resolved: str | None) -> bool:
    """Whether a tag chose this pin (the only thing --frozen compares with the cache): no
    ref, no version and no recorded tag follow the default branch, which is never judged
    from a cache that was not fetched just now."""
    if ref is not None and is_full_commit(ref):
        return False
    return ref is not None or version is not None or resolved is not None


def _verify_source_commits(
    run: Session, manifest: Manifest, lock: Lock, known: frozenset[str]
) -> None:
    """Every source commit the lock records must exist (in the cache, or fetched by id),
    unless no agent of the source needs reading from it."""
    by_source: dict[str, list[str]] = {}
    for agent in lock.agents.values():  # once: per source, it was sources x agents steps
        by_source.setdefault(agent.source, []).append(agent.name)
    for name, source in sorted(lock.sources.items()):
        users = sorted(by_source.get(name, ()))
        if not users or known.issuperset(users):
            continue  # a source no agent uses (or needs to read from) is never fetched
        try:
            run.mirror(manifest, name).ensure_commit(source.commit)
        except SourceError as error:
            raise type(error)(
                f"source {name}: {error.message}", hint=error.hint, subject=", ".join(users)
            ) from None


def preload(run: Session, manifest: Manifest, lock: Lock, known: Set[str]) -> None:
    """Read the upstream files of the locked agents not in `known` in one request per
    source, side by side, for the checks that follow to answer from memory."""
    wanted: dict[str, list[tuple[Commit, str, BlobId]]] = {}
    for name, locked in lock.agents.items():
        if name not in known and locked.source in manifest.sources:
            wanted.setdefault(locked.source, []).append((locked.commit, locked.path, locked.blob))
    mirrors = [(run.mirror(manifest, source).reader, files) for source, files in wanted.items()]
    from agentsync.mirror_reader import preload_together

    with contextlib.suppress(AgentsyncError):
        preload_together(mirrors)


def _check_frozen(run: Session, plan: InstallPlan, old: Lock) -> None:
    """`--frozen` installs exactly the lock: any file that differs from it, any change the
    lock would need, and any conflict markers the result would hold are failures."""
    problems = [f"{a.path.name}: {a.note or a.kind}" for a in plan.actions if a.kind in DIFFERS]
    problems += [
        f"{a.path.name}: the locked version holds unresolved conflict markers"
        for a in plan.changes
        if a.data is not None and unresolved_markers(a.data, a.name) is not None
    ]
    if problems:
        raise FrozenLockError(
            "the installed agents differ from agentsync.lock:\n  " + "\n  ".join(problems),
            hint="resolve or undo the local changes (`agentsync diff NAME` shows them), or "
            "replace them with the locked versions with `agentsync install --frozen --force`; "
            "a file with conflict markers is resolved by hand, or replaced by its upstream "
            "version with `agentsync install --force`",
            subject=str(run.project.lock_path),
        )
    if plan.lock != old:
        changed = sorted(n for n in plan.lock.agents if plan.lock.agents[n] != old.agents.get(n))
        raise FrozenLockError(
            "installing would change agentsync.lock for: " + ", ".join(changed or ["(sources)"]),
            hint="run `agentsync install` without --frozen and commit the updated lock",
            subject=str(run.project.lock_path),
        )


# Info codes worth showing at install time: what the agent may do beyond its prompt.
_REVIEW_CODES = frozenset({"AS203", "AS204", "AS205"})


def install_diagnostics(
    actions: Sequence[FileAction],
    cache_root: Path | None = None,
    ignore: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """Warnings (and review flags) about the agent files a run writes; the same finding in
    many files is listed for a few of them and then counted."""
    written = [a for a in actions if a.data is not None]
    if not written:
        return ()
    from agentsync import state
    from agentsync.fastpath import code_key
    from agentsync.ids import sha256

    index = state.FindingsIndex(cache_root, code_key()) if cache_root is not None else None
    by_code: dict[tuple[str, str], list[str]] = {}
    for action in written:
        assert action.data is not None  # noqa: S101 - filtered above
        key = f"{sha256(action.data)}:{action.path.name}"
        findings = index.get(key) if index is not None else None
        if findings is None:
            findings = _findings(action.data, action.path)
            if index is not None:
                index.put(key, findings)
        for line, severity, code, message in findings:
            if code in ignore:
                continue  # the manifest's [settings] ignore
            text = Notice(str(code), f"{action.path.name}:{line}: {severity} {code} {message}")
            by_code.setdefault((str(severity), str(code)), []).append(text)
    if index is not None:
        index.save()
    lines: list[str] = []
    for (severity, code), texts in by_code.items():
        lines.extend(texts[:_LISTED])
        if len(texts) > _LISTED:
            more = len(texts) - _LISTED
            lines.append(Notice(code, f"... and {more} more files with {severity} {code}"))
    return tuple(lines)


_LISTED = 5  # files listed per finding before the rest are counted


def _findings(data: bytes, path: Path) -> list[list[Any]]:
    from agentsync.compat import diagnose

    _agent, diagnostics = diagnose(data, str(path))
    return [
        [d.line, d.severity, d.code, d.message]
        for d in diagnostics
        if d.severity != "info" or d.code in _REVIEW_CODES
    ]


# -- the rows ---------------------------------------------------------------------------------


@dataclass
class _Rows:
    """Builds the rows of one project's report; looks up tags once per mirror."""

    run: Session
    manifest: Manifest
    old: Lock
    resolution: Resolution
    mode: Mode
    history: bool = False
    _tags: dict[str, dict[Commit, list[str]]] = field(default_factory=dict)

    def all(self, files: InstallPlan | None) -> tuple[AgentRow, ...]:
        if files is None:  # a preview of pins: one row per locked agent still wanted
            return tuple(
                self.row(name, None, previous)
                for name, previous in sorted(self.old.agents.items())
                if name in self.resolution.lock.agents
            )
        return tuple(self.row(a.name, a, self.old.agents.get(a.name)) for a in files.actions)

    def row(self, name: str, action: FileAction | None, previous: LockedAgent | None) -> AgentRow:
        target = self.resolution.lock.agents.get(name)
        entry = target or previous
        status = self._status(name, action, previous, target)
        asked = self._asked_moved(previous, target)
        if asked is not None and status in {"unchanged", "pinned"}:
            status = "moved"  # the same file, but the pin now follows something else
        base = AgentRow(
            agent=name,
            source=entry.source if entry is not None else None,
            status=status,
            action=action.kind if action is not None else None,
            path=action.path if action is not None else None,
            note=_note(action, status),
        )
        if entry is None:
            return base
        added, removed, grants = self._changes(previous, target)
        old = self.pin(previous, self.old) if previous else None
        new = self.pin(target, self.resolution.lock) if target else None
        if asked is not None and old is not None and new is not None:
            old, new = replace(old, ref=asked[0]), replace(new, ref=asked[1])
        return replace(
            base,
            old=old,
            new=new,
            added=added,
            removed=removed,
            grants=grants,
            drift=self._drift_of(entry),
            subjects=self._subjects(previous, target) if self.history else (),
        )

    def _subjects(
        self, previous: LockedAgent | None, target: LockedAgent | None
    ) -> tuple[tuple[Commit, str], ...]:
        if previous is None or target is None or previous.commit == target.commit:
            return ()
        if previous.source != target.source or target.source not in self.manifest.sources:
            return ()
        try:
            mirror = self.run.mirror(self.manifest, target.source)
            return tuple(mirror.subjects(previous.commit, target.commit, target.path))
        except AgentsyncError:
            return ()  # history is a courtesy: a pin that moved backwards or a pruned cache

    def _status(
        self,
        name: str,
        action: FileAction | None,
        previous: LockedAgent | None,
        target: LockedAgent | None,
    ) -> Status:
        if name in self.resolution.gone:
            return "removed-upstream"
        if name in self.resolution.held:
            return "held"
        kind = action.kind if action is not None else None
        if kind in _BY_KIND:
            return _BY_KIND[kind]
        if previous is None or target is None:
            return "new"
        changed = previous.blob != target.blob or previous.path != target.path
        if kind == "restore":
            return "updated" if changed else "restored"
        if changed:  # before "pinned": an install can move a commit pin to another one
            return "behind" if kind is None else "updated"
        if previous.ref is not None and is_full_commit(previous.ref):
            return "pinned"
        if kind == "update":
            return "replaced"
        return "moved" if previous.commit != target.commit else "unchanged"

    def _asked_moved(
        self, previous: LockedAgent | None, target: LockedAgent | None
    ) -> tuple[str | None, str | None] | None:
        """(what was asked before, what is asked now) when an install changed the agent's
        request (`install NAME@REF`, or an edited source pin); None otherwise."""
        if self.mode != "install" or previous is None or target is None:
            return None
        before = _asked(previous, self.old)
        now = _asked(target, self.resolution.lock)
        return None if before == now else (before, now)

    def _changes(
        self, previous: LockedAgent | None, target: LockedAgent | None
    ) -> tuple[int, int, tuple[Grant, ...]]:
        if previous is None or target is None or previous.blob == target.blob:
            return 0, 0, ()
        before, after = self._bytes(previous), self._bytes(target)
        if before is None or after is None:
            return 0, 0, ()
        added, removed = line_counts(before, after)
        return added, removed, widened(before, after)

    def _bytes(self, locked: LockedAgent) -> bytes | None:
        if locked.source not in self.manifest.sources:
            return None
        pristine = replace(locked, local_edits=False, edits=None)
        return upstream_bytes(pristine, self.run.reader(self.manifest))

    def _drift_of(self, entry: LockedAgent) -> tuple[Drift, ...]:
        own_pin = entry.ref is not None or entry.version is not None
        return tuple(
            d
            for d in self.resolution.drift
            if d.source == entry.source and (d.agent == entry.name if own_pin else d.agent is None)
        )

    def pin(self, locked: LockedAgent, lock: Lock) -> Pin:
        """The pin, labelled by a tag at its commit (installs show short commits: looking tags
        up costs a git process per source, for a label)."""
        if self.mode == "install":
            return Pin(locked.commit)
        source = lock.sources.get(locked.source)
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
                    tags = self.run.mirror(self.manifest, source).tags()
                    for tag, commit in sorted(tags.items()):
                        by_commit.setdefault(commit, []).append(tag)
            except AgentsyncError:
                pass  # no tags to show is fine: the short commit labels the pin
            self._tags[source] = by_commit
        return self._tags[source]


def lock_change_rows(
    run: Session, manifest: Manifest, old: Lock, new: Lock
) -> tuple[AgentRow, ...]:
    """One row per agent that two locks pin differently (added, removed or moved), with
    tags, line counts, widened capabilities and upstream commit subjects."""
    rows = _Rows(run, manifest, old, Resolution(new), "update", history=True)
    found = []
    for name in sorted(set(old.agents) | set(new.agents)):
        before, after = old.agents.get(name), new.agents.get(name)
        if before == after:
            continue
        row = rows.row(name, None, before)
        if after is None:
            row = replace(row, status="removed", new=None)
        elif row.status == "behind":
            row = replace(row, status="updated")
        found.append(row)
    return tuple(found)


def _asked(locked: LockedAgent, lock: Lock) -> str | None:
    """The agent's request as a label: its own pin, else its source's (a range as the tag it
    chose, a commit shortened); None when it follows the default branch."""
    if locked.ref is not None or locked.version is not None:
        asked = locked.resolved or locked.ref or locked.version
    else:
        source = lock.sources.get(locked.source)
        asked = None if source is None else source.resolved or source.ref or source.version
    return short(asked) if asked is not None and is_full_commit(asked) else asked


def _note(action: FileAction | None, status: Status) -> str:
    if status == "removed-upstream":
        return "no longer in its source; kept installed at the old pin"
    if status == "held":
        return "the new version would not load in Claude Code; kept at the old pin"
    if status == "replaced" and action is not None and not action.note:
        return "replaced a locally edited file"
    return action.note if action is not None else ""


def pin_of(run: Session, manifest: Manifest, locked: LockedAgent, lock: Lock) -> Pin:
    """The pin of `locked` labelled by a tag at its commit, as reports show it."""
    return _Rows(run, manifest, lock, Resolution(lock), "update").pin(locked, lock)
