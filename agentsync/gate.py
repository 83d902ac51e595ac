"""The gates of CI and code review: `lock` writes only the lock, `lock --check` says whether
it is stale, `verify` proves without writing that the target folder is exactly the lock, and
`diff --lock REV` shows a lock change as agents rather than hashes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentsync import vcs
from agentsync.errors import AgentsyncError, IntegrityError, SourceError, UsageError
from agentsync.ids import BlobId, Commit, blob_id, sha256
from agentsync.installer import (
    Layout,
    agent_files,
    expected_bytes,
    read_installed,
    unresolved_markers,
)
from agentsync.journal import Journal
from agentsync.lockfile import (
    LOCK_NAME,
    Lock,
    LockedAgent,
    parse_lock,
    stale_reasons,
    write_lock,
)
from agentsync.manifest import Manifest
from agentsync.session import Options, Session, open_session
from agentsync.state import InstalledState
from agentsync.sync import AgentRow, Request, lock_change_rows, plan_sync, preload

NO_LOCK = "agentsync.lock does not exist"

# -- lock ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockReport:
    """What `lock` wrote (or, checking, found): the lock, and why it was out of date."""

    path: Path
    stale: tuple[str, ...]  # why the lock was (checking: is) out of date; empty when fresh
    agents: int
    sources: int
    written: bool = False
    checking: bool = False

    @property
    def ok(self) -> bool:
        return not (self.checking and self.stale)


def lock(options: Options, *, check: bool = False) -> LockReport:
    """Resolve the manifest and write agentsync.lock, touching no agent file; `check` only
    says whether the lock is out of date with the manifest (and writes nothing)."""
    with open_session(options, locked=not check) as run:
        manifest = run.manifest()
        old = run.lock()
        reasons = tuple(stale_reasons(manifest, old)) if run.has_lock else (NO_LOCK,)
        path = run.project.lock_path
        if check:
            return LockReport(path, reasons, len(old.agents), len(old.sources), checking=True)
        # The lock `install` would write, local edits and held pins included: the next
        # `install` then only writes files.
        plan = plan_sync(run, manifest, Request())
        new = plan.lock
        written = False
        if not run.has_lock or new != old:
            plan.layout.check()
            from agentsync.fastpath import forget_clean_state

            forget_clean_state(plan.layout.state_dir)
            written = write_lock(path, new)
        return LockReport(path, reasons, len(new.agents), len(new.sources), written=written)


# -- verify -------------------------------------------------------------------------------------

FindingKind = Literal[
    "stale",  # the lock is out of date with the manifest (or missing)
    "missing",  # a locked agent's file is not there
    "extra",  # a file agentsync installed (or a locked source's agent) the lock does not list
    "modified",  # the file differs from the bytes the lock records
    "conflicted",  # the file holds unresolved conflict markers
    "hash-mismatch",  # the lock's hashes are not explained by the upstream file
    "unverifiable",  # the upstream file could not be read to check the lock against
]


@dataclass(frozen=True)
class Finding:
    """One way the project differs from its lock."""

    kind: FindingKind
    message: str
    agent: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class VerifyReport:
    root: Path
    target: Path
    agents: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(options: Options) -> VerifyReport:
    """Compare the manifest, the lock, the cache and every file in the target folder; write
    nothing. Fetches only commits the cache does not hold (never with --offline)."""
    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        layout = run.layout(manifest)
        root = run.project.root
        if not run.has_lock:
            return VerifyReport(root, layout.target, 0, (Finding("stale", NO_LOCK),))
        lock = run.lock()
        findings = [Finding("stale", reason) for reason in stale_reasons(manifest, lock)]
        unreachable = _fetch_missing(run, manifest, lock)
        preload(run, manifest, lock, frozenset())
        for name, locked in sorted(lock.agents.items()):
            path = layout.agent_path(name)
            findings += _agent_findings(run, manifest, locked, path, unreachable)
        findings += _extras(run, manifest, lock, layout)
        return VerifyReport(root, layout.target, len(lock.agents), tuple(findings))


def _fetch_missing(run: Session, manifest: Manifest, lock: Lock) -> dict[str, str]:
    """Fetch the locked commits the cache lacks; {source: why it cannot be read}."""
    wanted: dict[str, set[Commit]] = {}
    for locked in lock.agents.values():
        if locked.source in manifest.sources:
            wanted.setdefault(locked.source, set()).add(locked.commit)
    problems: dict[str, str] = {}
    for source, commits in sorted(wanted.items()):
        mirror = run.mirror(manifest, source)
        try:
            for commit in sorted(commits):
                if not mirror.has_commit(commit):
                    mirror.ensure_commit(commit)
        except SourceError as error:
            problems[source] = f"source {source}: {error.message}"
    return problems


def _agent_findings(
    run: Session, manifest: Manifest, locked: LockedAgent, path: Path, unreachable: dict[str, str]
) -> Iterator[Finding]:
    name = locked.name
    if locked.source not in manifest.sources:
        yield Finding(
            "unverifiable", f"its source {locked.source} is not in agentsync.toml", name, path
        )
    elif locked.source in unreachable:
        yield Finding("unverifiable", unreachable[locked.source], name, path)
    else:
        try:
            expected_bytes(locked, run.reader(manifest))
        except IntegrityError as error:
            yield Finding("hash-mismatch", error.message, name, path)
        except AgentsyncError as error:
            yield Finding("unverifiable", error.message, name, path)
    try:
        data = read_installed(path, name)
    except AgentsyncError as error:
        yield Finding("modified", error.message, name, path)
        return
    if data is None:
        yield Finding("missing", "the file is missing", name, path)
        return
    line = unresolved_markers(data, name)
    if line is not None:
        yield Finding("conflicted", f"unresolved conflict markers from line {line}", name, path)
    elif sha256(data) != locked.sha256:
        yield Finding("modified", "the file differs from agentsync.lock", name, path)


_EXTRA = "agentsync installed it, but agentsync.lock does not list it"


def _extras(run: Session, manifest: Manifest, lock: Lock, layout: Layout) -> Iterator[Finding]:
    """Files in the target folder the lock does not list but agentsync put there: recorded
    by an earlier run on this machine, or (in a fresh clone) byte for byte an agent file of a
    locked source at its locked commit, left behind when the lock dropped it."""
    if not layout.target.is_dir():
        return
    managed = {layout.agent_path(name) for name in lock.agents}
    others = [p for p in sorted(agent_files(layout.target)) if p not in managed]
    if not others:
        return
    recorded = set(InstalledState.load(layout.state_dir).files)
    recorded |= {str(layout.agent_path(n)) for n in Journal.load(layout.state_dir).names()}
    upstream: dict[BlobId, str] | None = None
    for path in others:
        if str(path) in recorded:
            yield Finding(
                "extra", "installed by agentsync, but agentsync.lock does not list it", None, path
            )
            continue
        if upstream is None:
            upstream = _locked_blobs(run, manifest, lock)
        try:
            data = read_installed(path, path.stem)
        except AgentsyncError:
            continue
        where = upstream.get(blob_id(data)) if data is not None else None
        if where is not None:
            yield Finding(
                "extra",
                f"it is {where} at the locked commit, but agentsync.lock does not list it",
                None,
                path,
            )


def _locked_blobs(run: Session, manifest: Manifest, lock: Lock) -> dict[BlobId, str]:
    """{blob: "SOURCE's PATH"} for the Markdown files of each locked source at its commit."""
    found: dict[BlobId, str] = {}
    for name, source in sorted(lock.sources.items()):
        if name not in manifest.sources:
            continue
        try:
            mirror = run.mirror(manifest, name)
            if not mirror.has_commit(source.commit):
                continue
            files = mirror.list_files(source.commit, want=lambda p: p.lower().endswith(".md"))
        except AgentsyncError:
            continue
        for entry in files:
            if entry.kind == "blob":
                found.setdefault(entry.blob, f"{name}'s {entry.path}")
    return found


# -- diff --lock --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockDiff:
    old_label: str
    new_label: str
    rows: tuple[AgentRow, ...]


def lock_diff(options: Options, revisions: str) -> LockDiff:
    """The agents two versions of agentsync.lock pin differently: `REV` against the lock on
    disk, or `OLD..NEW` between two revisions of the project's git repository."""
    old_rev, dots, new_rev = revisions.partition("..")
    if not old_rev or (dots and not new_rev) or new_rev.startswith("."):
        raise UsageError(
            f"--lock {revisions}: give a revision, or two as OLD..NEW",
            hint="for example `agentsync diff --lock HEAD` or `--lock main..HEAD`",
        )
    with open_session(options, locked=False) as run:
        manifest = run.manifest()
        old = _lock_at(run, old_rev)
        new = _lock_at(run, new_rev) if dots else run.lock()
        _fetch_missing(run, manifest, old)
        _fetch_missing(run, manifest, new)
        rows = lock_change_rows(run, manifest, old, new)
        return LockDiff(old_rev, new_rev if dots else "working tree", rows)


def _lock_at(run: Session, revision: str) -> Lock:
    where = run.project.root
    try:
        data = vcs.file_at_revision(where, revision, LOCK_NAME)
    except vcs.GitUnknownRef:
        raise UsageError(
            f"no commit '{revision}' in the git repository of {where}",
            hint="give a branch, tag or commit (`git log --oneline agentsync.lock` lists them)",
            subject=revision,
        ) from None
    except vcs.GitError as error:
        raise UsageError(
            f"cannot read agentsync.lock at {revision}: {error.detail}",
            hint="run it inside the project's git repository",
            subject=str(where),
        ) from None
    if data is None:
        return Lock()  # the lock did not exist then: every agent is new
    return parse_lock(data.decode("utf-8", errors="replace"), Path(f"{revision}:{LOCK_NAME}"))
