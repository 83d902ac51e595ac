"""What a source offers at a commit: its agent files found in git objects once per run, and
the errors for a name that is missing, ambiguous or repeated."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from agentsync.errors import Notice, ResolveError, SourceError, did_you_mean, notice_code
from agentsync.frontmatter import MAX_FILE_BYTES, parse_agent
from agentsync.ids import BlobId, Commit, short
from agentsync.manifest import AgentSpec, Manifest, SourceSpec
from agentsync.marketplace import (
    MARKETPLACE_FILE,
    Marketplace,
    NotAMarketplace,
    parse_marketplace,
)
from agentsync.textsafe import inline

if TYPE_CHECKING:
    from agentsync.state import DiscoveryIndex
    from agentsync.store import Mirror, Store

SKIPPED_NAMES = frozenset({"README.md", "SKILL.md"})
SKIPPED_FOLDERS = frozenset({"skills", "commands"})  # skills and slash commands, never agents


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
    plugin: str | None = None  # the marketplace plugin it belongs to

    @property
    def label(self) -> str:
        if self.plugin is not None:
            return f"{self.source}/{self.plugin}/{self.name}"
        return f"{self.source}/{self.name}"

    @property
    def qualified(self) -> str:
        """`plugin:name` inside a marketplace, else the name: what include globs match."""
        return f"{self.plugin}:{self.name}" if self.plugin is not None else self.name


@dataclass
class Catalog:
    """Candidates per (source, commit), discovered once per run however often asked for.

    A commit never changes, so what one resolution found serves every later one in the
    run (`install NAME` looks for NAME, then resolves): each file is parsed once.
    """

    store: Store
    manifest: Manifest
    _found: dict[tuple[str, str | None, str], tuple[list[Candidate], tuple[str, ...]]] = field(
        default_factory=dict
    )
    _markets: dict[tuple[str, str], Marketplace | None] = field(default_factory=dict)
    _mirrors: dict[tuple[str, str, Path], Mirror] = field(default_factory=dict)
    # Discoveries kept across runs (a look-around such as `search` sets it), with verdicts.
    index: DiscoveryIndex | None = None
    _keys: dict[tuple[str, Commit], str] = field(default_factory=dict)

    def with_manifest(self, manifest: Manifest) -> Catalog:
        """The same discoveries, for an edited manifest of the same project."""
        return Catalog(self.store, manifest, self._found, self._markets, index=self.index)

    def mirror(self, source: str) -> Mirror:
        spec = self.manifest.sources[source]
        # asked once per agent file: parse each source's URL once
        key = (source, spec.url, self.manifest.dir)
        found = self._mirrors.get(key)
        if found is None:
            found = self._mirrors[key] = self.store.mirror(
                spec.location(self.manifest.dir), label=source
            )
        return found

    def candidates(self, source: str, commit: Commit) -> list[Candidate]:
        return self._entry(source, commit)[0]

    def warnings(self, source: str, commit: Commit) -> tuple[str, ...]:
        """What discovery skipped in `source` at `commit`, and why."""
        return self._entry(source, commit)[1]

    def _entry(self, source: str, commit: Commit) -> tuple[list[Candidate], tuple[str, ...]]:
        key = (source, self.manifest.sources[source].path, commit)
        if key not in self._found:
            kept = self._indexed(source, commit)
            if kept is not None:
                self._found[key] = kept
            else:
                warnings: list[str] = []
                self._found[key] = (self._discover(source, commit, warnings), tuple(warnings))
                if self.index is not None:
                    self.index.put(self._index_key(source, commit), _encode(*self._found[key]))
        return self._found[key]

    def indexed(self, source: str, commit: Commit) -> bool:
        """Whether the index holds what `source` offers at `commit` (nothing to read there);
        what it holds is kept for the questions that follow."""
        key = (source, self.manifest.sources[source].path, commit)
        if key in self._found:
            return True  # known in this run: read already, or from the index
        kept = self._indexed(source, commit)
        if kept is not None:
            self._found[key] = kept
        return kept is not None

    def verdict(self, candidate: Candidate) -> str:
        """What the checker makes of a candidate: `ok`, `warnings`, `errors` (it loads, but
        wrong) or `will not load`; kept in the index with its commit's discovery."""
        key = self._index_key(candidate.source, candidate.commit) if self.index else ""
        entry = self.index.get(key) if self.index is not None else None
        verdicts = entry.get("verdicts") if isinstance(entry, dict) else None
        known = verdicts.get(candidate.path) if isinstance(verdicts, dict) else None
        if isinstance(known, str) and known in VERDICTS:
            return known
        mirror = self.mirror(candidate.source)
        mirror.ensure_commit(candidate.commit)  # a look-around from the index read no commit
        found = _verdict(mirror.read_blob(candidate.blob), candidate.path)
        if isinstance(verdicts, dict):
            verdicts[candidate.path] = found
            assert self.index is not None  # noqa: S101 - an entry came from it
            self.index.put(key, entry)
        return found

    def _index_key(self, source: str, commit: Commit) -> str:
        spec = self.manifest.sources[source]
        found = self._keys.get((source, commit))
        if found is None:
            parts = (source, self.mirror(source).key, spec.path or "", commit)
            found = self._keys[(source, commit)] = "\0".join(parts)
        return found

    def _indexed(
        self, source: str, commit: Commit
    ) -> tuple[list[Candidate], tuple[str, ...]] | None:
        if self.index is None:
            return None
        return _decode(self.index.get(self._index_key(source, commit)), source, commit)

    def marketplace(self, source: str, commit: Commit) -> Marketplace | None:
        """The marketplace `source` is at `commit` (a source with a `path` never is one)."""
        key = (source, commit)
        if key not in self._markets:
            self._markets[key] = None
            if self.manifest.sources[source].path is None:
                try:
                    data = self.mirror(source).read_path(commit, MARKETPLACE_FILE)
                except SourceError as error:
                    raise type(error)(
                        f"source {source}: {error.message}", hint=error.hint, subject=error.subject
                    ) from None
                if data is not None:
                    try:
                        self._markets[key] = parse_marketplace(data)
                    except NotAMarketplace as error:
                        raise SourceError(
                            f"source {source}: {MARKETPLACE_FILE} cannot be read: {error}",
                            hint="set `path` for the source to read its agent files directly",
                            subject=f"source {source}",
                        ) from None
        return self._markets[key]

    def _discover(self, source: str, commit: Commit, warnings: list[str]) -> list[Candidate]:
        spec = self.manifest.sources[source]
        mirror = self.mirror(source)
        market = self.marketplace(source, commit)
        want = agent_paths(spec) if market is None else _plugin_paths(market)
        try:
            entries = mirror.list_files(
                commit,
                spec.path,
                skip_folders=SKIPPED_FOLDERS if market is None else (),
                want=want,
            )
        except SourceError as error:
            raise type(error)(
                f"source {source}: {error.message}", hint=error.hint, subject=error.subject
            ) from None
        if market is not None:
            warnings += _plugin_notices(source, market)
        found: list[Candidate] = []
        reasons = [_skip_reason(e.kind, e.path, e.size, spec, want) for e in entries]
        # every candidate's content in one request, not one round trip each
        mirror.reader.preload_blobs(
            e.blob for e, why in zip(entries, reasons, strict=True) if not why
        )
        for entry, skipped in zip(entries, reasons, strict=True):
            if skipped:
                if skipped != "not an agent path":
                    warnings.append(
                        Notice("file-skipped", f"{source}: skipped {inline(entry.path)}: {skipped}")
                    )
                continue
            parsed = parse_agent(mirror.read_blob(entry.blob))
            name = parsed.name if parsed.loads else parsed.evident_name
            if not name:
                continue
            description = parsed.description if parsed.loads else parsed.evident_description
            plugin = market.plugin_of(entry.path) if market is not None else None
            found.append(
                Candidate(
                    source,
                    name,
                    entry.path,
                    entry.blob,
                    commit,
                    description,
                    parsed.loads,
                    plugin.name if plugin is not None else None,
                )
            )
        return found


