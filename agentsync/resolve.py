"""Resolution: manifest + cache -> lock (the commit of each source, the file of each agent)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from agentsync.catalog import (
    Candidate,
    Catalog,
    collision_error,
    duplicate_in_source,
    find_candidate,
    has_match,
    uncommitted_agents,
)
from agentsync.errors import AgentsyncError, Notice, ResolveError, SourceError
from agentsync.frontmatter import rename_agent
from agentsync.ids import Commit, Sha256, is_full_commit, name_problem, sha256
from agentsync.lockfile import Lock, LockedAgent, LockedSource, include_matches
from agentsync.manifest import AgentSpec, Manifest, SourceSpec
from agentsync.textsafe import inline
from agentsync.urls import redact
from agentsync.versions import best_tag, parse_range

if TYPE_CHECKING:
    from agentsync.store import Mirror, Store
    from agentsync.urls import Location

DriftKind = Literal["tag-moved", "tag-deleted", "history-rewritten"]


@dataclass(frozen=True)
class Drift:
    """A pinned ref that changed under the lock in a way no normal push explains."""

    source: str
    agent: str | None  # None: the source's own ref; else an agent's own pin
    kind: DriftKind
    ref: str  # the tag or branch (or "HEAD")
    locked: Commit
    current: Commit | None  # where the ref points now (None: the tag is gone)

    @property
    def message(self) -> str:
        where = f"agent {self.agent}" if self.agent else f"source {self.source}"
        now = self.current or "nothing"
        ref = inline(self.ref)  # a tag or branch name the source chose
        if self.kind == "tag-moved":
            return f"{where}: tag {ref} moved: locked {self.locked}, now {now}"
        if self.kind == "tag-deleted":
            return f"{where}: tag {ref} was deleted upstream (locked {self.locked})"
        return (
            f"{where}: history of {ref} was rewritten: locked commit {self.locked} "
            f"is no longer on it (tip {now})"
        )


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a manifest: the new lock plus what is worth telling the user."""

    lock: Lock
    warnings: tuple[str, ...] = ()
    drift: tuple[Drift, ...] = ()
    gone: tuple[str, ...] = ()  # agents kept at their old pin because upstream no longer has them
    held: tuple[str, ...] = ()  # agents kept at their old pin because the new version won't load


# -- refs -------------------------------------------------------------------------------------


def resolve_spec_commit(
    mirror: Mirror, ref: str | None, version: str | None, what: str
) -> tuple[Commit, str | None]:
    """The newest commit for a ref or version range, and the tag that chose it (a range's
    pick, or the ref itself when it names a tag: the lock records it, so that the tag being
    deleted upstream later can be told apart from a name that never existed)."""
    if version is not None:
        tags = mirror.tags()
        tag = best_tag(parse_range(version), tags)
        if tag is None:
            raise SourceError(
                f"no tag matches version range '{version}'",
                hint="list the tags with `git ls-remote --tags URL`, or relax the range",
                subject=what,
            )
        return tags[tag], tag
    commit = mirror.resolve(ref)
    named_tag = ref is not None and not is_full_commit(ref) and mirror.tags().get(ref) == commit
    return commit, (ref if named_tag else None)


def detect_drift(
    mirror: Mirror,
    locked: Commit,
    ref: str | None,
    version: str | None,
    resolved: str | None,
    *,
    branches: bool = True,
) -> tuple[DriftKind, str, Commit | None] | None:
    """How the ref that chose `locked` has been rewritten upstream, judged from the mirror.

    Pass `branches=False` when the mirror was not fetched just now: a stale branch tip in
    the cache would look like rewritten history.
    """
    if ref is not None and is_full_commit(ref):
        return None  # a commit pin cannot move
    tags = mirror.tags()
    if version is not None:
        tag = resolved
    else:  # a ref the lock recorded as a tag, or one that is a tag now
        tag = resolved if resolved is not None else (ref if ref in tags else None)
    if version is not None and tag is None:
        return None
    if tag is not None:
        now = tags.get(tag)
        if now is None:
            return "tag-deleted", tag, None
        return None if now == locked else ("tag-moved", tag, now)
    if not branches or (ref is not None and ref not in mirror.branches()):
        return None  # a short commit id or some other name: nothing to compare
    tip = mirror.resolve(ref)
    if tip == locked:
        return None  # not moved: nothing to ask git
    if mirror.has_commit(locked) and mirror.is_ancestor(locked, tip):
        return None
    return "history-rewritten", ref or "HEAD", tip


