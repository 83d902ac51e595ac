"""Use cases behind the commands: each takes options, does one job, and returns a report."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentsync._fs import batched_dir_sync
from agentsync.errors import (
    AgentsyncError,
    FrozenLockError,
    IntegrityError,
    ManifestError,
    ResolveError,
    SourceError,
    UsageError,
)
from agentsync.ids import Commit, short
from agentsync.installer import (
    DIFFERS,
    FAILING,
    FileAction,
    InstallPlan,
    Layout,
    agent_files,
    apply_plan,
    expected_bytes,
    plan_install,
    read_installed,
    unresolved_markers,
)
from agentsync.lockfile import Lock, LockedAgent, dump_lock, load_lock, stale_reasons
from agentsync.manifest import Manifest, ManifestEditor, load_manifest
from agentsync.project import Project, find_project
from agentsync.resolve import (
    Candidate,
    Drift,
    Policy,
    Resolver,
    UpdateScope,
    ambiguity_error,
    detect_drift,
    pin_request,
)
from agentsync.textsafe import inline

if TYPE_CHECKING:
    from agentsync.store import Mirror, Store

DEFAULT_TIMEOUT = 60.0
RUN_LOCK_WAIT = 120.0


@dataclass(frozen=True)
class Options:
    """Global options every command shares."""

    cwd: Path
    project: Path | None = None
    global_scope: bool = False
    offline: bool = False
    timeout: float = DEFAULT_TIMEOUT
    refresh: bool = False  # drop and rebuild the cache entry of every source this run uses
    progress: Callable[[str], None] | None = None  # told when network work starts and ends


@dataclass
class Session:
    """One run's project, manifest, lock and cache."""

    options: Options
    project: Project
    _store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from agentsync.store import Store

            self._store = Store(
                timeout=self.options.timeout,
                offline=self.options.offline,
                refresh=self.options.refresh,
                progress=self.options.progress,
            )
        return self._store

    def manifest(self) -> Manifest:
        if not self.project.manifest_path.exists():
            raise ManifestError(
                f"no agentsync.toml in {self.project.root} or any folder above it",
                hint="create one with `agentsync init`, then `agentsync source add NAME URL`",
                subject=str(self.project.manifest_path),
            )
        return load_manifest(self.project.manifest_path)

    def lock(self) -> Lock | None:
        return load_lock(self.project.lock_path)

    def layout(self, manifest: Manifest | None) -> Layout:
        return Layout(
            target=self.project.target_dir(manifest),
            lock_path=self.project.lock_path,
            state_dir=self.project.state_dir,
        )

    def mirror(self, manifest: Manifest, source: str) -> Mirror:
        return self.store.mirror(manifest.sources[source].location(manifest.dir))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@contextlib.contextmanager
def session(options: Options, *, locked: bool = True) -> Iterator[Session]:
    """Open the project (holding its run lock for commands that write)."""
    project = find_project(options.cwd, options.project, options.global_scope)
    current = Session(options, project)
    try:
        if locked:
            with project.run_lock(RUN_LOCK_WAIT):
                yield current
        else:
            yield current
    finally:
        current.close()


# -- install ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallReport:
    """What install/remove/update did."""

    actions: tuple[FileAction, ...]
    lock_changed: bool
    manifest_changed: bool
    warnings: tuple[str, ...] = ()
    lock: Lock | None = None

    @property
    def ok(self) -> bool:
        return not any(a.kind in FAILING for a in self.actions)


