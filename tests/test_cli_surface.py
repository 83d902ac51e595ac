"""The conventions people bring from other package managers: --version, completion, help with
examples, aliases, readable metavars, colour that follows the terminal, tables that fit it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from agentsync import __version__
from agentsync.cli import app
from tests.fixtures import Cli, GitRepo, MakeRepo, agent_md

ESCAPE = re.compile(r"\x1b\[")


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand the CLI has, hidden aliases included."""
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        commands = getattr(command, "commands", None)
        if path:
            found.append(path)
        for name, sub in (commands or {}).items():
            walk(sub, (*path, name))

    walk(root, ())
    return found


def test_version_long_and_short(cli: Cli, tmp_path: Path) -> None:
    for flag in ("--version", "-V"):
        result = cli(flag, cwd=tmp_path)
        assert result.code == 0 and result.out == f"agentsync {__version__}\n", result


def test_completion_script_for_bash(cli: Cli, tmp_path: Path) -> None:
    result = cli("--show-completion", "bash", cwd=tmp_path)
    assert result.code == 0, result
    assert "complete " in result.out and "_AGENTSYNC_COMPLETE" in result.out


def test_the_command_list_is_complete() -> None:
    names = set(command_paths())
    for expected in ("install", "add", "remove", "rm", "uninstall", "status", "list", "ls"):
        assert (expected,) in names
    assert ("source", "add") in names and ("help",) in names


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_help_has_an_example_and_words_for_metavars(
    cli: Cli, tmp_path: Path, path: tuple[str, ...]
) -> None:
    result = cli(*path, "--help", cwd=tmp_path)
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert "Examples:" in lines
    examples = lines[lines.index("Examples:") + 1 :]
    assert any(line.startswith("agentsync ") for line in examples), result.out
    # metavars read as words, never as Python types
    assert not re.search(r"<(str|path|float|int|list)", result.out), result.out
    assert "float range" not in result.out and "list[" not in result.out


def test_choices_and_presets_are_listed(cli: Cli, tmp_path: Path) -> None:
    assert "--merge [auto|markers]" in cli("update", "--help", cwd=tmp_path).out
    init = cli("init", "--help", cwd=tmp_path).out
    assert "voltagent" in init and "wshobson" in init
    top = cli("--help", cwd=tmp_path).out
    assert "--color [auto|always|never]" in top and "--timeout SECONDS" in top


def test_help_command_is_the_commands_own_help(cli: Cli, tmp_path: Path) -> None:
    assert cli("help", "install", cwd=tmp_path).out == cli("install", "--help", cwd=tmp_path).out
    nested = cli("help", "source", "add", cwd=tmp_path)
    assert nested.out.startswith("Usage: agentsync source add"), nested
    assert cli("help", cwd=tmp_path).out.startswith("Usage: agentsync [OPTIONS] COMMAND")
    wrong = cli("help", "instal", cwd=tmp_path)
    assert wrong.code == 2 and "did you mean 'install'" in wrong.err, wrong


@pytest.fixture
def team(make_repo: MakeRepo) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read"))
    long = "Writes documentation for everything, " * 6
    repo.write("agents/writer.md", agent_md("writer", long.strip(), "Read, Write"))
    repo.commit("agents")
    return repo


@pytest.fixture
def project(cli: Cli, project_dir: Path, team: GitRepo) -> Path:
    assert cli("init", cwd=project_dir).code == 0
    assert cli("source", "add", "team", team.url, cwd=project_dir).code == 0
    return project_dir


@pytest.mark.slow
def test_aliases_add_rm_uninstall_ls(cli: Cli, project: Path) -> None:
    target = project / ".claude/agents"
    assert cli("add", "reviewer", "writer", cwd=project).code == 0
    assert (target / "reviewer.md").exists() and (target / "writer.md").exists()
    assert "reviewer" in cli("ls", cwd=project).out
    assert cli("rm", "reviewer", cwd=project).code == 0
    assert not (target / "reviewer.md").exists()
    assert cli("uninstall", "writer", cwd=project).code == 0
    assert not (target / "writer.md").exists()
    assert cli("add", cwd=project).code == 2  # `add` needs a name; plain `install` syncs


