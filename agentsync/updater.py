"""Updates: move pins (update), see which are behind (outdated), diff an agent, and run
either across every project below a folder, fetching each source once."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agentsync.errors import AgentsyncError, ResolveError, UsageError, did_you_mean
from agentsync.frontmatter import MAX_FILE_BYTES
from agentsync.installer import MergeMode, read_installed, upstream_bytes
from agentsync.lockfile import Lock, LockedAgent
from agentsync.manifest import MANIFEST_NAME, Manifest
from agentsync.requests import AgentRequest
from agentsync.resolve import Policy, UpdateScope
from agentsync.session import RUN_LOCK_WAIT, Options, Session, open_session
from agentsync.sync import Mode, Request, SyncReport, apply_sync, pin_of, plan_sync, report_of

if TYPE_CHECKING:
    from agentsync.catalog import Catalog
    from agentsync.store import Store

_SKIPPED_DIRS = frozenset({"node_modules", "venv", "env", "__pycache__", "site-packages"})


@dataclass(frozen=True)
class Recursive:
    """One report per project found below a folder."""

    root: Path
    projects: tuple[SyncReport, ...]

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


# -- update and outdated ----------------------------------------------------------------------


def update(
    options: Options,
    names: Sequence[str] = (),
    *,
    force: bool = False,
    merge: MergeMode = "auto",
    dry_run: bool = False,
    history: bool = False,
) -> SyncReport:
    """Move pins to the newest commit of each ref or range and rewrite what changed;
    `history` also looks up the upstream commits behind each change."""
    with open_session(options, locked=not dry_run) as run:
        return _update_project(
            run, names, force=force, merge=merge, dry_run=dry_run, history=history
        )


def _update_project(
    run: Session,
    names: Sequence[str],
    *,
    force: bool,
    merge: MergeMode,
    dry_run: bool,
    fetched: set[str] | None = None,
    all_or_nothing: bool = False,
    history: bool = False,
) -> SyncReport:
    manifest = run.manifest()
    scope = _scope(names, manifest, run.lock())
    request = Request(
        mode="update",
        update=scope,
        policy=Policy(force=force),
        merge=merge,
        force=force,
        fetched=fetched,
        history=history,
    )
    plan = plan_sync(run, manifest, request)
    report = report_of(plan, dry_run=dry_run)
    if dry_run or (all_or_nothing and report.conflicts):
        return report
    return apply_sync(plan)


def outdated(options: Options, *, history: bool = False) -> SyncReport:
    """Fetch every source and compare each locked agent with the newest commit of its ref."""
    with open_session(options, locked=False) as run:
        return _outdated_project(run, history=history)


def _outdated_project(
    run: Session, fetched: set[str] | None = None, *, history: bool = False
) -> SyncReport:
    if not run.has_lock:
        raise UsageError("there is no agentsync.lock yet", hint="run `agentsync install` first")
    from agentsync.fastpath import code_key
    from agentsync.state import DiscoveryIndex

    request = Request(
        mode="outdated",
        update="all",
        policy=Policy(force=True),
        fetched=fetched,
        history=history,
    )
    manifest = run.manifest()
    # A source that did not move is found at a commit already discovered: read from the index.
    catalog = run.catalog(manifest)
    catalog.index = DiscoveryIndex(run.store.root, code_key())
    try:
        report = report_of(plan_sync(run, manifest, request))
    finally:
        catalog.index.save()
    if fetched is None and not history:  # the next plain `outdated` may answer early
        _remember_outdated(run, manifest, catalog, report)
    return report


def _remember_outdated(
    run: Session, manifest: Manifest, catalog: Catalog, report: SyncReport
) -> None:
    """Record an `outdated` that printed only "all agents are up to date", with the refs of
    every source's mirror, for agentsync.fast_outdated; anything else forgets the record."""
    from agentsync import fast_outdated

    state_dir = run.project.state_dir
    if not state_dir.is_dir():
        return  # never the first thing in a project's state folder
    manifest_bytes, lock_bytes = run.manifest_bytes, run.lock_bytes
    sources = _outdated_sources(manifest, catalog, report)
    if not sources or manifest_bytes is None or lock_bytes is None:
        fast_outdated.forget_up_to_date(state_dir)
        return
    fast_outdated.remember_up_to_date(
        run.project.root, state_dir, run.store.root, manifest_bytes, lock_bytes, sources
    )


def _outdated_sources(
    manifest: Manifest, catalog: Catalog, report: SyncReport
) -> list[tuple[str, dict[str, str | None]]] | None:
    """Each source's URL and ref table when the report says only "all agents are up to
    date", else None."""
    from agentsync import render
    from agentsync.fastpath import UP_TO_DATE

    if not report.ok or render.report_text(report) != ([UP_TO_DATE], []):
        return None
    sources: list[tuple[str, dict[str, str | None]]] = []
    for name in manifest.sources:
        mirror = catalog.mirror(name)
        # The table the resolutions read, not the mirror's files now: another run may
        # have fetched since. A local folder's working tree is looked at too.
        table = mirror.reader.refs.listed()
        if mirror.location.kind == "path" or table is None:
            return None
        sources.append((mirror.location.git_url, dict(table)))
    return sources


def _scope(names: Sequence[str], manifest: Manifest, old: Lock) -> UpdateScope:
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
    unknown = sorted(wanted - (set(old.agents) | set(manifest.agents)))
    if unknown:
        raise UsageError(
            f"not installed: {', '.join(unknown)}",
            hint=did_you_mean(
                unknown[0],
                set(old.agents) | set(manifest.agents),
                also="see what is installed with `agentsync status`",
            ),
        )
    return frozenset(wanted)