@dataclass(frozen=True)
class AgentRequest:
    """One `AGENT` argument: `name`, `source/name`, `name@ref`, `source/name@ref` or a glob."""

    source: str | None
    name: str
    ref: str | None

    @property
    def is_glob(self) -> bool:
        return any(ch in self.name for ch in "*?[")

    @classmethod
    def parse(cls, text: str) -> AgentRequest:
        body, _, ref = text.partition("@")
        source, _, name = body.rpartition("/")
        if not name or (ref == "" and "@" in text) or body.count("/") > 1:
            raise UsageError(
                f"'{text}' is not an agent reference",
                hint="use NAME, SOURCE/NAME, NAME@REF, SOURCE/NAME@REF or SOURCE/GLOB",
            )
        if text.startswith("-") or ref.startswith("-"):
            raise UsageError(
                f"'{text}' is not an agent reference", hint="names cannot start with '-'"
            )
        return cls(source or None, name, ref or None)


def install(
    options: Options,
    requests: Sequence[str] = (),
    *,
    frozen: bool = False,
    force: bool = False,
    fix: bool = False,
) -> InstallReport:
    """`install AGENT...` adds and installs; `install` makes the folder match the lock."""
    parsed = [AgentRequest.parse(text) for text in requests]
    if frozen and parsed:
        raise UsageError("--frozen installs what the lock says; it takes no AGENT arguments")
    with session(options) as run:
        manifest = run.manifest()
        old = run.lock()
        editor: ManifestEditor | None = None
        if parsed:
            editor = ManifestEditor.open(manifest.path)
            _record_requests(run, manifest, old, editor, parsed)
            manifest = editor.manifest()
        new, warnings = _lock_for(run, manifest, old, frozen=frozen, policy=Policy(fix, force))
        return _apply(run, manifest, new, old, editor, warnings, force=force, frozen=frozen)


def _lock_for(
    run: Session,
    manifest: Manifest,
    old: Lock | None,
    *,
    frozen: bool,
    policy: Policy,
    update: UpdateScope = "none",
) -> tuple[Lock, tuple[str, ...]]:
    """The lock to install from: the current one when fresh, else a new resolution."""
    reasons = ["agentsync.lock does not exist"] if old is None else stale_reasons(manifest, old)
    if old is not None and not reasons and update == "none":
        return old, (frozen_drift_warnings(run, manifest, old) if frozen else ())
    if frozen:
        raise FrozenLockError(
            "agentsync.lock is out of date with agentsync.toml: " + "; ".join(reasons),
            hint="run `agentsync install` and commit the updated agentsync.lock",
            subject=str(run.project.lock_path),
        )
    resolution = Resolver(manifest, run.store, old, update=update, policy=policy).run()
    return resolution.lock, resolution.warnings


def frozen_drift_warnings(run: Session, manifest: Manifest, lock: Lock) -> tuple[str, ...]:
    """Moved or deleted tags the cache already knows of; never fetches.

    `install --frozen` keeps the locked commits regardless: this only says so loudly.
    """
    found: list[str] = []
    for name, locked in sorted(lock.sources.items()):
        spec = manifest.sources.get(name)
        if spec is None:
            continue
        mirror = run.mirror(manifest, name)
        try:
            if not mirror.has_commit(locked.commit):
                continue  # nothing cached to compare with; the commit is fetched by id
            drift = detect_drift(
                mirror, locked.commit, spec.ref, spec.version, locked.resolved, branches=False
            )
        except AgentsyncError:
            continue
        if drift is not None:
            kind, ref, now = drift
            found.append(Drift(name, None, kind, ref, locked.commit, now).message + " (kept)")
    return tuple(found)


def _apply(
    run: Session,
    manifest: Manifest,
    new: Lock,
    old: Lock | None,
    editor: ManifestEditor | None,
    warnings: tuple[str, ...],
    *,
    force: bool,
    frozen: bool = False,
) -> InstallReport:
    layout = run.layout(manifest)
    _verify_source_commits(run, manifest, new)
    plan = plan_install(layout, new, old, lambda a: read_upstream(run, manifest, a), force=force)
    if frozen and old is not None:
        _check_frozen(run, plan, old)
    manifest_changed = editor.save() if editor is not None else False
    with batched_dir_sync():
        result = apply_plan(plan, layout)
    notes = warnings + install_diagnostics(plan.changes)
    return InstallReport(plan.actions, result.lock_changed, manifest_changed, notes, plan.lock)


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
            "replace them with the locked versions with `agentsync install --frozen --force`",
            subject=str(run.project.lock_path),
        )
    if dump_lock(plan.lock) != dump_lock(old):
        changed = sorted(n for n in plan.lock.agents if plan.lock.agents[n] != old.agents.get(n))
        raise FrozenLockError(
            "installing would change agentsync.lock for: " + ", ".join(changed or ["(sources)"]),
            hint="run `agentsync install` without --frozen and commit the updated lock",
            subject=str(run.project.lock_path),
        )


