"""Use cases behind the project commands: install, remove, status, init, sources, search and
show; each opens a session, does one job, and returns a report."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentsync.catalog import Candidate, ambiguity_error
from agentsync.errors import (
    AgentsyncError,
    Notice,
    ResolveError,
    SourceError,
    UsageError,
    did_you_mean,
    notice_code,
)
from agentsync.ids import Commit, sha256
from agentsync.installer import (
    agent_files,
    expected_bytes,
    read_installed,
    still_verified,
    unresolved_markers,
)
from agentsync.lockfile import Lock, LockedAgent, stale_reasons
from agentsync.manifest import Manifest, ManifestEditor
from agentsync.project import user_agents_dir
from agentsync.requests import AgentRequest, pin_request
from agentsync.resolve import Policy, Resolver
from agentsync.session import Options, Session, open_session
from agentsync.sync import (
    Request,
    SyncPlan,
    SyncReport,
    apply_sync,
    plan_sync,
    preload,
    report_of,
)
from agentsync.textsafe import inline

if TYPE_CHECKING:
    from agentsync.compat import Diagnostic
    from agentsync.frontmatter import AgentFile

# -- install and remove ---------------------------------------------------------------------


def install(
    options: Options,
    requests: Sequence[str] = (),
    *,
    frozen: bool = False,
    force: bool = False,
    fix: bool = False,
    dry_run: bool = False,
) -> SyncReport:
    """`install AGENT...` adds and installs; `install` makes the folder match the lock;
    `dry_run` plans either and writes nothing (no manifest, lock or agent file)."""
    parsed = [AgentRequest.parse(text) for text in requests]
    if frozen and parsed:
        raise UsageError("--frozen installs what the lock says; it takes no AGENT arguments")
    with open_session(options, locked=not dry_run) as run:
        manifest = run.manifest()
        editor: ManifestEditor | None = None
        if parsed:
            editor = run.editor()
            _record_requests(run, manifest, editor, parsed)
            manifest = run.use_manifest(editor.manifest())
        request = Request(policy=Policy(fix, force), force=force, frozen=frozen)
        plan = plan_sync(run, manifest, request)
        if dry_run:
            return report_of(plan, dry_run=True)
        report = apply_sync(plan, editor)
        if not parsed and not frozen:
            _remember_if_clean(run, plan, report)
        return report


def _remember_if_clean(run: Session, plan: SyncPlan, report: SyncReport) -> None:
    """A plain `install` that found nothing to do records so, for the next one to see
    without loading the pipeline (agentsync.fastpath); anything else leaves no record."""
    manifest, lock = run.manifest_bytes, run.lock_bytes
    files = plan.files
    if manifest is None or lock is None or files is None or not files.lock_unchanged:
        return
    if not report.ok or report.warnings or report.lock_changed or report.manifest_changed:
        return
    if any(a.kind != "keep" for a in files.actions):
        return
    if any(r.status not in {"unchanged", "pinned"} or r.drift for r in report.rows):
        return
    entries = files.lock.agents
    confirmed = [(a.path, entries[a.name].sha256) for a in files.actions if a.name in entries]
    if len(confirmed) != len(entries) or len(files.actions) != len(entries):
        return
    from agentsync.fastpath import remember_clean_state

    target = plan.layout.target
    if not target.is_dir() or target.is_symlink():
        return  # nothing on disk to vouch for: the full run says what is wrong
    remember_clean_state(run.project.root, run.project.state_dir, target, manifest, lock, confirmed)


def _record_requests(
    run: Session, manifest: Manifest, editor: ManifestEditor, requests: Sequence[AgentRequest]
) -> None:
    """Turn each `AGENT` argument into a manifest edit, refusing anything ambiguous."""
    for request in requests:
        if request.source is not None and request.source not in manifest.sources:
            raise UsageError(
                f"no source named '{request.source}' in agentsync.toml",
                hint=did_you_mean(
                    request.source,
                    manifest.sources,
                    also=f"add it with `agentsync source add {request.source} URL`",
                ),
                subject=request.source,
            )
        if request.source is not None and (request.plugin or request.plugin_glob):
            _record_plugin_request(run, manifest, editor, request)
            continue
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
        source = request.source or _unique_source(run, manifest, request.name)
        ref, version = pin_request(request.ref)
        editor.set_agent(request.name, source, ref=ref, version=version)


def _record_plugin_request(
    run: Session, manifest: Manifest, editor: ManifestEditor, request: AgentRequest
) -> None:
    """`SOURCE/PLUGIN/NAME` or `SOURCE/PLUGIN:GLOB` in a marketplace: an agent (or the agents)
    of one plugin. A plugin kept in another repository becomes a source of its own."""
    assert request.source is not None  # noqa: S101 - the caller checked
    source = request.source
    glob = request.plugin_glob
    plugin_name = request.plugin if request.plugin is not None else glob[0] if glob else ""
    resolver = Resolver(manifest, run.store, run.lock(), catalog=run.catalog(manifest))
    pool = resolver.candidates_of(source)
    market = run.catalog(manifest).marketplace(source, resolver.source_commit(source))
    if market is None:
        raise UsageError(
            f"source {source} is not a marketplace (it has no .claude-plugin/marketplace.json)",
            hint=f"name its agents as {source}/NAME or {source}/GLOB",
            subject=source,
        )
    plugin = market.get(plugin_name)
    if plugin is None:
        raise ResolveError(
            f"marketplace {source} has no plugin named '{inline(plugin_name)}'",
            hint=did_you_mean(
                plugin_name,
                (p.name for p in market.plugins),
                also="`agentsync search` lists the agents with their paths",
            ),
            subject=f"{source}/{plugin_name}",
        )
    ref, version = pin_request(request.ref)
    if plugin.external is not None:
        own = f"{source}-{plugin.name}"
        if own not in manifest.sources:
            folder = plugin.external.path
            editor.add_source(
                own,
                plugin.external.url,
                ref=plugin.external.ref,
                path=f"{folder}/agents" if folder else "agents",
            )
        if glob is not None:
            editor.add_include(own, glob[1])
        else:
            editor.set_agent(request.name, own, ref=ref, version=version)
        return
    if plugin.unsupported is not None:
        raise ResolveError(
            f"plugin {plugin.name} of {source} cannot be installed: {inline(plugin.unsupported)}",
            hint="install its agent files from their own repository",
            subject=f"{source}/{plugin.name}",
        )
    if glob is not None:
        editor.add_include(source, request.name)
        return
    found = [c for c in pool if c.plugin == plugin.name and c.name == request.name]
    if not found:
        raise ResolveError(
            f"plugin {plugin.name} of {source} has no agent named '{inline(request.name)}'",
            hint=did_you_mean(
                request.name,
                (c.name for c in pool if c.plugin == plugin.name),
                also="`agentsync search` lists the agents with their paths",
            ),
            subject=f"{source}/{plugin.name}/{request.name}",
        )
    editor.set_agent(request.name, source, ref=ref, version=version, file=found[0].path)


def _unique_source(run: Session, manifest: Manifest, name: str) -> str:
    _require_sources(manifest)
    pool = available(run, manifest)
    found = [c for c in pool if c.name == name]
    sources = sorted({c.source for c in found})
    if not found:
        raise ResolveError(
            f"no source provides an agent named '{name}'",
            hint=did_you_mean(
                name, (c.name for c in pool), also="list what is available with `agentsync search`"
            ),
            subject=name,
        )
    if len(sources) > 1:
        raise ambiguity_error(name, found)
    return sources[0]


NO_SOURCES_HINT = (
    "add one with `agentsync source add NAME URL` (a git URL or a local path), "
    "or start from a preset: `agentsync init --preset voltagent`"
)


def _require_sources(manifest: Manifest) -> None:
    """A project without sources has nothing to find: say how to add one."""
    if not manifest.sources:
        raise ResolveError("agentsync.toml has no sources yet", hint=NO_SOURCES_HINT)


def available(
    run: Session, manifest: Manifest, unavailable: list[str] | None = None
) -> list[Candidate]:
    """Every agent in every source, at the locked commit (or the ref's newest when unlocked).

    With `unavailable` given, a source that cannot be fetched or read is left out and told
    there (a warning naming it), so that looking around works with the healthy sources;
    without it (or when no source is healthy) the first such failure is raised, as
    installing from it must not go on.
    """
    resolver = Resolver(manifest, run.store, run.lock(), catalog=run.catalog(manifest))
    found: list[Candidate] = []
    failures: list[AgentsyncError] = []
    if unavailable is not None and len(manifest.sources) > 1:
        # fetch side by side first, each failure kept for its own source below
        with contextlib.suppress(AgentsyncError):
            run.store.prefetch(
                [run.mirror(manifest, name).location for name in manifest.sources],
                missing_only=True,
            )
    for name in manifest.sources:
        if unavailable is None:
            found.extend(resolver.candidates_of(name))
            continue
        try:
            found.extend(resolver.candidates_of(name))
        except (SourceError, ResolveError) as error:
            failures.append(error)
            if len(failures) == len(manifest.sources):
                raise failures[0] from None  # no healthy source: nothing to degrade to
            why = inline(error.message) + (f" ({inline(error.hint)})" if error.hint else "")
            unavailable.append(Notice("source-unavailable", f"source {name} is left out: {why}"))
    return found


# -- remove -----------------------------------------------------------------------------------


def remove(options: Options, names: Sequence[str], *, force: bool = False) -> SyncReport:
    """Drop agents from the manifest and lock and delete their (unedited) files."""
    with open_session(options) as run:
        old = run.lock()
        editor = run.editor()
        for text in names:
            request = AgentRequest.parse(text)
            if not editor.remove_agent(request.name) and not _half_removed(request.name, old):
                raise _not_in_manifest(request.name, old)
        manifest = run.use_manifest(editor.manifest())
        return apply_sync(plan_sync(run, manifest, Request(force=force)), editor)


def _half_removed(name: str, old: Lock) -> bool:
    """Gone from the manifest but still locked: a `remove` killed after saving the manifest
    (or a hand edit); running `remove` again finishes the job."""
    locked = old.agents.get(name)
    return locked is not None and locked.selected == "agents"


def _not_in_manifest(name: str, old: Lock) -> AgentsyncError:
    locked = old.agents.get(name)
    if locked is not None and locked.selected == "include":
        return UsageError(
            f"'{name}' is installed through the include list of source {locked.source}",
            hint=f'add "{name}" to `exclude` of [sources.{locked.source}] in agentsync.toml, '
            "then run `agentsync install`",
            subject=name,
        )
    # an unknown agent, like one `install` cannot find, is a failed operation (exit 1)
    return ResolveError(
        f"'{name}' is not in agentsync.toml",
        hint=did_you_mean(name, old.agents, also="see what is installed with `agentsync status`"),
        subject=name,
    )


# -- status -----------------------------------------------------------------------------------

AgentState = Literal["ok", "merged", "modified", "missing", "conflict", "unverified", "unmanaged"]


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
    follows: str | None = None  # the tag, branch or version range asked for; None: default branch
    resolved: str | None = None  # the tag a version range chose
    shadows: Path | None = None  # a user-level agent of the same name, which this one hides


@dataclass(frozen=True)
class StatusReport:
    """Every agent in the target folder, managed or not."""

    target: Path
    entries: tuple[StatusEntry, ...]
    stale: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(e.state in {"ok", "merged", "unmanaged"} for e in self.entries)


def status(options: Options) -> StatusReport:
    """Installed agents: ok, modified locally, missing, holding conflict markers, with local
    edits the lock cannot vouch for, or not managed by agentsync."""
    with open_session(options, locked=False) as run:
        manifest = run.manifest() if run.has_manifest else None
        lock = run.lock()
        layout = run.layout(manifest)
        entries: list[StatusEntry] = []
        managed: set[Path] = set()
        # Files the last run verified against these very entries, unchanged since, are tied
        # to upstream already; the others are checked against the cache, read in one batch.
        verified = still_verified(layout, lock, lock) if layout.state_dir.is_dir() else set()
        if manifest is not None:
            preload(run, manifest, lock, verified)
        for name, locked in sorted(lock.agents.items()):
            path = layout.agent_path(name)
            managed.add(path)
            state, note = _state_of(run, manifest, locked, path, tied=name in verified)
            follows, resolved = _follows(manifest, lock, name, locked)
            entries.append(
                StatusEntry(
                    name,
                    state,
                    path,
                    locked.source,
                    locked.commit,
                    locked.upstream_name,
                    note,
                    follows=follows,
                    resolved=resolved,
                    shadows=_shadowed(run, layout.target, path),
                )
            )
        if layout.target.is_dir():
            for path in sorted(agent_files(layout.target)):
                if path not in managed:
                    name = _display_name(path, layout.target)
                    shadows = _shadowed(run, layout.target, path)
                    entries.append(StatusEntry(name, "unmanaged", path, shadows=shadows))
        stale = tuple(stale_reasons(manifest, lock)) if manifest and run.has_lock else ()
        return StatusReport(layout.target, tuple(entries), stale)


def _follows(
    manifest: Manifest | None, lock: Lock, name: str, locked: LockedAgent
) -> tuple[str | None, str | None]:
    """(what the agent follows, the tag a range chose): its own pin, else its source's, as
    the manifest asks (the lock's record when there is no manifest)."""
    spec = manifest.agents.get(name) if manifest is not None else None
    if spec is not None and (spec.ref or spec.version):
        return spec.ref or spec.version, locked.resolved if spec.version else None
    if locked.ref or locked.version:
        return locked.ref or locked.version, locked.resolved if locked.version else None
    source = manifest.sources.get(locked.source) if manifest is not None else None
    recorded = lock.sources.get(locked.source)
    if source is not None:
        chosen = recorded.resolved if recorded is not None and source.version else None
        return source.ref or source.version, chosen
    if recorded is not None:
        chosen = recorded.resolved if recorded.version else None
        return recorded.ref or recorded.version, chosen
    return None, None


def _shadowed(run: Session, target: Path, path: Path) -> Path | None:
    """The user-level agent file that `path` hides: Claude Code runs a project agent instead
    of a user one of the same (frontmatter) name, when the project file loads. None in the
    user scope itself, or when there is none."""
    if run.project.global_scope:
        return None
    user = user_agents_dir()
    if not user.is_dir() or user.resolve() == target.resolve():
        return None
    if run.user_names is None:
        from agentsync.scopes import loading_names

        run.user_names = loading_names(user)
    if not run.user_names:
        return None
    from agentsync.scopes import loading_name

    name = loading_name(path)
    return run.user_names.get(name) if name is not None else None


def _state_of(
    run: Session,
    manifest: Manifest | None,
    locked: LockedAgent,
    path: Path,
    *,
    tied: bool = False,
) -> tuple[AgentState, str]:
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
    # a file holding local edits merged with upstream is as agentsync wrote it, but not
    # upstream's bytes: worth telling apart from a plain copy
    good: AgentState = "merged" if locked.local_edits else "ok"
    if tied:
        return good, ""
    problem = _unverified(run, manifest, locked)
    return ("unverified", problem) if problem else (good, "")


def _unverified(run: Session, manifest: Manifest | None, locked: LockedAgent) -> str:
    """Why the bytes the lock records for `locked` cannot be tied to its upstream file from
    the cache ("" when they can); never fetches. A lock edited by hand to bless a tampered
    file names bytes no upstream file (plus recorded patch) explains."""
    if manifest is None or locked.source not in manifest.sources:
        return "its source is not in agentsync.toml, so its bytes cannot be checked"
    mirror = run.mirror(manifest, locked.source)
    try:
        if not mirror.has_commit(locked.commit):
            return "its commit is not in the cache: run `agentsync install` to check it"
        expected_bytes(locked, run.reader(manifest))
    except AgentsyncError as error:
        return error.message
    return ""


def _display_name(path: Path, target: Path) -> str:
    from agentsync.installer import file_name_of

    return file_name_of(path) or str(path.relative_to(target))


def check_target(options: Options) -> tuple[Path, Path, frozenset[str]]:
    """What `check` with no PATH reads: the project's target folder; the project root,
    whose `.mcp.json` names the MCP servers it configures; and the codes its manifest's
    `[settings] ignore` leaves out."""
    with open_session(options, locked=False) as run:
        manifest = run.manifest() if run.has_manifest else None
        ignore = manifest.ignore if manifest is not None else frozenset()
        return run.layout(manifest).target, run.project.root, ignore


# -- sources, init, search, show --------------------------------------------------------------


def init(options: Options, preset: str | None = None) -> Path:
    """Create agentsync.toml, empty or from a shipped preset."""
    from agentsync.presets import preset_text

    if options.project is None and not options.global_scope:
        # a new project starts here, even inside another one (as `git init` does)
        options = replace(options, project=options.cwd)
    with open_session(options) as run:
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
    with open_session(options) as run:
        manifest_path = run.project.manifest_path
        editor = (
            ManifestEditor.open(manifest_path)
            if manifest_path.exists()
            else ManifestEditor.new(manifest_path)
        )
        editor.add_source(name, url, ref=ref, version=version, path=path)
        manifest = editor.manifest()
        if not options.offline:
            # A typo in a URL should fail now, not at the first install; the fetch also
            # fills the cache that install will read.
            try:
                run.mirror(manifest, name).fetch()
            except SourceError as error:
                error.hint = (
                    f"{error.hint}; or add it without this check: `agentsync --offline source add`"
                    if error.hint
                    else "check the URL, or add it without this check: "
                    "`agentsync --offline source add`"
                )
                raise
        editor.save()


def source_remove(options: Options, name: str) -> None:
    """Remove a source that no agent uses any more."""
    with open_session(options) as run:
        editor = run.editor()
        editor.remove_source(name)
        editor.save()


def source_set(
    options: Options,
    name: str,
    *,
    ref: str | None = None,
    version: str | None = None,
    path: str | None = None,
) -> tuple[str, ...]:
    """Change an existing source's ref, version or path in agentsync.toml; installs nothing
    (the lock keeps its commits until `update` or `install` resolves the new pin). Returns
    the agents that take their files from the source."""
    import difflib

    with open_session(options) as run:
        manifest = run.manifest()
        if name not in manifest.sources:
            close = difflib.get_close_matches(name, list(manifest.sources), n=3, cutoff=0.6)
            raise UsageError(
                f"no source named {inline(name)!r} in agentsync.toml",
                hint=f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else "see `agentsync source list`",
                subject=name,
            )
        editor = run.editor()
        editor.set_source(name, ref=ref, version=version, path=path)
        editor.save()
        return tuple(key for key, spec in manifest.agents.items() if spec.source == name)


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
    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        lock = run.lock()
        rows = []
        for name, spec in manifest.sources.items():
            locked = lock.sources.get(name)
            count = sum(1 for a in lock.agents.values() if a.source == name)
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


@dataclass(frozen=True)
class SearchReport:
    """What the sources offer, and the sources left out (or missing) and why."""

    rows: tuple[SearchRow, ...]
    warnings: tuple[str, ...] = ()


def search(options: Options, query: str | None = None) -> SearchReport:
    """Agents available in all sources, filtered by a substring or glob of name/description;
    a source that cannot be fetched is left out with a warning."""
    from agentsync.fastpath import code_key
    from agentsync.state import DiscoveryIndex

    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        if not manifest.sources:
            return SearchReport(
                (), (Notice("no-sources", f"agentsync.toml has no sources yet: {NO_SOURCES_HINT}"),)
            )
        lock = run.lock()
        installed = {(a.source, a.upstream_name) for a in lock.agents.values()}
        rows = []
        left_out: list[str] = []
        catalog = run.catalog(manifest)
        catalog.index = DiscoveryIndex(run.store.root, code_key())
        pool = available(run, manifest, left_out)
        for source, commit in sorted({(c.source, c.commit) for c in pool}):
            # what a marketplace holds that search cannot list: plugins kept elsewhere
            left_out += [
                w
                for w in catalog.warnings(source, commit)
                if notice_code(w) in {"plugin-elsewhere", "plugin-skipped"}
            ]
        for candidate in pool:
            if query and not _matches_query(candidate, query):
                continue
            verdict = catalog.verdict(candidate)
            rows.append(
                SearchRow(candidate, (candidate.source, candidate.name) in installed, verdict)
            )
        if catalog.index is not None:
            catalog.index.save()
        ordered = tuple(sorted(rows, key=lambda r: (r.candidate.name, r.candidate.source)))
        return SearchReport(ordered, tuple(left_out))


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
    agent: AgentFile  # what Claude Code reads from the file
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    warnings: tuple[str, ...] = ()  # sources left out because they could not be fetched


def show(options: Options, text: str) -> ShowReport:
    """Find one agent (installed or available) and diagnose it."""
    from agentsync.compat import diagnose

    request = AgentRequest.parse(text)
    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        lock = run.lock()
        locked = lock.agents.get(request.name)
        left_out: list[str] = []
        pool = available(run, manifest, left_out)
        found = [
            c
            for c in pool
            if c.name == (locked.upstream_name if locked and not request.source else request.name)
            and (request.source is None or c.source == request.source)
        ]
        if locked is not None and request.source is None:
            found = [c for c in found if c.source == locked.source] or found
        if not found:
            _require_sources(manifest)
            also = "list what is available with `agentsync search`"
            if left_out:
                also = f"{len(left_out)} source(s) could not be read: {'; '.join(left_out)}"
            raise ResolveError(
                f"no agent named '{inline(request.name)}' in any source",
                hint=did_you_mean(
                    request.name, {c.name for c in pool} | set(lock.agents), also=also
                ),
                subject=request.name,
            )
        if len({c.source for c in found}) > 1:
            raise ambiguity_error(request.name, found)
        candidate = found[0]
        data = run.mirror(manifest, candidate.source).read_blob(candidate.blob)
        parsed, diagnostics = diagnose(data, candidate.path)
        return ShowReport(candidate, data, locked, parsed, tuple(diagnostics), tuple(left_out))
