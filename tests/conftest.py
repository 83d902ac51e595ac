"""Shared fixtures: a hermetic git environment, real git repositories built with plain git, and
the CLI run in-process. The plain helpers they use are in fixtures.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import Cli, CliResult, GitRepo, MakeRepo, agent_md, run_git

# Still importable from here, for tests written before fixtures.py held them.
__all__ = ["CliResult", "GitRepo", "agent_md", "run_git"]


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate git and agentsync from the developer's machine, per test."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith("GIT_") or key in {"AGENTSYNC_TIMEOUT", "CLAUDE_CONFIG_DIR", "NO_COLOR"}:
            monkeypatch.delenv(key, raising=False)
    gitconfig = home / ".gitconfig"
    # No template: a repository without sample hooks is a third of the files to write and delete.
    gitconfig.write_text(
        "[user]\n\tname = Test Author\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n\ttemplateDir =\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("AGENTSYNC_CACHE_DIR", str(home / "agentsync-cache"))
    return home


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Factory: make_repo("name") -> a fresh GitRepo under tmp_path/repos/name."""

    def factory(name: str = "source", branch: str = "main") -> GitRepo:
        return GitRepo(tmp_path / "repos" / name, branch=branch)

    return factory


@pytest.fixture
def project_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty project folder."""
    path = tmp_path / "project"
    path.mkdir()
    yield path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """cli(*args, cwd=PATH) runs agentsync's entry point in-process and returns CliResult.

    As the `agentsync` command does: the answers kept by agentsync.fastpath first, then the
    full command line; every test of a no-op install or of help holds both to one output."""
    from agentsync.__main__ import entry

    def run(*args: str, cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code: int | str | None = 0
        try:
            entry(list(args))
        except SystemExit as done:
            code = done.code
        out, err = capsys.readouterr()
        return CliResult(int(code or 0), out, err)

    return run