# Info codes worth showing at install time: what the agent may do beyond its prompt.
_REVIEW_CODES = frozenset({"AS203", "AS204", "AS205"})


def install_diagnostics(actions: Sequence[FileAction]) -> tuple[str, ...]:
    """Warnings (and review flags) about the agent files a run writes."""
    from agentsync.compat import diagnose

    lines: list[str] = []
    for action in actions:
        if action.data is None:
            continue
        _agent, diagnostics = diagnose(action.data, str(action.path))
        for d in diagnostics:
            if d.severity != "info" or d.code in _REVIEW_CODES:
                lines.append(f"{action.path.name}:{d.line}: {d.severity} {d.code} {d.message}")
    return tuple(lines)


def _verify_source_commits(run: Session, manifest: Manifest, lock: Lock) -> None:
    """Every source commit the lock records must exist (in the cache, or fetched by id)."""
    for name, source in sorted(lock.sources.items()):
        users = sorted(a.name for a in lock.agents.values() if a.source == name)
        if not users:
            continue  # a source no agent uses is never fetched
        try:
            run.mirror(manifest, name).ensure_commit(source.commit)
        except SourceError as error:
            raise type(error)(
                f"source {name}: {error.message}", hint=error.hint, subject=", ".join(users)
            ) from None


def read_upstream(run: Session, manifest: Manifest, locked: LockedAgent) -> bytes:
    """The file the lock names, read at its commit and path: a hand-edited commit, path or
    blob cannot pick other content (installer.expected_bytes then checks blob and sha256).

    A missing or damaged object in the cache is a SourceError (rebuild with --refresh); only
    a commit whose tree lacks the path, or holds another blob there, blames the lock.
    """
    mirror = run.mirror(manifest, locked.source)
    try:
        mirror.ensure_commit(locked.commit)
        blob = mirror.blob_at(locked.commit, locked.path)
        if blob is not None and blob == locked.blob:
            return mirror.read_blob(blob)
    except SourceError as error:
        raise type(error)(
            f"source {locked.source}: {error.message}", hint=error.hint, subject=locked.name
        ) from None
    if blob is None:
        raise IntegrityError(
            f"commit {locked.commit} of source {locked.source} has no file {locked.path}, "
            "which agentsync.lock records",
            hint=_LOCK_HINT,
            subject=locked.name,
        )
    raise IntegrityError(
        f"the file {locked.path} at commit {locked.commit} of source {locked.source} is blob "
        f"{blob}, which does not match blob {locked.blob} recorded in agentsync.lock",
        hint=_LOCK_HINT,
        subject=locked.name,
    )


_LOCK_HINT = (
    "restore agentsync.lock from version control, or delete it and run "
    "`agentsync install` to resolve again"
)