# -- the resolver -----------------------------------------------------------------------------

UpdateScope = Literal["none", "all"] | frozenset[str]


@dataclass(frozen=True)
class Policy:
    """How to treat an agent file Claude Code would drop: refuse, fix it, or install as is."""

    fix: bool = False
    force: bool = False


@dataclass
class _Findings:
    """What one resolution found worth telling, besides the lock."""

    warnings: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    seen: set[tuple[str, Commit]] = field(default_factory=set)

    def note_drift(self, drift: Drift) -> None:
        self.drift.append(drift)
        self.warnings.append(Notice("ref-moved", drift.message))


@dataclass(frozen=True)
class _Scope:
    """Which pins a resolution may move: none (install), all, or named agents (update)."""

    manifest: Manifest
    old: Lock
    update: UpdateScope

    def moves(self, agent: str) -> bool:
        if self.update == "all":
            return True
        return self.update != "none" and agent in self.update

    def source_moves(self, source: str) -> bool:
        if self.update in ("all", "none"):
            return self.update == "all"
        named = set(self.update)
        return any(a.source == source and a.name in named for a in self.old.agents.values()) or any(
            a.source == source and a.key in named for a in self.manifest.agents.values()
        )

    def keeps_commit(self, spec: SourceSpec) -> bool:
        previous = self.old.sources.get(spec.name)
        return (
            previous is not None
            and _same_origin(previous, spec)
            and not self.source_moves(spec.name)
        )

    def reusable(self, key: str, spec: AgentSpec, selected: str) -> LockedAgent | None:
        """The previous lock entry for `key`, when nothing asks it to change."""
        previous = self.old.agents.get(key)
        if previous is None or self.moves(key) or previous.selected != selected:
            return None
        if not _same_agent(previous, spec):
            return None
        old_source = self.old.sources.get(spec.source)
        source_spec = self.manifest.sources[spec.source]
        if old_source is None or not _same_origin(old_source, source_spec):
            return None
        return previous


