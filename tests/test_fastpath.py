"""The answers given before the command line loads (agentsync.fastpath): a no-op `install`
read from the record of a clean project, and help kept from its first rendering.

Each is only ever a shortcut to what the full run would say: any change the full run would
act on (the manifest, the lock, an agent file, the target folder, an interrupted run, a
concurrent run, other flags or settings) makes the shortcut step aside."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from agentsync.fastpath import CLEAN, UP_TO_DATE, run_fast, stat_key
from tests.fixtures import (
    TARGET,
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    agents_repo,
    cache_dir,
    installed,
    states,
    write_manifest,
)
from tests.procs import FAULT_ENV, agentsync

AGENTS = ("alpha", "beta")


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    return agents_repo(make_repo, "upstream", AGENTS)


@pytest.fixture
def project(cli: Cli, project_dir: Path, source: GitRepo) -> Path:
    """Installed, then found clean by a second run (which leaves the record), with every
    file and the record moved out of the racy window."""
    write_manifest(project_dir, source.url, "".join(f'{n} = "up"\n' for n in AGENTS), source="up")
    assert cli("install", cwd=project_dir).code == 0
    assert not (project_dir / ".agentsync" / CLEAN).exists()  # that run wrote files
    assert cli("install", cwd=project_dir).code == 0
    _age(project_dir)
    return project_dir


def _age(project: Path) -> None:
    record = project / ".agentsync" / CLEAN
    data = json.loads(record.read_text())
    past = (project / "agentsync.lock").stat().st_mtime - 120
    for path in (project / TARGET).glob("*.md"):
        os.utime(path, (past, past))
        data["files"][str(path)][0] = _stat(path)
    data["recorded_ns"] = int(past * 1e9) + 60 * 10**9
    for folder in data["folders"]:
        data["folders"][folder] = _stat(Path(folder))
    record.write_text(json.dumps(data))


def _stat(path: Path) -> list[int]:
    return stat_key(path.lstat())


def fast(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> int | None:
    monkeypatch.chdir(project)
    return run_fast(list(args) or ["install"])


def test_a_clean_project_is_answered_without_the_pipeline(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert fast(project, monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == UP_TO_DATE + "\n"
    assert fast(project, "-q", "install", "--offline", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == ""
    sub = project / TARGET
    assert fast(sub, "install", monkeypatch=monkeypatch) == 0  # found upward, as the full run
    assert fast(project.parent, "-C", project.name, "install", monkeypatch=monkeypatch) == 0


@pytest.mark.parametrize(
    "args",
    [
        ("install", "-v"),
        ("--json", "install"),
        ("install", "--frozen"),
        ("install", "alpha"),
        ("install", "--force"),
        ("--refresh", "install"),
        ("--global", "install"),
        ("--timeout", "5", "install"),
        ("status",),
        ("install", "install"),
    ],
)
def test_any_other_command_or_flag_takes_the_full_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    assert fast(project, *args, monkeypatch=monkeypatch) is None


def test_a_timeout_setting_takes_the_full_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSYNC_TIMEOUT", "nan")  # the full run refuses it: so must we
    assert fast(project, monkeypatch=monkeypatch) is None


def _edit_manifest(project: Path) -> None:
    path = project / "agentsync.toml"
    path.write_text(path.read_text() + "\n# a comment changes the bytes\n")


def _edit_lock(project: Path) -> None:
    path = project / "agentsync.lock"
    path.write_text(path.read_text() + "\n")


def _same_size_edit(project: Path) -> None:
    path = installed(project, "alpha")
    info = path.stat()
    path.write_bytes(path.read_bytes().replace(b"helpful", b"HELPFUL"))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # the change time still moves


def _delete_file(project: Path) -> None:
    installed(project, "beta").unlink()


def _file_beside(project: Path) -> None:
    (project / TARGET / "Alpha.md").write_text("a name clash on some file systems\n")


def _folder_swapped_for_a_link(project: Path) -> None:
    target = project / TARGET
    moved = project / "elsewhere"
    target.rename(moved)
    target.symlink_to(moved)


def _interrupted_run(project: Path) -> None:
    (project / ".agentsync" / "journal.json").write_text('{"version": 2, "writes": {}}')


def _record_of_another_version(project: Path) -> None:
    record = project / ".agentsync" / CLEAN
    data = json.loads(record.read_text())
    data["code"] = "0" * 16
    record.write_text(json.dumps(data))


def _lock_file_swapped_for_a_fifo(project: Path) -> None:
    lock = project / ".agentsync" / "run.lock"
    lock.unlink()
    os.mkfifo(lock)


def _staging_folder_swapped_for_a_link(project: Path) -> None:
    staging = project / ".agentsync" / "tmp"
    shutil.rmtree(staging)
    staging.symlink_to(project.parent)


def _temp_left_in_the_state_folder(project: Path) -> None:
    (project / ".agentsync" / ".journal.json.1-2.agentsync-tmp").write_text("{")


def _gitignore_deleted(project: Path) -> None:
    (project / ".agentsync" / ".gitignore").unlink()


def _record_of_verified_files_deleted(project: Path) -> None:
    (project / ".agentsync" / "installed.json").unlink()


@pytest.mark.parametrize(
    "change",
    [
        _lock_file_swapped_for_a_fifo,
        _staging_folder_swapped_for_a_link,
        _temp_left_in_the_state_folder,
        _gitignore_deleted,
        _record_of_verified_files_deleted,
        _edit_manifest,
        _edit_lock,
        _same_size_edit,
        _delete_file,
        _file_beside,
        _folder_swapped_for_a_link,
        _interrupted_run,
        _record_of_another_version,
    ],
)
def test_every_change_the_full_run_would_act_on_takes_the_full_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, change: object
) -> None:
    assert fast(project, monkeypatch=monkeypatch) == 0
    change(project)  # type: ignore[operator]
    assert fast(project, monkeypatch=monkeypatch) is None


def test_a_project_without_agents_is_never_answered_from_a_record(
    cli: Cli, tmp_path: Path, source: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No agent file to vouch for means no record of verified files either: the full run
    # always looks (and reports a target folder that became a file).
    empty = tmp_path / "empty"
    empty.mkdir()
    write_manifest(empty, source.url, "", source="up")
    (empty / TARGET).mkdir(parents=True)
    assert cli("install", cwd=empty).code == 0
    assert cli("install", cwd=empty).code == 0
    assert fast(empty, monkeypatch=monkeypatch) is None
    (empty / TARGET).rmdir()
    (empty / TARGET).write_text("a file where the folder was\n")
    assert fast(empty, monkeypatch=monkeypatch) is None
    assert cli("install", cwd=empty).code != 0


def test_no_stdout_takes_the_full_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", None)
    assert fast(project, monkeypatch=monkeypatch) is None


def test_a_racy_edit_is_hashed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An edit right after the record, with its stat forged into the record (as a clock too
    # coarse to see it would): the file is within the racy window, so its bytes are hashed.
    record = project / ".agentsync" / CLEAN
    data = json.loads(record.read_text())
    path = installed(project, "alpha")
    path.write_bytes(path.read_bytes().replace(b"helpful", b"HELPFUL"))
    data["files"][str(path)][0] = _stat(path)
    data["recorded_ns"] = path.stat().st_mtime_ns + 1
    data["folders"] = {f: _stat(Path(f)) for f in data["folders"]}
    record.write_text(json.dumps(data))
    assert fast(project, monkeypatch=monkeypatch) is None
    path.write_bytes(path.read_bytes().replace(b"HELPFUL", b"helpful"))  # same bytes again
    data["files"][str(path)][0] = _stat(path)
    data["recorded_ns"] = path.stat().st_mtime_ns + 1
    record.write_text(json.dumps(data))
    assert fast(project, monkeypatch=monkeypatch) == 0  # hashed, and right


def test_a_copied_project_is_not_answered_from_the_copied_record(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    assert fast(copy, monkeypatch=monkeypatch) is None


def test_a_run_in_progress_takes_the_full_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd = os.open(project / ".agentsync" / "run.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert fast(project, monkeypatch=monkeypatch) is None
    finally:
        os.close(fd)
    assert fast(project, monkeypatch=monkeypatch) == 0


def test_the_answer_is_the_full_runs_answer(cli: Cli, project: Path) -> None:
    from agentsync.cli import main

    fast_result = cli("install", cwd=project)
    (project / ".agentsync" / CLEAN).unlink()
    try:
        main(["install"])
    except SystemExit as done:
        assert done.code == 0
    assert fast_result.out.strip() == UP_TO_DATE
    assert (project / ".agentsync" / CLEAN).exists()  # the full no-op run records it again


def test_a_run_that_changes_the_project_drops_the_record_first(
    cli: Cli, project: Path, source: GitRepo
) -> None:
    source.write("agents/alpha.md", agent_md("alpha", "Version two."))
    source.commit("v2")
    assert cli("update", cwd=project).code == 0
    assert not (project / ".agentsync" / CLEAN).exists()
    result = cli("install", cwd=project)  # full run: nothing to do, records it again
    assert result.out.strip() == UP_TO_DATE
    assert (project / ".agentsync" / CLEAN).exists()


@pytest.mark.slow
def test_a_killed_run_never_leaves_a_record_that_vouches_for_it(
    project: Path, source: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `update` killed after each of its writes, in a project that had a clean record:
    the shortcut never answers for the torn state; the plain rerun finishes the job."""
    source.write("agents/alpha.md", agent_md("alpha", "Version two."))
    source.write("agents/beta.md", agent_md("beta", "Version two."))
    source.commit("v2")
    killed = 0
    for fault in range(1, 8):
        copy = project.parent / f"killed-{fault}"
        shutil.copytree(project, copy, symlinks=True)
        # the copy has new inodes: take a fresh record there first
        assert agentsync(copy, "install").code == 0
        assert agentsync(copy, "install").code == 0
        assert (copy / ".agentsync" / CLEAN).exists()
        run = agentsync(copy, "update", fault=fault)
        killed += run.code < 0
        # through the shortcut when it answers: then the state must already be whole
        again = agentsync(copy, "install")
        assert again.code == 0, again
        code, found = states(copy)
        assert code == 0 and set(found.values()) == {"ok"}, found
    assert killed >= 3
    assert FAULT_ENV not in os.environ