VERDICTS = ("ok", "warnings", "errors", "will not load")


def _verdict(data: bytes, path: str) -> str:
    from agentsync.compat import diagnose

    parsed, diagnostics = diagnose(data, path)
    severities = {d.severity for d in diagnostics}
    if not parsed.loads:
        return "will not load"
    if "error" in severities:
        return "errors"  # it loads, but wrong (conflict markers)
    return "warnings" if "warning" in severities else "ok"


def _encode(candidates: list[Candidate], warnings: tuple[str, ...]) -> dict[str, Any]:
    return {
        "candidates": [
            [c.name, c.path, c.blob, c.description, c.loads, c.plugin] for c in candidates
        ],
        "warnings": [[notice_code(w), str(w)] for w in warnings],
        "verdicts": {},
    }


def _decode(
    entry: Any, source: str, commit: Commit
) -> tuple[list[Candidate], tuple[str, ...]] | None:
    """An index entry back as discovery's result; None when it is not one (damaged, foreign)."""
    try:
        found = [
            Candidate(source, name, path, BlobId(blob), commit, description, loads, plugin)
            for name, path, blob, description, loads, plugin in entry["candidates"]
            if isinstance(name, str)
            and isinstance(path, str)
            and isinstance(blob, str)
            and isinstance(description, str | None)
            and isinstance(loads, bool)
            and isinstance(plugin, str | None)
        ]
        warnings = tuple(
            Notice(code, text)
            for code, text in entry["warnings"]
            if isinstance(code, str) and isinstance(text, str)
        )
    except (TypeError, KeyError, ValueError):
        return None
    if len(found) != len(entry["candidates"]) or len(warnings) != len(entry["warnings"]):
        return None
    return found, warnings


