"""Pins: name@ref and ranges on install, per-agent pins, moved tags and rewritten history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentsync.requests import pin_request
from tests.fixtures import (
    TARGET,
    Cli,
    CliResult,
    GitRepo,
    MakeRepo,
    agent_md,
    installed,
    read_lock,
    write_manifest,
)


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
    rows = {row["agent"]: row for row in json.loads(result.out)["agents"]}
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
    (row,) = json.loads(result.out)["agents"]
    assert row["drift"] == [
        {"kind": "history-rewritten", "ref": "HEAD", "locked": locked_commit, "current": tip}
    ]
    result = cli("update", "--dry-run", cwd=project_dir)
    assert f"locked commit {locked_commit} is no longer on it (tip {tip})" in result.out


def restore_with_frozen(cli: Cli, project: Path) -> CliResult:
    """Delete the installed files and run `install --frozen`, which must bring them back."""
    files = {p.name: p.read_bytes() for p in (project / TARGET).iterdir()}
    for name in files:
        (project / TARGET / name).unlink()
    result = cli("install", "--frozen", cwd=project)
    assert result.code == 0, result
    assert {p.name: p.read_bytes() for p in (project / TARGET).iterdir()} == files
    return result


@pytest.mark.slow
def test_a_deleted_tag_a_range_chose_is_reported_and_frozen_keeps_its_commit(
    cli: Cli, tagged: GitRepo, project_dir: Path
) -> None:
    write_manifest(project_dir, tagged.url, 'helper = "team"\n', extra='version = "^1"\n')
    assert cli("install", cwd=project_dir).code == 0
    locked = tagged.git("rev-parse", "v1.1.0^{commit}")
    tagged.git("tag", "-d", "v1.1.0")
    deleted = f"source team: tag v1.1.0 was deleted upstream (locked {locked})"
    outdated = cli("outdated", cwd=project_dir)
    assert outdated.code == 1, outdated
    assert deleted in outdated.out and deleted in outdated.err
    (row,) = json.loads(cli("--json", "outdated", cwd=project_dir).out)["agents"]
    assert row["drift"] == [
        {"kind": "tag-deleted", "ref": "v1.1.0", "locked": locked, "current": None}
    ]
    assert deleted in cli("update", "--dry-run", cwd=project_dir).out
    frozen = restore_with_frozen(cli, project_dir)
    assert f"{deleted} (kept)" in frozen.err
    assert read_lock(project_dir)["sources"]["team"]["commit"] == locked


@pytest.fixture
def deleted_by_name(cli: Cli, tagged: GitRepo, project_dir: Path) -> str:
    """An installed project whose source is pinned to tag v1.1.0, deleted upstream since;
    returns the commit it locked."""
    write_manifest(project_dir, tagged.url, 'reviewer = "team"\n', extra='ref = "v1.1.0"\n')
    assert cli("install", cwd=project_dir).code == 0
    locked = tagged.git("rev-parse", "v1.1.0^{commit}")
    tagged.git("tag", "-d", "v1.1.0")
    return locked


@pytest.mark.slow
def test_a_deleted_tag_pinned_by_name_keeps_the_lock_and_frozen_keeps_its_commit(
    cli: Cli, deleted_by_name: str, project_dir: Path
) -> None:
    lock = (project_dir / "agentsync.lock").read_bytes()
    for command in ("outdated", "update"):
        result = cli(command, cwd=project_dir)
        assert result.code == 1, (command, result)
        assert (project_dir / "agentsync.lock").read_bytes() == lock
    restore_with_frozen(cli, project_dir)
    assert (project_dir / "agentsync.lock").read_bytes() == lock


@pytest.mark.slow
def test_a_deleted_tag_pinned_by_name_is_reported_as_deleted_with_its_commit(
    cli: Cli, deleted_by_name: str, project_dir: Path
) -> None:
    deleted = f"source team: tag v1.1.0 was deleted upstream (locked {deleted_by_name})"
    for command in ("outdated", "update"):
        result = cli(command, cwd=project_dir)
        assert result.code == 1, (command, result)
        assert deleted in result.out + result.err, (command, result)
    assert f"{deleted} (kept)" in restore_with_frozen(cli, project_dir).err


@pytest.mark.slow
def test_a_range_no_tag_matches_is_a_clear_error_that_writes_nothing(
    cli: Cli, tagged: GitRepo, project_dir: Path
) -> None:
    before = write_manifest(project_dir, tagged.url)
    result = cli("install", "team/reviewer@^9", cwd=project_dir)
    assert result.code == 1, result
    assert result.err == (
        "error: agent reviewer: no tag matches version range '^9'\n"
        "hint: list the tags with `git ls-remote --tags URL`, or relax the range\n"
    )
    assert (project_dir / "agentsync.toml").read_bytes() == before
    assert not (project_dir / "agentsync.lock").exists()
    assert not (project_dir / TARGET).exists()
    write_manifest(project_dir, tagged.url, 'reviewer = "team"\n', extra='version = ">=3, <4"\n')
    result = cli("install", cwd=project_dir)
    assert result.code == 1, result
    assert result.err.startswith("error: source team: no tag matches version range '>=3, <4'\n")


REFS = ("main", "v1.0.0", "v2.0.0")


@pytest.mark.slow
def test_install_at_another_ref_shows_the_pin_move(
    cli: Cli, tagged: GitRepo, project_dir: Path
) -> None:
    agents = 'reviewer = "team"\nhelper = "team"\n'
    write_manifest(project_dir, tagged.url, extra='ref = "main"\n', agents=agents)
    assert cli("install", cwd=project_dir).code == 0
    main, v1, v2 = (tagged.git("rev-parse", f"{r}^{{commit}}")[:7] for r in REFS)
    result = cli("install", "reviewer@v2.0.0", cwd=project_dir)
    assert result.code == 0, result
    assert result.out == f"updated reviewer from team: main@{main} -> v2.0.0@{v2} +1 -1\n"
    # helper.md is the same at main and v2.0.0: the file stays, the move is still shown
    result = cli("install", "helper@v2.0.0", cwd=project_dir)
    assert result.out == (
        f"pin moved (file unchanged) helper from team: main@{main} -> v2.0.0@{v2}\n"
    ), result
    full = tagged.git("rev-parse", "v1.0.0^{commit}")
    result = cli("--json", "install", f"reviewer@{full}", cwd=project_dir)
    rows = {r["agent"]: r for r in json.loads(result.out)["agents"]}
    row = rows["reviewer"]
    assert row["state"] == "updated" and rows["helper"]["state"] == "unchanged"
    assert row["old"]["commit"] == tagged.git("rev-parse", "v2.0.0^{commit}")
    assert row["new"]["commit"] == full
    # from a commit pin to a tag at that very commit: a move, not "pinned"
    result = cli("install", "reviewer@v1.0.0", cwd=project_dir)
    assert result.out.startswith("pin moved (file unchanged) reviewer from team: "), result
    assert result.out.endswith(f"-> v1.0.0@{v1}\n"), result
    assert cli("install", "reviewer@v1.0.0", cwd=project_dir).out == "all agents are up to date\n"