@dataclass(frozen=True)
class Resolver:
    """Resolves a manifest against the cache, reusing locked commits unless told to move."""

    manifest: Manifest
    store: Store
    old: Lock = field(default_factory=Lock)  # the lock so far: empty when there is none
    update: UpdateScope = "none"  # "all", or the agent names `update` was asked to move
    policy: Policy = Policy()
    # `update`/`outdated`: an agent gone upstream keeps its old pin instead of failing the run.
    keep_missing: bool = False
    # Mirror keys fetched in this run; shared by `--recursive` so each source is fetched once.
    fetched: set[str] = field(default_factory=set)
    # Discoveries shared with the rest of the run (a commit's agents are parsed once).
    catalog: Catalog | None = None
    # `outdated`: fetch only sources whose advertised refs differ from the mirror's.
    compare_first: bool = False

    @property
    def _catalog(self) -> Catalog:
        if self.catalog is None:
            object.__setattr__(self, "catalog", Catalog(self.store, self.manifest))
        assert self.catalog is not None  # noqa: S101 - just set
        return self.catalog

    @functools.cached_property
    def _old_by_source(self) -> dict[str, list[tuple[str, LockedAgent]]]:
        """The old lock's agents by source, in name order: looked up per source (scanning
        the whole lock for each source took sources x agents steps)."""
        grouped: dict[str, list[tuple[str, LockedAgent]]] = {}
        for key, previous in sorted(self.old.agents.items()):
            grouped.setdefault(previous.source, []).append((key, previous))
        return grouped

    @property
    def _scope(self) -> _Scope:
        return _Scope(self.manifest, self.old, self.update)

    def run(self) -> Resolution:
        found = _Findings()
        self._prefetch()
        sources = {
            name: self._lock_source(found, spec) for name, spec in self.manifest.sources.items()
        }
        self._discover_ahead(sources)
        agents = self._lock_agents(found, sources)
        return Resolution(
            Lock(sources=sources, agents=agents),
            tuple(found.warnings),
            tuple(found.drift),
            tuple(sorted(found.gone)),
            tuple(sorted(found.held)),
        )

    def source_commit(self, source: str) -> Commit:
        """The commit `source` is locked at (or, not locked yet, the newest of its ref)."""
        return self._lock_source(_Findings(), self.manifest.sources[source]).commit

    def candidates_of(self, source: str) -> list[Candidate]:
        """Agents in one source at its locked commit (or the newest one when not locked)."""
        found = _Findings()
        locked = self._lock_source(found, self.manifest.sources[source])
        return self._candidates(found, source, locked.commit)

    def _candidates(self, found: _Findings, source: str, commit: Commit) -> list[Candidate]:
        """A source's agents at a commit; what discovery skipped is told once per run."""
        if (source, commit) not in found.seen:
            found.seen.add((source, commit))
            found.warnings.extend(self._catalog.warnings(source, commit))
        return self._catalog.candidates(source, commit)

    def _discover_ahead(self, sources: Mapping[str, LockedSource]) -> None:
        """List and parse the sources whose globs pick agents side by side, so that one
        source's git reads overlap another's parsing; the locking that follows reads the
        catalog in the manifest's order (and reports any failure there)."""
        jobs = [
            (name, locked.commit)
            for name, locked in sources.items()
            if self.manifest.sources[name].include
        ]
        if len(jobs) < 2:
            return

        def discover(job: tuple[str, Commit]) -> None:
            with contextlib.suppress(AgentsyncError):
                self._catalog.candidates(*job)

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, len(jobs))) as pool:
            list(pool.map(discover, jobs))

    def _fetch(self, mirror: Mirror) -> None:
        if mirror.key in self.fetched:
            return
        if self.store.offline:
            mirror.ensure()  # resolve from what the cache holds, or fail clearly
        else:
            mirror.fetch(compare_first=self.compare_first)
        self.fetched.add(mirror.key)

    def _prefetch(self) -> None:
        """Fetch, in parallel, every source this run will have to fetch (one slow source must
        not delay the others)."""
        mirror = self._catalog.mirror
        due = [
            spec
            for spec in self.manifest.sources.values()
            if not self._scope.keeps_commit(spec) and mirror(spec.name).key not in self.fetched
        ]
        if self.store.offline or len(due) < 2:
            return
        by_key: dict[str, list[SourceSpec]] = {}
        for spec in due:
            by_key.setdefault(mirror(spec.name).key, []).append(spec)

        def look_ahead(location: Location, error: AgentsyncError | None) -> None:
            # As each fetch ends, list its refs and discover its agents on the same thread,
            # beside the fetches still running; the locking that follows finds both in
            # memory, and reports any failure in the manifest's order.
            if error is None:
                for spec in by_key.get(self.store.mirror(location).key, ()):
                    self._discover_early(spec)

        self.store.prefetch(
            [spec.location(self.manifest.dir) for spec in due],
            compare_first=self.compare_first,
            on_done=look_ahead,
        )
        self.fetched.update(mirror(spec.name).key for spec in due)

    def _discover_early(self, spec: SourceSpec) -> None:
        if not spec.include or (spec.ref is not None and is_full_commit(spec.ref)):
            return  # nothing a glob picks, or a commit that may still need fetching by id
        with contextlib.suppress(AgentsyncError):
            commit, _tag = resolve_spec_commit(
                self._catalog.mirror(spec.name), spec.ref, spec.version, f"source {spec.name}"
            )
            self._catalog.candidates(spec.name, commit)

    def _lock_source(self, found: _Findings, spec: SourceSpec) -> LockedSource:
        try:
            return self._lock_source_of(found, spec)
        except SourceError as error:
            # people know the source by the manifest's name; the URL alone may not say which
            if error.subject and not error.subject.startswith(f"source {spec.name}"):
                error.subject = f"source {spec.name} ({error.subject})"
            elif not error.subject:
                error.subject = f"source {spec.name}"
            raise

    def _lock_source_of(self, found: _Findings, spec: SourceSpec) -> LockedSource:
        previous = self.old.sources.get(spec.name)
        mirror = self._catalog.mirror(spec.name)
        if previous is not None and self._scope.keeps_commit(spec):
            if not self._catalog.indexed(spec.name, previous.commit):
                mirror.ensure_commit(previous.commit)  # else read only if a verdict is missing
            return _locked_source(spec, previous.commit, previous.resolved)
        self._fetch(mirror)
        if previous is not None and _same_origin(previous, spec):
            _refuse_deleted_tag(mirror, f"source {spec.name}", previous.commit, spec, previous)
        if mirror.location.kind == "path" and uncommitted_agents(self.store, spec, mirror):
            found.warnings.append(
                Notice(
                    "source-uncommitted",
                    f"source {spec.name}: {mirror.location.display} has uncommitted changes; "
                    "agentsync uses only committed content (commit them to install them)",
                )
            )
        commit, tag = resolve_spec_commit(mirror, spec.ref, spec.version, f"source {spec.name}")
        if previous is not None and _same_origin(previous, spec):
            drift = detect_drift(mirror, previous.commit, spec.ref, spec.version, previous.resolved)
            if drift is not None:
                kind, ref, now = drift
                found.note_drift(Drift(spec.name, None, kind, ref, previous.commit, now))
        return _locked_source(spec, commit, tag)

    def _lock_agents(
        self, found: _Findings, sources: Mapping[str, LockedSource]
    ) -> dict[str, LockedAgent]:
        agents: dict[str, LockedAgent] = {}
        for spec in self.manifest.agents.values():
            previous = self._scope.reusable(spec.key, spec, "agents")
            if previous is not None:
                self._catalog.mirror(spec.source).ensure_commit(previous.commit)
                agents[spec.key] = previous
                continue
            commit, tag = self._agent_commit(found, sources, spec)
            pool = self._candidates(found, spec.source, commit)
            kept = self._kept_when_missing(found, spec.key, spec, pool)
            if kept is not None:
                agents[spec.key] = kept
                continue
            agents[spec.key] = self._locked(found, spec, find_candidate(pool, spec), "agents", tag)
        offered = {
            source.name: self._included(found, sources[source.name], source)
            for source in self.manifest.sources.values()
            if source.include
        }
        winners = _settle_collisions(offered, set(agents), self.manifest.prefer)
        for name, included in offered.items():
            source = self.manifest.sources[name]
            self._lock_included(found, source, included, winners, agents)
        return agents

    def _included(
        self, found: _Findings, locked: LockedSource, source: SourceSpec
    ) -> list[Candidate]:
        pool = self._candidates(found, source.name, locked.commit)
        return included_candidates(pool, source, found.warnings)

    def _kept_when_missing(
        self, found: _Findings, key: str, spec: AgentSpec, pool: list[Candidate]
    ) -> LockedAgent | None:
        """An agent gone upstream stays at its old pin (reported), never deleted."""
        previous = self.old.agents.get(key)
        if not self.keep_missing or previous is None or has_match(pool, spec):
            return None
        self._keep(found.gone, key, previous)
        return previous

    def _keep(self, reasons: list[str], key: str, previous: LockedAgent) -> None:
        self._catalog.mirror(previous.source).ensure_commit(previous.commit)
        reasons.append(key)

    def _lock_included(
        self,
        found: _Findings,
        source: SourceSpec,
        included: list[Candidate],
        winners: Mapping[str, str],
        agents: dict[str, LockedAgent],
    ) -> None:
        for candidate in included:
            if candidate.name in agents:
                continue  # an explicit [agents] entry wins over an include glob
            if winners.get(candidate.name, source.name) != source.name:
                continue  # another source's glob offers it too, and the manifest prefers that one
            spec = AgentSpec(candidate.name, source.name, candidate.name, None, None, None)
            previous = self._scope.reusable(candidate.name, spec, "include")
            agents[candidate.name] = previous or self._locked(found, spec, candidate, "include")
        if not self.keep_missing:
            return
        names = {c.name for c in included}
        for key, previous in self._old_by_source.get(source.name, ()):
            if key not in agents and _gone_from_include(previous, source, names):
                self._keep(found.gone, key, previous)
                agents[key] = previous

    def _agent_commit(
        self, found: _Findings, sources: Mapping[str, LockedSource], spec: AgentSpec
    ) -> tuple[Commit, str | None]:
        """The commit (and tag a range chose) for an agent: its own pin, else its source's."""
        if spec.ref is None and spec.version is None:
            return sources[spec.source].commit, None
        mirror = self._catalog.mirror(spec.source)
        if spec.ref is not None and is_full_commit(spec.ref) and not self.store.offline:
            mirror.ensure_commit(Commit(spec.ref))
        elif not self.store.offline:
            self._fetch(mirror)
        previous = self.old.agents.get(spec.key)
        if previous is not None and _same_agent(previous, spec):
            _refuse_deleted_tag(mirror, f"agent {spec.key}", previous.commit, spec, previous)
        commit, tag = resolve_spec_commit(mirror, spec.ref, spec.version, f"agent {spec.key}")
        if previous is not None and _same_agent(previous, spec):
            drift = detect_drift(mirror, previous.commit, spec.ref, spec.version, previous.resolved)
            if drift is not None:
                kind, ref, now = drift
                found.note_drift(Drift(spec.source, spec.key, kind, ref, previous.commit, now))
        return commit, tag

    def _locked(
        self,
        found: _Findings,
        spec: AgentSpec,
        candidate: Candidate,
        selected: Literal["agents", "include"],
        tag: str | None = None,
    ) -> LockedAgent:
        previous = self.old.agents.get(spec.key)
        # An agent installed with --fix stays repaired across updates.
        fix = self.policy.fix or (previous is not None and previous.fixed)
        if not candidate.loads and not (fix or self.policy.force):
            if self.keep_missing and previous is not None and previous.blob != candidate.blob:
                # `update`: a new version that would not load holds this agent back only.
                self._keep(found.held, spec.key, previous)
                found.warnings.append(_held_warning(spec.key, candidate))
                return previous
            raise _unloadable(spec.key, candidate)
        if not fix and previous is not None and _same_plain_blob(previous, spec, candidate):
            # the same upstream bytes, written as they are: the lock's hash of them holds
            return _entry(spec, candidate, selected, tag, None, False, digest=previous.sha256)
        data = self._catalog.mirror(spec.source).read_blob(candidate.blob)
        return _carry_local_edits(previous, _entry(spec, candidate, selected, tag, data, fix))