@pytest.mark.slow
def test_colour_follows_the_flag_and_no_color(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("install", "reviewer", cwd=project).code == 0
    (project / ".claude/agents/reviewer.md").write_text(agent_md("reviewer", "Mine."))
    painted = cli("--color=always", "status", cwd=project)
    assert "\x1b[33mmodified\x1b[0m" in painted.out, painted
    assert ESCAPE.search(cli("status", cwd=project).out) is None  # not a terminal
    assert ESCAPE.search(cli("--color", "never", "status", cwd=project).out) is None
    # the flag may come after the command, as every global option can
    assert ESCAPE.search(cli("status", "--color=always", cwd=project).out)
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESCAPE.search(cli("--color=auto", "status", cwd=project).out) is None
    assert ESCAPE.search(cli("--color=always", "status", cwd=project).out)  # asked for


@pytest.mark.slow
def test_colour_never_lets_a_source_write_escapes(
    cli: Cli, project_dir: Path, make_repo: MakeRepo
) -> None:
    repo = make_repo("evil")
    repo.write("agents/x.md", agent_md("x", "ok \x1b[2J wiped", "Read"))
    repo.commit("evil")
    cli("init", cwd=project_dir)
    cli("source", "add", "evil", repo.url, cwd=project_dir)
    shown = cli("--color=always", "search", cwd=project_dir).out
    assert "\x1b[2J" not in shown and "\\x1b[2J" in shown


@pytest.mark.slow
def test_search_has_a_header_and_fits_the_terminal(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = cli("search", cwd=project).out.splitlines()
    assert wide[0].split() == ["AGENT", "CHECK", "DESCRIPTION"]
    assert any(line.endswith("everything,") for line in wide)  # piped: nothing cut
    monkeypatch.setenv("COLUMNS", "60")
    narrow = cli("search", cwd=project).out.splitlines()
    assert all(len(line) <= 60 for line in narrow), narrow
    writer = next(line for line in narrow if "team/writer" in line)
    assert writer.endswith("…")


def write_agents(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        # Bash beside Grep: the same AS111 warning in every file
        (folder / f"a{index}.md").write_text(agent_md(f"a{index}", "Searches.", "Bash, Grep"))


def test_check_groups_a_warning_many_files_share(cli: Cli, tmp_path: Path) -> None:
    write_agents(tmp_path / "agents", 8)
    result = cli("check", "agents", cwd=tmp_path)
    assert result.code == 0, result
    listed = [line for line in result.out.splitlines() if ": warning AS111 " in line]
    assert len(listed) == 5
    assert "... and 3 more warning AS111 (-v lists every one)" in result.out
    every = cli("-v", "check", "agents", cwd=tmp_path).out
    assert len([line for line in every.splitlines() if ": warning AS111 " in line]) == 8


def test_check_ignore_leaves_the_code_out(cli: Cli, tmp_path: Path) -> None:
    write_agents(tmp_path / "agents", 2)
    assert cli("check", "--strict", "agents", cwd=tmp_path).code == 1
    result = cli("check", "--strict", "--ignore", "as111", "agents", cwd=tmp_path)
    assert result.code == 0, result
    assert "AS111" not in result.out and "0 warning(s)" in result.out
    typo = cli("check", "--ignore", "AS1111", "agents", cwd=tmp_path)
    assert typo.code == 2 and "AS1111" in typo.err, typo


def test_check_paints_severities_only_when_asked(cli: Cli, tmp_path: Path) -> None:
    write_agents(tmp_path / "agents", 1)
    assert (
        "\x1b[33mwarning\x1b[0m AS111" in cli("--color=always", "check", "agents", cwd=tmp_path).out
    )
    assert ESCAPE.search(cli("check", "agents", cwd=tmp_path).out) is None
