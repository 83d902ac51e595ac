"""Odd names and odd files: names that cannot be files everywhere, special files planted in
the target folder, state folders that lead elsewhere, and the expected failures that must end
in a clear message (never a traceback, nothing half-written)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentsync.ids import name_problem
from tests.fixtures import (
    TARGET,
    Cli,
    CliResult,
    GitRepo,
    MakeRepo,
    agent_md,
    run_bounded,
    write_manifest,
)


@pytest.fixture
def source(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/helper.md", agent_md("helper", "Helps."))
    repo.commit("v1")
    return repo


def no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.err + result.out, result
    assert result.err.startswith("error: "), result


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["trailnl\n", "x\ny", "CON", "nul", "Aux.helper", "com1", "LPT9", "a/b", ".x", "-x"]
)
def test_unsafe_names_are_refused(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["helper", "con-helper", "console", "a.b_c-1", "COM10", "nul2"])
def test_ordinary_names_are_allowed(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.slow
@pytest.mark.parametrize("key", ['"trailnl\\n"', "nul", "CON", '"Com3.md"'])
def test_a_manifest_key_that_cannot_be_a_file_everywhere_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path, key: str
) -> None:
    before = write_manifest(
        project_dir, source.url, f'{key} = {{ source = "team", agent = "helper" }}\n'
    )
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert "agentsync.toml:" in result.err
    no_traceback(result)
    assert (project_dir / "agentsync.toml").read_bytes() == before
    assert not (project_dir / ".claude").exists()
    assert not (project_dir / "agentsync.lock").exists()


@pytest.mark.slow
def test_upstream_names_that_cannot_be_files_everywhere_are_skipped(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    repo = make_repo("names")
    repo.write("agents/ok.md", agent_md("ok", "Fine."))
    repo.write(
        "agents/trail.md", '---\nname: "trailnl\\n"\ndescription: Trailing newline.\n---\nx\n'
    )
    repo.write("agents/con.md", agent_md("con", "A Windows device name."))
    repo.commit("names")
    write_manifest(project_dir, repo.url, None, extra='include = ["*"]\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    assert sorted(p.name for p in (project_dir / TARGET).iterdir()) == ["ok.md"]
    assert "'trailnl\\n'" in result.err and "'con'" in result.err
    assert "device name on Windows" in result.err


@pytest.mark.slow
def test_a_hand_edited_lock_name_with_a_newline_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    lock = project_dir / "agentsync.lock"
    lock.write_text(lock.read_text().replace("[agents.helper]", '[agents."helper\\n"]'))
    result = cli("status", cwd=project_dir)
    assert result.code == 2 and "not a safe name" in result.err, result


@pytest.mark.slow
def test_names_that_differ_only_in_case_are_refused(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    """One file on macOS and Windows: a lock holding both could not be installed there."""
    repo = make_repo("cases")
    repo.write("agents/upper.md", agent_md("Case", "Upper."))
    repo.write("agents/lower.md", agent_md("case", "Lower."))
    repo.commit("cases")
    for manifest in (
        f'[sources.team]\nurl = "{repo.url}"\ninclude = ["*"]\n',
        f'[sources.team]\nurl = "{repo.url}"\n\n[agents]\nCase = "team"\ncase = "team"\n',
    ):
        (project_dir / "agentsync.toml").write_text(manifest)
        result = cli("install", cwd=project_dir)
        assert result.code == 1, result
        assert "differ only in case" in result.err
        no_traceback(result)
        assert not (project_dir / "agentsync.lock").exists()
        assert not (project_dir / TARGET).exists() or not list((project_dir / TARGET).iterdir())


@pytest.mark.slow
def test_a_name_beside_a_hand_written_file_of_other_case_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url)
    (project_dir / TARGET).mkdir(parents=True)
    (project_dir / TARGET / "Helper.md").write_text(agent_md("Helper", "Mine."))
    result = cli("install", "helper", cwd=project_dir)
    assert result.code == 1 and "differ only in case" in result.err, result
    assert [p.name for p in (project_dir / TARGET).iterdir()] == ["Helper.md"]


# -- special files in the target folder -----------------------------------------------------------


@pytest.fixture
def planted(cli: Cli, source: GitRepo, project_dir: Path) -> Path:
    """An installed project whose target folder also holds a link to /dev/zero, a FIFO and a
    sparse 4 GiB file, all named like agents."""
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    target = project_dir / TARGET
    target.mkdir(parents=True)
    (target / "zero.md").symlink_to("/dev/zero")
    os.mkfifo(target / "fifo.md")
    with (target / "huge.md").open("wb") as handle:
        handle.truncate(4 << 30)
    return target


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code"),
    [(["install"], 0), (["status"], 0), (["check"], 1), (["install", "helper"], 0)],
)
def test_fifo_dev_zero_and_huge_files_are_bounded(
    planted: Path, project_dir: Path, args: list[str], code: int
) -> None:
    result, seconds = run_bounded(project_dir, *args)
    assert result.returncode == code, result
    assert "Traceback" not in result.stderr
    assert seconds < 20
    if args == ["check"]:
        assert "fifo.md:1: error AS014" in result.stdout
        assert "zero.md:1: error AS014" in result.stdout
        assert "huge.md:1: error AS002" in result.stdout


@pytest.mark.slow
def test_a_special_file_at_an_agents_path_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    target = project_dir / TARGET
    target.mkdir(parents=True)
    for make in (lambda p: p.mkdir(), os.mkfifo, lambda p: p.symlink_to("/dev/zero")):
        path = target / "helper.md"
        make(path)
        result = cli("install", cwd=project_dir)
        assert result.code == 1 and "not a regular file" in result.err, result
        no_traceback(result)
        assert not (project_dir / "agentsync.lock").exists()
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()


# -- state folders and locks that lead elsewhere ------------------------------------------------


def test_a_symlinked_state_folder_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    (project_dir / ".agentsync").symlink_to(elsewhere)
    for args in (["install"], ["remove", "helper"], ["update"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 1 and "is a symlink" in result.err, (args, result)
        no_traceback(result)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert not (project_dir / ".claude").exists()


def test_a_symlinked_run_lock_is_refused_and_its_target_kept(
    cli: Cli, source: GitRepo, project_dir: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    (project_dir / ".agentsync").mkdir()
    (project_dir / ".agentsync" / "run.lock").symlink_to(victim)
    result = cli("install", cwd=project_dir)
    assert result.code == 1 and "run.lock" in result.err, result
    no_traceback(result)
    assert victim.read_text() == "precious\n"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "dangling-symlink"])
def test_a_state_folder_or_target_that_is_not_a_folder_is_a_clear_error(
    cli: Cli, source: GitRepo, project_dir: Path, kind: str
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    (project_dir / ".claude").mkdir()
    for place in (project_dir / ".agentsync", project_dir / TARGET):
        if kind == "file":
            place.write_text("in the way\n")
        else:
            place.symlink_to(project_dir / "nowhere")
        result = cli("install", cwd=project_dir)
        assert result.code == 1, result
        no_traceback(result)
        assert not (project_dir / "agentsync.lock").exists()
        place.unlink()


def test_check_fix_never_writes_through_a_symlinked_subfolder(
    cli: Cli, project_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    broken = "---\nname: far\ndescription: one: two\n---\nbody\n"  # fixable: needs quotes
    (outside / "far.md").write_text(broken)
    target = project_dir / TARGET
    target.mkdir(parents=True)
    (target / "linked").symlink_to(outside)
    (target / "near.md").write_text(broken.replace("far", "near"))
    (target / "far-file.md").symlink_to(outside / "far.md")
    (target / "real" / "nested").mkdir(parents=True)
    (target / "real" / "nested" / "deep").symlink_to(outside)
    for args in (
        [str(target)],
        [],  # the project's target folder
        [str(target / "linked" / "far.md")],  # a file named through the linked folder
        [str(target / "linked")],  # the link itself
        [str(target / "real" / "nested")],  # a real folder holding a link
        [".claude/agents/far-file.md"],
    ):
        result = cli("check", "--fix", *args, cwd=project_dir)
        assert "Traceback" not in result.err
        assert (outside / "far.md").read_text() == broken, args
        assert "not fixed" in result.err and "through the symlink" in result.err, (args, result)
    assert (target / "near.md").read_text() != broken.replace("far", "near")  # fixed in place


# -- expected failures: a message, never a traceback ---------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "[agents]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
        "a = " + "{x=" * 3000 + "1" + "}" * 3000 + "\n",
    ],
)
def test_a_deeply_nested_manifest_is_an_input_error(cli: Cli, project_dir: Path, text: str) -> None:
    (project_dir / "agentsync.toml").write_text(text)
    for args in (["install"], ["status"], ["source", "add", "x", "../x"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 2 and "nested too deeply" in result.err, (args, result)
        no_traceback(result)


def test_a_deeply_nested_lock_is_an_input_error(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    (project_dir / "agentsync.lock").write_text("version = 1\nx = " + "[" * 5000 + "]" * 5000)
    for args in (["install"], ["status"], ["install", "--frozen"]):
        result = cli(*args, cwd=project_dir)
        assert result.code == 2 and "nested too deeply" in result.err, (args, result)
        no_traceback(result)


UNPARSEABLE = "sources.team.url: the URL cannot be parsed"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "install", "listing"),
    [
        # (url, how `install` fails, exit code of `source list`)
        ("https://[oops/x", (2, f"{UNPARSEABLE}: Invalid IPv6 URL"), 2),
        ("https://example.invalid:99999/x", (2, f"{UNPARSEABLE}: Port out of range"), 2),
        ("a" * 300 + "@host:" + "p" * 5000, (1, "could not fetch"), 0),  # parses: git says no
    ],
)
def test_unparseable_or_overlong_urls_are_clear_errors(
    cli: Cli, project_dir: Path, url: str, install: tuple[int, str], listing: int
) -> None:
    write_manifest(project_dir, url, 'helper = "team"\n')
    installed = cli("--timeout", "2", "install", cwd=project_dir)
    code, message = install
    assert installed.code == code, installed
    no_traceback(installed)
    assert message in installed.err and "\nhint: " in installed.err, installed
    listed = cli("source", "list", cwd=project_dir)
    assert listed.code == listing, listed
    if listing:
        no_traceback(listed)
        assert message in listed.err, listed
    else:
        assert listed.out.startswith("team ") and listed.err == "", listed
    assert not (project_dir / "agentsync.lock").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e300"])
def test_a_timeout_that_is_not_a_sensible_number_is_a_usage_error(
    cli: Cli, source: GitRepo, project_dir: Path, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    result = cli("--timeout", value, "install", cwd=project_dir)
    assert result.code == 2, result
    assert "Traceback" not in result.err
    monkeypatch.setenv("AGENTSYNC_TIMEOUT", value)
    result = cli("install", cwd=project_dir)
    assert result.code == 2 and "AGENTSYNC_TIMEOUT" in result.err, result
    assert not (project_dir / "agentsync.lock").exists()


@pytest.mark.parametrize("kind", ["zero", "fifo", "huge", "folder"])
def test_diff_of_a_special_file_is_bounded(
    cli: Cli, source: GitRepo, project_dir: Path, kind: str
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    path = project_dir / TARGET / "helper.md"
    path.unlink()
    if kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        with path.open("wb") as handle:
            handle.truncate(4 << 30)
    result, seconds = run_bounded(project_dir, "diff", "helper")
    assert "Traceback" not in result.stderr, result
    assert seconds < 20
    assert result.returncode == (0 if kind == "huge" else 1), result
    if kind == "huge":
        assert "larger than 1 MiB" in result.stderr and len(result.stdout) < 1000, result


def test_an_agent_reference_with_control_characters_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    before = write_manifest(project_dir, source.url)
    for text in ("team/bad\x1b[31mname", "hel\u200bper", "helper@main\n"):
        result = cli("install", text, cwd=project_dir)
        assert result.code == 2 and "control or invisible" in result.err, result
        assert "\x1b" not in result.err
    assert (project_dir / "agentsync.toml").read_bytes() == before


def test_a_folder_that_no_longer_exists_is_a_clear_error(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import os; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
            "import sys; sys.argv = ['agentsync', 'status']; "
            "from agentsync.__main__ import run; run()",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result
    assert "the current folder no longer exists" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["agentsync.lock", "agentsync.toml", ".mcp.json"])
@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_planted_lock_or_manifest_that_never_ends_is_refused(
    cli: Cli, source: GitRepo, project_dir: Path, name: str, kind: str
) -> None:
    """A repository can commit its lock or manifest as a link to /dev/zero (or leave a
    FIFO there): every command must end at once with a clear message, not hang."""
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    path = project_dir / name
    path.unlink(missing_ok=True)
    if kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    for args in (["status"], ["install", "--frozen"], ["check"]):
        result, seconds = run_bounded(project_dir, *args)
        assert seconds < 20 and "Traceback" not in result.stderr, (args, result)
        if name != ".mcp.json" and args != ["check"]:  # check has no lock to read
            assert result.returncode == 2 and "cannot read" in result.stderr, (args, result)


def test_a_newline_in_a_key_cannot_forge_an_error_line(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, '"x\\nhint: all good" = "team"\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 2, result
    assert not any(line.startswith("hint: all good") for line in result.err.splitlines())
    assert "x\\nhint: all good" in result.err


def test_a_symlink_to_the_whole_disk_in_the_target_is_bounded(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, source.url, 'helper = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    (project_dir / TARGET / "root").symlink_to("/")
    (project_dir / TARGET / "helper.md").unlink()  # so that install writes, and looks around
    for args in (["status"], ["check"], ["install"]):
        result, seconds = run_bounded(project_dir, *args)
        assert seconds < 20 and "Traceback" not in result.stderr, (args, result)
        assert result.returncode == 1 and "more than 100,000 entries" in result.stderr, result