def _same_plain_blob(previous: LockedAgent, spec: AgentSpec, candidate: Candidate) -> bool:
    """The lock already holds the sha256 of this very blob as installed: same blob, kept
    under its own name and never repaired, so nothing this version would change is applied
    to the bytes (a renamed or repaired agent's hash depends on how agentsync rewrites it)."""
    return (
        previous.blob == candidate.blob
        and not previous.fixed
        and not previous.local_edits
        and previous.name == previous.upstream_name == candidate.name == spec.key
    )


def _refuse_deleted_tag(
    mirror: Mirror,
    what: str,
    locked: Commit,
    pin: SourceSpec | AgentSpec,
    previous: LockedSource | LockedAgent,
) -> None:
    """A tag the lock was pinned to by name, gone upstream: say so, with the locked commit
    (a plain "no such ref" would hide that the history was rewritten under the pin)."""
    if pin.version is not None or previous.resolved is None:
        return  # a range picks another tag; an old lock recorded no tag for the ref
    drift = detect_drift(mirror, locked, pin.ref, pin.version, previous.resolved)
    if drift is not None and drift[0] == "tag-deleted":
        source = previous.source if isinstance(previous, LockedAgent) else previous.name
        agent = previous.name if isinstance(previous, LockedAgent) else None
        message = Drift(source, agent, "tag-deleted", drift[1], locked, None).message
        raise SourceError(
            message.split(": ", 1)[1],
            hint="pin another tag (or a commit) in agentsync.toml; `agentsync install "
            "--frozen` keeps installing the locked commit",
            subject=what,
        )


