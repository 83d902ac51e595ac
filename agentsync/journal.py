"""The journal of a run in progress: the bytes it is about to write, each marked as
agentsync's own upstream bytes or as a merge that holds the user's local edits, so a rerun
after a crash finishes the work without ever replacing an edit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentsync._fs import atomic_delete, atomic_write, read_regular
from agentsync.frontmatter import MAX_FILE_BYTES
from agentsync.ids import sha256
from agentsync.lockfile import Lock

JOURNAL = "journal.json"
# The upstream version (agentsync's own bytes, safe to replace after a crash), or a merge that
# holds the user's local edits (never replaced).
WriteKind = Literal["plain", "merged", "conflict-markers"]


@dataclass(frozen=True)
class Mark:
    """What the journal knows of one set of bytes a run set out to write."""

    kind: WriteKind
    blob: str | None  # the upstream version they belong to (None in older journals)


@dataclass
class Journal:
    """What a run is about to write, so a rerun after a crash recognises it: its own upstream
    bytes (safe to replace) and merges holding local edits (the user's work, never replaced)."""

    path: Path
    marks: dict[str, dict[str, Mark]] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> Journal:
        path = state_dir / JOURNAL
        marks: dict[str, dict[str, Mark]] = {}
        try:
            data = read_regular(path, 64 * MAX_FILE_BYTES)
            raw = json.loads(data) if data else {}
            for name, entries in raw.get("writes", {}).items():
                marks[str(name)] = {
                    str(e["sha256"]): Mark(write_kind(e.get("kind")), e.get("blob"))
                    for e in entries
                }
            for name, shas in raw.get("shas", {}).items():  # journals of earlier versions
                marks.setdefault(str(name), {}).update({str(s): Mark("plain", None) for s in shas})
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            marks = {}
        return cls(path, marks)

    def mark(self, name: str, digest: str) -> Mark | None:
        return self.marks.get(name, {}).get(digest)

    def names(self) -> set[str]:
        return set(self.marks)

    def record(self, writes: Iterable[tuple[str, bytes, str]], lock: Lock) -> None:
        """Note each (agent, bytes, file action) about to be written, then save the journal."""
        for name, data, action in writes:
            entry = lock.agents.get(name)
            mark = Mark(write_kind(action), entry.blob if entry is not None else None)
            self.marks.setdefault(name, {})[sha256(data)] = mark
        saved = {
            name: [
                {"sha256": digest, "kind": m.kind, "blob": m.blob}
                for digest, m in sorted(entries.items())
            ]
            for name, entries in sorted(self.marks.items())
        }
        atomic_write(self.path, json.dumps({"version": 2, "writes": saved}).encode())

    def clear(self) -> None:
        atomic_delete(self.path)


def write_kind(value: object) -> WriteKind:
    if value in ("merged", "conflict-markers"):
        return "merged" if value == "merged" else "conflict-markers"
    return "plain"
