"""Resolution: manifest + cache -> lock (the commit of each source, the file of each agent)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from agentsync.errors import ResolveError, SourceError
from agentsync.frontmatter import MAX_FILE_BYTES, parse_agent, rename_agent
from agentsync.ids import BlobId, Commit, is_full_commit, name_problem, sha256, short
from agentsync.lockfile import Lock, LockedAgent, LockedSource
from agentsync.manifest import AgentSpec, Manifest, SourceSpec
from agentsync.textsafe import inline
from agentsync.urls import redact
from agentsync.versions import best_tag, parse_range

if TYPE_CHECKING:
    from agentsync.store import Mirror, Store

_SKIPPED_NAMES = frozenset({"README.md", "SKILL.md"})
_SKIPPED_FOLDERS = frozenset({"skills", "commands"})


@dataclass(frozen=True)
class Candidate:
    """An agent file found in a source at one commit."""

    source: str
    name: str  # the name Claude Code reads, or the evident `name:` line of a file it drops
    path: str
    blob: BlobId
    commit: Commit
    description: str | None
    loads: bool

    @property
    def label(self) -> str:
        return f"{self.source}/{self.name}"


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


@dataclass
class _Catalog:
    """Candidates per (source, commit), discovered once per run."""

    store: Store
    manifest: Manifest
    _cache: dict[tuple[str, str], list[Candidate]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def mirror(self, source: str) -> Mirror:
        spec = self.manifest.sources[source]
        return self.store.mirror(spec.location(self.manifest.dir))

    def candidates(self, source: str, commit: Commit) -> list[Candidate]:
        key = (source, commit)
        if key not in self._cache:
            self._cache[key] = self._discover(source, commit)
        return self._cache[key]

    def _discover(self, source: str, commit: Commit) -> list[Candidate]:
        spec = self.manifest.sources[source]
        mirror = self.mirror(source)
        found: list[Candidate] = []
        try:
            entries = mirror.list_files(
                commit, spec.path, skip_folders=_SKIPPED_FOLDERS, want=_agent_paths(spec)
            )
        except SourceError as error:
            raise type(error)(
                f"source {source}: {error.message}", hint=error.hint, subject=error.subject
            ) from None
        for entry in entries:
            if entry.kind == "unsafe":
                self.warnings.append(
                    f"{source}: skipped {inline(entry.path)}: the path holds a control "
                    "character, a '/' inside a name, or a '.' or '..' part"
                )
                continue
            if not _is_agent_path(entry.path, spec.path):
                continue
            shown = inline(entry.path)
            if entry.kind != "blob":
                what = "symlinks" if entry.kind == "link" else "submodules"
                self.warnings.append(f"{source}: skipped {shown}: {what} are not installed")
                continue
            if not _is_utf8(entry.path):
                self.warnings.append(f"{source}: skipped {shown}: the path is not valid UTF-8")
                continue
            if entry.size > MAX_FILE_BYTES:
                self.warnings.append(f"{source}: skipped {shown}: larger than 1 MiB")
                continue
            parsed = parse_agent(mirror.read_blob(entry.blob))
            name = parsed.name if parsed.loads else parsed.evident_name
            if not name:
                continue
            description = parsed.description if parsed.loads else parsed.evident_description
            found.append(
                Candidate(source, name, entry.path, entry.blob, commit, description, parsed.loads)
            )
        return found


def _agent_paths(spec: SourceSpec) -> Callable[[str], bool]:
    return lambda path: _is_agent_path(path, spec.path)


def _is_utf8(path: str) -> bool:
    # git paths are bytes; undecodable ones arrive as surrogates and could not go in the lock.
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_agent_path(path: str, base: str | None) -> bool:
    """`*.md` under the source's path, minus README/SKILL and files under skills/ or commands/
    (those hold skills and slash commands, never agents)."""
    parts = PurePosixPath(path).parts
    if not path.endswith(".md") or parts[-1] in _SKIPPED_NAMES:
        return False
    if any(part in _SKIPPED_FOLDERS for part in parts[:-1]):
        return False
    if not base:
        return True
    pattern = PurePosixPath(base.strip("/")).parts
    if path == base.strip("/"):
        return True
    if len(parts) <= len(pattern):
        return False
    return all(fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern, strict=False))


# -- refs -------------------------------------------------------------------------------------


def resolve_spec_commit(
    mirror: Mirror, ref: str | None, version: str | None, what: str
) -> tuple[Commit, str | None]:
    """The newest commit for a ref or version range, and the tag a range chose."""
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
    return mirror.resolve(ref), None


def pin_request(text: str | None) -> tuple[str | None, str | None]:
    """Split `NAME@TEXT` into (ref, version): a range operator or wildcard makes it a version.

    `@v1.4.0`, `@1.4.0`, `@main` and `@abc1234` stay refs (a tag, branch or commit named
    exactly); `@^1.2`, `@~1.4`, `@>=1.0, <2`, `@1.*` and `@1.x` are version ranges.
    """
    if text is None:
        return None, None
    ranged = text.startswith(("^", "~", ">", "<", "=")) or any(c in text for c in "*, ")
    if not ranged and re.fullmatch(r"v?\d+(\.(\d+|[xX]))*\.[xX]", text):
        ranged = True
    return (None, text) if ranged else (text, None)


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
    tag = resolved if version is not None else (ref if ref is not None and ref in tags else None)
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


@dataclass(frozen=True)
class Resolver:
    """Resolves a manifest against the cache, reusing locked commits unless told to move."""

    manifest: Manifest
    store: Store
    old: Lock | None
    update: UpdateScope = "none"  # "all", or the agent names `update` was asked to move
    policy: Policy = Policy()
    # `update`/`outdated`: an agent gone upstream keeps its old pin instead of failing the run.
    keep_missing: bool = False
    # Mirror keys fetched in this run; shared by `--recursive` so each source is fetched once.
    fetched: set[str] = field(default_factory=set)

    def run(self) -> Resolution:
        catalog = _Catalog(self.store, self.manifest)
        self._prefetch(catalog)
        sources = {
            name: self._lock_source(catalog, spec) for name, spec in self.manifest.sources.items()
        }
        agents = self._lock_agents(catalog, sources)
        return Resolution(
            Lock(sources=sources, agents=agents),
            tuple(catalog.warnings),
            tuple(catalog.drift),
            tuple(sorted(catalog.gone)),
            tuple(sorted(catalog.held)),
        )

    def _fetch(self, mirror: Mirror) -> None:
        if mirror.key in self.fetched:
            return
        if self.store.offline:
            mirror.ensure()  # resolve from what the cache holds, or fail clearly
        else:
            mirror.fetch()
        self.fetched.add(mirror.key)

    def _prefetch(self, catalog: _Catalog) -> None:
        """Fetch, in parallel, every source this run will have to fetch (one slow source must
        not delay the others)."""
        due = [
            spec
            for spec in self.manifest.sources.values()
            if not self._keeps_commit(spec) and catalog.mirror(spec.name).key not in self.fetched
        ]
        if self.store.offline or len(due) < 2:
            return
        self.store.prefetch([spec.location(self.manifest.dir) for spec in due])
        self.fetched.update(catalog.mirror(spec.name).key for spec in due)

    def _keeps_commit(self, spec: SourceSpec) -> bool:
        previous = self.old.sources.get(spec.name) if self.old else None
        return (
            previous is not None
            and _same_origin(previous, spec)
            and not self._source_moves(spec.name)
        )

    def candidates_of(self, source: str) -> list[Candidate]:
        """Agents in one source at its locked commit (or the newest one when not locked)."""
        catalog = _Catalog(self.store, self.manifest)
        locked = self._lock_source(catalog, self.manifest.sources[source])
        return catalog.candidates(source, locked.commit)

    def _moves(self, agent: str) -> bool:
        if self.update == "all":
            return True
        return self.update != "none" and agent in self.update

    def _source_moves(self, source: str) -> bool:
        if self.update == "all":
            return True
        if self.update == "none":
            return False
        named = set(self.update)
        old_agents = self.old.agents.values() if self.old else ()
        return any(a.source == source and a.name in named for a in old_agents) or any(
            a.source == source and a.key in named for a in self.manifest.agents.values()
        )

    def _lock_source(self, catalog: _Catalog, spec: SourceSpec) -> LockedSource:
        previous = self.old.sources.get(spec.name) if self.old else None
        mirror = catalog.mirror(spec.name)
        if previous is not None and self._keeps_commit(spec):
            mirror.ensure_commit(previous.commit)
            return _locked_source(spec, previous.commit, previous.resolved)
        self._fetch(mirror)
        _warn_if_dirty(catalog, spec, mirror)
        commit, tag = resolve_spec_commit(mirror, spec.ref, spec.version, f"source {spec.name}")
        if previous is not None and _same_origin(previous, spec):
            self._note_drift(catalog, mirror, spec.name, None, previous.commit, spec, previous)
        return _locked_source(spec, commit, tag)

    def _note_drift(
        self,
        catalog: _Catalog,
        mirror: Mirror,
        source: str,
        agent: str | None,
        locked: Commit,
        pin: SourceSpec | AgentSpec,
        previous: LockedSource | LockedAgent,
    ) -> None:
        found = detect_drift(mirror, locked, pin.ref, pin.version, previous.resolved)
        if found is not None:
            kind, ref, now = found
            drift = Drift(source, agent, kind, ref, locked, now)
            catalog.drift.append(drift)
            catalog.warnings.append(drift.message)

    def _reusable(self, key: str, spec: AgentSpec, selected: str) -> LockedAgent | None:
        """The previous lock entry for `key`, when nothing asks it to change."""
        previous = self.old.agents.get(key) if self.old else None
        if previous is None or self._moves(key) or previous.selected != selected:
            return None
        if not _same_agent(previous, spec):
            return None
        old_source = self.old.sources.get(spec.source) if self.old else None
        source_spec = self.manifest.sources[spec.source]
        if old_source is None or not _same_origin(old_source, source_spec):
            return None
        return previous

    def _lock_agents(
        self, catalog: _Catalog, sources: Mapping[str, LockedSource]
    ) -> dict[str, LockedAgent]:
        agents: dict[str, LockedAgent] = {}
        for spec in self.manifest.agents.values():
            previous = self._reusable(spec.key, spec, "agents")
            if previous is not None:
                catalog.mirror(spec.source).ensure_commit(previous.commit)
                agents[spec.key] = previous
                continue
            commit, tag = self._agent_commit(catalog, sources, spec)
            pool = catalog.candidates(spec.source, commit)
            kept = self._kept_when_missing(catalog, spec.key, spec, pool)
            if kept is not None:
                agents[spec.key] = kept
                continue
            candidate = find_candidate(pool, spec)
            agents[spec.key] = self._locked(catalog, spec, candidate, "agents", tag)
        for source in self.manifest.sources.values():
            self._lock_included(catalog, sources[source.name], source, agents)
        return agents

    def _kept_when_missing(
        self, catalog: _Catalog, key: str, spec: AgentSpec, pool: list[Candidate]
    ) -> LockedAgent | None:
        """Issue #4: an agent gone upstream stays at its old pin (reported), never deleted."""
        previous = self.old.agents.get(key) if self.old else None
        if not self.keep_missing or previous is None or _has_match(pool, spec):
            return None
        catalog.mirror(previous.source).ensure_commit(previous.commit)
        catalog.gone.append(key)
        return previous

    def _lock_included(
        self,
        catalog: _Catalog,
        locked: LockedSource,
        source: SourceSpec,
        agents: dict[str, LockedAgent],
    ) -> None:
        included = self._included(catalog, locked, source)
        for candidate in included:
            if candidate.name in agents:
                continue  # an explicit [agents] entry wins over an include glob
            spec = AgentSpec(candidate.name, source.name, candidate.name, None, None, None)
            previous = self._reusable(candidate.name, spec, "include")
            if previous is not None:
                agents[candidate.name] = previous
            else:
                agents[candidate.name] = self._locked(catalog, spec, candidate, "include")
        if not self.keep_missing or self.old is None:
            return
        names = {c.name for c in included}
        for key, previous in sorted(self.old.agents.items()):
            if (
                previous.selected == "include"
                and previous.source == source.name
                and key not in agents
                and previous.upstream_name not in names
                and _matches(previous.upstream_name, source.include)
                and not _matches(previous.upstream_name, source.exclude)
            ):
                catalog.mirror(source.name).ensure_commit(previous.commit)
                catalog.gone.append(key)
                agents[key] = previous

    def _included(
        self, catalog: _Catalog, locked: LockedSource, spec: SourceSpec
    ) -> list[Candidate]:
        if not spec.include:
            return []
        chosen: dict[str, Candidate] = {}
        for candidate in catalog.candidates(spec.name, locked.commit):
            if not _matches(candidate.name, spec.include) or _matches(candidate.name, spec.exclude):
                continue
            problem = name_problem(candidate.name)
            if problem is not None:
                # The name would become the file name: `../../x` or `/etc/x` must never be one.
                catalog.warnings.append(
                    f"{spec.name}: skipped {inline(candidate.path)}: its name {candidate.name!r} "
                    f"cannot be a file name ({problem}); install it under another name in [agents]"
                )
                continue
            other = chosen.get(candidate.name)
            if other is not None:
                raise _duplicate_in_source([other, candidate], spec.name)
            chosen[candidate.name] = candidate
        return sorted(chosen.values(), key=lambda c: c.name)

    def _agent_commit(
        self, catalog: _Catalog, sources: Mapping[str, LockedSource], spec: AgentSpec
    ) -> tuple[Commit, str | None]:
        """The commit (and tag a range chose) for an agent: its own pin, else its source's."""
        if spec.ref is None and spec.version is None:
            return sources[spec.source].commit, None
        mirror = catalog.mirror(spec.source)
        if spec.ref is not None and is_full_commit(spec.ref) and not self.store.offline:
            mirror.ensure_commit(Commit(spec.ref))
        elif not self.store.offline:
            self._fetch(mirror)
        commit, tag = resolve_spec_commit(mirror, spec.ref, spec.version, f"agent {spec.key}")
        previous = self.old.agents.get(spec.key) if self.old else None
        if previous is not None and _same_agent(previous, spec):
            self._note_drift(
                catalog, mirror, spec.source, spec.key, previous.commit, spec, previous
            )
        return commit, tag

    def _locked(
        self,
        catalog: _Catalog,
        spec: AgentSpec,
        candidate: Candidate,
        selected: Literal["agents", "include"],
        tag: str | None = None,
    ) -> LockedAgent:
        previous = self.old.agents.get(spec.key) if self.old else None
        # An agent installed with --fix stays repaired across updates.
        fix = self.policy.fix or (previous is not None and previous.fixed)
        if not candidate.loads and not (fix or self.policy.force):
            label = inline(candidate.label)
            if self.keep_missing and previous is not None and previous.blob != candidate.blob:
                # `update`: a new version that would not load holds this agent back only.
                catalog.mirror(previous.source).ensure_commit(previous.commit)
                catalog.held.append(spec.key)
                catalog.warnings.append(
                    f"{spec.key}: Claude Code would not load the new version of "
                    f"{label} ({inline(candidate.path)}); kept at the old pin (see "
                    f"`agentsync show {label}`; update with --fix or --force)"
                )
                return previous
            raise ResolveError(
                f"Claude Code would not load {label} ({inline(candidate.path)})",
                hint=f"see why with `agentsync show {label}`; install a repaired copy "
                "with --fix, or the file as it is with --force",
                subject=spec.key,
            )
        data = catalog.mirror(spec.source).read_blob(candidate.blob)
        locked = LockedAgent(
            name=spec.key,
            source=spec.source,
            upstream_name=candidate.name,
            path=candidate.path,
            commit=candidate.commit,
            blob=candidate.blob,
            sha256=sha256(data),
            ref=spec.ref,
            version=spec.version,
            file=spec.file,
            selected=selected,
            fixed=fix and _needs_fix(data),
            resolved=tag,
        )
        locked = replace(locked, sha256=sha256(installed_bytes(locked, data)))
        return _carry_local_edits(previous, locked)


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


