"""Atomic writes: folder fsyncs batched without letting a later folder overtake an earlier one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentsync import _fs


def test_batched_writes_sync_each_folder_once_and_before_the_next_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    monkeypatch.setattr(_fs, "_fsync_dir", lambda folder: events.append(f"sync {folder.name}"))
    agents, root = tmp_path / "agents", tmp_path
    agents.mkdir()
    with _fs.batched_dir_sync():
        for name in ("a.md", "b.md", "c.md"):
            _fs.atomic_write(agents / name, b"x")
        assert events == []  # deferred while writing into one folder
        _fs.atomic_write(root / "agentsync.lock", b"lock")
        # the agents folder reached disk before the lock's rename was made durable
        assert events == ["sync agents"]
    assert events == ["sync agents", f"sync {root.name}"]


def test_unbatched_write_syncs_its_folder_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[Path] = []
    monkeypatch.setattr(_fs, "_fsync_dir", events.append)
    _fs.atomic_write(tmp_path / "x.md", b"data")
    assert events == [tmp_path]
    assert (tmp_path / "x.md").read_bytes() == b"data"


def test_staging_folder_keeps_temp_files_out_of_the_destination(tmp_path: Path) -> None:
    target, staging = tmp_path / "agents", tmp_path / "state" / "tmp"
    target.mkdir()
    _fs.atomic_write(target / "a.md", b"new", staging=staging)
    assert sorted(p.name for p in target.iterdir()) == ["a.md"]
    assert list(staging.iterdir()) == []