def _settle_collisions(
    offered: Mapping[str, list[Candidate]], explicit: set[str], prefer: Sequence[str]
) -> dict[str, str]:
    """Which source installs each name that several sources' include globs offer: the one
    `[settings] prefer` lists first. A name the manifest does not settle (no `[agents]`
    entry, no preferred candidate) is an error listing every such name with its candidates,
    as `install NAME` does for one: a glob must not hand a shared name to whichever source
    happens to come first."""
    by_name: dict[str, list[Candidate]] = {}
    for candidates in offered.values():
        for candidate in candidates:
            by_name.setdefault(candidate.name, []).append(candidate)
    winners: dict[str, str] = {}
    unsettled: list[tuple[str, list[Candidate]]] = []
    for name, candidates in sorted(by_name.items()):
        if len(candidates) < 2 or name in explicit:
            continue
        sources = {c.source for c in candidates}
        preferred = next((p for p in prefer if p in sources), None)
        if preferred is None:
            unsettled.append((name, candidates))
        else:
            winners[name] = preferred
    if unsettled:
        raise collision_error(unsettled)
    return winners


def included_candidates(
    pool: Iterable[Candidate], spec: SourceSpec, warnings: list[str]
) -> list[Candidate]:
    """The candidates a source's include (minus exclude) globs select, by name; names that
    cannot be file names are skipped with a warning, and a name twice is an error."""
    chosen: dict[str, Candidate] = {}
    for candidate in pool:
        if not include_matches(candidate.name, candidate.plugin, spec.include) or include_matches(
            candidate.name, candidate.plugin, spec.exclude
        ):
            continue
        problem = name_problem(candidate.name)
        if problem is not None:
            # The name would become the file name: `../../x` or `/etc/x` must never be one.
            warnings.append(
                Notice(
                    "name-skipped",
                    f"{spec.name}: skipped {inline(candidate.path)}: its name "
                    f"{candidate.name!r} cannot be a file name ({problem}); "
                    "install it under another name in [agents]",
                )
            )
            continue
        other = chosen.get(candidate.name)
        if other is not None:
            raise duplicate_in_source([other, candidate], spec.name)
        chosen[candidate.name] = candidate
    return sorted(chosen.values(), key=lambda c: c.name)