def _has_match(pool: Iterable[Candidate], spec: AgentSpec) -> bool:
    if spec.file is not None:
        return any(c.path == spec.file for c in pool)
    return any(c.name == spec.agent for c in pool)


def _warn_if_dirty(catalog: _Catalog, spec: SourceSpec, mirror: Mirror) -> None:
    """Only committed content of a local source is seen; say so when its agent files differ."""
    if mirror.location.kind != "path":
        return
    if _uncommitted_agents(catalog.store, spec, mirror):
        catalog.warnings.append(
            f"source {spec.name}: {mirror.location.display} has uncommitted changes; "
            "agentsync uses only committed content (commit them to install them)"
        )


def _uncommitted_agents(store: Store, spec: SourceSpec, mirror: Mirror) -> bool:
    """New, deleted or changed agent files in a local source's work tree, against its HEAD.

    Never `git status`: it runs the filters the folder's `.git/config` (or a submodule's)
    defines, a command of the source's choosing. The committed files come from the mirror
    (just fetched from that folder), the work tree is walked and hashed here.
    """
    from agentsync import trees, vcs

    root = Path(mirror.location.git_url)
    git_dir = vcs.local_git_dir(root)
    if git_dir is None or git_dir == root:  # not a repo, or bare: nothing uncommitted
        return False
    head = vcs.head_commit(git_dir)
    try:
        if head is None or not mirror.has_commit(head):
            return False  # unborn, unreadable, or not fetched (--offline): cannot tell
        committed = mirror.list_files(
            head, spec.path, skip_folders=_SKIPPED_FOLDERS, want=_agent_paths(spec)
        )
    except SourceError:
        return False  # discovery reports the same failure as an error
    differs = trees.worktree_differs(
        root,
        committed,
        spec.path,
        skip_folders=_SKIPPED_FOLDERS,
        want=_agent_paths(spec),
        timeout=store.timeout,
    )
    return bool(differs)


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