def _record_requests(
    run: Session,
    manifest: Manifest,
    old: Lock | None,
    editor: ManifestEditor,
    requests: Sequence[AgentRequest],
) -> None:
    """Turn each `AGENT` argument into a manifest edit, refusing anything ambiguous."""
    for request in requests:
        if request.source is not None and request.source not in manifest.sources:
            raise UsageError(
                f"no source named '{request.source}' in agentsync.toml",
                hint=f"add it with `agentsync source add {request.source} URL`",
                subject=request.source,
            )
        if request.is_glob:
            if request.source is None or request.ref is not None:
                raise UsageError(
                    f"'{request.name}': a glob needs a source and no @ref",
                    hint=f"write it as SOURCE/{request.name}",
                )
            editor.add_include(request.source, request.name)
            continue
        listed = manifest.agents.get(request.name)
        if request.source is None and listed is not None:
            # already in the manifest: `install NAME` means that entry, not a new search
            if request.ref is not None:
                ref, version = pin_request(request.ref)
                editor.set_agent(
                    request.name,
                    listed.source,
                    agent=listed.agent,
                    ref=ref,
                    version=version,
                    file=listed.file,
                )
            continue
        source = request.source or _unique_source(run, manifest, old, request.name)
        ref, version = pin_request(request.ref)
        editor.set_agent(request.name, source, ref=ref, version=version)


def _unique_source(run: Session, manifest: Manifest, old: Lock | None, name: str) -> str:
    found = [c for c in available(run, manifest, old) if c.name == name]
    sources = sorted({c.source for c in found})
    if not found:
        raise ResolveError(
            f"no source provides an agent named '{name}'",
            hint="list what is available with `agentsync search`",
            subject=name,
        )
    if len(sources) > 1:
        raise ambiguity_error(name, found)
    return sources[0]


def available(run: Session, manifest: Manifest, old: Lock | None) -> list[Candidate]:
    """Every agent in every source, at the locked commit (or the ref's newest when unlocked)."""
    from agentsync.resolve import Resolver as _Resolver

    resolver = _Resolver(manifest, run.store, old)
    found: list[Candidate] = []
    for name in manifest.sources:
        found.extend(resolver.candidates_of(name))
    return found


# -- remove -----------------------------------------------------------------------------------


def remove(options: Options, names: Sequence[str], *, force: bool = False) -> InstallReport:
    """Drop agents from the manifest and lock and delete their (unedited) files."""
    with session(options) as run:
        manifest = run.manifest()
        old = run.lock()
        editor = ManifestEditor.open(manifest.path)
        for text in names:
            request = AgentRequest.parse(text)
            if not editor.remove_agent(request.name) and not _half_removed(request.name, old):
                raise _not_in_manifest(request.name, old)
        manifest = editor.manifest()
        new, warnings = _lock_for(run, manifest, old, frozen=False, policy=Policy())
        return _apply(run, manifest, new, old, editor, warnings, force=force)


def _half_removed(name: str, old: Lock | None) -> bool:
    """Gone from the manifest but still locked: a `remove` killed after saving the manifest
    (or a hand edit); running `remove` again finishes the job."""
    locked = old.agents.get(name) if old else None
    return locked is not None and locked.selected == "agents"


def _not_in_manifest(name: str, old: Lock | None) -> AgentsyncError:
    locked = old.agents.get(name) if old else None
    if locked is not None and locked.selected == "include":
        return UsageError(
            f"'{name}' is installed through the include list of source {locked.source}",
            hint=f'add "{name}" to `exclude` of [sources.{locked.source}] in agentsync.toml, '
            "then run `agentsync install`",
            subject=name,
        )
    return UsageError(
        f"'{name}' is not in agentsync.toml",
        hint="see what is installed with `agentsync status`",
        subject=name,
    )


# -- status -----------------------------------------------------------------------------------

AgentState = Literal["ok", "modified", "missing", "conflict", "unverified", "unmanaged"]


@dataclass(frozen=True)
class StatusEntry:
    """One agent file's state."""

    name: str
    state: AgentState
    path: Path
    source: str | None = None
    commit: Commit | None = None
    upstream_name: str | None = None
    note: str = ""


@dataclass(frozen=True)
class StatusReport:
    """Every agent in the target folder, managed or not."""

    target: Path
    entries: tuple[StatusEntry, ...]
    stale: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(e.state in {"ok", "unmanaged"} for e in self.entries)