def _gone_from_include(previous: LockedAgent, source: SourceSpec, names: set[str]) -> bool:
    """An agent the include globs chose before, and would still choose, that upstream lost."""
    return (
        previous.selected == "include"
        and previous.source == source.name
        and previous.upstream_name not in names
        and include_matches(previous.upstream_name, previous.plugin, source.include)
        and not include_matches(previous.upstream_name, previous.plugin, source.exclude)
    )


def _entry(
    spec: AgentSpec,
    candidate: Candidate,
    selected: Literal["agents", "include"],
    tag: str | None,
    data: bytes | None,
    fix: bool,
    *,
    digest: Sha256 | None = None,
) -> LockedAgent:
    """The lock entry for installing `candidate` (bytes `data`) as the manifest asks; or,
    without the bytes, with the `digest` of them as installed (and no repair)."""
    if data is None:
        if digest is None:
            raise TypeError("a lock entry needs the bytes or their digest")
        first = digest
    else:
        first = sha256(data)
    locked = LockedAgent(
        name=spec.key,
        source=spec.source,
        upstream_name=candidate.name,
        path=candidate.path,
        commit=candidate.commit,
        blob=candidate.blob,
        sha256=first,
        ref=spec.ref,
        version=spec.version,
        file=spec.file,
        selected=selected,
        fixed=fix and data is not None and _needs_fix(data),
        resolved=tag,
        plugin=candidate.plugin,
    )
    if data is None:
        return locked
    return replace(locked, sha256=sha256(installed_bytes(locked, data)))


def _held_warning(key: str, candidate: Candidate) -> str:
    label = inline(candidate.label)
    return Notice(
        "held-back",
        f"{key}: Claude Code would not load the new version of {label} "
        f"({inline(candidate.path)}); kept at the old pin (see `agentsync show {label}`; "
        "update with --fix or --force)",
    )


def _unloadable(key: str, candidate: Candidate) -> ResolveError:
    label = inline(candidate.label)
    return ResolveError(
        f"Claude Code would not load {label} ({inline(candidate.path)})",
        hint=f"see why with `agentsync show {label}`; install a repaired copy "
        "with --fix, or the file as it is with --force",
        subject=key,
    )


def _carry_local_edits(previous: LockedAgent | None, locked: LockedAgent) -> LockedAgent:
    """A merged file whose upstream blob did not change keeps its merged hash and patch."""
    if (
        previous is None
        or not previous.local_edits
        or (previous.blob, previous.name, previous.fixed)
        != (locked.blob, locked.name, locked.fixed)
    ):
        return locked
    return replace(locked, sha256=previous.sha256, local_edits=True, edits=previous.edits)


def _needs_fix(data: bytes) -> bool:
    from agentsync.fixer import fix_agent

    return fix_agent(data) != data


def _locked_source(spec: SourceSpec, commit: Commit, tag: str | None) -> LockedSource:
    return LockedSource(
        name=spec.name,
        url=redact(spec.url),
        ref=spec.ref,
        version=spec.version,
        path=spec.path,
        include=tuple(spec.include),
        exclude=tuple(spec.exclude),
        commit=commit,
        resolved=tag,
    )


def installed_bytes(locked: LockedAgent, upstream: bytes) -> bytes:
    """The bytes agentsync writes for `locked`: upstream, repaired if so locked, renamed."""
    data = upstream
    if locked.fixed:
        from agentsync.fixer import fix_agent

        data = fix_agent(data)
    if locked.name != locked.upstream_name:
        data = rename_agent(data, locked.name)
    return data


def _same_origin(locked: LockedSource, spec: SourceSpec) -> bool:
    """Same URL and ref/range: the locked commit still answers the request."""
    return (
        locked.url == redact(spec.url) and locked.ref == spec.ref and locked.version == spec.version
    )


def _same_agent(locked: LockedAgent, spec: AgentSpec) -> bool:
    return (
        locked.source == spec.source
        and (locked.upstream_name == spec.agent or spec.file is not None)
        and locked.ref == spec.ref
        and locked.version == spec.version
        and locked.file == spec.file
    )