def _plugin_paths(market: Marketplace) -> Callable[[str], bool]:
    """A marketplace's agent files: those of its plugins (README files aside)."""
    return lambda path: (
        PurePosixPath(path).name not in SKIPPED_NAMES and market.plugin_of(path) is not None
    )


def _plugin_notices(source: str, market: Marketplace) -> list[str]:
    """What discovery in a marketplace leaves out: plugins elsewhere, plugins it cannot read."""
    notes: list[str] = []
    elsewhere = [p.name for p in market.plugins if p.external is not None]
    if elsewhere:
        shown = ", ".join(inline(n) for n in elsewhere[:5]) + (", …" if len(elsewhere) > 5 else "")
        notes.append(
            Notice(
                "plugin-elsewhere",
                f"{source}: {len(elsewhere)} plugin(s) live in other repositories ({shown}); "
                f"install one with `agentsync install '{source}/PLUGIN:*'`",
            )
        )
    for plugin in market.plugins:
        if plugin.unsupported is not None:
            notes.append(
                Notice(
                    "plugin-skipped",
                    f"{source}: skipped plugin {inline(plugin.name)}: {inline(plugin.unsupported)}",
                )
            )
    return notes


def _skip_reason(
    kind: str, path: str, size: int, spec: SourceSpec, want: Callable[[str], bool]
) -> str:
    """Why a tree entry is not a candidate ("" when it is one)."""
    if kind == "unsafe":
        return "the path holds a control character, a '/' inside a name, or a '.' or '..' part"
    if not want(path):
        return "not an agent path"
    if kind != "blob":
        return f"{'symlinks' if kind == 'link' else 'submodules'} are not installed"
    if not _is_utf8(path):
        return "the path is not valid UTF-8"
    if size > MAX_FILE_BYTES:
        return "larger than 1 MiB"
    return ""


def agent_paths(spec: SourceSpec) -> Callable[[str], bool]:
    return lambda path: is_agent_path(path, spec.path)


