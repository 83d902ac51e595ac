"""`update --recursive` / `outdated --recursive`: many projects, one fetch per source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsync import vcs
from agentsync.session import Options
from agentsync.updater import find_projects, update_recursive
from tests.fixtures import (
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    edit,
    installed,
    lock_entry,
    write_manifest,
)

pytestmark = pytest.mark.slow  # several installed projects per test


@pytest.fixture
def fleet(cli: Cli, make_repo: MakeRepo, tmp_path: Path) -> tuple[GitRepo, Path]:
    """Three installed projects under repos-root/, all using one source, plus decoys."""
    repo = make_repo("team")
    repo.write("reviewer.md", agent_md("reviewer", "Reviews v1.", "Read"))
    repo.write("writer.md", agent_md("writer", "Writes v1.", "Read"))
    repo.commit("v1")
    root = tmp_path / "work"
    for name in ("api", "web", "tools/cli"):
        project = root / name
        project.mkdir(parents=True)
        write_manifest(project, repo.url, 'reviewer = "team"\nwriter = "team"\n')
        assert cli("install", cwd=project).code == 0
    for decoy in ("web/node_modules/pkg", ".hidden/p", "api/.venv/x", "env2/lib"):
        (root / decoy).mkdir(parents=True)
        (root / decoy / "agentsync.toml").write_text("this is not toml [")
    (root / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    return repo, root


def test_find_projects_skips_hidden_vendor_and_venv(fleet: tuple[GitRepo, Path]) -> None:
    _, root = fleet
    assert find_projects(root) == [root / "api", root / "tools/cli", root / "web"]


def test_update_recursive_updates_all_three_and_names_each(
    cli: Cli, fleet: tuple[GitRepo, Path], tmp_path: Path
) -> None:
    repo, root = fleet
    repo.write("reviewer.md", agent_md("reviewer", "Reviews v2.", "Read, Bash"))
    new = repo.commit("v2")

    result = cli("outdated", "--recursive", str(root), cwd=tmp_path)
    assert result.code == 1, result
    assert result.out.count("behind") >= 3

    result = cli("update", "--recursive", str(root), cwd=tmp_path)
    assert result.code == 0, result
    for name in ("api", "web", "tools/cli"):
        project = root / name
        assert f"== {project}: 1 updated" in result.out
        assert b"Reviews v2." in installed(project, "reviewer").read_bytes()
        assert lock_entry(project, "reviewer")["commit"] == new
    assert "widens tools: +Bash" in result.out
    assert "total: 3 projects, 3 agents updated, 0 need attention, 0 failed" in result.out
    assert "node_modules" not in result.out and ".hidden" not in result.out

    result = cli("--json", "outdated", "--recursive", str(root), cwd=tmp_path)
    assert result.code == 0, result
    data = json.loads(result.out)
    assert data["total"] == {"projects": 3, "ok": 3, "failed": 0, "changed": 0}
    assert [p["project"] for p in data["projects"]] == [
        str(root / "api"),
        str(root / "tools/cli"),
        str(root / "web"),
    ]


def test_conflicting_project_is_left_untouched(
    cli: Cli, fleet: tuple[GitRepo, Path], tmp_path: Path
) -> None:
    repo, root = fleet
    web = root / "web"
    edited = installed(web, "reviewer")
    mine = edit(edited, "Reviews v1.", "Reviews v1, our way.")
    writer_before = installed(web, "writer").read_bytes()
    lock_before = (web / "agentsync.lock").read_bytes()
    repo.write("reviewer.md", agent_md("reviewer", "Reviews v2.", "Read"))
    repo.write("writer.md", agent_md("writer", "Writes v2.", "Read"))
    repo.commit("v2")

    result = cli("--json", "update", "--recursive", str(root), cwd=tmp_path)
    assert result.code == 1, result
    data = json.loads(result.out)
    by_path = {p["project"]: p for p in data["projects"]}
    assert by_path[str(web)]["ok"] is False and by_path[str(web)]["applied"] is False
    assert by_path[str(root / "api")]["applied"] is True
    # nothing at all changed in the conflicting project, not even the agent that merged cleanly
    assert edited.read_bytes() == mine
    assert installed(web, "writer").read_bytes() == writer_before
    assert (web / "agentsync.lock").read_bytes() == lock_before
    assert b"Writes v2." in installed(root / "api", "writer").read_bytes()

    result = cli("update", "--recursive", str(root), "--merge=markers", cwd=tmp_path)
    assert result.code == 2


def test_each_source_is_fetched_once_per_run(
    fleet: tuple[GitRepo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, root = fleet
    repo.write("writer.md", agent_md("writer", "Writes v2."))
    repo.commit("v2")
    calls: list[str] = []
    real_fetch = vcs.fetch

    def counting(*args: object, **kwargs: object) -> None:
        calls.append(str(args[1]))
        real_fetch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(vcs, "fetch", counting)
    report = update_recursive(Options(cwd=tmp_path), root)
    assert report.ok
    assert len(report.projects) == 3
    assert calls == [repo.url]


def test_broken_project_is_reported_and_others_proceed(
    cli: Cli, fleet: tuple[GitRepo, Path], tmp_path: Path
) -> None:
    repo, root = fleet
    (root / "broken").mkdir()
    (root / "broken" / "agentsync.toml").write_text("[sources.x]\nurl = 3\n")
    repo.write("writer.md", agent_md("writer", "Writes v2."))
    repo.commit("v2")
    result = cli("update", "--recursive", str(root), cwd=tmp_path)
    assert result.code == 1, result
    assert f"== {root / 'broken'}: failed" in result.out
    assert "1 failed" in result.out
    assert b"Writes v2." in installed(root / "api", "writer").read_bytes()
    assert cli("update", "--recursive", str(tmp_path / "nope"), cwd=tmp_path).code == 2