def test_help_is_kept_from_its_first_rendering(cli: Cli, tmp_path: Path) -> None:
    first = cli("--help", cwd=tmp_path)
    assert first.code == 0 and "Usage: agentsync" in first.out
    kept = list((cache_dir() / "help").glob("*.txt"))
    assert len(kept) == 1
    assert kept[0].read_text() == first.out
    kept[0].write_text("kept text\n")  # the second run prints the kept text, not a new one
    assert cli("--help", cwd=tmp_path).out == "kept text\n"
    assert cli("install", "--help", cwd=tmp_path).out.startswith("Usage: agentsync install")
    assert len(list((cache_dir() / "help").glob("*.txt"))) == 2


def test_help_kept_for_one_terminal_width_is_not_shown_at_another(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = cli("--help", cwd=tmp_path).out
    monkeypatch.setenv("COLUMNS", "50")
    narrow = cli("--help", cwd=tmp_path).out

    # the examples are printed as written, to be copied: only the text above them wraps
    def wrapped(text: str) -> list[str]:
        return text.split("Examples:", maxsplit=1)[0].splitlines()

    assert max(map(len, wrapped(narrow))) <= 50 < max(map(len, wrapped(wide)))
    assert cli("--help", cwd=tmp_path).out == narrow


def test_a_failed_help_request_is_not_kept(cli: Cli, tmp_path: Path) -> None:
    result = cli("nosuchcommand", "--help", cwd=tmp_path)
    assert result.code != 0
    assert not list((cache_dir() / "help").glob("*.txt"))
