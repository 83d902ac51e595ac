"""The record of verified files: an unchanged project costs a stat per file, and the record
can neither hide a change nor be planted.

A no-op `install` trusts a file whose stat and lock entry match what the last run verified
(it reads neither the file nor the cache); any change to the file, its entry or the record's
own folder falls back to full verification, and `--frozen` always verifies in full.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures import (
    Cli,
    GitRepo,
    MakeRepo,
    agents_repo,
    cache_dir,
    installed,
    states,
    write_manifest,
)

AGENTS = ("alpha", "beta")


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    return agents_repo(make_repo, "upstream", AGENTS)


@pytest.fixture
def project(cli: Cli, project_dir: Path, source: GitRepo) -> Path:
    write_manifest(project_dir, source.url, "".join(f'{n} = "up"\n' for n in AGENTS), source="up")
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    return project_dir


def _age(project: Path) -> None:
    """Move every installed file and the record two minutes into the past, so no entry is
    racy (modified as the record was written) and the stat alone decides."""
    past = (project / "agentsync.lock").stat().st_mtime - 120
    for path in (project / ".claude" / "agents").glob("*.md"):
        os.utime(path, (past, past))
    record = project / ".agentsync" / "installed.json"
    data = json.loads(record.read_text())
    data["recorded_ns"] = int(past * 1e9) + 60 * 10**9
    for path, entry in data["files"].items():
        entry["stat"] = _stat(Path(path))
    record.write_text(json.dumps(data))


def _stat(path: Path) -> list[int]:
    info = path.lstat()
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


def test_a_no_op_install_reads_nothing_from_the_cache(cli: Cli, project: Path) -> None:
    _age(project)
    shutil.rmtree(cache_dir())  # whatever the run needs must come from the record
    result = cli("--offline", "install", cwd=project)
    assert result.code == 0, result
    assert "up to date" in result.out


def test_a_same_size_edit_with_its_mtime_put_back_is_still_seen(cli: Cli, project: Path) -> None:
    _age(project)
    path = installed(project, "alpha")
    info = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"helpful", b"HELPFUL"))  # same size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # the change time still moves
    _code, found = states(project)
    assert found["alpha"] == "modified"
    result = cli("install", cwd=project)
    assert "alpha" in result.out  # reported, not silently taken for the recorded bytes
    assert path.read_bytes() != data  # and the edit is kept


def test_a_racy_file_is_hashed_not_trusted(cli: Cli, project: Path) -> None:
    # Right after the install every file is within the racy window: an edit that keeps size,
    # mtime and (on a coarse clock) ctime must still be caught by hashing.
    path = installed(project, "beta")
    record = project / ".agentsync" / "installed.json"
    data = json.loads(record.read_text())
    original = path.read_bytes()
    path.write_bytes(original.replace(b"helpful", b"HELPFUL"))
    data["files"][str(path)]["stat"] = _stat(path)  # as if the edit left the stat alone
    record.write_text(json.dumps(data))
    result = cli("install", cwd=project)
    assert "beta" in result.out, result
    assert path.read_bytes() != original


def test_a_record_copied_with_the_project_is_not_trusted(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    _age(project)
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)  # new inodes: the copied record vouches for nothing
    for name in AGENTS:
        path = installed(copy, name)
        path.write_bytes(path.read_bytes().replace(b"helpful", b"HELPFUL"))
    _code, found = states(copy)
    assert found == dict.fromkeys(AGENTS, "modified")
    result = cli("install", cwd=copy)
    assert all(name in result.out for name in AGENTS), result


def test_frozen_verifies_every_file_against_the_cache(cli: Cli, project: Path) -> None:
    _age(project)
    shutil.rmtree(cache_dir())
    result = cli("--offline", "install", "--frozen", cwd=project)
    assert result.code != 0  # it needed the cache, which is gone
    assert "Traceback" not in result.err


def test_a_changed_lock_entry_is_verified_again(cli: Cli, project: Path) -> None:
    _age(project)
    lock = project / "agentsync.lock"
    text = lock.read_text()
    entry = text.index("[agents.alpha]")
    start = text.index('sha256 = "', entry) + len('sha256 = "')
    lock.write_text(text[:start] + "0" * 64 + text[start + 64 :])
    result = cli("install", cwd=project)
    assert result.code == 1, result
    assert "sha256" in result.err


def test_the_parsed_lock_kept_for_the_next_run_follows_the_lock(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    kept = project / ".agentsync" / "lock.json"
    assert cli("install", cwd=project).code == 0
    assert json.loads(kept.read_text())["lock"]["agents"]["alpha"]["upstream-name"] == "alpha"
    # a kept parse carried to another copy of the project vouches for nothing there
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    record = json.loads((copy / ".agentsync" / "lock.json").read_text())
    record["lock"]["agents"]["beta"]["sha256"] = "0" * 64
    (copy / ".agentsync" / "lock.json").write_text(json.dumps(record))
    result = cli("install", cwd=copy)
    assert result.code == 0, result  # read from the lock itself, whose hashes are right
    # a hand edit of the lock is read from the file, not from the kept parse
    lock = project / "agentsync.lock"
    lock.write_text(lock.read_text().replace('upstream-name = "alpha"', 'upstream-name = "x"'))
    result = cli("install", "--frozen", cwd=project)
    assert result.code == 1, result


def test_findings_shared_by_many_files_are_counted_and_kept_in_the_cache(
    tmp_path: Path,
) -> None:
    from agentsync.installer import FileAction
    from agentsync.sync import install_diagnostics

    # a tool Claude Code does not know draws the same warning in every file
    actions = [
        FileAction(
            "create",
            f"a{i}",
            tmp_path / f"a{i}.md",
            f"---\nname: a{i}\ndescription: x\ntools: Read, Bogus\n---\nbody\n".encode(),
        )
        for i in range(8)
    ]
    first = install_diagnostics(actions, tmp_path / "cache")
    assert first, "the fixture must draw a finding"
    code = first[0].split()[2]
    listed = [line for line in first if f" {code} " in line and not line.startswith("...")]
    assert len(listed) == 5
    assert f"... and 3 more files with {first[0].split()[1]} {code}" in first
    assert list((tmp_path / "cache" / "findings").glob("*.json"))
    assert install_diagnostics(actions, tmp_path / "cache") == first  # from the cache
    assert install_diagnostics(actions) == first  # and the same without one


def test_a_lock_parse_is_shared_by_projects_with_the_same_lock_bytes(
    cli: Cli, project: Path, tmp_path: Path
) -> None:
    from agentsync.ids import sha256

    shared = cache_dir() / "parsed-locks"
    lock = project / "agentsync.lock"
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(project / "agentsync.toml", clone)
    shutil.copy(lock, clone)
    assert cli("install", "--frozen", cwd=clone).code == 0  # a new clone: parses and shares
    kept = shared / f"{sha256(lock.read_bytes())}.json"
    assert kept.is_file()
    # a kept parse that breaks the lock's rules is not used: the lock file itself is read
    record = json.loads(kept.read_text())
    record["lock"]["agents"]["alpha"]["sha256"] = "not a digest"
    kept.write_text(json.dumps(record))
    again = tmp_path / "again"
    shutil.copytree(clone, again, ignore=shutil.ignore_patterns(".agentsync", ".claude"))
    result = cli("install", "--frozen", cwd=again)
    assert result.code == 0, result
    assert installed(again, "alpha").read_bytes() == installed(project, "alpha").read_bytes()


def test_a_new_mirror_keeps_its_first_fetch_as_one_pack(project: Path) -> None:
    from tests.fixtures import only_mirror

    objects = only_mirror() / "objects"
    assert list((objects / "pack").glob("*.pack"))
    assert not [p for p in objects.glob("??/*") if p.is_file()]  # nothing unpacked
