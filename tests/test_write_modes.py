"""Installed files are 0644 whatever the umask, and reach the disk whether or not the system
offers one sync for the whole file system."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentsync import _fs
from tests.fixtures import Cli, MakeRepo, agent_md, one_source_installed

pytestmark = pytest.mark.slow


def _install_two(cli: Cli, project_dir: Path, make_repo: MakeRepo) -> list[Path]:
    files = {"one": agent_md("one", "First."), "two": agent_md("two", "Second.")}
    one_source_installed(cli, project_dir, make_repo, "team", files)
    return sorted((project_dir / ".claude" / "agents").glob("*.md"))


@pytest.mark.parametrize("known", [True, False], ids=["umask-read", "umask-unknown"])
def test_files_are_0644_under_a_strict_umask(
    cli: Cli,
    project_dir: Path,
    make_repo: MakeRepo,
    monkeypatch: pytest.MonkeyPatch,
    known: bool,
) -> None:
    if not known:
        monkeypatch.setattr(_fs, "_created_mode", lambda: -1)
    old = os.umask(0o077)
    try:
        files = _install_two(cli, project_dir, make_repo)
    finally:
        os.umask(old)
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o644 for f in files)


def test_without_syncfs_each_file_is_synced_and_written(
    cli: Cli, project_dir: Path, make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(_fs, "_syncfs", lambda: None)
    monkeypatch.setattr(os, "fsync", spy)
    files = _install_two(cli, project_dir, make_repo)
    assert [f.name for f in files] == ["one.md", "two.md"]
    assert "name: one" in files[0].read_text()
    assert len(synced) >= 2  # one per temp file at least, before the renames
