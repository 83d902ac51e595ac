"""What the last run left on disk, remembered so an unchanged project costs a `stat` per file.

Two records in the project's state folder, both pure caches (deleting them only makes the
next run slower):

- `installed.json`: for each agent file the run wrote or confirmed, its size, times, inode
  and the sha256 of its bytes, and a fingerprint of the lock entry those bytes were verified
  against. A later run that finds the file with the same stat and the same lock entry knows
  the bytes without reading them or the cache, as git's index knows a clean work tree.
- `lock.json`: the parsed lock, keyed by the sha256 of the lock's bytes, so a large lock is
  not parsed as TOML on every run (its entries are still checked).

Neither can be planted: each record is tied to the inode and change time of the file it
describes, which a checkout, a copy or another user's edit cannot reproduce, and a file
modified within the timestamp granularity of the record ("racy", as git calls it) is hashed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentsync._fs import atomic_write, read_regular
from agentsync.errors import AgentsyncError
from agentsync.ids import sha256

INSTALLED = "installed.json"
LOCK_CACHE = "lock.json"
_VERSION = 1
# A file whose mtime is this close to the moment it was recorded may still change without
# its mtime moving (coarse file-system clocks): such a file is hashed, never trusted.
_RACY_NS = 2_000_000_000
_MAX_RECORD = 64 * 1024 * 1024


def _stat_key(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = read_regular(path, _MAX_RECORD, follow=False)
        raw = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != _VERSION:
        return {}
    return raw


@dataclass
class InstalledState:
    """The stat and verified hash of each agent file as the last run left it."""

    state_dir: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded_ns: int = 0
    racy: int = 0  # entries that had to be hashed this run

    @classmethod
    def load(cls, state_dir: Path) -> InstalledState:
        raw = _load(state_dir / INSTALLED)
        files = raw.get("files")
        recorded = raw.get("recorded_ns")
        if not isinstance(files, dict) or not isinstance(recorded, int):
            return cls(state_dir)
        return cls(state_dir, files, recorded)

    def confirms(self, path: Path, entry_print: str, digest: str) -> bool:
        """True when `path` still holds the bytes with sha256 `digest` that were verified
        against the lock entry with fingerprint `entry_print`."""
        seen = self.files.get(str(path))
        if not isinstance(seen, dict):
            return False
        if seen.get("entry") != entry_print or seen.get("sha256") != digest:
            return False
        try:
            info = path.lstat()
        except OSError:
            return False
        if _stat_key(info) != seen.get("stat"):
            return False
        if info.st_mtime_ns + _RACY_NS < self.recorded_ns:
            return True
        self.racy += 1
        try:
            data = read_regular(path, info.st_size, follow=False)
        except OSError:
            return False
        return data is not None and sha256(data) == digest

    def save(self, verified: Iterable[tuple[Path, str, str]]) -> None:
        """Record each (path, lock entry fingerprint, sha256 of its verified bytes), skipping
        a file that changed since; unchanged records are not rewritten."""
        files: dict[str, dict[str, Any]] = {}
        for path, entry_print, digest in verified:
            try:
                info = path.lstat()
            except OSError:
                continue
            files[str(path)] = {"stat": _stat_key(info), "sha256": digest, "entry": entry_print}
        if files == self.files and not self.racy:
            return
        now = time.time_ns()
        record = {"version": _VERSION, "recorded_ns": now, "files": files}
        try:
            atomic_write(self.state_dir / INSTALLED, json.dumps(record).encode(), durable=False)
        except (OSError, AgentsyncError):
            return  # a cache: the next run verifies everything instead
        self.files, self.recorded_ns, self.racy = files, now, 0


def cached_lock_data(state_dir: Path, lock_path: Path, data: bytes) -> dict[str, Any] | None:
    """The parsed form of lock bytes `data`, when the last run recorded it for this file."""
    raw = _load(state_dir / LOCK_CACHE)
    try:
        info = lock_path.stat()
    except OSError:
        return None
    if raw.get("sha256") != sha256(data) or raw.get("stat") != _stat_key(info):
        return None
    parsed = raw.get("lock")
    return parsed if isinstance(parsed, dict) else None


def remember_lock_data(
    state_dir: Path, lock_path: Path, data: bytes, parsed: Mapping[str, Any]
) -> None:
    """Keep the parsed lock for the next run (best effort: it is only a cache)."""
    if not state_dir.is_dir() or state_dir.is_symlink():
        return
    try:
        info = lock_path.stat()
        record = {"version": _VERSION, "sha256": sha256(data), "stat": _stat_key(info)}
        record["lock"] = dict(parsed)
        atomic_write(state_dir / LOCK_CACHE, json.dumps(record).encode(), durable=False)
    except (OSError, AgentsyncError, TypeError, ValueError):
        pass


_SHARED_LOCKS = "parsed-locks"
_SHARED_LOCKS_KEPT = 32  # locks of the projects in use; older parses are dropped


def shared_lock_data(cache_root: Path, data: bytes) -> dict[str, Any] | None:
    """The TOML parse of lock bytes `data` as any project on this machine last kept it."""
    raw = _load(cache_root / _SHARED_LOCKS / f"{sha256(data)}.json")
    parsed = raw.get("lock")
    return parsed if isinstance(parsed, dict) else None


def share_lock_data(cache_root: Path, data: bytes, parsed: Mapping[str, Any]) -> None:
    """Keep the TOML parse of `data` in the shared cache, keyed by the bytes' sha256 (best
    effort, and only a parse: every entry is still checked when it is read back)."""
    folder = cache_root / _SHARED_LOCKS
    try:
        text = json.dumps({"version": _VERSION, "lock": dict(parsed)})
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{sha256(data)}.json", text.encode(), durable=False)
        kept = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in kept[_SHARED_LOCKS_KEPT:]:
            old.unlink()
    except (OSError, AgentsyncError, TypeError, ValueError):
        pass


class CacheIndex:
    """A map kept in one JSON file of the shared cache, keyed by the code of the agentsync
    that wrote it (`fastpath.code_key`): another version never reads it. A pure cache: a
    damaged file, or an entry lost to another run saving at the same time, is worked out
    again. The oldest entries go once there are more than `kept`."""

    folder = "index"
    kept = 100_000

    def __init__(self, cache_root: Path, code_key: str) -> None:
        self.path = cache_root / self.folder / f"{code_key}.json"
        raw = _load(self.path)
        entries = raw.get("entries")
        self.entries: dict[str, Any] = entries if isinstance(entries, dict) else {}
        self._dirty = False

    def get(self, key: str) -> Any:
        return self.entries.get(key)

    def put(self, key: str, value: Any) -> None:
        self.entries.pop(key, None)  # the newest last: the oldest are dropped first
        self.entries[key] = value
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        keys = list(self.entries)
        for old in keys[: max(0, len(keys) - self.kept)]:
            del self.entries[old]
        record = {"version": _VERSION, "entries": self.entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(record).encode(), durable=False)
        except (OSError, AgentsyncError):
            pass  # a cache: the next run works them out again
        self._dirty = False


class FindingsIndex(CacheIndex):
    """Findings of the checker per content: the same bytes under the same file name always
    give the same findings, so they are computed once per machine."""

    folder = "findings"

    def get(self, key: str) -> list[list[Any]] | None:
        found = self.entries.get(key)
        return found if isinstance(found, list) else None


class NamesIndex(CacheIndex):
    """The agent name Claude Code reads from a file, per sha256 of its bytes (empty: none):
    adding one agent to a project checks every file of the target for its name, and a
    file agentsync verified needs neither a read nor a parse for it."""

    folder = "names"

    def get(self, key: str) -> str | None:
        found = self.entries.get(key)
        return found if isinstance(found, str) else None


class DiscoveryIndex(CacheIndex):
    """What discovery found in a source at a commit, and the checker's verdict on each file:
    a commit never changes, so an entry never goes stale (`search` lists thousands of agents
    without reading or parsing one)."""

    folder = "discovery"
    kept = 4096  # commits
