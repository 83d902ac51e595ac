"""Shared fixtures: a hermetic git environment and real git repositories built with plain git."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def run_git(cwd: Path, *args: str) -> str:
    """Run plain git (never agentsync's own vcs module) and return stdout."""
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


class GitRepo:
    """A real git repository in a temp folder, driven with plain git."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        run_git(path, "init", "-q", "-b", branch)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def write(self, relpath: str, content: str | bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        return target

    def remove(self, relpath: str) -> None:
        run_git(self.path, "rm", "-q", relpath)

    def commit(self, message: str = "change") -> str:
        run_git(self.path, "add", "-A")
        run_git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return run_git(self.path, "rev-parse", "HEAD")

    def tag(self, name: str, ref: str = "HEAD", *, force: bool = False) -> None:
        run_git(self.path, "tag", *(["-f"] if force else []), name, ref)

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)


def agent_md(
    name: str,
    description: str = "Does things.",
    tools: str | None = None,
    body: str = "You are a helpful agent.",
    extra: str = "",
) -> str:
    """A well-formed agent file."""
    lines = ["---", f"name: {name}", f"description: {description}"]
    if tools is not None:
        lines.append(f"tools: {tools}")
    if extra:
        lines.append(extra.rstrip("\n"))
    lines += ["---", "", body, ""]
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate git and agentsync from the developer's machine, per test."""
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith("GIT_") or key in {"AGENTSYNC_TIMEOUT", "CLAUDE_CONFIG_DIR", "NO_COLOR"}:
            monkeypatch.delenv(key, raising=False)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test Author\n\temail = test@example.invalid\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
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
def make_repo(tmp_path: Path) -> Callable[..., GitRepo]:
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


class CliResult:
    """Exit code and captured output of one in-process `agentsync` run."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """cli(*args, cwd=PATH) runs agentsync's entry point in-process and returns CliResult."""
    from agentsync.cli import main

    def run(*args: str, cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code: int | str | None = 0
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code
        out, err = capsys.readouterr()
        return CliResult(int(code or 0), out, err)

    return run
