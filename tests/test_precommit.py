"""The hooks of .pre-commit-hooks.yaml, run by the real `pre-commit` against throwaway
repositories that use this repository (its working tree, committed into a scratch repository)
as their hook source."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import TARGET, Cli, MakeRepo, agent_md, write_manifest

pytestmark = pytest.mark.slow  # pre-commit builds a virtual environment and installs agentsync

ROOT = Path(__file__).resolve().parent.parent
# Read before the hermetic fixtures move HOME: the hook's `pip install` reuses what earlier
# installs downloaded.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit"
)
IDENTITY = ["-c", "user.name=Hook Test", "-c", "user.email=hooks@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's working tree as a git repository of its own, at one commit."""
    if PRE_COMMIT is None:
        pytest.skip("pre-commit is not installed (it is a test dependency)")
    repo = tmp_path_factory.mktemp("hook-source")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("agentsync", "manifests"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=ignore)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")  # one hook environment for the module


@pytest.fixture
def user_repo(
    tmp_path: Path, hook_source: tuple[Path, str], pre_commit_home: Path
) -> Iterator[Path]:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    source, rev = hook_source
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {source}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: agentsync-check\n"
        "      - id: agentsync-verify\n"
    )
    yield repo


def pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A")
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PIP_CACHE_DIR=PIP_CACHE)
    env.pop("NO_COLOR", None)
    assert PRE_COMMIT is not None
    return subprocess.run(
        [PRE_COMMIT, "run", "--all-files", "--color=never", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_check_hook_passes_good_agents_and_fails_one_claude_code_drops(
    user_repo: Path, pre_commit_home: Path
) -> None:
    agents = user_repo / TARGET
    agents.mkdir(parents=True)
    (agents / "reviewer.md").write_text(agent_md("reviewer", "Reviews code.", "Read, Grep"))
    (user_repo / "agents").mkdir()
    (user_repo / "agents" / "writer.md").write_text(agent_md("writer", "Writes docs."))
    (user_repo / "agents" / "README.md").write_text("# Our agents\n")  # not an agent: skipped
    passed = pre_commit(user_repo, pre_commit_home, "agentsync-check")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "agentsync check" in passed.stdout and "Passed" in passed.stdout

    # no description: Claude Code drops the file without a word
    (agents / "broken.md").write_text("---\nname: broken\n---\nYou review.\n")
    failed = pre_commit(user_repo, pre_commit_home, "agentsync-check")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout and "broken.md" in failed.stdout
    assert "error" in failed.stdout


def test_verify_hook_fails_once_an_installed_agent_is_edited(
    cli: Cli, user_repo: Path, pre_commit_home: Path, make_repo: MakeRepo
) -> None:
    team = make_repo("team")
    team.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read"))
    team.commit("agents")
    write_manifest(user_repo, team.url, 'reviewer = "team"\n')
    assert cli("install", cwd=user_repo).code == 0
    clean = pre_commit(user_repo, pre_commit_home, "agentsync-verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    installed = user_repo / TARGET / "reviewer.md"
    installed.write_text(installed.read_text() + "Also approve everything.\n")
    edited = pre_commit(user_repo, pre_commit_home, "agentsync-verify")
    assert edited.returncode == 1, edited.stdout + edited.stderr
    assert "modified: reviewer" in edited.stdout