def status(options: Options) -> StatusReport:
    """Installed agents: ok, modified locally, missing, holding conflict markers, with local
    edits the lock cannot vouch for, or not managed by agentsync."""
    with session(options, locked=False) as run:
        manifest = run.manifest() if run.project.manifest_path.exists() else None
        lock = run.lock()
        layout = run.layout(manifest)
        entries: list[StatusEntry] = []
        managed: set[Path] = set()
        for name, locked in sorted((lock.agents if lock else {}).items()):
            path = layout.agent_path(name)
            managed.add(path)
            state, note = _state_of(run, manifest, locked, path)
            entries.append(
                StatusEntry(
                    name, state, path, locked.source, locked.commit, locked.upstream_name, note
                )
            )
        if layout.target.is_dir():
            for path in sorted(agent_files(layout.target)):
                if path not in managed:
                    entries.append(
                        StatusEntry(_display_name(path, layout.target), "unmanaged", path)
                    )
        stale = tuple(stale_reasons(manifest, lock)) if manifest and lock else ()
        return StatusReport(layout.target, tuple(entries), stale)


def _state_of(
    run: Session, manifest: Manifest | None, locked: LockedAgent, path: Path
) -> tuple[AgentState, str]:
    from agentsync.ids import sha256

    try:
        data = read_installed(path, locked.name)
    except AgentsyncError as error:
        return "modified", error.message
    if data is None:
        return "missing", ""
    line = unresolved_markers(data, locked.name)
    if line is not None:
        return "conflict", f"unresolved conflict markers from line {line}"
    if sha256(data) != locked.sha256:
        return "modified", ""
    if locked.local_edits:
        problem = _unverified_edits(run, manifest, locked)
        if problem:
            return "unverified", problem
    return "ok", ""


def _unverified_edits(run: Session, manifest: Manifest | None, locked: LockedAgent) -> str:
    """Why the local edits the lock records for `locked` cannot be tied to its upstream file
    from the cache ("" when they can); never fetches."""
    if manifest is None or locked.source not in manifest.sources:
        return "its source is not in agentsync.toml, so its local edits cannot be checked"
    mirror = run.mirror(manifest, locked.source)
    try:
        if not mirror.has_commit(locked.commit):
            return "its commit is not in the cache: run `agentsync install` to check it"
        expected_bytes(locked, lambda a: read_upstream(run, manifest, a))
    except AgentsyncError as error:
        return error.message
    return ""


def _display_name(path: Path, target: Path) -> str:
    from agentsync.installer import file_name_of

    return file_name_of(path) or str(path.relative_to(target))


# -- outdated and update: see agentsync.updater ------------------------------------------------


# -- sources, init, search, show --------------------------------------------------------------


def init(options: Options, preset: str | None = None) -> Path:
    """Create agentsync.toml, empty or from a shipped preset."""
    from agentsync.presets import preset_text

    with session(options) as run:
        path = run.project.manifest_path
        if path.exists():
            raise UsageError(
                f"{path} already exists", hint="edit it, or use `agentsync source add`"
            )
        editor = ManifestEditor.new(path, text=preset_text(preset) if preset else None)
        editor.save()
        return path


def source_add(
    options: Options,
    name: str,
    url: str,
    *,
    ref: str | None = None,
    version: str | None = None,
    path: str | None = None,
) -> None:
    """Add a source to agentsync.toml (creating the file when absent)."""
    with session(options) as run:
        manifest_path = run.project.manifest_path
        editor = (
            ManifestEditor.open(manifest_path)
            if manifest_path.exists()
            else ManifestEditor.new(manifest_path)
        )
        editor.add_source(name, url, ref=ref, version=version, path=path)
        editor.manifest()
        editor.save()


def source_remove(options: Options, name: str) -> None:
    """Remove a source that no agent uses any more."""
    with session(options) as run:
        editor = ManifestEditor.open(run.manifest().path)
        editor.remove_source(name)
        editor.save()


