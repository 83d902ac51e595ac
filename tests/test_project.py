"""Project discovery (-C, upward search, --global), the install target, and the run lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentsync.errors import BusyError, ManifestError, UsageError
from agentsync.manifest import Manifest
from agentsync.project import find_project


def test_nearest_manifest_upward(tmp_path: Path) -> None:
    (tmp_path / "agentsync.toml").write_text("")
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    project = find_project(deep)
    assert project.root == tmp_path.resolve()
    assert project.manifest_path == tmp_path.resolve() / "agentsync.toml"
    assert project.lock_path == tmp_path.resolve() / "agentsync.lock"
    assert project.state_dir == tmp_path.resolve() / ".agentsync"
    assert not project.global_scope


def test_nearest_wins_over_outer(tmp_path: Path) -> None:
    (tmp_path / "agentsync.toml").write_text("")
    inner = tmp_path / "inner"
    (inner / "deeper").mkdir(parents=True)
    (inner / "agentsync.toml").write_text("")
    assert find_project(inner / "deeper").root == inner.resolve()


def test_folder_named_like_manifest_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "agentsync.toml").write_text("")
    sub = tmp_path / "sub"
    (sub / "agentsync.toml").mkdir(parents=True)
    assert find_project(sub).root == tmp_path.resolve()


def test_no_manifest_means_cwd(project_dir: Path) -> None:
    assert find_project(project_dir).root == project_dir.resolve()


def test_explicit_folder_wins(tmp_path: Path) -> None:
    (tmp_path / "agentsync.toml").write_text("")
    other = tmp_path / "sub" / "other"
    other.mkdir(parents=True)
    assert find_project(tmp_path / "sub", other).root == other.resolve()
    assert find_project(tmp_path, Path("sub/other")).root == other.resolve()  # relative to cwd


def test_explicit_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        find_project(tmp_path, tmp_path / "missing")


def test_global_scope(tmp_path: Path, hermetic_git: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "agentsync.toml").write_text("")  # ignored under --global
    project = find_project(tmp_path, global_scope=True)
    assert project.global_scope
    assert project.root == hermetic_git / ".config" / "agentsync"  # XDG_CONFIG_HOME from conftest
    assert project.manifest_path == project.root / "agentsync.toml"
    assert project.target_dir(None) == hermetic_git / ".claude" / "agents"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude-config"))
    assert project.target_dir(None) == tmp_path / "claude-config" / "agents"


def test_global_and_explicit_conflict(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot be used together"):
        find_project(tmp_path, tmp_path, global_scope=True)


def test_target_dir(project_dir: Path) -> None:
    project = find_project(project_dir)
    root = project_dir.resolve()
    assert project.target_dir(None) == root / ".claude" / "agents"
    manifest = Manifest(path=project.manifest_path, target="agents/installed")
    assert project.target_dir(manifest) == root / "agents" / "installed"


@pytest.mark.parametrize("target", ["/etc/agents", "../outside", "a/../../b", "..\\up"])
def test_target_leaving_the_project_is_refused(project_dir: Path, target: str) -> None:
    project = find_project(project_dir)
    with pytest.raises(ManifestError, match="leaves the project folder") as info:
        project.target_dir(Manifest(path=project.manifest_path, target=target))
    assert info.value.hint is not None


def test_run_lock_creates_state_dir_with_gitignore(project_dir: Path) -> None:
    project = find_project(project_dir)
    with project.run_lock(timeout=1):
        assert (project.state_dir / ".gitignore").read_text() == "*\n"
        assert (project.state_dir / "run.lock").exists()
    assert sorted(p.name for p in project_dir.iterdir()) == [".agentsync"]


def test_run_lock_keeps_a_user_gitignore(project_dir: Path) -> None:
    project = find_project(project_dir)
    project.state_dir.mkdir()
    (project.state_dir / ".gitignore").write_text("*\n!keep\n")
    with project.run_lock(timeout=1):
        pass
    assert (project.state_dir / ".gitignore").read_text() == "*\n!keep\n"


@pytest.mark.slow
def test_run_lock_excludes_a_second_run(project_dir: Path) -> None:
    project = find_project(project_dir)
    with project.run_lock(timeout=1):
        # filelock is per-process reentrant on one object; a second Project object opens
        # its own handle, as a second agentsync process would.
        other = find_project(project_dir)
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            result = pool.apply(_try_lock, (str(other.root),))
        assert result == "busy"
    with project.run_lock(timeout=1):
        pass


def _try_lock(root: str) -> str:
    try:
        with find_project(Path(root)).run_lock(timeout=0.2):
            return "acquired"
    except BusyError:
        return "busy"
