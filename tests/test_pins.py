"""Pins: name@ref and ranges on install, per-agent pins, moved tags and rewritten history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentsync.resolve import pin_request
from tests.fixtures import Cli, GitRepo, MakeRepo, agent_md, installed, read_lock, write_manifest


@pytest.fixture
def tagged(make_repo: MakeRepo) -> GitRepo:
    """reviewer at v1.0.0, v1.1.0, v2.0.0 (and main one commit beyond)."""
    repo = make_repo("team")
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        repo.write("reviewer.md", agent_md("reviewer", f"Version {version}."))
        repo.write("helper.md", agent_md("helper", f"Helper {version}."))
        repo.commit(version)
        repo.tag(f"v{version}")
    repo.write("reviewer.md", agent_md("reviewer", "Unreleased."))
    repo.commit("wip")
    return repo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (None, None)),
        ("main", ("main", None)),
        ("v1.4.0", ("v1.4.0", None)),
        ("1.4.0", ("1.4.0", None)),
        ("abc1234", ("abc1234", None)),
        ("feature/x", ("feature/x", None)),
        ("^1.2", (None, "^1.2")),
        ("~1.4", (None, "~1.4")),
        (">=1.0, <2", (None, ">=1.0, <2")),
        ("1.*", (None, "1.*")),
        ("1.x", (None, "1.x")),
        ("v2.X", (None, "v2.X")),
    ],
)
def test_pin_request(text: str | None, expected: tuple[str | None, str | None]) -> None:
    assert pin_request(text) == expected


@pytest.mark.slow
def test_install_at_tag_and_range(cli: Cli, tagged: GitRepo, project_dir: Path) -> None:
    write_manifest(project_dir, tagged.url)
    result = cli("install", "reviewer@v1.0.0", "team/helper@^1.0", cwd=project_dir)
    assert result.code == 0, result
    text = (project_dir / "agentsync.toml").read_text()
    assert 'reviewer = { source = "team", ref = "v1.0.0" }' in text
    assert 'helper = { source = "team", version = "^1.0" }' in text
    assert b"Version 1.0.0." in installed(project_dir, "reviewer").read_bytes()
    assert b"Helper 1.1.0." in installed(project_dir, "helper").read_bytes()
    agents = read_lock(project_dir)["agents"]
    assert agents["helper"]["resolved"] == "v1.1.0"
    assert agents["helper"]["commit"] == tagged.git("rev-parse", "v1.1.0^{commit}")

    # a range for an agent moves to the newest matching tag, never past the range
    tagged.write("helper.md", agent_md("helper", "Helper 1.2.0."))
    tagged.commit("1.2.0")
    tagged.tag("v1.2.0")
    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert "v1.1.0 -> v1.2.0" in result.out
    assert b"Helper 1.2.0." in installed(project_dir, "helper").read_bytes()
    # the tag pin does not move; the source (default branch) is not used by any agent
    assert b"Version 1.0.0." in installed(project_dir, "reviewer").read_bytes()


@pytest.mark.slow
def test_source_version_range_with_per_agent_override(
    cli: Cli, tagged: GitRepo, project_dir: Path
) -> None:
    write_manifest(
        project_dir,
        tagged.url,
        extra='version = "^1"\n',
        agents='helper = "team"\nreviewer = { source = "team", ref = "v2.0.0" }\n',
    )
    result = cli("install", cwd=project_dir)
    assert result.code == 0, result
    assert b"Helper 1.1.0." in installed(project_dir, "helper").read_bytes()
    assert b"Version 2.0.0." in installed(project_dir, "reviewer").read_bytes()
    assert read_lock(project_dir)["sources"]["team"]["resolved"] == "v1.1.0"
    assert cli("outdated", cwd=project_dir).code == 0


@pytest.mark.slow
def test_branch_moves_and_commit_pin_never_moves(
    cli: Cli, tagged: GitRepo, project_dir: Path
) -> None:
    first = tagged.git("rev-parse", "v1.0.0^{commit}")
    write_manifest(
        project_dir, tagged.url, agents=f'helper = {{ source = "team", ref = "{first}" }}\n'
    )
    assert cli("install", "team/reviewer", cwd=project_dir).code == 0
    tagged.write("reviewer.md", agent_md("reviewer", "Newer."))
    tagged.write("helper.md", agent_md("helper", "Helper newer."))
    tip = tagged.commit("newer")

    result = cli("--json", "outdated", cwd=project_dir)
    assert result.code == 1, result
    rows = {row["agent"]: row for row in json.loads(result.out)}
    assert rows["helper"]["pinned"] is True and rows["helper"]["behind"] is False
    assert rows["reviewer"]["behind"] is True and rows["reviewer"]["latest"] == tip
    assert "pinned" in cli("-v", "outdated", cwd=project_dir).out

    assert cli("update", cwd=project_dir).code == 0
    agents = read_lock(project_dir)["agents"]
    assert agents["reviewer"]["commit"] == tip
    assert agents["helper"]["commit"] == first
    assert b"Helper 1.0.0." in installed(project_dir, "helper").read_bytes()


@pytest.mark.slow
def test_moved_tag_is_reported_and_frozen_keeps_locked_bytes(
    cli: Cli,
    tagged: GitRepo,
    project_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_manifest(project_dir, tagged.url, extra='ref = "v1.1.0"\n', agents='reviewer = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    locked_commit = tagged.git("rev-parse", "v1.1.0^{commit}")
    original = installed(project_dir, "reviewer").read_bytes()

    tagged.tag("v1.1.0", "HEAD", force=True)  # the tag is moved to another commit
    moved_to = tagged.head()

    result = cli("outdated", cwd=project_dir)
    assert result.code == 1, result
    assert f"tag v1.1.0 moved: locked {locked_commit}, now {moved_to}" in result.out
    assert locked_commit in result.err and moved_to in result.err  # a loud warning too

    result = cli("install", "--frozen", cwd=project_dir)
    assert result.code == 0, result
    assert "tag v1.1.0 moved" in result.err  # the cache already knows: said, and kept
    assert installed(project_dir, "reviewer").read_bytes() == original
    assert read_lock(project_dir)["sources"]["team"]["commit"] == locked_commit

    # a fresh checkout with an empty cache: the locked commit is fetched by id
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("agentsync.toml", "agentsync.lock"):
        shutil.copy(project_dir / name, copy / name)
    monkeypatch.setenv("AGENTSYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = cli("install", "--frozen", cwd=copy)
    assert result.code == 0, result
    assert installed(copy, "reviewer").read_bytes() == original

    # update takes the moved tag, loudly, with both commits
    result = cli("-C", str(project_dir), "update", cwd=tmp_path)
    assert result.code == 0, result
    assert f"locked {locked_commit}, now {moved_to}" in result.out
    assert read_lock(project_dir)["sources"]["team"]["commit"] == moved_to


@pytest.mark.slow
def test_rewritten_branch_history_is_reported(
    cli: Cli, make_repo: MakeRepo, project_dir: Path
) -> None:
    repo = make_repo("team")
    repo.write("reviewer.md", agent_md("reviewer", "One."))
    repo.commit("one")
    repo.write("reviewer.md", agent_md("reviewer", "Two."))
    locked_commit = repo.commit("two")
    write_manifest(project_dir, repo.url, agents='reviewer = "team"\n')
    assert cli("install", cwd=project_dir).code == 0
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("reviewer.md", agent_md("reviewer", "Two, rewritten."))
    tip = repo.commit("two again")

    result = cli("--json", "outdated", cwd=project_dir)
    assert result.code == 1
    (row,) = json.loads(result.out)
    assert row["drift"] == [
        {"kind": "history-rewritten", "ref": "HEAD", "locked": locked_commit, "current": tip}
    ]
    result = cli("update", "--dry-run", cwd=project_dir)
    assert f"locked commit {locked_commit} is no longer on it (tip {tip})" in result.out