# -- diff -------------------------------------------------------------------------------------


def diff(options: Options, name: str, *, upstream: bool = False) -> DiffReport:
    """Local edits against the pinned version, or (`upstream`) the pinned against the update."""
    request = AgentRequest.parse(name)
    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        locked = run.lock().agents.get(request.name)
        if locked is None:
            raise UsageError(
                f"'{request.name}' is not installed by agentsync",
                hint=did_you_mean(
                    request.name,
                    run.lock().agents,
                    also="see what is installed with `agentsync status`",
                ),
                subject=request.name,
            )
        read = run.reader(manifest)
        pinned = upstream_bytes(replace(locked, local_edits=False, edits=None), read)
        label = pin_of(run, manifest, locked, run.lock()).label
        if upstream:
            return _upstream_diff(run, manifest, locked, pinned, label)
        path = run.layout(manifest).agent_path(locked.name)
        local = read_installed(path, locked.name)  # never a FIFO, a device or past 1 MiB
        if local is None:
            return DiffReport(locked.name, label, "local", "", note=f"{path} is missing")
        if len(local) > MAX_FILE_BYTES:  # read cut one byte past the limit: not the file
            note = f"{path} is larger than 1 MiB (Claude Code skips it); not compared"
            return DiffReport(locked.name, label, "local", "", note=note)
        text = unified(pinned, local, f"{locked.name}.md ({label})", f"{locked.name}.md (local)")
        return DiffReport(locked.name, label, "local", text)


def _upstream_diff(
    run: Session, manifest: Manifest, locked: LockedAgent, pinned: bytes, label: str
) -> DiffReport:
    """The pinned version against the one `update` of this agent would take."""
    request = Request(mode="outdated", update=frozenset({locked.name}), policy=Policy(force=True))
    plan = plan_sync(run, manifest, request)
    row = next((r for r in plan.rows if r.agent == locked.name), None)
    if row is not None and row.status == "removed-upstream":
        return DiffReport(locked.name, label, label, "", note="removed upstream")
    target = plan.lock.agents.get(locked.name)
    if row is None or row.new is None or target is None:
        raise ResolveError(
            f"'{locked.name}' is no longer in agentsync.toml",
            hint="run `agentsync install` to bring the lock up to date",
            subject=locked.name,
        )
    newer = upstream_bytes(target, run.reader(manifest))
    text = unified(
        pinned, newer, f"{locked.name}.md ({label})", f"{locked.name}.md ({row.new.label})"
    )
    return DiffReport(locked.name, label, row.new.label, text)


def unified(before: bytes, after: bytes, old_label: str, new_label: str) -> str:
    """A unified diff of two files' text ("" when they are the same)."""
    from agentsync.patch import unified as unified_diff

    return unified_diff(before, after, f"a/{old_label}", f"b/{new_label}")


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
) -> Recursive:
    """`update` in every project below `root`; a project whose update would conflict is left
    untouched as a whole."""
    reports = []
    with _shared_store(options) as (store, fetched):
        for run in _runs(options, root, store, fetched):
            reports.append(
                _each(run, "update", dry_run, lambda r: _update_all(r, force, dry_run, fetched))
            )
    return Recursive(root, tuple(reports))


def _update_all(run: Session, force: bool, dry_run: bool, fetched: set[str]) -> SyncReport:
    if dry_run:
        return _update_project(run, (), force=force, merge="auto", dry_run=True, fetched=fetched)
    with run.project.run_lock(RUN_LOCK_WAIT):
        return _update_project(
            run, (), force=force, merge="auto", dry_run=False, fetched=fetched, all_or_nothing=True
        )


def outdated_recursive(options: Options, root: Path) -> Recursive:
    """`outdated` in every project below `root`, each source fetched once."""
    reports = []
    with _shared_store(options) as (store, fetched):
        for run in _runs(options, root, store, fetched, compare_first=True):
            reports.append(_each(run, "outdated", False, lambda r: _outdated_project(r, fetched)))
    return Recursive(root, tuple(reports))


def _each(run: Session, mode: Mode, dry_run: bool, job: object) -> SyncReport:
    """One project's report; a broken project is reported as failed, the others go on."""
    assert callable(job)  # noqa: S101 - a job of this module
    try:
        result = job(run)
    except AgentsyncError as error:
        return SyncReport.failure(mode, run.project.root, error, dry_run)
    assert isinstance(result, SyncReport)  # noqa: S101
    return result


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


def _runs(
    options: Options, root: Path, store: Store, fetched: set[str], *, compare_first: bool = False
) -> Iterator[Session]:
    """A Session per project, all sharing `store`; every used source is fetched up front,
    in parallel, once (projects naming the same URL share its mirror; `compare_first`:
    only those whose advertised refs moved)."""
    from agentsync.project import find_project

    projects = [find_project(options.cwd, folder) for folder in find_projects(root)]
    runs = [Session(replace(options, project=p.root), p, store) for p in projects]
    if not options.offline:
        _prefetch(runs, store, fetched, compare_first=compare_first)
    yield from runs


def _prefetch(runs: list[Session], store: Store, fetched: set[str], *, compare_first: bool) -> None:
    from agentsync.urls import Location

    locations: list[Location] = []
    for run in runs:
        try:
            manifest = run.manifest()
            used = {a.source for a in manifest.agents.values()}
            locations.extend(
                store.mirror(spec.location(manifest.dir), label=spec.name).location
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
        store.prefetch(locations, compare_first=compare_first, on_done=done)