def _is_utf8(path: str) -> bool:
    # git paths are bytes; undecodable ones arrive as surrogates and could not go in the lock.
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_agent_path(path: str, base: str | None) -> bool:
    """`*.md` under the source's path, minus README/SKILL and files under skills/ or commands/
    (those hold skills and slash commands, never agents)."""
    parts = PurePosixPath(path).parts
    if not path.endswith(".md") or parts[-1] in SKIPPED_NAMES:
        return False
    if any(part in SKIPPED_FOLDERS for part in parts[:-1]):
        return False
    if not base:
        return True
    pattern = PurePosixPath(base.strip("/")).parts
    if path == base.strip("/"):
        return True
    if len(parts) <= len(pattern):
        return False
    return all(fnmatch.fnmatchcase(p, q) for p, q in zip(parts, pattern, strict=False))


def uncommitted_agents(store: Store, spec: SourceSpec, mirror: Mirror) -> bool:
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
            head, spec.path, skip_folders=SKIPPED_FOLDERS, want=agent_paths(spec)
        )
    except SourceError:
        return False  # discovery reports the same failure as an error
    differs = trees.worktree_differs(
        root,
        committed,
        spec.path,
        skip_folders=SKIPPED_FOLDERS,
        want=agent_paths(spec),
        timeout=store.timeout,
    )
    return bool(differs)


# -- which candidate a name means ------------------------------------------------------------


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
            hint=did_you_mean(
                spec.agent,
                (c.name for c in pool),
                also="run `agentsync search` to list what the sources provide",
            ),
            subject=spec.key,
        )
    if len(matches) > 1:
        raise duplicate_in_source(matches, spec.source, key=spec.key)
    return matches[0]


def has_match(pool: Iterable[Candidate], spec: AgentSpec) -> bool:
    if spec.file is not None:
        return any(c.path == spec.file for c in pool)
    return any(c.name == spec.agent for c in pool)


def duplicate_in_source(
    matches: list[Candidate], source: str, key: str | None = None
) -> ResolveError:
    """Two files of one source with one name: the manifest must pick one with `file`."""
    listing = _listing(matches)
    example = matches[0]
    entry = key or example.name
    if example.plugin is not None and len({c.plugin for c in matches}) == len(matches):
        # one per plugin of a marketplace: the reference names the plugin
        return ResolveError(
            f"marketplace {source} has {len(matches)} plugins with an agent named "
            f"'{inline(example.name)}':\n{listing}",
            hint=f"name one: agentsync install {inline(example.label)}",
            subject=f"{source}/{example.name}",
        )
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


def collision_error(collisions: list[tuple[str, list[Candidate]]]) -> ResolveError:
    """Names several sources' include globs offer: each with its candidates, and the two
    ways the manifest can settle them."""
    listed = "\n".join(
        f"'{inline(name)}' is offered by {len(found)} sources:\n{_listing(found)}"
        for name, found in collisions
    )
    name, found = collisions[0]
    sources = sorted({c.source for c in found})
    quoted = [f'"{inline(s)}"' for s in sources]
    count = len(collisions)
    return ResolveError(
        f"{count} agent name{'s' if count != 1 else ''} offered by more than one source's "
        f"include globs:\n{listed}",
        hint=f'say which wins: an [agents] entry such as `{inline(name)} = "{sources[0]}"`, '
        f"or an order for every shared name: [settings] prefer = "
        f"[{', '.join(quoted)}]",
        subject="agentsync.toml",
    )


def _listing(matches: list[Candidate]) -> str:
    """One line per candidate: a newline in a name, path or description cannot add one."""
    return "\n".join(
        f"  {inline(c.label)}  ({inline(c.path)})  {_one_line(c.description)}" for c in matches
    )


def _one_line(text: str | None, width: int = 80) -> str:
    flat = " ".join((text or "").split())
    return inline(flat if len(flat) <= width else flat[: width - 1] + "…")
