"""Local edits survive `update`: 3-way merges, conflicts, markers, --force, diff, restore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import Cli, GitRepo, MakeRepo, edit, installed, lock_entry, write_manifest

pytestmark = pytest.mark.slow  # multi-command update scenarios

BODY = ["Line one.", "Line two.", "Line three.", "Line four.", "Line five."]


def agent_text(lines: list[str], description: str = "Reviews code.") -> str:
    return (
        "---\nname: reviewer\ndescription: " + description + "\n---\n\n" + "\n".join(lines) + "\n"
    )


@pytest.fixture
def setup(cli: Cli, make_repo: MakeRepo, project_dir: Path) -> tuple[GitRepo, Path]:
    repo = make_repo("team")
    repo.write("reviewer.md", agent_text(BODY))
    repo.commit("v1")
    write_manifest(project_dir, repo.url)
    assert cli("install", "team/reviewer", cwd=project_dir).code == 0
    return repo, installed(project_dir, "reviewer")


def test_edit_on_one_line_survives_upstream_change_on_another(
    cli: Cli, setup: tuple[GitRepo, Path], project_dir: Path
) -> None:
    repo, target = setup
    edit(target, "Line two.", "Line two, my way.")
    repo.write("reviewer.md", agent_text([*BODY[:4], "Line five, improved."]))
    new = repo.commit("v2")

    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert "merged local edits" in result.out
    text = target.read_text()
    assert "Line two, my way." in text and "Line five, improved." in text
    assert "<<<<<<<" not in text
    entry = lock_entry(project_dir, "reviewer")
    assert entry["commit"] == new and entry["local-edits"] is True
    import hashlib

    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    status = cli("status", cwd=project_dir)
    assert status.code == 0 and status.out.startswith("merged"), status  # not upstream's copy

    # the merged bytes are kept outside the target folder: a deleted file comes back as merged
    merged = target.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["reviewer.md"]
    target.unlink()
    result = cli("--offline", "install", cwd=project_dir)
    assert result.code == 0, result
    assert target.read_bytes() == merged

    # a later upstream change merges again on top of the earlier merge
    repo.write("reviewer.md", agent_text(["Line zero.", *BODY[:4], "Line five, improved."]))
    repo.commit("v3")
    assert cli("update", cwd=project_dir).code == 0
    text = target.read_text()
    assert "Line zero." in text and "Line two, my way." in text


def test_overlapping_changes_leave_local_file_intact_and_exit_1(
    cli: Cli, setup: tuple[GitRepo, Path], project_dir: Path
) -> None:
    repo, target = setup
    before_commit = lock_entry(project_dir, "reviewer")["commit"]
    edited = edit(target, "Line three.", "Line three, mine.")
    repo.write("reviewer.md", agent_text([*BODY[:2], "Line three, theirs.", *BODY[3:]]))
    repo.commit("v2")
    repo.write("other.md", "not an agent\n")

    result = cli("update", cwd=project_dir)
    assert result.code == 1, result
    assert "CONFLICT" in result.out
    assert "reviewer" in result.err and "left as it is" in result.err
    # said once, with the ways out
    assert (result.out + result.err).count("local edits conflict") == 1
    for way_out in (
        "agentsync diff --upstream reviewer",
        "agentsync update reviewer --merge=markers",
        "agentsync update reviewer --force",
    ):
        assert way_out in result.err
    assert target.read_bytes() == edited
    assert lock_entry(project_dir, "reviewer")["commit"] == before_commit  # held at the old pin

    result = cli("--json", "update", "--dry-run", cwd=project_dir)
    assert result.code == 1
    assert json.loads(result.out)["agents"][0]["state"] == "conflict"

    result = cli("update", "--merge=markers", cwd=project_dir)
    assert result.code == 1, result
    assert "markers written" in result.out + result.err
    text = target.read_text()
    assert "<<<<<<< reviewer.md (local)" in text and ">>>>>>> upstream" in text
    assert "Line three, mine." in text and "Line three, theirs." in text
    # as after `git merge`, the new version is pinned and the file holds the user's work
    assert lock_entry(project_dir, "reviewer")["commit"] == repo.head()
    assert lock_entry(project_dir, "reviewer")["local-edits"] is True

    # the hand resolution is a local edit on top of the new version: kept, never lost
    resolved = agent_text([*BODY[:2], "Line three, theirs and mine.", *BODY[3:]])
    target.write_text(resolved)
    assert cli("update", cwd=project_dir).code == 0
    assert target.read_text() == resolved
    assert "modified" in cli("status", cwd=project_dir).out


def test_force_replaces_edits_with_upstream(
    cli: Cli, setup: tuple[GitRepo, Path], project_dir: Path
) -> None:
    repo, target = setup
    edit(target, "Line three.", "Line three, mine.")
    repo.write("reviewer.md", agent_text([*BODY[:2], "Line three, theirs.", *BODY[3:]]))
    repo.commit("v2")
    result = cli("update", "--force", cwd=project_dir)
    assert result.code == 0, result
    assert target.read_bytes() == (repo.path / "reviewer.md").read_bytes()
    assert "local-edits" not in lock_entry(project_dir, "reviewer")


def test_bad_merge_mode_is_a_usage_error(cli: Cli, setup: object, project_dir: Path) -> None:
    result = cli("update", "--merge=theirs", cwd=project_dir)
    assert result.code == 2
    assert "auto" in result.err and "markers" in result.err


def test_diff_local_and_upstream(cli: Cli, setup: tuple[GitRepo, Path], project_dir: Path) -> None:
    repo, target = setup
    result = cli("diff", "reviewer", cwd=project_dir)
    assert result.code == 0 and "no differences" in result.out
    edit(target, "Line two.", "Line two, my way.")
    result = cli("diff", "reviewer", cwd=project_dir)
    assert result.code == 0, result
    assert "-Line two.\n+Line two, my way.\n" in result.out
    assert "(local)" in result.out

    repo.write("reviewer.md", agent_text(BODY, description="Reviews code, carefully."))
    new = repo.commit("v2")
    result = cli("diff", "--upstream", "reviewer", cwd=project_dir)
    assert result.code == 0, result
    assert "+description: Reviews code, carefully." in result.out
    assert new[:7] in result.out
    assert "my way" not in result.out  # upstream diff ignores local edits
    data = json.loads(cli("--json", "diff", "--upstream", "reviewer", cwd=project_dir).out)
    assert data["to"] == new[:7] and "+description" in data["diff"]
    assert cli("diff", "nobody", cwd=project_dir).code == 2


def test_lost_merge_is_rebuilt_from_upstream_and_the_recorded_patch(
    cli: Cli, setup: tuple[GitRepo, Path], project_dir: Path
) -> None:
    """The lock ties merged bytes to the upstream blob with a patch of the local edits, so a
    deleted merged file (or a fresh clone without it) is rebuilt exactly, even --frozen."""
    repo, target = setup
    edit(target, "Line two.", "Line two, my way.")
    repo.write("reviewer.md", agent_text([*BODY[:4], "Line five, improved."]))
    repo.commit("v2")
    assert cli("update", cwd=project_dir).code == 0
    entry = lock_entry(project_dir, "reviewer")
    assert entry["local-edits"] is True
    assert "+Line two, my way." in entry["edits"] and "-Line two." in entry["edits"]
    merged = target.read_bytes()
    assert b"Line two, my way." in merged and b"Line five, improved." in merged
    assert not (project_dir / ".agentsync" / "merged").exists()
    lock_before = (project_dir / "agentsync.lock").read_bytes()
    for args in (["install", "--frozen"], ["install"]):
        target.unlink()
        result = cli(*args, cwd=project_dir)
        assert result.code == 0, result
        assert target.read_bytes() == merged
        assert (project_dir / "agentsync.lock").read_bytes() == lock_before
    assert cli("status", cwd=project_dir).code == 0
