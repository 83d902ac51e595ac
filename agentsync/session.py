"""One run of a command: its options, its project, the manifest and lock read once, one
cache of mirrors built once, and the run lock; every use case opens its run this way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agentsync.errors import IntegrityError, ManifestError, SourceError
from agentsync.installer import Layout
from agentsync.lockfile import Lock, LockedAgent, load_lock_bytes
from agentsync.manifest import Manifest, ManifestEditor, parse_manifest, read_manifest_text
from agentsync.project import Project, find_project

if TYPE_CHECKING:
    from agentsync.catalog import Catalog
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
    """One run's project, manifest, lock and cache; each is read or built once."""

    options: Options
    project: Project
    _store: Store | None = None
    _manifest: Manifest | None = None
    _manifest_text: str | None = None
    _lock: Lock | None = None
    lock_bytes: bytes | None = None  # what the lock held when this run read it
    _catalog: Catalog | None = field(default=None, repr=False)
    # {name: file} of the user's agents that load, read once per run when first needed
    user_names: dict[str, Path] | None = field(default=None, repr=False)
    _mirrors: dict[tuple[str, str, Path], Mirror] = field(default_factory=dict, repr=False)

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

    @property
    def has_manifest(self) -> bool:
        return self._manifest is not None or self.project.manifest_path.exists()

    def manifest(self) -> Manifest:
        """The project's manifest (read once; an edit replaces it with `use_manifest`)."""
        if self._manifest is None:
            if self.project.global_scope and not self.project.manifest_path.exists():
                # the user manifest is made on first use: there is one per user, and no
                # folder to choose for it (an atomic write, like every other)
                ManifestEditor.new(self.project.manifest_path).save()
            if not self.project.manifest_path.exists():
                raise ManifestError(
                    f"no agentsync.toml in {self.project.root} or any folder above it",
                    hint="create one with `agentsync init`, then `agentsync source add NAME URL`",
                    subject=str(self.project.manifest_path),
                )
            path = self.project.manifest_path
            self._manifest_text = read_manifest_text(path)
            self._manifest = parse_manifest(self._manifest_text, path)
        return self._manifest

    def editor(self) -> ManifestEditor:
        """An editor of the manifest, keeping its comments and layout."""
        manifest = self.manifest()
        if self._manifest_text is None:  # given by use_manifest, never read
            return ManifestEditor.open(manifest.path)
        return ManifestEditor(manifest.path, self._manifest_text, checked=True)

    def use_manifest(self, manifest: Manifest) -> Manifest:
        """Go on with an edited manifest (not yet saved)."""
        self._manifest = manifest
        self._manifest_text = None
        return manifest

    @property
    def has_lock(self) -> bool:
        return self.project.lock_path.exists()

    def lock(self) -> Lock:
        """The lock as it is on disk; an empty lock when there is none yet."""
        if self._lock is None:
            from agentsync.store import default_cache_dir

            found, self.lock_bytes = load_lock_bytes(
                self.project.lock_path, self.project.state_dir, default_cache_dir()
            )
            self._lock = found or Lock()
        return self._lock

    @property
    def manifest_bytes(self) -> bytes | None:
        """What the manifest held when this run read it (None: not read, or edited since)."""
        return self._manifest_text.encode("utf-8") if self._manifest_text is not None else None

    def layout(self, manifest: Manifest | None) -> Layout:
        return Layout(
            target=self.project.target_dir(manifest),
            lock_path=self.project.lock_path,
            state_dir=self.project.state_dir,
        )

    def catalog(self, manifest: Manifest) -> Catalog:
        """Discoveries shared by the whole run: each source's files at a commit parsed once."""
        if self._catalog is None:
            from agentsync.catalog import Catalog  # parses frontmatter: YAML, the checker

            self._catalog = Catalog(self.store, manifest)
        elif self._catalog.manifest is not manifest:
            self._catalog = self._catalog.with_manifest(manifest)
        return self._catalog

    def mirror(self, manifest: Manifest, source: str) -> Mirror:
        spec = manifest.sources[source]
        # asked once per agent file: parse each source's URL once
        key = (source, spec.url, manifest.dir)
        found = self._mirrors.get(key)
        if found is None:
            found = self._mirrors[key] = self.store.mirror(
                spec.location(manifest.dir), label=source
            )
        return found

    def reader(self, manifest: Manifest) -> Callable[[LockedAgent], bytes]:
        """Reads a locked agent's upstream file as installing it does."""
        return lambda locked: read_upstream(self, manifest, locked)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@contextlib.contextmanager
def open_session(
    options: Options, *, locked: bool = True, store: Store | None = None
) -> Iterator[Session]:
    """Open the project (holding its run lock for commands that write); `store` shares one
    cache between several projects of a run, and is then closed by its owner."""
    project = find_project(options.cwd, options.project, options.global_scope)
    current = Session(options, project, store)
    try:
        if locked:
            with project.run_lock(RUN_LOCK_WAIT):
                yield current
        else:
            yield current
    finally:
        if store is None:
            current.close()


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
