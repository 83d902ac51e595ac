"""`update` and `outdated`: the change table, widening flags, dry runs, untouched files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsync.frontmatter import parse_agent
from agentsync.grants import line_counts, widened
from agentsync.ids import sha256
from tests.fixtures import (
    Cli,
    GitRepo,
    MakeRepo,
    agent_md,
    installed,
    lock_entry,
    read_lock,
    write_manifest,
)


@pytest.fixture
def source(make_repo: MakeRepo, project_dir: Path) -> GitRepo:
    repo = make_repo("team")
    repo.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read, Grep"))
    repo.write("agents/writer.md", agent_md("writer", "Writes docs.", "Read"))
    repo.write("README.md", "# team agents\n")
    repo.commit("first")
    write_manifest(project_dir, repo.url)
    return repo


def snapshot(project: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the project with its bytes and mtime (the cache lives elsewhere)."""
    return {
        str(p.relative_to(project)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(project.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_update_adding_bash_is_flagged_and_dry_run_writes_nothing(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/reviewer", "team/writer", cwd=project_dir).code == 0
    source.write("agents/reviewer.md", agent_md("reviewer", "Reviews code.", "Read, Grep, Bash"))
    new = source.commit("grant bash")
    before = snapshot(project_dir)

    result = cli("update", "--dry-run", cwd=project_dir)
    assert result.code == 0, result
    assert "dry run" in result.out
    assert f"-> {new[:7]}" in result.out
    assert "+1 -1" in result.out
    assert "widens tools: +Bash" in result.out
    assert snapshot(project_dir) == before  # no file, no lock, no state folder

    result = cli("--json", "update", "--dry-run", cwd=project_dir)
    data = json.loads(result.out)
    assert data["dry_run"] is True and data["applied"] is False
    row = next(a for a in data["agents"] if a["agent"] == "reviewer")
    assert row["state"] == "updated"
    assert row["new"]["commit"] == new
    assert {"what": "tools", "detail": "+Bash", "risky": True} in row["grants"]
    assert snapshot(project_dir) == before

    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert b"Bash" in installed(project_dir, "reviewer").read_bytes()
    assert read_lock(project_dir)["agents"]["reviewer"]["commit"] == new


@pytest.mark.slow
def test_commit_touching_other_files_leaves_agent_file_alone(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/reviewer", cwd=project_dir).code == 0
    target = installed(project_dir, "reviewer")
    before = (target.read_bytes(), target.stat().st_mtime_ns)
    source.write("agents/writer.md", agent_md("writer", "Writes better docs.", "Read"))
    source.write("README.md", "# changed\n")
    new = source.commit("other files")

    assert cli("outdated", cwd=project_dir).code == 0  # its file did not change: not behind
    assert "pin moved (file unchanged)" in cli("-v", "update", "--dry-run", cwd=project_dir).out
    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert "all agents are up to date" in result.out  # an unrelated commit is not an update
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before
    assert read_lock(project_dir)["agents"]["reviewer"]["commit"] == new  # the pin may move


@pytest.mark.slow
def test_agent_removed_upstream_stays_installed_and_others_update(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/reviewer", "team/writer", cwd=project_dir).code == 0
    old_commit = read_lock(project_dir)["agents"]["writer"]["commit"]
    source.remove("agents/writer.md")
    source.write("agents/reviewer.md", agent_md("reviewer", "Reviews code v2.", "Read, Grep"))
    new = source.commit("drop writer")

    result = cli("outdated", cwd=project_dir)
    assert result.code == 1, result
    assert "writer" in result.out and "REMOVED UPSTREAM" in result.out

    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert "REMOVED UPSTREAM" in result.out
    assert installed(project_dir, "writer").exists()
    assert b"Reviews code v2." in installed(project_dir, "reviewer").read_bytes()
    agents = read_lock(project_dir)["agents"]
    assert agents["writer"]["commit"] == old_commit
    assert agents["reviewer"]["commit"] == new
    assert cli("install", cwd=project_dir).code == 0
    assert installed(project_dir, "writer").exists()


@pytest.mark.slow
def test_new_version_that_would_not_load_is_held_back(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/reviewer", "team/writer", cwd=project_dir).code == 0
    reviewer = installed(project_dir, "reviewer").read_bytes()
    old_commit = read_lock(project_dir)["agents"]["reviewer"]["commit"]
    source.write("agents/reviewer.md", "---\nname: reviewer\n---\nNo description: dropped.\n")
    source.write("agents/writer.md", agent_md("writer", "Writes docs v2."))
    source.commit("broken reviewer")
    result = cli("update", cwd=project_dir)
    assert result.code == 1, result
    assert "HELD BACK" in result.out
    assert "would not load the new version of team/reviewer" in result.err
    assert installed(project_dir, "reviewer").read_bytes() == reviewer
    assert read_lock(project_dir)["agents"]["reviewer"]["commit"] == old_commit
    assert b"Writes docs v2." in installed(project_dir, "writer").read_bytes()
    assert cli("update", "--force", cwd=project_dir).code == 0
    assert b"No description" in installed(project_dir, "reviewer").read_bytes()


@pytest.mark.slow
def test_update_named_agent_moves_only_that_one(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/reviewer", "team/writer", cwd=project_dir).code == 0
    first = read_lock(project_dir)["agents"]["writer"]["commit"]
    source.write("agents/reviewer.md", agent_md("reviewer", "R2."))
    source.write("agents/writer.md", agent_md("writer", "W2."))
    new = source.commit("both")
    result = cli("update", "reviewer", cwd=project_dir)
    assert result.code == 0, result
    agents = read_lock(project_dir)["agents"]
    assert agents["reviewer"]["commit"] == new
    assert agents["writer"]["commit"] == first
    assert b"W2." not in installed(project_dir, "writer").read_bytes()
    assert cli("update", "nobody", cwd=project_dir).code == 2
    assert cli("update", "writer@main", cwd=project_dir).code == 2


@pytest.mark.slow
def test_outdated_json_and_exit_code(cli: Cli, source: GitRepo, project_dir: Path) -> None:
    assert cli("install", "team/reviewer", cwd=project_dir).code == 0
    result = cli("--json", "outdated", cwd=project_dir)
    assert result.code == 0, result
    assert json.loads(result.out)["agents"][0]["state"] == "unchanged"
    source.write("agents/reviewer.md", agent_md("reviewer", "R2.", "Read, Grep, WebFetch"))
    new = source.commit("v2")
    result = cli("--json", "outdated", cwd=project_dir)
    assert result.code == 1, result
    (row,) = json.loads(result.out)["agents"]
    assert row["behind"] is True and row["latest"] == new
    assert row["grants"] == [{"what": "tools", "detail": "+WebFetch", "risky": True}]


def test_widened_flags() -> None:
    base = agent_md("a", "d", "Read", extra="model: sonnet").encode()
    assert widened(base, base) == ()
    no_tools = agent_md("a", "d", None, extra="model: sonnet").encode()
    assert [g.text for g in widened(base, no_tools)] == [
        "tools: all tools (the tools line was removed)"
    ]
    more = agent_md(
        "a",
        "d",
        "Read, Write",
        extra="model: opus\npermissionMode: bypassPermissions\nmcpServers:\n  - github",
    ).encode()
    texts = {g.text: g.risky for g in widened(base, more)}
    assert texts == {
        "tools: +Write": True,
        "permissionMode: default -> bypassPermissions": True,
        "mcpServers: added": True,
        "model: sonnet -> opus": False,
    }
    hooks = agent_md("a", "d", "Read", extra="model: sonnet\nhooks:\n  Stop: []").encode()
    assert [g.what for g in widened(base, hooks)] == ["hooks"]
    assert widened(base, agent_md("a", "d", "Read, Grep", extra="model: sonnet").encode())[
        0
    ] == type(widened(base, more)[0])("tools", "+Grep", False)


def test_line_counts() -> None:
    assert line_counts(b"a\nb\nc\n", b"a\nB\nc\nd\n") == (2, 1)
    assert line_counts(b"same\n", b"same\n") == (0, 0)


@pytest.mark.slow
def test_included_agent_removed_upstream_is_kept(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    assert cli("install", "team/*", cwd=project_dir).code == 0
    assert installed(project_dir, "writer").exists()
    source.remove("agents/writer.md")
    source.commit("drop writer")
    result = cli("--json", "update", cwd=project_dir)
    assert result.code == 0, result
    rows = {row["agent"]: row["state"] for row in json.loads(result.out)["agents"]}
    assert rows == {"reviewer": "moved", "writer": "removed-upstream"}
    assert installed(project_dir, "writer").exists()
    assert "writer" in read_lock(project_dir)["agents"]


# Claude Code drops this file (an unindented second line of the description); --fix repairs it.
DROPPED = "---\nname: loose\ndescription: First line\nsecond line\n---\n{body}\n"


@pytest.mark.slow
def test_install_fix_repairs_a_dropped_file_and_it_stays_repaired_across_updates(
    cli: Cli, source: GitRepo, project_dir: Path
) -> None:
    source.write("agents/loose.md", DROPPED.format(body="Body v1."))
    source.commit("a file the client drops")
    refused = cli("install", "team/loose", cwd=project_dir)
    assert refused.code == 1 and "--fix" in refused.err, refused
    assert not installed(project_dir, "loose").exists()

    assert cli("install", "team/loose", "--fix", cwd=project_dir).code == 0
    repaired = parse_agent(installed(project_dir, "loose").read_bytes())
    assert (repaired.loads, repaired.parse) == (True, "strict")
    assert repaired.description == "First line second line"
    entry = lock_entry(project_dir, "loose")
    assert entry["fixed"] is True
    assert entry["blob"] == source.git("rev-parse", "HEAD:agents/loose.md")
    assert entry["sha256"] == sha256(installed(project_dir, "loose").read_bytes())
    assert 'loose = "team"' in (project_dir / "agentsync.toml").read_text()  # no flag there
    assert cli("status", cwd=project_dir).code == 0

    source.write("agents/loose.md", DROPPED.format(body="Body v2."))
    new = source.commit("v2, still dropped by the client")
    result = cli("update", cwd=project_dir)
    assert result.code == 0, result
    assert "HELD BACK" not in result.out
    after = parse_agent(installed(project_dir, "loose").read_bytes())
    assert (after.loads, after.description, after.body.strip()) == (
        True,
        "First line second line",
        "Body v2.",
    )
    assert lock_entry(project_dir, "loose")["fixed"] is True
    assert lock_entry(project_dir, "loose")["commit"] == new
    assert cli("install", "--frozen", cwd=project_dir).code == 0