def find_candidate(candidates: Iterable[Candidate], spec: AgentSpec) -> Candidate:
    """The one candidate an [agents] entry means, or a clear error."""
    pool = list(candidates)
    if spec.file is not None:
        for candidate in pool:
            if candidate.path == spec.file:
                return candidate
        raise ResolveError(
            f"no agent file {spec.file} in source {spec.source}",
            hint=f"run `agentsync search {spec.agent}` to see where it lives",
            subject=spec.key,
        )
    matches = [c for c in pool if c.name == spec.agent]
    if not matches:
        commit = pool[0].commit if pool else None
        where = f" at {short(commit)}" if commit else ""
        raise ResolveError(
            f"no agent named '{spec.agent}' in source {spec.source}{where}",
            hint=f"run `agentsync search {spec.agent}` to list what the sources provide",
            subject=spec.key,
        )
    if len(matches) > 1:
        raise _duplicate_in_source(matches, spec.source, key=spec.key)
    return matches[0]


def _duplicate_in_source(
    matches: list[Candidate], source: str, key: str | None = None
) -> ResolveError:
    listing = _listing(matches)
    example = matches[0]
    entry = key or example.name
    return ResolveError(
        f"source {source} has {len(matches)} files named '{inline(example.name)}':\n{listing}",
        hint=f'pick one in agentsync.toml: {entry} = {{ source = "{source}", '
        f'file = "{example.path}" }}',
        subject=f"{source}/{example.name}",
    )


def ambiguity_error(name: str, matches: list[Candidate]) -> ResolveError:
    """A name offered by several sources: list them all, never pick one silently."""
    return ResolveError(
        f"'{inline(name)}' is provided by {len(matches)} sources:\n{_listing(matches)}",
        hint=f"name one: agentsync install {matches[0].label}",
        subject=name,
    )


def _listing(matches: list[Candidate]) -> str:
    """One line per candidate: a newline in a name, path or description cannot add one."""
    return "\n".join(
        f"  {inline(c.label)}  ({inline(c.path)})  {_one_line(c.description)}" for c in matches
    )


def _one_line(text: str | None, width: int = 80) -> str:
    flat = " ".join((text or "").split())
    return inline(flat if len(flat) <= width else flat[: width - 1] + "…")


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


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