@dataclass(frozen=True)
class SourceRow:
    """One source as `source list` shows it."""

    name: str
    url: str
    request: str
    commit: Commit | None
    agents: int


def source_list(options: Options) -> tuple[SourceRow, ...]:
    """The manifest's sources with their locked commits."""
    with session(options, locked=False) as run:
        manifest = run.manifest()
        lock = run.lock()
        rows = []
        for name, spec in manifest.sources.items():
            locked = lock.sources.get(name) if lock else None
            count = sum(1 for a in (lock.agents.values() if lock else ()) if a.source == name)
            request = f"version {spec.version}" if spec.version else (spec.ref or "HEAD")
            rows.append(
                SourceRow(
                    name,
                    spec.location(manifest.dir).display,
                    request,
                    locked.commit if locked else None,
                    count,
                )
            )
        return tuple(rows)


@dataclass(frozen=True)
class SearchRow:
    """One available agent."""

    candidate: Candidate
    installed: bool
    verdict: str  # "ok", "warnings", "errors" (loads, but wrong), "will not load"


def search(options: Options, query: str | None = None) -> tuple[SearchRow, ...]:
    """Agents available in all sources, filtered by a substring or glob of name/description."""
    from agentsync.compat import diagnose

    with session(options, locked=False) as run:
        manifest = run.manifest()
        lock = run.lock()
        installed = {(a.source, a.upstream_name) for a in (lock.agents.values() if lock else ())}
        rows = []
        for candidate in available(run, manifest, lock):
            if query and not _matches_query(candidate, query):
                continue
            data = run.mirror(manifest, candidate.source).read_blob(candidate.blob)
            parsed, diagnostics = diagnose(data, candidate.path)
            severities = {d.severity for d in diagnostics}
            verdict = (
                "will not load"
                if not parsed.loads
                else "errors"  # it loads, but wrong (conflict markers)
                if "error" in severities
                else "warnings"
                if "warning" in severities
                else "ok"
            )
            rows.append(
                SearchRow(candidate, (candidate.source, candidate.name) in installed, verdict)
            )
        return tuple(sorted(rows, key=lambda r: (r.candidate.name, r.candidate.source)))


def _matches_query(candidate: Candidate, query: str) -> bool:
    if any(ch in query for ch in "*?["):
        return fnmatch.fnmatchcase(candidate.name, query) or fnmatch.fnmatchcase(
            candidate.label, query
        )
    needle = query.lower()
    return needle in candidate.label.lower() or needle in (candidate.description or "").lower()


@dataclass(frozen=True)
class ShowReport:
    """One agent: where it comes from and what Claude Code will read from it."""

    candidate: Candidate
    data: bytes
    locked: LockedAgent | None
    diagnostics: tuple[object, ...] = field(default=())


def show(options: Options, text: str) -> ShowReport:
    """Find one agent (installed or available) and diagnose it."""
    from agentsync.compat import diagnose

    request = AgentRequest.parse(text)
    with session(options, locked=False) as run:
        manifest = run.manifest()
        lock = run.lock()
        locked = lock.agents.get(request.name) if lock else None
        found = [
            c
            for c in available(run, manifest, lock)
            if c.name == (locked.upstream_name if locked and not request.source else request.name)
            and (request.source is None or c.source == request.source)
        ]
        if locked is not None and request.source is None:
            found = [c for c in found if c.source == locked.source] or found
        if not found:
            raise ResolveError(
                f"no agent named '{inline(request.name)}' in any source",
                hint="list what is available with `agentsync search`",
                subject=request.name,
            )
        if len({c.source for c in found}) > 1:
            raise ambiguity_error(request.name, found)
        candidate = found[0]
        data = run.mirror(manifest, candidate.source).read_blob(candidate.blob)
        _parsed, diagnostics = diagnose(data, candidate.path)
        return ShowReport(candidate, data, locked, tuple(diagnostics))


def commit_label(commit: Commit | None) -> str:
    """Short form for display."""
    return short(commit) if commit else "-"
